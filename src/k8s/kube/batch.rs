//! One action over all of a family's objects: read them all, refuse an activation before any
//! write if one carries a newer (or unreadable) epoch, then change each (a failure on one does
//! not stop the others), and say whether the family is done, pending (and on what) or failed
//! (naming every object). A deactivation is never refused by an epoch (see `fencing`).

use super::errors::KubeError;
use super::fencing::Fence;
use super::objects::ObjectRef;
use crate::k8s::Progress;
use kube::api::DynamicObject;
use serde_json::Value;

/// The objects of one family an action works on, and what the FailoverGroup calls them.
pub struct Batch<'a> {
    /// The objects, in spec order.
    pub objects: Vec<ObjectRef<'a>>,
    /// The FailoverGroup field that lists them, for "not found" fixes.
    pub field: &'static str,
    /// A deactivation: an object that does not exist, or whose API is not installed, cannot
    /// serve or run, so it is skipped (with a warning; health reports it) rather than keeping
    /// the deactivation from ever finishing, and an object's newer or unreadable epoch does
    /// not refuse it.
    pub deactivating: bool,
}

impl Batch<'_> {
    /// Applies `decide` (the merge patch for object `i` as read, or `None` when it already is in
    /// the asked state) to every object, then `waiting` (what object `i`, as it is afterwards,
    /// still waits for) to judge whether the action is done.
    pub async fn run(
        &self,
        fence: &Fence<'_>,
        decide: impl Fn(usize, &DynamicObject) -> Result<Option<Value>, KubeError>,
        waiting: impl Fn(usize, &DynamicObject) -> Option<String>,
    ) -> Result<Progress, KubeError> {
        let mut errors = Vec::new();
        let mut read = Vec::new();
        for (i, object) in self.objects.iter().enumerate() {
            match fence.get(object, self.field).await {
                Ok(obj) => read.push((i, obj)),
                Err(KubeError::ApiNotInstalled { object, api, .. }) if self.deactivating => {
                    tracing::warn!(%object, %api, "API not installed: nothing to deactivate");
                }
                // A listed object that does not exist (renamed, deleted) cannot serve or run:
                // a deactivation counts it as done rather than never acknowledging. Health
                // still reports it, and an activation still fails on it.
                Err(KubeError::NotFound { object, field }) if self.deactivating => {
                    tracing::warn!(%object, field, "listed but not found: nothing to deactivate");
                }
                Err(e) => errors.push(e),
            }
        }
        // All checks before any write: a stale activation must not change even one object.
        for (i, obj) in &read {
            fence.admit(&self.objects[*i], obj, self.deactivating)?;
        }
        let mut pending = Vec::new();
        for (i, obj) in read {
            let object = &self.objects[i];
            match fence
                .change(object, self.field, self.deactivating, obj, |obj| {
                    decide(i, obj)
                })
                .await
            {
                Ok(after) => pending.extend(waiting(i, &after)),
                Err(e @ KubeError::Conflict { .. }) => pending.push(e.to_string()),
                Err(e) => errors.push(e),
            }
        }
        if errors.len() == 1 {
            return Err(errors.remove(0));
        }
        if !errors.is_empty() {
            return Err(KubeError::Several(errors));
        }
        Ok(if pending.is_empty() {
            Progress::Done
        } else {
            Progress::Pending(pending.join(", "))
        })
    }
}
