//! Where a simulated cluster's Kubernetes API comes from: the in-memory API server
//! (tests/support/apiserver: fast, with switches for faults, a workload stand-in instead of
//! controllers and pods), or a real control plane (tests/support/control_plane: etcd,
//! kube-apiserver with RBAC and CEL, kube-controller-manager, kwok pods that terminate over
//! their grace period) reached by the controller through a fault proxy with a ServiceAccount
//! token bound to deploy/'s RBAC. Each test binary picks one with its `KUBE` constant.
//!
//! The scenarios read objects synchronously (the monitor samples every few milliseconds); on the
//! real control plane those reads are HTTP requests made on the test's runtime.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::fixtures::NS;
use crate::apiserver::FakeApiServer;
use crate::support::control_plane::ControlPlane;
use crate::support::control_plane::sync_client::SyncClient;
use crate::support::kube_fault_proxy::KubeFaultProxy;

/// Which API server a test binary's clusters run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kube {
    /// The in-memory API server.
    InMemory,
    /// A real control plane per cluster.
    Real,
}

/// The namespace and ServiceAccount of the controller, as deploy/base creates them.
pub const SYSTEM_NS: &str = "kubectl-failover-system";
/// See [`SYSTEM_NS`].
pub const SERVICE_ACCOUNT: &str = "kubectl-failover";

/// A real control plane with the fault proxy the controller talks through.
pub struct RealApi {
    /// The control plane.
    pub plane: ControlPlane,
    /// The controller's path to kube-apiserver.
    pub proxy: KubeFaultProxy,
    /// A token of the controller's ServiceAccount.
    pub token: String,
    /// Synchronous reads for the samplers, on a thread of their own.
    pub sync: SyncClient,
}

/// One cluster's API server.
pub enum Api {
    /// In memory.
    Fake(FakeApiServer),
    /// Real.
    Real(Box<RealApi>),
}

impl Api {
    /// Starts the API server of cluster `name` with the CRDs, the application's namespace and
    /// (real) deploy/'s namespace, ServiceAccount and RBAC.
    pub async fn start(kube: Kube, name: &str, dir: &Path) -> Api {
        match kube {
            Kube::InMemory => Api::Fake(FakeApiServer::start().await),
            Kube::Real => Api::Real(Box::new(start_real(name, dir).await)),
        }
    }

    /// The in-memory server, for tests that need its switches.
    pub fn fake(&self) -> Option<&FakeApiServer> {
        match self {
            Api::Fake(f) => Some(f),
            Api::Real(_) => None,
        }
    }

    /// The real control plane and its proxy.
    pub fn real(&self) -> Option<&RealApi> {
        match self {
            Api::Fake(_) => None,
            Api::Real(r) => Some(r),
        }
    }

    /// A client with every right (the in-memory server checks none).
    pub fn client(&self) -> kube::Client {
        match self {
            Api::Fake(f) => f.client(),
            Api::Real(r) => r.plane.client(),
        }
    }

    /// The address the controller is given.
    pub fn url(&self) -> String {
        match self {
            Api::Fake(f) => f.url(),
            Api::Real(r) => r.proxy.url.clone(),
        }
    }

    /// Writes the controller's kubeconfig: the in-memory server's, or the ServiceAccount token
    /// through the fault proxy.
    pub fn write_controller_kubeconfig(&self, path: &Path, context: &str) -> Result<(), String> {
        match self {
            Api::Fake(f) => f.write_kubeconfig(path, context).map_err(|e| e.to_string()),
            Api::Real(r) => crate::support::control_plane::objects::write_kubeconfig(
                path,
                context,
                &r.proxy.url,
                None,
                &r.token,
            ),
        }
    }

    /// The stored object at an API path; panics when the API server cannot be read.
    pub fn get(&self, path: &str) -> Option<Value> {
        self.try_get(path).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The stored object at an API path, or why it could not be read (the real API server
    /// is gone once its test ended; background samplers must not panic then).
    pub fn try_get(&self, path: &str) -> Result<Option<Value>, String> {
        match self {
            Api::Fake(f) => Ok(f.get(path)),
            Api::Real(r) => r.sync.get(path),
        }
    }

    /// Creates or replaces an object as GitOps would (server-side apply on the real one).
    pub fn put_object(&self, obj: Value) -> Value {
        match self {
            Api::Fake(f) => f.put_object(obj),
            Api::Real(r) => r
                .sync
                .apply(obj)
                .unwrap_or_else(|e| panic!("apply on {}: {e}", r.plane.name)),
        }
    }

    /// Every object of `kind` (VolumeReplication, Event, Pod); panics when they cannot be read.
    pub fn objects(&self, kind: &str) -> Vec<Value> {
        self.try_objects(kind).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every object of `kind`, or why they could not be read.
    pub fn try_objects(&self, kind: &str) -> Result<Vec<Value>, String> {
        match self {
            Api::Fake(f) => Ok(f.objects(kind)),
            Api::Real(r) => {
                let path = match kind {
                    "VolumeReplication" => {
                        "/apis/replication.storage.openshift.io/v1alpha1/volumereplications"
                    }
                    "Event" => "/apis/events.k8s.io/v1/events",
                    "Pod" => "/api/v1/pods",
                    other => panic!("objects({other}): add its list path to tests/e2e/backend.rs"),
                };
                r.sync.list(path)
            }
        }
    }
}

async fn start_real(name: &str, dir: &Path) -> RealApi {
    let plane = ControlPlane::start(name, dir)
        .await
        .unwrap_or_else(|e| panic!("the control plane of {name} did not start: {e}"));
    for file in ["namespace.yaml", "serviceaccount.yaml", "rbac.yaml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/base")
            .join(file);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            plane
                .apply(doc)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    plane
        .apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .await
        .unwrap_or_else(|e| panic!("namespace {NS}: {e}"));
    // Pods are refused until the ServiceAccount controller made the namespace's default one.
    let sa = format!("/api/v1/namespaces/{NS}/serviceaccounts/default");
    for _ in 0..300 {
        if matches!(plane.get(&sa).await, Ok(Some(_))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let token = plane
        .service_account_token(SYSTEM_NS, SERVICE_ACCOUNT)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let proxy = KubeFaultProxy::start(&plane.url, Some(&plane.ca), &plane.dir)
        .await
        .unwrap_or_else(|e| panic!("fault proxy for {name}: {e}"));
    // Started from a blocking thread: its start waits for the new thread's client.
    let kubeconfig = plane.admin_kubeconfig.clone();
    let cluster = name.to_string();
    let sync = tokio::task::spawn_blocking(move || SyncClient::start(&cluster, kubeconfig))
        .await
        .unwrap_or_else(|e| panic!("sync client for {name}: {e}"))
        .unwrap_or_else(|e| panic!("sync client for {name}: {e}"));
    RealApi {
        plane,
        proxy,
        token,
        sync,
    }
}
