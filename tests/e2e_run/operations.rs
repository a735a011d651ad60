//! The operator's day on real controllers: `kubectl failover drill` moves the group to west and
//! back through two `kubectl-failover run` processes, and each move's target reports it to a
//! webhook configured from a file, as the Secret of deploy/ mounts it.

use std::time::Duration;

use serde_json::Value;

use crate::e2e::expect;
use crate::e2e::fixtures::Timings;
use crate::e2e::poll::{check, until};
use crate::e2e::world::{OPERATOR, World};
use crate::support::cli::cli_as;
use crate::support::webhook::Receiver;

const LIMIT: Duration = Duration::from_secs(30);
/// The drills' downtime bound. The default (`timeouts.heartbeat + timeouts.deactivation`, 13s
/// in this world) leaves a move here about 2s: its source's pods take 6s to stop (two, one
/// after the other, 3s of grace each), then the volume demotes, and the target's pods start.
/// CI on bd9e9db, its machine loaded by the other lanes, measured a move at 14s and the drill
/// said FAIL, as it should. These tests are about what a drill moves and reports; the verdict
/// against its bound is tested in `ops::drill`.
const MAX_DOWNTIME: &str = "30s";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_moves_the_group_there_and_back_and_each_target_notifies_the_webhook() {
    let receiver = Receiver::start(hyper::StatusCode::OK).await;
    let mut world = World::new("drill", &["east", "west"], "east", &Timings::default()).await;
    let config = world.dir.join("webhooks.yaml");
    std::fs::write(
        &config,
        format!(
            "webhooks:\n  - url: {}/hook\n    format: json\n",
            receiver.url
        ),
    )
    .expect("write the webhooks file");
    for cluster in ["east", "west"] {
        let mut launch = world.launch(cluster);
        launch.set_env("NOTIFY_CONFIG", &config.display().to_string());
        world.start_with(cluster, &launch);
    }
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    world.start_monitor();

    let run = cli_as(
        OPERATOR,
        &world.table,
        &[
            "drill",
            "shop/web",
            "--to",
            "west",
            "--max-downtime",
            MAX_DOWNTIME,
            "--yes",
        ],
        "",
    )
    .await;
    // The report as a person reads it (docs/user-guide.md quotes one).
    eprintln!(
        "$ kubectl failover drill shop/web --to west --max-downtime {MAX_DOWNTIME} --yes\n{}",
        run.stdout
    );
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.starts_with("Failover drill: PASS"), "{run}");
    let moved: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains(" -> ") && l.contains(" moved ") && l.contains(" SUCCESS "))
        .collect();
    assert_eq!(moved.len(), 2, "{run}");

    // Served where it started, both moves in history as drills.
    expect::owner(&world, "east", LIMIT).await;
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    let history = expect::history_len(&world, 2, LIMIT).await;
    assert!(history.iter().all(|h| h.drill), "{history:?}");
    // Newest first: the fail back, then the move out.
    let ids: Vec<String> = history
        .iter()
        .rev()
        .map(|h| h.failover_name.clone())
        .collect();
    for id in &ids {
        assert!(
            run.stdout.contains(id.as_str()),
            "{id} in the report: {run}"
        );
    }

    // Each move started and ended at the webhook, sent by that move's target alone.
    let targets = ["west", "east"];
    let seen = until(LIMIT, "both moves started and ended at the webhook", || {
        let seen = receiver.seen();
        let ids = ids.clone();
        async move {
            let bodies: Vec<Value> = seen.into_iter().map(|r| r.body).collect();
            let ended = |id: &str| {
                bodies
                    .iter()
                    .any(|b| b["kind"] == "FailoverEnded" && b["key"] == id)
            };
            check(ids.iter().all(|id| ended(id)), || format!("{bodies:#?}"))?;
            Ok(bodies)
        }
    })
    .await
    .0;
    // What the receiver got for the move out (docs/user-guide.md, "Notifications", quotes it).
    for body in seen.iter().filter(|b| b["key"] == ids[0].as_str()) {
        eprintln!("webhook: {body}");
    }
    for (id, target) in ids.iter().zip(targets) {
        let of_move: Vec<&Value> = seen.iter().filter(|b| b["key"] == id.as_str()).collect();
        let kinds = |kind: &str| of_move.iter().filter(|b| b["kind"] == kind).count();
        assert_eq!(kinds("FailoverStarted"), 1, "{of_move:#?}");
        assert_eq!(kinds("FailoverEnded"), 1, "{of_move:#?}");
        assert!(
            of_move.iter().all(|b| b["cluster"] == target),
            "every notification of {id} from its target {target}: {of_move:#?}"
        );
        let ended = of_move
            .iter()
            .find(|b| b["kind"] == "FailoverEnded")
            .expect("ended");
        assert_eq!(ended["outcome"], "SUCCESS", "{ended}");
    }
    world.finish().await;
}

/// A converged pair on the e2e harness: east serves, west stands by, the monitor watching.
async fn pair(test: &str) -> World {
    let mut world = World::new(test, &["east", "west"], "east", &Timings::default()).await;
    world.start("east");
    world.start("west");
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    world.start_monitor();
    world
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_drill_s_hold_fails_back_at_once_and_leaves_the_group_served_where_it_was()
{
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    let world = pair("drill-ctrl-c").await;
    let args = ["drill", "shop/web", "--to", "west", "--hold", "5m", "--yes"];
    let mut child = crate::support::cli::command(OPERATOR, &world.table, &args, "tester")
        .spawn()
        .expect("start the drill");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = Vec::new();
    let holding = tokio::time::timeout(LIMIT, async {
        while let Ok(Some(line)) = stderr.next_line().await {
            let hold = line.contains("holding on west");
            seen.push(line);
            if hold {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(holding, Ok(true), "the drill never held on west: {seen:#?}");
    expect::active(world.cluster("west"), LIMIT).await;

    let pid = child.id().expect("pid") as i32;
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let mut stdout = String::new();
    let mut out = child.stdout.take().expect("stdout");
    let (read, status) = tokio::join!(out.read_to_string(&mut stdout), async {
        tokio::time::timeout(LIMIT, child.wait()).await
    });
    read.expect("read the report");
    let status = status.expect("the drill ends within 30 s of Ctrl-C, not after its 5m hold");
    while let Ok(Some(line)) = stderr.next_line().await {
        seen.push(line);
    }
    assert_eq!(status.expect("wait").code(), Some(3), "{stdout}\n{seen:#?}");
    assert!(stdout.contains("Interrupted:"), "{stdout}");
    expect::owner(&world, "east", LIMIT).await;
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    let history = expect::history_len(&world, 2, LIMIT).await;
    assert!(history.iter().all(|h| h.drill), "{history:?}");
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_of_every_group_a_cluster_owns_evacuates_it_and_brings_everything_back() {
    let world = pair("drill-all-from").await;
    let run = cli_as(
        OPERATOR,
        &world.table,
        &[
            "drill",
            "--all-from",
            "east",
            "--to",
            "west",
            "--max-downtime",
            MAX_DOWNTIME,
            "--yes",
        ],
        "",
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.starts_with("Failover drill: PASS"), "{run}");
    assert!(run.stdout.contains("shop/web"), "{run}");
    expect::owner(&world, "east", LIMIT).await;
    expect::active(world.cluster("east"), LIMIT).await;
    let history = expect::history_len(&world, 2, LIMIT).await;
    assert!(history.iter().all(|h| h.drill), "{history:?}");
    world.finish().await;
}
