//! A stand-in for the pods of the workloads (part of the workload controller stand-in): each
//! Deployment and StatefulSet gets `spec.replicas` pods, labelled with its pod template's
//! labels (so its selector finds them), Running and Ready once created. Scaled down, the
//! surplus pods are not removed at once: each gets a `deletionTimestamp` and stays, Terminating,
//! for its template's `terminationGracePeriodSeconds` (30 when unset), as a kubelet keeps a pod
//! whose process takes its whole grace period; an OrderedReady StatefulSet stops one pod at a
//! time, highest ordinal first. The workload's status is left to `workload.rs`, which (as
//! Kubernetes 1.34 does) does not count terminating pods.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::registry::ResourceType;
use super::store::{State, meta_str};

/// The label tying a stand-in pod to its workload (the real link is an ownerReference chain).
const OWNER: &str = "apiserver.test/owner";

/// When each terminating pod, by (namespace, name), is removed.
#[derive(Default)]
pub struct Kubelet {
    terminating: BTreeMap<(String, String), Instant>,
}

impl Kubelet {
    /// Brings every workload's pods one step toward its `spec.replicas`; returns when a pod is
    /// next due to go.
    pub fn step(&mut self, st: &mut State, workloads: &[ResourceType]) -> Option<Instant> {
        let pods = st.registry.find("", "v1", "pods").cloned()?;
        let now_at = Instant::now();
        let due: Vec<(String, String)> = self
            .terminating
            .iter()
            .filter(|(_, at)| **at <= now_at)
            .map(|(k, _)| k.clone())
            .collect();
        for (ns, name) in due {
            self.terminating.remove(&(ns.clone(), name.clone()));
            let _ = st.delete(&pods, &ns, &name);
        }
        let mut changes = Vec::new();
        for rt in workloads {
            for w in st.objects_of(rt, None) {
                changes.extend(self.plan(st, &pods, &rt.kind, w, now_at));
            }
        }
        for pod in changes {
            let _ = st.seed(pod);
        }
        self.terminating.values().min().copied()
    }

    /// The pods to create or to mark Terminating for workload `w`.
    fn plan(
        &mut self,
        st: &State,
        pods: &ResourceType,
        kind: &str,
        w: &Value,
        now_at: Instant,
    ) -> Vec<Value> {
        let ns = meta_str(w, "namespace").to_string();
        let name = meta_str(w, "name");
        let owner = format!("{}.{name}", kind.to_lowercase());
        let mut mine: Vec<&Value> = st
            .objects_of(pods, Some(&ns))
            .filter(|p| p["metadata"]["labels"][OWNER] == json!(owner))
            .collect();
        mine.sort_by_key(|p| ordinal(meta_str(p, "name")));
        let (stopping, live): (Vec<&Value>, Vec<&Value>) = mine
            .into_iter()
            .partition(|p| !meta_str(p, "deletionTimestamp").is_empty());
        let want = w["spec"]["replicas"].as_i64().unwrap_or(1).max(0) as usize;
        let mut out = Vec::new();
        if live.len() < want {
            let mut labels = w["spec"]["template"]["metadata"]["labels"].clone();
            if !labels.is_object() {
                labels = json!({});
            }
            labels[OWNER] = json!(owner);
            let taken: Vec<u64> = live.iter().map(|p| ordinal(meta_str(p, "name"))).collect();
            for i in (0u64..)
                .filter(|i| !taken.contains(i))
                .take(want - live.len())
            {
                out.push(json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": format!("{name}-{i}"), "namespace": ns, "labels": labels},
                    "spec": {"nodeName": "fake-node", "containers": [{"name": "app", "image": "app"}]},
                    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
                }));
            }
        } else if live.len() > want {
            let ordered = kind == "StatefulSet"
                && w["spec"]["podManagementPolicy"].as_str() != Some("Parallel");
            let surplus = live.len() - want;
            // OrderedReady: the next pod stops only once the previous one is gone.
            let n = if ordered {
                usize::from(stopping.is_empty())
            } else {
                surplus
            };
            let grace = w["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
                .as_u64()
                .unwrap_or(30);
            for pod in live.iter().rev().take(n) {
                let mut pod = (*pod).clone();
                // As the real server sets it: the moment the grace period ends.
                let ends = chrono::Utc::now() + chrono::Duration::seconds(grace as i64);
                pod["metadata"]["deletionTimestamp"] =
                    json!(ends.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
                pod["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
                let key = (ns.clone(), meta_str(&pod, "name").to_string());
                self.terminating
                    .insert(key, now_at + Duration::from_secs(grace));
                out.push(pod);
            }
        }
        out
    }
}

/// The number after the last `-` of a pod name (0 when there is none).
fn ordinal(name: &str) -> u64 {
    name.rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
