//! Self-fencing: the primary's controller loses its path to DynamoDB while its cluster keeps
//! running. It must take its own cluster out of service before the standby may take over.

use std::time::{Duration, Instant};

use crate::e2e::cluster::AppView;
use crate::e2e::expect;
use crate::e2e::fixtures::{self, Timings};
use crate::e2e::poll::{PERIOD, check, until};
pub use crate::e2e::proxy::{CutProxy, Path};
use crate::e2e::world::World;
use crate::support::moto;
use kubectl_failover::store::{ClusterState, HistoryStatus};

/// Time for each stage after the cut.
const LIMIT: Duration = Duration::from_secs(30);

/// What happened after east was cut off.
struct Cut {
    world: World,
    proxy: CutProxy,
    /// When east stopped serving (traffic off, workloads at 0), after the cut.
    fenced: Duration,
    /// When the table first named west owner, after the cut.
    taken: Duration,
    /// East's objects at that moment.
    east_at_takeover: AppView,
}

/// Two converged clusters, east reaching DynamoDB through a proxy that is then cut (`how`);
/// returns once east has stopped serving and west owns the group.
async fn cut_primary_off(test: &str, how: Path) -> Cut {
    cut_primary_off_timed(test, how, &Timings::default()).await
}

/// [`cut_primary_off`] with `timings`.
async fn cut_primary_off_timed(test: &str, how: Path, timings: &Timings) -> Cut {
    cut_primary_off_with(test, how, timings, None).await
}

/// [`cut_primary_off_timed`], the StatefulSet's pods taking `grace` seconds to stop when given.
async fn cut_primary_off_with(test: &str, how: Path, timings: &Timings, grace: Option<i64>) -> Cut {
    let mut world = World::new(test, &["east", "west"], "east", timings).await;
    if let Some(grace) = grace {
        for name in ["east", "west"] {
            world.cluster(name).apply(fixtures::statefulset(grace));
        }
    }
    let proxy = CutProxy::start(&moto::endpoint()).await;
    let mut launch = world.launch("east");
    launch.set_env("AWS_ENDPOINT", &proxy.url);
    world.start_with("east", &launch);
    world.start("west");
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    world.start_monitor();

    proxy.set_path(how);
    let cut_at = Instant::now();
    let (mut fenced, mut taken) = (None, None);
    while fenced.is_none() || taken.is_none() {
        let east = world.cluster("east").view();
        assert!(
            cut_at.elapsed() < LIMIT,
            "not within {LIMIT:?}: east fenced ({fenced:?}) and west took over ({:?}); east: {}",
            taken.as_ref().map(|(at, _)| at),
            east.summary()
        );
        if fenced.is_none() && !east.serves() {
            fenced = Some(cut_at.elapsed());
        }
        if taken.is_none()
            && let Ok(Some(snap)) = world.snapshot().await
            && snap.config.owner_cluster == "west"
        {
            taken = Some((cut_at.elapsed(), east));
        }
        tokio::time::sleep(PERIOD / 2).await;
    }
    let (taken, east_at_takeover) = taken.expect("loop ends once west took over");
    Cut {
        world,
        proxy,
        fenced: fenced.expect("loop ends once east fenced"),
        taken,
        east_at_takeover,
    }
}

/// East, cut off `how`, stops serving before west takes over, shows FENCED, and once
/// reconnected stands by. The test functions are in each binary's root (tests/e2e_run.rs,
/// tests/e2e_real.rs), which says on which API server it runs.
pub async fn fences_before_takeover(test: &str, how: Path) {
    let Cut {
        world,
        proxy,
        fenced,
        taken,
        east_at_takeover,
    } = cut_primary_off(test, how).await;
    assert!(
        fenced < taken,
        "east must stop serving ({fenced:?} after the cut) before west owns the group ({taken:?})"
    );
    assert!(
        !east_at_takeover.dns_on() && east_at_takeover.web_replicas() == 0,
        "{}",
        east_at_takeover.summary()
    );
    expect::status_role(world.cluster("east"), "FENCED", None, LIMIT).await;
    expect::active(world.cluster("west"), LIMIT).await;
    let history = expect::history_len(&world, 1, LIMIT).await;
    assert_eq!(
        history[0].status,
        HistoryStatus::ForcedComplete.to_string(),
        "{:?}",
        history[0]
    );

    // Reconnected, east learns it no longer owns the group and stays on standby.
    proxy.set_cut(false);
    expect::reported_state(&world, "east", ClusterState::Standby, LIMIT).await;
    expect::status_role(world.cluster("east"), "STANDBY", Some("west"), LIMIT).await;
    expect::standby(world.cluster("east"), LIMIT).await;
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

/// The same cut with the deactivation budget taken out (`timeouts.deactivation: 0s`, the
/// arithmetic before it existed) and StatefulSet pods that take 8 s each to stop (16 s for the
/// two, one after the other): west takes over once east's heartbeat has been silent for
/// `timeouts.heartbeat` while east's pods are still Terminating, and the monitor sees both
/// clusters serve. It shows that the no-overlap scenarios above could fail.
pub async fn without_a_deactivation_budget_the_takeover_overlaps(test: &str) {
    let timings = Timings {
        deactivation: "0s",
        ..Timings::default()
    };
    let Cut { mut world, .. } = cut_primary_off_with(test, Path::Reset, &timings, Some(8)).await;
    expect::active(world.cluster("west"), LIMIT).await;
    let monitor = world.monitor.take().expect("the monitor runs");
    let overlap = monitor.overlap().or_else(|| monitor.volume_overlap());
    assert!(
        overlap.is_some(),
        "no overlap seen in {} samples without the deactivation budget",
        monitor.samples()
    );
    world.finish().await;
}

/// East, cut off, has demoted its volume by the time west owns the group.
pub async fn demotes_its_volume_before_takeover(test: &str) {
    let Cut {
        world,
        east_at_takeover,
        ..
    } = cut_primary_off(test, Path::Reset).await;
    assert_eq!(
        east_at_takeover.volume["status"]["state"],
        "Secondary",
        "east's volume when west took over: {}",
        east_at_takeover.summary()
    );
    world.finish().await;
}

/// East, cut off from DynamoDB while every PATCH of its Ingress hangs (a stuck admission
/// webhook), still scales its workloads down and demotes its volume before west owns the group:
/// a deactivation goes on past a step that fails. Its DNS annotation stays on (that patch never
/// lands), so the serving monitor, which counts the annotation, is not used: what must stop is
/// what writes the data. Needs the in-memory server's hang switch.
// Only tests/e2e_run.rs runs it: the hang switch is the in-memory server's.
#[allow(dead_code)]
pub async fn fences_past_a_hanging_ingress(test: &str) {
    let mut world = World::new(test, &["east", "west"], "east", &Timings::default()).await;
    let proxy = CutProxy::start(&moto::endpoint()).await;
    let mut launch = world.launch("east");
    launch.set_env("AWS_ENDPOINT", &proxy.url);
    world.start_with("east", &launch);
    world.start("west");
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;

    let fake = world
        .cluster("east")
        .api
        .fake()
        .expect("the in-memory API server");
    fake.set_hanging(Some(("PATCH", "/ingresses/")));
    proxy.set_path(Path::Reset);
    let cut_at = Instant::now();
    let stopped = |v: &AppView| {
        v.web_replicas() == 0 && v.db_replicas() == 0 && v.volume["status"]["state"] == "Secondary"
    };
    let (mut stopped_at, mut taken) = (None, None);
    while taken.is_none() {
        let east = world.cluster("east").view();
        assert!(
            cut_at.elapsed() < LIMIT,
            "west did not take over; east: {}",
            east.summary()
        );
        if stopped_at.is_none() && stopped(&east) {
            stopped_at = Some(cut_at.elapsed());
        }
        if let Ok(Some(snap)) = world.snapshot().await
            && snap.config.owner_cluster == "west"
        {
            taken = Some((cut_at.elapsed(), east));
        }
        tokio::time::sleep(PERIOD / 2).await;
    }
    let (taken, east) = taken.expect("loop ends once west took over");
    assert!(
        stopped(&east),
        "east's workloads and volume when west took over ({taken:?} after the cut): {}",
        east.summary()
    );
    assert!(
        stopped_at.is_some_and(|s| s < taken),
        "{stopped_at:?} vs {taken:?}"
    );
    assert!(
        east.dns_on(),
        "the hanging Ingress patch never landed: {}",
        east.summary()
    );

    fake.set_hanging(None);
    proxy.set_path(Path::Open);
    expect::standby(world.cluster("east"), LIMIT).await;
    expect::active(world.cluster("west"), LIMIT).await;
    world.finish().await;
}
