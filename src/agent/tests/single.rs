//! One agent alone: bootstrap, activation order, heartbeat sequence, store outages, cost.

use super::*;

#[tokio::test]
async fn a_single_agent_bootstraps_the_group_and_becomes_primary_in_activation_order() {
    let w = World::new();
    let a = w.cluster("a");
    let mut agent = w.agent(&a, "a");
    let report = agent.tick().await;

    assert_eq!(report.store_error, None);
    assert!(report.converged, "{report:?}");
    let d = report.decision.unwrap();
    assert_eq!(d.role, Role::Primary);
    let snap = w.store.load_group(OP, &gid()).await.unwrap().unwrap();
    assert_eq!(snap.config.owner_cluster, "a");
    assert_eq!(
        snap.clusters.len(),
        1,
        "the agent's heartbeat is in the table"
    );
    let order: Vec<EventKind> = w.log.events().into_iter().map(|e| e.kind).collect();
    let want = [
        EventKind::VolumesPrimary,
        EventKind::ScaledUp,
        EventKind::JobsResumed,
        EventKind::ServingStarted,
    ];
    assert_eq!(order, want);
    assert!(a.is_serving(&gid()));
    assert!(matches!(
        kinds(&w.sink).as_slice(),
        [AgentEventKind::RoleChanged {
            from: None,
            to: Role::Primary,
            ..
        }]
    ));
    assert_eq!(agent.next_tick_in(), Duration::from_secs(1));
}

#[tokio::test]
async fn a_standby_never_activates_and_a_bootstrap_never_overwrites_config() {
    let w = World::new();
    let (a, b) = (w.cluster("a"), w.cluster("b"));
    let mut agent_a = w.agent(&a, "a");
    // b's bootstrap names b as owner, but a created CONFIG first: CONFIG wins.
    let mut agent_b = w.agent(&b, "b");
    let _ = agent_a.tick().await;
    let report = agent_b.tick().await;
    assert_eq!(report.decision.unwrap().role, Role::Standby);
    assert!(report.converged);
    assert!(!b.is_serving(&gid()) && a.is_serving(&gid()));
    let snap = w.store.load_group(OP, &gid()).await.unwrap().unwrap();
    assert_eq!(snap.config.owner_cluster, "a");
}

#[tokio::test]
async fn the_heartbeat_sequence_strictly_increases_also_across_a_restart() {
    let w = World::new();
    let a = w.cluster("a");
    let mut agent = w.agent(&a, "a");
    let mut seen = Vec::new();
    for _ in 0..5 {
        let r = agent.tick().await;
        seen.push(w.own_seq("a").await);
        assert_eq!(r.heartbeat_seq, seen.last().copied());
        w.clock.advance(Duration::from_secs(1));
    }
    // A restarted agent (same wall clock second, even) continues above the old values.
    let mut restarted = w.agent(&a, "a");
    let _ = restarted.tick().await;
    seen.push(w.own_seq("a").await);
    let _ = restarted.tick().await;
    seen.push(w.own_seq("a").await);
    assert!(seen.windows(2).all(|p| p[0] < p[1]), "{seen:?}");
}

#[tokio::test]
async fn a_store_outage_makes_the_tick_report_the_error_hold_and_fence_in_time() {
    let w = World::new();
    let a = w.cluster("a");
    let mut agent = w.agent(&a, "a");
    let _ = w.run(&mut agent, Duration::from_secs(3)).await;
    let _ = w.sink.take();
    let cut_at = w.clock.monotonic();
    let last_ok = cut_at - Duration::from_secs(1);
    w.store.set_partitioned(true);

    let r = agent.tick().await;
    assert!(r.held && r.store_error.is_some(), "{r:?}");
    assert_eq!(r.heartbeat_seq, None);
    assert!(r.writes.is_empty());
    // Still PRIMARY: the last successful heartbeat is recent enough.
    assert_eq!(r.decision.as_ref().unwrap().role, Role::Primary);
    assert_eq!(agent.next_tick_in(), Duration::from_secs(1));

    // Past `heartbeat - margin` (5s - 2s) after the last successful heartbeat, the network
    // is off: the agent fences itself (and the watchdog has already cut the traffic).
    let reports = w.run(&mut agent, Duration::from_secs(5)).await;
    assert!(reports.iter().all(|r| r.held));
    assert_eq!(
        reports.last().unwrap().decision.as_ref().unwrap().role,
        Role::Fenced
    );
    assert!(!a.is_serving(&gid()));
    let stopped = w.log.serving_intervals(&gid())[0].to.unwrap();
    assert!(stopped <= last_ok + Duration::from_secs(3), "{stopped:?}");

    // One store error event however many ticks failed, one fence, then recovery.
    let events = kinds(&w.sink);
    let errors = events
        .iter()
        .filter(|k| matches!(k, AgentEventKind::StoreError { .. }))
        .count();
    assert_eq!(errors, 1, "{events:?}");
    assert!(events.contains(&AgentEventKind::RoleChanged {
        from: Some(Role::Primary),
        to: Role::Fenced,
        epoch: 1
    }));
    w.store.set_partitioned(false);
    let r = agent.tick().await;
    assert_eq!(
        r.decision.unwrap().role,
        Role::Primary,
        "un-fenced by a fresh read"
    );
    assert!(a.is_serving(&gid()));
    let events = kinds(&w.sink);
    assert!(
        events.contains(&AgentEventKind::StoreRecovered),
        "{events:?}"
    );
    assert!(events.contains(&AgentEventKind::Unfenced), "{events:?}");
}

#[tokio::test]
async fn a_steady_state_emits_no_events_and_costs_one_write_and_one_read_per_tick() {
    let w = World::new();
    let a = w.cluster("a");
    let mut agent = w.agent(&a, "a");
    let _ = w.run(&mut agent, Duration::from_secs(2)).await;
    let _ = w.sink.take();
    w.store.reset_counts();
    let reports = w.run(&mut agent, Duration::from_secs(10)).await;
    assert_eq!(reports.len(), 10);
    assert!(reports.iter().all(|r| r.converged && r.writes.is_empty()));
    assert_eq!(kinds(&w.sink), Vec::new());
    let counts = w.store.counts();
    assert_eq!((counts.writes, counts.reads), (10, 10), "{counts:?}");
}

#[test]
fn a_bootstrap_for_another_group_or_with_unsafe_timeouts_is_refused_with_the_fix() {
    let w = World::new();
    let a = w.cluster("a");
    let make = |bootstrap: GroupConfig| {
        let spec = GroupSpec {
            group: gid(),
            policy: Default::default(),
            bootstrap,
            settings_from_spec: false,
        };
        let store: Arc<dyn CoordinationStore> = w.store.clone();
        GroupAgent::new(
            spec,
            store,
            a.clone(),
            Arc::new(w.clock.clone()),
            w.sink.clone(),
        )
        .unwrap_err()
        .to_string()
    };
    let mut other = bootstrap("a");
    other.group = GroupId::new("shop", "other").unwrap();
    let text = make(other);
    assert!(
        text.contains("shop/other") && text.contains("cluster a"),
        "{text}"
    );
    let mut unsafe_timeouts = bootstrap("a");
    unsafe_timeouts.timeouts.heartbeat = Duration::from_secs(2).into();
    let text = make(unsafe_timeouts);
    assert!(text.contains("timeouts.heartbeat"), "{text}");
}

// Paused tokio time: the agent's own per-call deadline is the only thing that ends a call.
#[tokio::test(start_paused = true)]
async fn a_primary_whose_store_calls_never_return_still_fences_itself_in_time() {
    let w = World::new();
    let a = w.cluster("a");
    let mut agent = w.agent(&a, "a");
    let _ = w.run(&mut agent, Duration::from_secs(3)).await;
    let last_ok = w.clock.monotonic() - Duration::from_secs(1);
    w.store.set_hanging(true);

    let mut fenced_at = None;
    for _ in 0..20 {
        let report = tokio::time::timeout(Duration::from_secs(60), agent.tick())
            .await
            .expect("a tick ends even when the store never answers");
        assert!(report.held, "{report:?}");
        let error = report.store_error.unwrap_or_default();
        assert!(error.contains("did not answer in time"), "{error}");
        if report.decision.as_ref().unwrap().role == Role::Fenced {
            fenced_at = Some(w.clock.monotonic());
            break;
        }
        w.clock.advance(agent.next_tick_in());
    }
    // Self-fencing is due `heartbeat - margin` (5s - 2s) after the last successful heartbeat;
    // the agent wakes at that deadline rather than a full interval after it.
    let fenced_at = fenced_at.expect("the agent fenced itself");
    assert!(
        fenced_at <= last_ok + Duration::from_secs(3),
        "fenced {:?} after the last good heartbeat",
        fenced_at - last_ok
    );
    assert!(!a.is_serving(&gid()));
}
