//! The DynamoDB backend of the coordination store: one table, laid out as
//! `spec/dynamodb-integration.md` says (see `schema`), every race settled by a conditional write.
//!
//! Files: `schema` (key formats, attribute names), `attrs` + `codec` (records <-> items), `expr`
//! (expression placeholders), `errors` (SDK errors -> `StoreError`), `client` (building the SDK
//! client), `reads` (group load, listings, history), `writes` (CONFIG, heartbeats, history),
//! `lease` (the LOCK), `flip` (the ownership flip), `setup` (creating the table).

pub mod attrs;
pub mod client;
pub mod codec;
pub mod errors;
mod expr;
mod flip;
mod lease;
mod reads;
pub mod schema;
pub mod setup;
mod writes;

use crate::store::*;
use aws_sdk_dynamodb::Client;
use errors::ErrorContext;
use std::sync::Mutex;

/// What the last `load_group` cost, as DynamoDB reported it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoadCost {
    /// Requests sent (a Query page or a GetItem each).
    pub requests: u32,
    /// Read capacity units consumed, summed over the requests (`ConsumedCapacity`); 0 when the
    /// server did not report it.
    pub read_capacity_units: f64,
    /// Items DynamoDB read to answer (the Query's `ScannedCount` plus the lock if present):
    /// proof that history was not read.
    pub items_read: u32,
}

/// The DynamoDB-backed coordination store.
#[derive(Debug)]
pub struct DynamoStore {
    client: Client,
    ctx: ErrorContext,
    last_load_cost: Mutex<LoadCost>,
}

impl DynamoStore {
    /// A store on `table` through an existing client; `region` and `endpoint_label` only appear
    /// in messages.
    pub fn from_client(client: Client, table: &str, region: &str, endpoint_label: &str) -> Self {
        // The SDK's default when a client was built without a retry config is one attempt.
        let max_attempts = client
            .config()
            .retry_config()
            .map(|r| r.max_attempts())
            .unwrap_or(1);
        DynamoStore {
            client,
            ctx: ErrorContext {
                table: table.to_string(),
                region: region.to_string(),
                endpoint: endpoint_label.to_string(),
                max_attempts,
            },
            last_load_cost: Mutex::new(LoadCost::default()),
        }
    }

    /// The SDK client (for table setup and diagnostics).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.ctx.table
    }

    /// What the most recent `load_group` of this store cost.
    pub fn last_load_cost(&self) -> LoadCost {
        // A poisoned mutex still holds a whole `LoadCost` (it is `Copy`, written in one go).
        *self
            .last_load_cost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn record_load_cost(&self, cost: LoadCost) {
        *self
            .last_load_cost
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = cost;
    }
}

#[async_trait]
impl CoordinationStore for DynamoStore {
    fn describe(&self) -> String {
        format!(
            "DynamoDB table {:?} in {} ({})",
            self.ctx.table, self.ctx.region, self.ctx.endpoint
        )
    }

    async fn load_group_with(
        &self,
        operator_id: &str,
        group: &GroupId,
        include_lock: bool,
    ) -> Result<Option<GroupSnapshot>, StoreError> {
        self.load(operator_id, group, include_lock).await
    }

    async fn list_groups(&self, operator_id: &str) -> Result<Listing<GroupConfig>, StoreError> {
        self.list_operator_groups(operator_id).await
    }

    async fn list_cluster_groups(
        &self,
        operator_id: &str,
        cluster: &str,
    ) -> Result<Listing<ClusterMembership>, StoreError> {
        self.list_memberships(operator_id, cluster).await
    }

    async fn create_config(&self, config: &GroupConfig) -> Result<CreateOutcome, StoreError> {
        self.create(config).await
    }

    async fn update_config(
        &self,
        expected_version: u64,
        config: &GroupConfig,
    ) -> Result<CasOutcome, StoreError> {
        self.update(expected_version, config).await
    }

    async fn put_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        status: &ClusterStatus,
    ) -> Result<(), StoreError> {
        self.put_status(operator_id, group, status).await
    }

    async fn delete_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        cluster: &str,
    ) -> Result<(), StoreError> {
        self.delete_status(operator_id, group, cluster).await
    }

    async fn acquire_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        self.acquire(operator_id, group, request).await
    }

    async fn take_over_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        observed: &Lock,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        self.take_over(operator_id, group, observed, request).await
    }

    async fn renew_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
        lease: std::time::Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<LeaseOutcome, StoreError> {
        self.renew(operator_id, group, lease_token, lease, now)
            .await
    }

    async fn release_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
    ) -> Result<LeaseOutcome, StoreError> {
        self.release(operator_id, group, lease_token).await
    }

    async fn append_history(
        &self,
        operator_id: &str,
        group: &GroupId,
        record: &HistoryRecord,
    ) -> Result<AppendOutcome, StoreError> {
        self.append(operator_id, group, record).await
    }

    async fn history(
        &self,
        operator_id: &str,
        group: &GroupId,
        limit: usize,
        page: Option<&str>,
    ) -> Result<HistoryPage, StoreError> {
        self.history_page(operator_id, group, limit, page).await
    }

    async fn flip_ownership(&self, request: &FlipRequest) -> Result<FlipOutcome, StoreError> {
        self.flip(request).await
    }
}
