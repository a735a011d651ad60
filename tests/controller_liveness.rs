//! The liveness side of the `run` controller: `/healthz` fails, naming the group, when a group's
//! tick has stopped finishing while this replica acts (so the kubelet restarts the process),
//! and recovers once it finishes again.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "support/controller.rs"]
mod controller_support;

use async_trait::async_trait;
use controller_support::*;
use kube::api::{Api, PostParams};
use kubectl_failover::clock::{Clock, SystemClock};
use kubectl_failover::controller::http::serve;
use kubectl_failover::controller::{Controller, ControllerDeps};
use kubectl_failover::crd::FailoverGroup;
use kubectl_failover::k8s::simulated::{ServingLog, SimulatedCluster};
use kubectl_failover::k8s::{Action, ActionError, ClusterActions, HealthReport, Progress};
use kubectl_failover::store::GroupId;
use kubectl_failover::store::memory::MemoryStore;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The simulated cluster, except that `health` and `apply` block their thread while `stuck` is
/// on: the agent's tick hangs in them as in a deadlock or a blocking call, which no timeout of
/// the agent can cut short.
struct Sticky {
    inner: Arc<SimulatedCluster>,
    stuck: AtomicBool,
}

impl Sticky {
    fn block_while_stuck(&self) {
        // block_in_place: the runtime moves this worker's other tasks (the health server's
        // among them) to another thread, as it would for any blocking call.
        tokio::task::block_in_place(|| {
            while self.stuck.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(20));
            }
        });
    }
}

#[async_trait]
impl ClusterActions for Sticky {
    fn cluster_name(&self) -> &str {
        self.inner.cluster_name()
    }
    async fn apply(
        &self,
        group: &GroupId,
        action: Action,
        epoch: u64,
    ) -> Result<Progress, ActionError> {
        self.block_while_stuck();
        self.inner.apply(group, action, epoch).await
    }
    async fn health(&self, group: &GroupId) -> Result<HealthReport, ActionError> {
        self.block_while_stuck();
        self.inner.health(group).await
    }
    async fn has_volume_replications(&self, group: &GroupId) -> Result<bool, ActionError> {
        self.inner.has_volume_replications(group).await
    }
    async fn renew_serving_lease(
        &self,
        group: &GroupId,
        lease: Duration,
    ) -> Result<bool, ActionError> {
        self.inner.renew_serving_lease(group, lease).await
    }
}

async fn http_get(addr: &str, path: &str) -> Option<String> {
    let get = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        Some(response)
    };
    tokio::time::timeout(Duration::from_secs(2), get)
        .await
        .ok()
        .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_fails_naming_the_group_whose_tick_is_stuck_and_recovers_when_it_finishes() {
    let server = api_server().await;
    let fgs: Api<FailoverGroup> = Api::namespaced(server.client(), NS);
    // heartbeatInterval 1s, timeouts.heartbeat 4s.
    fgs.create(&PostParams::default(), &failover_group("web", "east"))
        .await
        .unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let sim = Arc::new(SimulatedCluster::new(
        "east",
        clock.clone(),
        ServingLog::new(clock.clone()),
    ));
    let sticky = Arc::new(Sticky {
        inner: sim.clone(),
        stuck: AtomicBool::new(false),
    });
    let controller = Controller::new(
        settings("east"),
        ControllerDeps {
            client: server.client(),
            cluster: sticky.clone(),
            resources: Arc::new(SimResources(sim)),
            store: Arc::new(MemoryStore::new()),
            clock,
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    let health = controller.health();
    tokio::spawn(serve(listener, health.clone(), rx.clone()));
    let task = tokio::spawn(controller.run(rx));

    eventually(
        Duration::from_secs(30),
        "the group's agent to run",
        || async {
            let m = health.metrics.encode();
            m.lines()
                .any(|l| l == "kubectl_failover_groups 1")
                .then_some(())
        },
    )
    .await;
    let ok = http_get(&addr, "/healthz").await.unwrap();
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");

    sticky.stuck.store(true, Ordering::SeqCst);
    let failing = eventually(Duration::from_secs(20), "/healthz 503", || async {
        http_get(&addr, "/healthz")
            .await
            .filter(|r| r.starts_with("HTTP/1.1 503"))
    })
    .await;
    assert!(failing.contains("shop/web"), "{failing}");

    sticky.stuck.store(false, Ordering::SeqCst);
    eventually(Duration::from_secs(10), "/healthz 200 again", || async {
        http_get(&addr, "/healthz")
            .await
            .filter(|r| r.starts_with("HTTP/1.1 200"))
    })
    .await;
    let _ = shutdown.send(true);
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("stops within 20s")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_whose_timings_the_probe_budget_cannot_honour_is_reported_in_status_and_metrics() {
    let server = api_server().await;
    let fgs: Api<FailoverGroup> = Api::namespaced(server.client(), NS);
    // 1s / 4s: a stall is seen 2s + 5s after the last heartbeat, 20s more is far too late.
    fgs.create(&PostParams::default(), &failover_group("tight", "east"))
        .await
        .unwrap();
    // 1s / 1m: 8s + 20s is well before the minute.
    let relaxed: FailoverGroup = serde_json::from_value(serde_json::json!({
        "apiVersion": "kubectl-failover.io/v1alpha1",
        "kind": "FailoverGroup",
        "metadata": {"name": "relaxed", "namespace": NS},
        "spec": {
            "initialPrimary": "east",
            "heartbeatInterval": "1s",
            "timeouts": {"heartbeat": "1m", "transitoryState": "5m", "unhealthyPrimary": "2s"},
            "workloads": [{"kind": "Deployment", "name": "api"}],
        },
    }))
    .unwrap();
    fgs.create(&PostParams::default(), &relaxed).await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let sim = Arc::new(SimulatedCluster::new(
        "east",
        clock.clone(),
        ServingLog::new(clock.clone()),
    ));
    let controller = Controller::new(
        settings("east"),
        ControllerDeps {
            client: server.client(),
            cluster: sim.clone(),
            resources: Arc::new(SimResources(sim)),
            store: Arc::new(MemoryStore::new()),
            clock,
        },
    )
    .with_liveness_budget(Some(Duration::from_secs(20)));
    let health = controller.health();
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(controller.run(rx));

    let condition = |name: &'static str| {
        let fgs = fgs.clone();
        async move {
            let status = fgs.get(name).await.ok()?.status?;
            status
                .conditions
                .into_iter()
                .find(|c| c.type_ == "LivenessBudget")
        }
    };
    let tight = eventually(Duration::from_secs(30), "LivenessBudget on tight", || {
        condition("tight")
    })
    .await;
    assert_eq!(tight.reason, "ProbeTooSlow", "{tight:?}");
    assert!(
        tight.message.contains("LIVENESS_BUDGET 20s"),
        "{}",
        tight.message
    );
    assert!(
        tight.message.contains("timeouts.heartbeat 4s"),
        "{}",
        tight.message
    );
    let relaxed = eventually(Duration::from_secs(30), "LivenessBudget on relaxed", || {
        condition("relaxed")
    })
    .await;
    assert_eq!(relaxed.reason, "WithinBudget", "{relaxed:?}");
    let metrics = health.metrics.encode();
    assert!(
        metrics.contains(r#"kubectl_failover_liveness_budget_short{group="shop/tight"} 1"#),
        "{metrics}"
    );
    assert!(
        !metrics.contains(r#"liveness_budget_short{group="shop/relaxed"}"#),
        "{metrics}"
    );
    let _ = shutdown.send(true);
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("stops within 20s")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_whose_heartbeats_fall_behind_says_so_in_status_and_metrics_before_it_fences() {
    use kubectl_failover::store::instrumented::InstrumentedStore;
    let server = api_server().await;
    let fgs: Api<FailoverGroup> = Api::namespaced(server.client(), NS);
    // A heartbeat timeout of 8 intervals: the warning (at 2) comes 6 s before the fence.
    let group: FailoverGroup = serde_json::from_value(serde_json::json!({
        "apiVersion": "kubectl-failover.io/v1alpha1",
        "kind": "FailoverGroup",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "initialPrimary": "east",
            "heartbeatInterval": "1s",
            "timeouts": {"heartbeat": "8s", "transitoryState": "30s", "unhealthyPrimary": "2s", "deactivation": "2s"},
            "workloads": [{"kind": "Deployment", "name": "api"}],
        },
    }))
    .unwrap();
    fgs.create(&PostParams::default(), &group).await.unwrap();
    let link = Arc::new(InstrumentedStore::new(Arc::new(MemoryStore::new()), "east"));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let running = start(
        &server,
        link.clone(),
        settings("east"),
        &ServingLog::new(clock),
    );
    let behind = |fgs: Api<FailoverGroup>| async move {
        let status = fgs.get("web").await.ok()?.status?;
        status
            .conditions
            .into_iter()
            .find(|c| c.type_ == "HeartbeatsBehind")
    };
    let on_time = eventually(Duration::from_secs(30), "HeartbeatsBehind=False", || {
        let fgs = fgs.clone();
        async move { behind(fgs).await.filter(|c| c.reason == "OnTime") }
    })
    .await;
    assert_eq!(format!("{:?}", on_time.status), "False");
    let fenced = r#"kubectl_failover_fenced{group="shop/web"} 1"#;
    assert!(!running.metrics().contains(fenced), "{}", running.metrics());

    link.set_partitioned(true);
    let cut = std::time::Instant::now();
    let (mut warned, mut lag_seen, mut fenced_at) = (None, false, None);
    while cut.elapsed() < Duration::from_secs(30) && (warned.is_none() || fenced_at.is_none()) {
        if warned.is_none()
            && let Some(c) = behind(fgs.clone()).await
            && c.reason == "HeartbeatsLate"
        {
            assert!(
                c.message.contains("8s (timeouts.heartbeat)"),
                "{}",
                c.message
            );
            warned = Some(cut.elapsed());
        }
        let metrics = running.metrics();
        lag_seen |= metrics
            .lines()
            .filter(|l| {
                l.starts_with(r#"kubectl_failover_heartbeat_lag_seconds{group="shop/web"}"#)
            })
            .any(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) > Some(0.0));
        if fenced_at.is_none() && metrics.contains(fenced) {
            fenced_at = Some(cut.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let warned = warned.expect("HeartbeatsBehind=True within 30 s of the cut");
    let fenced_at = fenced_at.expect("the cluster fenced within 30 s of the cut");
    eprintln!("HeartbeatsBehind at {warned:?}, fenced at {fenced_at:?} after the cut");
    assert!(lag_seen, "heartbeat_lag_seconds never rose above 0");
    assert!(
        warned + Duration::from_secs(3) < fenced_at,
        "warned at {warned:?}, fenced at {fenced_at:?}: the warning must come well before the fence"
    );

    link.set_partitioned(false);
    eventually(
        Duration::from_secs(30),
        "HeartbeatsBehind=False again",
        || {
            let fgs = fgs.clone();
            async move { behind(fgs).await.filter(|c| c.reason == "OnTime") }
        },
    )
    .await;
    running.stop().await.unwrap();
}
