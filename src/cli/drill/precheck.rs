//! The drill's liveness check: the owner and the target of every group must be seen writing a
//! heartbeat. Liveness is judged the way the agents judge it, by `heartbeatSeq` changing
//! between reads, never by comparing another machine's `lastHeartbeat` with our clock; so the
//! drill reads again until every cluster has moved on, or a group's `timeouts.heartbeat` has
//! passed (after which an agent would call that cluster dead too).

use crate::cli::progress::POLL;
use crate::cli::promote::check::Checked;
use crate::error::Error;
use crate::ops::drill::{Check, advanced, heartbeat_check};
use crate::store::{ClusterStatus, CoordinationStore};
use std::io::Write;
use std::time::{Duration, Instant};

/// One group being watched: its clusters as first read, and as last read.
struct Watched<'a> {
    checked: &'a Checked,
    clusters: Vec<(&'static str, String)>,
    latest: Vec<ClusterStatus>,
    waited: Duration,
    done: bool,
}

fn record<'a>(records: &'a [ClusterStatus], name: &str) -> Option<&'a ClusterStatus> {
    records.iter().find(|c| c.cluster_name == name)
}

impl Watched<'_> {
    fn all_advanced(&self) -> bool {
        self.clusters.iter().all(|(_, name)| {
            advanced(
                record(&self.checked.snapshot.clusters, name),
                record(&self.latest, name),
            )
        })
    }
}

/// Watches the heartbeats of each group's owner and `to`, telling `progress` what it waits
/// for, and returns one check per cluster and group.
pub async fn heartbeats(
    store: &dyn CoordinationStore,
    operator_id: &str,
    checked: &[Checked],
    to: &str,
    progress: &mut dyn Write,
) -> Result<Vec<Check>, Error> {
    let mut watched: Vec<Watched> = checked
        .iter()
        .map(|c| {
            let mut clusters = vec![("owner heartbeat", c.owner.clone())];
            if c.owner != to {
                clusters.push(("target heartbeat", to.to_string()));
            }
            Watched {
                checked: c,
                clusters,
                latest: c.snapshot.clusters.clone(),
                waited: Duration::ZERO,
                done: false,
            }
        })
        .collect();
    let longest = checked
        .iter()
        .map(|c| c.snapshot.config.timeouts.heartbeat.get())
        .max()
        .unwrap_or_default();
    writeln!(
        progress,
        "checking that the clusters heartbeat (up to {}s)...",
        longest.as_secs()
    )?;
    let start = Instant::now();
    loop {
        tokio::time::sleep(POLL).await;
        for w in watched.iter_mut().filter(|w| !w.done) {
            let group = &w.checked.group;
            if let Some(snapshot) = store.load_group_with(operator_id, group, false).await? {
                w.latest = snapshot.clusters;
            }
            w.waited = start.elapsed();
            let deadline = w.checked.snapshot.config.timeouts.heartbeat.get();
            w.done = w.all_advanced() || w.waited >= deadline;
        }
        if watched.iter().all(|w| w.done) {
            break;
        }
    }
    let mut checks = Vec::new();
    for w in &watched {
        for (check, name) in &w.clusters {
            checks.push(heartbeat_check(
                &w.checked.group.to_string(),
                check,
                name,
                record(&w.checked.snapshot.clusters, name),
                record(&w.latest, name),
                w.waited,
            ));
        }
    }
    Ok(checks)
}
