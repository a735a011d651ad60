//! Transitions that stop making progress (a dead target's rolled back after one heartbeat
//! timeout, not transitoryState) and suspended groups (no automatic failover, manual promotes
//! still work).

use super::*;

pub async fn a_transition_whose_target_died_after_taking_the_lock_is_rolled_back_after_one_heartbeat_timeout(
    store: Arc<dyn CoordinationStore>,
) {
    let web = gid("web");
    let mut h = world(store, &["a", "b"]).await;
    h.promote(&web, "b", FailoverMode::Consistency, false)
        .await
        .expect("accepted");
    let is_deactivating = |e: &kubectl_failover::agent::AgentEvent| {
        e.cluster == "b"
            && matches!(
                e.kind,
                AgentEventKind::PhaseChanged {
                    to: Phase::SourceDeactivating,
                    ..
                }
            )
    };
    h.run_until(secs(5.0), "b persists SOURCE_DEACTIVATING", |h| {
        !h.find(&web, is_deactivating).is_empty()
    })
    .await;
    h.kill("b");
    let stalled = h.now();
    h.run_until(HEARTBEAT + secs(10.0), "the rollback", |h| {
        !h.ended(&web).is_empty()
    })
    .await;
    h.run_until(secs(3.0), "a serves again", |h| h.serving("a", &web))
        .await;

    let ended = h.ended(&web)[0].clone();
    assert_eq!(ended.1.cluster, "a", "the source ends it");
    // The target's silence is judged after timeouts.heartbeat (5s), then the lock it held is
    // taken over: far sooner than transitoryState (30s), which would leave the group unserved.
    assert!(
        ended.0 >= stalled + HEARTBEAT && ended.0 < stalled + HEARTBEAT + secs(5.0),
        "ended after {:?}",
        ended.0 - stalled
    );
    let r = only_record(&h, &web).await;
    assert_eq!(
        (
            r.status.as_str(),
            r.source_cluster.as_str(),
            r.target_cluster.as_str()
        ),
        ("ROLLED_BACK", "a", "b")
    );
    let cfg = h.snapshot(&web).await;
    assert_eq!(
        (
            cfg.config.owner_cluster.as_str(),
            cfg.config.transition.is_none(),
            cfg.lock.is_none()
        ),
        ("a", true, true)
    );
    assert_eq!(
        h.intervals("a", &web).len(),
        2,
        "a stopped for the transition and serves again"
    );
    println!(
        "stuck transition (dead target): rolled back {:?} after the last progress",
        ended.0 - stalled
    );
}

pub async fn a_transition_stuck_on_the_source_volume_is_rolled_back_by_its_driver(
    store: Arc<dyn CoordinationStore>,
) {
    let web = gid("web");
    let mut h = world(store, &["a", "b"]).await;
    h.clusters["a"]
        .set_volume_stuck(&web, "web-data", true)
        .expect("group exists");
    h.promote(&web, "b", FailoverMode::Consistency, false)
        .await
        .expect("accepted");
    let asked = h.now();
    h.run_until(TRANSITORY + secs(10.0), "the rollback", |h| {
        !h.ended(&web).is_empty()
    })
    .await;
    h.run_until(secs(3.0), "a serves again", |h| h.serving("a", &web))
        .await;

    let ended = h.ended(&web)[0].clone();
    assert_eq!(
        ended.1.cluster, "b",
        "the live driver ends its own stuck transition"
    );
    assert!(ended.0 >= asked + TRANSITORY);
    let r = only_record(&h, &web).await;
    assert_eq!(r.status, "ROLLED_BACK");
    assert!(h.intervals("b", &web).is_empty(), "b never served");
    assert_eq!(h.snapshot(&web).await.config.owner_cluster, "a");
}

pub async fn a_suspended_group_is_not_failed_over_automatically_but_a_person_can_still_promote(
    store: Arc<dyn CoordinationStore>,
) {
    let web = gid("web");
    let mut h = world(store, &["a", "b"]).await;
    h.update_config(&web, |c| {
        c.suspended = true;
        c.suspension_reason = Some("maintenance window".into());
    })
    .await;
    h.run_for(secs(2.0)).await;
    h.kill("a");
    h.run_for(HEARTBEAT * 3).await;
    assert!(
        h.find(&web, |e| matches!(
            e.kind,
            AgentEventKind::TransitionStarted { .. }
        ))
        .is_empty()
    );
    let blocked = h.find(&web, |e| matches!(&e.kind, AgentEventKind::FailoverBlocked { message } if message.contains("suspended")));
    assert_eq!(blocked.len(), 1, "reported once: {blocked:?}");
    assert_eq!(h.snapshot(&web).await.config.owner_cluster, "a");
    assert!(
        h.serving_now(&web).is_empty(),
        "a's lease lapsed and nobody took over"
    );

    h.promote(&web, "b", FailoverMode::Consistency, true)
        .await
        .expect("a person may promote");
    h.run_until(secs(5.0), "the promote completes", |h| {
        !h.ended(&web).is_empty()
    })
    .await;
    let r = only_record(&h, &web).await;
    assert_eq!(
        (r.status.as_str(), r.automatic),
        ("FORCED_COMPLETE", Some(false))
    );
    assert_eq!(h.serving_now(&web), vec!["b".to_string()]);
}
