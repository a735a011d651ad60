//! An in-memory Kubernetes API server for tests: one per simulated cluster.
//!
//! Serves plain HTTP/1.1 on 127.0.0.1 to kube-rs clients and real `kubectl`: discovery,
//! get/list/watch with resourceVersions, create, replace, merge/JSON/apply patches, the
//! status subresource and finalizer-aware deletion, for the built-in kinds the project
//! touches and for any custom resource once its CRD is created. Declare it from a test file
//! with `#[path = "support/apiserver/mod.rs"] mod apiserver;`.
//!
//! Simplified compared with a real API server (behaviour "verified only against the
//! in-memory API server" rests on these):
//! - no authentication, authorization, admission (webhooks, CEL `x-kubernetes-validations`)
//!   or schema validation/pruning: any JSON object is stored as sent;
//! - defaulting only sets Deployment/StatefulSet `spec.replicas` (1) and CronJob
//!   `spec.suspend` (false); no other defaults; no managedFields;
//! - server-side apply = create-if-missing, else a merge patch of the body (no field
//!   ownership, no conflicts, `force` ignored, omitted fields are not removed);
//! - strategic merge patch = JSON merge patch (lists replaced whole, no `$patch`);
//! - CRD versions share one storage without conversion (an object is served with the
//!   requested apiVersion); the preferred version is the first served one; core `v1` Events
//!   and `events.k8s.io/v1` Events are separate stores;
//! - namespaces need not exist and deleting one does not delete its contents; deleting a CRD
//!   deletes its objects at once; no garbage collection of owner references;
//! - a completed DELETE answers a `Status` (as for Deployments and custom resources),
//!   DeleteOptions (preconditions, propagation, grace period) are ignored; no deletecollection;
//! - list: `limit`/`continue` are ignored (everything in one page), `resourceVersion` /
//!   `resourceVersionMatch` are ignored (always the latest state); field selectors only
//!   `metadata.name` and `metadata.namespace`;
//! - watch history is the last 1000 writes (configurable), bookmarks every second by default;
//! - `dryRun` is refused with 400; subresources are `/status` and, for Deployments and
//!   StatefulSets only, `/scale`; no aggregated discovery (clients fall back to the legacy
//!   documents); no OpenAPI documents (client-side `kubectl apply` needs `--validate=false`);
//!   JSON only: no Table output (kubectl prints NAME and AGE only) and no protobuf, so
//!   kubectl's typed generators (`kubectl create namespace|configmap|…`) get 415 — use
//!   `kubectl create -f`/`apply -f` with manifests;
//! - the workload controller stand-in only copies `spec.replicas` into the status counts.
//!
//! Note for tests: kube 5 clients retry 429/503/504 by default (15 times, exponential
//! backoff from 5 ms, minutes in total), so a test that wants to see a 503 turns
//! `default_retry` off in [`FakeApiServer::config`].

// Each test file that declares this module uses a different subset of its helpers.
#![allow(dead_code)]

mod error;
mod http;
mod journal;
mod kubelet;
mod lifecycle;
mod patch;
mod registry;
mod rest;
mod route;
mod scale;
mod select;
mod store;
mod watch;
mod workload;
mod write;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::task::JoinHandle;

pub use error::ApiError;
pub use journal::Written;
use store::State;

/// One request as received, for asserting exact request contracts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw (still percent-encoded) query string, "" when absent.
    pub query: String,
    pub content_type: String,
    pub body: String,
    /// The response status (0 while a handler is still running).
    pub status: u16,
}

impl RecordedRequest {
    /// A decoded query parameter (kube writes `?&fieldManager=…`, so match on values, not
    /// on the raw string).
    pub fn param(&self, name: &str) -> Option<String> {
        http::parse_query(&self.query).remove(name)
    }
}

#[derive(Debug, Default)]
struct Faults {
    unavailable: bool,
    fail_next: u32,
    fail_status: u16,
    /// Requests whose method and path match are never answered.
    hang: Option<(String, String)>,
    /// Requests whose method and path match are refused with this status, as a refusing
    /// admission webhook does: (method, path part, status, message).
    refuse: Option<(String, String, u16, String)>,
    /// Every request is answered this late.
    slow: Option<Duration>,
}

/// State shared by the connection tasks, the watch streams and the handle.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Ticks on every write (and on watch expiry/closure): watch streams wait on it.
    changes: tokio::sync::watch::Sender<u64>,
    shutdown: tokio::sync::watch::Sender<bool>,
    faults: Mutex<Faults>,
    log: Mutex<Vec<RecordedRequest>>,
    bookmark_interval: Mutex<Duration>,
    addr: SocketAddr,
}

/// A poisoned lock only means a test thread panicked while holding it; the data is still
/// usable, and handlers must not panic in turn.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Runs a mutation under the lock and wakes watches if it wrote anything.
    fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut st = self.lock();
        let before = (st.rv, st.gone_epoch, st.close_epoch);
        let result = f(&mut st);
        let changed = (st.rv, st.gone_epoch, st.close_epoch) != before;
        drop(st);
        if changed {
            self.changes.send_modify(|tick| *tick += 1);
        }
        result
    }

    fn record(&self, request: RecordedRequest) -> usize {
        let mut log = lock(&self.log);
        log.push(request);
        log.len() - 1
    }

    fn set_recorded_status(&self, index: usize, status: u16) {
        if let Some(r) = lock(&self.log).get_mut(index) {
            r.status = status;
        }
    }

    /// Whether a request with `method` to `path` is to hang (`FakeApiServer::set_hanging`).
    fn hangs(&self, method: &str, path: &str) -> bool {
        lock(&self.faults)
            .hang
            .as_ref()
            .is_some_and(|(m, p)| m.eq_ignore_ascii_case(method) && path.contains(p.as_str()))
    }

    /// The refusal a request with `method` to `path` gets (`FakeApiServer::set_refusing`).
    fn refusal(&self, method: &str, path: &str) -> Option<ApiError> {
        lock(&self.faults)
            .refuse
            .as_ref()
            .filter(|(m, p, _, _)| m.eq_ignore_ascii_case(method) && path.contains(p.as_str()))
            .map(|(_, _, code, message)| ApiError::from_code(*code, message))
    }

    /// How late requests are answered (`FakeApiServer::set_slow`).
    fn slowness(&self) -> Option<Duration> {
        lock(&self.faults).slow
    }

    fn injected_fault(&self) -> Option<ApiError> {
        let mut faults = lock(&self.faults);
        if faults.unavailable {
            return Some(ApiError::from_code(
                503,
                "the in-memory API server is switched unavailable",
            ));
        }
        if faults.fail_next > 0 {
            faults.fail_next -= 1;
            return Some(ApiError::from_code(faults.fail_status, "injected failure"));
        }
        None
    }

    fn bookmark_interval(&self) -> Duration {
        *lock(&self.bookmark_interval)
    }
}

/// A running server; dropping it stops accepting, closes connections and ends watches.
pub struct FakeApiServer {
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
    workload: Mutex<Option<JoinHandle<()>>>,
}

impl FakeApiServer {
    /// Binds 127.0.0.1 on an ephemeral port and serves until dropped.
    pub async fn start() -> FakeApiServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new()),
            changes: tokio::sync::watch::channel(0).0,
            shutdown: tokio::sync::watch::channel(false).0,
            faults: Mutex::new(Faults::default()),
            log: Mutex::new(Vec::new()),
            bookmark_interval: Mutex::new(Duration::from_secs(1)),
            addr,
        });
        let accept_shared = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accept_shared.clone();
                let mut shutdown = shared.shutdown.subscribe();
                tokio::spawn(async move {
                    let service = service_fn(move |req| http::handle(shared.clone(), req));
                    let conn =
                        http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = conn => {}
                        _ = shutdown.changed() => {}
                    }
                });
            }
        });
        FakeApiServer {
            shared,
            accept,
            workload: Mutex::new(None),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// A kubeconfig with one cluster, user and context, all named `context`, current.
    pub fn kubeconfig_yaml(&self, context: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}\n  cluster:\n    server: {url}\n\
             users:\n- name: {context}\n  user:\n    token: fake-token-{context}\n\
             contexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n    namespace: default\n\
             current-context: {context}\n",
            url = self.url()
        )
    }

    pub fn write_kubeconfig(&self, path: &Path, context: &str) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml(context))
    }

    /// kube's default configuration for this server (default namespace `default`). Note that
    /// kube 5 retries 429/503/504 by default (15 times, exponential backoff from 5 ms), so a
    /// test expecting such an error sets `default_retry = false`.
    pub fn config(&self) -> kube::Config {
        kube::Config::new(self.url().parse().expect("server URL"))
    }

    /// A kube client with kube's defaults (see [`FakeApiServer::config`]).
    pub fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config()).expect("kube client")
    }

    /// The stored object at an API path (e.g. `/apis/apps/v1/namespaces/ns/deployments/web`).
    pub fn get(&self, api_path: &str) -> Option<Value> {
        let st = self.shared.lock();
        match route::route(&st.registry, api_path).ok()? {
            route::Route::Resource(route::Target {
                rt,
                namespace,
                name: Some(name),
                ..
            }) => st
                .get(&rt, namespace.as_deref().unwrap_or_default(), &name)
                .ok(),
            _ => None,
        }
    }

    /// Seeds (creates or overwrites) a whole object, status included, with no precondition;
    /// stamps uid, creationTimestamp, generation and a new resourceVersion; emits a watch event.
    pub fn put_object(&self, obj: Value) -> Value {
        self.shared
            .write(|st| st.seed(obj))
            .unwrap_or_else(|e| panic!("put_object: {}", e.message))
    }

    /// Every stored object of a kind (any group), in namespace/name order.
    pub fn objects(&self, kind: &str) -> Vec<Value> {
        let st = self.shared.lock();
        st.all_objects()
            .filter(|o| o["kind"] == kind)
            .cloned()
            .collect()
    }

    /// The current (last written) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().rv
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// While on, every request gets 503 and open watches are closed (like an outage).
    pub fn set_unavailable(&self, unavailable: bool) {
        lock(&self.shared.faults).unavailable = unavailable;
        if unavailable {
            self.shared.write(|st| st.close_epoch += 1);
        }
    }

    /// While `Some((method, path part))`, every request with that method whose path contains
    /// `path part` is never answered (a stuck API server or admission webhook); `None` answers
    /// them again.
    pub fn set_hanging(&self, rule: Option<(&str, &str)>) {
        lock(&self.shared.faults).hang = rule.map(|(m, p)| (m.to_string(), p.to_string()));
    }

    /// While `Some((method, path part, status, message))`, every request with that method whose
    /// path contains `path part` is refused with `status` and `message` (an admission webhook
    /// that refuses, istiod down); `None` lets them through again.
    pub fn set_refusing(&self, rule: Option<(&str, &str, u16, &str)>) {
        lock(&self.shared.faults).refuse =
            rule.map(|(m, p, c, msg)| (m.to_string(), p.to_string(), c, msg.to_string()));
    }

    /// The next `n` requests (of any kind) fail with `status` and a matching Status body.
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut faults = lock(&self.shared.faults);
        faults.fail_next = n;
        faults.fail_status = status;
    }

    /// Compacts the history: open watches get a 410 ERROR event and re-watching from any
    /// earlier resourceVersion gets 410 too, which makes kube's watcher re-list.
    pub fn expire_watches(&self) {
        self.shared.write(|st| {
            st.compact();
            st.gone_epoch += 1;
        });
    }

    /// How many writes watches can resume across (default 1000).
    pub fn set_history_limit(&self, writes: usize) {
        self.shared.write(|st| st.history_limit = writes.max(1));
    }

    /// Period of BOOKMARK events on watches that allow them (default 1 s); applies to new watches.
    pub fn set_bookmark_interval(&self, period: Duration) {
        *lock(&self.shared.bookmark_interval) = period.max(Duration::from_millis(10));
    }

    /// From now on, keeps a journal of every write to the resources `plurals` (see
    /// [`Written`]), opened with their objects as stored now; replaces an earlier journal.
    pub fn journal_writes(&self, plurals: &[&str]) {
        self.shared.lock().start_journal(plurals);
    }

    /// The journaled writes so far, in commit order (empty without [`Self::journal_writes`]).
    pub fn writes(&self) -> Vec<Written> {
        self.shared
            .lock()
            .journal
            .as_ref()
            .map(journal::Journal::entries)
            .unwrap_or_default()
    }

    /// While `Some(delay)`, every request is answered `delay` late (an overloaded API server).
    pub fn set_slow(&self, delay: Option<Duration>) {
        lock(&self.shared.faults).slow = delay;
    }

    /// Turns the Deployment/StatefulSet controller stand-in on (`Some(delay)`) or off: `delay`
    /// after a workload's `spec.replicas` differs from its status, the status counts follow it.
    pub fn set_workload_controller(&self, delay: Option<Duration>) {
        let mut slot = lock(&self.workload);
        if let Some(old) = slot.take() {
            old.abort();
        }
        *slot = delay.map(|d| tokio::spawn(workload::run(self.shared.clone(), d)));
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.accept.abort();
        if let Some(task) = lock(&self.workload).take() {
            task.abort();
        }
        self.shared.shutdown.send_replace(true);
    }
}
