//! `drill` end to end: the real binary against moto's DynamoDB server while two simulated
//! clusters with the real agents (a harness world in this process) carry the moves out. A drill
//! to west and back passes with both moves timed and marked as drills in HISTORY; a dry run
//! writes nothing; a suspended group is refused; the report renders as JSON and Markdown.
//! `cargo test --test cli_drill -- --nocapture` prints a real report (docs/user-guide.md).

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use kubectl_failover::store::{CoordinationStore, GroupId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use support::cli::{Run, cli_as, drive_until_exit, spawn};
use support::harness::{self, GroupSetup, Harness, OP, stateful};
use support::moto;

/// shop/web on east and west, owned by east, served by east and settled.
async fn world(prefix: &str) -> (Harness, String, GroupId) {
    let (store, table) = moto::fresh_store_named(prefix).await;
    let store: Arc<dyn CoordinationStore> = Arc::new(store);
    let web = harness::gid("web");
    let mut h = Harness::new(
        store,
        &["east", "west"],
        vec![GroupSetup::new("web", stateful(), "east")],
    );
    h.run_until(Duration::from_secs(5), "east serves", |h| {
        h.serving_now(&web) == vec!["east".to_string()]
    })
    .await;
    h.run_for(Duration::from_secs(2)).await;
    (h, table, web)
}

/// Runs the binary while the world's agents run.
async fn drill(h: &mut Harness, table: &str, args: &[&str]) -> Run {
    let child = spawn(OP, table, args, "alice");
    drive_until_exit(h, child).await
}

/// Every item of the table but the heartbeat records (which the agents rewrite every
/// interval), sorted: what a command that writes nothing must leave exactly as it was.
async fn scan_without_heartbeats(table: &str) -> Vec<HashMap<String, AttributeValue>> {
    let client = moto::sdk_client().await;
    let out = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .send()
        .await
        .expect("scan");
    let key = |item: &HashMap<String, AttributeValue>, k: &str| match item.get(k) {
        Some(AttributeValue::S(s)) => s.clone(),
        _ => String::new(),
    };
    let mut items: Vec<HashMap<String, AttributeValue>> = out
        .items()
        .iter()
        .filter(|item| !key(item, "SK").starts_with("CLUSTER#"))
        .cloned()
        .collect();
    items.sort_by_key(|item| (key(item, "PK"), key(item, "SK")));
    items
}

#[tokio::test]
async fn a_drill_to_west_and_back_passes_and_both_moves_are_recorded_as_drills() {
    let (mut h, table, web) = world("kfo-drill").await;
    let run = drill(
        &mut h,
        &table,
        &["drill", "shop/web", "--to", "west", "--yes"],
    )
    .await;
    assert_eq!(run.code, 0, "{run}\n{}", h.timeline(&web));
    let report = &run.stdout;
    assert!(report.starts_with("Failover drill: PASS\n"), "{run}");
    assert!(report.contains("route     east -> west -> east"), "{run}");
    let row = |route: &str| {
        report
            .lines()
            .find(|l| l.contains(route) && l.contains("drill-"))
            .unwrap_or_else(|| panic!("no move {route}:\n{run}"))
            .to_string()
    };
    for route in ["east -> west   out", "west -> east   back"] {
        let r = row(route);
        assert!(r.contains("moved") && r.contains("SUCCESS"), "{r}");
    }
    assert!(report.contains("shop/web east -> west: "), "{run}");
    assert!(report.contains("TARGET_ACTIVATING"), "{run}");
    assert!(report.contains("\nVerdict: PASS: "), "{run}");
    assert!(run.stderr.contains("failing back"), "{run}");
    assert_eq!(h.serving_now(&web), vec!["east".to_string()]);

    let records = h.history(&web).await;
    assert_eq!(records.len(), 2, "{records:#?}");
    for r in &records {
        assert!(r.drill, "{r:#?}");
        assert_eq!(r.status, "SUCCESS");
        assert!(r.failover_name.starts_with("drill-"), "{r:#?}");
        assert!(r.reason.starts_with("failover drill: "), "{r:#?}");
        assert_eq!(r.initiator.as_deref(), Some("alice"));
    }
    let routes: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r.source_cluster.as_str(), r.target_cluster.as_str()))
        .collect();
    assert_eq!(routes, [("west", "east"), ("east", "west")], "newest first");

    let json = cli_as(OP, &table, &["history", "shop/web", "-o", "json"], "").await;
    assert_eq!(json.code, 0, "{json}");
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(doc["failovers"][0]["drill"], true, "{json}");
    assert_eq!(doc["failovers"][1]["drill"], true, "{json}");
    let table_view = cli_as(OP, &table, &["history", "shop/web"], "").await;
    assert!(
        table_view
            .stdout
            .lines()
            .next()
            .unwrap_or("")
            .ends_with("DRILL"),
        "{table_view}"
    );
    // The session, for docs/user-guide.md ("Drills").
    println!(
        "$ kubectl failover drill shop/web --to west --yes\n{}{}\n$ kubectl failover history shop/web\n{}",
        run.stderr, run.stdout, table_view.stdout
    );
}

#[tokio::test]
async fn the_report_comes_as_json_with_durations_and_downtimes_and_as_markdown() {
    let (mut h, table, web) = world("kfo-drill-doc").await;
    let args = ["drill", "shop/web", "--to", "west", "--yes", "-o", "json"];
    let run = drill(&mut h, &table, &args).await;
    assert_eq!(run.code, 0, "{run}\n{}", h.timeline(&web));
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(doc["verdict"]["result"], "PASS", "{run}");
    assert_eq!(doc["plan"]["to"], "west");
    assert_eq!(doc["plan"]["groups"][0]["from"], "east");
    // The harness's timeouts: heartbeat 5s + deactivation 0s.
    assert_eq!(doc["plan"]["groups"][0]["boundSeconds"], 5.0);
    let moves = doc["moves"].as_array().expect("moves");
    assert_eq!(moves.len(), 2, "{run}");
    for (m, (leg, source, target)) in moves
        .iter()
        .zip([("out", "east", "west"), ("back", "west", "east")])
    {
        assert_eq!(
            (
                m["leg"].as_str(),
                m["source"].as_str(),
                m["target"].as_str()
            ),
            (Some(leg), Some(source), Some(target)),
            "{m}"
        );
        assert_eq!(m["result"], "moved", "{m}");
        assert_eq!(m["status"], "SUCCESS", "{m}");
        assert!(m["tookSeconds"].as_f64().is_some_and(|s| s > 0.0), "{m}");
        assert_eq!(m["downtime"]["from"], "history", "{m}");
        assert!(
            m["downtime"]["seconds"].as_f64().is_some_and(|s| s <= 5.0),
            "{m}"
        );
        let phases = m["phases"].as_array().expect("phases");
        assert!(!phases.is_empty(), "{m}");
        assert!(phases.iter().all(|p| p["seconds"].is_number()), "{m}");
    }
    let checks = doc["checks"].as_array().expect("checks");
    assert!(checks.iter().all(|c| c["ok"] == true), "{run}");
    assert!(
        checks.iter().any(|c| c["check"] == "target heartbeat"),
        "{run}"
    );

    let md = drill(
        &mut h,
        &table,
        &[
            "drill", "shop/web", "--to", "west", "--yes", "-o", "markdown",
        ],
    )
    .await;
    assert_eq!(md.code, 0, "{md}\n{}", h.timeline(&web));
    assert!(md.stdout.starts_with("## Failover drill: PASS\n"), "{md}");
    assert!(
        md.stdout.contains("| Group | Move | Leg | Transition |"),
        "{md}"
    );
    assert!(md.stdout.contains("|---|---|"), "{md}");
    assert!(
        md.stdout
            .contains("| shop/web | east -> west | out | `drill-west-"),
        "{md}"
    );
    assert_eq!(h.history(&web).await.len(), 4);
}

#[tokio::test]
async fn a_dry_run_checks_and_plans_and_writes_nothing() {
    let (mut h, table, web) = world("kfo-drill-dry").await;
    let before = scan_without_heartbeats(&table).await;
    let run = drill(
        &mut h,
        &table,
        &[
            "drill",
            "shop/web",
            "--to",
            "west",
            "--hold",
            "5m",
            "--dry-run",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout.contains("plan: CONSISTENCY east -> west"),
        "promote's plan: {run}"
    );
    assert!(
        run.stdout.contains("Plan (dry run: nothing written)"),
        "{run}"
    );
    assert!(run.stdout.contains("hold 5m00s on west"), "{run}");
    assert!(run.stdout.contains("Verdict: PLANNED"), "{run}");
    assert_eq!(
        scan_without_heartbeats(&table).await,
        before,
        "a dry run wrote to the table"
    );
    assert!(h.history(&web).await.is_empty());
    assert_eq!(h.serving_now(&web), vec!["east".to_string()]);
}

#[tokio::test]
async fn a_suspended_group_is_refused_with_the_reason_and_nothing_is_written() {
    let (h, table, web) = world("kfo-drill-suspended").await;
    let suspend = cli_as(
        OP,
        &table,
        &["suspend", "shop/web", "--reason", "db migration"],
        "",
    )
    .await;
    assert_eq!(suspend.code, 0, "{suspend}");
    let before = h.snapshot(&web).await.config;
    let run = cli_as(
        OP,
        &table,
        &["drill", "shop/web", "--to", "west", "--yes"],
        "",
    )
    .await;
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stdout.starts_with("Failover drill: REFUSED\n"), "{run}");
    assert!(
        run.stderr.contains("error: drill refused, nothing written: shop/web not suspended: automatic failover is suspended (db migration)"),
        "{run}"
    );
    assert!(
        run.stderr.contains("kubectl failover resume shop/web"),
        "{run}"
    );
    let after = h.snapshot(&web).await.config;
    assert_eq!((after.version, after.transition), (before.version, None));
    assert!(h.history(&web).await.is_empty());
}
