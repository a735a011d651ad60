//! The application every scenario fails over (namespace `shop`, FailoverGroup `web`): a
//! Deployment, a StatefulSet whose volume is replicated by a csi-addons VolumeReplication, a
//! CronJob and an Ingress, applied identically in every cluster as GitOps would, plus the
//! FailoverGroup listing them with test timings (heartbeat every 1s, presumed dead after 5s).

use serde_json::{Value, json};

/// The application's namespace.
pub const NS: &str = "shop";
/// The FailoverGroup's name.
pub const GROUP: &str = "web";
/// The Deployment (3 replicas while active).
pub const DEPLOYMENT: &str = "web";
/// Replicas of the Deployment in the manifests.
pub const DEPLOYMENT_REPLICAS: i64 = 3;
/// The StatefulSet (2 replicas while active) that mounts the replicated volume.
pub const STATEFULSET: &str = "db";
/// Replicas of the StatefulSet in the manifests.
pub const STATEFULSET_REPLICAS: i64 = 2;
/// The StatefulSet's VolumeReplication.
pub const VOLUME: &str = "db-data";
/// The CronJob.
pub const CRONJOB: &str = "nightly-report";
/// The Ingress.
pub const INGRESS: &str = "web";
/// The DNS annotation the FailoverGroup puts on the Ingress while the cluster serves.
pub const DNS_ANNOTATION: &str = "external-dns.alpha.kubernetes.io/hostname";
/// Its value.
pub const DNS_HOST: &str = "shop.example.com";

/// Test timings of the FailoverGroup.
#[derive(Debug, Clone)]
pub struct Timings {
    /// `heartbeatInterval`.
    pub interval: &'static str,
    /// `timeouts.heartbeat`.
    pub heartbeat: &'static str,
    /// `timeouts.unhealthyPrimary`.
    pub unhealthy: &'static str,
    /// `timeouts.transitoryState`.
    pub transitory: &'static str,
    /// `failoverCooldown`.
    pub cooldown: &'static str,
    /// `timeouts.deactivation`: the application stops within it (pods of the StatefulSet one
    /// after the other, [`GRACE_SECONDS`] each, then the volume demoted).
    pub deactivation: &'static str,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            interval: "1s",
            heartbeat: "5s",
            unhealthy: "3s",
            transitory: "30s",
            cooldown: "10s",
            deactivation: "8s",
        }
    }
}

/// The FailoverGroup, the same in every cluster.
pub fn failover_group(initial_primary: &str, t: &Timings) -> Value {
    json!({
        "apiVersion": "kubectl-failover.io/v1alpha1",
        "kind": "FailoverGroup",
        "metadata": {"name": GROUP, "namespace": NS},
        "spec": {
            "initialPrimary": initial_primary,
            "heartbeatInterval": t.interval,
            "timeouts": {
                "heartbeat": t.heartbeat,
                "unhealthyPrimary": t.unhealthy,
                "transitoryState": t.transitory,
                "deactivation": t.deactivation,
            },
            "failoverCooldown": t.cooldown,
            "selfFencing": true,
            "defaultFailoverMode": "CONSISTENCY",
            "workloads": [
                {"kind": "StatefulSet", "name": STATEFULSET, "volumeReplications": [VOLUME]},
                {"kind": "Deployment", "name": DEPLOYMENT},
                {"kind": "CronJob", "name": CRONJOB},
            ],
            "networkResources": [{
                "kind": "Ingress",
                "name": INGRESS,
                "activeAnnotations": {DNS_ANNOTATION: DNS_HOST},
            }],
        },
    })
}

/// A Failover asking to move the group to `target`.
pub fn failover(name: &str, target: &str) -> Value {
    json!({
        "apiVersion": "kubectl-failover.io/v1alpha1",
        "kind": "Failover",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "targetCluster": target,
            "reason": "e2e planned failover",
            "failoverGroups": [{"name": GROUP}],
        },
    })
}

/// Seconds a pod of the application takes to stop once deleted (kwok keeps it Terminating that
/// long on the real control plane, the in-memory server's pod stand-in too; 30 by default in
/// Kubernetes, shorter here to keep runs short).
pub const GRACE_SECONDS: i64 = 3;

fn pod_template(app: &str, grace: i64) -> Value {
    json!({
        "metadata": {"labels": {"app": app}},
        "spec": {
            // No scheduler runs with the real control plane: pods are bound to a simulated node.
            "nodeName": "kwok-node-0",
            "terminationGracePeriodSeconds": grace,
            "containers": [{"name": app, "image": format!("example.com/{app}:1.0")}],
        },
    })
}

/// The StatefulSet whose pods take `grace` seconds to stop (OrderedReady: one after the other).
pub fn statefulset(grace: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": STATEFULSET, "namespace": NS, "labels": {"app": STATEFULSET}},
        "spec": {
            "replicas": STATEFULSET_REPLICAS,
            "serviceName": STATEFULSET,
            "selector": {"matchLabels": {"app": STATEFULSET}},
            "template": pod_template(STATEFULSET, grace),
        },
    })
}

/// The application's objects as GitOps applies them, identical in every cluster.
pub fn app_objects() -> Vec<Value> {
    vec![
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": DEPLOYMENT, "namespace": NS, "labels": {"app": DEPLOYMENT}},
            "spec": {
                "replicas": DEPLOYMENT_REPLICAS,
                "selector": {"matchLabels": {"app": DEPLOYMENT}},
                "template": pod_template(DEPLOYMENT, GRACE_SECONDS),
            },
        }),
        statefulset(GRACE_SECONDS),
        json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": CRONJOB, "namespace": NS},
            "spec": {
                "schedule": "0 2 * * *",
                "suspend": false,
                "jobTemplate": {"spec": {"template": {"spec": {
                    "restartPolicy": "OnFailure",
                    "containers": [{"name": "report", "image": "example.com/report:1.0"}],
                }}}},
            },
        }),
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": INGRESS, "namespace": NS},
            "spec": {"rules": [{"host": DNS_HOST, "http": {"paths": [{
                "path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": DEPLOYMENT, "port": {"number": 80}}},
            }]}}]},
        }),
        json!({
            "apiVersion": "replication.storage.openshift.io/v1alpha1", "kind": "VolumeReplication",
            "metadata": {"name": VOLUME, "namespace": NS},
            "spec": {
                "volumeReplicationClass": "rbd-replication",
                "replicationState": "secondary",
                "dataSource": {"apiGroup": "", "kind": "PersistentVolumeClaim", "name": "data-db-0"},
                "autoResync": false,
            },
            "status": {"state": "Secondary", "conditions": []},
        }),
    ]
}

/// csi-addons' VolumeReplication CRD (the fields the tests use; status subresource on).
pub fn volume_replication_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "volumereplications.replication.storage.openshift.io"},
        "spec": {
            "group": "replication.storage.openshift.io",
            "scope": "Namespaced",
            "names": {
                "plural": "volumereplications", "singular": "volumereplication",
                "kind": "VolumeReplication", "listKind": "VolumeReplicationList",
                "shortNames": ["vr"],
            },
            "versions": [{
                "name": "v1alpha1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            }],
        },
    })
}

/// The project's CRDs (FailoverGroup, Failover) as JSON objects.
pub fn failover_crds() -> Vec<Value> {
    kubectl_failover::crd::crds()
        .into_iter()
        .map(|crd| {
            let mut v = serde_json::to_value(&crd).expect("CRD serializes");
            v["apiVersion"] = json!("apiextensions.k8s.io/v1");
            v["kind"] = json!("CustomResourceDefinition");
            v
        })
        .collect()
}
