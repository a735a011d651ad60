//! Writes a FailoverGroup's status through the status subresource with a JSON merge patch, only
//! when it changed meaningfully (see `status::meaningful_change`). A merge patch cannot remove
//! a field by leaving it out, so every field the last written status had and the new one lacks
//! is sent as `null` (e.g. `phase` once a transition ended).
//!
//! At most [`STATUS_WRITES_IN_FLIGHT`] writes of all groups are under way at once, and a write
//! takes its turn before its request is built: when the API server is slow, every group's
//! status changes at about the same time (heartbeats behind, fenced), and 10,000 request bodies
//! waiting in the client's queue were 25 MiB of the controller's heap (heaptrack, 10,000
//! groups, docs/benchmarks.md).

use super::status::meaningful_change;
use crate::crd::{FailoverGroup, FailoverGroupStatus};
use kube::Api;
use kube::api::Patch;
use serde_json::{Map, Value};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// FailoverGroup status writes of all group tasks under way at once.
pub const STATUS_WRITES_IN_FLIGHT: usize = 16;

/// The turns of status writes, shared by every group task of a replica.
pub fn status_write_turns() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(STATUS_WRITES_IN_FLIGHT))
}

/// The status as this controller last wrote it (or found it) for one FailoverGroup.
pub struct StatusWriter {
    api: Api<FailoverGroup>,
    name: String,
    written: FailoverGroupStatus,
    turns: Arc<Semaphore>,
}

impl StatusWriter {
    /// A writer for `name` in `api`'s namespace, starting from the status the object has,
    /// whose writes wait for one of `turns` (see [`status_write_turns`]).
    pub fn new(
        api: Api<FailoverGroup>,
        name: &str,
        current: Option<FailoverGroupStatus>,
        turns: Arc<Semaphore>,
    ) -> Self {
        StatusWriter {
            api,
            name: name.to_string(),
            written: current.unwrap_or_default(),
            turns,
        }
    }

    /// The status as last written.
    pub fn written(&self) -> &FailoverGroupStatus {
        &self.written
    }

    /// Writes `status` if it changed meaningfully; returns whether a write was made.
    pub async fn write(&mut self, status: FailoverGroupStatus) -> Result<bool, kube::Error> {
        if !meaningful_change(&self.written, &status) {
            return Ok(false);
        }
        // The semaphore is never closed; were it, writing without a turn is still correct.
        let _turn = self.turns.acquire().await.ok();
        // Boxed: the request's future is kilobytes, which every group waiting for its turn
        // (all of them while the API server does not answer) would otherwise hold.
        Box::pin(self.send(&status)).await?;
        self.written = status;
        Ok(true)
    }

    async fn send(&self, status: &FailoverGroupStatus) -> Result<(), kube::Error> {
        let body = serde_json::json!({ "status": patch_body(&self.written, status) });
        self.api
            .patch_status(&self.name, &super::patch_params(), &Patch::Merge(&body))
            .await
            .map(drop)
    }
}

/// `new` as JSON, with `null` for every top-level field `old` had and `new` lacks.
pub fn patch_body(old: &FailoverGroupStatus, new: &FailoverGroupStatus) -> Value {
    let as_map = |s: &FailoverGroupStatus| match serde_json::to_value(s) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let old = as_map(old);
    let mut new = as_map(new);
    for key in old.keys() {
        new.entry(key.clone()).or_insert(Value::Null);
    }
    Value::Object(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::GroupRole;
    use crate::store::Phase;
    use std::time::Duration;

    #[test]
    fn a_field_that_disappears_is_sent_as_null_so_the_merge_patch_removes_it() {
        let old = FailoverGroupStatus {
            role: Some(GroupRole::Primary),
            phase: Some(Phase::Requested),
            ..FailoverGroupStatus::default()
        };
        let new = FailoverGroupStatus {
            role: Some(GroupRole::Primary),
            ..FailoverGroupStatus::default()
        };
        let body = patch_body(&old, &new);
        assert_eq!(body["phase"], Value::Null);
        assert_eq!(body["role"], "PRIMARY");
        assert!(body.as_object().unwrap().contains_key("phase"));
    }

    /// A write that has to wait for its turn sends nothing (and builds no request) until
    /// one of the turns shared by every group is free, then writes.
    #[tokio::test]
    async fn a_status_write_sends_its_request_only_once_a_turn_is_free() {
        use http::{Request, Response};
        use kube::client::Body;
        let (service, mut api) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let turns = Arc::new(Semaphore::new(1));
        let taken = turns.clone().acquire_owned().await.expect("open semaphore");
        let mut writer = StatusWriter::new(Api::namespaced(client, "shop"), "web", None, turns);
        let status = FailoverGroupStatus {
            role: Some(GroupRole::Primary),
            ..FailoverGroupStatus::default()
        };
        let write =
            tokio::spawn(async move { writer.write(status).await.map_err(|e| e.to_string()) });
        let early = tokio::time::timeout(Duration::from_millis(200), api.next_request()).await;
        assert!(
            early.is_err(),
            "a request was sent while every turn was taken"
        );
        drop(taken);
        let (request, send) = tokio::time::timeout(Duration::from_secs(5), api.next_request())
            .await
            .expect("the write is sent once its turn is free")
            .expect("a request");
        assert_eq!(request.method(), http::Method::PATCH);
        assert_eq!(
            request.uri().path(),
            "/apis/kubectl-failover.io/v1alpha1/namespaces/shop/failovergroups/web/status"
        );
        let answer = serde_json::json!({
            "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "FailoverGroup",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"initialPrimary": "east"},
        });
        send.send_response(
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&answer).expect("json")))
                .expect("response"),
        );
        assert_eq!(write.await.expect("task"), Ok(true));
    }
}
