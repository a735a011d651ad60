//! The Kubernetes `ClusterActions` end to end against the in-memory API server
//! (tests/support/apiserver): a full deactivate -> activate round trip of a Deployment, a
//! StatefulSet, a CronJob, an Ingress, a VirtualService, a VolumeReplication and a
//! HelmRelease, with the CRDs created so the optional APIs exist, the fake's workload
//! controller moving the replica counts and the test playing csi-addons for volume roles.
//! The fencing epoch across processes is in tests/kube_actions/roundtrip_epochs.rs.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "kube_actions/roundtrip_epochs.rs"]
mod epochs;

use std::time::Duration;

use apiserver::FakeApiServer;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kubectl_failover::crd::FailoverGroupSpec;
use kubectl_failover::k8s::kube::{KubeCluster, KubeSettings};
use kubectl_failover::k8s::{Action, ActionError, ClusterActions, GroupResources, Progress};
use kubectl_failover::store::{GroupId, Health};
use serde_json::{Value, json};

const NS: &str = "shop";

fn crd(group: &str, version: &str, kind: &str, plural: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group, "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.to_lowercase(), "kind": kind},
            "versions": [{
                "name": version, "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}},
            }],
        },
    })
}

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": NS})
}

/// Pods that stop at once (`terminationGracePeriodSeconds: 0`) unless a test says otherwise.
fn pod_template(app: &str) -> Value {
    json!({
        "selector": {"matchLabels": {"app": app}},
        "template": {"metadata": {"labels": {"app": app}}, "spec": {"terminationGracePeriodSeconds": 0, "containers": [{"name": "c", "image": "nginx"}]}},
    })
}

/// A cluster serving shop/web: everything running, DNS on, volume primary, Flux running.
/// `istio`: whether the VirtualService CRD (and object) exist.
async fn serving_cluster(istio: bool) -> FakeApiServer {
    let server = FakeApiServer::start().await;
    server.set_workload_controller(Some(Duration::from_millis(20)));
    server.put_object(crd(
        "replication.storage.openshift.io",
        "v1alpha1",
        "VolumeReplication",
        "volumereplications",
    ));
    server.put_object(crd(
        "helm.toolkit.fluxcd.io",
        "v2",
        "HelmRelease",
        "helmreleases",
    ));
    let mut web = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web"), "spec": pod_template("web")});
    web["spec"]["replicas"] = json!(3);
    server.put_object(web);
    let mut db = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("db"), "spec": pod_template("db")});
    db["spec"]["replicas"] = json!(2);
    db["spec"]["serviceName"] = json!("db");
    server.put_object(db);
    server.put_object(json!({
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta("report"),
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}}}}},
    }));
    let mut ingress = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta("web"), "spec": {"rules": [{"host": "web.example.com"}]}});
    ingress["metadata"]["annotations"] = json!({"kubectl-failover.io/dns": "enabled"});
    server.put_object(ingress);
    if istio {
        server.put_object(crd(
            "networking.istio.io",
            "v1",
            "VirtualService",
            "virtualservices",
        ));
        let mut vs = json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": meta("web-vs"), "spec": {"hosts": ["web.example.com"]}});
        vs["metadata"]["annotations"] =
            json!({"external-dns.alpha.kubernetes.io/hostname": "web.example.com"});
        server.put_object(vs);
    }
    server.put_object(json!({
        "apiVersion": "replication.storage.openshift.io/v1alpha1", "kind": "VolumeReplication", "metadata": meta("web-data"),
        "spec": {"replicationState": "primary", "volumeReplicationClass": "rbd", "dataSource": {"kind": "PersistentVolumeClaim", "name": "data"}},
        "status": {"state": "Primary", "conditions": [{"type": "Completed", "status": "True", "reason": "Promoted"}]},
    }));
    server.put_object(json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": meta("web"),
        "spec": {"interval": "10m", "chart": {"spec": {"chart": "web"}}},
        "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "UpgradeSucceeded", "message": ""}]},
    }));
    server
}

fn group_spec() -> FailoverGroupSpec {
    serde_json::from_value(json!({
        "initialPrimary": "east",
        "workloads": [
            {"kind": "Deployment", "name": "web", "volumeReplications": ["web-data"]},
            {"kind": "StatefulSet", "name": "db"},
            {"kind": "CronJob", "name": "report"},
        ],
        "networkResources": [
            {"kind": "Ingress", "name": "web"},
            {"kind": "VirtualService", "name": "web-vs", "activeAnnotations": {"external-dns.alpha.kubernetes.io/hostname": "web.example.com"}},
        ],
        "fluxResources": [{"kind": "HelmRelease", "name": "web"}],
    }))
    .unwrap()
}

fn group() -> GroupId {
    GroupId::new(NS, "web").unwrap()
}

fn actions_on(server: &FakeApiServer) -> KubeCluster {
    let cluster = KubeCluster::new(server.client(), "east", KubeSettings::default());
    cluster.set_group(&group(), &group_spec());
    cluster
}

/// Plays csi-addons: moves `status.state` to the asked role, as its controller would.
async fn csi_addons_follows(server: &FakeApiServer) {
    let gvk = GroupVersionKind::gvk(
        "replication.storage.openshift.io",
        "v1alpha1",
        "VolumeReplication",
    );
    let ar = ApiResource::from_gvk_with_plural(&gvk, "volumereplications");
    let api: Api<DynamicObject> = Api::namespaced_with(server.client(), NS, &ar);
    let vr = api.get("web-data").await.unwrap();
    let asked = vr.data["spec"]["replicationState"]
        .as_str()
        .unwrap()
        .to_string();
    let (state, reason) = if asked == "primary" {
        ("Primary", "Promoted")
    } else {
        ("Secondary", "Demoted")
    };
    let status = json!({"status": {"state": state, "observedGeneration": vr.metadata.generation, "conditions": [{"type": "Completed", "status": "True", "reason": reason}]}});
    api.patch_status("web-data", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
}

/// Applies each step until it is done (bounded), playing csi-addons when a volume waits.
async fn converge(server: &FakeApiServer, cluster: &KubeCluster, steps: [Action; 4], epoch: u64) {
    for action in steps {
        let mut attempts = 0;
        loop {
            match cluster.apply(&group(), action, epoch).await.unwrap() {
                Progress::Done => break,
                Progress::Pending(what) => {
                    attempts += 1;
                    assert!(attempts < 200, "{action:?} never finished: {what}");
                    if matches!(action, Action::PromoteVolumes | Action::DemoteVolumes) {
                        assert!(what.contains("volumereplication/web-data"), "{what}");
                        csi_addons_follows(server).await;
                    } else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }
    }
}

fn object(server: &FakeApiServer, path: &str) -> Value {
    server.get(path).unwrap_or_else(|| panic!("{path} exists"))
}

const DEPLOY: &str = "/apis/apps/v1/namespaces/shop/deployments/web";
const STS: &str = "/apis/apps/v1/namespaces/shop/statefulsets/db";
const CRON: &str = "/apis/batch/v1/namespaces/shop/cronjobs/report";
const ING: &str = "/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web";
const VS: &str = "/apis/networking.istio.io/v1/namespaces/shop/virtualservices/web-vs";
const VR: &str =
    "/apis/replication.storage.openshift.io/v1alpha1/namespaces/shop/volumereplications/web-data";
const HR: &str = "/apis/helm.toolkit.fluxcd.io/v2/namespaces/shop/helmreleases/web";

#[tokio::test]
async fn a_group_deactivates_to_a_healthy_standby_and_activates_back_to_its_replica_counts() {
    let server = serving_cluster(true).await;
    let cluster = actions_on(&server);
    // Let the workload controller report the initial replicas ready.
    converge(&server, &cluster, [Action::ScaleUp; 4], 4).await;

    converge(&server, &cluster, Action::DEACTIVATE, 5).await;

    let web = object(&server, DEPLOY);
    assert_eq!(web["spec"]["replicas"], 0);
    assert_eq!(
        web["metadata"]["annotations"]["kubectl-failover.io/replicas"],
        "3"
    );
    assert_eq!(
        web["metadata"]["annotations"]["kubectl-failover.io/epoch"],
        "5"
    );
    assert_eq!(
        web["status"]["readyReplicas"],
        Value::Null,
        "no replica left"
    );
    let db = object(&server, STS);
    assert_eq!(db["spec"]["replicas"], 0);
    assert_eq!(
        db["metadata"]["annotations"]["kubectl-failover.io/replicas"],
        "2"
    );
    assert_eq!(db["status"]["replicas"], 0);
    assert_eq!(object(&server, CRON)["spec"]["suspend"], true);
    assert_eq!(
        object(&server, ING)["metadata"]["annotations"]["kubectl-failover.io/dns"],
        "disabled"
    );
    let vs = object(&server, VS);
    assert_eq!(
        vs["metadata"]["annotations"].get("external-dns.alpha.kubernetes.io/hostname"),
        None
    );
    let vr = object(&server, VR);
    assert_eq!(
        (
            vr["spec"]["replicationState"].as_str(),
            vr["status"]["state"].as_str()
        ),
        (Some("secondary"), Some("Secondary"))
    );
    assert_eq!(object(&server, HR)["spec"]["suspend"], true);
    let standby = cluster.health(&group()).await.unwrap();
    assert_eq!(
        standby.overall(),
        Health::Ok,
        "a standby is healthy: {standby:?}"
    );

    converge(&server, &cluster, Action::ACTIVATE, 6).await;

    let web = object(&server, DEPLOY);
    assert_eq!(
        (
            web["spec"]["replicas"].as_i64(),
            web["status"]["readyReplicas"].as_i64()
        ),
        (Some(3), Some(3))
    );
    assert_eq!(
        web["metadata"]["annotations"].get("kubectl-failover.io/replicas"),
        None
    );
    assert_eq!(
        web["metadata"]["annotations"]["kubectl-failover.io/epoch"],
        "6"
    );
    let db = object(&server, STS);
    assert_eq!(
        (
            db["spec"]["replicas"].as_i64(),
            db["status"]["readyReplicas"].as_i64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(object(&server, CRON)["spec"]["suspend"], false);
    assert_eq!(
        object(&server, ING)["metadata"]["annotations"]["kubectl-failover.io/dns"],
        "enabled"
    );
    assert_eq!(
        object(&server, VS)["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/hostname"],
        "web.example.com"
    );
    assert_eq!(object(&server, VR)["status"]["state"], "Primary");
    let hr = object(&server, HR);
    assert_eq!(hr["spec"]["suspend"], false);
    let requested = hr["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
        .as_str()
        .unwrap();
    assert!(
        requested.parse::<chrono::DateTime<chrono::Utc>>().is_ok(),
        "a timestamp: {requested}"
    );
    let serving = cluster.health(&group()).await.unwrap();
    assert_eq!(serving.overall(), Health::Ok, "{serving:?}");

    // Patches only, all JSON merge patches by one field manager; never a whole-object PUT.
    let writes: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(!writes.is_empty());
    for w in &writes {
        assert_eq!(w.method, "PATCH", "{w:?}");
        if !w.path.ends_with("/status") {
            assert_eq!(w.content_type, "application/merge-patch+json", "{w:?}");
            assert_eq!(
                w.param("fieldManager").as_deref(),
                Some("kubectl-failover"),
                "{w:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_controller_restarted_with_an_older_epoch_is_refused_by_the_epochs_on_the_objects() {
    let server = serving_cluster(true).await;
    converge(&server, &actions_on(&server), Action::DEACTIVATE, 8).await;
    server.clear_requests();

    // A fresh KubeCluster knows no epoch: only the annotations can refuse it.
    let stale = actions_on(&server);
    let err = stale.apply(&group(), Action::ScaleUp, 7).await.unwrap_err();

    assert!(
        matches!(
            err,
            ActionError::StaleEpoch {
                epoch: 7,
                applied: 8,
                ..
            }
        ),
        "{err:?}"
    );
    let requests = server.requests();
    assert!(!requests.is_empty());
    assert!(
        requests.iter().all(|r| r.method == "GET"),
        "nothing written: {requests:?}"
    );
    assert_eq!(object(&server, DEPLOY)["spec"]["replicas"], 0);
}

#[tokio::test]
async fn without_istio_the_network_is_degraded_activation_is_refused_and_deactivation_goes_on() {
    let server = serving_cluster(false).await;
    let cluster = actions_on(&server);

    let report = cluster.health(&group()).await.unwrap();
    let network = &report.components["network"];
    assert_eq!(network.health, Health::Degraded);
    assert!(
        network
            .message
            .contains("virtualservices.networking.istio.io/v1 is not installed"),
        "{network:?}"
    );

    let err = cluster
        .apply(&group(), Action::NetworkOn, 3)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("install Istio"), "{err}");
    converge(&server, &cluster, Action::DEACTIVATE, 3).await;
    assert_eq!(
        object(&server, ING)["metadata"]["annotations"]["kubectl-failover.io/dns"],
        "disabled"
    );
    assert_eq!(object(&server, DEPLOY)["spec"]["replicas"], 0);
}

/// Scaled down means no pod left: the Deployment's status says 0 replicas (1.34 leaves
/// terminating pods out) while its pods are still Terminating for their grace period, and the
/// step stays pending, naming them, until they are gone.
#[tokio::test]
async fn scale_down_is_done_only_once_no_pod_of_the_selector_is_left() {
    let server = serving_cluster(false).await;
    let mut web = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web"), "spec": pod_template("web")});
    web["spec"]["replicas"] = json!(3);
    web["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = json!(2);
    server.put_object(web);
    let cluster = actions_on(&server);
    converge(&server, &cluster, [Action::ScaleUp; 4], 4).await;
    let pods = |server: &FakeApiServer| {
        server
            .objects("Pod")
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["app"] == "web")
            .count()
    };
    assert_eq!(
        pods(&server),
        3,
        "the pod stand-in runs the Deployment's pods"
    );

    let started = std::time::Instant::now();
    let mut seen_pending = None;
    loop {
        match cluster.apply(&group(), Action::ScaleDown, 5).await.unwrap() {
            Progress::Done => break,
            Progress::Pending(what) => {
                if what.contains("pods left") {
                    seen_pending.get_or_insert(what);
                }
                assert!(started.elapsed() < Duration::from_secs(10), "never done");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let what = seen_pending.expect("pending while pods terminate");
    assert!(
        what.contains("deployment/web in shop: 3 pods left (3 terminating)"),
        "{what}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "done only after the 2s grace period: {:?}",
        started.elapsed()
    );
    assert_eq!(pods(&server), 0);
    assert_eq!(object(&server, DEPLOY)["status"]["replicas"], Value::Null);
}
