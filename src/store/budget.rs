//! `BudgetedStore`: the controller's request budget. Every call that makes requests first holds
//! one of `max_in_flight` permits for its whole duration (no stampede of hundreds of groups
//! hitting the table at once), then takes its requests from a token bucket refilled at
//! `max_per_second` (a ceiling the table's capacity can be sized for).
//!
//! The wrapper only delays: a call is sent whole, unchanged, exactly once, and one caller's
//! calls (each awaited before the next) keep their order. Permits are handed out first come,
//! first served and the bucket queues takers behind its debt, so no caller is starved. A
//! delay is never silent: every wait, even one its caller gave up on, is reported to a
//! [`BudgetObserver`] (the controller's metrics) and long ones are logged, because a heartbeat
//! that waits here is a late heartbeat (the agent's own bound on the call counts the wait, so a
//! heartbeat that waited too long fails as a store error the agent sees).
//!
//! The permit is taken before the tokens, and held while waiting for them, so requests leave at
//! the bucket's pace even after a slow spell: were tokens taken first, requests holding tokens
//! would pile up behind busy permits and all go out at once when the store answers again.

mod bucket;

pub use bucket::TokenBucket;

use super::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The default of `--store-max-in-flight`.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 64;
/// A call that waited this long for the budget is logged as a warning.
const LONG_WAIT: Duration = Duration::from_secs(1);
/// At most one such warning per this interval: the metrics carry every wait.
const WARN_EVERY: Duration = Duration::from_secs(30);

/// Limits that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BudgetError {
    /// No call could ever be sent.
    #[error(
        "the store's in-flight limit is 0, so no request could ever be sent; set --store-max-in-flight (STORE_MAX_IN_FLIGHT) to 1 or more (default {DEFAULT_MAX_IN_FLIGHT})"
    )]
    NoneInFlight,
}

/// How many store calls may be in flight at once and how many requests may start per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    max_in_flight: u32,
    max_per_second: u32,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_per_second: 0,
        }
    }
}

impl StoreLimits {
    /// At most `max_in_flight` calls at once (at least 1) and `max_per_second` requests a second
    /// with bursts of as many (0: no ceiling).
    pub fn new(max_in_flight: u32, max_per_second: u32) -> Result<Self, BudgetError> {
        if max_in_flight == 0 {
            return Err(BudgetError::NoneInFlight);
        }
        Ok(StoreLimits {
            max_in_flight,
            max_per_second,
        })
    }

    /// Calls in flight at most.
    pub fn max_in_flight(&self) -> u32 {
        self.max_in_flight
    }

    /// Requests per second at most; `None`: no ceiling.
    pub fn max_per_second(&self) -> Option<u32> {
        (self.max_per_second > 0).then_some(self.max_per_second)
    }
}

/// What a call waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitReason {
    /// Every in-flight permit was held.
    Concurrency,
    /// The requests-per-second ceiling.
    Rate,
}

impl WaitReason {
    /// The metric label: `concurrency` or `rate`.
    pub fn label(self) -> &'static str {
        match self {
            WaitReason::Concurrency => "concurrency",
            WaitReason::Rate => "rate",
        }
    }
}

/// Told what the budget does, so that a binding budget shows (the controller's metrics).
pub trait BudgetObserver: Send + Sync {
    /// A call was sent to the store.
    fn sent(&self);
    /// A sent call ended (answered, failed, or abandoned by its caller).
    fn ended(&self);
    /// A call waited `waited` for `reason` (before it was sent, or until its caller gave up).
    fn waited(&self, reason: WaitReason, waited: Duration);
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl BudgetObserver for NoObserver {
    fn sent(&self) {}
    fn ended(&self) {}
    fn waited(&self, _: WaitReason, _: Duration) {}
}

/// Wraps a store so that its calls keep within [`StoreLimits`] (see the module doc).
pub struct BudgetedStore {
    inner: Arc<dyn CoordinationStore>,
    permits: Semaphore,
    bucket: Option<Mutex<TokenBucket>>,
    observer: Arc<dyn BudgetObserver>,
    last_warning: Mutex<Option<Instant>>,
}

/// A call admitted by the budget: holds its permit until dropped (when the call ends or its
/// caller gives up on it), and tells the observer.
struct Admitted<'a> {
    _permit: Option<tokio::sync::SemaphorePermit<'a>>,
    observer: &'a dyn BudgetObserver,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.observer.ended();
    }
}

impl BudgetedStore {
    /// Wraps `inner` within `limits`, reporting to `observer`.
    pub fn new(
        inner: Arc<dyn CoordinationStore>,
        limits: StoreLimits,
        observer: Arc<dyn BudgetObserver>,
    ) -> Self {
        // Semaphore::new panics above MAX_PERMITS (smaller than u32::MAX on 32-bit targets);
        // that many calls in flight is no limit anyway.
        let permits = usize::try_from(limits.max_in_flight)
            .unwrap_or(Semaphore::MAX_PERMITS)
            .clamp(1, Semaphore::MAX_PERMITS);
        BudgetedStore {
            inner,
            permits: Semaphore::new(permits),
            bucket: TokenBucket::new(limits.max_per_second, Instant::now()).map(Mutex::new),
            observer,
            last_warning: Mutex::new(None),
        }
    }

    /// Waits for a permit, then for `requests` tokens, reporting every wait.
    async fn admit(&self, operation: &'static str, requests: u32) -> Admitted<'_> {
        let permit = match self.permits.try_acquire() {
            Ok(permit) => Some(permit),
            Err(_) => {
                let _waiting = self.waiting(operation, WaitReason::Concurrency);
                // The semaphore is never closed, so this only fails if that changes; the call
                // then goes out without a permit rather than failing.
                self.permits.acquire().await.ok()
            }
        };
        if let Some(bucket) = &self.bucket {
            // The bucket is plain arithmetic updated in one call: still whole after a panic.
            let wait = bucket
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(requests, Instant::now());
            if !wait.is_zero() {
                let _waiting = self.waiting(operation, WaitReason::Rate);
                tokio::time::sleep(wait).await;
            }
        }
        self.observer.sent();
        Admitted {
            _permit: permit,
            observer: self.observer.as_ref(),
        }
    }

    fn waiting(&self, operation: &'static str, reason: WaitReason) -> Waiting<'_> {
        Waiting {
            store: self,
            operation,
            reason,
            since: Instant::now(),
        }
    }

    fn warn_long_wait(&self, operation: &'static str, reason: WaitReason, waited: Duration) {
        let now = Instant::now();
        // One Option replaced whole: still consistent after a panic.
        let mut last = self.last_warning.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| now.duration_since(t) < WARN_EVERY) {
            return;
        }
        *last = Some(now);
        tracing::warn!(
            operation,
            reason = reason.label(),
            waited_ms = u64::try_from(waited.as_millis()).unwrap_or(u64::MAX),
            "a store call waited {waited:.1?} for the request budget ({}) before it was sent or given up (heartbeats wait too, and may be late); raise {} if the table's capacity allows (kubectl_failover_store_budget_waits_total counts the waits by reason; at most one such warning every {WARN_EVERY:?})",
            reason.label(),
            match reason {
                WaitReason::Concurrency => "STORE_MAX_IN_FLIGHT",
                WaitReason::Rate => "STORE_MAX_REQUESTS_PER_SECOND",
            }
        );
    }
}

/// A wait in progress. Reported when it ends, also when the caller gives up on the call (a
/// heartbeat bounded by its interval, say), so that no wait goes uncounted.
struct Waiting<'a> {
    store: &'a BudgetedStore,
    operation: &'static str,
    reason: WaitReason,
    since: Instant,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let waited = self.since.elapsed();
        self.store.observer.waited(self.reason, waited);
        if waited >= LONG_WAIT {
            self.store
                .warn_long_wait(self.operation, self.reason, waited);
        }
    }
}

#[async_trait]
impl CoordinationStore for BudgetedStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn load_group_with(
        &self,
        operator_id: &str,
        group: &GroupId,
        include_lock: bool,
    ) -> Result<Option<GroupSnapshot>, StoreError> {
        // The LOCK is a second request.
        let requests = if include_lock { 2 } else { 1 };
        let _admitted = self.admit("load_group", requests).await;
        self.inner
            .load_group_with(operator_id, group, include_lock)
            .await
    }

    async fn list_groups(&self, operator_id: &str) -> Result<Listing<GroupConfig>, StoreError> {
        let _admitted = self.admit("list_groups", 1).await;
        self.inner.list_groups(operator_id).await
    }

    async fn list_cluster_groups(
        &self,
        operator_id: &str,
        cluster: &str,
    ) -> Result<Listing<ClusterMembership>, StoreError> {
        let _admitted = self.admit("list_cluster_groups", 1).await;
        self.inner.list_cluster_groups(operator_id, cluster).await
    }

    async fn create_config(&self, config: &GroupConfig) -> Result<CreateOutcome, StoreError> {
        let _admitted = self.admit("create_config", 1).await;
        self.inner.create_config(config).await
    }

    async fn update_config(
        &self,
        expected_version: u64,
        config: &GroupConfig,
    ) -> Result<CasOutcome, StoreError> {
        let _admitted = self.admit("update_config", 1).await;
        self.inner.update_config(expected_version, config).await
    }

    async fn put_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        status: &ClusterStatus,
    ) -> Result<(), StoreError> {
        let _admitted = self.admit("put_cluster_status", 1).await;
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
        let _admitted = self.admit("delete_cluster_status", 1).await;
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
        let _admitted = self.admit("acquire_lock", 1).await;
        self.inner.acquire_lock(operator_id, group, request).await
    }

    async fn take_over_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        observed: &Lock,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        let _admitted = self.admit("take_over_lock", 1).await;
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
        let _admitted = self.admit("renew_lock", 1).await;
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
        let _admitted = self.admit("release_lock", 1).await;
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
        let _admitted = self.admit("append_history", 1).await;
        self.inner.append_history(operator_id, group, record).await
    }

    async fn history(
        &self,
        operator_id: &str,
        group: &GroupId,
        limit: usize,
        page: Option<&str>,
    ) -> Result<HistoryPage, StoreError> {
        let _admitted = self.admit("history", 1).await;
        self.inner.history(operator_id, group, limit, page).await
    }

    async fn flip_ownership(&self, request: &FlipRequest) -> Result<FlipOutcome, StoreError> {
        let _admitted = self.admit("flip_ownership", 1).await;
        self.inner.flip_ownership(request).await
    }
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
