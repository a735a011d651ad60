//! The real `kubectl-failover run` as east, against an in-memory API server (through a
//! kubeconfig) holding the `shop/api` Deployment, and moto's DynamoDB on a table of its own; and
//! a bare HTTP GET for its /healthz, /readyz and /metrics.

#![allow(dead_code)]

use crate::apiserver::FakeApiServer;
use crate::moto;
use serde_json::json;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One started controller process.
pub struct RunBinary {
    pub child: tokio::process::Child,
    /// Where it serves /healthz, /readyz and /metrics.
    pub addr: String,
    /// Its DynamoDB table (created by the controller).
    pub table: String,
    /// Its kubeconfig's directory, removed on drop.
    pub dir: PathBuf,
}

impl Drop for RunBinary {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `run` for cluster east (`name` tells runs apart), with `env` added to moto's and
/// `stderr` where its log goes.
pub fn start(server: &FakeApiServer, name: &str, env: &[(&str, &str)], stderr: Stdio) -> RunBinary {
    server.put_object(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
        },
    }));
    let dir = std::env::temp_dir().join(format!("kfo-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let kubeconfig = dir.join("kubeconfig");
    server
        .write_kubeconfig(&kubeconfig, "east")
        .expect("write the kubeconfig");
    let table = moto::unique_table_name(name);
    let addr = free_addr();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-failover"))
        .args(["run", "--leader-elect=false", "--metrics-addr", &addr])
        .env_clear()
        .envs(moto::binary_env())
        .env("KUBECONFIG", &kubeconfig)
        .env("CLUSTER_NAME", "east")
        .env("DYNAMODB_TABLE_NAME", &table)
        .env("KUBECTL_FAILOVER_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .expect("start kubectl-failover run");
    RunBinary {
        child,
        addr,
        table,
        dir,
    }
}

/// The raw HTTP response to `GET path`, or `None` when nothing answers.
pub async fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    Some(response)
}

/// A loopback address nothing listens on (yet).
pub fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener
        .local_addr()
        .expect("a bound listener's address")
        .to_string()
}
