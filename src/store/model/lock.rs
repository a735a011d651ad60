//! The LOCK record and what a caller asks for when taking or renewing it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The LOCK record: who drives a transition of the group, until when.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lock {
    /// Cluster (agent) holding the lock.
    pub locked_by: String,
    /// Why it was taken.
    pub lock_reason: String,
    /// When it was first taken.
    pub acquired_at: Option<DateTime<Utc>>,
    /// When the lease runs out unless renewed (holder's clock).
    pub expires_at: DateTime<Utc>,
    /// Random token that proves ownership of this lease.
    pub lease_token: String,
}

/// What a caller asks for when taking or renewing a lock.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockRequest {
    /// The cluster (agent) that wants the lock.
    pub holder: String,
    /// Why, shown to people.
    pub reason: String,
    /// How long the lease lasts from `now`.
    pub lease: Duration,
    /// The caller's current time.
    pub now: DateTime<Utc>,
}
