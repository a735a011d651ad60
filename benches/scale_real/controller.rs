//! The real `kubectl-failover run` under measurement: started from the built binary
//! (`KFO_E2E_BINARY`, else the one cargo built beside this benchmark, as tests/e2e/process.rs
//! finds it: `cargo bench` builds it optimized) with the controller's ServiceAccount
//! kubeconfig, moto behind the recording proxy, its own process group and a parent-death
//! signal (it must not outlive the benchmark and keep writing to a table nobody reads); killed
//! with its group when dropped.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::control_plane::process::Component;
use crate::moto;

/// The binary that runs: `KFO_E2E_BINARY` when set, else cargo's build of this package's.
pub fn binary() -> Result<PathBuf, String> {
    let path = std::env::var("KFO_E2E_BINARY")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_kubectl-failover")),
            PathBuf::from,
        );
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "the controller binary {} does not exist: build it (cargo build --release) and set KFO_E2E_BINARY, or run through cargo bench",
            path.display()
        ))
    }
}

/// What the controller is told.
pub struct Launch<'a> {
    pub binary: &'a Path,
    pub cluster: &'a str,
    pub namespace: &'a str,
    pub kubeconfig: &'a Path,
    pub endpoint: &'a str,
    pub table: &'a str,
    pub operator: &'a str,
    pub metrics_addr: &'a str,
    pub log: &'a Path,
}

/// One running controller: a control-plane component of its own (tests/support/control_plane's
/// spawn: process group, parent-death signal, killed with its group when dropped).
pub struct Controller {
    /// Its process id (the process group's too).
    pub pid: u32,
    /// Where its /metrics are served.
    pub metrics_addr: String,
    process: Component,
}

impl Controller {
    /// Starts `run` without leader election (it is the only replica), watching only the
    /// size's namespace, with the default log level (warnings: what a cluster runs).
    pub fn start(launch: &Launch<'_>) -> Result<Controller, String> {
        let mut env: Vec<(String, String)> = moto::binary_env()
            .into_iter()
            .filter(|(name, _)| *name != "AWS_ENDPOINT")
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        for (k, v) in [
            ("AWS_ENDPOINT", launch.endpoint),
            ("CLUSTER_NAME", launch.cluster),
            ("WATCH_NAMESPACE", launch.namespace),
            ("DYNAMODB_TABLE_NAME", launch.table),
            ("OPERATOR_ID", launch.operator),
        ] {
            env.push((k.to_string(), v.to_string()));
        }
        env.push((
            "KUBECONFIG".to_string(),
            launch.kubeconfig.display().to_string(),
        ));
        let args = [
            "run",
            "--leader-elect=false",
            "--metrics-addr",
            launch.metrics_addr,
        ]
        .map(String::from);
        let process =
            Component::spawn_with_env("kubectl-failover", launch.binary, &args, &env, launch.log)?;
        Ok(Controller {
            pid: process.pid(),
            metrics_addr: launch.metrics_addr.to_string(),
            process,
        })
    }

    /// Why it is not running any more, with the end of its log; `None` while it runs.
    pub fn exited(&mut self) -> Option<String> {
        let status = self.process.exited()?;
        Some(format!(
            "kubectl-failover run exited ({status}); the end of its log:\n{}",
            self.process.tail(20)
        ))
    }

    /// Lines in its log so far (warnings and errors at the default level).
    pub fn log_lines(&self) -> usize {
        std::fs::read_to_string(&self.process.log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }

    /// `kubectl_failover_store_budget_waits_total`, all reasons together: how often a
    /// DynamoDB call waited for an in-flight slot; `None` when /metrics does not answer.
    pub async fn budget_waits(&self) -> Option<f64> {
        let text = http_get(&self.metrics_addr, "/metrics").await?;
        Some(
            text.lines()
                .filter(|l| l.starts_with("kubectl_failover_store_budget_waits_total"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum(),
        )
    }
}

/// The body of `GET path` from `addr`, or `None` when nothing answers.
async fn http_get(addr: &str, path: &str) -> Option<String> {
    let fetch = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        let text = String::from_utf8_lossy(&response).into_owned();
        text.split_once("\r\n\r\n")
            .map(|(_, body)| body.to_string())
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), fetch)
        .await
        .ok()
        .flatten()
}
