//! Running the real `kubectl-failover` binary against moto, shared by the CLI tests: once to
//! completion (`cli_as`), or as a child while the test steps a harness world whose agents carry
//! the requested failovers out (`spawn` + `drive_until_exit`).

#![allow(dead_code)]

use super::harness::Harness;
use super::moto;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// What a run of the binary printed and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
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

/// The binary against `table` of operator `op`: no kubeconfig, moto's credentials, `USER`.
pub fn command(op: &str, table: &str, args: &[&str], user: &str) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-failover"));
    cmd.args(["--endpoint", &moto::endpoint(), "--region", moto::REGION])
        .args(["--table-name", table, "--operator-id", op])
        .args(args)
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env("USER", user)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the binary to completion with `stdin` piped in, as `USER=tester`.
pub async fn cli_as(op: &str, table: &str, args: &[&str], stdin: &str) -> Run {
    let mut child = command(op, table, args, "tester")
        .stdin(Stdio::piped())
        .spawn()
        .expect("run kubectl-failover");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.as_bytes())
        .await
        .expect("write stdin");
    drop(input);
    let out = child.wait_with_output().await.expect("wait");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Starts the binary with nothing on stdin, as `USER=user`, for [`drive_until_exit`].
pub fn spawn(op: &str, table: &str, args: &[&str], user: &str) -> tokio::process::Child {
    command(op, table, args, user)
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn kubectl-failover")
}

/// Steps the world until the child exits; a small real pause per step leaves the child CPU.
pub async fn drive_until_exit(h: &mut Harness, mut child: tokio::process::Child) -> Run {
    let real_limit = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().expect("child state").is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < real_limit,
            "the command did not end within 120s of real time"
        );
        h.step().await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let out = child.wait_with_output().await.expect("output");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8(out.stdout).expect("utf-8"),
        stderr: String::from_utf8(out.stderr).expect("utf-8"),
    }
}
