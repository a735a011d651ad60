//! `status -w` and `--color` through the binary: a watch appends a new frame when the group
//! changes (not on every refresh), and colour appears only when asked for off a terminal.

use super::*;
use std::time::Duration;

#[tokio::test]
async fn status_watch_in_a_pipe_prints_a_new_frame_only_when_something_changed() {
    let store = east_west().await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-failover"))
        .args(["--endpoint", &moto::endpoint(), "--region", moto::REGION])
        .args(["--table-name", store.table(), "--operator-id", OP])
        .args(["status", "-n", "shop", "-w", "--interval", "200ms"])
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let run = cli(
        store.table(),
        &["suspend", "shop/web", "--reason", "watch me"],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.start_kill().expect("stop the watch");
    let out = child.wait_with_output().await.expect("output");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let frames: Vec<&str> = text.split("\n\n").collect();
    assert_eq!(
        frames.len(),
        2,
        "one frame before, one after the change:\n{text}"
    );
    assert!(
        frames[0].lines().nth(1).unwrap().contains("   no   "),
        "{text}"
    );
    assert!(
        frames[1].lines().nth(1).unwrap().contains("   yes   "),
        "{text}"
    );
}

#[tokio::test]
async fn colour_is_added_only_when_asked_for_off_a_terminal() {
    let store = east_west().await;
    let plain = cli(store.table(), &["status", "shop/web"]).await;
    assert!(!plain.stdout.contains('\x1b'), "{plain}");
    let always = cli(store.table(), &["status", "shop/web", "--color", "always"]).await;
    assert!(always.stdout.contains("\x1b[32mOK\x1b[0m"), "{always}");
    let json = cli(
        store.table(),
        &["status", "shop/web", "--color", "always", "-o", "json"],
    )
    .await;
    assert!(
        !json.stdout.contains('\x1b'),
        "documents are never coloured: {json}"
    );
}
