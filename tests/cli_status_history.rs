//! `status` and `history` end to end: the real binary against moto's DynamoDB server, with
//! records written through the store and, like another tool would write them, with raw PutItem.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{Duration, Utc};
use kubectl_failover::store::dynamodb::DynamoStore;
use kubectl_failover::store::{
    ClusterState, ClusterStatus, CoordinationStore, GroupConfig, GroupId, Health, HistoryRecord,
    LockOutcome, LockRequest,
};
use std::collections::{BTreeMap, HashMap};
use support::moto;

const OP: &str = "cli-test-op";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary against `table` with fake credentials and the test server's endpoint.
async fn kubectl_failover(table: &str, args: &[&str]) -> Run {
    let endpoint = moto::endpoint();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-failover"));
    cmd.args(["--endpoint", &endpoint, "--region", moto::REGION])
        .args(["--table-name", table, "--operator-id", OP])
        .args(args)
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = cmd.output().await.expect("run kubectl-failover");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

fn ok(run: Run) -> Run {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// shop/web through the store: owner cluster-a, standby cluster-b, a lock, three failovers.
async fn seed_through_the_store(store: &DynamoStore) {
    let now = Utc::now();
    let id = GroupId::new("shop", "web").unwrap();
    let mut config = GroupConfig::new(OP, id.clone(), "cluster-a", now);
    config.previous_owner = Some("cluster-b".into());
    let _ = store.create_config(&config).await.unwrap();
    for (name, state) in [
        ("cluster-a", ClusterState::Primary),
        ("cluster-b", ClusterState::Standby),
    ] {
        let status = ClusterStatus {
            cluster_name: name.into(),
            health: Health::Ok,
            state,
            last_heartbeat: Some(now),
            heartbeat_seq: Some(5),
            components: BTreeMap::new(),
            ack: None,
            fenced: false,
        };
        store.put_cluster_status(OP, &id, &status).await.unwrap();
    }
    let request = LockRequest {
        holder: "cluster-b".into(),
        reason: "promote cluster-b".into(),
        lease: std::time::Duration::from_secs(600),
        now,
    };
    assert!(matches!(
        store.acquire_lock(OP, &id, &request).await.unwrap(),
        LockOutcome::Acquired(_)
    ));
    for (i, reason) in ["oldest drill", "middle drill", "newest drill"]
        .iter()
        .enumerate()
    {
        let start = now - Duration::hours(3 - i as i64);
        let record = HistoryRecord {
            failover_name: format!("fo-{i}"),
            source_cluster: "cluster-a".into(),
            target_cluster: "cluster-b".into(),
            start_time: start,
            end_time: Some(start + Duration::seconds(40)),
            status: "SUCCESS".into(),
            reason: reason.to_string(),
            downtime: Some(7),
            duration: Some(40),
            mode: None,
            automatic: Some(false),
            initiator: None,
            drill: false,
        };
        let _ = store.append_history(OP, &id, &record).await.unwrap();
    }
}

/// legacy/app as the Go operator writes it: Go duration strings, components as a JSON string,
/// no heartbeat sequence, no lock.
async fn seed_like_another_tool(store: &DynamoStore) {
    let pk = format!("GROUP#{OP}#legacy#app");
    let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let config: HashMap<String, AttributeValue> = HashMap::from([
        ("PK".into(), s(&pk)),
        ("SK".into(), s("CONFIG")),
        ("GSI1PK".into(), s(&format!("OPERATOR#{OP}"))),
        ("GSI1SK".into(), s("GROUP#legacy#app")),
        ("operatorID".into(), s(OP)),
        ("groupNamespace".into(), s("legacy")),
        ("groupName".into(), s("app")),
        ("ownerCluster".into(), s("cluster-x")),
        ("previousOwner".into(), s("")),
        ("version".into(), AttributeValue::N("4".into())),
        (
            "timeouts".into(),
            AttributeValue::M(HashMap::from([
                ("transitoryState".into(), s("10m")),
                ("unhealthyPrimary".into(), s("2m")),
                ("heartbeat".into(), s("90s")),
            ])),
        ),
        ("heartbeatInterval".into(), s("15s")),
        ("lastUpdated".into(), s(&now)),
        ("suspended".into(), AttributeValue::Bool(true)),
        ("suspensionReason".into(), s("db migration")),
    ]);
    let cluster: HashMap<String, AttributeValue> = HashMap::from([
        ("PK".into(), s(&pk)),
        ("SK".into(), s("CLUSTER#cluster-x")),
        ("GSI1PK".into(), s("CLUSTER#cluster-x")),
        ("GSI1SK".into(), s("GROUP#legacy#app")),
        ("operatorID".into(), s(OP)),
        ("groupNamespace".into(), s("legacy")),
        ("groupName".into(), s("app")),
        ("clusterName".into(), s("cluster-x")),
        ("health".into(), s("DEGRADED")),
        ("state".into(), s("PRIMARY")),
        ("lastHeartbeat".into(), s(&now)),
        (
            "components".into(),
            s(r#"{"deploy/app":{"health":"DEGRADED","message":"1/2 ready"}}"#),
        ),
    ]);
    for item in [config, cluster] {
        store
            .client()
            .put_item()
            .table_name(store.table())
            .set_item(Some(item))
            .send()
            .await
            .expect("raw PutItem");
    }
}

async fn seeded() -> DynamoStore {
    let (store, _) = moto::fresh_store_named("kfo-cli").await;
    seed_through_the_store(&store).await;
    seed_like_another_tool(&store).await;
    store
}

/// Splits a table's rows into whitespace-separated cells (no cell in these fixtures has spaces).
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn status_all_namespaces_lists_groups_from_the_store_and_from_another_tool() {
    let store = seeded().await;
    let run = ok(kubectl_failover(store.table(), &["status", "-A"]).await);
    let table = rows(&run.stdout);
    assert_eq!(
        table[0],
        [
            "NAMESPACE",
            "NAME",
            "OWNER",
            "CLUSTERS",
            "LOCK",
            "SUSPENDED",
            "VERSION",
            "LAST-FAILOVER"
        ],
        "{}",
        run.stdout
    );
    assert_eq!(table.len(), 3, "{}", run.stdout);
    // legacy/app: its only cluster is DEGRADED, so 0 of 1 healthy; suspended; version 4.
    assert_eq!(
        table[1],
        [
            "legacy",
            "app",
            "cluster-x",
            "0/1",
            "<none>",
            "yes",
            "4",
            "<none>"
        ]
    );
    assert_eq!(
        table[2],
        [
            "shop",
            "web",
            "cluster-a",
            "2/2",
            "cluster-b",
            "no",
            "1",
            "<none>"
        ]
    );
    assert!(!run.stderr.contains("Warning"), "{}", run.stderr);
}

#[tokio::test]
async fn status_of_one_group_as_json_is_the_full_view() {
    let store = seeded().await;
    let run = ok(kubectl_failover(store.table(), &["status", "shop/web", "-o", "json"]).await);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect(&run.stdout);
    assert_eq!(doc["namespace"], "shop");
    assert_eq!(doc["ownerCluster"], "cluster-a");
    assert_eq!(doc["previousOwner"], "cluster-b");
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["clusters"][0]["name"], "cluster-a");
    assert_eq!(doc["clusters"][0]["role"], "PRIMARY");
    assert_eq!(doc["clusters"][1]["role"], "STANDBY");
    assert_eq!(doc["clusters"][1]["heartbeatSeq"], 5);
    assert_eq!(doc["clusters"][1]["heartbeatStale"], false);
    assert_eq!(doc["lock"]["lockedBy"], "cluster-b");
    assert_eq!(doc["lock"]["lapsed"], false);
    let left = doc["lock"]["expiresInSeconds"].as_i64().expect("a number");
    assert!((500..=600).contains(&left), "{left}");
}

#[tokio::test]
async fn status_of_a_namespace_as_yaml_reads_the_other_tools_records() {
    let store = seeded().await;
    let run = ok(kubectl_failover(store.table(), &["status", "-n", "legacy", "-o", "yaml"]).await);
    let doc: serde_json::Value = serde_saphyr::from_str(&run.stdout).expect(&run.stdout);
    let groups = doc["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1, "{}", run.stdout);
    let app = &groups[0];
    assert_eq!(app["name"], "app");
    // Go writes an unset previousOwner as "": that is "none", not a cluster named "".
    assert_eq!(app["previousOwner"], serde_json::Value::Null);
    assert_eq!(app["suspended"], true);
    assert_eq!(app["suspensionReason"], "db migration");
    assert_eq!(app["timeouts"]["heartbeat"], "1m30s");
    assert_eq!(app["heartbeatInterval"], "15s");
    let x = &app["clusters"][0];
    assert_eq!(x["health"], "DEGRADED");
    assert_eq!(x["heartbeatSeq"], serde_json::Value::Null);
    assert_eq!(x["components"]["deploy/app"]["message"], "1/2 ready");
}

#[tokio::test]
async fn history_with_a_limit_shows_only_the_newest_failovers() {
    let store = seeded().await;
    let run = ok(kubectl_failover(store.table(), &["history", "shop/web", "--limit", "2"]).await);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[0].starts_with("START   SOURCE"), "{}", run.stdout);
    assert!(lines[1].ends_with("newest drill"), "{}", run.stdout);
    assert!(lines[2].ends_with("middle drill"), "{}", run.stdout);
    assert!(
        lines[1].starts_with("60m ") && lines[2].starts_with("120m"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn an_empty_history_is_reported_and_exits_zero() {
    let store = seeded().await;
    let run = ok(kubectl_failover(store.table(), &["history", "-n", "legacy", "app"]).await);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("No failovers recorded for legacy/app."),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_missing_group_exits_4_naming_group_operator_and_how_to_list() {
    let store = seeded().await;
    for args in [&["status", "shop/nope"][..], &["history", "shop/nope"][..]] {
        let run = kubectl_failover(store.table(), args).await;
        assert_eq!(run.code, 4, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("shop/nope"), "{}", run.stderr);
        assert!(run.stderr.contains(OP), "{}", run.stderr);
        assert!(run.stderr.contains(store.table()), "{}", run.stderr);
        assert!(
            run.stderr.contains("kubectl failover status -A"),
            "{}",
            run.stderr
        );
    }
}

#[tokio::test]
async fn a_missing_table_exits_4_and_says_to_run_setup_dynamodb() {
    let table = moto::unique_table_name("kfo-cli-missing");
    let run = kubectl_failover(&table, &["status", "-A"]).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("setup-dynamodb"), "{}", run.stderr);
    assert!(run.stderr.contains(&table), "{}", run.stderr);
}

#[tokio::test]
async fn all_namespaces_together_with_a_group_is_a_usage_error() {
    let table = moto::unique_table_name("kfo-cli-usage");
    let run = kubectl_failover(&table, &["status", "-A", "shop/web"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("not both"), "{}", run.stderr);
    assert_eq!(run.stdout, "");
}
