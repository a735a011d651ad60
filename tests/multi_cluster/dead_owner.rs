//! An owner that stops answering: its agent dead (forced promote, automatic failover) or cut off
//! from the store (self-fencing).

use super::*;

pub async fn a_forced_failover_with_the_source_agent_dead_waits_for_its_heartbeat_timeout_then_completes(
    store: Arc<dyn CoordinationStore>,
) {
    let web = gid("web");
    let mut h = world(store, &["a", "b"]).await;
    h.kill("a");
    let last_beat = h.last_beat("a", &web).expect("a wrote heartbeats");
    h.promote(&web, "b", FailoverMode::Consistency, true)
        .await
        .expect("accepted");
    h.run_until(secs(15.0), "the forced promote completes", |h| {
        !h.ended(&web).is_empty()
    })
    .await;

    let b_on = h.intervals("b", &web)[0].from;
    let a_off = h.intervals("a", &web)[0]
        .to
        .expect("the watchdog stopped a");
    assert!(
        b_on >= last_beat + HEARTBEAT,
        "b served {:?} after a's last heartbeat\n{}",
        b_on - last_beat,
        h.timeline(&web)
    );
    assert!(
        a_off <= last_beat + HEARTBEAT - 2 * INTERVAL,
        "a's lease lapsed {:?} after its last heartbeat",
        a_off - last_beat
    );
    let r = only_record(&h, &web).await;
    assert_eq!(
        (r.status.as_str(), r.automatic, r.downtime),
        ("FORCED_COMPLETE", Some(false), None)
    );
    assert_eq!(h.serving_now(&web), vec!["b".to_string()]);
    println!(
        "forced promote, dead source: b serves {:?} after a's last heartbeat (a off after {:?})",
        b_on - last_beat,
        a_off - last_beat
    );
}

pub async fn an_automatic_failover_follows_a_dead_owner_within_the_heartbeat_timeout_and_an_interval(
    store: Arc<dyn CoordinationStore>,
) {
    let web = gid("web");
    let mut h = world(store, &["a", "b", "c"]).await;
    h.kill("a");
    let last_beat = h.last_beat("a", &web).expect("a wrote heartbeats");
    h.run_until(secs(15.0), "the automatic failover completes", |h| {
        !h.ended(&web).is_empty()
    })
    .await;

    let requested = h.requested_here(&web);
    assert_eq!(requested.len(), 1, "one request wins: {requested:?}");
    let started = requested[0].0;
    let ended = h.ended(&web)[0].0;
    let detection = started - last_beat;
    assert!(
        detection <= HEARTBEAT + INTERVAL + STEP,
        "detected {detection:?} after the last heartbeat"
    );
    assert!(
        ended - started <= secs(2.0),
        "completed {:?} after the request\n{}",
        ended - started,
        h.timeline(&web)
    );
    let r = only_record(&h, &web).await;
    assert_eq!(
        (r.status.as_str(), r.automatic, r.source_cluster.as_str()),
        ("FORCED_COMPLETE", Some(true), "a")
    );
    assert_eq!(h.serving_now(&web), vec![r.target_cluster.clone()]);
    println!(
        "automatic failover: requested {detection:?} after the owner's last heartbeat, completed {:?} later, {} serves {:?} after it",
        ended - started,
        r.target_cluster,
        h.intervals(&r.target_cluster, &web)[0].from - last_beat
    );
    h.run_for(secs(10.0)).await;
    assert_eq!(h.history(&web).await.len(), 1, "no second failover");
}

pub async fn a_partitioned_owner_fences_itself_before_the_new_owner_serves_and_stays_standby_after(
    store: Arc<dyn CoordinationStore>,
) {
    let web = gid("web");
    let mut h = world(store, &["a", "b"]).await;
    h.partition("a", true);
    let cut = h.now();
    let last_beat = h.last_beat("a", &web).expect("a wrote heartbeats");
    h.run_until(secs(15.0), "b takes over", |h| !h.ended(&web).is_empty())
        .await;
    let a_off = h.intervals("a", &web)[0].to.expect("a fenced itself");
    let b_on = h.intervals("b", &web)[0].from;
    assert!(a_off < b_on, "{}", h.timeline(&web));
    let fenced = h.find(&web, |e| {
        e.cluster == "a" && matches!(e.kind, AgentEventKind::Fenced { .. })
    });
    assert_eq!(fenced.len(), 1, "{}", h.timeline(&web));
    assert_eq!(h.role("a", &web), Some(Role::Fenced));

    h.partition("a", false);
    h.run_for(secs(10.0)).await;
    assert_eq!(h.role("a", &web), Some(Role::Standby));
    assert_eq!(h.serving_now(&web), vec!["b".to_string()]);
    assert_eq!(h.intervals("a", &web).len(), 1, "a never served again");
    let r = only_record(&h, &web).await;
    assert_eq!(
        (r.status.as_str(), r.automatic),
        ("FORCED_COMPLETE", Some(true))
    );
    println!(
        "partitioned owner: cut {:?} after its last heartbeat; a off {:?} after it, b on {:?} after it",
        cut - last_beat,
        a_off - last_beat,
        b_on - last_beat
    );
    assert!(
        a_off <= last_beat + HEARTBEAT - 2 * INTERVAL,
        "fenced within heartbeat - margin"
    );
}

pub async fn an_owner_whose_agent_restarts_within_the_heartbeat_timeout_keeps_serving_without_a_failover(
    store: Arc<dyn CoordinationStore>,
) {
    let web = gid("web");
    let mut h = world(store, &["a", "b"]).await;
    h.kill("a");
    h.run_for(secs(2.0)).await;
    h.restart("a");
    h.run_for(HEARTBEAT * 2).await;
    assert!(
        h.history(&web).await.is_empty(),
        "no failover\n{}",
        h.timeline(&web)
    );
    assert!(h.requested_here(&web).is_empty());
    assert_eq!(h.role("a", &web), Some(Role::Primary));
    // The restarted agent renewed the serving lease before the old one lapsed: no gap.
    assert_eq!(h.intervals("a", &web).len(), 1, "{}", h.timeline(&web));
    assert_eq!(h.serving_now(&web), vec!["a".to_string()]);
}
