//! Helpers for the controller tests: an in-memory API server per cluster with the CRDs
//! installed, a simulated cluster behind `ClusterActions`, and a controller running in a task.
// Each controller test file uses a different subset.
#![allow(dead_code)]

use super::apiserver::FakeApiServer;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kubectl_failover::clock::{Clock, SystemClock};
use kubectl_failover::controller::{
    Controller, ControllerDeps, ControllerSettings, LeaderSettings,
};
use kubectl_failover::crd::{FailoverGroup, FailoverGroupSpec};
use kubectl_failover::k8s::GroupResources;
use kubectl_failover::k8s::simulated::{ServingLog, SimGroupSpec, SimulatedCluster};
use kubectl_failover::store::{CoordinationStore, GroupId};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub const OP: &str = "failover-operator";
pub const NS: &str = "shop";

/// `GroupResources` for the simulated cluster: a group set for the first time gets a stateless
/// application with no delays (as a FailoverGroup applied by GitOps next to its workloads).
pub struct SimResources(pub Arc<SimulatedCluster>);

impl GroupResources for SimResources {
    fn set_group(&self, group: &GroupId, _spec: &FailoverGroupSpec) {
        if self.0.snapshot(group).is_none() {
            self.0
                .add_group(group.clone(), SimGroupSpec::stateless().instant());
        }
    }
    fn remove_group(&self, _group: &GroupId) {}
}

/// An API server with both CRDs installed.
pub async fn api_server() -> FakeApiServer {
    let server = FakeApiServer::start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    for crd in kubectl_failover::crd::crds() {
        crds.create(&PostParams::default(), &crd)
            .await
            .expect("create CRD");
    }
    server
}

/// A FailoverGroup `shop/NAME` with fast timings, first served by `initial`.
pub fn failover_group(name: &str, initial: &str) -> FailoverGroup {
    serde_json::from_value(json!({
        "apiVersion": "kubectl-failover.io/v1alpha1",
        "kind": "FailoverGroup",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "initialPrimary": initial,
            "heartbeatInterval": "1s",
            "timeouts": {"heartbeat": "4s", "transitoryState": "30s", "unhealthyPrimary": "2s", "deactivation": "2s"},
            "workloads": [{"kind": "Deployment", "name": "api"}],
        },
    }))
    .expect("FailoverGroup")
}

/// One running controller.
pub struct Running {
    pub cluster: Arc<SimulatedCluster>,
    pub health: Arc<kubectl_failover::controller::http::Health>,
    pub shutdown: watch::Sender<bool>,
    pub task: JoinHandle<Result<(), kubectl_failover::controller::ControllerError>>,
}

impl Running {
    /// Signals shutdown and waits for the controller to return.
    pub async fn stop(self) -> Result<(), kubectl_failover::controller::ControllerError> {
        let _ = self.shutdown.send(true);
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("controller stops within 20s")
            .expect("controller task")
    }

    /// The Prometheus text of this replica.
    pub fn metrics(&self) -> String {
        self.health.metrics.encode()
    }
}

/// Settings for `cluster`, without leader election.
pub fn settings(cluster: &str) -> ControllerSettings {
    ControllerSettings {
        cluster_name: cluster.to_string(),
        operator_id: OP.to_string(),
        namespace: None,
        leader_election: None,
        failover_poll: Duration::from_millis(300),
    }
}

/// Leader election with a short Lease, as `identity`.
pub fn leader(identity: &str, lease: Duration) -> LeaderSettings {
    LeaderSettings::with_duration(identity, "kube-system", "kubectl-failover-leader", lease)
}

/// Starts a controller for `settings` against `server` and `store`, on a new simulated cluster.
pub fn start(
    server: &FakeApiServer,
    store: Arc<dyn CoordinationStore>,
    settings: ControllerSettings,
    log: &ServingLog,
) -> Running {
    start_with_client(server.client(), store, settings, log)
}

/// As [`start`], with a given client (e.g. one made on another runtime).
pub fn start_with_client(
    client: kube::Client,
    store: Arc<dyn CoordinationStore>,
    settings: ControllerSettings,
    log: &ServingLog,
) -> Running {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let cluster = Arc::new(SimulatedCluster::new(
        &settings.cluster_name,
        clock.clone(),
        log.clone(),
    ));
    let controller = Controller::new(
        settings,
        ControllerDeps {
            client,
            cluster: cluster.clone(),
            resources: Arc::new(SimResources(cluster.clone())),
            store,
            clock,
        },
    );
    let health = controller.health();
    let (shutdown, rx) = watch::channel(false);
    let task = tokio::spawn(controller.run(rx));
    Running {
        cluster,
        health,
        shutdown,
        task,
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or panics with `what` after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
