//! Conflicts, missing objects, missing CRDs and stale epochs.

use super::*;

const DEPLOY: &str = "/apis/apps/v1/namespaces/shop/deployments/web";
const VS: &str = "/apis/networking.istio.io/v1/namespaces/shop/virtualservices/web-vs";

fn deployment(rv: &str, epoch: Option<&str>, replicas: i64) -> Value {
    let annotations = match epoch {
        Some(e) => json!({"kubectl-failover.io/epoch": e}),
        None => Value::Null,
    };
    object(
        "apps/v1",
        "Deployment",
        "web",
        rv,
        annotations,
        json!({"spec": {"replicas": replicas}, "status": {"observedGeneration": 1}}),
    )
}

fn web() -> Value {
    spec(
        json!([{"kind": "Deployment", "name": "web"}]),
        Value::Null,
        Value::Null,
    )
}

fn conflict() -> Answer {
    (
        409,
        status(
            409,
            "Conflict",
            "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again",
            "web",
        ),
    )
}

#[tokio::test]
async fn a_conflict_reads_the_object_again_and_patches_with_the_new_resource_version() {
    let (cluster, mock) = cluster(
        web(),
        vec![
            (200, deployment("41", None, 3)),
            conflict(),
            (200, deployment("42", Some("5"), 4)),
            (200, deployment("43", Some("7"), 0)),
        ],
    );

    assert_eq!(
        apply(&cluster, Action::ScaleDown, 7).await.unwrap(),
        Progress::Done
    );

    let seen = mock.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[1].body["metadata"]["resourceVersion"], "41");
    seen[2].assert_get(DEPLOY);
    // Decided again on the object as re-read: 4 replicas are remembered now, not 3.
    seen[3].assert_merge_patch(
        DEPLOY,
        json!({
            "metadata": {"resourceVersion": "42", "annotations": {"kubectl-failover.io/replicas": "4", "kubectl-failover.io/epoch": "7"}},
            "spec": {"replicas": 0},
        }),
    );
}

#[tokio::test]
async fn conflicts_on_every_attempt_leave_the_action_pending_after_four_patches() {
    let mut script = Vec::new();
    for rv in ["41", "42", "43", "44"] {
        script.push((200, deployment(rv, None, 3)));
        script.push(conflict());
    }
    let (cluster, mock) = cluster(web(), script);

    let progress = apply(&cluster, Action::ScaleDown, 7).await.unwrap();

    assert_eq!(
        progress,
        Progress::Pending(
            "deployment/web in shop changed concurrently 4 times in a row; will retry".into()
        )
    );
    let patches = mock.seen().iter().filter(|s| s.method == "PATCH").count();
    assert_eq!(patches, 4);
    assert_eq!(mock.seen().len(), 8);
}

#[tokio::test]
async fn a_missing_listed_object_fails_an_activation_naming_it_and_the_fix() {
    let (cluster, mock) = cluster(
        web(),
        vec![(
            404,
            status(404, "NotFound", "deployments.apps \"web\" not found", "web"),
        )],
    );
    let message = unavailable(apply(&cluster, Action::ScaleUp, 7).await);
    assert_eq!(
        message,
        "deployment/web in shop does not exist; create it, or remove it from the FailoverGroup's workloads"
    );
    assert_eq!(mock.seen().len(), 1);
}

/// A renamed or deleted workload cannot run: a deactivation counts it as done rather than
/// never finishing (and never acknowledging a planned failover).
#[tokio::test]
async fn a_missing_listed_object_counts_as_done_for_a_deactivation() {
    let (cluster, mock) = cluster(
        web(),
        vec![(
            404,
            status(404, "NotFound", "deployments.apps \"web\" not found", "web"),
        )],
    );
    assert_eq!(
        apply(&cluster, Action::ScaleDown, 7).await.unwrap(),
        Progress::Done
    );
    assert_eq!(mock.seen().len(), 1, "one read, nothing patched");
    assert!(mock.pod_lists().is_empty(), "no workload to count pods of");
}

#[tokio::test]
async fn a_missing_crd_fails_an_activation_step_and_is_skipped_by_a_deactivation_step() {
    let vs_spec = spec(
        Value::Null,
        json!([{"kind": "VirtualService", "name": "web-vs"}]),
        Value::Null,
    );
    // What a real API server answers for a path no API serves: plain text, no Status.
    let (cluster, mock) = cluster(
        vs_spec,
        vec![
            (404, json!("404 page not found")),
            (404, json!("404 page not found")),
        ],
    );

    let message = unavailable(apply(&cluster, Action::NetworkOn, 3).await);
    assert!(
        message.contains("virtualservice/web-vs in shop"),
        "{message}"
    );
    assert!(
        message.contains("virtualservices.networking.istio.io/v1 is not installed"),
        "{message}"
    );
    assert!(message.contains("install Istio"), "{message}");

    // Nothing of a kind this cluster does not serve can route traffic: deactivation goes on.
    assert_eq!(
        apply(&cluster, Action::NetworkOff, 3).await.unwrap(),
        Progress::Done
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), 2);
    seen[1].assert_get(VS);
}

#[tokio::test]
async fn an_object_with_a_newer_epoch_refuses_an_activation_before_any_patch() {
    let two = spec(
        json!([{"kind": "Deployment", "name": "web"}, {"kind": "Deployment", "name": "api"}]),
        Value::Null,
        Value::Null,
    );
    let mut api = deployment("12", Some("9"), 0);
    api["metadata"]["name"] = json!("api");
    let (cluster, mock) = cluster(two, vec![(200, deployment("11", Some("6"), 0)), (200, api)]);

    // Turning things on: a deactivation is never refused by an object's epoch (tests/kube_actions/epochs.rs).
    let err = apply(&cluster, Action::ScaleUp, 7).await.unwrap_err();

    assert_eq!(
        err,
        ActionError::StaleEpoch {
            group: "shop/web".into(),
            action: Action::ScaleUp,
            epoch: 7,
            applied: 9
        }
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), 2, "reads only: {seen:?}");
    assert!(seen.iter().all(|s| s.method == "GET"));
}

#[tokio::test]
async fn an_equal_epoch_on_the_object_is_accepted() {
    let (cluster, _mock) = cluster(
        web(),
        vec![
            (200, deployment("11", Some("7"), 3)),
            (200, deployment("12", Some("7"), 0)),
        ],
    );
    assert_eq!(
        apply(&cluster, Action::ScaleDown, 7).await.unwrap(),
        Progress::Done
    );
}

#[tokio::test]
async fn after_applying_an_epoch_an_older_one_is_refused_without_any_request() {
    let (cluster, mock) = cluster(web(), vec![(200, deployment("11", Some("9"), 0))]);
    assert_eq!(
        apply(&cluster, Action::ScaleDown, 9).await.unwrap(),
        Progress::Done
    );

    let err = apply(&cluster, Action::ScaleUp, 8).await.unwrap_err();

    assert!(
        matches!(
            err,
            ActionError::StaleEpoch {
                epoch: 8,
                applied: 9,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn an_unregistered_group_is_unavailable_with_the_fix() {
    let (cluster, mock) = cluster(web(), Vec::new());
    cluster.remove_group(&group());
    let message = unavailable(apply(&cluster, Action::ScaleDown, 1).await);
    assert!(
        message.contains("apply the FailoverGroup in this cluster"),
        "{message}"
    );
    assert!(mock.seen().is_empty());
}

#[tokio::test]
async fn an_unreachable_api_server_makes_the_action_unavailable_naming_the_answer() {
    let (cluster, _mock) = cluster(
        web(),
        vec![(
            500,
            status(500, "InternalError", "etcdserver: request timed out", ""),
        )],
    );
    let message = unavailable(apply(&cluster, Action::ScaleDown, 7).await);
    assert_eq!(
        message,
        "deployment/web in shop: the API server answered 500: etcdserver: request timed out"
    );
}

#[tokio::test]
async fn a_forbidden_patch_names_the_permission_to_grant() {
    let (cluster, _mock) = cluster(
        web(),
        vec![
            (200, deployment("11", None, 3)),
            (
                403,
                status(
                    403,
                    "Forbidden",
                    "deployments.apps \"web\" is forbidden: User \"system:serviceaccount:kfo:kfo\" cannot patch resource \"deployments\"",
                    "web",
                ),
            ),
        ],
    );
    let message = unavailable(apply(&cluster, Action::ScaleDown, 7).await);
    assert!(
        message.starts_with("deployment/web in shop: the API server answered 403"),
        "{message}"
    );
    assert!(message.ends_with("grant the controller's ServiceAccount get and patch on deployments.apps (deploy/base/rbac.yaml)"), "{message}");
}
