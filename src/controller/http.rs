//! The health and metrics server (hyper 1, HTTP/1.1): `/healthz` answers 200 while the process
//! runs; `/readyz` 200 once the replica has started (leader or standby) and the store answered
//! its last request, else 503 with the reason; `/metrics` the Prometheus text format.

use super::metrics::Metrics;
use super::tap::TappedStore;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What the endpoints read.
pub struct Health {
    /// Metrics to encode.
    pub metrics: Arc<Metrics>,
    /// The store, for reachability.
    pub store: Arc<TappedStore>,
    /// Set once the replica has started its watches or its candidacy.
    pub initialized: AtomicBool,
}

impl Health {
    /// Marks the replica as started.
    pub fn set_initialized(&self) {
        self.initialized.store(true, Ordering::SeqCst);
    }

    fn respond(&self, path: &str) -> (StatusCode, &'static str, String) {
        const TEXT: &str = "text/plain; charset=utf-8";
        match path {
            "/healthz" => (StatusCode::OK, TEXT, "ok\n".into()),
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
            "/metrics" => (
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                self.metrics.encode(),
            ),
            _ => (
                StatusCode::NOT_FOUND,
                TEXT,
                "not found: try /healthz, /readyz or /metrics\n".into(),
            ),
        }
    }
}

/// Serves on `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    health: Arc<Health>,
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
        let health = health.clone();
        // Connections are short (probes, scrapes); each is served to its end on its own.
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                let (code, content_type, body) = health.respond(req.uri().path());
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
