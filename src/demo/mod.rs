//! The embedded demo (`kubectl failover demo`): N simulated clusters, one real agent each, real
//! time, one coordination store (in memory or DynamoDB), a script of kills, partitions and
//! promotions, and a timeline of what happened. It checks itself: two clusters serving a
//! stateful group at once fails the run.
//!
//! Files: [`schedule`] (parsing the script flags), [`world`] (clusters, stores, the groups'
//! settings), [`runner`] (running agents and script in real time), [`collect`] (agent events
//! into timeline entries, failover timings), [`event`] (timeline entries and their rendering),
//! [`print`] (printing in time order), [`summary`] (the closing summary and the self-check).

pub mod collect;
pub mod event;
pub mod interactive;
pub mod print;
pub mod runner;
pub mod schedule;
pub mod summary;
pub mod world;

pub use runner::run;

use crate::error::Error;
use crate::store::GroupId;
use schedule::{Kill, Partition, Promote};
use std::time::Duration;

/// The namespace of the demo's groups on the embedded store. A DynamoDB run uses
/// `demo-<unix seconds>` instead, so reruns against one table never see each other's groups.
pub const NAMESPACE: &str = "demo";

/// How the demo prints its timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// A readable timeline (`  5.03s  cluster-2  demo/app-1  PRIMARY (epoch 7)`).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Which coordination store the demo's agents share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum StoreKind {
    /// The embedded in-memory store: nothing to set up.
    #[default]
    Memory,
    /// The DynamoDB table of the global store flags (created when missing).
    Dynamodb,
}

/// Everything the demo was asked to do, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSettings {
    /// Number of clusters (`cluster-1..N`).
    pub clusters: u32,
    /// Number of groups (`app-1` stateful, the rest stateless).
    pub groups: u32,
    /// Heartbeat interval.
    pub interval: Duration,
    /// Heartbeat timeout (at least 4 intervals).
    pub heartbeat_timeout: Duration,
    /// `--kill` steps.
    pub kills: Vec<Kill>,
    /// `--partition` steps.
    pub partitions: Vec<Partition>,
    /// `--promote` steps.
    pub promotes: Vec<Promote>,
    /// How long the demo runs.
    pub duration: Duration,
    /// Timeline only, no terminal UI.
    pub headless: bool,
    /// Text or JSON lines.
    pub format: Format,
    /// Which store.
    pub store: StoreKind,
    /// Owners fence themselves when their heartbeats fail (off only to show why it matters).
    pub self_fencing: bool,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// At most one cluster served each stateful group at every moment.
    Consistent,
    /// Two clusters served a stateful group at once; the text says who, which group and when.
    Overlap(String),
}

/// What a finished run hands back to the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    /// Whether the run kept the invariant.
    pub verdict: Verdict,
}

/// The name of cluster `i` (1-based).
pub fn cluster_name(i: u32) -> String {
    format!("cluster-{i}")
}

/// The name of group `i` (1-based); `app-1` is the stateful one.
pub fn group_name(i: u32) -> String {
    format!("app-{i}")
}

impl DemoSettings {
    /// Whether no script was given, so the built-in tour runs.
    pub fn is_tour(&self) -> bool {
        self.kills.is_empty() && self.partitions.is_empty() && self.promotes.is_empty()
    }

    /// The cluster names.
    pub fn cluster_names(&self) -> Vec<String> {
        (1..=self.clusters).map(cluster_name).collect()
    }

    /// Refuses a script naming a cluster or group the demo does not run (exit 2, naming it).
    pub fn check_script(&self) -> Result<(), Error> {
        let clusters = self.cluster_names();
        let known = clusters.join(", ");
        let check_cluster = |flag: &str, given: &str, cluster: &str| {
            if clusters.iter().any(|c| c == cluster) {
                Ok(())
            } else {
                Err(Error::Usage(format!(
                    "{flag} {given}: there is no cluster {cluster:?} in this demo (clusters: {known}); use one of those, or raise --clusters"
                )))
            }
        };
        for k in &self.kills {
            check_cluster("--kill", &k.cluster, &k.cluster)?;
        }
        for p in &self.partitions {
            check_cluster("--partition", &p.cluster, &p.cluster)?;
        }
        for p in &self.promotes {
            check_cluster("--promote", &format!("{}:{}", p.group, p.target), &p.target)?;
            self.group_index(&p.group, NAMESPACE)?;
        }
        Ok(())
    }

    /// Resolves a scripted group (`app-2`, `demo/app-2`, or `<namespace>/app-2`) to its number.
    pub fn group_index(&self, given: &str, namespace: &str) -> Result<u32, Error> {
        let name = match given.split_once('/') {
            Some((ns, name)) if ns == NAMESPACE || ns == namespace => name,
            Some(_) => "",
            None => given,
        };
        (1..=self.groups)
            .find(|i| group_name(*i) == name)
            .ok_or_else(|| {
                let known: Vec<String> = (1..=self.groups).map(group_name).collect();
                Error::Usage(format!(
                    "--promote: there is no group {given:?} in this demo (groups: {}); use one of those, or raise --groups",
                    known.join(", ")
                ))
            })
    }

    /// The group id of group `i` in `namespace`.
    pub fn group_id(namespace: &str, i: u32) -> Result<GroupId, Error> {
        GroupId::new(namespace, &group_name(i)).map_err(|e| Error::Usage(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> DemoSettings {
        DemoSettings {
            clusters: 3,
            groups: 2,
            interval: Duration::from_secs(1),
            heartbeat_timeout: Duration::from_secs(5),
            kills: Vec::new(),
            partitions: Vec::new(),
            promotes: Vec::new(),
            duration: Duration::from_secs(30),
            headless: true,
            format: Format::Json,
            store: StoreKind::Memory,
            self_fencing: true,
        }
    }

    #[test]
    fn a_script_naming_an_unknown_cluster_is_refused_naming_it() {
        let mut s = settings();
        s.kills = vec!["cluster-7@3s".parse().unwrap()];
        let e = s.check_script().unwrap_err();
        assert!(matches!(e, Error::Usage(_)));
        let text = e.to_string();
        assert!(
            text.contains("--kill") && text.contains("cluster-7"),
            "{text}"
        );
        assert!(text.contains("cluster-1, cluster-2, cluster-3"), "{text}");
    }

    #[test]
    fn a_promotion_of_an_unknown_group_is_refused_naming_it() {
        let mut s = settings();
        s.promotes = vec!["app-9:cluster-2@3s".parse().unwrap()];
        let text = s.check_script().unwrap_err().to_string();
        assert!(
            text.contains("\"app-9\"") && text.contains("app-1, app-2"),
            "{text}"
        );
        s.promotes = vec!["shop/app-1:cluster-2@3s".parse().unwrap()];
        assert!(s.check_script().is_err());
    }

    #[test]
    fn groups_are_found_bare_with_the_demo_namespace_or_with_the_runs_namespace() {
        let s = settings();
        assert_eq!(s.group_index("app-2", "demo-17").unwrap(), 2);
        assert_eq!(s.group_index("demo/app-1", "demo-17").unwrap(), 1);
        assert_eq!(s.group_index("demo-17/app-1", "demo-17").unwrap(), 1);
        assert!(s.is_tour());
    }
}
