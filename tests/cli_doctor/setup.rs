//! The fixtures of tests/cli_doctor.rs: two in-memory API servers with the controller installed
//! as deploy/base does it, a moto table with one group, a kubeconfig naming both (and a third
//! context whose API server is gone), and a run of the real binary.

use crate::apiserver::FakeApiServer;
use crate::moto;
use chrono::Utc;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kubectl_failover::store::dynamodb::DynamoStore;
use kubectl_failover::store::{
    ClusterState, ClusterStatus, CoordinationStore, GroupConfig, GroupId, Health,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub const OP: &str = "doctor-op";
const NS: &str = "kubectl-failover-system";

/// What to break; the default is a healthy pair.
#[derive(Clone)]
pub struct Options {
    pub west_cluster_name: &'static str,
    pub west_failover_crd: bool,
    pub west_heartbeat_age: Duration,
    pub east_lease_holder: bool,
    pub gsi1: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            west_cluster_name: "west",
            west_failover_crd: true,
            west_heartbeat_age: Duration::ZERO,
            east_lease_holder: true,
            gsi1: true,
        }
    }
}

pub struct Setup {
    _east: FakeApiServer,
    _west: FakeApiServer,
    kubeconfig: PathBuf,
    /// The table's name in moto.
    pub table: String,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (code, out, err) = (self.code, &self.stdout, &self.stderr);
        write!(f, "exit {code}\nstdout:\n{out}\nstderr:\n{err}")
    }
}

impl Run {
    /// The checklist line of `name` with `status`, and its fix line when there is one.
    pub fn check(&self, status: &str, name: &str) -> (String, Option<String>) {
        let prefix = format!("{status:<7} {name}:");
        let lines: Vec<&str> = self.stdout.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in\n{self}"));
        // The check's own lines: its first, then those indented under it.
        let own: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| l.starts_with("        "))
            .copied()
            .collect();
        let fix = own
            .iter()
            .find_map(|l| l.strip_prefix("        fix: "))
            .map(str::to_string);
        let text = std::iter::once(lines[i])
            .chain(
                own.iter()
                    .filter(|l| !l.starts_with("        fix: "))
                    .copied(),
            )
            .collect::<Vec<_>>()
            .join("\n");
        (text, fix)
    }

    /// Every checklist line (those that start with a status).
    pub fn checklist(&self) -> Vec<&str> {
        let statuses = ["PASS ", "WARN ", "FAIL ", "SKIPPED "];
        self.stdout
            .lines()
            .filter(|l| statuses.iter().any(|s| l.starts_with(s)))
            .collect()
    }
}

/// The controller as deploy/base installs it, with both replicas ready.
fn controller_deployment() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/base/deployment.yaml");
    let text = std::fs::read_to_string(path).expect("read deployment.yaml");
    let mut d: Value = serde_saphyr::from_str(&text).expect("parse deployment.yaml");
    d["status"] = json!({"replicas": 2, "readyReplicas": 2});
    d
}

fn configmap(cluster_name: &str, table: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kubectl-failover-config", "namespace": NS},
        "data": {
            "CLUSTER_NAME": cluster_name,
            "AWS_REGION": moto::REGION,
            "DYNAMODB_TABLE_NAME": table,
            "OPERATOR_ID": OP,
            "AWS_ENDPOINT": moto::endpoint(),
            "AWS_USE_LOCAL_ENDPOINT": "true",
            "LEADER_ELECT": "true",
            "LEASE_NAME": "kubectl-failover-leader",
            "LEASE_DURATION": "15s",
            "DNS_ANNOTATION_KEY": "kubectl-failover.io/dns",
            "DNS_ANNOTATION_ON": "enabled",
            "DNS_ANNOTATION_OFF": "disabled",
        },
    })
}

fn lease(holder: bool) -> Value {
    let now = Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let mut spec = json!({"leaseDurationSeconds": 15, "renewTime": now, "acquireTime": now});
    if holder {
        spec["holderIdentity"] = json!("kubectl-failover-7d9f-abcde");
    }
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "kubectl-failover-leader", "namespace": NS},
        "spec": spec,
    })
}

fn external_dns() -> Value {
    let labels = json!({"app.kubernetes.io/name": "external-dns"});
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "external-dns", "namespace": "external-dns", "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
                "name": "external-dns",
                "image": "registry.k8s.io/external-dns/external-dns:v0.15.0",
                "args": ["--source=ingress", "--provider=aws", "--policy=upsert-only",
                         "--annotation-filter=kubectl-failover.io/dns in (enabled)"],
            }]}},
        },
    })
}

/// One cluster: the CRDs, the controller's ConfigMap, Deployment and Lease.
async fn cluster(
    cluster_name: &str,
    table: &str,
    failover_crd: bool,
    holder: bool,
) -> FakeApiServer {
    let server = FakeApiServer::start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    for crd in kubectl_failover::crd::crds() {
        if failover_crd || crd.metadata.name.as_deref() != Some("failovers.kubectl-failover.io") {
            crds.create(&PostParams::default(), &crd)
                .await
                .expect("create CRD");
        }
    }
    server.put_object(configmap(cluster_name, table));
    server.put_object(controller_deployment());
    server.put_object(lease(holder));
    server
}

async fn table(gsi1: bool) -> (DynamoStore, String) {
    if gsi1 {
        return moto::fresh_store_named("doctor").await;
    }
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("doctor-nogsi");
    let attr = |n: &str| {
        let b = AttributeDefinition::builder().attribute_name(n);
        b.attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attr")
    };
    let key = |n: &str, k| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(k)
            .build()
    };
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("PK"))
        .attribute_definitions(attr("SK"))
        .key_schema(key("PK", KeyType::Hash).expect("pk"))
        .key_schema(key("SK", KeyType::Range).expect("sk"))
        .send()
        .await
        .expect("create a table without GSI1");
    let store = DynamoStore::from_client(client, &table, moto::REGION, &moto::endpoint());
    (store, table)
}

/// shop/web owned by east, with heartbeats from east (now) and west (`west_age` ago).
async fn seed(store: &DynamoStore, west_age: Duration) {
    let now = Utc::now();
    let id = GroupId::new("shop", "web").unwrap();
    let config = GroupConfig::new(OP, id.clone(), "east", now);
    let _ = store.create_config(&config).await.expect("create config");
    for (name, state, at) in [
        ("east", ClusterState::Primary, now),
        ("west", ClusterState::Standby, now - west_age),
    ] {
        let status = ClusterStatus {
            cluster_name: name.into(),
            health: Health::Ok,
            state,
            last_heartbeat: Some(at),
            heartbeat_seq: Some(1),
            components: BTreeMap::new(),
            ack: None,
            fenced: false,
        };
        store
            .put_cluster_status(OP, &id, &status)
            .await
            .expect("heartbeat");
    }
}

pub async fn setup(o: Options) -> Setup {
    let (store, table) = table(o.gsi1).await;
    seed(&store, o.west_heartbeat_age).await;
    let east = cluster("east", &table, true, o.east_lease_holder).await;
    east.put_object(external_dns());
    let west = cluster(o.west_cluster_name, &table, o.west_failover_crd, true).await;
    let dir = std::env::temp_dir().join(moto::unique_table_name("kfo-doctor"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let kubeconfig = dir.join("kubeconfig");
    let mut contexts = vec![("east", east.url()), ("west", west.url())];
    // A context whose API server is gone: a port that was just free.
    let gone = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    contexts.push((
        "gone",
        format!("http://{}", gone.local_addr().expect("addr")),
    ));
    drop(gone);
    let mut yaml = String::from("apiVersion: v1\nkind: Config\ncurrent-context: east\nclusters:\n");
    for (name, url) in &contexts {
        yaml += &format!("- name: {name}\n  cluster: {{server: \"{url}\"}}\n");
    }
    yaml += "users:\n- name: u\n  user: {token: fake}\ncontexts:\n";
    for (name, _) in &contexts {
        yaml += &format!("- name: {name}\n  context: {{cluster: {name}, user: u}}\n");
    }
    std::fs::write(&kubeconfig, yaml).expect("write kubeconfig");
    Setup {
        _east: east,
        _west: west,
        kubeconfig,
        table,
    }
}

pub async fn doctor(s: &Setup, args: &[&str]) -> Run {
    doctor_with_env(s, args, &[]).await
}

/// `doctor` with some of moto's environment replaced (e.g. `AWS_ENDPOINT` through a proxy).
pub async fn doctor_with_env(s: &Setup, args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-failover"))
        .arg("doctor")
        .args(args)
        .args(["--table-name", &s.table, "--operator-id", OP])
        .env_clear()
        .envs(moto::binary_env())
        .envs(env.iter().copied())
        .env("KUBECONFIG", &s.kubeconfig)
        .output()
        .await
        .expect("run kubectl-failover doctor");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

pub async fn both(s: &Setup) -> Run {
    doctor(s, &["--context", "east", "--context", "west"]).await
}
