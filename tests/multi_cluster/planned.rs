//! Planned failovers a person asks for: CONSISTENCY (data first), UPTIME (availability
//! first), UPTIME refused for groups with volumes, and the promote time over every tick phase.

use super::*;

pub async fn a_planned_consistency_failover_stops_the_source_first_and_moves_serving_to_the_target(
    store: Arc<dyn CoordinationStore>,
) {
    let web = gid("web");
    let mut h = world(store, &["a", "b"]).await;
    let before = h.snapshot(&web).await.config;
    let asked = h.now();
    h.promote(&web, "b", FailoverMode::Consistency, false)
        .await
        .expect("accepted");
    let took = h
        .run_until(secs(10.0), "the promote completes", |h| {
            !h.ended(&web).is_empty()
        })
        .await;

    assert_eq!(h.serving_now(&web), vec!["b".to_string()]);
    let cfg = h.snapshot(&web).await;
    assert_eq!(cfg.config.owner_cluster, "b");
    assert_eq!(cfg.config.previous_owner.as_deref(), Some("a"));
    assert!(cfg.config.epoch > before.epoch && cfg.config.transition.is_none());
    assert_eq!(cfg.lock, None, "the lock is released");
    let r = only_record(&h, &web).await;
    assert_eq!(
        (
            r.status.as_str(),
            r.source_cluster.as_str(),
            r.target_cluster.as_str()
        ),
        ("SUCCESS", "a", "b")
    );
    assert_eq!(
        (r.automatic, r.mode.as_deref()),
        (Some(false), Some("CONSISTENCY"))
    );
    // Data first: a stopped serving and demoted its volume before b promoted and served.
    let a = &h.intervals("a", &web)[0];
    let b = &h.intervals("b", &web)[0];
    let a_off = a.to.expect("a stopped");
    assert!(a_off <= b.from, "{}", h.timeline(&web));
    let secondary = h.log.events().into_iter().find(|e| {
        e.cluster == "a" && e.kind == kubectl_failover::k8s::simulated::EventKind::VolumesSecondary
    });
    let primary = h.log.events().into_iter().find(|e| {
        e.cluster == "b" && e.kind == kubectl_failover::k8s::simulated::EventKind::VolumesPrimary
    });
    assert!(secondary.expect("a demoted").at <= primary.expect("b promoted").at);
    println!(
        "planned CONSISTENCY promote: completed {:?} after the request, downtime {:?} (a off at {:?}, b on at {:?})",
        took,
        b.from - a_off,
        a_off - asked,
        b.from - asked
    );
    assert!(
        took <= secs(2.0),
        "a planned promote takes at most 2s with a 1s interval, took {took:?}\n{}",
        h.timeline(&web)
    );
}

pub async fn a_planned_uptime_failover_of_a_stateless_group_serves_on_the_target_before_the_source_stops(
    store: Arc<dyn CoordinationStore>,
) {
    let api = gid("api");
    let mut setup = GroupSetup::new("api", stateless(), "a");
    setup.overlap_allowed = true;
    let mut h = Harness::new(store, &["a", "b"], vec![setup]);
    h.run_until(secs(5.0), "a serves", |h| h.serving("a", &api))
        .await;
    h.run_for(secs(2.0)).await;
    h.promote(&api, "b", FailoverMode::Uptime, false)
        .await
        .expect("accepted without volumes");
    let took = h
        .run_until(secs(10.0), "the promote completes", |h| {
            !h.ended(&api).is_empty()
        })
        .await;

    assert_eq!(h.serving_now(&api), vec!["b".to_string()]);
    let a = &h.intervals("a", &api)[0];
    let b = &h.intervals("b", &api)[0];
    assert!(
        b.from < a.to.expect("a stopped"),
        "availability first: b serves before a stops\n{}",
        h.timeline(&api)
    );
    let r = only_record(&h, &api).await;
    assert_eq!(
        (r.status.as_str(), r.mode.as_deref(), r.downtime),
        ("SUCCESS", Some("UPTIME"), Some(0))
    );
    assert_eq!(h.snapshot(&api).await.config.owner_cluster, "b");
    println!(
        "planned UPTIME promote: completed {took:?} after the request, overlap {:?}",
        a.to.unwrap_or_default() - b.from
    );
}

pub async fn an_uptime_failover_of_a_group_with_volumes_is_refused_unless_forced(
    store: Arc<dyn CoordinationStore>,
) {
    let web = gid("web");
    let mut h = world(store, &["a", "b"]).await;
    let refused = h.promote(&web, "b", FailoverMode::Uptime, false).await;
    assert!(
        matches!(refused, Err(Refusal::UptimeWithVolumes { .. })),
        "{refused:?}"
    );

    // A request written by a tool that did not know about the volumes: the target checks its
    // own cluster and ends it as FAILED before anything activates.
    h.update_config(&web, |c| {
        let mut snap_request = c.clone();
        snap_request.transition = Some(Transition {
            id: "uptime-unchecked".into(),
            source: "a".into(),
            target: "b".into(),
            mode: FailoverMode::Uptime,
            force: false,
            automatic: false,
            reason: "unchecked".into(),
            initiator: "another-tool".into(),
            phase: Phase::Requested,
            requested_at: h.clock.now(),
            source_stopped_at: None,
            drill: false,
        });
        *c = snap_request;
    })
    .await;
    h.run_until(secs(5.0), "the target fails it", |h| {
        !h.ended(&web).is_empty()
    })
    .await;
    let r = only_record(&h, &web).await;
    assert_eq!(r.status, "FAILED");
    assert!(r.reason.contains("volume replications"), "{}", r.reason);
    assert_eq!(h.serving_now(&web), vec!["a".to_string()]);
    assert!(h.intervals("b", &web).is_empty(), "b never served");
    assert_eq!(h.snapshot(&web).await.config.owner_cluster, "a");

    // Forced, it is accepted (the person accepts the split-brain risk of the volumes).
    assert!(
        h.promote(&web, "b", FailoverMode::Uptime, true)
            .await
            .is_ok()
    );
}

/// The worst case over the tick phase: the request lands anywhere between two ticks of either
/// agent (memory store only: twenty worlds).
#[tokio::test]
async fn a_planned_promote_completes_within_two_seconds_whatever_the_tick_phase() {
    let web = gid("web");
    let mut took = Vec::new();
    for offset in 0..20 {
        let mut h = world(Arc::new(MemoryStore::new()), &["a", "b"]).await;
        h.run_for(STEP * offset).await;
        h.promote(&web, "b", FailoverMode::Consistency, false)
            .await
            .expect("accepted");
        let t = h
            .run_until(secs(5.0), "the promote completes", |h| {
                !h.ended(&web).is_empty()
            })
            .await;
        took.push(t);
    }
    let worst = took.iter().max().copied().unwrap_or_default();
    let mean = took.iter().sum::<Duration>() / took.len() as u32;
    println!("planned CONSISTENCY promote over 20 tick phases: mean {mean:?}, worst {worst:?}");
    assert!(worst <= secs(2.0), "{took:?}");
}
