//! Request contracts of the Kubernetes `ClusterActions` (src/k8s/kube) against a `tower-test`
//! mock API service, as kube-rs's reference controller tests its reconciler: every action's
//! method, path, patch content type and body, and how 409 Conflict, 404 Not Found (a missing
//! object or a missing CRD), a newer epoch on an object and a forged or unreadable one are
//! handled.

#[path = "kube_actions/epochs.rs"]
mod epochs;
#[path = "kube_actions/failures.rs"]
mod failures;
#[path = "kube_actions/health.rs"]
mod health;
#[path = "kube_actions/jobs.rs"]
mod jobs;
#[path = "kube_actions/traffic.rs"]
mod traffic;
#[path = "kube_actions/volumes.rs"]
mod volumes;
#[path = "kube_actions/workloads.rs"]
mod workloads;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use http_body_util::BodyExt;
use kube::client::Body;
use kubectl_failover::crd::FailoverGroupSpec;
use kubectl_failover::k8s::kube::{KubeCluster, KubeSettings};
use kubectl_failover::k8s::{Action, ActionError, ClusterActions, GroupResources, Progress};
use kubectl_failover::store::GroupId;
use serde_json::{Value, json};

const NS: &str = "shop";
const MERGE: &str = "application/merge-patch+json";

/// One request as the mock API server received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
}

impl Seen {
    /// Asserts a JSON merge patch of `path` by the default field manager with exactly `body`.
    #[track_caller]
    pub fn assert_merge_patch(&self, path: &str, body: Value) {
        assert_eq!(self.method, "PATCH", "{self:?}");
        assert_eq!(self.path, path, "{self:?}");
        assert_eq!(self.content_type, MERGE, "{self:?}");
        assert!(
            self.query.contains("fieldManager=kubectl-failover"),
            "field manager: {self:?}"
        );
        assert_eq!(self.body, body, "patch body of {path}");
    }

    /// Asserts a GET of `path`.
    #[track_caller]
    pub fn assert_get(&self, path: &str) {
        assert_eq!((self.method.as_str(), self.path.as_str()), ("GET", path));
    }
}

/// A scripted answer: status code and JSON body (`Value::String` is sent as plain text).
pub type Answer = (u16, Value);

/// A mock API server answering `script` in order (and 500 to any request beyond it), recording
/// every request. Pod lists (ScaleDown counting what is left of a workload) are answered
/// outside the script, with the pods given to [`cluster_with_pods`] (none by default), and
/// recorded apart: the scripts describe the workload objects' contract.
pub struct Mock {
    seen: Arc<Mutex<Vec<Seen>>>,
    pod_lists: Arc<Mutex<Vec<Seen>>>,
}

impl Mock {
    /// The requests received so far, pod lists left out.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The pod lists received so far.
    pub fn pod_lists(&self) -> Vec<Seen> {
        self.pod_lists.lock().unwrap().clone()
    }
}

/// A KubeCluster named `east` through a mock service answering `script`, with `spec`
/// registered for shop/web.
pub fn cluster(spec: Value, script: Vec<Answer>) -> (KubeCluster, Mock) {
    cluster_with_pods(spec, script, Vec::new())
}

/// [`cluster`] whose pod lists answer `pods`.
pub fn cluster_with_pods(
    spec: Value,
    script: Vec<Answer>,
    pods: Vec<Value>,
) -> (KubeCluster, Mock) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let pod_lists = Arc::new(Mutex::new(Vec::new()));
    let pod_log = pod_lists.clone();
    tokio::spawn(async move {
        let mut script = script.into_iter();
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect().await.unwrap().to_bytes();
            let content_type = parts
                .headers
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let request = Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                query: parts.uri.query().unwrap_or_default().to_string(),
                content_type,
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            };
            let pod_list = request.method == "GET" && request.path.ends_with("/pods");
            let (code, answer) = if pod_list {
                pod_log.lock().unwrap().push(request);
                let list =
                    json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": pods});
                (200, list)
            } else {
                log.lock().unwrap().push(request);
                script
                    .next()
                    .unwrap_or((500, status(500, "InternalError", "unexpected request", "")))
            };
            let bytes = match answer {
                Value::String(text) => text.into_bytes(),
                other => serde_json::to_vec(&other).unwrap(),
            };
            let response = Response::builder()
                .status(code)
                .header("content-type", "application/json")
                .body(Body::from(bytes))
                .unwrap();
            send.send_response(response);
        }
    });
    let client = kube::Client::new(service, "default");
    let cluster = KubeCluster::new(client, "east", KubeSettings::default());
    let spec: FailoverGroupSpec = serde_json::from_value(spec).expect("FailoverGroup spec");
    cluster.set_group(&group(), &spec);
    (cluster, Mock { seen, pod_lists })
}

/// shop/web.
pub fn group() -> GroupId {
    GroupId::new(NS, "web").unwrap()
}

/// A FailoverGroup spec with these lists (each `null` when the group has none).
pub fn spec(workloads: Value, network: Value, flux: Value) -> Value {
    let mut spec = json!({"initialPrimary": "east"});
    for (key, value) in [
        ("workloads", workloads),
        ("networkResources", network),
        ("fluxResources", flux),
    ] {
        if !value.is_null() {
            spec[key] = value;
        }
    }
    spec
}

/// An API `Status` body.
pub fn status(code: u16, reason: &str, message: &str, name: &str) -> Value {
    let mut s = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code,
    });
    s["details"] = if name.is_empty() {
        json!({})
    } else {
        json!({"name": name, "kind": "deployments", "group": "apps"})
    };
    s
}

/// An object of `api_version`/`kind` named `name` in shop at resourceVersion `rv`, with
/// `annotations`, and `rest` (spec, status) merged in.
pub fn object(
    api_version: &str,
    kind: &str,
    name: &str,
    rv: &str,
    annotations: Value,
    rest: Value,
) -> Value {
    let mut obj = json!({
        "apiVersion": api_version, "kind": kind,
        "metadata": {"name": name, "namespace": NS, "resourceVersion": rv, "generation": 1},
    });
    if !annotations.is_null() {
        obj["metadata"]["annotations"] = annotations;
    }
    if let Value::Object(rest) = rest {
        for (k, v) in rest {
            obj[k] = v;
        }
    }
    // Workloads always have a selector (apps/v1 requires one): their pods are listed by it.
    if api_version == "apps/v1" && obj["spec"]["selector"].is_null() && obj["spec"].is_object() {
        obj["spec"]["selector"] = json!({"matchLabels": {"app": name}});
    }
    obj
}

/// `obj` stamped with `epoch`, as the API server answers once an action stamped it (a
/// re-applied step then has nothing to stamp and sends no patch).
pub fn stamped(mut obj: Value, epoch: &str) -> Value {
    obj["metadata"]["annotations"]["kubectl-failover.io/epoch"] = json!(epoch);
    obj
}

/// Runs one action with a bound on time, so a contract broken into an extra request that never
/// gets an answer fails instead of hanging.
pub async fn apply(
    cluster: &KubeCluster,
    action: Action,
    epoch: u64,
) -> Result<Progress, ActionError> {
    tokio::time::timeout(
        Duration::from_secs(10),
        cluster.apply(&group(), action, epoch),
    )
    .await
    .expect("the action finished")
}

/// The message of an Unavailable error.
#[track_caller]
pub fn unavailable(result: Result<Progress, ActionError>) -> String {
    match result {
        Err(ActionError::Unavailable { message, .. }) => message,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
