//! Health judged from real status: ready replicas, VolumeReplication conditions, Flux Ready,
//! and missing objects or APIs.

use super::*;
use kubectl_failover::store::Health;

fn full_spec() -> Value {
    spec(
        json!([
            {"kind": "Deployment", "name": "web", "volumeReplications": ["web-data"]},
            {"kind": "CronJob", "name": "report"},
        ]),
        json!([{"kind": "Ingress", "name": "web"}, {"kind": "VirtualService", "name": "web-vs"}]),
        json!([{"kind": "HelmRelease", "name": "web"}, {"kind": "Kustomization", "name": "apps"}]),
    )
}

fn deployment(replicas: i64, ready: i64) -> Value {
    object(
        "apps/v1",
        "Deployment",
        "web",
        "1",
        Value::Null,
        json!({"spec": {"replicas": replicas}, "status": {"replicas": replicas, "readyReplicas": ready, "observedGeneration": 1}}),
    )
}

fn replication(state: &str, conditions: Value) -> Value {
    object(
        "replication.storage.openshift.io/v1alpha1",
        "VolumeReplication",
        "web-data",
        "1",
        Value::Null,
        json!({"spec": {"replicationState": state.to_lowercase()}, "status": {"state": state, "conditions": conditions}}),
    )
}

fn flux(
    api_version: &str,
    kind: &str,
    name: &str,
    suspend: bool,
    ready: Option<(&str, &str, &str)>,
) -> Value {
    let conditions = match ready {
        Some((status, reason, message)) => {
            json!([{"type": "Ready", "status": status, "reason": reason, "message": message}])
        }
        None => json!([]),
    };
    object(
        api_version,
        kind,
        name,
        "1",
        Value::Null,
        json!({"spec": {"suspend": suspend}, "status": {"conditions": conditions}}),
    )
}

fn healthy_primary() -> Vec<Answer> {
    vec![
        (200, deployment(3, 3)),
        (
            200,
            object(
                "batch/v1",
                "CronJob",
                "report",
                "1",
                Value::Null,
                json!({"spec": {"suspend": false}}),
            ),
        ),
        (
            200,
            replication(
                "Primary",
                json!([{"type": "Completed", "status": "True", "reason": "Promoted"}, {"type": "Degraded", "status": "False", "reason": "Healthy"}]),
            ),
        ),
        (
            200,
            object(
                "networking.k8s.io/v1",
                "Ingress",
                "web",
                "1",
                json!({"kubectl-failover.io/dns": "enabled"}),
                json!({}),
            ),
        ),
        (
            200,
            object(
                "networking.istio.io/v1",
                "VirtualService",
                "web-vs",
                "1",
                json!({"kubectl-failover.io/dns": "enabled"}),
                json!({}),
            ),
        ),
        (
            200,
            flux(
                "helm.toolkit.fluxcd.io/v2",
                "HelmRelease",
                "web",
                false,
                Some(("True", "InstallSucceeded", "")),
            ),
        ),
        (
            200,
            flux(
                "kustomize.toolkit.fluxcd.io/v1",
                "Kustomization",
                "apps",
                false,
                Some(("True", "ReconciliationSucceeded", "")),
            ),
        ),
    ]
}

async fn health(script: Vec<Answer>) -> kubectl_failover::k8s::HealthReport {
    let (cluster, _mock) = cluster(full_spec(), script);
    cluster.health(&group()).await.unwrap()
}

#[tokio::test]
async fn a_serving_group_with_everything_ready_is_ok_in_every_family() {
    let report = health(healthy_primary()).await;
    let names: Vec<&str> = report.components.keys().map(String::as_str).collect();
    assert_eq!(names, ["flux", "jobs", "network", "volumes", "workloads"]);
    assert_eq!(report.overall(), Health::Ok, "{report:?}");
}

#[tokio::test]
async fn partly_ready_replicas_are_degraded_and_none_ready_is_an_error() {
    let mut script = healthy_primary();
    script[0] = (200, deployment(3, 1));
    let report = health(script).await;
    let w = &report.components["workloads"];
    assert_eq!(
        (w.health, w.message.as_str()),
        (Health::Degraded, "deployment/web in shop: 1/3 ready")
    );

    let mut script = healthy_primary();
    script[0] = (200, deployment(3, 0));
    assert_eq!(
        health(script).await.components["workloads"].health,
        Health::Error
    );
}

#[tokio::test]
async fn volume_health_comes_from_the_conditions_csi_addons_publishes() {
    let mut script = healthy_primary();
    script[2] = (
        200,
        replication(
            "Primary",
            json!([{"type": "Validated", "status": "False", "reason": "PrerequisiteNotMet", "message": "no peer"}]),
        ),
    );
    let v = health(script).await.components["volumes"].clone();
    assert_eq!(v.health, Health::Error);
    assert_eq!(
        v.message,
        "volumereplication/web-data in shop: Validated=False (PrerequisiteNotMet): no peer"
    );

    let mut script = healthy_primary();
    script[2] = (
        200,
        replication(
            "Primary",
            json!([{"type": "Resyncing", "status": "True", "reason": "ResyncTriggered"}]),
        ),
    );
    assert_eq!(
        health(script).await.components["volumes"].health,
        Health::Degraded
    );
}

#[tokio::test]
async fn a_secondary_volume_while_workloads_run_is_an_error_but_a_resyncing_standby_is_fine() {
    let mut script = healthy_primary();
    script[2] = (200, replication("Secondary", json!([])));
    let v = health(script).await.components["volumes"].clone();
    assert_eq!(v.health, Health::Error, "{v:?}");
    assert!(
        v.message.contains("state Secondary while workloads run"),
        "{v:?}"
    );

    let mut script = healthy_primary();
    script[0] = (200, deployment(0, 0));
    script[2] = (
        200,
        replication(
            "Secondary",
            json!([{"type": "Degraded", "status": "True", "reason": "VolumeDegraded"}, {"type": "Resyncing", "status": "True", "reason": "ResyncTriggered"}]),
        ),
    );
    let report = health(script).await;
    assert_eq!(
        report.components["volumes"].health,
        Health::Ok,
        "{report:?}"
    );
    assert_eq!(
        report.components["workloads"].health,
        Health::Ok,
        "a standby at 0 is healthy"
    );
}

#[tokio::test]
async fn suspended_flux_is_healthy_and_running_flux_is_judged_by_its_ready_condition() {
    let mut script = healthy_primary();
    script[5] = (
        200,
        flux(
            "helm.toolkit.fluxcd.io/v2",
            "HelmRelease",
            "web",
            true,
            Some(("False", "UpgradeFailed", "timed out")),
        ),
    );
    script[6] = (
        200,
        flux(
            "kustomize.toolkit.fluxcd.io/v1",
            "Kustomization",
            "apps",
            false,
            Some(("False", "BuildFailed", "kustomization.yaml not found")),
        ),
    );
    let f = health(script).await.components["flux"].clone();
    assert_eq!(f.health, Health::Error);
    assert_eq!(
        f.message,
        "kustomization/apps in shop: not ready (BuildFailed): kustomization.yaml not found"
    );
}

#[tokio::test]
async fn a_missing_api_is_degraded_and_a_missing_object_is_an_error_both_named() {
    let mut script = healthy_primary();
    script[4] = (404, json!("404 page not found"));
    script[6] = (
        404,
        status(
            404,
            "NotFound",
            "kustomizations.kustomize.toolkit.fluxcd.io \"apps\" not found",
            "apps",
        ),
    );
    let report = health(script).await;
    let n = &report.components["network"];
    assert_eq!(n.health, Health::Degraded);
    assert!(
        n.message
            .contains("virtualservices.networking.istio.io/v1 is not installed"),
        "{n:?}"
    );
    let f = &report.components["flux"];
    assert_eq!(f.health, Health::Error);
    assert!(
        f.message
            .contains("kustomization/apps in shop does not exist"),
        "{f:?}"
    );
}

#[tokio::test]
async fn an_unreadable_epoch_is_degraded_naming_the_object_and_the_fix() {
    let mut script = healthy_primary();
    script[3].1["metadata"]["annotations"]["kubectl-failover.io/epoch"] = json!("garbage");
    let n = health(script).await.components["network"].clone();
    assert_eq!(n.health, Health::Degraded, "{n:?}");
    for part in [
        "ingress/web in shop",
        "annotation kubectl-failover.io/epoch \"garbage\"",
        "remove the annotation if nothing newer acted on it",
    ] {
        assert!(n.message.contains(part), "{part:?} in {n:?}");
    }
}

#[tokio::test]
async fn has_volume_replications_follows_the_registered_spec() {
    let (cluster, mock) = cluster(full_spec(), Vec::new());
    assert!(cluster.has_volume_replications(&group()).await.unwrap());
    let (plain, _) = super::cluster(
        spec(
            json!([{"kind": "Deployment", "name": "web"}]),
            Value::Null,
            Value::Null,
        ),
        Vec::new(),
    );
    assert!(!plain.has_volume_replications(&group()).await.unwrap());
    assert!(mock.seen().is_empty(), "read from the spec, not the API");
}
