//! The real `kubectl-failover run` under measurement: started from the built binary
//! (`KFO_E2E_BINARY`, else the one cargo built beside this benchmark, as tests/e2e/process.rs
//! finds it: `cargo bench` builds it optimized) with the controller's ServiceAccount
//! kubeconfig, moto behind the recording proxy, its own process group and a parent-death
//! signal (it must not outlive the benchmark and keep writing to a table nobody reads); killed
//! with its group when dropped.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::control_plane::process::spawn_from_a_lasting_thread;
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

/// One running controller.
pub struct Controller {
    /// Its process id (the process group's too).
    pub pid: u32,
    /// Where its /metrics are served.
    pub metrics_addr: String,
    log: PathBuf,
    child: Child,
}

impl Controller {
    /// Starts `run` without leader election (it is the only replica), watching only the
    /// size's namespace, with the default log level (warnings: what a cluster runs).
    pub fn start(launch: &Launch<'_>) -> Result<Controller, String> {
        let log = File::create(launch.log)
            .map_err(|e| format!("create {}: {e}", launch.log.display()))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("clone {}: {e}", launch.log.display()))?;
        let mut env = moto::binary_env();
        env.retain(|(name, _)| *name != "AWS_ENDPOINT");
        let mut cmd = Command::new(launch.binary);
        cmd.args([
            "run",
            "--leader-elect=false",
            "--metrics-addr",
            launch.metrics_addr,
        ])
        .env_clear()
        .envs(env)
        .env("AWS_ENDPOINT", launch.endpoint)
        .env("CLUSTER_NAME", launch.cluster)
        .env("WATCH_NAMESPACE", launch.namespace)
        .env("KUBECONFIG", launch.kubeconfig)
        .env("DYNAMODB_TABLE_NAME", launch.table)
        .env("OPERATOR_ID", launch.operator)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = spawn_from_a_lasting_thread(cmd)
            .map_err(|e| format!("start {}: {e}", launch.binary.display()))?;
        Ok(Controller {
            pid: child.id(),
            metrics_addr: launch.metrics_addr.to_string(),
            log: launch.log.to_path_buf(),
            child,
        })
    }

    /// Why it is not running any more, with the end of its log; `None` while it runs.
    pub fn exited(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok().flatten()?;
        Some(format!(
            "kubectl-failover run exited ({status}); the end of its log:\n{}",
            self.tail(20)
        ))
    }

    /// The last `n` lines of its log.
    pub fn tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Lines in its log so far (warnings and errors at the default level).
    pub fn log_lines(&self) -> usize {
        std::fs::read_to_string(&self.log)
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

impl Drop for Controller {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // SAFETY: kill(2) on our own child's process group (process_group(0): pgid == pid).
            unsafe {
                libc::kill(-(self.pid as libc::pid_t), libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
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
