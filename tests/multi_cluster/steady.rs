//! Over time: the cool-down against ping-pong, and what the steady state costs.

use super::*;

pub async fn the_cool_down_prevents_an_automatic_failover_back_right_after_one(
    store: Arc<dyn CoordinationStore>,
) {
    let web = gid("web");
    let mut h = world(store, &["a", "b", "c"]).await;
    h.kill("a");
    h.run_until(secs(15.0), "the first automatic failover", |h| {
        !h.ended(&web).is_empty()
    })
    .await;
    let first_end = h.ended(&web)[0].0;
    let new_owner = h.snapshot(&web).await.config.owner_cluster;
    assert_eq!(new_owner, "b");
    // The new owner turns unhealthy at once; the remaining standby saw the handover.
    h.clusters["b"]
        .set_component_health_override(&web, "workloads", Some(Health::Error))
        .expect("group exists");
    let is_cooldown = |e: &kubectl_failover::agent::AgentEvent| {
        e.cluster == "c"
            && matches!(&e.kind, AgentEventKind::FailoverBlocked { message } if message.contains("cool-down"))
    };
    h.run_until(COOLDOWN, "c reports the cool-down", |h| {
        !h.find(&web, is_cooldown).is_empty()
    })
    .await;
    h.run_until(
        COOLDOWN + secs(10.0),
        "the second automatic failover",
        |h| h.ended(&web).len() == 2,
    )
    .await;

    let requested = h.requested_here(&web);
    assert_eq!(requested.len(), 2, "{requested:?}");
    let second = requested[1].0;
    assert!(
        second >= first_end + COOLDOWN,
        "second failover {:?} after the first ended\n{}",
        second - first_end,
        h.timeline(&web)
    );
    assert_eq!(h.snapshot(&web).await.config.owner_cluster, "c");
    assert_eq!(h.serving_now(&web), vec!["c".to_string()]);
    println!(
        "cool-down: second automatic failover {:?} after the first ended",
        second - first_end
    );
}

pub async fn a_restarted_old_owner_does_not_fail_the_group_straight_back(
    store: Arc<dyn CoordinationStore>,
) {
    let web = gid("web");
    let mut h = world(store, &["a", "b"]).await;
    h.kill("a");
    h.run_until(secs(15.0), "the first automatic failover", |h| {
        !h.ended(&web).is_empty()
    })
    .await;
    let first_end = h.ended(&web)[0].0;
    assert_eq!(h.snapshot(&web).await.config.owner_cluster, "b");
    // The old owner's agent comes back at once, remembering nothing, while the new owner fails:
    // without a cool-down that survives the restart, a fails the group straight back.
    h.restart("a");
    h.clusters["b"]
        .set_component_health_override(&web, "workloads", Some(Health::Error))
        .expect("group exists");
    h.run_for(COOLDOWN - secs(1.0)).await;
    assert_eq!(
        h.requested_here(&web).len(),
        1,
        "a second automatic failover inside the cool-down\n{}",
        h.timeline(&web)
    );
    assert_eq!(h.serving_now(&web), vec!["b".to_string()]);
    h.run_until(
        COOLDOWN + secs(10.0),
        "the failover back after the cool-down",
        |h| h.ended(&web).len() == 2,
    )
    .await;
    let second = h.requested_here(&web)[1].0;
    assert!(second >= first_end + COOLDOWN, "{:?}", second - first_end);
    assert_eq!(h.serving_now(&web), vec!["a".to_string()]);
}

pub async fn the_steady_state_costs_at_most_one_write_and_one_read_per_group_per_interval(
    store: Arc<dyn CoordinationStore>,
) {
    let groups = vec![
        GroupSetup::new("web", stateful(), "a"),
        GroupSetup::new("api", stateless(), "b"),
    ];
    let mut h = Harness::new(store, &["a", "b", "c"], groups);
    h.run_until(secs(5.0), "both owners serve", |h| {
        h.serving("a", &gid("web")) && h.serving("b", &gid("api"))
    })
    .await;
    h.run_for(secs(3.0)).await;
    let events_before = h.sink.events().len();
    for s in h.stores.values() {
        s.reset_counts();
    }
    let intervals = 20;
    h.run_for(INTERVAL * intervals).await;
    for (name, s) in &h.stores {
        let c = s.counts();
        println!(
            "steady state, cluster {name}: {} writes, {} reads, {} listings over {intervals} intervals x 2 groups ({:.2} writes and {:.2} reads per group per interval) {:?}",
            c.writes,
            c.reads,
            c.listings,
            c.writes as f64 / (2 * intervals) as f64,
            c.reads as f64 / (2 * intervals) as f64,
            c.by_operation
        );
        assert!(c.writes <= 2 * u64::from(intervals), "{name}: {c:?}");
        assert!(c.reads <= 2 * u64::from(intervals), "{name}: {c:?}");
    }
    assert_eq!(
        h.sink.events().len(),
        events_before,
        "nothing happens at steady state"
    );
}
