//! What a FailoverGroup's status shows: this cluster's role, the active cluster, every
//! cluster's heartbeat and health as seen from here, per-resource health and conditions. Also
//! the standard `Condition` shared with the Failover resource.

use super::schema;
use crate::protocol::Role;
use crate::store::{ClusterState, Health, Phase};
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the group looks from this cluster, written by this cluster's controller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailoverGroupStatus {
    /// This cluster's role for the group: PRIMARY, STANDBY, FENCED or UNKNOWN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<GroupRole>,

    /// The cluster that owns the group according to DynamoDB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_cluster: Option<String>,

    /// Health of the group's resources in this cluster: OK, DEGRADED or ERROR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::health")]
    pub health: Option<Health>,

    /// Automatic failover is off (as recorded in DynamoDB, which may lag the spec briefly).
    #[serde(default)]
    pub suspended: bool,

    /// Phase of the failover in flight: REQUESTED, SOURCE_DEACTIVATING or TARGET_ACTIVATING.
    /// Unset when none is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::phase")]
    pub phase: Option<Phase>,

    /// Every cluster taking part in the group, as this cluster last read them from DynamoDB.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub clusters: Vec<ClusterEntry>,

    /// Health of each resource of the group in this cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<ResourceHealth>,

    /// Ready (the group is converged to this cluster's role), Synced (DynamoDB was read and
    /// written on the last attempt) and Degraded (some resource is not healthy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The last failover of the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failover: Option<LastFailover>,

    /// The metadata.generation this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// This cluster's role for the group: PRIMARY (serves it), STANDBY (another cluster serves it),
/// FENCED (owns it but has stopped serving because it cannot write heartbeats to DynamoDB) or
/// UNKNOWN (not decided since the controller started).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupRole {
    /// This cluster serves the group.
    Primary,
    /// Another cluster serves the group; this one keeps it deactivated.
    Standby,
    /// This cluster owns the group but has deactivated it because its heartbeats are failing.
    Fenced,
    /// Not decided yet (DynamoDB not read since the controller started).
    Unknown,
}

impl From<Role> for GroupRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Primary => GroupRole::Primary,
            Role::Standby => GroupRole::Standby,
            Role::Fenced => GroupRole::Fenced,
        }
    }
}

/// One cluster of the group, from its heartbeat record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterEntry {
    /// The cluster's CLUSTER_NAME.
    pub name: String,
    /// Its state as it reports it: PRIMARY, STANDBY, FAILOVER or FAILBACK.
    #[schemars(schema_with = "schema::cluster_state")]
    pub role: ClusterState,
    /// Its health as it reports it: OK, DEGRADED or ERROR.
    #[schemars(schema_with = "schema::health")]
    pub health: Health,
    /// How long this cluster has seen that cluster's heartbeat unchanged (measured on this
    /// cluster's own clock, never by comparing clocks), as a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::duration")]
    pub heartbeat_age: Option<String>,
    /// When that cluster last wrote its heartbeat, by its own clock (for display only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::date_time")]
    pub last_heartbeat: Option<DateTime<Utc>>,
}

/// Health of one resource of the group in this cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceHealth {
    /// Its kind, e.g. Deployment, VolumeReplication, HelmRelease.
    pub kind: String,
    /// Its name in the group's namespace.
    pub name: String,
    /// OK, DEGRADED or ERROR.
    #[schemars(schema_with = "schema::health")]
    pub health: Health,
    /// Why it is not OK (e.g. "2/3 replicas ready", "CRD not installed"); empty when healthy.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The group's last failover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastFailover {
    /// Name of the Failover resource, or the generated name of an automatic or CLI failover.
    pub name: String,
    /// Namespace of the Failover resource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// When it happened.
    #[schemars(schema_with = "schema::date_time")]
    pub timestamp: DateTime<Utc>,
}

/// A condition in the shape of metav1.Condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type, e.g. Ready.
    #[serde(rename = "type")]
    #[schemars(length(min = 1, max = 316))]
    pub type_: String,
    /// True, False or Unknown.
    pub status: ConditionStatus,
    /// The metadata.generation the condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the status last changed (not when it was last checked).
    #[schemars(schema_with = "schema::date_time")]
    pub last_transition_time: DateTime<Utc>,
    /// Why, as one CamelCase word, e.g. HeartbeatFailing.
    #[schemars(regex(pattern = schema::REASON_PATTERN), length(min = 1, max = 1024))]
    pub reason: String,
    /// Why, for people.
    #[schemars(length(max = 32768))]
    pub message: String,
}

/// Status of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Cannot tell.
    Unknown,
}

/// Condition types of a FailoverGroup.
pub mod condition_types {
    /// The group is converged to this cluster's role.
    pub const READY: &str = "Ready";
    /// DynamoDB was read and the heartbeat written on the last attempt.
    pub const SYNCED: &str = "Synced";
    /// Some resource of the group is not healthy in this cluster.
    pub const DEGRADED: &str = "Degraded";
    /// A Failover's every group has finished (successfully or not).
    pub const COMPLETE: &str = "Complete";
}

/// Sets `new` in `conditions`, replacing the condition of the same type. Keeps the old
/// `lastTransitionTime` when the status did not change: a status rewritten with a new time on
/// every reconcile would trigger the next reconcile, a write storm. Returns whether anything
/// changed, so the caller can skip the status write.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time;
            }
            let changed = *old != new;
            *old = new;
            changed
        }
        None => {
            conditions.push(new);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(status: ConditionStatus, at: i64, message: &str) -> Condition {
        Condition {
            type_: condition_types::READY.into(),
            status,
            observed_generation: Some(1),
            last_transition_time: DateTime::from_timestamp(at, 0).unwrap(),
            reason: "Converged".into(),
            message: message.into(),
        }
    }

    #[test]
    fn setting_an_unchanged_condition_keeps_its_transition_time_and_reports_no_change() {
        let mut conditions = vec![ready(ConditionStatus::True, 100, "ok")];
        assert!(!set_condition(
            &mut conditions,
            ready(ConditionStatus::True, 200, "ok")
        ));
        assert_eq!(conditions[0].last_transition_time.timestamp(), 100);
    }

    #[test]
    fn a_new_message_is_a_change_but_only_a_new_status_moves_the_transition_time() {
        let mut conditions = vec![ready(ConditionStatus::True, 100, "ok")];
        assert!(set_condition(
            &mut conditions,
            ready(ConditionStatus::True, 200, "still ok")
        ));
        assert_eq!(conditions[0].last_transition_time.timestamp(), 100);
        assert!(set_condition(
            &mut conditions,
            ready(ConditionStatus::False, 300, "scaling")
        ));
        assert_eq!(conditions[0].last_transition_time.timestamp(), 300);
        assert_eq!(conditions.len(), 1);
    }

    #[test]
    fn protocol_roles_map_to_the_status_role_of_the_same_name() {
        assert_eq!(GroupRole::from(Role::Primary), GroupRole::Primary);
        assert_eq!(GroupRole::from(Role::Standby), GroupRole::Standby);
        assert_eq!(GroupRole::from(Role::Fenced), GroupRole::Fenced);
    }
}
