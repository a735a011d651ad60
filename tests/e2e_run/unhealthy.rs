//! Automatic failover on health: the primary's volume replication fails, the primary reports
//! ERROR, and after timeouts.unhealthyPrimary the standby takes the group over while the old
//! primary, still running, steps down.

use std::time::Duration;

use crate::e2e::expect;
use crate::e2e::fixtures::Timings;
use crate::e2e::poll::{check, holds, until};
use crate::e2e::world::World;
use kubectl_failover::store::{ClusterState, Health, HistoryStatus};

const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_whose_volume_replication_fails_hands_the_group_to_the_healthy_standby() {
    let mut world = World::new("unhealthy", &["east", "west"], "east", &Timings::default()).await;
    world.start("east");
    world.start("west");
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    world.start_monitor();

    world
        .cluster("east")
        .fail_volumes(Some("VolumeReplicationFailed"));
    until(LIMIT, "east reports ERROR health", || async {
        let snap = world.snapshot().await?.ok_or("no CONFIG")?;
        let east = snap.clusters.iter().find(|c| c.cluster_name == "east");
        check(east.is_some_and(|c| c.health == Health::Error), || {
            format!("{east:?}")
        })
    })
    .await;

    expect::owner(&world, "west", LIMIT).await;
    expect::active(world.cluster("west"), LIMIT).await;
    expect::standby(world.cluster("east"), LIMIT).await;
    let history = expect::history_len(&world, 1, LIMIT).await;
    let h = &history[0];
    assert_eq!(
        (h.source_cluster.as_str(), h.target_cluster.as_str()),
        ("east", "west"),
        "{h:?}"
    );
    assert_eq!(h.automatic, Some(true), "{h:?}");
    assert!(
        [HistoryStatus::Success, HistoryStatus::ForcedComplete]
            .iter()
            .any(|s| h.status == s.to_string()),
        "{h:?}"
    );

    // Healed, east stays on standby: no failback on its own.
    world.cluster("east").fail_volumes(None);
    expect::reported_state(&world, "east", ClusterState::Standby, LIMIT).await;
    holds(Duration::from_secs(3), "west keeps the group", || async {
        let snap = world.snapshot().await?.ok_or("no CONFIG")?;
        check(snap.config.owner_cluster == "west", || {
            snap.config.owner_cluster.clone()
        })
    })
    .await;
    world.finish().await;
}
