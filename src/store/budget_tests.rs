use super::*;
use crate::store::memory::MemoryStore;
use std::sync::atomic::{AtomicUsize, Ordering};

fn gid() -> GroupId {
    GroupId::new("shop", "web").unwrap()
}

fn status(seq: u64) -> ClusterStatus {
    ClusterStatus {
        cluster_name: "east".into(),
        health: Health::Ok,
        state: ClusterState::Primary,
        last_heartbeat: Some(Utc::now()),
        heartbeat_seq: Some(seq),
        components: Default::default(),
        ack: None,
        fenced: false,
    }
}

/// Counts what the budget reports.
#[derive(Default)]
struct Counting {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    concurrency_waits: AtomicUsize,
    rate_waits: AtomicUsize,
    waited_ms: AtomicUsize,
}

impl BudgetObserver for Counting {
    fn sent(&self) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
    }
    fn ended(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    fn waited(&self, reason: WaitReason, waited: Duration) {
        let count = match reason {
            WaitReason::Concurrency => &self.concurrency_waits,
            WaitReason::Rate => &self.rate_waits,
        };
        count.fetch_add(1, Ordering::SeqCst);
        let ms = usize::try_from(waited.as_millis()).unwrap();
        self.waited_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

/// A slow store that counts, on its own, how many calls are inside it at once.
struct Slow {
    inner: MemoryStore,
    delay: Duration,
    inside: AtomicUsize,
    max_inside: AtomicUsize,
    calls: AtomicUsize,
}

impl Slow {
    fn new(delay: Duration) -> Self {
        Slow {
            inner: MemoryStore::new(),
            delay,
            inside: AtomicUsize::new(0),
            max_inside: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
        }
    }

    async fn enter(&self) -> Inside<'_> {
        let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        // Made before the sleep, so a call abandoned inside still leaves.
        let inside = Inside(&self.inside);
        self.max_inside.fetch_max(now, Ordering::SeqCst);
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        inside
    }
}

struct Inside<'a>(&'a AtomicUsize);

impl Drop for Inside<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl CoordinationStore for Slow {
    fn describe(&self) -> String {
        "slow memory store".into()
    }
    async fn load_group_with(
        &self,
        o: &str,
        g: &GroupId,
        l: bool,
    ) -> Result<Option<GroupSnapshot>, StoreError> {
        let _in = self.enter().await;
        self.inner.load_group_with(o, g, l).await
    }
    async fn list_groups(&self, o: &str) -> Result<Listing<GroupConfig>, StoreError> {
        let _in = self.enter().await;
        self.inner.list_groups(o).await
    }
    async fn list_cluster_groups(
        &self,
        o: &str,
        c: &str,
    ) -> Result<Listing<ClusterMembership>, StoreError> {
        let _in = self.enter().await;
        self.inner.list_cluster_groups(o, c).await
    }
    async fn create_config(&self, c: &GroupConfig) -> Result<CreateOutcome, StoreError> {
        let _in = self.enter().await;
        self.inner.create_config(c).await
    }
    async fn update_config(&self, v: u64, c: &GroupConfig) -> Result<CasOutcome, StoreError> {
        let _in = self.enter().await;
        self.inner.update_config(v, c).await
    }
    async fn put_cluster_status(
        &self,
        o: &str,
        g: &GroupId,
        s: &ClusterStatus,
    ) -> Result<(), StoreError> {
        let _in = self.enter().await;
        self.inner.put_cluster_status(o, g, s).await
    }
    async fn delete_cluster_status(&self, o: &str, g: &GroupId, c: &str) -> Result<(), StoreError> {
        let _in = self.enter().await;
        self.inner.delete_cluster_status(o, g, c).await
    }
    async fn acquire_lock(
        &self,
        o: &str,
        g: &GroupId,
        r: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        let _in = self.enter().await;
        self.inner.acquire_lock(o, g, r).await
    }
    async fn take_over_lock(
        &self,
        o: &str,
        g: &GroupId,
        l: &Lock,
        r: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        let _in = self.enter().await;
        self.inner.take_over_lock(o, g, l, r).await
    }
    async fn renew_lock(
        &self,
        o: &str,
        g: &GroupId,
        t: &str,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseOutcome, StoreError> {
        let _in = self.enter().await;
        self.inner.renew_lock(o, g, t, lease, now).await
    }
    async fn release_lock(
        &self,
        o: &str,
        g: &GroupId,
        t: &str,
    ) -> Result<LeaseOutcome, StoreError> {
        let _in = self.enter().await;
        self.inner.release_lock(o, g, t).await
    }
    async fn append_history(
        &self,
        o: &str,
        g: &GroupId,
        r: &HistoryRecord,
    ) -> Result<AppendOutcome, StoreError> {
        let _in = self.enter().await;
        self.inner.append_history(o, g, r).await
    }
    async fn history(
        &self,
        o: &str,
        g: &GroupId,
        limit: usize,
        page: Option<&str>,
    ) -> Result<HistoryPage, StoreError> {
        let _in = self.enter().await;
        self.inner.history(o, g, limit, page).await
    }
    async fn flip_ownership(&self, r: &FlipRequest) -> Result<FlipOutcome, StoreError> {
        let _in = self.enter().await;
        self.inner.flip_ownership(r).await
    }
}

fn budgeted(
    slow: &Arc<Slow>,
    max_in_flight: u32,
    per_second: u32,
) -> (Arc<BudgetedStore>, Arc<Counting>) {
    let seen = Arc::new(Counting::default());
    let limits = StoreLimits::new(max_in_flight, per_second).unwrap();
    let store = BudgetedStore::new(slow.clone(), limits, seen.clone());
    (Arc::new(store), seen)
}

#[test]
fn an_in_flight_limit_of_zero_is_refused_naming_the_setting() {
    let err = StoreLimits::new(0, 10).unwrap_err();
    assert!(err.to_string().contains("STORE_MAX_IN_FLIGHT"), "{err}");
    assert_eq!(
        StoreLimits::default().max_in_flight(),
        DEFAULT_MAX_IN_FLIGHT
    );
    assert_eq!(StoreLimits::default().max_per_second(), None);
    assert_eq!(StoreLimits::new(1, 5).unwrap().max_per_second(), Some(5));
}

#[tokio::test(start_paused = true)]
async fn at_most_max_in_flight_calls_reach_the_store_and_the_waits_are_counted() {
    let slow = Arc::new(Slow::new(Duration::from_millis(100)));
    let (store, seen) = budgeted(&slow, 2, 0);
    let calls: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.put_cluster_status("op", &gid(), &status(i)).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(slow.calls.load(Ordering::SeqCst), 10, "every call was sent");
    assert_eq!(slow.max_inside.load(Ordering::SeqCst), 2);
    assert_eq!(seen.max_in_flight.load(Ordering::SeqCst), 2);
    assert_eq!(seen.in_flight.load(Ordering::SeqCst), 0);
    assert_eq!(seen.concurrency_waits.load(Ordering::SeqCst), 8);
    assert_eq!(seen.rate_waits.load(Ordering::SeqCst), 0);
    // Waits of 100, 100, 200, 200, ... 400, 400 ms behind the two slots.
    assert_eq!(seen.waited_ms.load(Ordering::SeqCst), 2000);
}

#[tokio::test(start_paused = true)]
async fn a_ceiling_of_20_per_second_spreads_60_calls_over_2_seconds() {
    let slow = Arc::new(Slow::new(Duration::ZERO));
    let (store, seen) = budgeted(&slow, 64, 20);
    let start = Instant::now();
    let calls: Vec<_> = (0..60)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.put_cluster_status("op", &gid(), &status(i)).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let took = start.elapsed();
    // The burst of 20 at once, then 40 more one every 50 ms.
    assert!(took >= Duration::from_millis(1990), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
    assert_eq!(slow.calls.load(Ordering::SeqCst), 60);
    assert_eq!(seen.rate_waits.load(Ordering::SeqCst), 40);
    assert_eq!(seen.concurrency_waits.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn one_callers_calls_keep_their_order_and_a_read_with_the_lock_costs_two() {
    let slow = Arc::new(Slow::new(Duration::ZERO));
    let (store, seen) = budgeted(&slow, 1, 2);
    let cfg = GroupConfig::new("op", gid(), "east", Utc::now());
    let start = Instant::now();
    let _ = store.create_config(&cfg).await.unwrap();
    store
        .put_cluster_status("op", &gid(), &status(1))
        .await
        .unwrap();
    // The bucket of 2 is empty: the next read of CONFIG and LOCK waits for two tokens (1 s).
    let snap = store.load_group("op", &gid()).await.unwrap().unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(
        snap.clusters.len(),
        1,
        "the write before the read landed first"
    );
    assert_eq!(seen.rate_waits.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_gives_up_while_waiting_frees_its_place() {
    let slow = Arc::new(Slow::new(Duration::from_secs(10)));
    let (store, seen) = budgeted(&slow, 1, 0);
    let busy = {
        let store = store.clone();
        tokio::spawn(async move { store.list_groups("op").await })
    };
    tokio::time::sleep(Duration::from_millis(1)).await;
    let gave_up = tokio::time::timeout(Duration::from_millis(100), store.list_groups("op")).await;
    assert!(gave_up.is_err(), "waited behind the busy call");
    // The abandoned wait is counted all the same.
    assert_eq!(seen.concurrency_waits.load(Ordering::SeqCst), 1);
    assert_eq!(seen.waited_ms.load(Ordering::SeqCst), 100);
    busy.await.unwrap().unwrap();
    assert_eq!(seen.in_flight.load(Ordering::SeqCst), 0);
    assert_eq!(
        slow.calls.load(Ordering::SeqCst),
        1,
        "the abandoned call was never sent"
    );
    store.list_groups("op").await.unwrap();
    assert_eq!(slow.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn the_controllers_metrics_show_the_waits_by_reason_and_the_seconds_waited() {
    let metrics = Arc::new(crate::controller::metrics::Metrics::new());
    let slow = Arc::new(Slow::new(Duration::from_millis(100)));
    let limits = StoreLimits::new(2, 0).unwrap();
    let store = Arc::new(BudgetedStore::new(slow, limits, metrics.clone()));
    let calls: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.put_cluster_status("op", &gid(), &status(i)).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let text = metrics.encode();
    assert!(
        text.contains(r#"kubectl_failover_store_budget_waits_total{reason="concurrency"} 8"#),
        "{text}"
    );
    assert!(
        text.contains("kubectl_failover_store_in_flight 0"),
        "{text}"
    );
    let seconds: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("kubectl_failover_store_budget_wait_seconds_total "))
        .unwrap_or_else(|| panic!("{text}"))
        .parse()
        .unwrap();
    assert!((seconds - 2.0).abs() < 1e-6, "{seconds}");
}
