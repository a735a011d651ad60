//! A stand-in for the csi-addons volume replication controller: `VOLUME_DELAY` after a
//! VolumeReplication's `spec.replicationState` changes, its `status.state` and the conditions
//! csi-addons publishes (Completed, Degraded, Resyncing) follow it, through the status
//! subresource. A cluster can make its volumes report a replication failure.

use std::sync::Weak;
use std::time::Duration;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{Value, json};

use super::cluster::Cluster;
use super::fixtures::NS;

/// How long a volume takes to reach the asked replication state.
const VOLUME_DELAY: Duration = Duration::from_millis(150);

/// The csi-addons controller's visible behaviour: `VOLUME_DELAY` after `spec.replicationState`
/// changes, `status.state` and the conditions csi-addons publishes follow it.
pub async fn controller(cluster: Weak<Cluster>) {
    let gvk = GroupVersionKind::gvk(
        "replication.storage.openshift.io",
        "v1alpha1",
        "VolumeReplication",
    );
    let resource = ApiResource::from_gvk(&gvk);
    let Some(client) = cluster.upgrade().map(|c| c.api.client()) else {
        return;
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client, NS, &resource);
    let mut behind_since: Option<tokio::time::Instant> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Some((objects, fault)) = cluster.upgrade().map(|c| {
            let fault = c
                .volume_fault
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            (c.api.try_objects("VolumeReplication"), fault)
        }) else {
            return;
        };
        // Unreadable only while the cluster is being torn down: try again on the next scan.
        let Ok(objects) = objects else {
            continue;
        };
        let behind: Vec<(String, Value)> = objects
            .iter()
            .map(|vr| (vr, volume_status(vr, fault.as_deref())))
            .filter(|(vr, want)| {
                vr["status"]["state"] != want["state"]
                    || vr["status"]["conditions"] != want["conditions"]
            })
            .map(|(vr, want)| {
                let name = vr["metadata"]["name"].as_str().unwrap_or_default();
                (name.to_string(), want)
            })
            .collect();
        if behind.is_empty() {
            behind_since = None;
            continue;
        }
        // The volume needs time to change state; afterwards the status follows the spec as it
        // is then (re-read on every scan).
        let since = *behind_since.get_or_insert_with(tokio::time::Instant::now);
        if since.elapsed() < VOLUME_DELAY {
            continue;
        }
        for (name, want) in behind {
            let patch = Patch::Merge(json!({"status": want}));
            // A failed write is redone on the next scan.
            let _ = api
                .patch_status(&name, &PatchParams::default(), &patch)
                .await;
        }
        behind_since = None;
    }
}

/// The status csi-addons writes once a VolumeReplication reached its asked state, or while
/// replication fails for `fault`.
fn volume_status(vr: &Value, fault: Option<&str>) -> Value {
    let generation = vr["metadata"]["generation"].as_i64().unwrap_or(1);
    let (state, completed_reason) = match vr["spec"]["replicationState"].as_str() {
        Some("primary") => ("Primary", "Promoted"),
        Some("secondary") => ("Secondary", "Demoted"),
        _ => ("Unknown", "Unknown"),
    };
    let condition = |kind: &str, status: &str, reason: &str| {
        json!({
            "type": kind, "status": status, "reason": reason, "message": "",
            "observedGeneration": generation,
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        })
    };
    json!({
        "state": state,
        "observedGeneration": generation,
        "conditions": match fault {
            None => [
                condition("Completed", "True", completed_reason),
                condition("Degraded", "False", "Healthy"),
                condition("Resyncing", "False", "NotResyncing"),
            ],
            Some(reason) => [
                condition("Completed", "False", reason),
                condition("Degraded", "True", reason),
                condition("Resyncing", "False", "NotResyncing"),
            ],
        },
    })
}
