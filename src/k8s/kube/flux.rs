//! Flux HelmReleases (helm.toolkit.fluxcd.io/v2) and Kustomizations
//! (kustomize.toolkit.fluxcd.io/v1): `spec.suspend` on standby, and on resume a reconcile asked
//! for with `reconcile.fluxcd.io/requestedAt` set to a fresh timestamp (as `flux reconcile`
//! does). Suspended is the standby state, not a fault; otherwise health is the Ready condition.

use super::batch::Batch;
use super::errors::KubeError;
use super::fencing::Fence;
use super::health::{component, worse};
use super::objects::{HELM_RELEASE, KUSTOMIZATION, Kind, ObjectRef};
use super::volumes::condition;
use crate::crd::{FluxKind, FluxRef};
use crate::k8s::{ComponentHealth, Progress};
use crate::store::Health;
use chrono::{DateTime, SecondsFormat, Utc};
use kube::api::DynamicObject;
use serde_json::json;

/// The FailoverGroup field listing Flux objects.
pub const FIELD: &str = "fluxResources";

/// The annotation Flux controllers watch to reconcile at once.
pub const REQUESTED_AT_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";

/// The kind of a FluxRef.
pub fn kind(r: &FluxRef) -> &'static Kind {
    match r.kind {
        FluxKind::HelmRelease => &HELM_RELEASE,
        FluxKind::Kustomization => &KUSTOMIZATION,
    }
}

/// Whether a Flux object is suspended (`spec.suspend`, false when unset).
pub fn suspended(obj: &DynamicObject) -> bool {
    obj.data["spec"]["suspend"].as_bool().unwrap_or(false)
}

/// Suspends every Flux object; done at once.
pub async fn suspend(fence: &Fence<'_>, refs: &[FluxRef]) -> Result<Progress, KubeError> {
    let batch = Batch {
        objects: refs
            .iter()
            .map(|r| fence.object(kind(r), &r.name))
            .collect(),
        field: FIELD,
        deactivating: true,
    };
    let decide = |_: usize, obj: &DynamicObject| {
        Ok((!suspended(obj)).then(|| json!({"spec": {"suspend": true}})))
    };
    batch.run(fence, decide, |_, _| None).await
}

/// Resumes every suspended Flux object, asking for a reconcile at `now` where the FluxRef
/// wants one; an object already running is left alone (no extra reconcile). Done at once.
pub async fn resume(
    fence: &Fence<'_>,
    refs: &[FluxRef],
    now: DateTime<Utc>,
) -> Result<Progress, KubeError> {
    let batch = Batch {
        objects: refs
            .iter()
            .map(|r| fence.object(kind(r), &r.name))
            .collect(),
        field: FIELD,
        deactivating: false,
    };
    let stamp = now.to_rfc3339_opts(SecondsFormat::Nanos, true);
    let decide = |i: usize, obj: &DynamicObject| {
        if !suspended(obj) {
            return Ok(None);
        }
        Ok(Some(if refs[i].trigger_reconcile {
            json!({
                "metadata": {"annotations": {REQUESTED_AT_ANNOTATION: stamp}},
                "spec": {"suspend": false},
            })
        } else {
            json!({"spec": {"suspend": false}})
        }))
    };
    batch.run(fence, decide, |_, _| None).await
}

/// Suspended objects are OK (standby); a running one is judged by its Ready condition: True OK,
/// Unknown (reconciling) or absent DEGRADED, False ERROR.
pub fn judge(objects: &[(ObjectRef<'_>, DynamicObject)]) -> ComponentHealth {
    let mut worst = Health::Ok;
    let mut problems = Vec::new();
    for (object, obj) in objects {
        if suspended(obj) {
            continue;
        }
        let (health, problem) = match condition(obj, "Ready") {
            Some(c) if c.status == "True" => continue,
            Some(c) if c.status == "False" => (
                Health::Error,
                format!("{object}: not ready ({}): {}", c.reason, c.message),
            ),
            Some(c) => (
                Health::Degraded,
                format!("{object}: reconciling ({}): {}", c.reason, c.message),
            ),
            None => (
                Health::Degraded,
                format!("{object}: no Ready condition reported yet"),
            ),
        };
        worst = worse(worst, health);
        problems.push(problem);
    }
    component(worst, problems)
}
