//! A planned failover whose target's region dies mid-transition (its controller killed, its
//! cluster no longer counted: a dead region serves nobody): the group is served again by a
//! living cluster without waiting for `timeouts.transitoryState` (30 s here). Before the flip
//! the transition is rolled back and the source serves again; after it, it is ended and an
//! automatic failover moves the group to a healthy cluster at once (no cool-down for an owner
//! that never served). Timings: interval 1 s, heartbeat 5 s, deactivation 8 s.

use std::time::{Duration, Instant};

use crate::e2e::expect;
use crate::e2e::fixtures::{self, Timings};
use crate::e2e::poll::{check, until};
use crate::e2e::world::World;
use kubectl_failover::store::{HistoryStatus, Phase};

const LIMIT: Duration = Duration::from_secs(40);

/// Three converged clusters (east serving), a planned failover to west under way until
/// `reached` holds of CONFIG (and, with `east_stopped`, until east has stopped serving); then
/// west's region dies. Returns the world and the moment.
async fn kill_the_target_when(
    test: &str,
    reached: impl Fn(&kubectl_failover::store::GroupSnapshot) -> bool,
    east_stopped: bool,
) -> (World, Instant) {
    let mut world = World::new(
        test,
        &["east", "west", "south"],
        "east",
        &Timings::default(),
    )
    .await;
    for c in ["east", "west", "south"] {
        world.start(c);
    }
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    expect::standby(world.cluster("south"), LIMIT).await;
    world.start_monitor();
    world
        .cluster("west")
        .apply(fixtures::failover("to-west", "west"));
    until(LIMIT, "the failover to west reaches the phase", || async {
        let snap = world.snapshot().await?.ok_or("no CONFIG")?;
        check(reached(&snap), || format!("{:?}", snap.config.transition))
    })
    .await;
    if east_stopped {
        until(LIMIT, "east stops serving for the failover", || {
            let east = world.cluster("east").view();
            async move { check(!east.dns_on(), || east.summary()) }
        })
        .await;
    }
    world.crash("west").await;
    if let Some(m) = &world.monitor {
        m.ignore("west", true);
    }
    (world, Instant::now())
}

/// The scenario behind `a_failover_whose_target_dies_before_the_flip_is_rolled_back_at_once`.
pub async fn target_dies_before_the_flip() {
    let (world, died) = kill_the_target_when(
        "dead-target-before",
        |s| {
            s.config.owner_cluster == "east"
                && s.config
                    .transition
                    .as_ref()
                    .is_some_and(|t| t.phase == Phase::SourceDeactivating)
        },
        true,
    )
    .await;
    expect::active(world.cluster("east"), LIMIT).await;
    let served_again = died.elapsed();
    let history = expect::history_len(&world, 1, LIMIT).await;
    assert_eq!(history[0].status, HistoryStatus::RolledBack.to_string());
    assert!(
        history[0].reason.contains("the target west was silent"),
        "{:?}",
        history[0]
    );
    // heartbeat (5 s) + a few intervals + east's workloads starting again; transitoryState
    // (30 s) would be the bound without the rule.
    eprintln!("target dies before the flip: served again after {served_again:?}");
    assert!(served_again < Duration::from_secs(20), "{served_again:?}");
    world.finish().await;
}

/// The scenario behind `a_failover_whose_target_dies_after_the_flip_fails_over_again_at_once`.
pub async fn target_dies_after_the_flip() {
    let (world, died) = kill_the_target_when(
        "dead-target-after",
        |s| s.config.owner_cluster == "west",
        false,
    )
    .await;
    let (serving, _) = until(LIMIT, "east or south serves the group", || async {
        for c in ["east", "south"] {
            if world.cluster(c).view().is_active() {
                return Ok(c);
            }
        }
        Err("neither serves yet".to_string())
    })
    .await;
    let served_again = died.elapsed();
    let history = expect::history_len(&world, 2, LIMIT).await;
    let statuses: Vec<&str> = history.iter().map(|h| h.status.as_str()).collect();
    assert!(
        statuses.contains(&"FORCED_COMPLETE"),
        "the dead target's transition ended: {history:?}"
    );
    let snap = world.snapshot().await.unwrap().unwrap();
    assert_eq!(snap.config.owner_cluster, serving);
    // heartbeat + deactivation (13 s: the new flip waits for the dead owner's silence) + the
    // lock and phases + the workloads starting.
    eprintln!("target dies after the flip: {serving} served again after {served_again:?}");
    assert!(served_again < Duration::from_secs(30), "{served_again:?}");
    world.finish().await;
}
