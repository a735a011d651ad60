//! WATCH: a chunked stream of newline-delimited `{"type": …, "object": …}` events.
//!
//! Semantics follow the real server as kube-runtime's watcher relies on them:
//! - `resourceVersion=N`: every change after N, in order; if N is older than the retained
//!   history, one ERROR event with a 410 `Expired` Status, then the stream ends (the watcher
//!   then re-lists);
//! - `resourceVersion` unset or `"0"`: synthetic ADDED events for the existing objects, then
//!   changes (with `sendInitialEvents=true`, a BOOKMARK annotated `k8s.io/initial-events-end`
//!   follows the initial events, for streaming lists);
//! - `allowWatchBookmarks=true`: periodic BOOKMARKs carrying the resourceVersion up to which
//!   the stream has delivered everything;
//! - `timeoutSeconds`: the stream ends (cleanly) after that long;
//! - the server switched unavailable or dropped: open streams end, as on a lost connection;
//! - a selector-filtered watch turns MODIFIED into ADDED/DELETED when an object enters/leaves
//!   the selection.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::{Response, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Shared;
use super::error::ApiError;
use super::http::Body;
use super::registry::ResourceType;
use super::select::Selector;
use super::store::{Change, ChangeKind, serve};

pub struct WatchRequest {
    rt: ResourceType,
    namespace: Option<String>,
    selector: Selector,
    /// None: unset or "0" (start with the current state as synthetic ADDED events).
    from: Option<u64>,
    bookmarks: bool,
    initial_events_end: bool,
    timeout: Option<Duration>,
}

impl WatchRequest {
    pub fn new(
        rt: ResourceType,
        namespace: Option<String>,
        selector: Selector,
        query: &HashMap<String, String>,
    ) -> Result<Self, ApiError> {
        let flag = |k: &str| query.get(k).is_some_and(|v| v == "true" || v == "1");
        let from = match query.get("resourceVersion").map(String::as_str) {
            None | Some("") | Some("0") => None,
            Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
                ApiError::bad_request(&format!("invalid resource version: {rv:?}"))
            })?),
        };
        // 0 or absent: no timeout (the real server then picks its own, minutes long).
        let timeout = match query.get("timeoutSeconds") {
            None => None,
            Some(t) => match t.parse::<u64>() {
                Ok(0) => None,
                Ok(secs) => Some(Duration::from_secs(secs)),
                Err(_) => {
                    let message = format!("invalid timeoutSeconds: {t:?}");
                    return Err(ApiError::bad_request(&message));
                }
            },
        };
        let send_initial = flag("sendInitialEvents");
        if send_initial && !flag("allowWatchBookmarks") {
            return Err(ApiError::invalid(
                "sendInitialEvents requires allowWatchBookmarks=true",
            ));
        }
        Ok(WatchRequest {
            rt,
            namespace,
            selector,
            from,
            bookmarks: flag("allowWatchBookmarks"),
            initial_events_end: send_initial && from.is_none(),
            timeout,
        })
    }

    /// The event (if any) this watch shows for one change.
    fn event(&self, change: &Change) -> Option<Vec<u8>> {
        if change.storage != self.rt.storage()
            || self
                .namespace
                .as_ref()
                .is_some_and(|ns| *ns != change.namespace)
        {
            return None;
        }
        let now = self.selector.matches(&change.object);
        let before = change
            .previous
            .as_ref()
            .is_some_and(|p| self.selector.matches(p));
        let kind = match (change.kind, before, now) {
            (ChangeKind::Added, _, true) => "ADDED",
            (ChangeKind::Deleted, _, true) => "DELETED",
            (ChangeKind::Modified, true, true) => "MODIFIED",
            (ChangeKind::Modified, false, true) => "ADDED",
            (ChangeKind::Modified, true, false) => "DELETED",
            _ => return None,
        };
        Some(line(kind, &serve(&self.rt, &change.object)))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Vec<u8> {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(
            "BOOKMARK",
            &json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": meta}),
        )
    }
}

fn line(kind: &str, object: &Value) -> Vec<u8> {
    let mut bytes =
        serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Where a watch starts, fixed while the request is answered (so a write or an expiry right
/// after the 200 is never missed).
struct Start {
    changes: tokio::sync::watch::Receiver<u64>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    cursor: u64,
    gone_epoch: u64,
    close_epoch: u64,
    initial: Vec<Vec<u8>>,
}

/// Answers 200 at once and streams events from a task until the watch ends.
pub fn start(shared: Arc<Shared>, req: WatchRequest) -> Result<Response<Body>, ApiError> {
    // Subscribe before reading the state, so no write between the two can be missed.
    let changes = shared.changes.subscribe();
    let shutdown = shared.shutdown.subscribe();
    let start = {
        let st = shared.lock();
        let initial: Vec<Vec<u8>> = match req.from {
            Some(_) => Vec::new(),
            None => st
                .objects_of(&req.rt, req.namespace.as_deref())
                .filter(|o| req.selector.matches(o))
                .map(|o| line("ADDED", &serve(&req.rt, o)))
                .collect(),
        };
        Start {
            changes,
            shutdown,
            cursor: req.from.unwrap_or(st.rv),
            gone_epoch: st.gone_epoch,
            close_epoch: st.close_epoch,
            initial,
        }
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    tokio::spawn(run(shared, req, start, tx));
    let frames = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut resp = Response::new(StreamBody::new(frames).boxed());
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

async fn run(shared: Arc<Shared>, req: WatchRequest, start: Start, tx: mpsc::Sender<Bytes>) {
    let send = |bytes: Vec<u8>| {
        let tx = tx.clone();
        async move { tx.send(Bytes::from(bytes)).await.is_ok() }
    };
    let Start {
        mut changes,
        mut shutdown,
        mut cursor,
        gone_epoch,
        close_epoch,
        initial,
    } = start;
    let deadline = req.timeout.map(|t| Instant::now() + t);
    for event in initial {
        if !send(event).await {
            return;
        }
    }
    if req.initial_events_end && !send(req.bookmark(cursor, true)).await {
        return;
    }
    let period = shared.bookmark_interval();
    let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
    let mut want_bookmark = false;
    loop {
        let batch = {
            let st = shared.lock();
            if st.close_epoch != close_epoch {
                return;
            }
            let batch = if st.gone_epoch != gone_epoch {
                Err(ApiError::too_old(cursor, st.floor))
            } else {
                st.changes_after(cursor)
            };
            (batch, st.rv)
        };
        match batch {
            (Err(gone), _) => {
                let _ = send(line("ERROR", &gone.status_json())).await;
                return;
            }
            (Ok(batch), rv) => {
                for change in &batch {
                    if let Some(event) = req.event(change)
                        && !send(event).await
                    {
                        return;
                    }
                }
                // Everything up to the current revision has now been delivered.
                cursor = cursor.max(rv);
            }
        }
        if std::mem::take(&mut want_bookmark) && !send(req.bookmark(cursor, false)).await {
            return;
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            _ = ticker.tick(), if req.bookmarks => want_bookmark = true,
            _ = sleep_until(deadline) => return,
            _ = tx.closed() => return,
            _ = shutdown.changed() => return,
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
