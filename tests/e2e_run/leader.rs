//! Two replicas of the controller in one cluster, as deploy/ runs it: one leads through the
//! Lease and acts; when it crashes, the other takes over before the other clusters would
//! presume the cluster dead, so the group stays where it is.

use std::time::Duration;

use crate::e2e::expect;
use crate::e2e::fixtures::Timings;
use crate::e2e::poll::{check, holds, until};
use crate::e2e::process::leads;
use crate::e2e::world::World;

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_leading_replica_crashes_the_other_replica_keeps_the_group_in_its_cluster() {
    let mut world = World::new("leader", &["east", "west"], "east", &Timings::default()).await;
    world.start_replica("east", "a");
    world.start_replica("east", "b");
    world.start("west");
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    world.start_monitor();

    let addr = |world: &mut World, key: &str| {
        world
            .process(key)
            .metrics_addr
            .clone()
            .expect("the harness chose the address")
    };
    let mut leaders = Vec::new();
    for key in ["east/a", "east/b"] {
        let at = addr(&mut world, key);
        let (lead, _) = until(LIMIT, &format!("{key} answers /metrics"), || {
            leads(key, &at)
        })
        .await;
        if lead {
            leaders.push(key);
        }
    }
    assert_eq!(leaders.len(), 1, "exactly one replica leads: {leaders:?}");
    let (leader, other) = if leaders[0] == "east/a" {
        ("east/a", "east/b")
    } else {
        ("east/b", "east/a")
    };

    world.crash(leader).await;
    let at = addr(&mut world, other);
    until(LIMIT, &format!("{other} takes the Lease over"), || async {
        check(leads(other, &at).await?, || {
            format!("{other} does not lead")
        })
    })
    .await;
    // The new leader heartbeats for east before west could presume it dead: no failover.
    holds(Duration::from_secs(6), "east keeps the group", || async {
        let snap = world.snapshot().await?.ok_or("no CONFIG")?;
        let history = world.history().await?;
        check(
            snap.config.owner_cluster == "east" && history.is_empty(),
            || format!("owner {}, history {history:?}", snap.config.owner_cluster),
        )
    })
    .await;
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    world.finish().await;
}
