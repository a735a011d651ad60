//! The heartbeat: the `CLUSTER#` record an agent writes at the start of every tick, and its
//! sequence number, which must never repeat a value, also across restarts.

use crate::k8s::{ActionError, ComponentHealth, HealthReport};
use crate::protocol::{HeartbeatLog, Report};
use crate::store::{ClusterState, ClusterStatus, ComponentStatus, GroupSnapshot, Health};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The most characters of a component's message a heartbeat carries. Every heartbeat rewrites
/// the whole record each interval, and one write unit covers 1 KB: a typical record stays under
/// it (docs/cost.md). The whole message goes to the controller's log (debug level).
pub const HEARTBEAT_MESSAGE_CHARS: usize = 120;

/// `message` cut to [`HEARTBEAT_MESSAGE_CHARS`] characters, saying where the rest is.
fn capped(message: &str) -> String {
    if message.chars().count() <= HEARTBEAT_MESSAGE_CHARS {
        return message.to_string();
    }
    tracing::debug!(message, "component message cut in the heartbeat record");
    let head: String = message.chars().take(HEARTBEAT_MESSAGE_CHARS).collect();
    format!("{head}... (cut; whole text in the controller's log)")
}

/// The component reported when the cluster's own status could not be read.
pub(super) const CLUSTER_COMPONENT: &str = "cluster";

/// The agent's heartbeat bookkeeping: the sequence number and the recent successful writes.
#[derive(Debug, Clone)]
pub(super) struct Heartbeats {
    /// The last sequence number used (written or attempted).
    seq: u64,
    /// Successful writes, for `LocalFacts::heartbeat_sent_at`.
    pub(super) log: HeartbeatLog,
}

impl Heartbeats {
    /// Seeds the sequence from wall-clock milliseconds: a restarted agent then continues above
    /// its previous incarnation (which wrote at most one value per tick, far fewer than one per
    /// millisecond) even before it has read its own record back. Observers compare values, and
    /// a repeated one could make a serving cluster look silent.
    pub(super) fn new(wall_now: DateTime<Utc>) -> Self {
        let millis = u64::try_from(wall_now.timestamp_millis()).unwrap_or(0);
        Heartbeats {
            seq: millis,
            log: HeartbeatLog::default(),
        }
    }

    /// The sequence number for the next write. Also used when that write fails: a value that
    /// may have reached the table is never used again.
    pub(super) fn next_seq(&mut self) -> u64 {
        self.seq = self.seq.saturating_add(1);
        self.seq
    }

    /// The last sequence number used.
    pub(super) fn seq(&self) -> u64 {
        self.seq
    }

    /// Continues above the cluster's own record as read (in case the wall clock went back
    /// across a restart).
    pub(super) fn saw(&mut self, snapshot: &GroupSnapshot, me: &str) {
        let own = snapshot
            .clusters
            .iter()
            .find(|c| c.cluster_name == me)
            .and_then(|c| c.heartbeat_seq);
        if let Some(own) = own {
            self.seq = self.seq.max(own);
        }
    }
}

/// The health a heartbeat reports before the cluster answered its first health read (the
/// read runs alongside the heartbeat, never ahead of it): DEGRADED, not ERROR, because nothing
/// is known to be wrong, and not OK, because nothing is known to be right.
pub(super) fn not_judged_yet() -> HealthReport {
    let mut report = HealthReport::default();
    report.components.insert(
        CLUSTER_COMPONENT.to_string(),
        ComponentHealth {
            health: Health::Degraded,
            message: "not judged yet: this agent just started and the cluster has not answered its first health read".to_string(),
        },
    );
    report
}

/// The record to write: health from the cluster's own judgement (ERROR with a `cluster`
/// component when it could not be read: a cluster whose controller cannot reach its own API
/// cannot converge anything, so it must not look like a good failover target), state, fencing
/// and acknowledgement from the previous decision's report (STANDBY before any decision: a
/// cluster never claims PRIMARY without having read CONFIG).
pub(super) fn status(
    me: &str,
    report: Option<&Report>,
    health: &Result<HealthReport, ActionError>,
    seq: u64,
    wall_now: DateTime<Utc>,
) -> ClusterStatus {
    let (overall, components) = match health {
        Ok(h) => (
            h.overall(),
            h.components
                .iter()
                .map(|(name, c)| {
                    let status = ComponentStatus {
                        health: c.health,
                        message: capped(&c.message),
                    };
                    (name.clone(), status)
                })
                .collect(),
        ),
        Err(e) => {
            let mut components = BTreeMap::new();
            components.insert(
                CLUSTER_COMPONENT.to_string(),
                ComponentStatus {
                    health: Health::Error,
                    message: capped(&e.to_string()),
                },
            );
            (Health::Error, components)
        }
    };
    ClusterStatus {
        cluster_name: me.to_string(),
        health: overall,
        state: report.map_or(ClusterState::Standby, |r| r.state),
        last_heartbeat: Some(wall_now),
        heartbeat_seq: Some(seq),
        components,
        ack: report.and_then(|r| r.ack.clone()),
        fenced: report.is_some_and(|r| r.fenced),
    }
}

#[cfg(test)]
mod cap_tests {
    use super::*;

    #[test]
    fn long_component_messages_are_cut_in_the_heartbeat_and_say_where_the_rest_is() {
        let mut h = HealthReport::default();
        h.components.insert(
            "workloads".into(),
            ComponentHealth {
                health: Health::Degraded,
                message: "é".repeat(500),
            },
        );
        let s = status("east", None, &Ok(h), 1, DateTime::<Utc>::UNIX_EPOCH);
        let m = &s.components["workloads"].message;
        assert!(m.starts_with(&"é".repeat(HEARTBEAT_MESSAGE_CHARS)), "{m}");
        assert!(
            m.ends_with("(cut; whole text in the controller's log)"),
            "{m}"
        );
        assert!(m.chars().count() < HEARTBEAT_MESSAGE_CHARS + 60);
    }
}
