//! `run` refuses to start, with a clear message and a non-zero exit and without a panic, when
//! what it needs is missing: a reachable cluster, a cluster name, the CRDs.

use std::time::Duration;

use crate::e2e::fixtures::Timings;
use crate::e2e::process::{Launch, describe};
use crate::e2e::world::World;
use kubectl_failover::error::ExitCode;

fn code(c: ExitCode) -> i32 {
    c as i32
}

/// How long `run` may take to give up.
const GIVE_UP: Duration = Duration::from_secs(40);

/// Runs `launch` for `cluster` to its end; returns the exit code and the output.
async fn run_to_exit(world: &mut World, cluster: &str, launch: &Launch) -> (i32, String) {
    world.start_with(cluster, launch);
    let p = world.process(cluster);
    let status = p
        .wait_exit(GIVE_UP)
        .await
        .unwrap_or_else(|| panic!("{} still runs after {GIVE_UP:?}:\n{}", p.label, p.tail(30)));
    let out = p.output();
    assert!(!out.contains("panicked"), "{} panicked:\n{out}", p.label);
    let code = status.code().unwrap_or_else(|| {
        panic!(
            "{} ended by a signal ({}):\n{out}",
            p.label,
            describe(status)
        )
    });
    (code, out)
}

async fn one_cluster(test: &str) -> World {
    World::new(test, &["east"], "east", &Timings::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_exits_with_a_clear_message_when_no_api_server_listens_at_the_kubeconfig_address() {
    let mut world = one_cluster("no-server").await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("address").port()
    };
    let kubeconfig = world.dir.join("closed.kubeconfig");
    let text = std::fs::read_to_string(&world.cluster("east").kubeconfig)
        .expect("kubeconfig")
        .replace(
            &world.cluster("east").api.url(),
            &format!("http://127.0.0.1:{closed}"),
        );
    std::fs::write(&kubeconfig, text).expect("write kubeconfig");
    let mut launch = world.launch("east");
    launch.set_env("KUBECONFIG", &kubeconfig.display().to_string());

    let (exit, out) = run_to_exit(&mut world, "east", &launch).await;
    assert_eq!(exit, code(ExitCode::Unavailable), "{out}");
    assert!(out.contains("no Kubernetes cluster reachable"), "{out}");
    assert!(
        out.contains("KUBECONFIG"),
        "the message says what to fix: {out}"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_exits_with_a_clear_message_when_the_kubeconfig_file_is_missing() {
    let mut world = one_cluster("no-kubeconfig").await;
    let missing = world.dir.join("does-not-exist.kubeconfig");
    let mut launch = world.launch("east");
    launch.set_env("KUBECONFIG", &missing.display().to_string());

    let (exit, out) = run_to_exit(&mut world, "east", &launch).await;
    assert_eq!(exit, code(ExitCode::Unavailable), "{out}");
    assert!(
        out.contains("does-not-exist.kubeconfig"),
        "the message names the file: {out}"
    );
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_without_a_cluster_name_says_that_cluster_name_must_be_set() {
    let mut world = one_cluster("no-name").await;
    for value in [None, Some("")] {
        let mut launch = world.launch("east");
        match value {
            None => launch.remove_env("CLUSTER_NAME"),
            Some(v) => launch.set_env("CLUSTER_NAME", v),
        }
        let (exit, out) = run_to_exit(&mut world, "east", &launch).await;
        assert_eq!(exit, code(ExitCode::Usage), "CLUSTER_NAME={value:?}: {out}");
        assert!(
            out.contains("CLUSTER_NAME"),
            "CLUSTER_NAME={value:?}: {out}"
        );
    }
    // Nothing was registered under an empty or default name.
    assert!(world.snapshot().await.expect("read the table").is_none());
    world.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_against_a_cluster_without_the_crds_says_how_to_install_them() {
    let mut world = one_cluster("no-crds").await;
    let bare = crate::apiserver::FakeApiServer::start().await;
    let kubeconfig = world.dir.join("bare.kubeconfig");
    bare.write_kubeconfig(&kubeconfig, "bare")
        .expect("write kubeconfig");
    let mut launch = world.launch("east");
    launch.set_env("KUBECONFIG", &kubeconfig.display().to_string());

    let (exit, out) = run_to_exit(&mut world, "east", &launch).await;
    assert_eq!(exit, code(ExitCode::NotFound), "{out}");
    assert!(
        out.contains("failovergroups.kubectl-failover.io"),
        "names the API: {out}"
    );
    assert!(
        out.contains("deploy/crds/failover.yaml"),
        "says how to install it: {out}"
    );
    world.finish().await;
}
