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
        &["drill", "shop/web", "--to", "west", "--yes"],
        "",
    )
    .await;
    // The report as a person reads it (docs/user-guide.md quotes one).
    eprintln!(
        "$ kubectl failover drill shop/web --to west --yes\n{}",
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
