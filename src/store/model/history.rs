//! `HISTORY#` records: one per transition, written once, and the pages they are read in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Outcome of a finished, failed or rolled-back transition, stored in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HistoryStatus {
    /// Ownership moved and the target serves.
    Success,
    /// The transition failed.
    Failed,
    /// The transition was undone before ownership moved.
    RolledBack,
    /// The transition was completed without the source's acknowledgement.
    ForcedComplete,
}

wire_enum!(HistoryStatus {
    Success => "SUCCESS",
    Failed => "FAILED",
    RolledBack => "ROLLED_BACK",
    ForcedComplete => "FORCED_COMPLETE",
});

/// A `HISTORY#` record: one transition, written once and never changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRecord {
    /// Name of the Failover resource, or a generated name for automatic and CLI failovers.
    pub failover_name: String,
    /// Cluster that was PRIMARY before.
    pub source_cluster: String,
    /// Cluster that was to become PRIMARY.
    pub target_cluster: String,
    /// When the transition started; also the record's sort key (with milliseconds).
    pub start_time: DateTime<Utc>,
    /// When it ended.
    pub end_time: Option<DateTime<Utc>>,
    /// How it ended. Kept as text when another tool wrote a value this tool does not know.
    pub status: String,
    /// Why it happened.
    pub reason: String,
    /// Seconds the application was not served.
    pub downtime: Option<u64>,
    /// Seconds the whole transition took.
    pub duration: Option<u64>,
    /// CONSISTENCY or UPTIME (extension attribute `mode`).
    pub mode: Option<String>,
    /// True when the controller started it on its own (extension attribute `automatic`).
    pub automatic: Option<bool>,
    /// Who asked for it (extension attribute `initiator`).
    pub initiator: Option<String>,
    /// A rehearsal by `kubectl failover drill`, copied from the transition (extension attribute
    /// `drill`, BOOL; false when absent).
    #[serde(default)]
    pub drill: bool,
}

/// A page of history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryPage {
    /// The records on this page, newest first.
    pub records: Vec<HistoryRecord>,
    /// Pass this back to get the next (older) page; `None` on the last page.
    pub next_page: Option<String>,
}
