//! FailoverGroups and Failovers are watched untyped and read one by one, so an object the
//! controller cannot read as its type (stored before the CRD had its schema, or past it) stops
//! neither the watch nor any other object: a typed watch fails its whole list on one such object,
//! and no group of the cluster would be served. The unreadable object gets a Warning Event and a
//! condition naming the error and the fix; nothing acts on it.

use super::context::{Context, ReconcileError};
use super::{failovers, groups, watch_cache};
use crate::crd::{Condition, ConditionStatus, Failover, FailoverGroup, condition_types};
use crate::store::GroupId;
use kube::api::{Api, ApiResource, DynamicObject, Patch};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::{Resource, ResourceExt};
use std::sync::Arc;

/// The untyped resource of `K`.
pub fn api_resource<K: Resource<DynamicType = ()>>() -> ApiResource {
    ApiResource::erase::<K>(&())
}

/// Reconciles a FailoverGroup, or reports why it cannot be read.
pub async fn reconcile_group(
    obj: Arc<DynamicObject>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    match read::<FailoverGroup>(&obj) {
        Ok(fg) => groups::reconcile(Arc::new(fg), ctx).await,
        Err(e) => report::<FailoverGroup>(&obj, &ctx, &e).await,
    }
}

/// Reconciles a Failover, or reports why it cannot be read.
pub async fn reconcile_failover(
    obj: Arc<DynamicObject>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    match read::<Failover>(&obj) {
        Ok(fo) => failovers::reconcile(Arc::new(fo), ctx).await,
        Err(e) => report::<Failover>(&obj, &ctx, &e).await,
    }
}

/// The cached object (packed by the watch cache) read as `K`, or what serde said.
fn read<K: serde::de::DeserializeOwned + Resource>(obj: &DynamicObject) -> Result<K, String> {
    let unpacked = watch_cache::unpack(obj).map_err(|e| e.to_string())?;
    unpacked.try_parse::<K>().map_err(|e| cause(&e))
}

/// What serde said, without the wrapper's own words.
fn cause(e: &kube::core::dynamic::ParseDynamicObjectError) -> String {
    std::error::Error::source(e).map_or_else(|| e.to_string(), ToString::to_string)
}

/// A Warning and a condition on the object, once per generation: Ready=False on a
/// FailoverGroup, phase FAILED with Complete=True on a Failover (it is immutable).
async fn report<K: Resource<DynamicType = ()>>(
    obj: &DynamicObject,
    ctx: &Context,
    error: &str,
) -> Result<Action, ReconcileError> {
    let kind = K::kind(&());
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let failover = kind == "Failover";
    ctx.metrics.reconciled(&kind, false);
    let generation = obj.metadata.generation.unwrap_or(0);
    // Keyed apart from the groups' own reports (a Failover may share a group's name).
    let key = GroupId {
        namespace: namespace.clone(),
        name: format!("{kind}/{name}"),
    };
    ctx.leadership.check()?;
    if obj.metadata.deletion_timestamp.is_some() || !ctx.first_report(&key, generation) {
        return Ok(Action::await_change());
    }
    let fix = if failover {
        "delete it and create a corrected one"
    } else {
        "correct it with kubectl edit (or delete it)"
    };
    let message = format!(
        "{kind} {namespace}/{name} cannot be read: {error}; it does not match the CRD schema (stored before the CRD had it, or past it): {fix}, and apply deploy/crds so the API server checks the next one"
    );
    tracing::warn!(object = %format!("{namespace}/{name}"), "{message}");
    let ar = api_resource::<K>();
    ctx.events.send(
        &obj.object_ref(&ar),
        Event {
            type_: EventType::Warning,
            reason: "InvalidSpec".to_string(),
            note: Some(message.chars().take(1000).collect()),
            action: "Reconcile".to_string(),
            secondary: None,
        },
    );
    let condition = Condition {
        type_: if failover {
            condition_types::COMPLETE
        } else {
            condition_types::READY
        }
        .to_string(),
        status: if failover {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        },
        observed_generation: Some(generation),
        last_transition_time: ctx.clock.now(),
        reason: "InvalidSpec".to_string(),
        message,
    };
    let mut status = serde_json::json!({ "conditions": [condition] });
    if failover {
        status["phase"] = serde_json::json!("FAILED");
    }
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &namespace, &ar);
    let patch = serde_json::json!({ "status": status });
    let params = super::patch_params();
    let written = ctx
        .leadership
        .bounded(api.patch_status(&name, &params, &Patch::Merge(&patch)))
        .await;
    if !matches!(written, Ok(Ok(_))) {
        // Not reported after all: the retry must write it.
        let mut reported = ctx
            .reported_invalid
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        reported.remove(&(key, generation));
    }
    written??;
    Ok(Action::await_change())
}
