//! From a FailoverGroup to what the protocol uses: the group's id, its local policy and the
//! CONFIG to create when the table has none. Checks everything the API server's schema checks
//! (a resource may predate the CRD or bypass it) with the protocol's own timing rules
//! (`GroupPolicy::timings`), and names the resource, the field, the value and the fix.

use super::failover_group::{FailoverGroup, FailoverGroupSpec};
use crate::duration::GoDuration;
use crate::protocol::{GroupPolicy, InvalidTimings};
use crate::store::{FailoverMode, GroupConfig, GroupId, Timeouts, validate_name};
use chrono::{DateTime, Utc};
use kube::ResourceExt;

/// What a controller needs from one FailoverGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSettings {
    /// The group (namespace/name).
    pub group: GroupId,
    /// The operator that manages it.
    pub operator_id: String,
    /// Local policy: self-fencing, preference, cool-down.
    pub policy: GroupPolicy,
    /// The CONFIG to create when the table has none: owned by `initialPrimary`, with the spec's
    /// timeouts and suspension, version 1. Validated with `policy` (`GroupPolicy::timings`).
    pub bootstrap: GroupConfig,
    /// Mode of a failover that does not name one.
    pub default_mode: FailoverMode,
    /// Whether any workload lists a volume replication.
    pub has_volume_replications: bool,
}

/// Why a FailoverGroup cannot be used. Messages name the resource, the field, the value and the
/// fix; fix the FailoverGroup in every cluster (they must agree).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidGroupSpec {
    /// One field has a value the protocol cannot use.
    #[error("FailoverGroup {resource}: spec.{field} {value:?} {problem}; {fix}")]
    Field {
        /// `namespace/name` of the FailoverGroup.
        resource: String,
        /// Path of the field under `spec`, e.g. `timeouts.heartbeat`.
        field: String,
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        problem: String,
        /// What to change.
        fix: String,
    },
    /// The timeouts cannot keep the protocol safe together.
    #[error("FailoverGroup {resource}: {}", without_group_prefix(source))]
    Timings {
        /// `namespace/name` of the FailoverGroup.
        resource: GroupId,
        /// The protocol's refusal (boxed: it is large, and errors travel by value).
        source: Box<InvalidTimings>,
    },
    /// The FailoverGroup's namespace or name cannot be used as a table key, or it has none.
    #[error("FailoverGroup {namespace}/{name}: {problem}")]
    Identity {
        /// `metadata.namespace` (empty if missing).
        namespace: String,
        /// `metadata.name`.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

/// `InvalidTimings` messages start with "group NS/NAME: "; the wrapper names the resource itself.
fn without_group_prefix(source: &InvalidTimings) -> String {
    let text = source.to_string();
    match text.split_once(": ") {
        Some((head, rest)) if head.starts_with("group ") => rest.to_string(),
        _ => text,
    }
}

impl FailoverGroup {
    /// The settings of this FailoverGroup for a controller whose OPERATOR_ID is `operator_id`
    /// (used when the spec names none), as of `now` (the bootstrap CONFIG's `lastUpdated`).
    pub fn settings(
        &self,
        operator_id: &str,
        now: DateTime<Utc>,
    ) -> Result<GroupSettings, InvalidGroupSpec> {
        let namespace = self.namespace().unwrap_or_default();
        let name = self.name_any();
        let group = GroupId::new(&namespace, &name).map_err(|e| InvalidGroupSpec::Identity {
            namespace: namespace.clone(),
            name: name.clone(),
            problem: format!("metadata: {e}"),
        })?;
        self.spec.settings(group, operator_id, now)
    }
}

impl FailoverGroupSpec {
    /// The settings of the group `group` (see [`FailoverGroup::settings`]).
    pub fn settings(
        &self,
        group: GroupId,
        operator_id: &str,
        now: DateTime<Utc>,
    ) -> Result<GroupSettings, InvalidGroupSpec> {
        let field =
            |field: &str, value: &str, problem: String, fix: &str| InvalidGroupSpec::Field {
                resource: group.to_string(),
                field: field.to_string(),
                value: value.to_string(),
                problem,
                fix: fix.to_string(),
            };
        let duration = |name: &str, value: &str| {
            value.parse::<GoDuration>().map_err(|e| {
                field(
                    name,
                    value,
                    format!("is not a duration: {}", e.problem),
                    "use a Go duration such as 15s, 5m or 1m30s",
                )
            })
        };
        let cluster_name = |name: &str, value: &str| {
            validate_name("cluster name", value).map_err(|e| {
                field(
                    name,
                    value,
                    format!("is not a valid cluster name: {}", e.problem),
                    "use the CLUSTER_NAME the cluster's controller runs with",
                )
            })
        };

        let operator_id = self.operator_id_or(operator_id).to_string();
        validate_name("operator ID", &operator_id).map_err(|e| {
            field(
                "operatorID",
                &operator_id,
                format!("is not a valid operator ID: {}", e.problem),
                "use the OPERATOR_ID of the controllers that manage the group, or leave it unset",
            )
        })?;
        cluster_name("initialPrimary", &self.initial_primary)?;
        for (i, cluster) in self.cluster_preference.iter().enumerate() {
            let path = format!("clusterPreference[{i}]");
            cluster_name(&path, cluster)?;
            if self.cluster_preference[..i].contains(cluster) {
                return Err(field(
                    &path,
                    cluster,
                    "is listed twice".into(),
                    "list each cluster once",
                ));
            }
        }
        if self.workloads.is_empty()
            && self.network_resources.is_empty()
            && self.flux_resources.is_empty()
        {
            return Err(field(
                "workloads",
                "[]",
                "is empty, and so are networkResources and fluxResources".into(),
                "list at least one resource to fail over",
            ));
        }
        let has_volume_replications = self.has_volume_replications();
        if self.default_failover_mode == FailoverMode::Uptime && has_volume_replications {
            return Err(field(
                "defaultFailoverMode",
                FailoverMode::Uptime.as_str(),
                "runs both clusters at once, which splits the group's replicated volumes".into(),
                "use CONSISTENCY for a group with volumeReplications",
            ));
        }

        let timeouts = Timeouts {
            transitory_state: duration(
                "timeouts.transitoryState",
                &self.timeouts.transitory_state,
            )?,
            unhealthy_primary: duration(
                "timeouts.unhealthyPrimary",
                &self.timeouts.unhealthy_primary,
            )?,
            heartbeat: duration("timeouts.heartbeat", &self.timeouts.heartbeat)?,
            deactivation: duration("timeouts.deactivation", &self.timeouts.deactivation)?,
        };
        let heartbeat_interval = duration("heartbeatInterval", &self.heartbeat_interval)?;
        let cooldown = match &self.failover_cooldown {
            Some(text) => Some(duration("failoverCooldown", text)?.get()),
            None => None,
        };

        let mut bootstrap =
            GroupConfig::new(&operator_id, group.clone(), &self.initial_primary, now);
        bootstrap.timeouts = timeouts;
        bootstrap.heartbeat_interval = heartbeat_interval;
        bootstrap.suspended = self.suspended;
        bootstrap.self_fencing = self.self_fencing;
        bootstrap.suspension_reason = self.suspension_reason.clone();
        let policy = GroupPolicy {
            self_fencing: self.self_fencing,
            preference: self.cluster_preference.clone(),
            cooldown,
        };
        policy
            .timings(&bootstrap)
            .map_err(|source| InvalidGroupSpec::Timings {
                resource: group.clone(),
                source: Box::new(source),
            })?;
        Ok(GroupSettings {
            group,
            operator_id,
            policy,
            bootstrap,
            default_mode: self.default_failover_mode,
            has_volume_replications,
        })
    }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
