//! A recording HTTP/1.1 proxy between `kubectl-failover run` and moto: every DynamoDB request
//! is forwarded unchanged (moto answers each with `Connection: close`, which the proxy passes
//! on: the controller opens a connection per request exactly as it does to moto directly) and
//! noted with its `X-Amz-Target` operation, its latency (request received to moto's answer
//! read in full: moto's queueing and work as the controller sees it) and its status. A write of a group's `CLUSTER#<name>` record (an `UpdateItem`, which is what
//! `put_cluster_status` sends: src/store/dynamodb/writes.rs) is a heartbeat of the group whose
//! `PK` (`GROUP#<operator>#<namespace>#<name>`) it names, timed when the request arrives (as
//! `InstrumentedStore` times it when the call starts, so the lateness has the same meaning as
//! benches/scale.rs's).
//!
//! tests/support/fault_proxy.rs and tests/e2e/proxy.rs do not fit: the first opens a connection
//! to moto per request and keeps nothing of what it forwards, the second forwards bytes without
//! reading requests at all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::Deserialize;
use tokio::net::TcpListener;

/// What was recorded since the window started (or since the proxy started).
#[derive(Debug, Default)]
struct State {
    /// Groups (their PK) that wrote at least one heartbeat.
    first: HashSet<String>,
    /// When each group's last heartbeat arrived.
    last: HashMap<String, Instant>,
    /// Gaps between a group's successive heartbeats, both inside the window; `None` before it.
    gaps: Option<Vec<Duration>>,
    /// Latency of every request answered in the window.
    latencies: Vec<Duration>,
    /// Requests per operation in the window.
    operations: BTreeMap<String, u64>,
    /// Answers that were not 2xx in the window, by DynamoDB error type (or HTTP status).
    errors: BTreeMap<String, u64>,
}

/// The figures of a window.
#[derive(Debug, Default)]
pub struct Window {
    /// Requests received in the window.
    pub requests: u64,
    /// Gaps between successive heartbeats of each group, both in the window.
    pub gaps: Vec<Duration>,
    /// Latencies of the requests answered in the window, sorted.
    pub latencies: Vec<Duration>,
    /// Requests per operation.
    pub operations: BTreeMap<String, u64>,
    /// Failed answers by error type.
    pub errors: BTreeMap<String, u64>,
    /// Groups whose last heartbeat (any time) is older than the given age at the window's end.
    pub overdue: usize,
}

struct Shared {
    upstream: String,
    client: Client<HttpConnector, Full<Bytes>>,
    requests: AtomicU64,
    state: Mutex<State>,
}

/// A running proxy; it stops accepting when dropped (open connections end with the controller).
pub struct Proxy {
    /// `http://127.0.0.1:PORT`: the endpoint the controller is given.
    pub url: String,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Proxy {
    /// Starts a proxy to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Result<Proxy, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind the recording proxy: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("recording proxy address: {e}"))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build(connector),
            requests: AtomicU64::new(0),
            state: Mutex::new(State::default()),
        });
        let accepting = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors and the like: try again shortly rather than spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let shared = accepting.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| forward(req, shared.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Proxy {
            url: format!("http://{addr}"),
            shared,
            accept,
        })
    }

    /// How many groups wrote at least one heartbeat so far.
    pub fn groups_heartbeating(&self) -> usize {
        self.lock().first.len()
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Starts the measured window: gaps, latencies, operations and errors are counted from now.
    pub fn start_window(&self) -> u64 {
        let mut state = self.lock();
        state.gaps = Some(Vec::new());
        state.latencies.clear();
        state.operations.clear();
        state.errors.clear();
        // Gaps are between two heartbeats inside the window, as benches/scale.rs counts them.
        state.last.clear();
        self.requests()
    }

    /// Ends the window that started when [`Proxy::start_window`] returned `requests_at_start`;
    /// `overdue_after` is the heartbeat age that counts a group as overdue at the end.
    pub fn end_window(&self, requests_at_start: u64, overdue_after: Duration) -> Window {
        let requests = self.requests() - requests_at_start;
        let mut state = self.lock();
        let now = Instant::now();
        // A group silent for the whole window is overdue too: its last beat was before it.
        let in_window = state.last.len();
        let overdue = state
            .last
            .values()
            .filter(|at| now.duration_since(**at) > overdue_after)
            .count()
            + state.first.len().saturating_sub(in_window);
        let mut latencies = std::mem::take(&mut state.latencies);
        latencies.sort();
        Window {
            requests,
            gaps: state.gaps.take().unwrap_or_default(),
            latencies,
            operations: std::mem::take(&mut state.operations),
            errors: std::mem::take(&mut state.errors),
            overdue,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The key of an `UpdateItem` body (only what identifies a heartbeat).
#[derive(Deserialize)]
struct UpdateItem {
    #[serde(rename = "Key")]
    key: Option<Key>,
}

#[derive(Deserialize)]
struct Key {
    #[serde(rename = "PK")]
    pk: Option<Text>,
    #[serde(rename = "SK")]
    sk: Option<Text>,
}

#[derive(Deserialize)]
struct Text {
    #[serde(rename = "S")]
    s: String,
}

/// The group PK of a heartbeat write, `None` for any other request.
fn heartbeat_pk(operation: &str, body: &[u8]) -> Option<String> {
    if operation != "UpdateItem" {
        return None;
    }
    let key = serde_json::from_slice::<UpdateItem>(body).ok()?.key?;
    key.sk?.s.starts_with("CLUSTER#").then_some(())?;
    Some(key.pk?.s)
}

async fn forward(
    req: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let arrived = Instant::now();
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let (mut parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return Ok(answer(StatusCode::BAD_REQUEST, "request body cut off"));
    };
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("unknown")
        .to_string();
    if let Some(pk) = heartbeat_pk(&operation, &body) {
        let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        let previous = state.last.insert(pk.clone(), arrived);
        if let (Some(previous), Some(gaps)) = (previous, state.gaps.as_mut()) {
            gaps.push(arrived.duration_since(previous));
        }
        state.first.insert(pk);
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match format!("{}{path}", shared.upstream).parse() {
        Ok(uri) => uri,
        Err(e) => return Ok(answer(StatusCode::BAD_REQUEST, &format!("uri: {e}"))),
    };
    let upstream = Request::from_parts(parts, Full::new(body));
    let result = match shared.client.request(upstream).await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            match body.collect().await {
                Ok(body) => Ok(Response::from_parts(parts, Full::new(body.to_bytes()))),
                Err(e) => Err(format!("answer cut off: {e}")),
            }
        }
        Err(e) => Err(format!("moto unreachable: {e}")),
    };
    let latency = arrived.elapsed();
    let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
    *state.operations.entry(operation).or_default() += 1;
    state.latencies.push(latency);
    match result {
        Ok(response) => {
            if !response.status().is_success() {
                // DynamoDB names its error in this header (throttling, conditional check, ...).
                let kind = response
                    .headers()
                    .get("x-amzn-errortype")
                    .and_then(|v| v.to_str().ok())
                    .map(|t| t.split(':').next().unwrap_or(t).to_string())
                    .unwrap_or_else(|| format!("HTTP {}", response.status().as_u16()));
                *state.errors.entry(kind).or_default() += 1;
            }
            Ok(response)
        }
        Err(why) => {
            let kind = format!("proxy: {}", why.split(':').next().unwrap_or(&why));
            *state.errors.entry(kind).or_default() += 1;
            drop(state);
            Ok(answer(StatusCode::BAD_GATEWAY, &why))
        }
    }
}

fn answer(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(message.to_string())));
    *response.status_mut() = status;
    response
}
