//! Tests of the promote use case against the memory store, including lost races.

use super::*;
use crate::clock::ManualClock;
use crate::store::memory::MemoryStore;
use crate::store::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const OP: &str = "op";

fn clock() -> ManualClock {
    ManualClock::starting_at(DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap())
}

fn group() -> GroupId {
    GroupId::new("shop", "web").unwrap()
}

/// shop/web owned by cluster-a, with valid demo timeouts and heartbeat records for a and b.
async fn seeded(clock: &ManualClock) -> MemoryStore {
    let store = MemoryStore::new();
    let mut config = GroupConfig::new(OP, group(), "cluster-a", clock.now());
    config.heartbeat_interval = Duration::from_secs(1).into();
    config.timeouts.heartbeat = Duration::from_secs(5).into();
    config.timeouts.transitory_state = Duration::from_secs(30).into();
    config.timeouts.unhealthy_primary = Duration::from_secs(5).into();
    config.timeouts.deactivation = Duration::ZERO.into();
    let _ = store.create_config(&config).await.unwrap();
    for name in ["cluster-a", "cluster-b"] {
        let status = ClusterStatus {
            cluster_name: name.to_string(),
            health: Health::Ok,
            state: ClusterState::Standby,
            last_heartbeat: Some(clock.now()),
            heartbeat_seq: Some(1),
            components: BTreeMap::new(),
            ack: None,
            fenced: false,
        };
        store
            .put_cluster_status(OP, &group(), &status)
            .await
            .unwrap();
    }
    store
}

async fn promote(store: &dyn CoordinationStore, request: &PromoteRequest) -> PromoteOutcome {
    request_promotion(store, &clock(), OP, &group(), request)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_valid_request_is_written_into_config_for_the_target_to_drive() {
    let c = clock();
    let store = seeded(&c).await;
    let mut request = PromoteRequest::to("cluster-b", "alice", "maintenance");
    request.id = Some("move-1".to_string());
    let outcome = promote(&store, &request).await;
    let PromoteOutcome::Requested {
        transition,
        version,
    } = &outcome
    else {
        panic!("not requested: {outcome:?}");
    };
    assert_eq!(*version, 2);
    assert_eq!(
        (transition.source.as_str(), transition.target.as_str()),
        ("cluster-a", "cluster-b")
    );
    assert_eq!(
        (transition.id.as_str(), transition.phase),
        ("move-1", Phase::Requested)
    );
    assert!(!transition.automatic && !transition.force);
    let stored = store.load_group(OP, &group()).await.unwrap().unwrap();
    assert_eq!(stored.config.transition.as_ref(), Some(transition));
    assert_eq!(
        stored.config.owner_cluster, "cluster-a",
        "only asked, not moved"
    );
    assert!(outcome.is_success() && outcome.exit_code() == ExitCode::Ok);
    assert!(
        outcome.to_string().contains("cluster-a -> cluster-b"),
        "{outcome}"
    );
}

#[tokio::test]
async fn promoting_the_owner_is_a_no_op_that_succeeds() {
    let c = clock();
    let store = seeded(&c).await;
    let outcome = promote(&store, &PromoteRequest::to("cluster-a", "alice", "")).await;
    assert!(
        matches!(outcome, PromoteOutcome::AlreadyPrimary { ref cluster, .. } if cluster == "cluster-a")
    );
    assert!(outcome.is_success());
    assert_eq!(
        outcome.to_string(),
        "cluster-a is already primary for shop/web; nothing to do"
    );
    let stored = store.load_group(OP, &group()).await.unwrap().unwrap();
    assert_eq!(stored.config.version, 1, "nothing was written");
}

#[tokio::test]
async fn an_unknown_target_is_refused_listing_the_known_clusters() {
    let c = clock();
    let store = seeded(&c).await;
    let outcome = promote(&store, &PromoteRequest::to("cluster-z", "alice", "")).await;
    assert!(
        matches!(outcome, PromoteOutcome::UnknownTarget { ref known, .. } if known == &["cluster-a", "cluster-b"])
    );
    assert_eq!(outcome.exit_code(), ExitCode::Conflict);
    assert!(
        outcome.to_string().contains("cluster-a, cluster-b"),
        "{outcome}"
    );
}

#[tokio::test]
async fn a_second_request_is_refused_naming_the_transition_in_flight() {
    let c = clock();
    let store = seeded(&c).await;
    let mut first = PromoteRequest::to("cluster-b", "alice", "");
    first.id = Some("first".to_string());
    assert!(promote(&store, &first).await.is_success());
    let outcome = promote(&store, &PromoteRequest::to("cluster-b", "bob", "")).await;
    let PromoteOutcome::TransitionInFlight {
        id,
        source,
        target,
        phase,
        ..
    } = &outcome
    else {
        panic!("not refused: {outcome:?}");
    };
    assert_eq!(
        (id.as_str(), source.as_str(), target.as_str(), *phase),
        ("first", "cluster-a", "cluster-b", Phase::Requested)
    );
    assert_eq!(outcome.exit_code(), ExitCode::Conflict);
    assert!(outcome.to_string().contains("first"), "{outcome}");
}

#[tokio::test]
async fn uptime_with_volumes_is_refused_unless_forced() {
    let c = clock();
    let store = seeded(&c).await;
    let mut request = PromoteRequest::to("cluster-b", "alice", "");
    request.mode = FailoverMode::Uptime;
    request.has_volume_replications = true;
    let outcome = promote(&store, &request).await;
    assert!(
        matches!(outcome, PromoteOutcome::UptimeWithVolumes { .. }),
        "{outcome:?}"
    );
    assert_eq!(outcome.exit_code(), ExitCode::Conflict);
    request.force = true;
    assert!(promote(&store, &request).await.is_success());
}

#[tokio::test]
async fn unsafe_timeouts_are_refused_with_the_protocols_reason() {
    let c = clock();
    let store = seeded(&c).await;
    let mut config = store
        .load_group(OP, &group())
        .await
        .unwrap()
        .unwrap()
        .config;
    config.timeouts.heartbeat = Duration::from_secs(2).into();
    let _ = store.update_config(1, &config).await.unwrap();
    let outcome = promote(&store, &PromoteRequest::to("cluster-b", "alice", "")).await;
    assert!(
        matches!(outcome, PromoteOutcome::Refused { .. }),
        "{outcome:?}"
    );
    assert!(
        outcome.to_string().contains("timeouts.heartbeat"),
        "{outcome}"
    );
}

#[tokio::test]
async fn a_missing_group_is_not_found() {
    let store = MemoryStore::new();
    let err = request_promotion(
        &store,
        &clock(),
        OP,
        &group(),
        &PromoteRequest::to("cluster-b", "alice", ""),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::GroupNotFound { .. }), "{err:?}");
}

/// A store where someone else changes CONFIG just before each of the first `races` writes.
struct Racing {
    inner: MemoryStore,
    races: AtomicU32,
}

#[async_trait]
impl CoordinationStore for Racing {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn load_group_with(
        &self,
        op: &str,
        g: &GroupId,
        lock: bool,
    ) -> Result<Option<GroupSnapshot>, StoreError> {
        self.inner.load_group_with(op, g, lock).await
    }
    async fn list_groups(&self, op: &str) -> Result<Listing<GroupConfig>, StoreError> {
        self.inner.list_groups(op).await
    }
    async fn list_cluster_groups(
        &self,
        op: &str,
        c: &str,
    ) -> Result<Listing<ClusterMembership>, StoreError> {
        self.inner.list_cluster_groups(op, c).await
    }
    async fn create_config(&self, c: &GroupConfig) -> Result<CreateOutcome, StoreError> {
        self.inner.create_config(c).await
    }
    async fn update_config(&self, v: u64, c: &GroupConfig) -> Result<CasOutcome, StoreError> {
        let left = self.races.load(Ordering::SeqCst);
        if left > 0 {
            self.races.store(left - 1, Ordering::SeqCst);
            let current = self.inner.load_group(OP, &group()).await?.unwrap().config;
            let _ = self.inner.update_config(current.version, &current).await?;
        }
        self.inner.update_config(v, c).await
    }
    async fn put_cluster_status(
        &self,
        op: &str,
        g: &GroupId,
        s: &ClusterStatus,
    ) -> Result<(), StoreError> {
        self.inner.put_cluster_status(op, g, s).await
    }
    async fn delete_cluster_status(
        &self,
        op: &str,
        g: &GroupId,
        c: &str,
    ) -> Result<(), StoreError> {
        self.inner.delete_cluster_status(op, g, c).await
    }
    async fn acquire_lock(
        &self,
        op: &str,
        g: &GroupId,
        r: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        self.inner.acquire_lock(op, g, r).await
    }
    async fn take_over_lock(
        &self,
        op: &str,
        g: &GroupId,
        o: &Lock,
        r: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        self.inner.take_over_lock(op, g, o, r).await
    }
    async fn renew_lock(
        &self,
        op: &str,
        g: &GroupId,
        t: &str,
        l: Duration,
        n: DateTime<Utc>,
    ) -> Result<LeaseOutcome, StoreError> {
        self.inner.renew_lock(op, g, t, l, n).await
    }
    async fn release_lock(
        &self,
        op: &str,
        g: &GroupId,
        t: &str,
    ) -> Result<LeaseOutcome, StoreError> {
        self.inner.release_lock(op, g, t).await
    }
    async fn append_history(
        &self,
        op: &str,
        g: &GroupId,
        r: &HistoryRecord,
    ) -> Result<AppendOutcome, StoreError> {
        self.inner.append_history(op, g, r).await
    }
    async fn history(
        &self,
        op: &str,
        g: &GroupId,
        l: usize,
        p: Option<&str>,
    ) -> Result<HistoryPage, StoreError> {
        self.inner.history(op, g, l, p).await
    }
    async fn flip_ownership(&self, r: &FlipRequest) -> Result<FlipOutcome, StoreError> {
        self.inner.flip_ownership(r).await
    }
}

#[tokio::test]
async fn a_lost_race_is_retried_against_a_fresh_read() {
    let c = clock();
    let store = Arc::new(Racing {
        inner: seeded(&c).await,
        races: AtomicU32::new(2),
    });
    let outcome = promote(
        store.as_ref(),
        &PromoteRequest::to("cluster-b", "alice", ""),
    )
    .await;
    assert!(
        matches!(outcome, PromoteOutcome::Requested { version: 4, .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn losing_every_race_gives_up_as_contended() {
    let c = clock();
    let store = Racing {
        inner: seeded(&c).await,
        races: AtomicU32::new(u32::MAX),
    };
    let outcome = promote(&store, &PromoteRequest::to("cluster-b", "alice", "")).await;
    assert_eq!(
        outcome,
        PromoteOutcome::Contended {
            group: group(),
            attempts: MAX_ATTEMPTS
        }
    );
    assert_eq!(outcome.exit_code(), ExitCode::Conflict);
}

#[test]
fn generated_ids_name_the_target_and_differ() {
    let c = clock();
    let (a, b) = (generate_id("cluster-b", &c), generate_id("cluster-b", &c));
    assert!(a.starts_with("promote-cluster-b-20260101-000000-"), "{a}");
    assert_ne!(a, b);
}

#[tokio::test]
async fn a_drill_request_carries_the_mark_and_a_plain_one_does_not() {
    let c = clock();
    let store = seeded(&c).await;
    let request = PromoteRequest::to("cluster-b", "alice", "failover drill");
    let outcome = request_promotion_marked(&store, &c, OP, &group(), &request, true)
        .await
        .unwrap();
    let PromoteOutcome::Requested { transition, .. } = &outcome else {
        panic!("not requested: {outcome:?}");
    };
    assert!(transition.drill);
    let stored = store.load_group(OP, &group()).await.unwrap().unwrap();
    assert_eq!(stored.config.transition.map(|t| t.drill), Some(true));

    let plain = seeded(&c).await;
    let outcome = promote(&plain, &request).await;
    let PromoteOutcome::Requested { transition, .. } = &outcome else {
        panic!("not requested: {outcome:?}");
    };
    assert!(!transition.drill);
}
