//! The health and metrics server (hyper 1, HTTP/1.1), bound before anything slow happens at
//! start-up ([`bind`], [`serve_starting`]), so probes get answers from the first second:
//! - `/healthz`: 200 while starting and while every running agent keeps ticking; 503 naming
//!   each group whose tick is stalled ([`super::liveness`]), so the kubelet restarts a stuck
//!   process. A standby replica runs no agents and is always healthy.
//! - `/readyz`: 200 once the replica has started (leader or standby) and the store answered its
//!   last request, else 503 with the reason (`starting: ...` during start-up).
//! - `/metrics`: the Prometheus text format.

use super::liveness::TickBoard;
use super::metrics::Metrics;
use super::tap::TappedStore;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::net::TcpListener;
use tokio::sync::watch;

const TEXT: &str = "text/plain; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Answer = (StatusCode, &'static str, String);

/// Something that answers the three paths.
trait Respond: Send + Sync {
    fn respond(&self, path: &str) -> Answer;
}

/// What the endpoints read once the controller runs.
pub struct Health {
    /// Metrics to encode.
    pub metrics: Arc<Metrics>,
    /// The store, for reachability.
    pub store: Arc<TappedStore>,
    /// Set once the replica has started its watches or its candidacy.
    pub initialized: AtomicBool,
    /// When each running agent's next tick is due.
    pub ticks: Arc<TickBoard>,
}

impl Health {
    /// Marks the replica as started.
    pub fn set_initialized(&self) {
        self.initialized.store(true, Ordering::SeqCst);
    }

    /// `Ok` while every running agent keeps ticking; else one line per stalled group.
    pub fn liveness(&self) -> Result<(), String> {
        let stalled = self.ticks.stalled();
        if stalled.is_empty() {
            Ok(())
        } else {
            Err(stalled.join("\n"))
        }
    }
}

impl Respond for Health {
    fn respond(&self, path: &str) -> Answer {
        match path {
            "/healthz" => match self.liveness() {
                Ok(()) => (StatusCode::OK, TEXT, "ok\n".into()),
                Err(why) => (StatusCode::SERVICE_UNAVAILABLE, TEXT, format!("{why}\n")),
            },
            "/readyz" => {
                if !self.initialized.load(Ordering::SeqCst) {
                    (StatusCode::SERVICE_UNAVAILABLE, TEXT, "starting\n".into())
                } else if !self.store.reachable() {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        TEXT,
                        format!(
                            "store unreachable: {}\n",
                            crate::store::CoordinationStore::describe(self.store.as_ref())
                        ),
                    )
                } else {
                    (StatusCode::OK, TEXT, "ok\n".into())
                }
            }
            "/metrics" => (StatusCode::OK, OPENMETRICS, self.metrics.encode()),
            _ => not_found(),
        }
    }
}

fn not_found() -> Answer {
    (
        StatusCode::NOT_FOUND,
        TEXT,
        "not found: try /healthz, /readyz or /metrics\n".into(),
    )
}

/// The endpoints from process start: healthy and not ready while starting (saying what it
/// waits for), then whatever the controller's [`Health`] says.
pub struct Startup {
    phase: Mutex<String>,
    running: OnceLock<Arc<Health>>,
}

impl Startup {
    /// Starting, with nothing done yet.
    pub fn new() -> Arc<Self> {
        Arc::new(Startup {
            phase: Mutex::new("starting".to_string()),
            running: OnceLock::new(),
        })
    }

    /// What start-up is doing or waiting for, for `/readyz`.
    pub fn set_phase(&self, what: &str) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = what.to_string();
    }

    /// The controller runs: from now on `health` answers.
    pub fn started(&self, health: Arc<Health>) {
        let _ = self.running.set(health);
    }
}

impl Respond for Startup {
    fn respond(&self, path: &str) -> Answer {
        if let Some(health) = self.running.get() {
            return health.respond(path);
        }
        let phase = self.phase.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match path {
            // Starting is not stuck: a slow store or table set-up must not get it restarted.
            "/healthz" => (StatusCode::OK, TEXT, "ok\n".into()),
            "/readyz" => (
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                format!("starting: {phase}\n"),
            ),
            "/metrics" => (StatusCode::OK, OPENMETRICS, "# EOF\n".into()),
            _ => not_found(),
        }
    }
}

/// Binds `addr`. The IPv6 wildcard (`[::]:PORT`, the default) also takes IPv4: the socket is
/// dual-stack on Linux by default, and when the host makes it IPv6-only the IPv4 wildcard is
/// bound too; when the host has no IPv6 at all, the IPv4 wildcard alone is used.
pub async fn bind(addr: &str) -> std::io::Result<Vec<TcpListener>> {
    let wildcard_v6 = addr
        .parse::<SocketAddr>()
        .ok()
        .filter(|a| a.is_ipv6() && a.ip().is_unspecified());
    let first = match (TcpListener::bind(addr).await, wildcard_v6) {
        (Ok(listener), _) => listener,
        (Err(e), Some(v6)) => {
            let v4 = SocketAddr::from((Ipv4Addr::UNSPECIFIED, v6.port()));
            let listener = TcpListener::bind(v4).await.map_err(|_| e)?;
            tracing::warn!(
                "cannot listen on {addr} (no IPv6 on this host?); listening on {v4} only"
            );
            return Ok(vec![listener]);
        }
        (Err(e), None) => return Err(e),
    };
    let mut all = Vec::new();
    if wildcard_v6.is_some() {
        let port = first.local_addr()?.port();
        // Refused (address in use) exactly when the IPv6 socket already takes IPv4.
        if let Ok(v4) = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).await {
            all.push(v4);
        }
    }
    all.insert(0, first);
    Ok(all)
}

/// Serves the running controller's `health` on `listener` until `shutdown` turns true.
pub async fn serve(listener: TcpListener, health: Arc<Health>, shutdown: watch::Receiver<bool>) {
    serve_with(listener, health, shutdown).await;
}

/// Serves `startup` (and the controller's health once it is attached) on `listener` until
/// `shutdown` turns true.
pub async fn serve_starting(
    listener: TcpListener,
    startup: Arc<Startup>,
    shutdown: watch::Receiver<bool>,
) {
    serve_with(listener, startup, shutdown).await;
}

async fn serve_with<R: Respond + 'static>(
    listener: TcpListener,
    endpoints: Arc<R>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let (stream, _) = match accepted {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("health server: could not accept a connection: {e}");
                continue;
            }
        };
        let endpoints = endpoints.clone();
        // Connections are short (probes, scrapes); each is served to its end on its own.
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let (code, content_type, body) = endpoints.respond(req.uri().path());
                async move {
                    let mut response = Response::new(Full::new(Bytes::from(body)));
                    *response.status_mut() = code;
                    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
                        response
                            .headers_mut()
                            .insert(hyper::header::CONTENT_TYPE, v);
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("health server connection: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn while_starting_the_process_is_healthy_but_not_ready() {
        let s = Startup::new();
        s.set_phase("waiting for DynamoDB");
        assert_eq!(s.respond("/healthz").0, StatusCode::OK);
        let (code, _, body) = s.respond("/readyz");
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "starting: waiting for DynamoDB\n");
    }

    #[tokio::test]
    async fn the_ipv6_wildcard_also_answers_on_ipv4() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listeners = bind("[::]:0")
            .await
            .expect("bind the IPv6 (or IPv4) wildcard");
        let port = listeners[0].local_addr().unwrap().port();
        let (_stop, rx) = watch::channel(false);
        for l in listeners {
            tokio::spawn(serve_starting(l, Startup::new(), rx.clone()));
        }
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("an IPv4 client connects");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}
