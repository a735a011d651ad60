//! A store decorator that counts requests at the store boundary and can cut its user off from the
//! store (a network partition), for the demo, the multi-cluster tests and the benchmarks.

use super::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Requests made through an [`InstrumentedStore`], by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Strongly consistent reads (a group's CONFIG and CLUSTER# records count one; its LOCK one
    /// more) and history pages.
    pub reads: u64,
    /// GSI1 listings (eventually consistent).
    pub listings: u64,
    /// Writes, a transaction counting one.
    pub writes: u64,
    /// Requests refused because the store was cut off.
    pub refused: u64,
    /// Per operation name.
    pub by_operation: BTreeMap<&'static str, u64>,
}

/// Wraps a store; every call is counted, and while partitioned every call fails as unreachable.
#[derive(Debug)]
pub struct InstrumentedStore {
    inner: Arc<dyn CoordinationStore>,
    label: String,
    partitioned: AtomicBool,
    hanging: AtomicBool,
    delays: Mutex<HashMap<&'static str, std::time::Duration>>,
    replies_lost: Mutex<HashMap<&'static str, ReplyLoss>>,
    counts: Mutex<RequestCounts>,
    beats: Mutex<Option<HeartbeatGaps>>,
}

/// How the answer of a call that was applied fails to reach its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyLoss {
    /// The caller gets a timeout error at once.
    TimedOut,
    /// The caller gets nothing: the call waits until the caller's own deadline drops it.
    Never,
}

/// Per group, when its last heartbeat was written, and the gaps between successive ones: how
/// regularly each agent ticks (the scale benchmark's tick lateness).
#[derive(Debug, Default)]
struct HeartbeatGaps {
    last: HashMap<GroupId, std::time::Instant>,
    gaps: Vec<std::time::Duration>,
}

impl std::fmt::Debug for dyn CoordinationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Read(u64),
    Listing,
    Write,
}

impl InstrumentedStore {
    /// Wraps `inner`; `label` names the user in errors ("cluster-a").
    pub fn new(inner: Arc<dyn CoordinationStore>, label: &str) -> Self {
        InstrumentedStore {
            inner,
            label: label.to_string(),
            partitioned: AtomicBool::new(false),
            hanging: AtomicBool::new(false),
            delays: Mutex::new(HashMap::new()),
            replies_lost: Mutex::new(Default::default()),
            counts: Mutex::new(RequestCounts::default()),
            beats: Mutex::new(None),
        }
    }

    /// From now on, notes the gap between successive heartbeats of each group (forgetting the
    /// gaps noted so far).
    pub fn track_heartbeat_gaps(&self) {
        *self.beats.lock().unwrap_or_else(|p| p.into_inner()) = Some(HeartbeatGaps::default());
    }

    /// The gaps between successive heartbeat writes of each group since
    /// [`InstrumentedStore::track_heartbeat_gaps`], in the order they were noted.
    pub fn heartbeat_gaps(&self) -> Vec<std::time::Duration> {
        self.beats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|b| b.gaps.clone())
            .unwrap_or_default()
    }

    /// Cuts the user off from the store (`true`) or reconnects it (`false`).
    pub fn set_partitioned(&self, partitioned: bool) {
        self.partitioned.store(partitioned, Ordering::SeqCst);
    }

    /// Makes every call from now on wait forever (`true`), as a store that accepts requests
    /// and never answers; `false` lets new calls through again.
    pub fn set_hanging(&self, hanging: bool) {
        self.hanging.store(hanging, Ordering::SeqCst);
    }

    /// Makes every later call of `operation` (e.g. `"list_groups"`) answer only after `delay`, as
    /// a slow or throttled store; `None` removes the delay.
    pub fn set_delay(&self, operation: &'static str, delay: Option<std::time::Duration>) {
        let mut delays = self.delays.lock().unwrap_or_else(|p| p.into_inner());
        match delay {
            Some(d) => delays.insert(operation, d),
            None => delays.remove(operation),
        };
    }

    /// Makes every later call of `operation` reach the table and be applied there, but its
    /// answer never reach the user, as `loss` says (`None`: answers arrive again): a write that
    /// landed without its caller knowing. Applies to `"flip_ownership"`.
    pub fn set_reply_loss(&self, operation: &'static str, loss: Option<ReplyLoss>) {
        let mut map = self.replies_lost.lock().unwrap_or_else(|p| p.into_inner());
        match loss {
            Some(loss) => map.insert(operation, loss),
            None => map.remove(operation),
        };
    }

    /// `result` as the user sees it: a timeout if the replies of `operation` are lost.
    async fn reply<T>(
        &self,
        operation: &'static str,
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let loss = self
            .replies_lost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(operation)
            .copied();
        match loss {
            None => return result,
            // Only the caller's own deadline ends the call.
            Some(ReplyLoss::Never) => std::future::pending::<()>().await,
            Some(ReplyLoss::TimedOut) => {}
        }
        Err(StoreError::Unavailable {
            operation,
            table: self.inner.describe(),
            endpoint: format!("(reply loss injected for {})", self.label),
            message: "the request was sent and no answer came back in time".to_string(),
        })
    }

    /// Whether the user is cut off.
    pub fn is_partitioned(&self) -> bool {
        self.partitioned.load(Ordering::SeqCst)
    }

    /// The counts so far.
    pub fn counts(&self) -> RequestCounts {
        self.lock_counts().clone()
    }

    /// Sets every count back to zero.
    pub fn reset_counts(&self) {
        *self.lock_counts() = RequestCounts::default();
    }

    fn lock_counts(&self) -> std::sync::MutexGuard<'_, RequestCounts> {
        // Counters are plain integers updated in one statement: still whole after a panic.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn admit(&self, operation: &'static str, kind: Kind) -> Result<(), StoreError> {
        if self.hanging.load(Ordering::SeqCst) {
            // A store that accepted the connection and never answers: only the caller's own
            // deadline ends the call.
            std::future::pending::<()>().await;
        }
        let delay = self
            .delays
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(operation)
            .copied();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let mut c = self.lock_counts();
        if self.is_partitioned() {
            c.refused += 1;
            return Err(StoreError::Unavailable {
                operation,
                table: self.inner.describe(),
                endpoint: format!("(partition injected for {})", self.label),
                message: "cut off from the store".to_string(),
            });
        }
        match kind {
            Kind::Read(n) => c.reads += n,
            Kind::Listing => c.listings += 1,
            Kind::Write => c.writes += 1,
        }
        *c.by_operation.entry(operation).or_default() += 1;
        Ok(())
    }
}

#[async_trait]
impl CoordinationStore for InstrumentedStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn load_group_with(
        &self,
        operator_id: &str,
        group: &GroupId,
        include_lock: bool,
    ) -> Result<Option<GroupSnapshot>, StoreError> {
        let requests = if include_lock { 2 } else { 1 };
        self.admit("load_group", Kind::Read(requests)).await?;
        self.inner
            .load_group_with(operator_id, group, include_lock)
            .await
    }

    async fn list_groups(&self, operator_id: &str) -> Result<Listing<GroupConfig>, StoreError> {
        self.admit("list_groups", Kind::Listing).await?;
        self.inner.list_groups(operator_id).await
    }

    async fn list_cluster_groups(
        &self,
        operator_id: &str,
        cluster: &str,
    ) -> Result<Listing<ClusterMembership>, StoreError> {
        self.admit("list_cluster_groups", Kind::Listing).await?;
        self.inner.list_cluster_groups(operator_id, cluster).await
    }

    async fn create_config(&self, config: &GroupConfig) -> Result<CreateOutcome, StoreError> {
        self.admit("create_config", Kind::Write).await?;
        self.inner.create_config(config).await
    }

    async fn update_config(
        &self,
        expected_version: u64,
        config: &GroupConfig,
    ) -> Result<CasOutcome, StoreError> {
        self.admit("update_config", Kind::Write).await?;
        self.inner.update_config(expected_version, config).await
    }

    async fn put_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        status: &ClusterStatus,
    ) -> Result<(), StoreError> {
        self.admit("put_cluster_status", Kind::Write).await?;
        if let Some(beats) = self
            .beats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            let now = std::time::Instant::now();
            if let Some(last) = beats.last.insert(group.clone(), now) {
                beats.gaps.push(now - last);
            }
        }
        self.inner
            .put_cluster_status(operator_id, group, status)
            .await
    }

    async fn delete_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        cluster: &str,
    ) -> Result<(), StoreError> {
        self.admit("delete_cluster_status", Kind::Write).await?;
        self.inner
            .delete_cluster_status(operator_id, group, cluster)
            .await
    }

    async fn acquire_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        self.admit("acquire_lock", Kind::Write).await?;
        self.inner.acquire_lock(operator_id, group, request).await
    }

    async fn take_over_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        observed: &Lock,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        self.admit("take_over_lock", Kind::Write).await?;
        self.inner
            .take_over_lock(operator_id, group, observed, request)
            .await
    }

    async fn renew_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
        lease: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseOutcome, StoreError> {
        self.admit("renew_lock", Kind::Write).await?;
        self.inner
            .renew_lock(operator_id, group, lease_token, lease, now)
            .await
    }

    async fn release_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
    ) -> Result<LeaseOutcome, StoreError> {
        self.admit("release_lock", Kind::Write).await?;
        self.inner
            .release_lock(operator_id, group, lease_token)
            .await
    }

    async fn append_history(
        &self,
        operator_id: &str,
        group: &GroupId,
        record: &HistoryRecord,
    ) -> Result<AppendOutcome, StoreError> {
        self.admit("append_history", Kind::Write).await?;
        self.inner.append_history(operator_id, group, record).await
    }

    async fn history(
        &self,
        operator_id: &str,
        group: &GroupId,
        limit: usize,
        page: Option<&str>,
    ) -> Result<HistoryPage, StoreError> {
        self.admit("history", Kind::Read(1)).await?;
        self.inner.history(operator_id, group, limit, page).await
    }

    async fn flip_ownership(&self, request: &FlipRequest) -> Result<FlipOutcome, StoreError> {
        self.admit("flip_ownership", Kind::Write).await?;
        let result = self.inner.flip_ownership(request).await;
        self.reply("flip_ownership", result).await
    }
}

#[cfg(test)]
#[path = "instrumented/tests.rs"]
mod tests;
