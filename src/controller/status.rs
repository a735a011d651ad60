//! A FailoverGroup's status, computed (pure) from what its agent saw: the last tick's report and
//! the snapshot it read. Written only when something *meaningful* changed
//! ([`meaningful_change`]): each cluster's `lastHeartbeat` moves every heartbeat, so it is
//! carried along when a write happens for another reason but never causes one; heartbeat ages
//! are coarse ([`coarse_age`]: 0s while fresh, then doubling steps), so a silent cluster costs
//! a logarithmic number of writes, not one per tick. Condition times move only when a
//! condition's status does (`set_condition`).

use crate::agent::TickReport;
use crate::crd::{
    ClusterEntry, Condition, ConditionStatus, FailoverGroupStatus, GroupRole, LastFailover,
    ResourceHealth, condition_types, set_condition,
};
use crate::duration::GoDuration;
use crate::store::{ClusterStatus, GroupConfig, GroupSnapshot, Health};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Everything the status is computed from.
#[derive(Debug, Clone, Copy)]
pub struct StatusInput<'a> {
    /// This cluster.
    pub me: &'a str,
    /// The last tick of the group's agent.
    pub report: Option<&'a TickReport>,
    /// The last snapshot the agent read.
    pub snapshot: Option<&'a GroupSnapshot>,
    /// The status as last written (conditions keep their transition times).
    pub previous: &'a FailoverGroupStatus,
    /// Per cluster, how long its heartbeat has been seen unchanged (this cluster's clock).
    pub ages: &'a BTreeMap<String, Duration>,
    /// The group's heartbeat interval (the unit of heartbeat ages).
    pub interval: Duration,
    /// The settings the FailoverGroup's spec asks for, to compare with the table's CONFIG.
    pub wanted: Option<&'a GroupConfig>,
    /// `metadata.generation` of the FailoverGroup.
    pub generation: Option<i64>,
    /// Wall time, for condition transitions only.
    pub now: DateTime<Utc>,
}

/// The status for `input`.
pub fn group_status(input: StatusInput<'_>) -> FailoverGroupStatus {
    let decision = input.report.and_then(|r| r.decision.as_ref());
    let mine = input
        .snapshot
        .and_then(|s| s.clusters.iter().find(|c| c.cluster_name == input.me));
    let mut status = FailoverGroupStatus {
        role: Some(decision.map_or(GroupRole::Unknown, |d| d.role.into())),
        active_cluster: input.snapshot.map(|s| s.config.owner_cluster.clone()),
        health: mine.map(|c| c.health),
        suspended: input.snapshot.is_some_and(|s| s.config.suspended),
        phase: input
            .snapshot
            .and_then(|s| s.config.transition.as_ref().map(|t| t.phase)),
        clusters: input
            .snapshot
            .map(|s| s.clusters.iter().map(|c| entry(c, &input)).collect())
            .unwrap_or_default(),
        resources: mine.map(resources).unwrap_or_default(),
        conditions: input.previous.conditions.clone(),
        last_failover: input.snapshot.and_then(|s| {
            s.config.last_failover.as_ref().map(|f| LastFailover {
                name: f.name.clone(),
                namespace: f.namespace.clone(),
                timestamp: f.timestamp,
            })
        }),
        observed_generation: input.generation,
    };
    for condition in conditions(&input, mine) {
        let _ = set_condition(&mut status.conditions, condition);
    }
    status
}

fn entry(c: &ClusterStatus, input: &StatusInput<'_>) -> ClusterEntry {
    ClusterEntry {
        name: c.cluster_name.clone(),
        role: c.state,
        health: c.health,
        heartbeat_age: input
            .ages
            .get(&c.cluster_name)
            .map(|age| GoDuration(coarse_age(*age, input.interval)).to_string()),
        last_heartbeat: c.last_heartbeat,
    }
}

/// Components are named `Kind/name` by the cluster side; anything else is shown as a kind.
fn resources(c: &ClusterStatus) -> Vec<ResourceHealth> {
    c.components
        .iter()
        .map(|(key, component)| {
            let (kind, name) = key.split_once('/').unwrap_or((key.as_str(), ""));
            ResourceHealth {
                kind: kind.to_string(),
                name: name.to_string(),
                health: component.health,
                message: component.message.clone(),
            }
        })
        .collect()
}

fn conditions(input: &StatusInput<'_>, mine: Option<&ClusterStatus>) -> Vec<Condition> {
    let make = |type_: &str, status: ConditionStatus, reason: &str, message: String| Condition {
        type_: type_.to_string(),
        status,
        observed_generation: input.generation,
        last_transition_time: input.now,
        reason: reason.to_string(),
        message,
    };
    let report = input.report;
    let ready = match report.and_then(|r| r.decision.as_ref().map(|d| (r, d))) {
        None => make(
            condition_types::READY,
            ConditionStatus::Unknown,
            "NotYetDecided",
            "DynamoDB has not been read since the controller started".into(),
        ),
        Some((r, _)) if r.converged => make(
            condition_types::READY,
            ConditionStatus::True,
            "Converged",
            "the group's resources are in this cluster's role".into(),
        ),
        Some((r, d)) => {
            let why = r
                .cluster_error
                .clone()
                .or_else(|| r.pending.clone())
                .unwrap_or_else(|| "in progress".into());
            make(
                condition_types::READY,
                ConditionStatus::False,
                "Converging",
                format!("converging to {}: {why}", role_name(d.role)),
            )
        }
    };
    let synced = match report {
        None => make(
            condition_types::SYNCED,
            ConditionStatus::Unknown,
            "NotYetSynced",
            "no heartbeat written yet".into(),
        ),
        Some(r) => match &r.store_error {
            Some(e) => make(
                condition_types::SYNCED,
                ConditionStatus::False,
                "StoreUnavailable",
                match super::redact::redact(e) {
                    same if same == *e => same,
                    redacted => format!(
                        "{redacted} (account, role and key ids redacted; the controller's log has the whole error)"
                    ),
                },
            ),
            None => match spec_differences(input.wanted, input.snapshot.map(|s| &s.config)) {
                Some(differences) => make(
                    condition_types::SYNCED,
                    ConditionStatus::False,
                    "SpecNotInTable",
                    format!(
                        "the spec differs from the group's CONFIG in DynamoDB, whose settings apply: {differences}; a cluster brings its FailoverGroup's timeouts and selfFencing into the table when they are edited, so another cluster's later edit or a spec older than the group shows here: make the specs equal in every cluster; turn automatic failover off or on with `kubectl failover suspend|resume` (docs/controller.md, \"Spec and table\")"
                    ),
                ),
                None => make(
                    condition_types::SYNCED,
                    ConditionStatus::True,
                    "Synced",
                    "heartbeat written and group read".into(),
                ),
            },
        },
    };
    let degraded = match mine {
        None => make(
            condition_types::DEGRADED,
            ConditionStatus::Unknown,
            "NotYetJudged",
            "no health reported yet".into(),
        ),
        Some(c) if c.health == Health::Ok => make(
            condition_types::DEGRADED,
            ConditionStatus::False,
            "Healthy",
            "every resource is healthy".into(),
        ),
        Some(c) => {
            let unhealthy: Vec<String> = c
                .components
                .iter()
                .filter(|(_, s)| s.health != Health::Ok)
                .map(|(k, s)| format!("{k}: {}", s.message))
                .collect();
            make(
                condition_types::DEGRADED,
                ConditionStatus::True,
                if c.health == Health::Error {
                    "Unhealthy"
                } else {
                    "Degraded"
                },
                unhealthy.join("; "),
            )
        }
    };
    vec![ready, synced, degraded]
}

fn role_name(role: crate::protocol::Role) -> &'static str {
    match role {
        crate::protocol::Role::Primary => "PRIMARY",
        crate::protocol::Role::Standby => "STANDBY",
        crate::protocol::Role::Fenced => "FENCED",
    }
}

/// A heartbeat age as written to status: `0` while the heartbeat is fresh (seen changing within
/// two intervals), else the age rounded down to `interval` × a power of two, so a silent
/// cluster's age is rewritten at doubling steps only.
pub fn coarse_age(age: Duration, interval: Duration) -> Duration {
    let interval = interval.max(Duration::from_secs(1));
    if age < interval * 2 {
        return Duration::ZERO;
    }
    let mut step = interval * 2;
    while step * 2 <= age {
        step *= 2;
    }
    step
}

/// The settings in which the spec (`wanted`) and the table's CONFIG differ, for people: the
/// table is read once the group exists, so an edited spec changes nothing until they agree.
pub fn spec_differences(
    wanted: Option<&GroupConfig>,
    table: Option<&GroupConfig>,
) -> Option<String> {
    let (wanted, table) = (wanted?, table?);
    let mut out = Vec::new();
    let mut compare = |field: &str, spec: String, stored: String| {
        if spec != stored {
            out.push(format!(
                "{field} is {spec} in the spec but {stored} in the table"
            ));
        }
    };
    compare(
        "heartbeatInterval",
        wanted.heartbeat_interval.to_string(),
        table.heartbeat_interval.to_string(),
    );
    let (w, t) = (&wanted.timeouts, &table.timeouts);
    compare(
        "timeouts.heartbeat",
        w.heartbeat.to_string(),
        t.heartbeat.to_string(),
    );
    compare(
        "timeouts.unhealthyPrimary",
        w.unhealthy_primary.to_string(),
        t.unhealthy_primary.to_string(),
    );
    compare(
        "timeouts.transitoryState",
        w.transitory_state.to_string(),
        t.transitory_state.to_string(),
    );
    compare(
        "timeouts.deactivation",
        w.deactivation.to_string(),
        t.deactivation.to_string(),
    );
    compare(
        "selfFencing",
        wanted.self_fencing.to_string(),
        table.self_fencing.to_string(),
    );
    compare(
        "suspended",
        wanted.suspended.to_string(),
        table.suspended.to_string(),
    );
    (!out.is_empty()).then(|| out.join("; "))
}

/// Whether `new` differs from `old` in anything but the clusters' `lastHeartbeat` (display
/// only: it changes every heartbeat, so it must not cause a write by itself).
pub fn meaningful_change(old: &FailoverGroupStatus, new: &FailoverGroupStatus) -> bool {
    let strip = |s: &FailoverGroupStatus| {
        let mut s = s.clone();
        for c in &mut s.clusters {
            c.last_heartbeat = None;
        }
        s
    };
    strip(old) != strip(new)
}

/// Tracks, per cluster, since when (this cluster's monotonic clock) its heartbeat has been seen
/// unchanged. Remote timestamps are only compared for equality, never with the local clock.
#[derive(Debug, Default)]
pub struct HeartbeatAges {
    seen: HashMap<String, (HeartbeatKey, Duration)>,
}

type HeartbeatKey = (Option<u64>, Option<DateTime<Utc>>);

impl HeartbeatAges {
    /// Notes the heartbeats in `snapshot` at monotonic `now`; returns every cluster's age.
    pub fn observe(
        &mut self,
        snapshot: &GroupSnapshot,
        now: Duration,
    ) -> BTreeMap<String, Duration> {
        let mut ages = BTreeMap::new();
        for c in &snapshot.clusters {
            let key = (c.heartbeat_seq, c.last_heartbeat);
            let since = match self.seen.get(&c.cluster_name) {
                Some((k, at)) if *k == key => *at,
                _ => {
                    self.seen.insert(c.cluster_name.clone(), (key, now));
                    now
                }
            };
            ages.insert(c.cluster_name.clone(), now.saturating_sub(since));
        }
        self.seen
            .retain(|name, _| snapshot.clusters.iter().any(|c| &c.cluster_name == name));
        ages
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
