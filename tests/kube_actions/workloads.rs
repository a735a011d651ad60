//! Deployments and StatefulSets: scale to 0 remembering the count, scale back, wait on
//! readiness.

use super::*;

const DEPLOY: &str = "/apis/apps/v1/namespaces/shop/deployments/web";
const STS: &str = "/apis/apps/v1/namespaces/shop/statefulsets/db";

fn deployment(rv: &str, annotations: Value, replicas: i64, status: Value) -> Value {
    object(
        "apps/v1",
        "Deployment",
        "web",
        rv,
        annotations,
        json!({"spec": {"replicas": replicas}, "status": status}),
    )
}

fn stateful_set(rv: &str, annotations: Value, replicas: i64, status: Value) -> Value {
    object(
        "apps/v1",
        "StatefulSet",
        "db",
        rv,
        annotations,
        json!({"spec": {"replicas": replicas}, "status": status}),
    )
}

fn web_and_db() -> Value {
    spec(
        json!([{"kind": "Deployment", "name": "web"}, {"kind": "StatefulSet", "name": "db"}]),
        Value::Null,
        Value::Null,
    )
}

#[tokio::test]
async fn scale_down_patches_replicas_to_zero_remembering_the_count_with_epoch_and_resource_version()
{
    let running = json!({"replicas": 3, "readyReplicas": 3, "observedGeneration": 1});
    let (cluster, mock) = cluster(
        spec(
            json!([{"kind": "Deployment", "name": "web"}]),
            Value::Null,
            Value::Null,
        ),
        vec![
            (200, deployment("41", Value::Null, 3, running.clone())),
            (
                200,
                deployment(
                    "42",
                    json!({"kubectl-failover.io/replicas": "3"}),
                    0,
                    running,
                ),
            ),
        ],
    );

    let progress = apply(&cluster, Action::ScaleDown, 7).await.unwrap();

    assert_eq!(
        progress,
        Progress::Pending("deployment/web in shop: 3 replicas left".into())
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    seen[0].assert_get(DEPLOY);
    seen[1].assert_merge_patch(
        DEPLOY,
        json!({
            "metadata": {
                "resourceVersion": "41",
                "annotations": {"kubectl-failover.io/replicas": "3", "kubectl-failover.io/epoch": "7"},
            },
            "spec": {"replicas": 0},
        }),
    );
}

#[tokio::test]
async fn scale_down_is_done_without_any_patch_once_no_replica_is_left_under_its_epoch() {
    let gone = json!({"observedGeneration": 1});
    let (cluster, mock) = cluster(
        web_and_db(),
        vec![
            (
                200,
                deployment(
                    "50",
                    json!({"kubectl-failover.io/replicas": "3", "kubectl-failover.io/epoch": "7"}),
                    0,
                    gone.clone(),
                ),
            ),
            (
                200,
                stateful_set(
                    "51",
                    json!({"kubectl-failover.io/replicas": "2", "kubectl-failover.io/epoch": "7"}),
                    0,
                    json!({"replicas": 0, "availableReplicas": 0, "observedGeneration": 1}),
                ),
            ),
        ],
    );

    assert_eq!(
        apply(&cluster, Action::ScaleDown, 7).await.unwrap(),
        Progress::Done
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), 2, "reads only: {seen:?}");
    seen[0].assert_get(DEPLOY);
    seen[1].assert_get(STS);
}

#[tokio::test]
async fn scale_up_restores_the_remembered_count_and_is_done_only_when_all_replicas_are_ready() {
    let remembered = json!({"kubectl-failover.io/replicas": "2"});
    let (cluster, mock) = cluster(
        spec(
            json!([{"kind": "StatefulSet", "name": "db"}]),
            Value::Null,
            Value::Null,
        ),
        vec![
            (
                200,
                stateful_set(
                    "60",
                    remembered,
                    0,
                    json!({"replicas": 0, "observedGeneration": 1}),
                ),
            ),
            (
                200,
                stateful_set(
                    "61",
                    json!({"kubectl-failover.io/epoch": "8"}),
                    2,
                    json!({"replicas": 0, "observedGeneration": 1}),
                ),
            ),
            // The next tick: one of two ready.
            (
                200,
                stateful_set(
                    "62",
                    json!({"kubectl-failover.io/epoch": "8"}),
                    2,
                    json!({"replicas": 2, "readyReplicas": 1, "currentReplicas": 2, "observedGeneration": 2}),
                ),
            ),
            // Then both.
            (
                200,
                stateful_set(
                    "63",
                    json!({"kubectl-failover.io/epoch": "8"}),
                    2,
                    json!({"replicas": 2, "readyReplicas": 2, "currentReplicas": 2, "observedGeneration": 2}),
                ),
            ),
        ],
    );

    let first = apply(&cluster, Action::ScaleUp, 8).await.unwrap();
    assert_eq!(
        first,
        Progress::Pending("statefulset/db in shop: 0/2 ready".into())
    );
    let second = apply(&cluster, Action::ScaleUp, 8).await.unwrap();
    assert_eq!(
        second,
        Progress::Pending("statefulset/db in shop: 1/2 ready".into())
    );
    assert_eq!(
        apply(&cluster, Action::ScaleUp, 8).await.unwrap(),
        Progress::Done
    );

    let seen = mock.seen();
    assert_eq!(seen.len(), 4, "one patch, then reads: {seen:?}");
    seen[1].assert_merge_patch(
        STS,
        json!({
            "metadata": {
                "resourceVersion": "60",
                "annotations": {"kubectl-failover.io/replicas": null, "kubectl-failover.io/epoch": "8"},
            },
            "spec": {"replicas": 2},
        }),
    );
    assert!(seen[2..].iter().all(|s| s.method == "GET"), "{seen:?}");
}

#[tokio::test]
async fn a_stateful_set_with_fewer_ready_than_spec_replicas_is_not_scaled_up_yet() {
    // currentReplicas and availableReplicas already match, but two of three are not ready.
    let (cluster, _mock) = cluster(
        spec(
            json!([{"kind": "StatefulSet", "name": "db"}]),
            Value::Null,
            Value::Null,
        ),
        vec![(
            200,
            stateful_set(
                "70",
                json!({"kubectl-failover.io/epoch": "8"}),
                3,
                json!({"replicas": 3, "currentReplicas": 3, "availableReplicas": 3, "readyReplicas": 1, "observedGeneration": 1}),
            ),
        )],
    );
    let progress = apply(&cluster, Action::ScaleUp, 8).await.unwrap();
    assert_eq!(
        progress,
        Progress::Pending("statefulset/db in shop: 1/3 ready".into())
    );
}

#[tokio::test]
async fn scale_up_of_a_workload_at_zero_without_a_remembered_count_names_the_object_and_the_fix() {
    let (cluster, mock) = cluster(
        spec(
            json!([{"kind": "Deployment", "name": "web"}]),
            Value::Null,
            Value::Null,
        ),
        vec![(200, deployment("80", Value::Null, 0, json!({})))],
    );
    let message = unavailable(apply(&cluster, Action::ScaleUp, 8).await);
    assert!(message.contains("deployment/web in shop"), "{message}");
    assert!(
        message.contains("kubectl-failover.io/replicas"),
        "{message}"
    );
    assert!(
        message.contains("kubectl annotate deployment web"),
        "{message}"
    );
    assert_eq!(mock.seen().len(), 1, "no patch");
}

#[tokio::test]
async fn scale_down_waits_for_terminating_pods_before_it_is_done() {
    let shutting_down = json!({"terminatingReplicas": 2, "observedGeneration": 2});
    let (cluster, _mock) = cluster(
        spec(
            json!([{"kind": "Deployment", "name": "web"}]),
            Value::Null,
            Value::Null,
        ),
        vec![(
            200,
            deployment(
                "90",
                json!({"kubectl-failover.io/replicas": "3", "kubectl-failover.io/epoch": "7"}),
                0,
                shutting_down,
            ),
        )],
    );
    let progress = apply(&cluster, Action::ScaleDown, 7).await.unwrap();
    assert_eq!(
        progress,
        Progress::Pending("deployment/web in shop: 2 replicas left".into())
    );
}

#[tokio::test]
async fn scale_up_refuses_a_remembered_count_that_is_not_a_sane_replica_count() {
    for (value, problem) in [
        ("99999999", "above 10000"),
        ("-3", "negative"),
        ("x", "not a whole number"),
    ] {
        let (cluster, mock) = cluster(
            spec(
                json!([{"kind": "Deployment", "name": "web"}]),
                Value::Null,
                Value::Null,
            ),
            vec![(
                200,
                deployment(
                    "80",
                    json!({"kubectl-failover.io/replicas": value}),
                    0,
                    json!({}),
                ),
            )],
        );
        let message = unavailable(apply(&cluster, Action::ScaleUp, 8).await);
        for part in [
            "deployment/web in shop",
            "annotation kubectl-failover.io/replicas",
            &format!("{value:?}"),
            problem,
            "kubectl annotate deployment web kubectl-failover.io/replicas=N --overwrite",
        ] {
            assert!(message.contains(part), "{part:?} in {message}");
        }
        assert_eq!(mock.seen().len(), 1, "no patch for {value}");
    }
}

/// The workload's status says 0 replicas (Kubernetes 1.34 leaves terminating pods out), but
/// its selector still matches a pod that terminates: not done. Finished pods do not count.
#[tokio::test]
async fn scale_down_lists_the_pods_of_the_selector_and_waits_until_none_is_left() {
    let at_zero = deployment(
        "90",
        json!({"kubectl-failover.io/replicas": "3", "kubectl-failover.io/epoch": "7"}),
        0,
        json!({"observedGeneration": 1}),
    );
    let terminating = json!({"metadata": {"name": "web-1", "namespace": NS, "deletionTimestamp": "2026-01-01T00:00:30Z"}, "status": {"phase": "Running"}});
    let finished =
        json!({"metadata": {"name": "web-job", "namespace": NS}, "status": {"phase": "Succeeded"}});
    let only_web = spec(
        json!([{"kind": "Deployment", "name": "web"}]),
        Value::Null,
        Value::Null,
    );
    let (cluster, mock) = cluster_with_pods(
        only_web.clone(),
        vec![(200, at_zero.clone())],
        vec![terminating, finished.clone()],
    );
    assert_eq!(
        apply(&cluster, Action::ScaleDown, 7).await.unwrap(),
        Progress::Pending("deployment/web in shop: 1 pods left (1 terminating)".into())
    );
    let lists = mock.pod_lists();
    assert_eq!(lists.len(), 1);
    assert_eq!(lists[0].path, "/api/v1/namespaces/shop/pods");
    assert!(
        lists[0].query.contains("labelSelector=app%3Dweb"),
        "{:?}",
        lists[0]
    );

    let (cluster, _mock) = cluster_with_pods(only_web, vec![(200, at_zero)], vec![finished]);
    assert_eq!(
        apply(&cluster, Action::ScaleDown, 7).await.unwrap(),
        Progress::Done
    );
}
