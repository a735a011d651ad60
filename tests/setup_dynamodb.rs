//! `setup-dynamodb` end to end: the real binary against a real moto server, each test on its own
//! table, the result checked with DescribeTable / DescribeTimeToLive.

mod support;
// The refusal tests, kept in their own file; a test crate root resolves `mod` like a mod.rs.
#[path = "setup_dynamodb/wrong_tables.rs"]
mod wrong_tables;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    BillingMode, KeySchemaElement, ProjectionType, TableDescription, TimeToLiveSpecification,
};
use std::time::{Duration, Instant};
use support::moto;
use tokio::process::Command;

/// What one run of the binary did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `kubectl-failover setup-dynamodb --table-name TABLE FLAGS` against `endpoint`, with only
/// the test credentials in the environment (nothing inherited can point it elsewhere).
async fn setup_at(endpoint: &str, table: &str, flags: &[&str]) -> Run {
    let started = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubectl-failover"));
    cmd.arg("setup-dynamodb")
        .args([
            "--endpoint",
            endpoint,
            "--region",
            moto::REGION,
            "--table-name",
            table,
        ])
        .args(flags)
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", std::env::temp_dir())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("setup-dynamodb did not finish within 60s")
        .expect("could not run the binary");
    Run {
        code: out.status.code().expect("killed by a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

async fn setup(table: &str, flags: &[&str]) -> Run {
    setup_at(&moto::endpoint(), table, flags).await
}

impl Run {
    fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

async fn describe(client: &Client, table: &str) -> TableDescription {
    let out = client.describe_table().table_name(table).send().await;
    out.expect("DescribeTable")
        .table
        .expect("a table description")
}

async fn exists(client: &Client, table: &str) -> bool {
    client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok()
}

async fn ttl(client: &Client, table: &str) -> (String, Option<String>) {
    let out = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await;
    let d = out
        .expect("DescribeTimeToLive")
        .time_to_live_description
        .expect("a TTL description");
    let status = d
        .time_to_live_status
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    (status, d.attribute_name)
}

fn keys(ks: &[KeySchemaElement]) -> Vec<(String, String)> {
    ks.iter()
        .map(|k| {
            (
                k.attribute_name().to_string(),
                k.key_type().as_str().to_string(),
            )
        })
        .collect()
}

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[tokio::test]
async fn pay_per_request_setup_creates_exactly_the_spec_schema_with_ttl_on_ttl() {
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("setup-ppr");
    let run = setup(&table, &[]).await;
    run.assert_code(0);
    assert_eq!(
        run.stdout.trim(),
        format!(
            "table \"{table}\" created (PAY_PER_REQUEST) in us-west-2; GSI1 ACTIVE; TTL on ttl enabled"
        )
    );
    let d = describe(&client, &table).await;
    assert_eq!(
        keys(d.key_schema()),
        vec![pair("PK", "HASH"), pair("SK", "RANGE")]
    );
    let mut attrs: Vec<_> = d
        .attribute_definitions()
        .iter()
        .map(|a| pair(a.attribute_name(), a.attribute_type().as_str()))
        .collect();
    attrs.sort();
    let expected = ["GSI1PK", "GSI1SK", "PK", "SK"].map(|n| pair(n, "S"));
    assert_eq!(attrs, expected.to_vec());
    let billing = d.billing_mode_summary().and_then(|b| b.billing_mode());
    assert_eq!(billing, Some(&BillingMode::PayPerRequest));
    assert_eq!(d.global_secondary_indexes().len(), 1);
    let gsi = &d.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("GSI1"));
    assert_eq!(
        keys(gsi.key_schema()),
        vec![pair("GSI1PK", "HASH"), pair("GSI1SK", "RANGE")]
    );
    let projection = gsi.projection().and_then(|p| p.projection_type());
    assert_eq!(projection, Some(&ProjectionType::All));
    assert_eq!(
        ttl(&client, &table).await,
        ("ENABLED".to_string(), Some("ttl".to_string()))
    );
}

#[tokio::test]
async fn provisioned_setup_applies_the_capacity_to_the_table_and_to_gsi1() {
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("setup-prov");
    let flags = [
        "--pay-per-request=false",
        "--read-capacity=10",
        "--write-capacity=7",
    ];
    let run = setup(&table, &flags).await;
    run.assert_code(0);
    assert!(
        run.stdout.contains("created (PROVISIONED, 10 RCU / 7 WCU)"),
        "{}",
        run.stdout
    );
    let d = describe(&client, &table).await;
    let billing = d.billing_mode_summary().and_then(|b| b.billing_mode());
    assert_eq!(billing, Some(&BillingMode::Provisioned));
    let t = d.provisioned_throughput().expect("table throughput");
    assert_eq!(
        (t.read_capacity_units(), t.write_capacity_units()),
        (Some(10), Some(7))
    );
    let g = d.global_secondary_indexes()[0]
        .provisioned_throughput()
        .expect("GSI1 throughput");
    assert_eq!(
        (g.read_capacity_units(), g.write_capacity_units()),
        (Some(10), Some(7))
    );
}

#[tokio::test]
async fn provisioned_setup_without_capacities_uses_five_and_five_and_the_space_separated_flag() {
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("setup-prov5");
    setup(&table, &["--pay-per-request", "false"])
        .await
        .assert_code(0);
    let d = describe(&client, &table).await;
    let t = d.provisioned_throughput().expect("table throughput");
    assert_eq!(
        (t.read_capacity_units(), t.write_capacity_units()),
        (Some(5), Some(5))
    );
}

#[tokio::test]
async fn a_second_run_says_the_table_already_exists_and_exits_zero() {
    let table = moto::unique_table_name("setup-again");
    setup(&table, &[]).await.assert_code(0);
    let run = setup(&table, &[]).await;
    run.assert_code(0);
    assert_eq!(
        run.stdout.trim(),
        format!(
            "table \"{table}\" already exists and matches the schema (PAY_PER_REQUEST) in us-west-2; GSI1 ACTIVE; TTL on ttl already enabled"
        )
    );
}

#[tokio::test]
async fn a_table_made_by_another_tool_gets_ttl_and_one_with_ttl_elsewhere_only_a_warning() {
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("setup-ttl");
    moto::create_spec_table(&client, &table).await;
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name("expiresAtEpoch");
    let req = client.update_time_to_live().table_name(&table);
    req.time_to_live_specification(spec.build().expect("ttl spec"))
        .send()
        .await
        .expect("ttl");
    let run = setup(&table, &[]).await;
    run.assert_code(0);
    assert!(
        run.stdout.contains("already exists and matches the schema"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("warning:") && run.stderr.contains("\"expiresAtEpoch\""),
        "{}",
        run.stderr
    );
    let expected = ("ENABLED".to_string(), Some("expiresAtEpoch".to_string()));
    assert_eq!(
        ttl(&client, &table).await,
        expected,
        "setup must not move TTL"
    );

    let plain = moto::unique_table_name("setup-ttl-plain");
    moto::create_spec_table(&client, &plain).await;
    setup(&plain, &[]).await.assert_code(0);
    assert_eq!(
        ttl(&client, &plain).await,
        ("ENABLED".to_string(), Some("ttl".to_string()))
    );
}

#[tokio::test]
async fn capacity_flags_with_pay_per_request_are_a_usage_error_and_create_nothing() {
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("setup-usage");
    let run = setup(&table, &["--read-capacity=10"]).await;
    run.assert_code(2);
    assert!(
        run.stderr.contains("--pay-per-request=false"),
        "{}",
        run.stderr
    );
    assert!(
        !exists(&client, &table).await,
        "a usage error must not create the table"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_exits_5_quickly_and_names_the_endpoint() {
    // A port that was just free and that nothing listens on: connections are refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let run = setup_at(&endpoint, "setup-unreachable", &[]).await;
    run.assert_code(5);
    assert!(run.stderr.contains(&endpoint), "{}", run.stderr);
    assert!(run.took < Duration::from_secs(15), "took {:?}", run.took);
}

#[tokio::test]
async fn check_changes_nothing_and_reports_a_missing_table_as_not_found() {
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("setup-check");
    let run = setup(&table, &["--check"]).await;
    run.assert_code(4);
    assert!(
        !exists(&client, &table).await,
        "--check must not create the table"
    );
    moto::create_spec_table(&client, &table).await;
    let run = setup(&table, &["--check"]).await;
    run.assert_code(0);
    assert!(
        run.stdout.contains("matches the schema") && run.stdout.contains("TTL off"),
        "{}",
        run.stdout
    );
    assert_eq!(
        ttl(&client, &table).await.0,
        "DISABLED",
        "--check must not enable TTL"
    );
}

#[tokio::test]
async fn two_setups_at_once_both_succeed_on_one_table() {
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("setup-race");
    let (a, b) = tokio::join!(setup(&table, &[]), setup(&table, &[]));
    a.assert_code(0);
    b.assert_code(0);
    let created = [&a, &b]
        .iter()
        .filter(|r| r.stdout.contains("\" created ("))
        .count();
    assert!(
        created <= 1,
        "only one can have created it:\n{}\n{}",
        a.stdout,
        b.stdout
    );
    assert_eq!(
        describe(&client, &table)
            .await
            .global_secondary_indexes()
            .len(),
        1
    );
}

#[tokio::test]
async fn estimate_prints_the_monthly_cost_and_the_capacity_to_provision_without_calling_aws() {
    // An endpoint nobody listens on: the estimate must not need one.
    let run = setup_at(
        "http://127.0.0.1:9",
        "failover-operator",
        &["--estimate", "1000", "3"],
    )
    .await;
    run.assert_code(0);
    for part in [
        "1000 groups x 3 clusters, heartbeat every 15s",
        "400.0 write units/s, 200.0 read units/s",
        "on demand:",
        "--pay-per-request=false --read-capacity=300 --write-capacity=300",
        "docs/cost.md",
    ] {
        assert!(run.stdout.contains(part), "{part} missing:\n{}", run.stdout);
    }
    let slower = setup_at(
        "http://127.0.0.1:9",
        "t",
        &["--estimate", "1000", "3", "--heartbeat-interval", "30s"],
    )
    .await;
    slower.assert_code(0);
    assert!(
        slower
            .stdout
            .contains("200.0 write units/s, 100.0 read units/s"),
        "{}",
        slower.stdout
    );
    let bad = setup_at("http://127.0.0.1:9", "t", &["--estimate", "0", "3"]).await;
    bad.assert_code(2);
}
