//! The binary as a kubectl plugin: a real kubectl (KFO_KUBECTL, v1.37) finds it on PATH and
//! passes arguments and exit codes through untouched; the plugin reads the kubeconfig itself
//! (`--kubeconfig`, `--context`), takes the store settings from the operator's ConfigMap in the
//! context (the in-memory API server), reads the FailoverGroup for the plan, and with
//! `--via-cr` creates a Failover there instead of writing to DynamoDB.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
mod support;

use apiserver::FakeApiServer;
use clap::CommandFactory;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, PostParams};
use kubectl_failover::crd::{Failover, FailoverGroup};
use kubectl_failover::store::{
    ClusterState, ClusterStatus, CoordinationStore, GroupConfig, GroupId, Health,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use support::moto;

const OP: &str = "plugin-op";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A directory holding `kubectl-failover` (a link to the test binary), put first on PATH.
fn plugin_dir() -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("kfo-plugin-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("kubectl-failover");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kubectl-failover"), &link).unwrap();
    dir
}

fn kubectl_path() -> String {
    std::env::var("KFO_KUBECTL").unwrap_or_else(|_| "kubectl".to_string())
}

/// Runs `kubectl ARGS` with only the plugin directory and the system on PATH.
async fn kubectl(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Run {
    let out = tokio::process::Command::new(kubectl_path())
        .args(args)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", dir.display()))
        .env("HOME", dir)
        .env("KUBECONFIG", dir.join("no-kubeconfig"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("USER", "tester")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .expect("run kubectl");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("utf-8"),
        stderr: String::from_utf8(out.stderr).expect("utf-8"),
    }
}

#[tokio::test]
async fn kubectl_plugin_list_finds_the_binary_on_path() {
    let dir = plugin_dir();
    let run = kubectl(&dir, &["plugin", "list"], &[]).await;
    assert_eq!(run.code, 0, "{run}");
    let expected = dir.join("kubectl-failover");
    assert!(run.stdout.contains(&*expected.to_string_lossy()), "{run}");
    assert!(!run.stderr.contains("warning"), "{run}");
}

#[tokio::test]
async fn kubectl_failover_help_lists_every_subcommand() {
    let dir = plugin_dir();
    let run = kubectl(&dir, &["failover", "--help"], &[]).await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("Usage: kubectl failover"), "{run}");
    let cli = kubectl_failover::cli::Cli::command();
    let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
    assert!(names.len() >= 9, "{names:?}");
    for name in names {
        assert!(
            run.stdout.contains(&format!("\n  {name} ")),
            "{name} missing:\n{run}"
        );
    }
    for word in ["--kubeconfig", "--context", "--color", "Exit codes"] {
        assert!(run.stdout.contains(word), "{word} missing:\n{run}");
    }
}

#[tokio::test]
async fn arguments_output_and_exit_codes_pass_through_kubectl() {
    let dir = plugin_dir();
    let version = kubectl(&dir, &["failover", "version", "-o", "json"], &[]).await;
    assert_eq!(version.code, 0, "{version}");
    let doc: serde_json::Value = serde_json::from_str(&version.stdout).expect(&version.stdout);
    assert_eq!(doc["version"], env!("CARGO_PKG_VERSION"));

    let usage = kubectl(&dir, &["failover", "promote", "shop/web"], &[]).await;
    assert_eq!(usage.code, 2, "{usage}");
    assert!(usage.stderr.contains("--to <CLUSTER>"), "{usage}");

    let table = moto::unique_table_name("kfo-plugin-missing");
    let endpoint = moto::endpoint();
    let missing = kubectl(
        &dir,
        &[
            "failover",
            "status",
            "-A",
            "--table-name",
            &table,
            "--endpoint",
            &endpoint,
            "--operator-id",
            OP,
        ],
        &[],
    )
    .await;
    assert_eq!(missing.code, 4, "{missing}");
    assert!(missing.stderr.contains(&table), "{missing}");
}

/// An API server holding the operator's ConfigMap (pointing at `table`), the CRDs and the
/// shop/web FailoverGroup; its kubeconfig, with a second, unreachable context, is `dir/kubeconfig`.
async fn cluster_with_configmap(dir: &Path, table: &str) -> FakeApiServer {
    let server = FakeApiServer::start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    for crd in [Failover::crd(), FailoverGroup::crd()] {
        crds.create(&PostParams::default(), &crd)
            .await
            .expect("create CRD");
    }
    server.put_object(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kubectl-failover-config", "namespace": "kubectl-failover-system"},
        "data": {
            "AWS_REGION": moto::REGION,
            "DYNAMODB_TABLE_NAME": table,
            "OPERATOR_ID": OP,
            "AWS_ENDPOINT": moto::endpoint(),
            "AWS_USE_LOCAL_ENDPOINT": "true",
        },
    }));
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/samples/failovergroup.yaml"
    ))
    .unwrap();
    let group: serde_json::Value = serde_saphyr::from_str(&sample).unwrap();
    server.put_object(group);
    let unreachable = "- name: down\n  context:\n    cluster: down\n    user: down\n";
    let config = server
        .kubeconfig_yaml("lab")
        .replace("contexts:\n", &format!("contexts:\n{unreachable}"));
    let config = config.replace(
        "clusters:\n",
        "clusters:\n- name: down\n  cluster:\n    server: http://127.0.0.1:1\n",
    );
    let config = config.replace("users:\n", "users:\n- name: down\n  user:\n    token: x\n");
    // The context's namespace is the application's, so `status web` means shop/web.
    let config = config.replace("namespace: default", "namespace: shop");
    std::fs::write(dir.join("kubeconfig"), config).unwrap();
    server
}

async fn seeded_table() -> (kubectl_failover::store::dynamodb::DynamoStore, String) {
    let (store, table) = moto::fresh_store_named("kfo-plugin").await;
    let id = GroupId::new("shop", "web").unwrap();
    let now = chrono::Utc::now();
    let _ = store
        .create_config(&GroupConfig::new(OP, id.clone(), "east", now))
        .await
        .unwrap();
    for (name, state) in [
        ("east", ClusterState::Primary),
        ("west", ClusterState::Standby),
    ] {
        let status = ClusterStatus {
            cluster_name: name.into(),
            health: Health::Ok,
            state,
            last_heartbeat: Some(now),
            heartbeat_seq: Some(1),
            components: BTreeMap::new(),
            ack: None,
            fenced: false,
        };
        store.put_cluster_status(OP, &id, &status).await.unwrap();
    }
    (store, table)
}

#[tokio::test]
async fn store_settings_come_from_the_operator_configmap_of_the_chosen_context() {
    let dir = plugin_dir();
    let (_store, table) = seeded_table().await;
    let _server = cluster_with_configmap(&dir, &table).await;
    let kubeconfig = dir.join("kubeconfig").to_string_lossy().into_owned();
    let run = kubectl(
        &dir,
        &[
            "failover",
            "-v",
            "--kubeconfig",
            &kubeconfig,
            "--context",
            "lab",
            "status",
            "-A",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("shop        web    east"), "{run}");
    assert!(
        run.stderr.contains("DYNAMODB_TABLE_NAME: from ConfigMap kubectl-failover-system/kubectl-failover-config in context lab"),
        "{run}"
    );
    assert!(run.stderr.contains("1 group: 1 all healthy"), "{run}");

    // Without -n a bare NAME is in the context's namespace, as in kubectl.
    let one = kubectl(
        &dir,
        &["failover", "--kubeconfig", &kubeconfig, "status", "web"],
        &[],
    )
    .await;
    assert_eq!(one.code, 0, "{one}");
    assert!(
        one.stdout.starts_with("Group: shop/web   Owner: east"),
        "{one}"
    );

    // KUBECONFIG is honoured like kubectl does; a flag still wins over the ConfigMap.
    let flagged = kubectl(
        &dir,
        &[
            "failover",
            "-v",
            "--context",
            "lab",
            "status",
            "-A",
            "--operator-id",
            "someone-else",
        ],
        &[("KUBECONFIG", kubeconfig.clone())],
    )
    .await;
    assert_eq!(flagged.code, 0, "{flagged}");
    assert!(
        flagged.stderr.contains("OPERATOR_ID: from the flag"),
        "{flagged}"
    );
    assert!(
        flagged.stderr.contains("No failover groups found"),
        "{flagged}"
    );

    // An unreachable context falls back to flags, environment and defaults, and says so.
    let down = kubectl(
        &dir,
        &[
            "failover",
            "-v",
            "--kubeconfig",
            &kubeconfig,
            "--context",
            "down",
            "status",
            "-A",
        ],
        &[
            ("DYNAMODB_TABLE_NAME", table.clone()),
            ("AWS_ENDPOINT", moto::endpoint()),
        ],
    )
    .await;
    assert_eq!(down.code, 0, "{down}");
    assert!(down.stderr.contains("no operator ConfigMap used"), "{down}");
    assert!(
        down.stderr
            .contains("DYNAMODB_TABLE_NAME: from the environment"),
        "{down}"
    );
    assert!(
        down.stderr
            .contains("No failover groups found for operator \"failover-operator\""),
        "{down}"
    );
}

#[tokio::test]
async fn promote_via_cr_creates_a_failover_in_the_context_and_leaves_the_table_to_the_controller() {
    let dir = plugin_dir();
    let (store, table) = seeded_table().await;
    let server = cluster_with_configmap(&dir, &table).await;
    let kubeconfig = dir.join("kubeconfig").to_string_lossy().into_owned();
    let run = kubectl(
        &dir,
        &[
            "failover",
            "--kubeconfig",
            &kubeconfig,
            "--context",
            "lab",
            "promote",
            "shop/web",
            "--to",
            "west",
            "--via-cr",
            "--yes",
            "--reason",
            "drill",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    // The plan names the FailoverGroup's resources, read from the context.
    for name in [
        "StatefulSet/db",
        "Deployment/web",
        "CronJob/nightly-report",
        "Ingress/web",
        "db-data",
    ] {
        assert!(run.stdout.contains(name), "{name} missing:\n{run}");
    }
    assert!(
        run.stdout
            .contains("failover.kubectl-failover.io/shop/promote-west-"),
        "{run}"
    );
    let failovers = server.objects("Failover");
    assert_eq!(failovers.len(), 1, "{failovers:#?}");
    let spec = &failovers[0]["spec"];
    assert_eq!(spec["targetCluster"], "west");
    assert_eq!(spec["failoverMode"], "CONSISTENCY");
    assert_eq!(spec["reason"], "drill");
    assert_eq!(spec["failoverGroups"], json!([{"name": "web"}]));
    let config = store
        .load_group(OP, &GroupId::new("shop", "web").unwrap())
        .await
        .unwrap()
        .unwrap()
        .config;
    assert_eq!(
        (config.version, config.transition),
        (1, None),
        "the controller writes it"
    );
}
