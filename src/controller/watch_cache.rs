//! What the controller's watch cache keeps of each FailoverGroup and Failover. kube's controller
//! holds every watched object for the process's lifetime, and it was the largest part of the
//! controller's memory per group: with their managedFields 18.7 MiB of a 70 MiB heap at 1,000
//! groups, without them still 45 MiB at 10,000 groups as `serde_json` values (heaptrack on
//! `benches/scale_real`, docs/benchmarks.md). The cache now keeps an object's body (spec,
//! status) as its JSON text, about a third of the values' size; a reconcile reads it back with
//! [`unpack`], as it parsed every object anyway.

use kube::Api;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::controller::Controller as KubeController;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::Value;

/// kube's controller for `ar`, whose watch cache keeps every object [`slim`]med.
pub fn slim_controller(
    api: Api<DynamicObject>,
    config: watcher::Config,
    ar: ApiResource,
) -> KubeController<DynamicObject> {
    let writer = reflector::store::Writer::new(ar.clone());
    let reader = writer.as_reader();
    let stream = reflector(writer, watcher(api, config).modify(slim)).applied_objects();
    KubeController::for_stream_with(stream, reader, ar)
}

/// The annotation `kubectl apply` keeps a copy of the whole object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The one field of a packed object's body: its JSON text. Not a field of any Kubernetes
/// object (the API server refuses names with `$`), and never sent anywhere: the cache is the
/// controller's own.
const PACKED: &str = "$packed";

/// Drops what no reconcile reads before an object enters the watch cache (its managedFields,
/// one entry per field manager and often larger than the spec, and `kubectl apply`'s copy of
/// it), and packs its body as JSON text. The cache holds every FailoverGroup for the
/// controller's lifetime: this is most of its memory per group.
pub fn slim(obj: &mut DynamicObject) {
    obj.metadata.managed_fields = None;
    if let Some(annotations) = obj.metadata.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
    let body = std::mem::take(&mut obj.data);
    let mut packed = serde_json::Map::new();
    packed.insert(PACKED.to_string(), Value::String(body.to_string()));
    obj.data = Value::Object(packed);
}

/// The object as the API server sent it (less what [`slim`] dropped), ready to be read as its
/// type; an object that was never packed is returned as it is.
pub fn unpack(obj: &DynamicObject) -> Result<DynamicObject, serde_json::Error> {
    let Some(Value::String(text)) = obj.data.get(PACKED) else {
        return Ok(obj.clone());
    };
    Ok(DynamicObject {
        types: obj.types.clone(),
        metadata: obj.metadata.clone(),
        data: serde_json::from_str(text)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::failovers::ALLOW_FAILOVERS_FROM;
    use serde_json::json;

    #[test]
    fn the_cache_keeps_spec_status_and_annotations_but_not_managed_fields_or_apply_copies() {
        let mut obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "FailoverGroup",
            "metadata": {
                "name": "web", "namespace": "shop", "generation": 3,
                "finalizers": ["kubectl-failover.io/withdraw"],
                "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}],
            },
            "spec": {"initialPrimary": "east"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }))
        .expect("object");
        obj.metadata.annotations = Some(
            [
                (LAST_APPLIED, "{\"spec\":{}}"),
                (ALLOW_FAILOVERS_FROM, "ops"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        );
        let original = obj.data.clone();
        slim(&mut obj);
        assert!(obj.metadata.managed_fields.is_none());
        let annotations = obj.metadata.annotations.clone().unwrap_or_default();
        assert!(!annotations.contains_key(LAST_APPLIED));
        assert_eq!(annotations[ALLOW_FAILOVERS_FROM], "ops");
        assert_eq!(obj.metadata.generation, Some(3));
        assert_eq!(obj.metadata.finalizers.as_ref().map(Vec::len), Some(1));
        let read = unpack(&obj).expect("packed by slim");
        assert_eq!(read.data, original, "the body comes back as it was");
        assert_eq!(read.data["spec"]["initialPrimary"], "east");
        assert_eq!(read.data["status"]["conditions"][0]["type"], "Ready");
    }

    #[test]
    fn a_cached_object_keeps_its_body_as_text_and_one_never_packed_reads_as_it_is() {
        let mut obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "FailoverGroup",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"initialPrimary": "east", "workloads": [{"kind": "Deployment", "name": "web"}]},
        }))
        .expect("object");
        let as_sent = obj.clone();
        assert_eq!(unpack(&as_sent).expect("as it is").data, as_sent.data);
        slim(&mut obj);
        let keys: Vec<&String> = obj.data.as_object().expect("a map").keys().collect();
        assert_eq!(keys, vec![PACKED], "the cache holds the body as one text");
        assert!(
            obj.data[PACKED]
                .as_str()
                .expect("text")
                .contains("\"initialPrimary\":\"east\"")
        );
    }
}
