//! `demo` with its terminal UI: in a real terminal (tmux) a key kills the owner's agent and the
//! automatic failover shows up live; without a terminal it falls back to the headless timeline
//! instead of drawing into a pipe or waiting for keys that never come. Needs tmux.

use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-failover");

#[test]
fn without_a_terminal_the_demo_runs_headless_and_says_why() {
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["demo", "--duration", "2s"])
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stderr.contains("stdout is not a terminal, so the demo runs headless"),
        "{stderr}"
    );
    assert!(stdout.contains("Built-in tour"), "{stdout}");
    assert!(
        stdout.contains("check: at most one cluster served"),
        "{stdout}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it must not hang"
    );
}

struct Tmux(String);

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.0])
            .args(args)
            .output()
            .expect("tmux is needed for this test: apt-get install tmux");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.run(&["capture-pane", "-p", "-t", "demo"]);
            if done(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.0, "kill-server"])
            .output();
    }
}

#[test]
fn killing_the_owners_agent_with_x_shows_the_automatic_failover_live() {
    // A partition far past the end stands in for a script, so the built-in tour stays out of
    // the way and the only fault is the one the key injects.
    let script = format!(
        "TERM=xterm-256color {BIN} demo --clusters 2 --groups 1 --heartbeat-interval 250ms --heartbeat-timeout 1s --partition cluster-2@1h..2h; echo EXIT=$?; sleep 60"
    );
    let tmux = Tmux(format!("kfo-demo-{}", std::process::id()));
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "demo",
        "-x",
        "100",
        "-y",
        "30",
        "sh",
        "-c",
        &script,
    ]);
    let owner_row = |screen: &str, owner: &str| {
        screen
            .lines()
            .any(|l| l.contains("demo/app-1") && l.contains(&format!("● {owner}")))
    };
    tmux.wait_for("cluster-1 to own app-1", |s| {
        owner_row(s, "cluster-1") && s.contains("│cluster-2")
    });
    // Clusters panel, first row (cluster-1, the owner), kill its agent.
    tmux.run(&["send-keys", "-t", "demo", "Tab", "g", "x"]);
    tmux.wait_for("the kill to show", |s| s.contains("cluster-1 [killed]"));
    let screen = tmux.wait_for("cluster-2 to take over", |s| {
        owner_row(s, "cluster-2") && s.contains("cluster-1 → cluster-2") && s.contains("auto")
    });
    assert!(screen.contains("cluster-1 [killed]"), "{screen}");
    tmux.run(&["send-keys", "-t", "demo", "q"]);
    let screen = tmux.wait_for("the summary", |s| s.contains("EXIT="));
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(screen.contains("automatic"), "{screen}");
    assert!(
        screen.contains("check: at most one cluster served"),
        "{screen}"
    );
}
