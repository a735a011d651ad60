//! The real `kubectl-failover run` binary against the in-memory Kubernetes API server (through
//! a kubeconfig) and moto's DynamoDB: it creates the missing table, runs the FailoverGroup's
//! agent (PRIMARY in status), answers /readyz and /metrics, and exits 0 on SIGTERM; with the
//! store unreachable at start it serves /healthz and keeps retrying instead of exiting.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "support/controller.rs"]
mod controller_support;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/run_binary.rs"]
mod run_binary;

use controller_support::*;
use kube::api::{Api, PostParams};
use kubectl_failover::crd::{FailoverGroup, GroupRole};
use run_binary::{free_addr, http_get};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_binary_creates_the_table_acts_serves_health_and_stops_cleanly_on_sigterm() {
    let server = api_server().await;
    let mut run = run_binary::start(&server, "run", &[], Stdio::piped());
    let addr = run.addr.clone();
    let child = &mut run.child;

    let fgs: Api<FailoverGroup> = Api::namespaced(server.client(), NS);
    fgs.create(&PostParams::default(), &failover_group("api", "east"))
        .await
        .unwrap();
    eventually(Duration::from_secs(60), "PRIMARY in status", || async {
        let s = fgs.get("api").await.ok()?.status?;
        (s.role == Some(GroupRole::Primary)).then_some(())
    })
    .await;
    let ready = eventually(Duration::from_secs(10), "/readyz 200", || async {
        http_get(&addr, "/readyz")
            .await
            .filter(|r| r.starts_with("HTTP/1.1 200"))
    })
    .await;
    assert!(ready.ends_with("ok\n"), "{ready}");
    let metrics = http_get(&addr, "/metrics").await.unwrap();
    assert!(metrics.contains("kubectl_failover_groups 1"), "{metrics}");
    assert!(
        metrics.contains("kubectl_failover_heartbeat_age_seconds"),
        "{metrics}"
    );

    let pid = child.id().expect("pid") as i32;
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("exits within 20s of SIGTERM")
        .unwrap();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr).await;
    }
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("controller stopped"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_binary_serves_healthz_and_keeps_retrying_while_the_store_is_unreachable_at_start()
{
    let server = api_server().await;
    let dir = std::env::temp_dir().join(format!("kfo-run-nostore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, "east").unwrap();
    // A loopback port nobody listens on: every DynamoDB call is refused.
    let dead_store = format!("http://{}", free_addr());
    let addr = free_addr();

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-failover"))
        .args(["run", "--leader-elect=false", "--metrics-addr", &addr])
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-west-2")
        .env("AWS_ENDPOINT", &dead_store)
        .env("AWS_USE_LOCAL_ENDPOINT", "true")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("KUBECONFIG", &kubeconfig)
        .env("CLUSTER_NAME", "east")
        .env("DYNAMODB_TABLE_NAME", "unreachable")
        .env("KUBECTL_FAILOVER_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start kubectl-failover run");

    let healthz = eventually(Duration::from_secs(10), "/healthz to answer", || async {
        http_get(&addr, "/healthz").await
    })
    .await;
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");
    let readyz = http_get(&addr, "/readyz").await.unwrap();
    assert!(readyz.starts_with("HTTP/1.1 503"), "{readyz}");
    assert!(readyz.contains("starting"), "{readyz}");

    // Several start-up attempts later, still running and still healthy.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "the process exited while the store was unreachable"
    );
    let healthz = http_get(&addr, "/healthz").await.unwrap();
    assert!(healthz.starts_with("HTTP/1.1 200"), "{healthz}");

    let pid = child.id().expect("pid") as i32;
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits within 10s of SIGTERM, even while starting")
        .unwrap();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr).await;
    }
    assert_eq!(status.code(), Some(0), "{stderr}");
    // The retry is logged with the cause (the endpoint) and the fix.
    assert!(stderr.contains(&dead_store), "{stderr}");
    assert!(stderr.contains("retrying"), "{stderr}");
    assert!(stderr.contains("AWS_ENDPOINT"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
