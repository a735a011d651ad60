//! Sending: one task and one bounded queue per webhook, so a slow or dead receiver delays
//! neither the ticks (they only push, never wait) nor the other receivers. Each request has a
//! timeout; connection errors, timeouts, 408, 429 and 5xx are retried with a doubling pause
//! (a bounded number of attempts); any other answer is final. When a queue is full the oldest
//! notification is dropped: the newest say most about the present.

use super::config::{NotifyConfig, Webhook};
use super::{Notification, NotifyError, format};
use http::header::{CONTENT_TYPE, USER_AGENT};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How notifications are delivered (the defaults are documented in docs/user-guide.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Longest one request may take, connection included.
    pub timeout: Duration,
    /// Attempts per notification, the first included.
    pub attempts: u32,
    /// Pause before the second attempt; doubled before each further one.
    pub backoff: Duration,
    /// Notifications waiting per webhook at most.
    pub capacity: usize,
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            timeout: Duration::from_secs(5),
            attempts: 3,
            backoff: Duration::from_secs(1),
            capacity: 256,
        }
    }
}

/// What one webhook's sender has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// The webhook without path or query.
    pub name: String,
    /// Accepted a notification (2xx).
    pub delivered: u64,
    /// Gave up on a notification (final answer or attempts exhausted).
    pub failed: u64,
    /// Dropped unsent because the queue was full.
    pub dropped: u64,
    /// Requests sent (or tried), retries included.
    pub attempts: u64,
}

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    attempts: AtomicU64,
    /// Dropping now; warned once until the queue has room again.
    overflowing: AtomicBool,
}

/// A bounded queue that drops its oldest entry when full; pushing never waits.
struct Queue {
    items: Mutex<VecDeque<Arc<Notification>>>,
    capacity: usize,
    ready: tokio::sync::Notify,
    closed: AtomicBool,
}

impl Queue {
    /// Adds `n`; returns false when the oldest entry had to go.
    fn push(&self, n: Arc<Notification>) -> bool {
        let mut items = self.lock();
        let room = items.len() < self.capacity;
        if !room {
            items.pop_front();
        }
        items.push_back(n);
        drop(items);
        self.ready.notify_one();
        room
    }

    /// The next entry; `None` once closed and empty.
    async fn pop(&self) -> Option<Arc<Notification>> {
        loop {
            if let Some(n) = self.lock().pop_front() {
                return Some(n);
            }
            if self.closed.load(Ordering::SeqCst) {
                return None;
            }
            // A push or close between the checks above and this wait left a permit: no
            // wake-up is lost.
            self.ready.notified().await;
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.ready.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Notification>>> {
        // Entries are pushed and popped whole: still consistent after a panic elsewhere.
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Endpoint {
    webhook: Webhook,
    queue: Arc<Queue>,
    counters: Arc<Counters>,
}

/// The webhooks' senders; [`Notifier::notify`] is what the group tasks call.
pub struct Notifier {
    endpoints: Vec<Endpoint>,
}

impl Notifier {
    /// Starts one sender task per webhook of `config`; must be called inside a Tokio runtime.
    pub fn start(config: &NotifyConfig, delivery: Delivery) -> Result<Notifier, NotifyError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NotifyError::NoRuntime)?;
        let mut endpoints = Vec::new();
        for webhook in &config.webhooks {
            let transport = Transport::for_webhook(webhook, delivery.timeout)?;
            let queue = Arc::new(Queue {
                items: Mutex::new(VecDeque::new()),
                capacity: delivery.capacity.max(1),
                ready: tokio::sync::Notify::new(),
                closed: AtomicBool::new(false),
            });
            let counters = Arc::new(Counters::default());
            let sender = Sender {
                webhook: webhook.clone(),
                transport,
                delivery,
                counters: counters.clone(),
            };
            runtime.spawn(sender.run(queue.clone()));
            endpoints.push(Endpoint {
                webhook: webhook.clone(),
                queue,
                counters,
            });
        }
        Ok(Notifier { endpoints })
    }

    /// Queues `n` for every webhook that wants its kind. Never waits: a full queue drops its
    /// oldest entry (a warning is logged once per overflow).
    pub fn notify(&self, n: &Notification) {
        let n = Arc::new(n.clone());
        for e in self.endpoints.iter().filter(|e| e.webhook.wants(n.kind)) {
            let c = &e.counters;
            if e.queue.push(n.clone()) {
                if c.overflowing.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        webhook = %e.webhook.name,
                        dropped = c.dropped.load(Ordering::Relaxed),
                        "notification queue has room again"
                    );
                }
                continue;
            }
            c.dropped.fetch_add(1, Ordering::Relaxed);
            if !c.overflowing.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    webhook = %e.webhook.name,
                    capacity = e.queue.capacity,
                    "notification queue full (the receiver is slow or down): dropping the oldest notifications until it drains"
                );
            }
        }
    }

    /// Each webhook's counters, in config order.
    pub fn stats(&self) -> Vec<EndpointStats> {
        self.endpoints
            .iter()
            .map(|e| {
                let c = &e.counters;
                EndpointStats {
                    name: e.webhook.name.clone(),
                    delivered: c.delivered.load(Ordering::Relaxed),
                    failed: c.failed.load(Ordering::Relaxed),
                    dropped: c.dropped.load(Ordering::Relaxed),
                    attempts: c.attempts.load(Ordering::Relaxed),
                }
            })
            .collect()
    }
}

impl Drop for Notifier {
    /// The senders deliver what is queued, then end.
    fn drop(&mut self) {
        for e in &self.endpoints {
            e.queue.close();
        }
    }
}

type Body = Full<Bytes>;

/// The HTTP client of one webhook: plain for http://, rustls (aws-lc-rs, system roots) for
/// https://.
enum Transport {
    Plain(Client<HttpConnector, Body>),
    Tls(Client<HttpsConnector<HttpConnector>, Body>),
}

impl Transport {
    fn for_webhook(webhook: &Webhook, timeout: Duration) -> Result<Transport, NotifyError> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(timeout));
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30));
        if webhook.url.scheme_str() != Some("https") {
            return Ok(Transport::Plain(builder.build(http)));
        }
        http.enforce_http(false);
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| NotifyError::Tls {
                url: webhook.name.clone(),
                message: e.to_string(),
            })?
            .https_only()
            .enable_http1()
            .wrap_connector(http);
        Ok(Transport::Tls(builder.build(tls)))
    }

    /// Sends `req` and returns the answer's status (the body is not read: nothing in it is
    /// used, and an unread body only costs the connection's reuse).
    async fn send(&self, req: http::Request<Body>) -> Result<http::StatusCode, String> {
        let answer = match self {
            Transport::Plain(c) => c.request(req).await,
            Transport::Tls(c) => c.request(req).await,
        };
        answer.map(|r| r.status()).map_err(|e| {
            // The legacy client's own message is terse ("client error (Connect)"): add its cause.
            match std::error::Error::source(&e) {
                Some(cause) => format!("{e}: {cause}"),
                None => e.to_string(),
            }
        })
    }
}

struct Sender {
    webhook: Webhook,
    transport: Transport,
    delivery: Delivery,
    counters: Arc<Counters>,
}

/// What one attempt came to.
enum Attempt {
    Delivered,
    /// Worth another try (connection error, timeout, 408, 429, 5xx).
    Retry(String),
    /// Another answer would be the same (other 3xx/4xx, a request that cannot be built).
    Final(String),
}

impl Sender {
    /// Delivers queued notifications in order until the queue is closed and empty.
    async fn run(self, queue: Arc<Queue>) {
        while let Some(n) = queue.pop().await {
            self.deliver(&n).await;
        }
    }

    async fn deliver(&self, n: &Notification) {
        let body = Bytes::from(format::body(self.webhook.format, n));
        let mut pause = self.delivery.backoff;
        let attempts = self.delivery.attempts.max(1);
        for attempt in 1..=attempts {
            self.counters.attempts.fetch_add(1, Ordering::Relaxed);
            let why = match self.attempt(n, body.clone()).await {
                Attempt::Delivered => {
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(webhook = %self.webhook.name, kind = %n.kind, key = %n.key, "notification delivered");
                    return;
                }
                Attempt::Final(why) => {
                    self.give_up(n, attempt, &why);
                    return;
                }
                Attempt::Retry(why) => why,
            };
            if attempt == attempts {
                self.give_up(n, attempt, &why);
                return;
            }
            tracing::debug!(webhook = %self.webhook.name, kind = %n.kind, key = %n.key, attempt, "notification not delivered ({why}); retrying in {pause:?}");
            tokio::time::sleep(pause).await;
            pause = pause.saturating_mul(2);
        }
    }

    async fn attempt(&self, n: &Notification, body: Bytes) -> Attempt {
        let req = http::Request::post(self.webhook.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("kubectl-failover/", env!("CARGO_PKG_VERSION")),
            )
            .header("Idempotency-Key", n.dedup_key.as_str())
            .body(Full::new(body));
        let req = match req {
            Ok(r) => r,
            Err(e) => return Attempt::Final(format!("the request cannot be built: {e}")),
        };
        match tokio::time::timeout(self.delivery.timeout, self.transport.send(req)).await {
            Err(_) => Attempt::Retry(format!("no answer within {:?}", self.delivery.timeout)),
            Ok(Err(e)) => Attempt::Retry(e),
            Ok(Ok(s)) if s.is_success() => Attempt::Delivered,
            Ok(Ok(s))
                if s.is_server_error()
                    || s == http::StatusCode::TOO_MANY_REQUESTS
                    || s == http::StatusCode::REQUEST_TIMEOUT =>
            {
                Attempt::Retry(format!("HTTP {s}"))
            }
            Ok(Ok(s)) => Attempt::Final(format!("HTTP {s}")),
        }
    }

    fn give_up(&self, n: &Notification, attempts: u32, why: &str) {
        self.counters.failed.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            webhook = %self.webhook.name,
            kind = %n.kind,
            key = %n.key,
            group = %n.group,
            attempts,
            "notification dropped: {why}"
        );
    }
}
