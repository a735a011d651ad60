//! One `kubectl-failover run` process: the real binary, its own process group, its output in a
//! log file (shown when a test fails), SIGKILL to simulate a crash, SIGTERM to stop it the way
//! Kubernetes does, and a kill of the whole group when the handle is dropped.

use std::fs::File;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BINARY: &str = env!("CARGO_BIN_EXE_kubectl-failover");

/// The binary the harness starts: [`BINARY`], or `KFO_E2E_BINARY` when set (a copy that stays
/// the same while the tree is rebuilt, for a campaign that runs for an hour: scripts/chaos.sh).
pub fn binary() -> String {
    std::env::var("KFO_E2E_BINARY").unwrap_or_else(|_| BINARY.to_string())
}

/// What to start: arguments after the binary and the complete environment.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// Arguments, e.g. `["run", "--metrics-addr", "127.0.0.1:0"]`.
    pub args: Vec<String>,
    /// The whole environment (nothing is inherited from the test process).
    pub env: Vec<(String, String)>,
}

impl Launch {
    /// Sets (or replaces) one variable.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_string(), value.to_string()));
    }

    /// Removes one variable.
    pub fn remove_env(&mut self, name: &str) {
        self.env.retain(|(n, _)| n != name);
    }
}

/// A running (or finished) process.
pub struct Process {
    /// A label for messages, e.g. `east-2`.
    pub label: String,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    /// `HOST:PORT` of its /healthz, /readyz and /metrics server, when the harness chose one.
    pub metrics_addr: Option<String>,
    child: Child,
    status: Option<ExitStatus>,
}

impl Process {
    /// Starts the binary in a new process group with `launch`, output appended to `log`.
    pub fn spawn(label: &str, launch: &Launch, log: &Path) -> Process {
        let out = File::create(log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log file handle");
        let mut cmd = Command::new(binary());
        cmd.args(&launch.args)
            .env_clear()
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // If the test binary dies without running destructors (e.g. an abort), the controller
        // must not outlive it and keep writing to a table nobody reads.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = crate::support::control_plane::process::spawn_from_a_lasting_thread(cmd)
            .unwrap_or_else(|e| panic!("start {} for {label}: {e}", binary()));
        Process {
            label: label.to_string(),
            log: log.to_path_buf(),
            metrics_addr: None,
            child,
            status: None,
        }
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited (reaping it if so).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    fn signal_group(&self, signal: libc::c_int) {
        // The group id is the child's pid (process_group(0)); a negative pid addresses the group.
        let pgid = self.child.id() as libc::pid_t;
        unsafe {
            libc::kill(-pgid, signal);
        }
    }

    /// A crash: SIGKILL to the whole group, then reaps it.
    pub async fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.exited() {
            return status;
        }
        self.signal_group(libc::SIGKILL);
        self.wait_exit(Duration::from_secs(10))
            .await
            .unwrap_or_else(|| panic!("{} survived SIGKILL", self.label))
    }

    /// Pauses it (SIGSTOP): a frozen node, CPU starvation, a debugger.
    pub fn stop(&self) {
        self.signal_group(libc::SIGSTOP);
    }

    /// Lets a paused process run again (SIGCONT).
    pub fn resume(&self) {
        self.signal_group(libc::SIGCONT);
    }

    /// Asks it to stop, as the kubelet does (SIGTERM).
    pub fn terminate(&self) {
        self.signal_group(libc::SIGTERM);
    }

    /// Waits up to `limit` for it to exit.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// GETs `path` from its health and metrics server: the status code and body.
    pub async fn http_get(&self, path: &str) -> Result<(u16, String), String> {
        let addr = self
            .metrics_addr
            .as_deref()
            .ok_or_else(|| format!("{} has no known metrics address", self.label))?;
        http_get(addr, path).await
    }

    /// Everything it has written so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `n` lines of its output, for failure messages.
    pub fn tail(&self, n: usize) -> String {
        let text = self.output();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// GETs `path` from `addr` (`HOST:PORT`) over plain HTTP/1.1: the status code and body.
pub async fn http_get(addr: &str, path: &str) -> Result<(u16, String), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("send to {addr}: {e}"))?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw)
        .await
        .map_err(|e| format!("read from {addr}: {e}"))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP response from {addr}: {text:?}"))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string());
    Ok((code, body.unwrap_or_default()))
}

/// How an exit status reads in a message.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => format!("{status:?}"),
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.exited().is_none() {
            self.signal_group(libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// Whether the replica `key` at `addr` reports holding the leader Lease in /metrics; `Err` with
/// what it said.
pub async fn leads(key: &str, addr: &str) -> Result<bool, String> {
    let (_, metrics) = http_get(addr, "/metrics").await?;
    let line = metrics
        .lines()
        .find(|l| l.starts_with("kubectl_failover_leader "))
        .ok_or_else(|| format!("{key}: no kubectl_failover_leader in /metrics"))?;
    Ok(line.ends_with(" 1"))
}
