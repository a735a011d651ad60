//! `TappedStore`: the controller's view of the coordination store. It counts every request by
//! operation and result for `/metrics`, remembers whether the store answered last time (for
//! `/readyz`), and keeps the last group snapshot each agent read, so the status of a
//! FailoverGroup is written from exactly what its agent saw, without a second read.

use super::metrics::{Metrics, StoreLabels};
use crate::store::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Wraps a store for the controller (see the module doc).
pub struct TappedStore {
    inner: Arc<dyn CoordinationStore>,
    metrics: Arc<Metrics>,
    reachable: AtomicBool,
    snapshots: Mutex<HashMap<GroupId, GroupSnapshot>>,
}

impl TappedStore {
    /// Wraps `inner`, counting into `metrics`.
    pub fn new(inner: Arc<dyn CoordinationStore>, metrics: Arc<Metrics>) -> Self {
        TappedStore {
            inner,
            metrics,
            reachable: AtomicBool::new(false),
            snapshots: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the last request reached the store (false before the first one).
    pub fn reachable(&self) -> bool {
        self.reachable.load(Ordering::SeqCst)
    }

    /// The last snapshot of `group` read through this store (by any caller), if any.
    pub fn last_snapshot(&self, group: &GroupId) -> Option<GroupSnapshot> {
        self.lock().get(group).cloned()
    }

    /// Forgets the snapshot of a group that is no longer run.
    pub fn forget(&self, group: &GroupId) {
        self.lock().remove(group);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GroupId, GroupSnapshot>> {
        // Entries are replaced whole: still consistent after a panic elsewhere.
        self.snapshots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count<T>(&self, operation: &str, result: &Result<T, StoreError>, lost: impl Fn(&T) -> bool) {
        let label = match result {
            Ok(v) if lost(v) => "conflict",
            Ok(_) => "ok",
            Err(e) => error_label(e),
        };
        let unreachable = matches!(
            result,
            Err(StoreError::Unavailable { .. }
                | StoreError::AccessDenied { .. }
                | StoreError::TableNotFound { .. }
                | StoreError::Throttled { .. })
        );
        self.reachable.store(!unreachable, Ordering::SeqCst);
        self.metrics
            .store_requests
            .get_or_create(&StoreLabels {
                operation: operation.to_string(),
                result: label.to_string(),
            })
            .inc();
    }
}

/// The metric label of a store error.
pub fn error_label(e: &StoreError) -> &'static str {
    match e {
        StoreError::TableNotFound { .. } => "table_not_found",
        StoreError::AccessDenied { .. } => "access_denied",
        StoreError::Throttled { .. } => "throttled",
        StoreError::Unavailable { .. } => "unavailable",
        StoreError::Malformed { .. } => "malformed",
        StoreError::Rejected { .. } => "rejected",
    }
}

fn never<T>(_: &T) -> bool {
    false
}

#[async_trait]
impl CoordinationStore for TappedStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn load_group_with(
        &self,
        operator_id: &str,
        group: &GroupId,
        include_lock: bool,
    ) -> Result<Option<GroupSnapshot>, StoreError> {
        let r = self
            .inner
            .load_group_with(operator_id, group, include_lock)
            .await;
        self.count("load_group", &r, never);
        if let Ok(Some(snapshot)) = &r {
            self.lock().insert(group.clone(), snapshot.clone());
        }
        r
    }

    async fn list_groups(&self, operator_id: &str) -> Result<Listing<GroupConfig>, StoreError> {
        let r = self.inner.list_groups(operator_id).await;
        self.count("list_groups", &r, never);
        r
    }

    async fn list_cluster_groups(
        &self,
        operator_id: &str,
        cluster: &str,
    ) -> Result<Listing<ClusterMembership>, StoreError> {
        let r = self.inner.list_cluster_groups(operator_id, cluster).await;
        self.count("list_cluster_groups", &r, never);
        r
    }

    async fn create_config(&self, config: &GroupConfig) -> Result<CreateOutcome, StoreError> {
        let r = self.inner.create_config(config).await;
        self.count("create_config", &r, |o| {
            matches!(o, CreateOutcome::AlreadyExists(_))
        });
        r
    }

    async fn update_config(
        &self,
        expected_version: u64,
        config: &GroupConfig,
    ) -> Result<CasOutcome, StoreError> {
        let r = self.inner.update_config(expected_version, config).await;
        self.count("update_config", &r, |o| {
            matches!(o, CasOutcome::Conflict { .. })
        });
        r
    }

    async fn put_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        status: &ClusterStatus,
    ) -> Result<(), StoreError> {
        let r = self
            .inner
            .put_cluster_status(operator_id, group, status)
            .await;
        self.count("put_cluster_status", &r, never);
        r
    }

    async fn delete_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        cluster: &str,
    ) -> Result<(), StoreError> {
        let r = self
            .inner
            .delete_cluster_status(operator_id, group, cluster)
            .await;
        self.count("delete_cluster_status", &r, never);
        r
    }

    async fn acquire_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        let r = self.inner.acquire_lock(operator_id, group, request).await;
        self.count("acquire_lock", &r, |o| matches!(o, LockOutcome::Held(_)));
        r
    }

    async fn take_over_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        observed: &Lock,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        let r = self
            .inner
            .take_over_lock(operator_id, group, observed, request)
            .await;
        self.count("take_over_lock", &r, |o| matches!(o, LockOutcome::Held(_)));
        r
    }

    async fn renew_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
        lease: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseOutcome, StoreError> {
        let r = self
            .inner
            .renew_lock(operator_id, group, lease_token, lease, now)
            .await;
        self.count("renew_lock", &r, |o| {
            matches!(o, LeaseOutcome::NotHeld { .. })
        });
        r
    }

    async fn release_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
    ) -> Result<LeaseOutcome, StoreError> {
        let r = self
            .inner
            .release_lock(operator_id, group, lease_token)
            .await;
        self.count("release_lock", &r, |o| {
            matches!(o, LeaseOutcome::NotHeld { .. })
        });
        r
    }

    async fn append_history(
        &self,
        operator_id: &str,
        group: &GroupId,
        record: &HistoryRecord,
    ) -> Result<AppendOutcome, StoreError> {
        let r = self.inner.append_history(operator_id, group, record).await;
        self.count("append_history", &r, |o| {
            matches!(o, AppendOutcome::AlreadyExists)
        });
        r
    }

    async fn history(
        &self,
        operator_id: &str,
        group: &GroupId,
        limit: usize,
        page: Option<&str>,
    ) -> Result<HistoryPage, StoreError> {
        let r = self.inner.history(operator_id, group, limit, page).await;
        self.count("history", &r, never);
        r
    }

    async fn flip_ownership(&self, request: &FlipRequest) -> Result<FlipOutcome, StoreError> {
        let r = self.inner.flip_ownership(request).await;
        self.count("flip_ownership", &r, |o| {
            matches!(o, FlipOutcome::Cancelled(_))
        });
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn requests_are_counted_by_operation_and_result_and_snapshots_are_kept() {
        let metrics = Arc::new(Metrics::new());
        let store = TappedStore::new(Arc::new(MemoryStore::new()), metrics.clone());
        let group = GroupId::new("shop", "web").unwrap();
        assert!(!store.reachable());
        let cfg = GroupConfig::new("op", group.clone(), "east", Utc::now());
        let _ = store.create_config(&cfg).await.unwrap();
        let _ = store.create_config(&cfg).await.unwrap();
        let snap = store.load_group("op", &group).await.unwrap().unwrap();
        assert!(store.reachable());
        assert_eq!(store.last_snapshot(&group), Some(snap));
        let text = metrics.encode();
        assert!(
            text.contains(r#"store_requests_total{operation="create_config",result="ok"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"store_requests_total{operation="create_config",result="conflict"} 1"#),
            "{text}"
        );
        store.forget(&group);
        assert_eq!(store.last_snapshot(&group), None);
    }
}
