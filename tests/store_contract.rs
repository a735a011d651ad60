//! One conformance suite, two backends: every case runs against the in-memory store and against
//! the DynamoDB backend on a real moto server, so both keep exactly the same semantics.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use kubectl_failover::clock::{Clock, ManualClock};
use kubectl_failover::duration::GoDuration;
use kubectl_failover::store::memory::MemoryStore;
use kubectl_failover::store::*;
use std::collections::BTreeMap;
use std::time::Duration;

const OP: &str = "failover-operator";
const LEASE: Duration = Duration::from_secs(10);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap() + chrono::Duration::milliseconds(123)
}

fn gid(name: &str) -> GroupId {
    GroupId::new("shop", name).unwrap()
}

fn config(name: &str, owner: &str) -> GroupConfig {
    GroupConfig::new(OP, gid(name), owner, t0())
}

fn heartbeat(cluster: &str, seq: u64, health: Health, at: DateTime<Utc>) -> ClusterStatus {
    let mut components = BTreeMap::new();
    components.insert(
        "workloads".to_string(),
        ComponentStatus {
            health,
            message: if health == Health::Ok {
                String::new()
            } else {
                "web: 1/3 ready".to_string()
            },
        },
    );
    ClusterStatus {
        cluster_name: cluster.to_string(),
        health,
        state: ClusterState::Standby,
        last_heartbeat: Some(at),
        heartbeat_seq: Some(seq),
        components,
        ack: None,
        fenced: false,
    }
}

fn history(source: &str, target: &str, at: DateTime<Utc>) -> HistoryRecord {
    HistoryRecord {
        failover_name: format!("fo-{}", at.timestamp_millis()),
        source_cluster: source.to_string(),
        target_cluster: target.to_string(),
        start_time: at,
        end_time: Some(at + chrono::Duration::seconds(4)),
        status: HistoryStatus::Success.to_string(),
        reason: "planned maintenance".to_string(),
        downtime: Some(2),
        duration: Some(4),
        mode: Some("CONSISTENCY".to_string()),
        automatic: Some(false),
        initiator: Some("alice".to_string()),
        drill: false,
    }
}

fn lock_request(holder: &str, clock: &ManualClock) -> LockRequest {
    LockRequest {
        holder: holder.to_string(),
        reason: format!("{holder} drives a failover"),
        lease: LEASE,
        now: clock.now(),
    }
}

async fn created(store: &dyn CoordinationStore, cfg: &GroupConfig) -> GroupConfig {
    match store.create_config(cfg).await.unwrap() {
        CreateOutcome::Created(c) => c,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn acquired(outcome: LockOutcome) -> Lock {
    match outcome {
        LockOutcome::Acquired(l) => l,
        other => panic!("expected Acquired, got {other:?}"),
    }
}

// ---------------------------------------------------------------- cases

async fn a_missing_group_loads_as_none(store: &dyn CoordinationStore) {
    assert_eq!(store.load_group(OP, &gid("nothing")).await.unwrap(), None);
}

async fn a_created_config_loads_back_with_every_field(store: &dyn CoordinationStore) {
    let mut cfg = config("web", "cluster-a");
    cfg.previous_owner = Some("cluster-b".into());
    cfg.timeouts.heartbeat = GoDuration(Duration::from_secs(45));
    cfg.timeouts.transitory_state = GoDuration(Duration::from_secs(600));
    cfg.timeouts.unhealthy_primary = GoDuration(Duration::from_secs(90));
    cfg.heartbeat_interval = GoDuration(Duration::from_secs(5));
    cfg.suspended = true;
    cfg.suspension_reason = Some("database migration".into());
    cfg.last_failover = Some(FailoverRef {
        name: "fo-1".into(),
        namespace: "shop".into(),
        timestamp: t0(),
    });
    created(store, &cfg).await;
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config, cfg);
    assert!(snap.clusters.is_empty());
    assert_eq!(snap.lock, None);
}

async fn creating_an_existing_config_returns_the_stored_one_unchanged(
    store: &dyn CoordinationStore,
) {
    let first = created(store, &config("web", "cluster-a")).await;
    match store
        .create_config(&config("web", "cluster-b"))
        .await
        .unwrap()
    {
        CreateOutcome::AlreadyExists(current) => assert_eq!(current, first),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config.owner_cluster, "cluster-a");
}

async fn a_compare_and_set_with_the_current_version_applies_and_bumps_it(
    store: &dyn CoordinationStore,
) {
    let cfg = created(store, &config("web", "cluster-a")).await;
    let mut next = cfg.clone();
    next.suspended = true;
    next.suspension_reason = Some("maintenance".into());
    let applied = match store.update_config(cfg.version, &next).await.unwrap() {
        CasOutcome::Applied(c) => c,
        other => panic!("expected Applied, got {other:?}"),
    };
    assert_eq!(applied.version, cfg.version + 1);
    assert!(applied.suspended);
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config, applied);
}

async fn a_compare_and_set_with_a_stale_version_is_a_conflict_that_changes_nothing(
    store: &dyn CoordinationStore,
) {
    let cfg = created(store, &config("web", "cluster-a")).await;
    let mut first = cfg.clone();
    first.owner_cluster = "cluster-b".into();
    let applied = match store.update_config(cfg.version, &first).await.unwrap() {
        CasOutcome::Applied(c) => c,
        other => panic!("expected Applied, got {other:?}"),
    };
    let mut late = cfg.clone();
    late.owner_cluster = "cluster-c".into();
    match store.update_config(cfg.version, &late).await.unwrap() {
        CasOutcome::Conflict { current } => assert_eq!(current, Some(applied.clone())),
        other => panic!("expected Conflict, got {other:?}"),
    }
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config.owner_cluster, "cluster-b");
    assert_eq!(snap.config.version, cfg.version + 1);
}

async fn a_compare_and_set_on_a_missing_group_is_a_conflict_with_nothing_current(
    store: &dyn CoordinationStore,
) {
    match store.update_config(1, &config("ghost", "x")).await.unwrap() {
        CasOutcome::Conflict { current } => assert_eq!(current, None),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(store.load_group(OP, &gid("ghost")).await.unwrap(), None);
}

async fn heartbeats_load_with_the_group_sorted_and_refreshed_in_place(
    store: &dyn CoordinationStore,
) {
    created(store, &config("web", "cluster-a")).await;
    let g = gid("web");
    for c in ["cluster-c", "cluster-a", "cluster-b"] {
        store
            .put_cluster_status(OP, &g, &heartbeat(c, 1, Health::Ok, t0()))
            .await
            .unwrap();
    }
    let later = heartbeat(
        "cluster-b",
        2,
        Health::Degraded,
        t0() + chrono::Duration::seconds(5),
    );
    store.put_cluster_status(OP, &g, &later).await.unwrap();
    let snap = store.load_group(OP, &g).await.unwrap().unwrap();
    let names: Vec<_> = snap
        .clusters
        .iter()
        .map(|c| c.cluster_name.as_str())
        .collect();
    assert_eq!(names, ["cluster-a", "cluster-b", "cluster-c"]);
    assert_eq!(snap.clusters[1], later);
    store
        .delete_cluster_status(OP, &g, "cluster-c")
        .await
        .unwrap();
    let snap = store.load_group(OP, &g).await.unwrap().unwrap();
    assert_eq!(snap.clusters.len(), 2);
}

async fn groups_are_listed_per_operator_and_per_cluster(store: &dyn CoordinationStore) {
    created(store, &config("web", "cluster-a")).await;
    created(store, &config("api", "cluster-b")).await;
    let mut other = config("web", "cluster-a");
    other.operator_id = "other-operator".into();
    created(store, &other).await;
    store
        .put_cluster_status(
            OP,
            &gid("web"),
            &heartbeat("cluster-a", 1, Health::Ok, t0()),
        )
        .await
        .unwrap();
    store
        .put_cluster_status(
            "other-operator",
            &gid("web"),
            &heartbeat("cluster-a", 1, Health::Ok, t0()),
        )
        .await
        .unwrap();
    store
        .put_cluster_status(
            OP,
            &gid("api"),
            &heartbeat("cluster-b", 1, Health::Ok, t0()),
        )
        .await
        .unwrap();

    let mut names: Vec<_> = store
        .list_groups(OP)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|c| c.group.to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["shop/api", "shop/web"]);

    let member = store.list_cluster_groups(OP, "cluster-a").await.unwrap();
    assert_eq!(
        member.items.len(),
        1,
        "other operators' records are not listed"
    );
    assert_eq!(member.items[0].group, gid("web"));
    assert_eq!(member.items[0].status.cluster_name, "cluster-a");
    assert!(
        store
            .list_cluster_groups(OP, "cluster-z")
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

async fn a_held_lock_is_refused_to_a_second_holder_with_holder_and_expiry(
    store: &dyn CoordinationStore,
) {
    let clock = ManualClock::starting_at(t0());
    let g = gid("web");
    let a = acquired(
        store
            .acquire_lock(OP, &g, &lock_request("cluster-a", &clock))
            .await
            .unwrap(),
    );
    assert_eq!(a.locked_by, "cluster-a");
    assert_eq!(a.expires_at, t0() + chrono::Duration::seconds(10));
    assert!(!a.lease_token.is_empty());
    match store
        .acquire_lock(OP, &g, &lock_request("cluster-b", &clock))
        .await
        .unwrap()
    {
        LockOutcome::Held(held) => assert_eq!(held, a),
        other => panic!("expected Held, got {other:?}"),
    }
    // Lease lapsed by the clock is still not free for `acquire`: takeover is a separate,
    // deliberate step (after observing the lease unchanged).
    clock.advance(Duration::from_secs(60));
    assert!(matches!(
        store
            .acquire_lock(OP, &g, &lock_request("cluster-b", &clock))
            .await
            .unwrap(),
        LockOutcome::Held(_)
    ));
}

async fn only_the_token_holder_can_renew_or_release_a_lock(store: &dyn CoordinationStore) {
    let clock = ManualClock::starting_at(t0());
    let g = gid("web");
    let a = acquired(
        store
            .acquire_lock(OP, &g, &lock_request("cluster-a", &clock))
            .await
            .unwrap(),
    );
    clock.advance(Duration::from_secs(4));
    match store
        .renew_lock(OP, &g, "not-the-token", LEASE, clock.now())
        .await
        .unwrap()
    {
        LeaseOutcome::NotHeld { current } => assert_eq!(current, Some(a.clone())),
        other => panic!("expected NotHeld, got {other:?}"),
    }
    let renewed = match store
        .renew_lock(OP, &g, &a.lease_token, LEASE, clock.now())
        .await
        .unwrap()
    {
        LeaseOutcome::Done(Some(l)) => l,
        other => panic!("expected Done, got {other:?}"),
    };
    assert_eq!(renewed.expires_at, t0() + chrono::Duration::seconds(14));
    assert_eq!(renewed.lease_token, a.lease_token);
    assert!(matches!(
        store.release_lock(OP, &g, "not-the-token").await.unwrap(),
        LeaseOutcome::NotHeld { current: Some(_) }
    ));
    assert!(matches!(
        store.release_lock(OP, &g, &a.lease_token).await.unwrap(),
        LeaseOutcome::Done(None)
    ));
    assert_eq!(
        store.load_group(OP, &g).await.unwrap(),
        None,
        "no CONFIG, still None"
    );
    let b = acquired(
        store
            .acquire_lock(OP, &g, &lock_request("cluster-b", &clock))
            .await
            .unwrap(),
    );
    assert_ne!(b.lease_token, a.lease_token);
    assert!(matches!(
        store
            .renew_lock(OP, &g, &a.lease_token, LEASE, clock.now())
            .await
            .unwrap(),
        LeaseOutcome::NotHeld { .. }
    ));
}

async fn a_lapsed_lease_is_taken_over_only_if_unchanged_since_observed(
    store: &dyn CoordinationStore,
) {
    let clock = ManualClock::starting_at(t0());
    let g = gid("web");
    created(store, &config("web", "cluster-a")).await;
    let a = acquired(
        store
            .acquire_lock(OP, &g, &lock_request("cluster-a", &clock))
            .await
            .unwrap(),
    );
    // B observes A's lease, but A renews before B acts: the takeover must fail.
    let observed = a.clone();
    clock.advance(Duration::from_secs(5));
    let LeaseOutcome::Done(Some(renewed)) = store
        .renew_lock(OP, &g, &a.lease_token, LEASE, clock.now())
        .await
        .unwrap()
    else {
        panic!("renewal by the holder failed");
    };
    match store
        .take_over_lock(OP, &g, &observed, &lock_request("cluster-b", &clock))
        .await
        .unwrap()
    {
        LockOutcome::Held(held) => assert_eq!(held, renewed),
        other => panic!("a renewed lease must not be taken over, got {other:?}"),
    }
    // A dies; B observes the renewed lease unchanged for a whole lease and takes it over.
    clock.advance(LEASE);
    let b = acquired(
        store
            .take_over_lock(OP, &g, &renewed, &lock_request("cluster-b", &clock))
            .await
            .unwrap(),
    );
    assert_eq!(b.locked_by, "cluster-b");
    assert_ne!(b.lease_token, a.lease_token);
    // A wakes up: it can no longer renew or release, and its flip is refused.
    assert!(matches!(
        store.renew_lock(OP, &g, &a.lease_token, LEASE, clock.now()).await.unwrap(),
        LeaseOutcome::NotHeld { current: Some(ref l) } if l.locked_by == "cluster-b"
    ));
    assert!(matches!(
        store.release_lock(OP, &g, &a.lease_token).await.unwrap(),
        LeaseOutcome::NotHeld { .. }
    ));
    let snap = store.load_group(OP, &g).await.unwrap().unwrap();
    assert_eq!(snap.lock, Some(b));
}

async fn taking_over_a_lock_that_was_released_meanwhile_just_takes_it(
    store: &dyn CoordinationStore,
) {
    let clock = ManualClock::starting_at(t0());
    let g = gid("web");
    let a = acquired(
        store
            .acquire_lock(OP, &g, &lock_request("cluster-a", &clock))
            .await
            .unwrap(),
    );
    assert!(matches!(
        store.release_lock(OP, &g, &a.lease_token).await.unwrap(),
        LeaseOutcome::Done(_)
    ));
    let b = acquired(
        store
            .take_over_lock(OP, &g, &a, &lock_request("cluster-b", &clock))
            .await
            .unwrap(),
    );
    assert_eq!(b.locked_by, "cluster-b");
}

async fn history_is_never_overwritten(store: &dyn CoordinationStore) {
    let g = gid("web");
    let first = history("cluster-a", "cluster-b", t0());
    assert_eq!(
        store.append_history(OP, &g, &first).await.unwrap(),
        AppendOutcome::Appended
    );
    let mut same_ms = history("cluster-b", "cluster-c", t0());
    same_ms.reason = "another event in the same millisecond".into();
    assert_eq!(
        store.append_history(OP, &g, &same_ms).await.unwrap(),
        AppendOutcome::AlreadyExists
    );
    let page = store.history(OP, &g, 10, None).await.unwrap();
    assert_eq!(page.records, vec![first]);
}

async fn history_pages_newest_first_without_gaps_or_repeats(store: &dyn CoordinationStore) {
    let g = gid("web");
    let mut all = Vec::new();
    for i in 0..7 {
        // Out-of-order appends: the order comes from the timestamps, not from arrival.
        let at = t0() + chrono::Duration::milliseconds([5, 1, 6, 0, 3, 2, 4][i] * 1500);
        let rec = history("cluster-a", "cluster-b", at);
        assert_eq!(
            store.append_history(OP, &g, &rec).await.unwrap(),
            AppendOutcome::Appended
        );
        all.push(rec);
    }
    all.sort_by_key(|r| std::cmp::Reverse(r.start_time));
    let mut seen = Vec::new();
    let mut page_sizes = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store.history(OP, &g, 3, token.as_deref()).await.unwrap();
        page_sizes.push(page.records.len());
        seen.extend(page.records);
        match page.next_page {
            Some(t) => token = Some(t),
            None => break,
        }
        assert!(page_sizes.len() < 10, "paging does not end");
    }
    assert_eq!(seen, all);
    assert_eq!(page_sizes.iter().sum::<usize>(), 7);
    assert_eq!(page_sizes[0], 3);
}

async fn load_group_includes_the_lock_but_never_history(store: &dyn CoordinationStore) {
    let clock = ManualClock::starting_at(t0());
    let g = gid("web");
    created(store, &config("web", "cluster-a")).await;
    for i in 0..5 {
        let rec = history(
            "cluster-a",
            "cluster-b",
            t0() + chrono::Duration::seconds(i),
        );
        let _ = store.append_history(OP, &g, &rec).await.unwrap();
    }
    let lock = acquired(
        store
            .acquire_lock(OP, &g, &lock_request("cluster-b", &clock))
            .await
            .unwrap(),
    );
    let snap = store.load_group(OP, &g).await.unwrap().unwrap();
    assert_eq!(snap.lock, Some(lock));
    assert!(
        snap.clusters.is_empty(),
        "history records must not show up as clusters"
    );
}

/// Sets up a group owned by cluster-a with cluster-b holding the lock; returns (config, lock).
async fn group_with_lock(
    store: &dyn CoordinationStore,
    clock: &ManualClock,
) -> (GroupConfig, Lock) {
    let cfg = created(store, &config("web", "cluster-a")).await;
    let lock = acquired(
        store
            .acquire_lock(OP, &gid("web"), &lock_request("cluster-b", clock))
            .await
            .unwrap(),
    );
    (cfg, lock)
}

fn flip_to_b(cfg: &GroupConfig, lock: &Lock, at: DateTime<Utc>) -> FlipRequest {
    let mut next = cfg.clone();
    next.previous_owner = Some(next.owner_cluster.clone());
    next.owner_cluster = "cluster-b".into();
    next.last_updated = Some(at);
    next.last_failover = Some(FailoverRef {
        name: "fo-flip".into(),
        namespace: "shop".into(),
        timestamp: at,
    });
    FlipRequest {
        expected_version: cfg.version,
        lease_token: lock.lease_token.clone(),
        new_config: next,
        history: Some(history("cluster-a", "cluster-b", at)),
    }
}

async fn the_ownership_flip_writes_config_and_history_together(store: &dyn CoordinationStore) {
    let clock = ManualClock::starting_at(t0());
    let (cfg, lock) = group_with_lock(store, &clock).await;
    let req = flip_to_b(&cfg, &lock, clock.now());
    let committed = match store.flip_ownership(&req).await.unwrap() {
        FlipOutcome::Committed(c) => *c,
        other => panic!("expected Committed, got {other:?}"),
    };
    assert_eq!(committed.version, cfg.version + 1);
    assert_eq!(committed.owner_cluster, "cluster-b");
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config, committed);
    assert_eq!(
        snap.lock,
        Some(lock),
        "the flip leaves the lock to its holder to release"
    );
    let page = store.history(OP, &gid("web"), 10, None).await.unwrap();
    assert_eq!(page.records, req.history.into_iter().collect::<Vec<_>>());
}

async fn the_flip_is_cancelled_and_writes_nothing_when_config_changed(
    store: &dyn CoordinationStore,
) {
    let clock = ManualClock::starting_at(t0());
    let (cfg, lock) = group_with_lock(store, &clock).await;
    let mut bump = cfg.clone();
    bump.suspended = true;
    let CasOutcome::Applied(bumped) = store.update_config(cfg.version, &bump).await.unwrap() else {
        panic!("update failed");
    };
    let outcome = store
        .flip_ownership(&flip_to_b(&cfg, &lock, clock.now()))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        FlipOutcome::Cancelled(FlipConflict {
            version_changed: true,
            lock_lost: false,
            history_exists: false
        })
    );
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config, bumped);
    assert!(
        store
            .history(OP, &gid("web"), 10, None)
            .await
            .unwrap()
            .records
            .is_empty()
    );
}

async fn the_flip_is_cancelled_and_writes_nothing_when_the_lock_was_taken_over(
    store: &dyn CoordinationStore,
) {
    let clock = ManualClock::starting_at(t0());
    let (cfg, lock) = group_with_lock(store, &clock).await;
    clock.advance(LEASE);
    let _thief = acquired(
        store
            .take_over_lock(OP, &gid("web"), &lock, &lock_request("cluster-c", &clock))
            .await
            .unwrap(),
    );
    let outcome = store
        .flip_ownership(&flip_to_b(&cfg, &lock, clock.now()))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        FlipOutcome::Cancelled(FlipConflict {
            version_changed: false,
            lock_lost: true,
            history_exists: false
        })
    );
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config, cfg);
    assert!(
        store
            .history(OP, &gid("web"), 10, None)
            .await
            .unwrap()
            .records
            .is_empty()
    );
}

async fn the_flip_is_cancelled_when_the_lock_was_released(store: &dyn CoordinationStore) {
    let clock = ManualClock::starting_at(t0());
    let (cfg, lock) = group_with_lock(store, &clock).await;
    let _ = store
        .release_lock(OP, &gid("web"), &lock.lease_token)
        .await
        .unwrap();
    let outcome = store
        .flip_ownership(&flip_to_b(&cfg, &lock, clock.now()))
        .await
        .unwrap();
    assert!(matches!(
        outcome,
        FlipOutcome::Cancelled(FlipConflict {
            lock_lost: true,
            ..
        })
    ));
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config.owner_cluster, "cluster-a");
}

async fn of_many_concurrent_lock_attempts_exactly_one_wins(store: &dyn CoordinationStore) {
    let clock = ManualClock::starting_at(t0());
    let g = gid("web");
    let requests: Vec<_> = (0..6)
        .map(|i| lock_request(&format!("cluster-{i}"), &clock))
        .collect();
    let outcomes =
        futures::future::join_all(requests.iter().map(|r| store.acquire_lock(OP, &g, r))).await;
    let winners: Vec<_> = outcomes
        .into_iter()
        .filter_map(|o| match o.unwrap() {
            LockOutcome::Acquired(l) => Some(l),
            LockOutcome::Held(_) => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "exactly one holder, got {winners:?}");
    let snap_lock = store
        .renew_lock(OP, &g, &winners[0].lease_token, LEASE, clock.now())
        .await
        .unwrap();
    assert!(
        matches!(snap_lock, LeaseOutcome::Done(Some(ref l)) if l.locked_by == winners[0].locked_by)
    );
}

async fn of_many_concurrent_compare_and_sets_on_one_version_exactly_one_applies(
    store: &dyn CoordinationStore,
) {
    let mut cfg = created(store, &config("web", "cluster-a")).await;
    // Several rounds: a store that checks conditions without isolation loses such a race only
    // sometimes, and one round would let it pass by luck.
    for round in 0..8 {
        let candidates: Vec<_> = (0..6)
            .map(|i| {
                let mut c = cfg.clone();
                c.owner_cluster = format!("cluster-{round}-{i}");
                c
            })
            .collect();
        let outcomes = futures::future::join_all(
            candidates
                .iter()
                .map(|c| store.update_config(cfg.version, c)),
        )
        .await;
        let applied: Vec<_> = outcomes
            .into_iter()
            .filter_map(|o| match o.unwrap() {
                CasOutcome::Applied(c) => Some(c),
                CasOutcome::Conflict { .. } => None,
            })
            .collect();
        assert_eq!(
            applied.len(),
            1,
            "round {round}: exactly one writer wins, got {applied:?}"
        );
        let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
        assert_eq!(snap.config, applied[0]);
        cfg = snap.config;
    }
}

fn transition(phase: Phase) -> Transition {
    Transition {
        id: "fo-web-1".into(),
        source: "cluster-a".into(),
        target: "cluster-b".into(),
        mode: FailoverMode::Consistency,
        force: false,
        automatic: false,
        reason: "planned maintenance".into(),
        initiator: "alice".into(),
        phase,
        requested_at: t0(),
        source_stopped_at: None,
        drill: false,
    }
}

async fn a_transition_in_flight_and_the_epoch_round_trip_through_compare_and_set(
    store: &dyn CoordinationStore,
) {
    let cfg = created(store, &config("web", "cluster-a")).await;
    let mut next = cfg.clone();
    next.transition = Some(transition(Phase::SourceDeactivating));
    let CasOutcome::Applied(applied) = store.update_config(cfg.version, &next).await.unwrap()
    else {
        panic!("CAS refused");
    };
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config, applied);
    assert_eq!(snap.config.transition, next.transition);
    assert_eq!(snap.config.epoch, 1);
    // Clearing the transition removes it for good.
    let mut done = applied.clone();
    done.transition = None;
    done.epoch = applied.version;
    let CasOutcome::Applied(_) = store.update_config(applied.version, &done).await.unwrap() else {
        panic!("CAS refused");
    };
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config.transition, None);
    assert_eq!(snap.config.epoch, applied.version);
}

async fn superseded_settings_and_applied_specs_round_trip_and_clear_through_compare_and_set(
    store: &dyn CoordinationStore,
) {
    let cfg = created(store, &config("web", "cluster-a")).await;
    let mut next = cfg.clone();
    next.superseded = Some(cfg.safety());
    next.timeouts.heartbeat = std::time::Duration::from_secs(300).into();
    next.applied_specs
        .insert("cluster-b".into(), "heartbeat=5m".into());
    let CasOutcome::Applied(applied) = store.update_config(cfg.version, &next).await.unwrap()
    else {
        panic!("CAS refused");
    };
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config, applied);
    assert_eq!(snap.config.superseded, Some(cfg.safety()));
    assert_eq!(snap.config.applied_specs, next.applied_specs);
    // The owner's acknowledgement removes the record for good.
    let mut acked = applied.clone();
    acked.superseded = None;
    let CasOutcome::Applied(_) = store.update_config(applied.version, &acked).await.unwrap() else {
        panic!("CAS refused");
    };
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config.superseded, None);
    assert_eq!(snap.config.timeouts.heartbeat.get().as_secs(), 300);
}

async fn an_acknowledgement_and_the_fenced_flag_round_trip_in_a_heartbeat(
    store: &dyn CoordinationStore,
) {
    created(store, &config("web", "cluster-a")).await;
    let mut hb = heartbeat("cluster-a", 9, Health::Ok, t0());
    hb.ack = Some(TransitionAck {
        id: "fo-web-1".into(),
        at: t0(),
    });
    hb.fenced = true;
    store
        .put_cluster_status(OP, &gid("web"), &hb)
        .await
        .unwrap();
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.clusters, vec![hb.clone()]);
    // A later heartbeat without them clears both.
    let plain = heartbeat("cluster-a", 10, Health::Ok, t0());
    store
        .put_cluster_status(OP, &gid("web"), &plain)
        .await
        .unwrap();
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.clusters, vec![plain]);
}

async fn a_flip_without_history_moves_ownership_and_writes_no_history(
    store: &dyn CoordinationStore,
) {
    let clock = ManualClock::starting_at(t0());
    let (cfg, lock) = group_with_lock(store, &clock).await;
    let mut req = flip_to_b(&cfg, &lock, clock.now());
    req.history = None;
    req.new_config.transition = Some(transition(Phase::TargetActivating));
    let FlipOutcome::Committed(committed) = store.flip_ownership(&req).await.unwrap() else {
        panic!("flip refused");
    };
    assert_eq!(committed.owner_cluster, "cluster-b");
    let snap = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snap.config, *committed);
    assert!(
        store
            .history(OP, &gid("web"), 10, None)
            .await
            .unwrap()
            .records
            .is_empty()
    );
}

async fn loading_without_the_lock_leaves_it_out_even_when_held(store: &dyn CoordinationStore) {
    let clock = ManualClock::starting_at(t0());
    let (cfg, lock) = group_with_lock(store, &clock).await;
    let without = store
        .load_group_with(OP, &gid("web"), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(without.config, cfg);
    assert_eq!(without.lock, None);
    let with = store
        .load_group_with(OP, &gid("web"), true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(with.lock, Some(lock));
}

// ---------------------------------------------------------------- both backends

macro_rules! contract {
    ($($case:ident),+ $(,)?) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let store = MemoryStore::new();
                    super::$case(&store).await;
                }
            )+
        }
        mod dynamodb {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    let store = support::moto::fresh_store().await;
                    super::$case(&store).await;
                }
            )+
        }
    };
}

contract!(
    a_missing_group_loads_as_none,
    a_created_config_loads_back_with_every_field,
    creating_an_existing_config_returns_the_stored_one_unchanged,
    a_compare_and_set_with_the_current_version_applies_and_bumps_it,
    a_compare_and_set_with_a_stale_version_is_a_conflict_that_changes_nothing,
    a_compare_and_set_on_a_missing_group_is_a_conflict_with_nothing_current,
    heartbeats_load_with_the_group_sorted_and_refreshed_in_place,
    groups_are_listed_per_operator_and_per_cluster,
    a_held_lock_is_refused_to_a_second_holder_with_holder_and_expiry,
    only_the_token_holder_can_renew_or_release_a_lock,
    a_lapsed_lease_is_taken_over_only_if_unchanged_since_observed,
    taking_over_a_lock_that_was_released_meanwhile_just_takes_it,
    history_is_never_overwritten,
    history_pages_newest_first_without_gaps_or_repeats,
    load_group_includes_the_lock_but_never_history,
    the_ownership_flip_writes_config_and_history_together,
    the_flip_is_cancelled_and_writes_nothing_when_config_changed,
    the_flip_is_cancelled_and_writes_nothing_when_the_lock_was_taken_over,
    the_flip_is_cancelled_when_the_lock_was_released,
    of_many_concurrent_lock_attempts_exactly_one_wins,
    of_many_concurrent_compare_and_sets_on_one_version_exactly_one_applies,
    a_transition_in_flight_and_the_epoch_round_trip_through_compare_and_set,
    an_acknowledgement_and_the_fenced_flag_round_trip_in_a_heartbeat,
    superseded_settings_and_applied_specs_round_trip_and_clear_through_compare_and_set,
    a_flip_without_history_moves_ownership_and_writes_no_history,
    loading_without_the_lock_leaves_it_out_even_when_held,
);
