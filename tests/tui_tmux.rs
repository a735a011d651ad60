//! `watch` end to end: the real binary in a real terminal (tmux), against moto's DynamoDB server
//! with seeded records. The panels show the seeded data, `?` shows the help, a promotion through
//! the dialog writes the request into the table, and `q` exits 0 with the terminal restored.
//! Needs tmux (`apt-get install tmux`).

mod support;

use chrono::{Duration, Utc};
use kubectl_failover::store::dynamodb::DynamoStore;
use kubectl_failover::store::{
    ClusterState, ClusterStatus, CoordinationStore, GroupConfig, GroupId, Health, HistoryRecord,
    LockOutcome, LockRequest,
};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;
use support::moto;

const OP: &str = "tui-test-op";

/// shop/api: owner cluster-a, standby cluster-b, three failovers. shop/web: owner cluster-b,
/// with a lock cluster-b holds for a maintenance window.
async fn seed(store: &DynamoStore) {
    let now = Utc::now();
    for (name, owner) in [("api", "cluster-a"), ("web", "cluster-b")] {
        let id = GroupId::new("shop", name).unwrap();
        let _ = store
            .create_config(&GroupConfig::new(OP, id.clone(), owner, now))
            .await
            .unwrap();
        for cluster in ["cluster-a", "cluster-b"] {
            let state = if cluster == owner {
                ClusterState::Primary
            } else {
                ClusterState::Standby
            };
            let status = ClusterStatus {
                cluster_name: cluster.into(),
                health: Health::Ok,
                state,
                // Far in the future: the heartbeat must not go stale while the test runs.
                last_heartbeat: Some(now),
                heartbeat_seq: Some(7),
                components: BTreeMap::new(),
                ack: None,
                fenced: false,
            };
            store.put_cluster_status(OP, &id, &status).await.unwrap();
        }
    }
    let web = GroupId::new("shop", "web").unwrap();
    let request = LockRequest {
        holder: "cluster-b".into(),
        reason: "maintenance window".into(),
        lease: std::time::Duration::from_secs(600),
        now,
    };
    assert!(matches!(
        store.acquire_lock(OP, &web, &request).await.unwrap(),
        LockOutcome::Acquired(_)
    ));
    let api = GroupId::new("shop", "api").unwrap();
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
            mode: Some("CONSISTENCY".into()),
            automatic: Some(false),
            initiator: Some("alice".into()),
            drill: false,
        };
        let _ = store.append_history(OP, &api, &record).await.unwrap();
    }
}

/// A tmux server of this test's own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
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

    fn capture(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "ui"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "ui"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Waits until the screen contains every one of `needles`; panics with the screen if not.
    async fn wait_for(&self, needles: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if needles.iter().all(|n| screen.contains(n)) {
                return screen;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(20),
                "timed out waiting for {needles:?}; screen:\n{screen}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// Starts `watch -n shop` on `table` in a 100x30 tmux session named `ui`; when it exits, the
/// shell prints its exit code and whether the terminal is back in cooked mode (`icanon`).
fn start_watch(table: &str, socket: &str) -> Tmux {
    let env: Vec<String> = moto::binary_env()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .chain(["USER=oncall".to_string(), "TERM=xterm-256color".to_string()])
        .collect();
    let script = format!(
        "env {} {} --table-name {table} --operator-id {OP} watch -n shop --refresh 1s; echo EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'; sleep 60",
        env.join(" "),
        env!("CARGO_BIN_EXE_kubectl-failover"),
    );
    let tmux = Tmux {
        socket: format!("{socket}-{}", std::process::id()),
    };
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "ui",
        "-x",
        "100",
        "-y",
        "30",
        "sh",
        "-c",
        &script,
    ]);
    tmux
}

#[tokio::test]
async fn watch_shows_the_table_helps_promotes_through_the_dialog_and_quits_cleanly() {
    let (store, table) = moto::fresh_store_named("kfo-tui").await;
    seed(&store).await;
    let tmux = start_watch(&table, "kfo-tui");

    // The panels show the seeded records: both groups, owners, the lock column, clusters,
    // the selected group's history newest first.
    let screen = tmux
        .wait_for(&["shop/api", "shop/web", "newest drill", "│cluster-b"])
        .await;
    let web = screen.lines().find(|l| l.contains("shop/web")).unwrap();
    assert!(web.contains("cluster-b"), "owner and lock holder: {web}");
    let lines: Vec<&str> = screen.lines().collect();
    let newest = lines
        .iter()
        .position(|l| l.contains("newest drill"))
        .unwrap();
    let middle = lines.iter().position(|l| l.contains("middle drill"));
    assert!(middle.is_none_or(|m| newest < m), "newest first:\n{screen}");

    tmux.keys(&["?"]);
    tmux.wait_for(&[
        "Keys (? or Esc closes)",
        "promote the group to the selected cluster",
    ])
    .await;
    tmux.keys(&["?"]);

    // shop/web's lock, after moving down to it.
    tmux.keys(&["j"]);
    tmux.wait_for(&["holder   cluster-b", "maintenance window", "expires in"])
        .await;
    tmux.keys(&["k"]);

    // Promote shop/api to cluster-b through the dialog.
    tmux.keys(&["p"]);
    tmux.wait_for(&["Move shop/api from cluster-a to cluster-b?"])
        .await;
    tmux.keys(&["y"]);
    tmux.wait_for(&["requested CONSISTENCY failover cluster-a -> cluster-b"])
        .await;
    let api = GroupId::new("shop", "api").unwrap();
    let stored = store.load_group(OP, &api).await.unwrap().unwrap();
    let transition = stored.config.transition.expect("the request is in CONFIG");
    assert_eq!(transition.target, "cluster-b");
    assert!(!transition.automatic);
    assert_eq!(transition.initiator, "oncall (kubectl failover watch)");

    tmux.keys(&["q"]);
    // Both lines: the shell prints the stty line a moment after the exit code.
    let screen = tmux.wait_for(&["EXIT=0", "icanon"]).await;
    // Raw mode is off again (icanon, not -icanon) and the alternate screen is gone.
    assert!(screen.lines().any(|l| l.trim() == "icanon"), "{screen}");
    assert!(!screen.contains("Groups 1/2"), "{screen}");
}

#[tokio::test]
async fn ctrl_c_leaves_watch_with_exit_0_and_the_terminal_restored() {
    let (store, table) = moto::fresh_store_named("kfo-tui").await;
    seed(&store).await;
    let tmux = start_watch(&table, "kfo-tui-ctrlc");
    tmux.wait_for(&["shop/api", "│cluster-b"]).await;
    tmux.keys(&["C-c"]);
    let screen = tmux.wait_for(&["EXIT=", "icanon"]).await;
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(screen.lines().any(|l| l.trim() == "icanon"), "{screen}");
}

#[test]
fn watch_without_a_terminal_exits_2_and_points_at_status() {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-failover"))
        .args(["watch", "-A"])
        .output()
        .expect("run watch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("stdout is not a terminal"), "{stderr}");
    assert!(stderr.contains("status -o json"), "{stderr}");
    assert!(out.stdout.is_empty());
}
