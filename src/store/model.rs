//! The records of the coordination table as Rust values: what a group's CONFIG, each cluster's
//! heartbeat, the LOCK and a HISTORY entry hold. Key formats live in `dynamodb::schema`.

use super::safety::SafetySettings;
use crate::duration::GoDuration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[path = "model/names.rs"]
mod names;
pub use names::{GroupId, InvalidName, validate_name};

/// A cluster's overall health as it reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Health {
    /// Everything the group needs is working.
    Ok,
    /// Some components have problems but the application still works.
    Degraded,
    /// Critical components do not work.
    Error,
}

/// A cluster's role in a group as it last reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ClusterState {
    /// Serving the application.
    Primary,
    /// Passive, ready to take over.
    Standby,
    /// Handing the application away (PRIMARY -> STANDBY).
    Failover,
    /// Taking the application over (STANDBY -> PRIMARY).
    Failback,
}

macro_rules! wire_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// The value as stored in the table.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
            /// Every value this attribute may hold, for error messages.
            pub const ALLOWED: &'static [&'static str] = &[$($text),+];
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $ty {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($text => Ok($ty::$variant),)+ _ => Err(()) }
            }
        }
    };
}

#[path = "model/history.rs"]
mod history;
#[path = "model/lock.rs"]
mod lock;
pub use history::{HistoryPage, HistoryRecord, HistoryStatus};
pub use lock::{Lock, LockRequest};

wire_enum!(Health { Ok => "OK", Degraded => "DEGRADED", Error => "ERROR" });
wire_enum!(ClusterState {
    Primary => "PRIMARY",
    Standby => "STANDBY",
    Failover => "FAILOVER",
    Failback => "FAILBACK",
});

/// The group's timeouts, stored as Go duration strings under `timeouts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeouts {
    /// Longest a transition may go without progress before it is rolled back or completed.
    pub transitory_state: GoDuration,
    /// How long the PRIMARY may report ERROR before an automatic failover.
    pub unhealthy_primary: GoDuration,
    /// How long the PRIMARY's heartbeat may stay unchanged before it is presumed dead.
    pub heartbeat: GoDuration,
    /// How long a cluster needs to stop serving once it starts to (traffic off, Flux and
    /// CronJobs suspended, every pod of its workloads gone, volumes demoted). A forced or
    /// automatic flip waits this long on top of `heartbeat`, so a cut-off owner that started
    /// fencing on time has stopped (extension attribute `deactivationTimeout`).
    pub deactivation: GoDuration,
}

/// Defaults used when a FailoverGroup or a record written by another tool does not say.
pub mod defaults {
    use std::time::Duration;
    /// Default `timeouts.transitoryState`.
    pub const TRANSITORY_STATE: Duration = Duration::from_secs(300);
    /// Default `timeouts.unhealthyPrimary`.
    pub const UNHEALTHY_PRIMARY: Duration = Duration::from_secs(300);
    /// Default `timeouts.heartbeat`.
    pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default deactivation budget (`timeouts.deactivation`): Kubernetes' default pod grace
    /// period (30s) twice over, for pods that take all of it plus the steps around them.
    pub const DEACTIVATION: Duration = Duration::from_secs(60);
    /// Default `heartbeatInterval`.
    /// (15s: the protocol requires `timeouts.heartbeat >= 4 * heartbeatInterval`.)
    pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            transitory_state: defaults::TRANSITORY_STATE.into(),
            unhealthy_primary: defaults::UNHEALTHY_PRIMARY.into(),
            heartbeat: defaults::HEARTBEAT_TIMEOUT.into(),
            deactivation: defaults::DEACTIVATION.into(),
        }
    }
}

/// Reference to the last failover of a group (`lastFailover`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FailoverRef {
    /// Name of the Failover resource (or the generated name of an automatic one).
    pub name: String,
    /// Namespace of the Failover resource.
    pub namespace: String,
    /// When the failover happened.
    pub timestamp: DateTime<Utc>,
}

/// The CONFIG record: who owns the group, and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupConfig {
    /// Operator instance that manages the group.
    #[serde(rename = "operatorID")]
    pub operator_id: String,
    /// The group.
    pub group: GroupId,
    /// The cluster that is PRIMARY.
    pub owner_cluster: String,
    /// The cluster that was PRIMARY before the last ownership change.
    pub previous_owner: Option<String>,
    /// Compare-and-set counter; grows by one with every change.
    pub version: u64,
    /// Timeouts for automatic failover and stuck transitions.
    pub timeouts: Timeouts,
    /// How often each cluster writes its heartbeat.
    pub heartbeat_interval: GoDuration,
    /// When the record last changed.
    pub last_updated: Option<DateTime<Utc>>,
    /// The last failover.
    pub last_failover: Option<FailoverRef>,
    /// Automatic failovers are off while this is true.
    pub suspended: bool,
    /// Why automatic failovers are off.
    pub suspension_reason: Option<String>,
    /// CONFIG version of the last ownership grant (extension attribute `ownerEpoch`; 0 when never
    /// granted by this tool). Only grows.
    pub epoch: u64,
    /// The transition in flight, if any (extension attribute `transitionInFlight`).
    pub transition: Option<Transition>,
    /// Whether the owner fences itself when it cannot reach the table (extension attribute
    /// `selfFencing`; true when absent). Stored so that every cluster applies the same rule: a
    /// standby taking over after silence relies on the owner having fenced.
    pub self_fencing: bool,
    /// The safety settings a change replaced, kept until the owner has read the new ones
    /// (extension attribute `supersededSettings`): until then a takeover waits for the longer
    /// of both windows, because a cut-off owner may still be serving under the old one.
    pub superseded: Option<SafetySettings>,
    /// Per cluster, the FailoverGroup settings it last brought into this CONFIG or accepted
    /// (extension attribute `appliedSpecs`, `SafetySettings::spec_text`): a cluster pushes its
    /// spec only when it changed since, so clusters whose specs differ do not undo each other.
    pub applied_specs: BTreeMap<String, String>,
}

impl GroupConfig {
    /// A fresh CONFIG owned by `owner`, with default timeouts, at version 1.
    pub fn new(operator_id: &str, group: GroupId, owner: &str, now: DateTime<Utc>) -> Self {
        GroupConfig {
            operator_id: operator_id.to_string(),
            group,
            owner_cluster: owner.to_string(),
            previous_owner: None,
            version: 1,
            self_fencing: true,
            timeouts: Timeouts::default(),
            heartbeat_interval: defaults::HEARTBEAT_INTERVAL.into(),
            last_updated: Some(now),
            last_failover: None,
            suspended: false,
            suspension_reason: None,
            epoch: 1,
            transition: None,
            superseded: None,
            applied_specs: BTreeMap::new(),
        }
    }

    /// The settings the fencing arithmetic uses, as this CONFIG states them.
    pub fn safety(&self) -> SafetySettings {
        SafetySettings {
            heartbeat_interval: self.heartbeat_interval,
            heartbeat: self.timeouts.heartbeat,
            deactivation: self.timeouts.deactivation,
            self_fencing: self.self_fencing,
        }
    }

    /// Whether every owner can be relied on to fence itself: the current setting and, until the
    /// owner has read it, the one it replaced.
    pub fn fencing_assured(&self) -> bool {
        self.self_fencing && self.superseded.as_ref().is_none_or(|s| s.self_fencing)
    }
}

/// How a transition trades availability against consistency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FailoverMode {
    /// Data first: the source stops completely before the target starts.
    Consistency,
    /// Availability first: the target starts before the source stops.
    Uptime,
}

wire_enum!(FailoverMode { Consistency => "CONSISTENCY", Uptime => "UPTIME" });

/// Where a transition is. Each phase is written to CONFIG before anyone acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Phase {
    /// Asked for; the target has not taken the lock yet.
    Requested,
    /// The source deactivates and then acknowledges.
    SourceDeactivating,
    /// The target activates.
    TargetActivating,
}

wire_enum!(Phase {
    Requested => "REQUESTED",
    SourceDeactivating => "SOURCE_DEACTIVATING",
    TargetActivating => "TARGET_ACTIVATING",
});

/// A transition in flight, stored in CONFIG under `transitionInFlight`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// Unique id; also the history record's `failoverName`.
    pub id: String,
    /// Owner when the transition was requested.
    pub source: String,
    /// Cluster that is to become the owner.
    pub target: String,
    /// CONSISTENCY or UPTIME.
    pub mode: FailoverMode,
    /// Do not wait for the source's acknowledgement (once its heartbeat has lapsed).
    pub force: bool,
    /// Started by an agent that found the owner dead or failing, not by a person.
    pub automatic: bool,
    /// Why, shown in history.
    pub reason: String,
    /// Who asked (a user, a Failover resource, or the detecting cluster).
    pub initiator: String,
    /// Where it is.
    pub phase: Phase,
    /// When it was requested; the history record's `startTime` and sort key.
    pub requested_at: DateTime<Utc>,
    /// When the source reported its network off (source's clock; for the downtime shown).
    pub source_stopped_at: Option<DateTime<Utc>>,
    /// A rehearsal started by `kubectl failover drill` (extension key `drill` of the map; false
    /// when absent). It runs exactly like any planned failover; the mark only travels into the
    /// HISTORY record so that drills can be told apart from real moves.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drill: bool,
}

/// A cluster's acknowledgement that it finished its part of a transition (deactivation),
/// carried in its `CLUSTER#` record under `transitionAck`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionAck {
    /// The transition's id.
    pub id: String,
    /// When its network went off (its own clock; display only).
    pub at: DateTime<Utc>,
}

/// Health of one component of a cluster, as kept in the `components` JSON string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ComponentStatus {
    /// OK, DEGRADED or ERROR.
    pub health: Health,
    /// Details, empty when healthy.
    #[serde(default)]
    pub message: String,
}

/// A `CLUSTER#` record: one cluster's heartbeat and health for one group.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// The cluster.
    pub cluster_name: String,
    /// Its overall health.
    pub health: Health,
    /// Its role as it sees it.
    pub state: ClusterState,
    /// When it last wrote this record (its own clock: for display only).
    pub last_heartbeat: Option<DateTime<Utc>>,
    /// Grows with every heartbeat; observers judge liveness by its change (extension attribute
    /// `heartbeatSeq`; absent when written by a tool that does not keep one).
    pub heartbeat_seq: Option<u64>,
    /// Per-component health, by component name.
    pub components: BTreeMap<String, ComponentStatus>,
    /// The transition whose deactivation this cluster has finished (extension `transitionAck`).
    pub ack: Option<TransitionAck>,
    /// True while the cluster owns the group but has fenced itself (extension `fenced`).
    pub fenced: bool,
}

/// Everything needed to decide about a group, read in one consistent pass (history excluded).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSnapshot {
    /// The CONFIG record.
    pub config: GroupConfig,
    /// Every cluster's heartbeat record, sorted by cluster name.
    pub clusters: Vec<ClusterStatus>,
    /// The lock, if one is held (possibly with a lapsed lease).
    pub lock: Option<Lock>,
}

/// One cluster's record found through GSI1 `CLUSTER#{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterMembership {
    /// The group the cluster takes part in.
    pub group: GroupId,
    /// The cluster's record in that group.
    pub status: ClusterStatus,
}

/// A listing that skipped records it could not read, so one bad item does not hide the rest.
#[derive(Debug, Clone, Default)]
pub struct Listing<T> {
    /// The records that were read.
    pub items: Vec<T>,
    /// One message per record that could not be read, naming the item and the attribute.
    pub skipped: Vec<String>,
}
