//! The coordination store: the one table every cluster reads and writes through conditional
//! operations. `CoordinationStore` is the contract; `memory` and `dynamodb` implement it and the
//! shared suite in `tests/store_contract.rs` holds both to the same behaviour.
//!
//! Every write that can lose a race returns a typed outcome (`Applied`/`Conflict`, `Acquired`/
//! `Held`, ...) instead of an error: a lost race is normal, and the caller decides what it means.

pub mod budget;
pub mod dynamodb;
pub mod instrumented;
pub mod memory;
pub mod model;
pub mod safety;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
pub use model::*;
pub use safety::SafetySettings;

/// Errors from the store that are not lost races: the store could not answer, or what it holds
/// cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The table does not exist.
    #[error(
        "DynamoDB table {table:?} does not exist in region {region}; create it with: kubectl failover setup-dynamodb --table-name {table} --region {region}"
    )]
    TableNotFound {
        /// Table name.
        table: String,
        /// Region that was asked.
        region: String,
    },
    /// The credentials were refused or lack a permission.
    #[error(
        "DynamoDB refused {operation} on table {table:?}: {message}; check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, or the pod's IRSA role) and that the IAM policy in deploy/iam-policy.json is attached"
    )]
    AccessDenied {
        /// The DynamoDB operation.
        operation: &'static str,
        /// Table name.
        table: String,
        /// What DynamoDB said.
        message: String,
    },
    /// Throttled even after retrying.
    #[error(
        "DynamoDB throttled {operation} on table {table:?} after {attempts} attempts; retry later, or raise the table's capacity (or use --pay-per-request)"
    )]
    Throttled {
        /// The DynamoDB operation.
        operation: &'static str,
        /// Table name.
        table: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The endpoint could not be reached or answered with a server error after retrying.
    #[error(
        "DynamoDB is unreachable for {operation} on table {table:?} at {endpoint}: {message}; check the network, AWS_REGION and AWS_ENDPOINT"
    )]
    Unavailable {
        /// The DynamoDB operation.
        operation: &'static str,
        /// Table name.
        table: String,
        /// Endpoint (or region) that was tried.
        endpoint: String,
        /// The underlying cause.
        message: String,
    },
    /// A record does not have the shape the table's contract gives it.
    #[error(
        "record {item} in table {table:?} has a bad attribute {attribute:?}: {problem}; fix or delete that item"
    )]
    Malformed {
        /// Table name.
        table: String,
        /// The item, as `PK / SK`.
        item: String,
        /// The attribute at fault.
        attribute: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The table does not have the keys or the index this tool queries (a table made by hand, or
    /// another tool's table under this name).
    #[error(
        "DynamoDB table {table:?} does not have the layout kubectl-failover needs ({operation}: {message}); compare it with the spec's (PK and SK strings, index GSI1 on GSI1PK/GSI1SK) with: kubectl failover setup-dynamodb --check --table-name {table}, or point --table-name (DYNAMODB_TABLE_NAME) at the right table"
    )]
    WrongShape {
        /// The DynamoDB operation.
        operation: &'static str,
        /// Table name.
        table: String,
        /// What DynamoDB said.
        message: String,
    },
    /// A write would make an item larger than DynamoDB's item size limit (another tool stored
    /// large attributes in a record this tool updates).
    #[error(
        "DynamoDB refused {operation} on table {table:?}: the record would exceed DynamoDB's 400 KB item size limit ({message}); another tool has stored large attributes in this group's records: remove the attributes kubectl-failover does not use (docs/dynamodb-table.md lists its own), then retry"
    )]
    TooLarge {
        /// The DynamoDB operation.
        operation: &'static str,
        /// Table name.
        table: String,
        /// What DynamoDB said.
        message: String,
    },
    /// The request itself was refused as invalid (a bug, or input this tool failed to check).
    #[error("DynamoDB rejected {operation} on table {table:?}: {message}")]
    Rejected {
        /// The DynamoDB operation.
        operation: &'static str,
        /// Table name.
        table: String,
        /// What DynamoDB said.
        message: String,
    },
    /// Not sent: the controller replica that asked no longer leads its cluster.
    #[error(
        "{operation} was not sent: this controller replica no longer holds the leader Lease {lease} (not renewed within the renew deadline, or taken by another replica), so only the current leader writes for this cluster; it resumes if this replica leads again"
    )]
    NotLeading {
        /// The DynamoDB operation.
        operation: &'static str,
        /// The leader Lease, `namespace/name`.
        lease: String,
    },
}

/// Result of creating a group's CONFIG when absent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum CreateOutcome {
    /// The record was written.
    Created(GroupConfig),
    /// A CONFIG already existed; it is returned unchanged.
    AlreadyExists(GroupConfig),
}

/// Result of a compare-and-set on CONFIG.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum CasOutcome {
    /// The write happened; the new record (with its new version) is returned.
    Applied(GroupConfig),
    /// Someone changed the record first (or it is gone): re-read and decide again.
    Conflict {
        /// The record as it is now, when it still exists.
        current: Option<GroupConfig>,
    },
}

/// Result of taking a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum LockOutcome {
    /// The caller holds the lock now.
    Acquired(Lock),
    /// Someone else holds it (possibly with a lapsed lease; use `take_over_lock` after observing
    /// it unchanged for the lease duration).
    Held(Lock),
}

/// Result of renewing or releasing a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum LeaseOutcome {
    /// Done; for a renewal, the renewed lock.
    Done(Option<Lock>),
    /// The caller's token no longer matches: the lock was taken over or released.
    NotHeld {
        /// The lock as it is now, if any.
        current: Option<Lock>,
    },
}

/// Result of appending a history record.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum AppendOutcome {
    /// The record was written.
    Appended,
    /// A record with the same sort key (same millisecond) exists; nothing was overwritten.
    AlreadyExists,
}

/// Everything that must hold for a guarded CONFIG write (the ownership flip, or the write that
/// ends a transition), and what it writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlipRequest {
    /// CONFIG version the caller read; the flip fails if it changed.
    pub expected_version: u64,
    /// Lease token of the lock the caller holds; the flip fails if the lock is not that one.
    pub lease_token: String,
    /// The CONFIG to write (its `version` is set by the store to `expected_version + 1`).
    pub new_config: GroupConfig,
    /// The history record to append in the same transaction: present when the write ends a
    /// transition, absent for the ownership flip in its middle.
    pub history: Option<HistoryRecord>,
}

/// Which conditions of an ownership flip failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlipConflict {
    /// CONFIG changed (or vanished) since it was read.
    pub version_changed: bool,
    /// The lock is gone or held under another token.
    pub lock_lost: bool,
    /// A history record with the same sort key exists.
    pub history_exists: bool,
}

/// Result of an ownership flip.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum FlipOutcome {
    /// All three writes happened atomically; the new CONFIG is returned.
    Committed(Box<GroupConfig>),
    /// Nothing was written.
    Cancelled(FlipConflict),
}

/// The coordination store. Every method is one logical operation on one group (or one GSI1
/// listing); times are passed in by the caller so that no backend reads a clock.
#[async_trait]
pub trait CoordinationStore: Send + Sync {
    /// A short description of where the data lives, for messages (`dynamodb table X in R`).
    fn describe(&self) -> String;

    /// Reads CONFIG and every `CLUSTER#` record (one request) and, with `include_lock`, the LOCK
    /// (a second one), all strongly consistent, never history. `None` when the group has no
    /// CONFIG. Without `include_lock` the snapshot's `lock` is `None` whatever is stored.
    async fn load_group_with(
        &self,
        operator_id: &str,
        group: &GroupId,
        include_lock: bool,
    ) -> Result<Option<GroupSnapshot>, StoreError>;

    /// Reads CONFIG, every `CLUSTER#` record and the LOCK with strong consistency, without reading
    /// history. `None` when the group has no CONFIG.
    async fn load_group(
        &self,
        operator_id: &str,
        group: &GroupId,
    ) -> Result<Option<GroupSnapshot>, StoreError> {
        self.load_group_with(operator_id, group, true).await
    }

    /// Every group of an operator (GSI1 `OPERATOR#{id}`; eventually consistent), sorted.
    async fn list_groups(&self, operator_id: &str) -> Result<Listing<GroupConfig>, StoreError>;

    /// Every group a cluster takes part in (GSI1 `CLUSTER#{name}`), for this operator only.
    async fn list_cluster_groups(
        &self,
        operator_id: &str,
        cluster: &str,
    ) -> Result<Listing<ClusterMembership>, StoreError>;

    /// Writes a group's CONFIG unless one exists.
    async fn create_config(&self, config: &GroupConfig) -> Result<CreateOutcome, StoreError>;

    /// Replaces the CONFIG attributes this tool owns if the stored version is `expected_version`;
    /// the stored version becomes `expected_version + 1`. Attributes it does not know are kept.
    async fn update_config(
        &self,
        expected_version: u64,
        config: &GroupConfig,
    ) -> Result<CasOutcome, StoreError>;

    /// Writes (creates or refreshes) a cluster's heartbeat record for a group.
    async fn put_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        status: &ClusterStatus,
    ) -> Result<(), StoreError>;

    /// Deletes a cluster's record from a group (the cluster leaves it).
    async fn delete_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        cluster: &str,
    ) -> Result<(), StoreError>;

    /// Takes the lock if nobody holds it, with a fresh random lease token.
    async fn acquire_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError>;

    /// Takes over a lock whose holder is presumed dead, only if it is still exactly `observed`
    /// (same token, same expiry: not renewed since it was observed), or takes it if it is free.
    async fn take_over_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        observed: &Lock,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError>;

    /// Extends the lease of a lock the caller holds under `lease_token`.
    async fn renew_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
        lease: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseOutcome, StoreError>;

    /// Deletes the lock if the caller holds it under `lease_token`.
    async fn release_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
    ) -> Result<LeaseOutcome, StoreError>;

    /// Appends a history record; never overwrites one.
    async fn append_history(
        &self,
        operator_id: &str,
        group: &GroupId,
        record: &HistoryRecord,
    ) -> Result<AppendOutcome, StoreError>;

    /// Reads history newest first, `limit` records per page, from `page` (a previous `next_page`).
    async fn history(
        &self,
        operator_id: &str,
        group: &GroupId,
        limit: usize,
        page: Option<&str>,
    ) -> Result<HistoryPage, StoreError>;

    /// The ownership flip (and the end of a transition) as one atomic write: CONFIG
    /// compare-and-set on version, lock token check, and the history append when given. Either
    /// all happen or none.
    async fn flip_ownership(&self, request: &FlipRequest) -> Result<FlipOutcome, StoreError>;
}

/// `now + lease`, capped at the end of year 9999 (the last instant RFC 3339 can spell) instead of
/// overflowing for an absurd lease; both backends use it so they agree to the millisecond.
pub fn lease_until(now: DateTime<Utc>, lease: std::time::Duration) -> DateTime<Utc> {
    let latest = DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
    chrono::Duration::from_std(lease)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .map_or(latest, |t| t.min(latest))
}

/// A new random lease token.
pub fn new_lease_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The history sort-key timestamp: RFC 3339 UTC with milliseconds, so keys sort by time.
pub fn history_timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
