//! Every write of the actions: a JSON merge patch that carries the object's `resourceVersion`
//! (so a concurrent change makes it fail with 409 instead of being overwritten) and stamps the
//! fencing epoch. On a conflict the object is read again, checked again and the change decided
//! again.
//!
//! The stamp is what refuses a stale decision in another process, so it is written whenever the
//! object's stamp is older than the action's, even when nothing else changes (an annotation-only
//! patch): otherwise a no-op at a newer epoch leaves the old stamp, and a stale activation that
//! passed its own check before the newer decision would still get through.
//!
//! A newer or unreadable stamp refuses an activation, but never a deactivation: anyone who can
//! annotate a listed object could otherwise block fencing for good with a forged epoch. Turning
//! things off cannot make two clusters serve, so it goes ahead, leaves such a stamp as it is
//! (never lowered, so a stale activation stays refused) and logs a warning with the fix.

use super::errors::{KubeError, is_conflict};
use super::objects::{Kind, ObjectRef};
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Map, Value, json};

/// The annotation holding the epoch of the last decision that changed the object.
pub const EPOCH_ANNOTATION: &str = "kubectl-failover.io/epoch";

/// Patches attempted on one object before a conflict is reported (as pending).
pub const MAX_ATTEMPTS: u32 = 4;

/// What a forged or stale-looking stamp asks of a person; it is left to them because a real
/// newer decision and a forged one look the same.
const KEPT_FIX: &str = "remove the annotation if nothing newer acted on it";

/// How an object's epoch stamp relates to the action's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Older (or absent): the action's epoch is written, even when nothing else changes.
    Older,
    /// The action's own: written along with a change, nothing sent otherwise.
    Same,
    /// Newer or unreadable, met by a deactivation: the change is made, the stamp left as is.
    Kept,
}

/// Reads and fenced writes in one group's namespace under one epoch.
#[derive(Clone, Copy)]
pub struct Fence<'a> {
    /// The cluster's client.
    pub client: &'a Client,
    /// The group's namespace.
    pub namespace: &'a str,
    /// Field manager of every patch.
    pub field_manager: &'a str,
    /// The epoch the action was decided under.
    pub epoch: u64,
}

impl<'a> Fence<'a> {
    /// The reference to `name` of `kind` in the group's namespace, for messages.
    pub fn object(&self, kind: &'static Kind, name: &'a str) -> ObjectRef<'a> {
        ObjectRef {
            kind,
            namespace: self.namespace,
            name,
        }
    }

    fn api(&self, kind: &Kind) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), self.namespace, &kind.api_resource())
    }

    /// Reads one object (listed in the FailoverGroup's `field`).
    pub async fn get(
        &self,
        object: &ObjectRef<'_>,
        field: &'static str,
    ) -> Result<DynamicObject, KubeError> {
        self.api(object.kind)
            .get(object.name)
            .await
            .map_err(|e| KubeError::from_kube(object, field, e))
    }

    /// What the stamp on `obj` allows an action of this fence (`deactivating` or not): an
    /// activation is refused by a newer or unreadable stamp, a deactivation never is.
    pub fn admit(
        &self,
        object: &ObjectRef<'_>,
        obj: &DynamicObject,
        deactivating: bool,
    ) -> Result<Stamp, KubeError> {
        match applied_epoch(object, obj) {
            Ok(applied) if applied < self.epoch => Ok(Stamp::Older),
            Ok(applied) if applied == self.epoch => Ok(Stamp::Same),
            Ok(_) | Err(_) if deactivating => Ok(Stamp::Kept),
            Ok(applied) => Err(KubeError::StaleEpoch {
                object: object.to_string(),
                epoch: self.epoch,
                applied,
            }),
            Err(e) => Err(e),
        }
    }

    /// Brings `obj` (as last read) to the state `decide` asks for: `decide` returns the merge
    /// patch to send, or `None` when the object already is in that state (then only an older
    /// stamp is replaced). Returns the object as it is afterwards.
    pub async fn change(
        &self,
        object: &ObjectRef<'_>,
        field: &'static str,
        deactivating: bool,
        mut obj: DynamicObject,
        decide: impl Fn(&DynamicObject) -> Result<Option<Value>, KubeError>,
    ) -> Result<DynamicObject, KubeError> {
        for attempt in 1..=MAX_ATTEMPTS {
            let stamp = self.admit(object, &obj, deactivating)?;
            if stamp == Stamp::Kept {
                self.warn_kept(object, &obj);
            }
            let patch = match (decide(&obj)?, stamp) {
                (Some(patch), _) => patch,
                (None, Stamp::Older) => Value::Object(Map::new()),
                (None, Stamp::Same | Stamp::Kept) => return Ok(obj),
            };
            let patch = self.fenced(patch, &obj, stamp);
            let params = PatchParams {
                field_manager: Some(self.field_manager.to_string()),
                ..PatchParams::default()
            };
            match self
                .api(object.kind)
                .patch(object.name, &params, &Patch::Merge(&patch))
                .await
            {
                Ok(patched) => {
                    tracing::debug!(object = %object, epoch = self.epoch, "patched");
                    return Ok(patched);
                }
                Err(e) if is_conflict(&e) && attempt < MAX_ATTEMPTS => {
                    tracing::debug!(object = %object, attempt, "conflict; reading again");
                    obj = self.get(object, field).await?;
                }
                Err(e) if is_conflict(&e) => break,
                Err(e) => return Err(KubeError::from_kube(object, field, e)),
            }
        }
        Err(KubeError::Conflict {
            object: object.to_string(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Reports a deactivation going on past a stamp it does not own. A log line only: Events
    /// are published by the controller (src/controller/events.rs), which this backend has no
    /// handle on, and `Progress` carries no warnings; health reports an unreadable stamp.
    fn warn_kept(&self, object: &ObjectRef<'_>, obj: &DynamicObject) {
        let value = annotation(obj, EPOCH_ANNOTATION).unwrap_or_default();
        let anomaly = match value.parse::<u64>() {
            Ok(_) => format!("is newer than this deactivation's epoch {}", self.epoch),
            Err(_) => "is not an epoch (a whole number)".to_string(),
        };
        tracing::warn!(
            object = %object,
            annotation = EPOCH_ANNOTATION,
            value,
            epoch = self.epoch,
            "{object}: annotation {EPOCH_ANNOTATION} {value:?} {anomaly}; turned off anyway, the \
             annotation left as it is (it keeps refusing activations); {KEPT_FIX}"
        );
    }

    /// `patch` plus the precondition on `obj`'s resourceVersion and, unless the object's own
    /// stamp is kept, this fence's epoch.
    fn fenced(&self, patch: Value, obj: &DynamicObject, stamp: Stamp) -> Value {
        let mut root = into_map(Some(patch));
        let mut metadata = into_map(root.remove("metadata"));
        let mut annotations = into_map(metadata.remove("annotations"));
        if stamp != Stamp::Kept {
            annotations.insert(EPOCH_ANNOTATION.into(), json!(self.epoch.to_string()));
        }
        if !annotations.is_empty() {
            metadata.insert("annotations".into(), Value::Object(annotations));
        }
        if let Some(rv) = &obj.metadata.resource_version {
            metadata.insert("resourceVersion".into(), json!(rv));
        }
        root.insert("metadata".into(), Value::Object(metadata));
        Value::Object(root)
    }
}

fn into_map(value: Option<Value>) -> Map<String, Value> {
    match value {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The epoch stamped on `obj`, 0 when it carries none.
pub fn applied_epoch(object: &ObjectRef<'_>, obj: &DynamicObject) -> Result<u64, KubeError> {
    let Some(text) = annotation(obj, EPOCH_ANNOTATION) else {
        return Ok(0);
    };
    text.parse().map_err(|_| KubeError::BadValue {
        object: object.to_string(),
        field: format!("annotation {EPOCH_ANNOTATION}"),
        value: text.to_string(),
        problem: "is not an epoch (a whole number), so no activation may act on it".into(),
        fix: format!(
            "{KEPT_FIX} (kubectl annotate {} {} {EPOCH_ANNOTATION}-); the next action stamps it again",
            object.kind.label, object.name
        ),
    })
}

/// An annotation's value.
pub fn annotation<'o>(obj: &'o DynamicObject, key: &str) -> Option<&'o str> {
    obj.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}
