//! Every write of the actions: a JSON merge patch that carries the object's `resourceVersion`
//! (so a concurrent change makes it fail with 409 instead of being overwritten) and stamps the
//! fencing epoch, sent only after checking that the object carries no newer epoch. On a
//! conflict the object is read again, checked again and the change decided again.

use super::errors::{KubeError, is_conflict};
use super::objects::{Kind, ObjectRef};
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Map, Value, json};

/// The annotation holding the epoch of the last decision that changed the object.
pub const EPOCH_ANNOTATION: &str = "kubectl-failover.io/epoch";

/// Patches attempted on one object before a conflict is reported (as pending).
pub const MAX_ATTEMPTS: u32 = 4;

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

    /// Refuses when `obj` carries an epoch newer than this fence's.
    pub fn check(&self, object: &ObjectRef<'_>, obj: &DynamicObject) -> Result<(), KubeError> {
        let applied = applied_epoch(object, obj)?;
        if applied > self.epoch {
            return Err(KubeError::StaleEpoch {
                object: object.to_string(),
                epoch: self.epoch,
                applied,
            });
        }
        Ok(())
    }

    /// Brings `obj` (as last read) to the state `decide` asks for: `decide` returns the merge
    /// patch to send, or `None` when the object already is in that state (nothing is sent).
    /// Returns the object as it is afterwards.
    pub async fn change(
        &self,
        object: &ObjectRef<'_>,
        field: &'static str,
        mut obj: DynamicObject,
        decide: impl Fn(&DynamicObject) -> Result<Option<Value>, KubeError>,
    ) -> Result<DynamicObject, KubeError> {
        for attempt in 1..=MAX_ATTEMPTS {
            self.check(object, &obj)?;
            let Some(patch) = decide(&obj)? else {
                return Ok(obj);
            };
            let patch = self.fenced(patch, &obj);
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

    /// `patch` plus the precondition on `obj`'s resourceVersion and the epoch stamp.
    fn fenced(&self, patch: Value, obj: &DynamicObject) -> Value {
        let mut root = into_map(Some(patch));
        let mut metadata = into_map(root.remove("metadata"));
        let mut annotations = into_map(metadata.remove("annotations"));
        annotations.insert(EPOCH_ANNOTATION.into(), json!(self.epoch.to_string()));
        metadata.insert("annotations".into(), Value::Object(annotations));
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
        problem: "is not an epoch (a whole number)".into(),
        fix: "remove the annotation; the next action stamps it again".into(),
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
