//! `promote --wait` carried out for real: two simulated clusters with their agents run in this
//! process against moto while the binary, in another process, requests the failover and
//! follows it to the end. The session is printed (it is the README's "Using the plugin").

use super::*;
use std::sync::Arc;
use std::time::Duration;
use support::cli::drive_until_exit;
use support::harness::{self, GroupSetup, Harness, stateful};

fn spawn(table: &str, args: &[&str]) -> tokio::process::Child {
    support::cli::spawn(harness::OP, table, args, "alice")
}

#[tokio::test]
async fn promote_wait_follows_real_agents_to_success_and_history_records_who_and_why() {
    let (store, table) = moto::fresh_store_named("kfo-promote-agents").await;
    let store: Arc<dyn CoordinationStore> = Arc::new(store);
    let web = harness::gid("web");
    let mut h = Harness::new(
        store.clone(),
        &["east", "west"],
        vec![GroupSetup::new("web", stateful(), "east")],
    );
    h.run_until(Duration::from_secs(5), "east serves", |h| {
        h.serving_now(&web) == vec!["east".to_string()]
    })
    .await;
    h.run_for(Duration::from_secs(2)).await;

    let before = cli_as(harness::OP, &table, &["status", "shop/web"], "").await;
    assert_eq!(before.code, 0, "{before}");
    let child = spawn(
        &table,
        &[
            "promote",
            "shop/web",
            "--to",
            "west",
            "--yes",
            "--wait",
            "--timeout",
            "90s",
            "--reason",
            "east node upgrade",
        ],
    );
    let run = drive_until_exit(&mut h, child).await;
    assert_eq!(run.code, 0, "{run}\n{}", h.timeline(&web));
    assert!(run.stdout.contains("shop/web: REQUESTED"), "{run}");
    assert!(
        run.stdout.contains("shop/web: west is primary (SUCCESS)"),
        "{run}"
    );
    assert_eq!(h.serving_now(&web), vec!["west".to_string()]);

    let records = h.history(&web).await;
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = &records[0];
    assert_eq!(r.status, "SUCCESS");
    assert_eq!(r.reason, "east node upgrade");
    assert_eq!(r.initiator.as_deref(), Some("alice"));
    assert_eq!(
        (r.source_cluster.as_str(), r.target_cluster.as_str()),
        ("east", "west")
    );

    let after = cli_as(harness::OP, &table, &["status", "shop/web"], "").await;
    let history = cli_as(
        harness::OP,
        &table,
        &["history", "shop/web", "-o", "wide"],
        "",
    )
    .await;
    assert!(after.stdout.contains("Owner: west"), "{after}");
    assert!(history.stdout.contains("east node upgrade"), "{history}");
    // The session, for the README (`cargo test --test cli_promote -- --nocapture promote_wait`).
    println!(
        "$ kubectl failover status shop/web\n{}\n$ kubectl failover promote shop/web --to west --yes --wait --reason \"east node upgrade\"\n{}\n$ kubectl failover status shop/web\n{}\n$ kubectl failover history shop/web -o wide\n{}",
        before.stdout, run.stdout, after.stdout, history.stdout
    );
}
