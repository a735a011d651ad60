//! The safety invariants watched continuously: no two clusters serve the group at once (run
//! workloads or carry the DNS annotation), and no two hold the replicated volume as primary (a
//! split brain of the data). A task samples every cluster's objects every few milliseconds and
//! records the first moment each is broken.
//! Clusters whose controller is dead are left out on request (nobody acts there, so their
//! objects stay frozen; on a real cluster the serving lease would take the traffic off).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::cluster::{AppView, Cluster};

/// How often the clusters are sampled.
const SAMPLE: Duration = Duration::from_millis(20);

#[derive(Default)]
struct State {
    ignored: BTreeSet<String>,
    violation: Option<String>,
    volume_violation: Option<String>,
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
        ServingMonitor::start_ignoring(clusters, &[])
    }

    /// Starts sampling `clusters`, leaving out `ignored` from the first sample on.
    pub fn start_ignoring(clusters: Vec<Arc<Cluster>>, ignored: &[&str]) -> ServingMonitor {
        let state = Arc::new(Mutex::new(State {
            ignored: ignored.iter().map(|s| s.to_string()).collect(),
            ..State::default()
        }));
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

    /// Panics with the first overlap in serving seen, if any; otherwise returns the number of
    /// samples.
    pub fn assert_no_overlap(&self) -> u64 {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = &st.violation {
            panic!("two clusters served the group at once:\n  {v}");
        }
        st.samples
    }

    /// The first overlap in serving seen, if any.
    pub fn overlap(&self) -> Option<String> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.violation.clone()
    }

    /// How many times the clusters were sampled.
    pub fn samples(&self) -> u64 {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).samples
    }

    /// The first moment two clusters held the volume as primary, if any.
    pub fn volume_overlap(&self) -> Option<String> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.volume_violation.clone()
    }
}

fn sample(clusters: &[Arc<Cluster>], state: &Mutex<State>) {
    let ignored = state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .ignored
        .clone();
    // A sample with a cluster that could not be read is skipped, not guessed: on the real
    // control plane reads fail only once the test is tearing the clusters down.
    let Ok(views) = clusters
        .iter()
        .filter(|c| !ignored.contains(&c.name))
        .map(|c| c.try_view().map(|v| (c.name.clone(), v)))
        .collect::<Result<Vec<(String, AppView)>, String>>()
    else {
        return;
    };
    let those = |pred: fn(&AppView) -> bool| -> Vec<String> {
        views
            .iter()
            .filter(|(_, v)| pred(v))
            .map(|(name, v)| format!("{name}: {}", v.summary()))
            .collect()
    };
    let serving = those(AppView::serves);
    let primaries = those(AppView::volume_primary);
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    st.samples += 1;
    if serving.len() > 1 && st.violation.is_none() {
        st.violation = Some(serving.join("\n  "));
    }
    if primaries.len() > 1 && st.volume_violation.is_none() {
        st.volume_violation = Some(primaries.join("\n  "));
    }
}

impl Drop for ServingMonitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}
