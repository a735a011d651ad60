//! Two replicas of the controller in one cluster, as deploy/ runs it: one leads through the
//! Lease and acts; when it crashes, the other takes over before the other clusters would
//! presume the cluster dead, so the group stays where it is. A leader cut from its API server
//! (a partitioned node) stops acting by its clock, and only the new leader changes anything.

use std::time::Duration;

use crate::e2e::expect;
use crate::e2e::fixtures::Timings;
use crate::e2e::poll::{check, holds, until};
use crate::e2e::process::{http_get, leads};
use crate::e2e::world::World;
use crate::support::kube_fault_proxy::{KubeFault, KubeFaultProxy, Rule};

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

/// The value of the series `series` (name and labels, as printed) in `addr`'s /metrics; 0 when
/// not printed yet.
async fn counter(addr: &str, series: &str) -> Result<f64, String> {
    let (_, metrics) = http_get(addr, "/metrics").await?;
    Ok(metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0))
}

/// Writes a replica sent to its API server since `from`, other than its Lease calls and
/// Events (a standby replica keeps asking for the Lease; Events change nothing).
fn cluster_writes(proxy: &KubeFaultProxy, from: usize) -> Vec<String> {
    proxy
        .writes()
        .into_iter()
        .skip(from)
        .filter(|w| !w.contains("/leases/") && !w.contains("/events"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_from_its_api_server_stops_acting_and_only_the_new_leader_writes() {
    let mut world = World::new("leader-cut", &["east", "west"], "east", &Timings::default()).await;
    let path_a = world.start_replica_behind_proxy("east", "a").await;
    let a = world
        .process("east/a")
        .metrics_addr
        .clone()
        .expect("address");
    until(LIMIT, "east/a leads", || async {
        check(leads("east/a", &a).await?, || "east/a does not lead".into())
    })
    .await;
    let path_b = world.start_replica_behind_proxy("east", "b").await;
    let b = world
        .process("east/b")
        .metrics_addr
        .clone()
        .expect("address");
    world.start("west");
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    until(LIMIT, "east/b answers as a standby replica", || async {
        check(!leads("east/b", &b).await?, || "east/b leads".into())
    })
    .await;
    world.start_monitor();

    // east/a's node loses its path to the API server: every request hangs, watches included,
    // while DynamoDB still answers it.
    path_a.set_rules(vec![Rule::all(KubeFault::Hang)]);
    until(LIMIT, "east/b takes the Lease over", || async {
        check(leads("east/b", &b).await?, || "east/b does not lead".into())
    })
    .await;
    // The deposed leader's leadership ended by its clock before east/b could take the Lease:
    // its agents write nothing more to the table for east (no heartbeat, no acknowledgement).
    let heartbeats =
        r#"kubectl_failover_store_requests_total{operation="put_cluster_status",result="ok"}"#;
    let deposed = counter(&a, heartbeats).await.expect("east/a /metrics");
    holds(
        Duration::from_secs(4),
        "east/a writes no heartbeat",
        || async {
            let now = counter(&a, heartbeats).await?;
            check(now == deposed, || {
                format!("{now} heartbeats, {deposed} when deposed")
            })
        },
    )
    .await;

    // Its path comes back: it is a standby replica now, and only east/b changes the cluster.
    let (from_a, from_b) = (path_a.writes().len(), path_b.writes().len());
    path_a.clear();
    holds(
        Duration::from_secs(6),
        "east keeps the group, east/a follows",
        || async {
            let snap = world.snapshot().await?.ok_or("no CONFIG")?;
            check(snap.config.owner_cluster == "east", || {
                format!("owner {}", snap.config.owner_cluster)
            })?;
            let stray = cluster_writes(&path_a, from_a);
            check(stray.is_empty(), || {
                format!("east/a still writes: {stray:?}")
            })?;
            check(!leads("east/a", &a).await?, || "east/a leads again".into())
        },
    )
    .await;
    check(path_b.writes().len() > from_b, || {
        "east/b, the leader, sent no write at all (its Lease renewals are writes)".into()
    })
    .expect("east/b acts");
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    world.finish().await;
}
