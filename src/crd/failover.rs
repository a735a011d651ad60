//! The Failover resource: a person's (or a pipeline's) request to move one or more
//! FailoverGroups to another cluster. Immutable once created (CEL transition rules); its status
//! mirrors the progress of each group's transition.

use super::failover_group::FailoverGroupSpec;
use super::group_status::Condition;
use super::schema;
use crate::store::{FailoverMode, GroupId, HistoryStatus, InvalidName, Phase, validate_name};
use chrono::{DateTime, Utc};
use kube::{CustomResource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which FailoverGroups to move to which cluster, and how. Create the Failover in any cluster
/// running the controller: the request is written to DynamoDB and the target cluster drives
/// it. No field can change afterwards.
// kube's printcolumn(...) arguments repeat `type_ = ..` per column, which this lint misreads as
// one attribute given twice.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kubectl-failover.io",
    version = "v1alpha1",
    kind = "Failover",
    plural = "failovers",
    singular = "failover",
    namespaced,
    status = "FailoverStatus",
    derive = "PartialEq",
    shortname = "fo",
    doc = "A request to move FailoverGroups to another cluster. Immutable: create a new Failover to ask again. The target cluster's controller drives it; status shows each group's progress.",
    printcolumn(
        name = "Target",
        type_ = "string",
        json_path = ".spec.targetCluster",
        description = "The cluster that is to serve the groups"
    ),
    printcolumn(
        name = "Mode",
        type_ = "string",
        json_path = ".spec.failoverMode",
        description = "CONSISTENCY or UPTIME (empty: each group's defaultFailoverMode)"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.phase",
        description = "Progress of the request"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self == oldSelf",
    "message": "a Failover is an immutable request: delete it and create a new Failover to ask for another failover"
}]))]
pub struct FailoverSpec {
    /// The cluster (its CLUSTER_NAME) that is to serve the groups.
    #[schemars(schema_with = "schema::table_name")]
    #[schemars(extend("x-kubernetes-validations" = [{"rule": "self == oldSelf", "message": "targetCluster is immutable"}]))]
    pub target_cluster: String,

    /// CONSISTENCY (data first: the old cluster stops completely before the target starts) or
    /// UPTIME (the target starts first; refused for groups with volumeReplications unless
    /// force is set). Unset: each group's defaultFailoverMode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::failover_mode")]
    #[schemars(extend("x-kubernetes-validations" = [{"rule": "self == oldSelf", "message": "failoverMode is immutable"}]))]
    pub failover_mode: Option<FailoverMode>,

    /// Do not wait for the current cluster to acknowledge that it stopped: for a cluster that is
    /// down or unreachable. The target still waits until the old cluster's heartbeat has been
    /// silent for timeouts.heartbeat + timeouts.deactivation, by which time it has fenced
    /// itself and stopped.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-validations" = [{"rule": "self == oldSelf", "message": "force is immutable"}]))]
    pub force: bool,

    /// Why, recorded in the failover history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    #[schemars(extend("x-kubernetes-validations" = [{"rule": "self == oldSelf", "message": "reason is immutable"}]))]
    pub reason: Option<String>,

    /// The FailoverGroups to move, each once.
    #[schemars(length(min = 1, max = 50))]
    #[schemars(extend("x-kubernetes-validations" = [
        {"rule": "self == oldSelf", "message": "failoverGroups is immutable"},
        {"rule": "self.all(g, self.exists_one(h, h.name == g.name && (has(h.__namespace__) ? h.__namespace__ : '') == (has(g.__namespace__) ? g.__namespace__ : '')))", "message": "failoverGroups lists a FailoverGroup twice: list each once"}
    ]))]
    pub failover_groups: Vec<GroupRef>,
}

/// A FailoverGroup by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupRef {
    /// The FailoverGroup's name.
    #[schemars(schema_with = "schema::object_name")]
    pub name: String,
    /// The FailoverGroup's namespace. Unset: the Failover's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::object_name")]
    pub namespace: Option<String>,
}

/// Progress of a Failover, written by the controllers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailoverStatus {
    /// Progress of the Failover: PENDING, IN_PROGRESS, SUCCEEDED or FAILED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<FailoverPhase>,

    /// Each group's progress.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["group"]))]
    pub groups: Vec<GroupProgress>,

    /// Standard conditions (Complete).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// The metadata.generation this status was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Progress of the Failover: PENDING (not yet written to DynamoDB), IN_PROGRESS, SUCCEEDED (every
/// group now runs in the target cluster) or FAILED (some group was refused, failed or rolled
/// back; see groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailoverPhase {
    /// Accepted; not yet written to DynamoDB.
    Pending,
    /// At least one group's transition is in flight.
    InProgress,
    /// Every group now runs in the target cluster.
    Succeeded,
    /// Some group was refused, failed or rolled back (see groups[].message).
    Failed,
}

/// One group's part of a Failover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupProgress {
    /// The FailoverGroup, as namespace/name.
    pub group: String,
    /// Phase of its transition while in flight: REQUESTED, SOURCE_DEACTIVATING or
    /// TARGET_ACTIVATING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::phase")]
    pub phase: Option<Phase>,
    /// Where this group's request stands.
    pub status: GroupFailoverStatus,
    /// When its transition was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::date_time")]
    pub start_time: Option<DateTime<Utc>>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::date_time")]
    pub end_time: Option<DateTime<Utc>>,
    /// How long it took, as a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::duration")]
    pub duration: Option<String>,
    /// How long no cluster served the group, as a Go duration (0s for UPTIME).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::duration")]
    pub downtime: Option<String>,
    /// Details: why it was refused or failed, what it waits for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Where one group's request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GroupFailoverStatus {
    /// Not yet written to DynamoDB.
    Pending,
    /// Written; the transition is in flight.
    InProgress,
    /// The target serves the group.
    Success,
    /// Completed without the old cluster's acknowledgement (it was unreachable).
    ForcedComplete,
    /// Undone before the target took over; the old cluster serves again.
    RolledBack,
    /// The transition failed.
    Failed,
    /// Not started: another transition was in flight, the target is unknown, or the mode is
    /// not allowed (see message).
    Refused,
    /// Nothing to do: the target already serves the group.
    AlreadyPrimary,
}

impl From<HistoryStatus> for GroupFailoverStatus {
    fn from(status: HistoryStatus) -> Self {
        match status {
            HistoryStatus::Success => GroupFailoverStatus::Success,
            HistoryStatus::Failed => GroupFailoverStatus::Failed,
            HistoryStatus::RolledBack => GroupFailoverStatus::RolledBack,
            HistoryStatus::ForcedComplete => GroupFailoverStatus::ForcedComplete,
        }
    }
}

/// Why a Failover cannot be turned into transition requests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidFailover {
    /// A name in the spec cannot be used as a table key.
    #[error(
        "Failover {resource}: spec.{field} {value:?}: {problem}; fix the Failover (it is immutable: delete it and create a corrected one)"
    )]
    Field {
        /// `namespace/name` of the Failover.
        resource: String,
        /// Path of the field under `spec`.
        field: String,
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The object did not come from an API server (no namespace or uid).
    #[error(
        "Failover {resource} has no {missing}; read it from the API server before acting on it"
    )]
    NotStored {
        /// Name of the Failover.
        resource: String,
        /// `metadata.namespace` or `metadata.uid`.
        missing: &'static str,
    },
}

impl Failover {
    fn resource(&self) -> String {
        format!(
            "{}/{}",
            self.namespace().unwrap_or_default(),
            self.name_any()
        )
    }

    /// The groups to move, with the Failover's namespace filled in where the spec left it out.
    pub fn group_ids(&self) -> Result<Vec<GroupId>, InvalidFailover> {
        let own = self.namespace().ok_or_else(|| InvalidFailover::NotStored {
            resource: self.name_any(),
            missing: "metadata.namespace",
        })?;
        let field_error = |i: usize, e: InvalidName| InvalidFailover::Field {
            resource: self.resource(),
            field: format!("failoverGroups[{i}]"),
            value: e.input,
            problem: format!("{} {}", e.what, e.problem),
        };
        let mut ids: Vec<GroupId> = Vec::with_capacity(self.spec.failover_groups.len());
        for (i, g) in self.spec.failover_groups.iter().enumerate() {
            let ns = g.namespace.as_deref().unwrap_or(&own);
            let id = GroupId::new(ns, &g.name).map_err(|e| field_error(i, e))?;
            // Twice in one Failover would give the status two entries with one key, which a
            // real API server refuses (list-map), so the status could never be written.
            if ids.contains(&id) {
                return Err(InvalidFailover::Field {
                    resource: self.resource(),
                    field: format!("failoverGroups[{i}]"),
                    value: id.to_string(),
                    problem: "lists a FailoverGroup that an earlier entry lists already".into(),
                });
            }
            ids.push(id);
        }
        Ok(ids)
    }

    /// The target cluster, checked as a table key.
    pub fn target(&self) -> Result<&str, InvalidFailover> {
        let target = self.spec.target_cluster.as_str();
        validate_name("cluster name", target).map_err(|e| InvalidFailover::Field {
            resource: self.resource(),
            field: "targetCluster".into(),
            value: e.input,
            problem: e.problem,
        })?;
        Ok(target)
    }

    /// The transition id for this Failover's requests: its name plus the start of its uid. The
    /// uid matters: a Failover deleted and re-created under the same name must not share an id
    /// with the earlier one, because a cluster's acknowledgement is matched to a transition by
    /// id, and a stale acknowledgement must never release a new transition.
    pub fn transition_id(&self) -> Result<String, InvalidFailover> {
        let uid = self.uid().ok_or_else(|| InvalidFailover::NotStored {
            resource: self.name_any(),
            missing: "metadata.uid",
        })?;
        let short: String = uid.chars().filter(|c| *c != '-').take(8).collect();
        Ok(format!("{}-{short}", self.name_any()))
    }

    /// Who asks, for history: `failover/NAMESPACE/NAME`.
    pub fn initiator(&self) -> String {
        format!("failover/{}", self.resource())
    }
}

impl FailoverSpec {
    /// The mode for one group: `failoverMode`, or the group's `defaultFailoverMode` if unset.
    pub fn mode_for(&self, group: &FailoverGroupSpec) -> FailoverMode {
        self.failover_mode.unwrap_or(group.default_failover_mode)
    }
}

#[cfg(test)]
#[path = "failover_tests.rs"]
mod tests;
