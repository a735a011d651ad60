//! A stand-in for the Deployment and StatefulSet controllers (off unless switched on).
//!
//! Pods are played by `kubelet.rs` (Running at once, Terminating for their grace period when
//! scaled away). `delay` after a workload's `spec.replicas` (or generation) stops
//! matching its status, the status counts are set to `spec.replicas` and
//! `observedGeneration` to the generation, through the status subresource (so watches see a
//! MODIFIED, as they would from the real controllers). Zero counts are omitted where the
//! real types omit them (`omitempty`), so readers must treat an absent count as 0.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::Shared;
use super::kubelet::Kubelet;
use super::patch::Patch;
use super::registry::ResourceType;
use super::store::meta_str;

/// (plural, namespace, name)
type WorkloadKey = (String, String, String);

/// The status fields the controller owns, as the real controller would write them.
fn desired_status(kind: &str, replicas: i64, generation: i64) -> Map<String, Value> {
    let mut status = Map::new();
    status.insert("observedGeneration".into(), json!(generation));
    // Fields without omitempty in the real types are always written.
    let always: &[&str] = if kind == "StatefulSet" {
        &["replicas", "availableReplicas"]
    } else {
        &[]
    };
    for field in [
        "replicas",
        "readyReplicas",
        "availableReplicas",
        "updatedReplicas",
    ] {
        let value = if replicas == 0 && !always.contains(&field) {
            Value::Null
        } else {
            json!(replicas)
        };
        status.insert(field.into(), value);
    }
    if kind == "StatefulSet" {
        status.insert(
            "currentReplicas".into(),
            if replicas == 0 {
                Value::Null
            } else {
                json!(replicas)
            },
        );
    }
    status
}

fn satisfied(obj: &Value, desired: &Map<String, Value>) -> bool {
    desired.iter().all(|(k, v)| obj["status"][k] == *v)
}

fn workload_types(shared: &Shared) -> Vec<ResourceType> {
    let st = shared.lock();
    ["deployments", "statefulsets"]
        .iter()
        .filter_map(|p| st.registry.find("apps", "v1", p).cloned())
        .collect()
}

pub async fn run(shared: Arc<Shared>, delay: Duration) {
    let types = workload_types(&shared);
    let mut changes = shared.changes.subscribe();
    // Per workload: the replica count and generation it is converging to, and when it is due.
    let mut pending: BTreeMap<WorkloadKey, (Map<String, Value>, Instant)> = BTreeMap::new();
    let mut kubelet = Kubelet::default();
    loop {
        let pod_due = shared.write(|st| kubelet.step(st, &types));
        let now = Instant::now();
        let mut seen = Vec::new();
        {
            let st = shared.lock();
            for rt in &types {
                for obj in st.objects_of(rt, None) {
                    let replicas = obj["spec"]["replicas"].as_i64().unwrap_or(1);
                    let generation = obj["metadata"]["generation"].as_i64().unwrap_or(1);
                    let desired = desired_status(&rt.kind, replicas, generation);
                    let key = (
                        rt.plural.clone(),
                        meta_str(obj, "namespace").into(),
                        meta_str(obj, "name").into(),
                    );
                    if satisfied(obj, &desired) {
                        continue;
                    }
                    seen.push(key.clone());
                    match pending.get(&key) {
                        Some((target, _)) if *target == desired => {}
                        _ => {
                            pending.insert(key, (desired, now + delay));
                        }
                    }
                }
            }
        }
        pending.retain(|k, _| seen.contains(k));
        let due: Vec<(WorkloadKey, Map<String, Value>)> = pending
            .iter()
            .filter(|(_, (_, at))| *at <= now)
            .map(|(k, (d, _))| (k.clone(), d.clone()))
            .collect();
        for ((plural, namespace, name), desired) in due {
            pending.remove(&(plural.clone(), namespace.clone(), name.clone()));
            let Some(rt) = types.iter().find(|t| t.plural == plural) else {
                continue;
            };
            let patch = Patch::Merge(json!({"status": desired}));
            // The object may have changed or gone meanwhile; the next scan takes care of it.
            let _ = shared.write(|st| st.patch(rt, &namespace, &name, &patch, true));
        }
        let next = pending.values().map(|(_, at)| *at).chain(pod_due).min();
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => {}
        }
    }
}
