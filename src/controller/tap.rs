//! `TappedStore`: the controller's view of the coordination store. It counts every request by
//! operation and result for `/metrics`, remembers whether the store answered last time (for
//! `/readyz`), and keeps the last group snapshot each agent read, so the status of a
//! FailoverGroup is written from exactly what its agent saw, without a second read. The agents
//! get a view of it whose writes stop at the leadership deadline ([`TappedStore::for_leader`]):
//! a deposed replica's agents must not heartbeat, acknowledge or flip for the cluster while
//! the new leader acts, even before they are stopped.

use super::leadership::Leadership;
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
    reachable: Arc<AtomicBool>,
    snapshots: Arc<Mutex<HashMap<GroupId, GroupSnapshot>>>,
    /// Writes are refused once this lapses, and cut off when it lapses in flight; `None`: all
    /// writes pass (the replica-wide view: probes, Failover handling with its own checks).
    leadership: Option<Arc<Leadership>>,
}

impl TappedStore {
    /// Wraps `inner`, counting into `metrics`.
    pub fn new(inner: Arc<dyn CoordinationStore>, metrics: Arc<Metrics>) -> Self {
        TappedStore {
            inner,
            metrics,
            reachable: Arc::new(AtomicBool::new(false)),
            snapshots: Arc::new(Mutex::new(HashMap::new())),
            leadership: None,
        }
    }

    /// The same store (counters, reachability, snapshots shared) whose writes are refused
    /// once `leadership` lapses; reads still pass.
    pub fn for_leader(&self, leadership: Arc<Leadership>) -> TappedStore {
        TappedStore {
            inner: self.inner.clone(),
            metrics: self.metrics.clone(),
            reachable: self.reachable.clone(),
            snapshots: self.snapshots.clone(),
            leadership: Some(leadership),
        }
    }

    /// Sends a write only while this view's leadership holds, and counts what came back. A
    /// refusal is not counted: it says nothing about the store.
    async fn write<T>(
        &self,
        operation: &'static str,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
        lost: impl Fn(&T) -> bool,
    ) -> Result<T, StoreError> {
        let r = match &self.leadership {
            None => call.await,
            Some(l) => l
                .bounded(call)
                .await
                .map_err(|why| StoreError::NotLeading {
                    operation,
                    lease: why.lease,
                })?,
        };
        self.count(operation, &r, lost);
        r
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
        StoreError::WrongShape { .. } => "wrong_shape",
        StoreError::TooLarge { .. } => "too_large",
        StoreError::Rejected { .. } => "rejected",
        StoreError::NotLeading { .. } => "not_leading",
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
        self.write("create_config", self.inner.create_config(config), |o| {
            matches!(o, CreateOutcome::AlreadyExists(_))
        })
        .await
    }

    async fn update_config(
        &self,
        expected_version: u64,
        config: &GroupConfig,
    ) -> Result<CasOutcome, StoreError> {
        self.write(
            "update_config",
            self.inner.update_config(expected_version, config),
            |o| matches!(o, CasOutcome::Conflict { .. }),
        )
        .await
    }

    async fn put_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        status: &ClusterStatus,
    ) -> Result<(), StoreError> {
        self.write(
            "put_cluster_status",
            self.inner.put_cluster_status(operator_id, group, status),
            never,
        )
        .await
    }

    async fn delete_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        cluster: &str,
    ) -> Result<(), StoreError> {
        self.write(
            "delete_cluster_status",
            self.inner
                .delete_cluster_status(operator_id, group, cluster),
            never,
        )
        .await
    }

    async fn acquire_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        self.write(
            "acquire_lock",
            self.inner.acquire_lock(operator_id, group, request),
            |o| matches!(o, LockOutcome::Held(_)),
        )
        .await
    }

    async fn take_over_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        observed: &Lock,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        self.write(
            "take_over_lock",
            self.inner
                .take_over_lock(operator_id, group, observed, request),
            |o| matches!(o, LockOutcome::Held(_)),
        )
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
        self.write(
            "renew_lock",
            self.inner
                .renew_lock(operator_id, group, lease_token, lease, now),
            |o| matches!(o, LeaseOutcome::NotHeld { .. }),
        )
        .await
    }

    async fn release_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
    ) -> Result<LeaseOutcome, StoreError> {
        // Not gated: releasing grants nothing (the token is checked), and a deposed replica's
        // stopping agents should free their locks rather than leave them to expire.
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
        self.write(
            "append_history",
            self.inner.append_history(operator_id, group, record),
            |o| matches!(o, AppendOutcome::AlreadyExists),
        )
        .await
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
        self.write("flip_ownership", self.inner.flip_ownership(request), |o| {
            matches!(o, FlipOutcome::Cancelled(_))
        })
        .await
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

    #[tokio::test]
    async fn a_deposed_leaders_agents_write_nothing_but_still_read_and_release() {
        use crate::clock::{Clock, ManualClock};
        let metrics = Arc::new(Metrics::new());
        let replica = TappedStore::new(Arc::new(MemoryStore::new()), metrics.clone());
        let clock = ManualClock::starting_at(Utc::now());
        let leadership = Leadership::elected(Arc::new(clock.clone()), "ops/leader");
        leadership.renewed_until(clock.monotonic() + std::time::Duration::from_secs(10));
        let agents = replica.for_leader(leadership.clone());
        let group = GroupId::new("shop", "web").unwrap();
        let cfg = GroupConfig::new("op", group.clone(), "east", Utc::now());
        let _ = agents.create_config(&cfg).await.unwrap();
        let status = ClusterStatus {
            cluster_name: "east".into(),
            health: Health::Ok,
            state: ClusterState::Primary,
            last_heartbeat: Some(Utc::now()),
            heartbeat_seq: Some(1),
            components: Default::default(),
            ack: None,
            fenced: false,
        };
        agents
            .put_cluster_status("op", &group, &status)
            .await
            .unwrap();

        clock.advance(std::time::Duration::from_secs(10));
        let refused = agents
            .put_cluster_status("op", &group, &status)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, StoreError::NotLeading { .. }),
            "{refused:?}"
        );
        assert!(refused.to_string().contains("ops/leader"), "{refused}");
        assert!(agents.load_group("op", &group).await.unwrap().is_some());
        let lock = LockRequest {
            holder: "east".into(),
            reason: "test".into(),
            lease: std::time::Duration::from_secs(30),
            now: Utc::now(),
        };
        assert!(agents.acquire_lock("op", &group, &lock).await.is_err());
        let _ = agents.release_lock("op", &group, "token").await.unwrap();
        // The replica-wide view is not gated, and the refusal did not mark the store unreachable.
        replica
            .put_cluster_status("op", &group, &status)
            .await
            .unwrap();
        assert!(replica.reachable() && agents.reachable());
        let text = metrics.encode();
        assert!(
            text.contains(r#"store_requests_total{operation="put_cluster_status",result="ok"} 2"#),
            "{text}"
        );
    }
}
