//! A fault proxy in front of an API server: plain HTTP on loopback toward the client (the
//! controller's kubeconfig points here, with its own bearer token, which is passed on), TLS
//! toward a real kube-apiserver (or plain HTTP toward the in-memory one, or another proxy). Rules chosen by method and path make matching requests hang,
//! slow down, get refused (connection closed) or answer an error status (409, 429, 503, ...)
//! with a Kubernetes `Status` body, as an overloaded or partitioned API server does; the rest
//! are forwarded unchanged, watches included (bodies stream). Every request is counted.

#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::task::JoinHandle;

/// What happens to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeFault {
    /// Never answered (the connection stays open): a partition or a stuck API server.
    Hang,
    /// Forwarded after this delay.
    Slow(Duration),
    /// The connection is closed without an answer.
    Refuse,
    /// Answered with this status code and a `Status` body (e.g. 409, 429, 503).
    Status(u16),
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `GET`, `PATCH`, ... (`None`: any).
    pub method: Option<String>,
    /// A substring of the path (e.g. `/ingresses/`, `/leases/`); empty: any path.
    pub path_contains: String,
    /// Watches too (`watch=true` in the query); false leaves them alone.
    pub watches: bool,
    /// What to do.
    pub fault: KubeFault,
}

impl Rule {
    /// `fault` for every request whose path contains `path` (watches left alone).
    pub fn path(path: &str, fault: KubeFault) -> Rule {
        Rule {
            method: None,
            path_contains: path.to_string(),
            watches: false,
            fault,
        }
    }

    /// `fault` for every request, watches included.
    pub fn all(fault: KubeFault) -> Rule {
        Rule {
            method: None,
            path_contains: String::new(),
            watches: true,
            fault,
        }
    }

    /// Only requests with this method.
    pub fn method(mut self, method: &str) -> Rule {
        self.method = Some(method.to_string());
        self
    }

    fn matches(&self, method: &str, path: &str, query: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.contains(&self.path_contains)
            && (self.watches || !query.contains("watch=true") && !query.contains("watch=1"))
    }
}

struct Shared {
    upstream: kube::Client,
    rules: Mutex<Vec<Rule>>,
    forwarded: AtomicU64,
    faulted: AtomicU64,
    /// Mutating requests forwarded, by "METHOD path".
    writes: Mutex<Vec<String>>,
}

/// A running proxy; it stops when dropped.
pub struct KubeFaultProxy {
    /// `http://127.0.0.1:PORT`, for the client's kubeconfig.
    pub url: String,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl KubeFaultProxy {
    /// Starts a proxy to the API server at `server`, trusting `ca` (`None` for plain HTTP).
    pub async fn start(
        server: &str,
        ca: Option<&Path>,
        dir: &Path,
    ) -> Result<KubeFaultProxy, String> {
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let kubeconfig = dir.join(format!(
            "proxy-upstream-{}-{n}.kubeconfig",
            std::process::id()
        ));
        let ca = ca
            .map(|ca| format!("    certificate-authority: {}\n", ca.display()))
            .unwrap_or_default();
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: up\n  cluster:\n    server: {server}\n{ca}\
             users:\n- name: up\n  user: {{}}\ncontexts:\n- name: up\n  context:\n    cluster: up\n    user: up\ncurrent-context: up\n"
        );
        std::fs::write(&kubeconfig, text)
            .map_err(|e| format!("write {}: {e}", kubeconfig.display()))?;
        let kc = kube::config::Kubeconfig::read_from(&kubeconfig).map_err(|e| e.to_string())?;
        let mut config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .map_err(|e| e.to_string())?;
        // Transparent: the client behind the proxy sees every 429/503 and retries (or not)
        // by its own policy.
        config.default_retry = false;
        let upstream = kube::Client::try_from(config).map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let shared = Arc::new(Shared {
            upstream,
            rules: Mutex::new(Vec::new()),
            forwarded: AtomicU64::new(0),
            faulted: AtomicU64::new(0),
            writes: Mutex::new(Vec::new()),
        });
        let accept_shared = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(shared.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(KubeFaultProxy {
            url: format!("http://{addr}"),
            shared,
            accept,
        })
    }

    /// Replaces the fault rules (the first matching rule applies).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        *self.shared.rules.lock().unwrap_or_else(|e| e.into_inner()) = rules;
    }

    /// Forwards everything again.
    pub fn clear(&self) {
        self.set_rules(Vec::new());
    }

    /// Requests forwarded so far.
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::Relaxed)
    }

    /// Requests a rule applied to so far.
    pub fn faulted(&self) -> u64 {
        self.shared.faulted.load(Ordering::Relaxed)
    }

    /// Mutating requests forwarded so far ("PATCH /apis/...").
    pub fn writes(&self) -> Vec<String> {
        self.shared
            .writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for KubeFaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

type ProxyBody = Either<Full<Bytes>, kube::client::Body>;

fn status(code: u16, message: &str) -> Response<ProxyBody> {
    let reason = match code {
        409 => "Conflict",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    };
    let body = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code,
    });
    let mut resp = Response::new(Either::Left(Full::new(Bytes::from(body.to_string()))));
    *resp.status_mut() =
        http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    if code == 429 || code == 503 {
        resp.headers_mut()
            .insert("retry-after", http::HeaderValue::from_static("1"));
    }
    resp
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<ProxyBody>, std::io::Error> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let rule = shared
        .rules
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find(|r| r.matches(&method, &path, &query))
        .cloned();
    if let Some(rule) = &rule {
        shared.faulted.fetch_add(1, Ordering::Relaxed);
        match rule.fault {
            KubeFault::Hang => std::future::pending::<()>().await,
            KubeFault::Slow(d) => tokio::time::sleep(d).await,
            // An error from the service makes hyper close the connection unanswered.
            KubeFault::Refuse => return Err(std::io::Error::other("refused by the fault proxy")),
            KubeFault::Status(code) => {
                return Ok(status(
                    code,
                    &format!("injected by the test fault proxy: {method} {path}"),
                ));
            }
        }
    }
    let (parts, body) = req.into_parts();
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(status(
                400,
                &format!("could not read the request body: {e}"),
            ));
        }
    };
    let mut builder = http::Request::builder().method(parts.method.clone()).uri(
        parts
            .uri
            .path_and_query()
            .map(|pq| pq.as_str().to_string())
            .unwrap_or_else(|| "/".into()),
    );
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONNECTION {
            builder = builder.header(name, value);
        }
    }
    let Ok(upstream_req) = builder.body(kube::client::Body::from(bytes)) else {
        return Ok(status(400, "could not rebuild the request"));
    };
    if !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
        shared
            .writes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("{method} {path}"));
    }
    shared.forwarded.fetch_add(1, Ordering::Relaxed);
    match shared.upstream.send(upstream_req).await {
        Ok(resp) => Ok(resp.map(Either::Right)),
        Err(e) => Ok(status(
            503,
            &format!("the fault proxy could not reach the API server: {e}"),
        )),
    }
}
