//! The status view structs and the pure function that builds them from a store snapshot and a
//! point in time. Serialized as the `-o json|yaml` document, so field names are a public contract.

use crate::duration::GoDuration;
use crate::ops::seconds_between;
use crate::store::{
    ClusterState, ClusterStatus, ComponentStatus, GroupSnapshot, Health, Timeouts, Transition,
};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// A cluster's role as CONFIG assigns it (not as the cluster reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Role {
    /// The cluster is `ownerCluster`.
    Primary,
    /// Any other cluster.
    Standby,
}

impl Role {
    /// The role as shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "PRIMARY",
            Role::Standby => "STANDBY",
        }
    }
}

/// One group's status at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupView {
    /// Namespace of the FailoverGroup.
    pub namespace: String,
    /// Name of the FailoverGroup.
    pub name: String,
    /// Operator instance that manages the group.
    pub operator_id: String,
    /// The cluster CONFIG makes PRIMARY.
    pub owner_cluster: String,
    /// The owner before the last ownership change.
    pub previous_owner: Option<String>,
    /// CONFIG version (grows with every change).
    pub version: u64,
    /// Automatic failovers are off.
    pub suspended: bool,
    /// Why they are off.
    pub suspension_reason: Option<String>,
    /// When CONFIG last changed.
    pub last_updated: Option<DateTime<Utc>>,
    /// The last failover, if any.
    pub last_failover: Option<LastFailoverView>,
    /// The group's timeouts (Go duration strings, as stored).
    pub timeouts: Timeouts,
    /// How often each cluster writes its heartbeat.
    pub heartbeat_interval: GoDuration,
    /// Clusters that are healthy: health OK and a heartbeat younger than `timeouts.heartbeat`.
    pub healthy_clusters: usize,
    /// Every cluster, sorted by name; includes the owner even when it has no record.
    pub clusters: Vec<ClusterView>,
    /// The lock of an in-flight transition.
    pub lock: Option<LockView>,
    /// The fencing epoch of the current ownership grant.
    pub epoch: u64,
    /// The transition in flight (its phase shows how far it got).
    pub transition: Option<Transition>,
    /// The instant every age in this view is measured from.
    pub observed_at: DateTime<Utc>,
}

/// One cluster's heartbeat and health within a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    /// The cluster's name.
    pub name: String,
    /// Its role according to CONFIG.
    pub role: Role,
    /// The state it last reported; `None` when it has no record at all.
    pub reported_state: Option<ClusterState>,
    /// True when the reported state is not the role CONFIG gives it (e.g. a STANDBY that
    /// reports PRIMARY): mid-transition at best, a split brain at worst, so people must see it.
    pub state_mismatch: bool,
    /// The health it last reported; `None` when it has no record.
    pub health: Option<Health>,
    /// When it last wrote its record (its own clock).
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// Seconds since `lastHeartbeat` (negative if that clock runs ahead of ours).
    pub heartbeat_age_seconds: Option<i64>,
    /// The heartbeat is older than `timeouts.heartbeat`, or there is none.
    pub heartbeat_stale: bool,
    /// The heartbeat sequence number, when the writer keeps one.
    pub heartbeat_seq: Option<u64>,
    /// Per-component health.
    pub components: BTreeMap<String, ComponentStatus>,
}

impl ClusterView {
    /// Health OK with a fresh heartbeat.
    pub fn is_healthy(&self) -> bool {
        self.health == Some(Health::Ok) && !self.heartbeat_stale
    }
}

/// The lock of an in-flight transition. The lease token is left out on purpose: it is the
/// holder's proof of ownership and nobody reading status needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LockView {
    /// Cluster (agent) holding it.
    pub locked_by: String,
    /// Why it was taken.
    pub lock_reason: String,
    /// When it was taken.
    pub acquired_at: Option<DateTime<Utc>>,
    /// When the lease runs out unless renewed (holder's clock).
    pub expires_at: DateTime<Utc>,
    /// Seconds until the lease runs out; negative once it has lapsed.
    pub expires_in_seconds: i64,
    /// The lease has run out: the holder stopped renewing (or its clock differs from ours).
    pub lapsed: bool,
}

/// The group's last failover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastFailoverView {
    /// Name of the Failover (or the generated name of an automatic one).
    pub name: String,
    /// Namespace of the Failover.
    pub namespace: String,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Seconds since then.
    pub age_seconds: i64,
}

/// Builds a group's view from a snapshot as seen at `now`.
pub fn group_view(snapshot: &GroupSnapshot, now: DateTime<Utc>) -> GroupView {
    let config = &snapshot.config;
    let stale_after = config.timeouts.heartbeat.get();
    let mut clusters: Vec<ClusterView> = snapshot
        .clusters
        .iter()
        .map(|c| cluster_view(c, &config.owner_cluster, stale_after, now))
        .collect();
    // An owner that never wrote a record is the most important row of all: without it the
    // table would show only standbys and hide that nobody serves.
    if !clusters.iter().any(|c| c.name == config.owner_cluster) {
        clusters.push(ClusterView {
            name: config.owner_cluster.clone(),
            role: Role::Primary,
            reported_state: None,
            state_mismatch: false,
            health: None,
            last_heartbeat: None,
            heartbeat_age_seconds: None,
            heartbeat_stale: true,
            heartbeat_seq: None,
            components: BTreeMap::new(),
        });
    }
    clusters.sort_by(|a, b| a.name.cmp(&b.name));
    GroupView {
        namespace: config.group.namespace.clone(),
        name: config.group.name.clone(),
        operator_id: config.operator_id.clone(),
        owner_cluster: config.owner_cluster.clone(),
        previous_owner: config.previous_owner.clone(),
        version: config.version,
        suspended: config.suspended,
        suspension_reason: config.suspension_reason.clone(),
        last_updated: config.last_updated,
        last_failover: config.last_failover.as_ref().map(|f| LastFailoverView {
            name: f.name.clone(),
            namespace: f.namespace.clone(),
            timestamp: f.timestamp,
            age_seconds: seconds_between(f.timestamp, now),
        }),
        timeouts: config.timeouts,
        heartbeat_interval: config.heartbeat_interval,
        healthy_clusters: clusters.iter().filter(|c| c.is_healthy()).count(),
        clusters,
        lock: snapshot.lock.as_ref().map(|l| {
            let expires_in = seconds_between(now, l.expires_at);
            LockView {
                locked_by: l.locked_by.clone(),
                lock_reason: l.lock_reason.clone(),
                acquired_at: l.acquired_at,
                expires_at: l.expires_at,
                expires_in_seconds: expires_in,
                lapsed: l.expires_at <= now,
            }
        }),
        epoch: config.epoch,
        transition: config.transition.clone(),
        // Milliseconds, like every timestamp in the table; nanoseconds would only be noise.
        observed_at: now.trunc_subsecs(3),
    }
}

fn cluster_view(
    status: &ClusterStatus,
    owner: &str,
    stale_after: Duration,
    now: DateTime<Utc>,
) -> ClusterView {
    let role = if status.cluster_name == owner {
        Role::Primary
    } else {
        Role::Standby
    };
    let stale_after = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::MAX);
    ClusterView {
        name: status.cluster_name.clone(),
        role,
        reported_state: Some(status.state),
        state_mismatch: status.state.as_str() != role.as_str(),
        health: Some(status.health),
        last_heartbeat: status.last_heartbeat,
        heartbeat_age_seconds: status.last_heartbeat.map(|t| seconds_between(t, now)),
        // No heartbeat at all is no evidence of life either.
        heartbeat_stale: status.last_heartbeat.is_none_or(|t| now - t > stale_after),
        heartbeat_seq: status.heartbeat_seq,
        components: status.components.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{GroupConfig, GroupId, Lock};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cluster(name: &str, state: ClusterState, hb: Option<&str>) -> ClusterStatus {
        ClusterStatus {
            cluster_name: name.into(),
            health: Health::Ok,
            state,
            last_heartbeat: hb.map(at),
            heartbeat_seq: Some(3),
            components: BTreeMap::new(),
            ack: None,
            fenced: false,
        }
    }

    fn snapshot(clusters: Vec<ClusterStatus>, lock: Option<Lock>) -> GroupSnapshot {
        let id = GroupId::new("shop", "web").unwrap();
        GroupSnapshot {
            config: GroupConfig::new("op", id, "a", at("2026-03-01T11:00:00Z")),
            clusters,
            lock,
        }
    }

    #[test]
    fn a_heartbeat_older_than_the_timeout_is_stale_and_one_at_the_timeout_is_not() {
        // Default heartbeat timeout is 60s; now is 12:01:00.
        let s = snapshot(
            vec![
                cluster("a", ClusterState::Primary, Some("2026-03-01T12:00:00Z")),
                cluster("b", ClusterState::Standby, Some("2026-03-01T11:59:59Z")),
                cluster("c", ClusterState::Standby, None),
            ],
            None,
        );
        let v = group_view(&s, at("2026-03-01T12:01:00Z"));
        let stale: Vec<_> = v.clusters.iter().map(|c| c.heartbeat_stale).collect();
        assert_eq!(stale, [false, true, true]);
        assert_eq!(v.clusters[0].heartbeat_age_seconds, Some(60));
        assert_eq!(v.clusters[2].heartbeat_age_seconds, None);
        assert_eq!(v.healthy_clusters, 1);
    }

    #[test]
    fn a_standby_that_reports_primary_is_flagged_as_a_mismatch() {
        let s = snapshot(
            vec![
                cluster("a", ClusterState::Primary, Some("2026-03-01T12:00:00Z")),
                cluster("b", ClusterState::Primary, Some("2026-03-01T12:00:00Z")),
            ],
            None,
        );
        let v = group_view(&s, at("2026-03-01T12:00:05Z"));
        assert_eq!(v.clusters[0].role, Role::Primary);
        assert!(!v.clusters[0].state_mismatch);
        assert_eq!(v.clusters[1].role, Role::Standby);
        assert!(v.clusters[1].state_mismatch);
    }

    #[test]
    fn an_owner_without_a_record_still_appears_as_primary_with_unknown_health() {
        let s = snapshot(
            vec![cluster(
                "b",
                ClusterState::Standby,
                Some("2026-03-01T12:00:00Z"),
            )],
            None,
        );
        let v = group_view(&s, at("2026-03-01T12:00:05Z"));
        assert_eq!(v.clusters.len(), 2);
        assert_eq!(v.clusters[0].name, "a");
        assert_eq!(v.clusters[0].role, Role::Primary);
        assert_eq!(v.clusters[0].health, None);
        assert!(v.clusters[0].heartbeat_stale);
    }

    #[test]
    fn a_lock_counts_down_and_then_reports_its_lease_lapsed() {
        let lock = Lock {
            locked_by: "b".into(),
            lock_reason: "promote".into(),
            acquired_at: Some(at("2026-03-01T12:00:00Z")),
            expires_at: at("2026-03-01T12:00:30Z"),
            lease_token: "secret-token".into(),
        };
        let s = snapshot(vec![], Some(lock));
        let held = group_view(&s, at("2026-03-01T12:00:18Z")).lock.unwrap();
        assert_eq!((held.expires_in_seconds, held.lapsed), (12, false));
        let gone = group_view(&s, at("2026-03-01T12:01:00Z")).lock.unwrap();
        assert_eq!((gone.expires_in_seconds, gone.lapsed), (-30, true));
        let json = serde_json::to_string(&group_view(&s, at("2026-03-01T12:00:18Z"))).unwrap();
        assert!(!json.contains("secret-token"), "{json}");
    }
}
