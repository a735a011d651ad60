//! CronJobs: `spec.suspend` true on standby, false when active. Suspending only stops new runs;
//! a run already started finishes (Kubernetes' own semantics).

use super::batch::Batch;
use super::errors::KubeError;
use super::fencing::Fence;
use super::objects::ObjectRef;
use super::workloads::FIELD;
use crate::k8s::Progress;
use kube::api::DynamicObject;
use serde_json::json;

/// Whether a CronJob is suspended (`spec.suspend`, false when unset).
pub fn suspended(obj: &DynamicObject) -> bool {
    obj.data["spec"]["suspend"].as_bool().unwrap_or(false)
}

/// Sets `spec.suspend` to `suspend` on every CronJob; done at once.
pub async fn set_suspended(
    fence: &Fence<'_>,
    objects: Vec<ObjectRef<'_>>,
    suspend: bool,
) -> Result<Progress, KubeError> {
    let batch = Batch {
        objects,
        field: FIELD,
        deactivating: suspend,
    };
    let decide = |_: usize, obj: &DynamicObject| {
        Ok((suspended(obj) != suspend).then(|| json!({"spec": {"suspend": suspend}})))
    };
    batch.run(fence, decide, |_, _| None).await
}
