//! `promote`, `suspend` and `resume` end to end: the real binary against moto's DynamoDB server.
//! Requests are checked in the table itself; refusals by exit code, message and an unchanged
//! CONFIG; `--wait` against no agents (timeout) and against agents of simulated clusters that
//! really carry the failover out.

mod support;

#[path = "cli_promote/agents.rs"]
mod agents;
#[path = "cli_promote/refusals.rs"]
mod refusals;
#[path = "cli_promote/suspend.rs"]
mod suspend;
#[path = "cli_promote/watch.rs"]
mod watch;

use chrono::Utc;
use kubectl_failover::store::dynamodb::DynamoStore;
use kubectl_failover::store::{
    ClusterState, ClusterStatus, CoordinationStore, GroupConfig, GroupId, Health, Phase,
};
use std::collections::BTreeMap;
use std::process::Stdio;
use support::moto;

pub const OP: &str = "cli-promote-op";

pub use support::cli::{Run, cli_as};

/// [`cli_as`] for operator [`OP`] with nothing on stdin.
pub async fn cli(table: &str, args: &[&str]) -> Run {
    cli_as(OP, table, args, "").await
}

pub fn gid(ns: &str, name: &str) -> GroupId {
    GroupId::new(ns, name).expect("valid group")
}

/// A group owned by `owner` with fresh heartbeats from `clusters`.
pub async fn seed_group(store: &DynamoStore, group: &GroupId, owner: &str, clusters: &[&str]) {
    let now = Utc::now();
    let config = GroupConfig::new(OP, group.clone(), owner, now);
    let _ = store.create_config(&config).await.expect("create config");
    for name in clusters {
        let status = ClusterStatus {
            cluster_name: name.to_string(),
            health: Health::Ok,
            state: if *name == owner {
                ClusterState::Primary
            } else {
                ClusterState::Standby
            },
            last_heartbeat: Some(now),
            heartbeat_seq: Some(1),
            components: BTreeMap::new(),
            ack: None,
            fenced: false,
        };
        store
            .put_cluster_status(OP, group, &status)
            .await
            .expect("put cluster");
    }
}

/// A fresh table with shop/web owned by east (standby west).
pub async fn east_west() -> DynamoStore {
    let (store, _) = moto::fresh_store_named("kfo-promote").await;
    seed_group(&store, &gid("shop", "web"), "east", &["east", "west"]).await;
    store
}

pub async fn config(store: &DynamoStore, group: &GroupId) -> GroupConfig {
    store
        .load_group(OP, group)
        .await
        .expect("load")
        .expect("group exists")
        .config
}

#[tokio::test]
async fn a_confirmed_promote_writes_the_request_with_mode_reason_and_initiator() {
    let store = east_west().await;
    let web = gid("shop", "web");
    let run = cli(
        store.table(),
        &[
            "promote",
            "shop/web",
            "--to",
            "west",
            "--yes",
            "--reason",
            "east patching",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    // The plan came first: topology, then the steps in order.
    let plan = &run.stdout;
    assert!(plan.contains("shop/web: owner east, version 1"), "{run}");
    assert!(plan.contains("plan: CONSISTENCY east -> west"), "{run}");
    let stop = plan
        .find("on east (PRIMARY -> STANDBY)")
        .expect("source steps");
    let start = plan
        .find("on west (STANDBY -> PRIMARY)")
        .expect("target steps");
    assert!(stop < start, "{run}");
    assert!(
        plan.contains("requested CONSISTENCY failover east -> west"),
        "{run}"
    );

    let cfg = config(&store, &web).await;
    let t = cfg.transition.expect("a transition in CONFIG");
    assert_eq!((t.source.as_str(), t.target.as_str()), ("east", "west"));
    assert_eq!(t.phase, Phase::Requested);
    assert_eq!(t.reason, "east patching");
    assert_eq!(t.initiator, "tester", "no kubeconfig: $USER");
    assert!(!t.force && !t.automatic);
    assert_eq!(cfg.version, 2);
    assert_eq!(cfg.owner_cluster, "east", "only asked; the agents move it");
}

#[tokio::test]
async fn a_dry_run_prints_the_plan_and_writes_nothing() {
    let store = east_west().await;
    let run = cli(
        store.table(),
        &["promote", "-n", "shop", "web", "--to", "west", "--dry-run"],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("plan: CONSISTENCY east -> west"),
        "{run}"
    );
    assert!(run.stdout.ends_with("Dry run: nothing written.\n"), "{run}");
    let cfg = config(&store, &gid("shop", "web")).await;
    assert_eq!((cfg.version, cfg.transition), (1, None));
}

#[tokio::test]
async fn answering_no_aborts_and_answering_yes_writes() {
    let store = east_west().await;
    let web = gid("shop", "web");
    let no = cli_as(
        OP,
        store.table(),
        &["promote", "shop/web", "--to", "west"],
        "n\n",
    )
    .await;
    assert_eq!(no.code, 3, "{no}");
    assert!(no.stdout.contains("Proceed? [y/N]"), "{no}");
    assert!(no.stderr.contains("aborted, nothing written"), "{no}");
    assert_eq!(config(&store, &web).await.version, 1);

    let yes = cli_as(
        OP,
        store.table(),
        &["promote", "shop/web", "--to", "west"],
        "y\n",
    )
    .await;
    assert_eq!(yes.code, 0, "{yes}");
    assert!(config(&store, &web).await.transition.is_some());
}

#[tokio::test]
async fn force_explains_itself_and_needs_the_group_name_typed_back() {
    let store = east_west().await;
    let web = gid("shop", "web");
    let args = ["promote", "shop/web", "--to", "west", "--force"];
    let wrong = cli_as(OP, store.table(), &args, "y\n").await;
    assert_eq!(wrong.code, 3, "{wrong}");
    assert!(
        wrong.stdout.contains("does not wait for the old primary"),
        "{wrong}"
    );
    assert!(wrong.stdout.contains("Type shop/web to confirm"), "{wrong}");
    assert_eq!(config(&store, &web).await.version, 1);

    let typed = cli_as(OP, store.table(), &args, "shop/web\n").await;
    assert_eq!(typed.code, 0, "{typed}");
    let t = config(&store, &web).await.transition.expect("requested");
    assert!(t.force);
}

#[tokio::test]
async fn all_from_moves_every_group_the_cluster_owns_and_only_those() {
    let (store, _) = moto::fresh_store_named("kfo-promote-all").await;
    for (ns, name, owner) in [
        ("shop", "web", "east"),
        ("shop", "api", "east"),
        ("blog", "site", "east"),
        ("blog", "cms", "west"),
    ] {
        seed_group(&store, &gid(ns, name), owner, &["east", "west"]).await;
    }
    let run = cli(
        store.table(),
        &[
            "promote",
            "--all-from",
            "east",
            "--to",
            "west",
            "--yes",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect(&run.stdout);
    let groups: Vec<&str> = doc["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["group"].as_str().expect("name"))
        .collect();
    assert_eq!(groups, ["blog/site", "shop/api", "shop/web"], "{run}");
    assert!(
        doc["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["result"]["outcome"] == "requested"),
        "{run}"
    );
    for (ns, name) in [("shop", "web"), ("shop", "api"), ("blog", "site")] {
        let t = config(&store, &gid(ns, name)).await.transition;
        assert_eq!(t.expect("requested").target, "west");
    }
    assert_eq!(config(&store, &gid("blog", "cms")).await.transition, None);
}

#[tokio::test]
async fn wait_without_agents_times_out_with_exit_6_naming_the_stuck_phase() {
    let store = east_west().await;
    let run = cli(
        store.table(),
        &[
            "promote",
            "shop/web",
            "--to",
            "west",
            "--yes",
            "--wait",
            "--timeout",
            "2s",
        ],
    )
    .await;
    assert_eq!(run.code, 6, "{run}");
    assert!(run.stdout.contains("shop/web: REQUESTED"), "{run}");
    assert!(
        run.stderr.contains("not completed within 2s")
            && run.stderr.contains("stuck in phase REQUESTED")
            && run.stderr.contains("west's agent has not taken it up"),
        "{run}"
    );
}
