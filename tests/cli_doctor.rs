//! `doctor` end to end: the real binary against two in-memory API servers (contexts east and
//! west of one kubeconfig) and moto's DynamoDB. A healthy pair passes (exit 0, every line PASS
//! or SKIPPED with its reason); then one thing is broken at a time and the named failure and
//! its fix are asserted, with exit code 3. IAM denials cannot be produced here (moto does not
//! enforce IAM), so a fault proxy in front of it denies one action with DynamoDB's own
//! `AccessDeniedException`; the classification of other answers is unit-tested in
//! src/ops/doctor/table_tests.rs.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "support/fault_proxy.rs"]
mod fault_proxy;
#[path = "support/moto.rs"]
mod moto;

#[path = "cli_doctor/setup.rs"]
mod setup;

use serde_json::{Value, json};
use setup::{Options, both, doctor, doctor_with_env, setup};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_pair_passes_every_check_or_says_why_it_skipped_one() {
    let s = setup(Options::default()).await;
    let run = both(&s).await;
    // The real output, for docs/user-guide.md (`cargo test --test cli_doctor -- --nocapture`).
    println!("{}", run.stdout);
    assert_eq!(run.code, 0, "{run}");
    let lines = run.checklist();
    assert!(lines.len() >= 20, "{run}");
    for line in &lines {
        assert!(
            line.starts_with("PASS ") || line.starts_with("SKIPPED "),
            "{line}\n{run}"
        );
    }
    run.check("PASS", "CRDs the same in every cluster");
    run.check("PASS", "CLUSTER_NAME distinct");
    run.check(
        "PASS",
        "IAM dynamodb:TransactWriteItems and dynamodb:ConditionCheckItem",
    );
    run.check("PASS", "external-dns in east (external-dns/external-dns)");
    let (skipped, _) = run.check("SKIPPED", "external-dns in west");
    assert!(skipped.contains("no external-dns Deployment"), "{run}");
    assert!(
        run.stdout
            .contains("note: IAM checks use this machine's credentials"),
        "{run}"
    );
    let json = doctor(
        &s,
        &["--context", "east", "--context", "west", "-o", "json"],
    )
    .await;
    assert_eq!(json.code, 0, "{json}");
    let doc: Value = serde_json::from_str(&json.stdout).expect("JSON document");
    assert_eq!(doc["counts"]["fail"], 0, "{json}");
    assert_eq!(doc["contexts"], json!(["east", "west"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clusters_with_one_cluster_name_fail_with_the_fix() {
    let s = setup(Options {
        west_cluster_name: "east",
        ..Options::default()
    })
    .await;
    let run = both(&s).await;
    assert_eq!(run.code, 3, "{run}");
    let (line, fix) = run.check("FAIL", "CLUSTER_NAME distinct");
    assert!(
        line.contains("east and west all have CLUSTER_NAME=east"),
        "{run}"
    );
    let fix = fix.expect("a fix");
    assert!(
        fix.contains("give each cluster its own CLUSTER_NAME") && fix.contains("--context west"),
        "{run}"
    );
    assert!(
        run.stderr.contains("checks failed (CLUSTER_NAME distinct"),
        "{run}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_crd_fails_naming_it_and_the_apply_command() {
    let s = setup(Options {
        west_failover_crd: false,
        ..Options::default()
    })
    .await;
    let run = both(&s).await;
    assert_eq!(run.code, 3, "{run}");
    let (line, fix) = run.check("FAIL", "CRDs in west");
    assert!(
        line.contains("failovers.kubectl-failover.io not installed"),
        "{run}"
    );
    assert!(
        fix.expect("a fix")
            .contains("kubectl --context west apply -f deploy/crds/failover.yaml"),
        "{run}"
    );
    run.check("PASS", "CRDs in east");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_heartbeat_fails_naming_the_group_and_the_cluster() {
    let s = setup(Options {
        west_heartbeat_age: Duration::from_secs(600),
        ..Options::default()
    })
    .await;
    let run = both(&s).await;
    assert_eq!(run.code, 3, "{run}");
    let (line, fix) = run.check("FAIL", "heartbeats of shop/web");
    assert!(
        line.contains("west's heartbeat is") && line.contains("older than timeouts.heartbeat 1m"),
        "{run}"
    );
    assert!(
        fix.expect("a fix")
            .contains("kubectl --context west -n shop get failovergroup web"),
        "{run}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_without_gsi1_fails_the_shape_check_with_the_setup_command() {
    let s = setup(Options {
        gsi1: false,
        ..Options::default()
    })
    .await;
    let run = both(&s).await;
    assert_eq!(run.code, 3, "{run}");
    let (line, fix) = run.check("FAIL", "table shape");
    assert!(line.contains("GSI1 is missing"), "{run}");
    assert!(
        fix.expect("a fix")
            .contains("setup-dynamodb --table-name NEW"),
        "{run}"
    );
    // Reads and conditional writes by key still prove their permissions.
    run.check("PASS", "IAM dynamodb:PutItem");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_without_holder_fails_and_an_unreachable_context_is_one_failure_not_a_hang() {
    let s = setup(Options {
        east_lease_holder: false,
        ..Options::default()
    })
    .await;
    let started = std::time::Instant::now();
    let run = doctor(
        &s,
        &[
            "--context",
            "east",
            "--context",
            "west",
            "--context",
            "gone",
        ],
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(60), "{run}");
    assert_eq!(run.code, 3, "{run}");
    let (line, fix) = run.check("FAIL", "leader Lease in east");
    assert!(
        line.contains("Lease kubectl-failover-system/kubectl-failover-leader has no holder"),
        "{run}"
    );
    assert!(
        fix.expect("a fix")
            .contains("kubectl --context east -n kubectl-failover-system"),
        "{run}"
    );
    run.check("PASS", "leader Lease in west");
    let (gone, _) = run.check("FAIL", "API server of gone");
    assert!(gone.contains("could not be reached"), "{run}");
    run.check("SKIPPED", "other checks of gone");
}

/// Every item of `table` (maps compare regardless of order).
async fn scan(
    table: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let client = moto::sdk_client().await;
    let out = client
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("scan the table");
    out.items().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_without_put_item_fail_the_iam_check_naming_the_action_and_nothing_is_written()
{
    let s = setup(Options::default()).await;
    let proxy = fault_proxy::FaultProxy::start(&moto::endpoint()).await;
    proxy.deny("PutItem");
    let before = scan(&s.table).await;
    let run = doctor_with_env(
        &s,
        &["--context", "east", "--context", "west"],
        &[("AWS_ENDPOINT", proxy.url.as_str())],
    )
    .await;
    // The real output, for docs/user-guide.md (`cargo test --test cli_doctor -- --nocapture`).
    println!("{}", run.stdout);
    assert_eq!(run.code, 3, "{run}");
    let (line, fix) = run.check("FAIL", "IAM dynamodb:PutItem");
    assert!(
        line.contains(
            "missing dynamodb:PutItem on arn:aws:dynamodb:us-west-2:123456789012:table/probe"
        ),
        "{run}"
    );
    let fix = fix.expect("a fix");
    assert!(
        fix.contains("add dynamodb:PutItem") && fix.contains("deploy/iam-policy.json"),
        "{run}"
    );
    assert!(proxy.injected() >= 1, "the proxy denied the probe");
    // The other write actions are proved by their failed conditions, without writing.
    run.check("PASS", "IAM dynamodb:UpdateItem");
    run.check("PASS", "IAM dynamodb:DeleteItem");
    run.check(
        "PASS",
        "IAM dynamodb:TransactWriteItems and dynamodb:ConditionCheckItem",
    );
    let after = scan(&s.table).await;
    assert!(
        after.len() == before.len() && after.iter().all(|i| before.contains(i)),
        "the doctor wrote to the table:\nbefore {before:?}\nafter {after:?}"
    );
}
