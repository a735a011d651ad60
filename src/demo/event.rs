//! The demo's timeline: one [`DemoEvent`] per thing worth showing (script steps, roles,
//! failovers, serving changes), rendered as a readable line or as one JSON object per line.

use crate::k8s::simulated::{EventKind, ServingEvent};
use crate::store::GroupId;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// One entry of the demo's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoEvent {
    /// When, since the demo started.
    pub at: Duration,
    /// The cluster it happened in or to (`None` for the demo itself).
    pub cluster: Option<String>,
    /// The group (`None` for cluster-wide steps such as a kill).
    pub group: Option<GroupId>,
    /// What happened.
    pub what: What,
}

/// A failover as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverInfo {
    /// The transition id (history's `failoverName`).
    pub id: String,
    /// Owner when it was requested.
    pub source: String,
    /// The cluster to become owner.
    pub target: String,
    /// CONSISTENCY or UPTIME.
    pub mode: String,
    /// Started by an agent that found the owner dead, not by a person.
    pub automatic: bool,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    /// The demo began; the first line.
    Started {
        /// One sentence: what runs, and the script (or that the built-in tour runs).
        message: String,
        /// Whether the built-in tour runs.
        tour: bool,
    },
    /// A cluster's agent took a new role for a group.
    Role {
        /// PRIMARY, STANDBY, FENCED, ...
        role: String,
        /// The epoch it acts under.
        epoch: u64,
    },
    /// A transition was requested (by a person or automatically).
    FailoverStarted(FailoverInfo),
    /// A transition ended and its history record was written.
    FailoverCompleted {
        /// Which one.
        failover: FailoverInfo,
        /// SUCCESS, FORCED_COMPLETE, ROLLED_BACK, FAILED.
        outcome: String,
        /// Request to end.
        duration: Option<Duration>,
        /// Source network off to target network on.
        downtime: Option<Duration>,
    },
    /// Script: the cluster's agent was stopped.
    Kill,
    /// Script: the cluster's agent was cut off from the store.
    Partition {
        /// When it will be reconnected.
        until: Duration,
    },
    /// Script: the cluster's agent reaches the store again.
    Reconnect,
    /// Script: a planned failover was asked for.
    Promote {
        /// The cluster asked to become owner.
        target: String,
        /// Whether the request was written (or was a no-op).
        accepted: bool,
        /// The request's outcome in words.
        message: String,
    },
    /// The cluster started or stopped serving the group (from the clusters' own timeline).
    Serving(bool),
    /// Another step a cluster completed (volumes promoted, scaled down, ...): `event` name and
    /// words.
    Step(&'static str, String),
    /// Something an agent noticed that is worth a line (a refusal, a store failure).
    Note(String),
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

impl DemoEvent {
    /// The `event` field of the JSON line.
    pub fn name(&self) -> &'static str {
        match &self.what {
            What::Started { .. } => "demo_started",
            What::Role { .. } => "role_changed",
            What::FailoverStarted(_) => "failover_started",
            What::FailoverCompleted { .. } => "failover_completed",
            What::Kill => "kill",
            What::Partition { .. } => "partition",
            What::Reconnect => "reconnect",
            What::Promote { .. } => "promote",
            What::Serving(true) => "serving_started",
            What::Serving(false) => "serving_stopped",
            What::Step(name, _) => name,
            What::Note(_) => "note",
        }
    }

    /// The event as one JSON object: `at` (seconds, float), `cluster`, `event`, `group`, and the
    /// fields of its kind.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("at".into(), json!(secs(self.at)));
        m.insert("cluster".into(), json!(self.cluster));
        m.insert("event".into(), json!(self.name()));
        m.insert(
            "group".into(),
            json!(self.group.as_ref().map(|g| g.to_string())),
        );
        let failover = |m: &mut Map<String, Value>, f: &FailoverInfo| {
            m.insert("id".into(), json!(f.id));
            m.insert("source".into(), json!(f.source));
            m.insert("target".into(), json!(f.target));
            m.insert("mode".into(), json!(f.mode));
            m.insert("automatic".into(), json!(f.automatic));
        };
        match &self.what {
            What::Started { message, tour } => {
                m.insert("message".into(), json!(message));
                m.insert("tour".into(), json!(tour));
            }
            What::Role { role, epoch } => {
                m.insert("role".into(), json!(role));
                m.insert("epoch".into(), json!(epoch));
            }
            What::FailoverStarted(f) => failover(&mut m, f),
            What::FailoverCompleted {
                failover: f,
                outcome,
                duration,
                downtime,
            } => {
                failover(&mut m, f);
                m.insert("outcome".into(), json!(outcome));
                m.insert("duration".into(), json!(duration.map(secs)));
                m.insert("downtime".into(), json!(downtime.map(secs)));
            }
            What::Partition { until } => {
                m.insert("until".into(), json!(secs(*until)));
            }
            What::Promote {
                target,
                accepted,
                message,
            } => {
                m.insert("target".into(), json!(target));
                m.insert("accepted".into(), json!(accepted));
                m.insert("message".into(), json!(message));
            }
            What::Step(_, text) | What::Note(text) => {
                m.insert("message".into(), json!(text));
            }
            What::Kill | What::Reconnect | What::Serving(_) => {}
        }
        Value::Object(m)
    }

    /// The words of the text timeline's last column.
    pub fn text(&self) -> String {
        let dur = |d: &Option<Duration>| {
            d.map_or("?".to_string(), |d| format!("{:.2}s", d.as_secs_f64()))
        };
        match &self.what {
            What::Started { message, .. } => message.clone(),
            What::Role { role, epoch } => format!("{role} (epoch {epoch})"),
            What::FailoverStarted(f) => format!(
                "{} {} failover {} -> {} requested ({})",
                if f.automatic { "automatic" } else { "planned" },
                f.mode,
                f.source,
                f.target,
                f.id
            ),
            What::FailoverCompleted {
                failover: f,
                outcome,
                duration,
                downtime,
            } => format!(
                "failover {} -> {} ended {outcome} after {}, downtime {}",
                f.source,
                f.target,
                dur(duration),
                dur(downtime)
            ),
            What::Kill => "KILL: agent stopped (the cluster keeps running)".to_string(),
            What::Partition { until } => format!(
                "PARTITION: agent cut off from the store until {:.2}s",
                until.as_secs_f64()
            ),
            What::Reconnect => "RECONNECT: agent reaches the store again".to_string(),
            What::Promote {
                target, message, ..
            } => format!("PROMOTE to {target}: {message}"),
            What::Serving(true) => "serving started (network on)".to_string(),
            What::Serving(false) => "serving stopped (network off)".to_string(),
            What::Step(_, text) | What::Note(text) => text.clone(),
        }
    }

    /// The event as one line of the readable timeline, columns padded to the given widths.
    pub fn to_line(&self, cluster_width: usize, group_width: usize) -> String {
        let cluster = self.cluster.as_deref().unwrap_or("-");
        let group = self
            .group
            .as_ref()
            .map_or("-".to_string(), |g| g.to_string());
        format!(
            "{:>7.2}s  {cluster:<cluster_width$}  {group:<group_width$}  {}",
            self.at.as_secs_f64(),
            self.text()
        )
        .trim_end()
        .to_string()
    }

    /// The timeline entry for a change the simulated clusters recorded.
    pub fn from_serving(e: &ServingEvent) -> DemoEvent {
        let what = match e.kind {
            EventKind::ServingStarted => What::Serving(true),
            EventKind::ServingStopped => What::Serving(false),
            EventKind::VolumesPrimary => What::Step("volumes_primary", "volumes primary".into()),
            EventKind::VolumesSecondary => {
                What::Step("volumes_secondary", "volumes secondary".into())
            }
            EventKind::ScaledUp => What::Step("scaled_up", "workloads scaled up, all ready".into()),
            EventKind::ScaledDown => What::Step("scaled_down", "workloads scaled to 0".into()),
            EventKind::JobsResumed => {
                What::Step("jobs_resumed", "CronJobs and Flux resumed".into())
            }
            EventKind::JobsSuspended => {
                What::Step("jobs_suspended", "CronJobs and Flux suspended".into())
            }
            EventKind::StaleEpochRefused {
                action,
                epoch,
                applied,
            } => What::Step(
                "stale_epoch_refused",
                format!(
                    "refused {action:?} at epoch {epoch}: epoch {applied} already applied (fencing)"
                ),
            ),
        };
        DemoEvent {
            at: e.at,
            cluster: Some(e.cluster.clone()),
            group: Some(e.group.clone()),
            what,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g() -> GroupId {
        GroupId::new("demo", "app-1").unwrap()
    }

    #[test]
    fn a_role_change_renders_as_a_timeline_line_and_a_json_object() {
        let e = DemoEvent {
            at: Duration::from_millis(5030),
            cluster: Some("cluster-2".into()),
            group: Some(g()),
            what: What::Role {
                role: "PRIMARY".into(),
                epoch: 7,
            },
        };
        assert_eq!(
            e.to_line(9, 10),
            "   5.03s  cluster-2  demo/app-1  PRIMARY (epoch 7)"
        );
        assert_eq!(
            e.to_json(),
            json!({"at": 5.03, "cluster": "cluster-2", "event": "role_changed",
                   "group": "demo/app-1", "role": "PRIMARY", "epoch": 7})
        );
    }

    #[test]
    fn a_completed_failover_carries_who_how_and_how_long() {
        let f = FailoverInfo {
            id: "auto-1".into(),
            source: "cluster-1".into(),
            target: "cluster-2".into(),
            mode: "CONSISTENCY".into(),
            automatic: true,
        };
        let e = DemoEvent {
            at: Duration::from_secs(9),
            cluster: Some("cluster-2".into()),
            group: Some(g()),
            what: What::FailoverCompleted {
                failover: f,
                outcome: "SUCCESS".into(),
                duration: Some(Duration::from_millis(2500)),
                downtime: None,
            },
        };
        let j = e.to_json();
        assert_eq!(j["event"], "failover_completed");
        assert_eq!(
            (j["source"].as_str(), j["target"].as_str()),
            (Some("cluster-1"), Some("cluster-2"))
        );
        assert_eq!(
            (j["automatic"].as_bool(), j["outcome"].as_str()),
            (Some(true), Some("SUCCESS"))
        );
        assert_eq!(
            (j["duration"].as_f64(), j["downtime"].is_null()),
            (Some(2.5), true)
        );
        assert!(e.text().contains("after 2.50s, downtime ?"), "{}", e.text());
    }

    #[test]
    fn a_kill_has_no_group_and_says_the_cluster_keeps_running() {
        let e = DemoEvent {
            at: Duration::from_secs(3),
            cluster: Some("cluster-1".into()),
            group: None,
            what: What::Kill,
        };
        let j = e.to_json();
        assert_eq!(
            (j["event"].as_str(), j["group"].is_null()),
            (Some("kill"), true)
        );
        assert!(
            e.to_line(9, 10).contains("cluster-1  -"),
            "{}",
            e.to_line(9, 10)
        );
    }
}
