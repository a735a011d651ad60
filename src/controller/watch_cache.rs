//! What the controller's watch cache keeps of each FailoverGroup and Failover. kube's controller
//! holds every watched object for the process's lifetime; with their managedFields they were the
//! largest part of its memory per group (18.7 MiB of a 70 MiB heap at 1,000 groups, heaptrack
//! on `benches/scale_real`; 5.0 MiB without them).

use kube::Api;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::controller::Controller as KubeController;
use kube::runtime::{WatchStreamExt, reflector, watcher};

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

/// Drops what no reconcile reads before an object enters the watch cache: its managedFields
/// (one entry per field manager, often larger than the spec) and `kubectl apply`'s copy of
/// it. The cache holds every FailoverGroup for the controller's lifetime: this is most of its
/// memory per group.
pub fn slim(obj: &mut DynamicObject) {
    obj.metadata.managed_fields = None;
    if let Some(annotations) = obj.metadata.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
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
        slim(&mut obj);
        assert!(obj.metadata.managed_fields.is_none());
        let annotations = obj.metadata.annotations.clone().unwrap_or_default();
        assert!(!annotations.contains_key(LAST_APPLIED));
        assert_eq!(annotations[ALLOW_FAILOVERS_FROM], "ops");
        assert_eq!(obj.metadata.generation, Some(3));
        assert_eq!(obj.metadata.finalizers.as_ref().map(Vec::len), Some(1));
        assert_eq!(obj.data["spec"]["initialPrimary"], "east");
        assert_eq!(obj.data["status"]["conditions"][0]["type"], "Ready");
    }
}
