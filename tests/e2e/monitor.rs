//! The safety invariant watched continuously: no two clusters serve the group at once. A task
//! samples every cluster's objects every few milliseconds and records the first moment two
//! clusters both run workloads, hold the volume as primary or carry the DNS annotation.
//! Clusters whose controller is dead are left out on request (nobody acts there, so their
//! objects stay frozen; on a real cluster the serving lease would take the traffic off).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::cluster::Cluster;

/// How often the clusters are sampled.
const SAMPLE: Duration = Duration::from_millis(20);

#[derive(Default)]
struct State {
    ignored: BTreeSet<String>,
    violation: Option<String>,
    samples: u64,
}

/// A running monitor; it stops when dropped.
pub struct ServingMonitor {
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl ServingMonitor {
    /// Starts sampling `clusters`.
    pub fn start(clusters: Vec<Arc<Cluster>>) -> ServingMonitor {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                sample(&clusters, &shared);
                tokio::time::sleep(SAMPLE).await;
            }
        });
        ServingMonitor { state, task }
    }

    /// Leaves a cluster out (`true`) or takes it into account again.
    pub fn ignore(&self, cluster: &str, ignored: bool) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if ignored {
            st.ignored.insert(cluster.to_string());
        } else {
            st.ignored.remove(cluster);
        }
    }

    /// Panics with the first overlap seen, if any; otherwise returns the number of samples.
    pub fn assert_no_overlap(&self) -> u64 {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = &st.violation {
            panic!("two clusters served the group at once: {v}");
        }
        st.samples
    }
}

fn sample(clusters: &[Arc<Cluster>], state: &Mutex<State>) {
    let ignored = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .ignored
        .clone();
    let serving: Vec<String> = clusters
        .iter()
        .filter(|c| !ignored.contains(&c.name))
        .map(|c| (c, c.view()))
        .filter(|(_, v)| v.serves())
        .map(|(c, v)| format!("{}: {}", c.name, v.summary()))
        .collect();
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    st.samples += 1;
    if serving.len() > 1 && st.violation.is_none() {
        st.violation = Some(serving.join("\n  "));
    }
}

impl Drop for ServingMonitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}
