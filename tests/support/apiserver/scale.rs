//! The `autoscaling/v1` Scale subresource of Deployments and StatefulSets (`kubectl scale`).

use serde_json::{Value, json};

use super::error::ApiError;
use super::registry::ResourceType;
use super::store::{State, meta_str, set_path};

/// The Scale view of a workload: `spec.replicas`, observed replicas and the selector.
fn scale_of(obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let selector: Vec<String> = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(0)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector.join(",")},
    })
}

impl State {
    pub fn get_scale(
        &self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
    ) -> Result<Value, ApiError> {
        let obj = self
            .stored(rt, namespace, name)
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        Ok(scale_of(obj))
    }

    /// Edits the Scale with `edit` (a replacement or a patch), then writes its
    /// `spec.replicas` into the workload (a resourceVersion in the Scale is a precondition).
    pub fn write_scale(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        edit: impl FnOnce(&mut Value) -> Result<(), ApiError>,
    ) -> Result<Value, ApiError> {
        let old = self
            .stored(rt, namespace, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        let mut scale = scale_of(&old);
        edit(&mut scale)?;
        if meta_str(&scale, "name") != name {
            return Err(ApiError::bad_request(
                "the name of the Scale does not match the name on the URL",
            ));
        }
        let rv = meta_str(&scale, "resourceVersion");
        if !rv.is_empty() && rv != meta_str(&old, "resourceVersion") {
            return Err(ApiError::conflict(rt, name));
        }
        let replicas = match &scale["spec"]["replicas"] {
            Value::Null => 0,
            v => v.as_i64().filter(|r| *r >= 0).ok_or_else(|| {
                ApiError::invalid("spec.replicas: Invalid value: must be a non-negative integer")
            })?,
        };
        let mut candidate = old.clone();
        set_path(&mut candidate, &["spec", "replicas"], json!(replicas));
        let written = self.write_over(rt, namespace, name, old, candidate, false)?;
        Ok(scale_of(&written))
    }
}
