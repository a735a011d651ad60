//! Tests of the end-to-end harness itself (tests/e2e): the stand-ins the scenarios rely on
//! behave like the controllers they replace, the cuttable proxy cuts, and a controller process
//! is killed with its whole process group.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
mod e2e;
mod support;

use std::time::Duration;

use e2e::backend::Kube;
use e2e::cluster::Cluster;
use e2e::fixtures;
use e2e::monitor::ServingMonitor;
use e2e::poll::{check, until};
use e2e::process::{Launch, Process, describe};
use e2e::proxy::{CutProxy, Path};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::json;
use support::moto;

/// Every cluster of this binary runs the in-memory API server.
pub const KUBE: Kube = Kube::InMemory;

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-harness")
        .join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_starts_with_the_application_installed_as_gitops_applies_it() {
    let cluster = Cluster::start(KUBE, "east", &tmp("installed")).await;
    let view = cluster.view();
    assert_eq!(view.web_replicas(), fixtures::DEPLOYMENT_REPLICAS);
    assert_eq!(view.db_replicas(), fixtures::STATEFULSET_REPLICAS);
    assert!(!view.cronjob_suspended());
    assert_eq!(view.volume_spec(), "secondary");
    assert!(!view.dns_on());
    assert!(view.serves(), "running workloads count as serving");
    let kubeconfig = std::fs::read_to_string(&cluster.kubeconfig).expect("kubeconfig");
    assert!(kubeconfig.contains(&cluster.api.url()), "{kubeconfig}");
    // The workload controller stand-in reports the replicas as ready.
    until(
        Duration::from_secs(5),
        "the Deployment's replicas are ready",
        || {
            let d = cluster.view().deployment;
            async move {
                check(
                    d["status"]["readyReplicas"] == fixtures::DEPLOYMENT_REPLICAS,
                    || d["status"].to_string(),
                )
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_volume_replication_status_follows_its_spec_with_csi_addons_conditions() {
    let cluster = Cluster::start(KUBE, "east", &tmp("volume")).await;
    let gvk = GroupVersionKind::gvk(
        "replication.storage.openshift.io",
        "v1alpha1",
        "VolumeReplication",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(
        cluster.api.client(),
        fixtures::NS,
        &ApiResource::from_gvk(&gvk),
    );
    api.patch(
        fixtures::VOLUME,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicationState": "primary"}})),
    )
    .await
    .expect("promote");
    let (status, took) = until(Duration::from_secs(5), "the volume reports Primary", || {
        let v = cluster.view().volume;
        async move {
            check(v["status"]["state"] == "Primary", || {
                v["status"].to_string()
            })?;
            Ok(v["status"].clone())
        }
    })
    .await;
    assert!(
        took >= Duration::from_millis(100),
        "a volume takes time to promote: {took:?}"
    );
    let conditions: Vec<(String, String)> = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        conditions,
        [
            ("Completed".into(), "True".into()),
            ("Degraded".into(), "False".into()),
            ("Resyncing".into(), "False".into())
        ]
    );
    assert_eq!(
        status["observedGeneration"],
        cluster.view().volume["metadata"]["generation"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_proxy_refuses_dynamodb_calls_and_a_restored_one_forwards_them() {
    let proxy = CutProxy::start(&moto::endpoint()).await;
    let client = moto::sdk_client_for(&proxy.url).await;
    client
        .list_tables()
        .send()
        .await
        .expect("forwarded while not cut");
    proxy.set_cut(true);
    let err = client.list_tables().send().await;
    assert!(err.is_err(), "a cut path must fail the call");
    proxy.set_cut(false);
    client
        .list_tables()
        .send()
        .await
        .expect("forwarded again once restored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_process_dies_by_sigkill_and_its_log_is_kept() {
    let dir = tmp("kill");
    // Any long-running invocation of the binary will do: the embedded demo runs for a minute.
    let args = [
        "demo",
        "--headless",
        "--duration",
        "60s",
        "--clusters",
        "2",
        "--groups",
        "1",
    ];
    let launch = Launch {
        args: args.map(String::from).to_vec(),
        env: Vec::new(),
    };
    let mut p = Process::spawn("demo", &launch, &dir.join("demo.log"));
    until(
        Duration::from_secs(20),
        "the demo prints its timeline",
        || {
            let out = p.output();
            async move { check(!out.is_empty(), || "no output yet".into()) }
        },
    )
    .await;
    assert!(
        p.exited().is_none(),
        "the demo runs for a minute: {}",
        p.output()
    );
    let status = p.kill().await;
    assert_eq!(describe(status), "killed by signal 9");
    assert!(!p.output().is_empty(), "the log survives the process");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_reports_two_clusters_serving_and_two_primary_volumes_unless_one_is_ignored() {
    let dir = tmp("monitor");
    let east = Cluster::start(KUBE, "east", &dir).await;
    let west = Cluster::start(KUBE, "west", &dir).await;
    // As GitOps applies them, both clusters run the workloads.
    let monitor = ServingMonitor::start(vec![east.clone(), west.clone()]);
    until(Duration::from_secs(5), "an overlap is reported", || {
        let seen = monitor.overlap();
        async move { seen.ok_or_else(|| "none yet".to_string()) }
    })
    .await;
    assert_eq!(monitor.volume_overlap(), None, "both volumes are secondary");

    // Ignoring one cluster, a fresh monitor sees one cluster only, however long it samples.
    let monitor = ServingMonitor::start_ignoring(vec![east.clone(), west.clone()], &["west"]);
    for vr in [&east, &west] {
        let mut obj = vr.view().volume;
        obj["spec"]["replicationState"] = json!("primary");
        vr.apply(obj);
    }
    let start = monitor.samples();
    until(Duration::from_secs(5), "ten more samples", || {
        let n = monitor.samples();
        async move { check(n >= start + 10, || format!("{n} samples")) }
    })
    .await;
    assert_eq!(monitor.overlap(), None);
    assert_eq!(monitor.volume_overlap(), None);
    monitor.ignore("west", false);
    until(
        Duration::from_secs(5),
        "two primary volumes are reported",
        || {
            let seen = monitor.volume_overlap();
            async move { seen.ok_or_else(|| "none yet".to_string()) }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_proxy_leaves_calls_hanging_until_it_is_restored() {
    let proxy = CutProxy::start(&moto::endpoint()).await;
    let client = moto::sdk_client_for(&proxy.url).await;
    client
        .list_tables()
        .send()
        .await
        .expect("forwarded while open");
    proxy.set_path(Path::Blackhole);
    let call = tokio::time::timeout(Duration::from_secs(2), client.list_tables().send()).await;
    assert!(call.is_err(), "a blackholed call gets no answer: {call:?}");
    proxy.set_path(Path::Open);
    client
        .list_tables()
        .send()
        .await
        .expect("forwarded again once restored");
}

/// A chaos schedule once lost a controller replica at start: the port it was given for its
/// health server had been taken, between the harness's check and the process's bind, by an
/// outgoing connection (the kernel draws those from the same ephemeral range as `bind(0)`).
#[test]
fn free_ports_are_distinct_below_the_ephemeral_range_and_free() {
    let (low, _) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| {
            let mut it = r.split_whitespace().map(|p| p.parse::<u16>().ok());
            Some((it.next()??, it.next()??))
        })
        .unwrap_or((32768, 60999));
    let ports: Vec<u16> = (0..500).map(|_| e2e::world::free_port()).collect();
    let distinct: std::collections::BTreeSet<_> = ports.iter().collect();
    assert_eq!(distinct.len(), ports.len(), "a port was handed out twice");
    for port in ports {
        assert!(port < low, "{port} is in the ephemeral range from {low}");
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "{port} is taken"
        );
    }
}
