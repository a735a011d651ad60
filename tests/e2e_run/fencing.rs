//! Self-fencing: the primary's controller loses its path to DynamoDB while its cluster keeps
//! running. It must take its own cluster out of service before the standby may take over.

use std::time::{Duration, Instant};

use crate::e2e::expect;
use crate::e2e::fixtures::Timings;
use crate::e2e::poll::{PERIOD, check, until};
use crate::e2e::proxy::CutProxy;
use crate::e2e::world::World;
use crate::support::moto;
use kubectl_failover::store::{ClusterState, HistoryStatus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_cut_off_from_dynamodb_stops_serving_before_the_standby_takes_over() {
    let mut world = World::new("fence", &["east", "west"], "east", &Timings::default()).await;
    let proxy = CutProxy::start(&moto::endpoint()).await;
    let mut launch = world.launch("east");
    launch.set_env("AWS_ENDPOINT", &proxy.url);
    world.start_with("east", &launch);
    world.start("west");
    expect::active(world.cluster("east"), Duration::from_secs(20)).await;
    expect::standby(world.cluster("west"), Duration::from_secs(20)).await;
    world.start_monitor();

    proxy.set_cut(true);
    let cut_at = Instant::now();
    let mut fenced_at = None;
    let mut taken_at = None;
    let limit = Duration::from_secs(30);
    while fenced_at.is_none() || taken_at.is_none() {
        assert!(
            cut_at.elapsed() < limit,
            "not within {limit:?}: east fenced ({fenced_at:?}) and west took over ({taken_at:?}); east: {}",
            world.cluster("east").view().summary()
        );
        if fenced_at.is_none() && !world.cluster("east").view().serves() {
            fenced_at = Some(cut_at.elapsed());
        }
        if taken_at.is_none()
            && let Ok(Some(snap)) = world.snapshot().await
            && snap.config.owner_cluster == "west"
        {
            taken_at = Some(cut_at.elapsed());
        }
        tokio::time::sleep(PERIOD / 2).await;
    }
    let (fenced, taken) = (fenced_at.unwrap_or_default(), taken_at.unwrap_or_default());
    assert!(
        fenced < taken,
        "east must stop serving ({fenced:?} after the cut) before west owns the group ({taken:?})"
    );
    expect::status_role(world.cluster("east"), "FENCED", None, limit).await;
    expect::active(world.cluster("west"), limit).await;
    let history = expect::history_len(&world, 1, limit).await;
    assert_eq!(
        history[0].status,
        HistoryStatus::ForcedComplete.to_string(),
        "{:?}",
        history[0]
    );

    // Reconnected, east learns it no longer owns the group and stays on standby.
    proxy.set_cut(false);
    expect::reported_state(&world, "east", ClusterState::Standby, limit).await;
    expect::status_role(world.cluster("east"), "STANDBY", Some("west"), limit).await;
    expect::standby(world.cluster("east"), limit).await;
    until(
        Duration::from_secs(3),
        "west still owns the group",
        || async {
            let snap = world.snapshot().await?.ok_or("no CONFIG")?;
            check(snap.config.owner_cluster == "west", || {
                snap.config.owner_cluster.clone()
            })
        },
    )
    .await;
    world.finish().await;
}
