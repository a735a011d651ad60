//! The scenarios that decide safety, run on both backends (tests/e2e_run.rs on the in-memory
//! API server, tests/e2e_real.rs on a real control plane per cluster): steady state, a planned
//! failover, the primary's controller killed, and deleting the FailoverGroup in the standby and
//! in the owner.
use std::time::Duration;

use crate::e2e::expect::{self, EPOCH_ANNOTATION, FINALIZER, REPLICAS_ANNOTATION, annotation};
use crate::e2e::fixtures::{self, NS, Timings};
use crate::e2e::poll::{check, holds, until};
use crate::e2e::world::{OPERATOR, World};
use kube::api::{Api, DeleteParams};
use kubectl_failover::crd::FailoverGroup;
use kubectl_failover::store::{ClusterState, CoordinationStore, HistoryStatus};

/// Time for both clusters to converge after the controllers start.
pub const CONVERGE: Duration = Duration::from_secs(20);
/// Time for a planned failover to complete.
pub const PLANNED: Duration = Duration::from_secs(20);

/// Two clusters, east the initial primary, both controllers running and converged.
pub async fn converged_pair(test: &str) -> World {
    let mut world = World::new(test, &["east", "west"], "east", &Timings::default()).await;
    world.start("east");
    world.start("west");
    expect::active(world.cluster("east"), CONVERGE).await;
    expect::standby(world.cluster("west"), CONVERGE).await;
    world.start_monitor();
    world
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clusters_start_with_the_initial_primary_serving_and_the_other_on_standby() {
    let world = converged_pair("steady").await;
    let east = world.cluster("east").view();
    let west = world.cluster("west").view();

    // The standby remembers what to restore, and no longer runs anything.
    assert_eq!(
        annotation(&west.deployment, REPLICAS_ANNOTATION),
        Some("3"),
        "{}",
        west.summary()
    );
    assert_eq!(
        annotation(&west.statefulset, REPLICAS_ANNOTATION),
        Some("2"),
        "{}",
        west.summary()
    );
    assert!(
        west.cronjob_suspended() && !west.dns_on(),
        "{}",
        west.summary()
    );
    assert_eq!(west.volume["status"]["state"], "Secondary");
    assert_eq!(east.volume["status"]["state"], "Primary");

    // Status in each cluster shows its role and the active cluster.
    let east_status =
        expect::status_role(world.cluster("east"), "PRIMARY", Some("east"), CONVERGE).await;
    expect::status_role(world.cluster("west"), "STANDBY", Some("east"), CONVERGE).await;
    let listed: Vec<&str> = east_status["clusters"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(listed, ["east", "west"], "{east_status}");
    // What a person sees with kubectl.
    let jsonpath = "-o=jsonpath={.items[*].status.role}/{.items[*].status.activeCluster}";
    let seen = world
        .cluster("west")
        .kubectl(&["get", "failovergroups", "-n", NS, jsonpath])
        .await;
    assert_eq!(seen, "STANDBY/east");
    for name in ["east", "west"] {
        let fg = world.cluster(name).failover_group().expect("FailoverGroup");
        let finalizers = fg["metadata"]["finalizers"].to_string();
        assert!(finalizers.contains(FINALIZER), "{name}: {finalizers}");
    }

    // The table: east owns the group, both clusters heartbeat with their roles.
    let snap = expect::owner(&world, "east", CONVERGE).await;
    let states: Vec<(String, ClusterState)> = snap
        .clusters
        .iter()
        .map(|c| (c.cluster_name.clone(), c.state))
        .collect();
    assert_eq!(
        states,
        [
            ("east".to_string(), ClusterState::Primary),
            ("west".to_string(), ClusterState::Standby)
        ]
    );
    let seq = |s: &kubectl_failover::store::GroupSnapshot, name: &str| {
        s.clusters
            .iter()
            .find(|c| c.cluster_name == name)
            .and_then(|c| c.heartbeat_seq)
    };
    let (first_east, first_west) = (seq(&snap, "east"), seq(&snap, "west"));
    until(
        Duration::from_secs(5),
        "both heartbeats advance",
        || async {
            let s = world.snapshot().await?.ok_or("no CONFIG")?;
            let now = (seq(&s, "east"), seq(&s, "west"));
            check(now.0 > first_east && now.1 > first_west, || {
                format!(
                    "east {first_east:?} -> {:?}, west {first_west:?} -> {:?}",
                    now.0, now.1
                )
            })
        },
    )
    .await;
    assert!(world.history().await.expect("history").is_empty());

    // Steady state: nothing flaps (the monitor checks nobody else serves meanwhile).
    holds(
        Duration::from_secs(2),
        "east serves, west stands by",
        || async {
            let (e, w) = (world.cluster("east").view(), world.cluster("west").view());
            check(e.is_active() && w.is_standby(), || {
                format!("east: {}\nwest: {}", e.summary(), w.summary())
            })
        },
    )
    .await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_resource_moves_the_group_and_records_one_successful_failover() {
    let world = converged_pair("planned").await;
    let before = expect::owner(&world, "east", CONVERGE).await;
    world
        .cluster("west")
        .apply(fixtures::failover("to-west", "west"));

    let after = expect::owner(&world, "west", PLANNED).await;
    assert!(after.config.version > before.config.version);
    assert!(
        after.config.epoch > before.config.epoch,
        "the fencing epoch grows"
    );
    assert_eq!(after.config.previous_owner.as_deref(), Some("east"));
    let west = expect::active(world.cluster("west"), PLANNED).await;
    expect::standby(world.cluster("east"), PLANNED).await;
    let stamped: u64 = annotation(&west.deployment, EPOCH_ANNOTATION)
        .and_then(|e| e.parse().ok())
        .unwrap_or_else(|| panic!("west's Deployment carries the epoch: {}", west.summary()));
    assert!(
        stamped >= after.config.epoch,
        "epoch {stamped} < {}",
        after.config.epoch
    );

    let history = expect::history_len(&world, 1, PLANNED).await;
    let h = &history[0];
    assert_eq!(h.status, HistoryStatus::Success.to_string(), "{h:?}");
    assert_eq!(
        (h.source_cluster.as_str(), h.target_cluster.as_str()),
        ("east", "west")
    );
    assert!(h.failover_name.starts_with("to-west"), "{h:?}");

    let (status, _) = until(PLANNED, "the Failover's status shows it succeeded", || {
        let fo = world.cluster("west").failover("to-west");
        async move {
            let status = fo.map(|f| f["status"].clone()).unwrap_or_default();
            check(status["phase"] == "SUCCEEDED", || status.to_string())?;
            Ok(status)
        }
    })
    .await;
    assert_eq!(
        status["groups"][0]["group"],
        format!("{NS}/{}", fixtures::GROUP)
    );
    assert_eq!(status["groups"][0]["status"], "SUCCESS", "{status}");
    expect::status_role(world.cluster("west"), "PRIMARY", Some("west"), PLANNED).await;
    expect::status_role(world.cluster("east"), "STANDBY", Some("west"), PLANNED).await;
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_failover_group_in_the_standby_removes_its_finalizer_and_table_record() {
    let world = converged_pair("delete").await;
    expect::reported_state(&world, "west", ClusterState::Standby, CONVERGE).await;
    let groups: Api<FailoverGroup> = Api::namespaced(world.cluster("west").api.client(), NS);
    groups
        .delete(fixtures::GROUP, &DeleteParams::default())
        .await
        .expect("delete the FailoverGroup");

    until(CONVERGE, "west's FailoverGroup is gone", || {
        let fg = world.cluster("west").failover_group();
        async move { check(fg.is_none(), || format!("{fg:?}")) }
    })
    .await;
    let gone = || async {
        let snap = world.snapshot().await?.ok_or("no CONFIG")?;
        let names: Vec<&str> = snap
            .clusters
            .iter()
            .map(|c| c.cluster_name.as_str())
            .collect();
        check(names == ["east"], || format!("{names:?}"))
    };
    until(CONVERGE, "only east has a CLUSTER# record", gone).await;
    // Heartbeats in flight when the object went must not bring the record back.
    holds(Duration::from_secs(3), "west's record stays deleted", gone).await;
    let memberships = world
        .store
        .list_cluster_groups(OPERATOR, "west")
        .await
        .expect("list west's groups");
    assert!(memberships.items.is_empty(), "{:?}", memberships.items);
    assert!(
        world.cluster("east").view().is_active(),
        "east keeps serving"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_failover_group_in_the_owner_waits_until_it_is_the_last_cluster() {
    let world = converged_pair("delete-owner").await;
    let delete = |cluster: &str| {
        let groups: Api<FailoverGroup> = Api::namespaced(world.cluster(cluster).api.client(), NS);
        async move {
            groups
                .delete(fixtures::GROUP, &DeleteParams::default())
                .await
                .expect("delete the FailoverGroup");
        }
    };
    delete("east").await;

    // The owner must not vanish from the table while west would then take over with east's
    // workloads still running: it stays, says why, and keeps serving.
    until(CONVERGE, "east reports WithdrawalBlocked", || {
        let events = world.cluster("east").api.objects("Event");
        async move {
            let reasons: Vec<String> = events
                .iter()
                .filter_map(|e| e["reason"].as_str().map(str::to_string))
                .collect();
            check(reasons.iter().any(|r| r == "WithdrawalBlocked"), || {
                format!("{reasons:?}")
            })
        }
    })
    .await;
    let fg = world.cluster("east").failover_group().expect("still there");
    assert!(fg["metadata"]["deletionTimestamp"].is_string(), "{fg}");
    // Waited for, not read once: this test's heartbeats are 250 ms apart, and on a loaded
    // machine a heartbeat that misses its interval fences east for a moment (as it must).
    until(CONVERGE, "east still serves", || {
        let active = world.cluster("east").view().is_active();
        async move { check(active, || "east stopped serving".to_string()) }
    })
    .await;
    let snap = expect::owner(&world, "east", CONVERGE).await;
    assert_eq!(snap.clusters.len(), 2, "{:?}", snap.clusters);

    // Once west has left, east is the last cluster and leaves too.
    delete("west").await;
    until(CONVERGE, "both FailoverGroups are gone", || {
        let left: Vec<String> = world
            .clusters
            .values()
            .filter(|c| c.failover_group().is_some())
            .map(|c| c.name.clone())
            .collect();
        async move { check(left.is_empty(), || format!("still there in {left:?}")) }
    })
    .await;
    let snap = world
        .snapshot()
        .await
        .expect("table")
        .expect("CONFIG stays");
    assert!(snap.clusters.is_empty(), "{:?}", snap.clusters);
    assert_eq!(snap.config.owner_cluster, "east", "deleting moves nothing");
    assert!(
        world.cluster("east").view().is_active(),
        "deleting a FailoverGroup never changes its workloads"
    );
    world.finish().await;
}
