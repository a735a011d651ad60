//! More planned failovers: a Failover created in the source cluster, the failback, and a
//! Failover asking for the cluster that already serves.

use std::time::Duration;

use serde_json::Value;

use crate::e2e::expect;
use crate::e2e::fixtures;
use crate::e2e::poll::{check, until};
use crate::e2e::world::World;
use kubectl_failover::store::HistoryStatus;

const LIMIT: Duration = Duration::from_secs(20);

/// Waits until the Failover `name` in `cluster` has a final phase; returns its status.
async fn finished(world: &World, cluster: &str, name: &str) -> Value {
    let what = format!("Failover {name} in {cluster} finishes");
    until(LIMIT, &what, || {
        let fo = world.cluster(cluster).failover(name);
        async move {
            let status = fo.map(|f| f["status"].clone()).unwrap_or_default();
            let done = status["phase"] == "SUCCEEDED" || status["phase"] == "FAILED";
            check(done, || status.to_string())?;
            Ok(status)
        }
    })
    .await
    .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_asked_in_the_source_cluster_and_its_failback_leave_two_records() {
    let world = crate::scenarios::converged_pair("failback").await;

    // Asking for the cluster that already serves changes nothing.
    world
        .cluster("east")
        .apply(fixtures::failover("stay-east", "east"));
    let status = finished(&world, "east", "stay-east").await;
    assert_eq!(status["groups"][0]["status"], "ALREADY_PRIMARY", "{status}");
    assert!(world.history().await.expect("history").is_empty());

    // Asked in the source cluster, carried out by the target's controller.
    world
        .cluster("east")
        .apply(fixtures::failover("to-west", "west"));
    assert_eq!(
        finished(&world, "east", "to-west").await["phase"],
        "SUCCEEDED"
    );
    expect::owner(&world, "west", LIMIT).await;
    expect::active(world.cluster("west"), LIMIT).await;
    expect::standby(world.cluster("east"), LIMIT).await;

    // And back.
    world
        .cluster("west")
        .apply(fixtures::failover("back-east", "east"));
    assert_eq!(
        finished(&world, "west", "back-east").await["phase"],
        "SUCCEEDED"
    );
    expect::owner(&world, "east", LIMIT).await;
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;

    let history = expect::history_len(&world, 2, LIMIT).await;
    let moves: Vec<(&str, &str, &str)> = history
        .iter()
        .map(|h| {
            (
                h.failover_name.split('-').next().unwrap_or_default(),
                h.source_cluster.as_str(),
                h.target_cluster.as_str(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [("back", "west", "east"), ("to", "east", "west")],
        "newest first"
    );
    assert!(
        history
            .iter()
            .all(|h| h.status == HistoryStatus::Success.to_string()),
        "{history:?}"
    );
    world.finish().await;
}
