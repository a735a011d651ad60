//! Deployments and StatefulSets: scaled to 0 with the replica count remembered in an annotation,
//! scaled back to it, and judged from `status.readyReplicas` against `spec.replicas`.

use super::batch::Batch;
use super::errors::KubeError;
use super::fencing::{Fence, annotation};
use super::health::{component, worse};
use super::objects::ObjectRef;
use super::pods;
use crate::k8s::{ComponentHealth, Progress};
use crate::store::Health;
use kube::api::DynamicObject;
use serde_json::{Value, json};

/// The annotation remembering a scaled-down workload's replica count.
pub const REPLICAS_ANNOTATION: &str = "kubectl-failover.io/replicas";

/// The most replicas a ScaleUp restores from [`REPLICAS_ANNOTATION`]: anyone who can annotate
/// a workload could otherwise have an activation start millions of pods. Far above what one
/// Deployment or StatefulSet of a failover group runs; a larger count is refused naming the
/// object, and the workload can still be scaled up by hand.
pub const MAX_RESTORED_REPLICAS: i64 = 10_000;

/// The FailoverGroup field listing workloads.
pub const FIELD: &str = "workloads";

/// `spec.replicas`; the API server defaults an unset one to 1.
pub fn spec_replicas(obj: &DynamicObject) -> i64 {
    obj.data["spec"]["replicas"].as_i64().unwrap_or(1)
}

/// A status count; the real types omit zero counts.
fn status_count(obj: &DynamicObject, field: &str) -> i64 {
    obj.data["status"][field].as_i64().unwrap_or(0)
}

/// Whether the status describes the current spec: the workload controller saw the last
/// change. A status it has not written yet (no `observedGeneration`) describes nothing.
fn observed(obj: &DynamicObject) -> bool {
    let observed = obj.data["status"]["observedGeneration"].as_i64();
    match (observed, obj.metadata.generation) {
        (Some(observed), Some(generation)) => observed >= generation,
        (None, Some(_)) => false,
        (_, None) => true,
    }
}

/// Scales every workload to 0, remembering its replica count; done when no pod of it is left
/// (running or terminating), not merely when its status says 0 replicas.
pub async fn scale_down(
    fence: &Fence<'_>,
    objects: Vec<ObjectRef<'_>>,
) -> Result<Progress, KubeError> {
    let batch = Batch {
        objects,
        field: FIELD,
        deactivating: true,
    };
    let decide = |_: usize, obj: &DynamicObject| {
        let replicas = spec_replicas(obj);
        Ok((replicas > 0).then(|| {
            json!({
                "metadata": {"annotations": {REPLICAS_ANNOTATION: replicas.to_string()}},
                "spec": {"replicas": 0},
            })
        }))
    };
    // The selectors of the workloads now at 0, whose pods are counted once all are patched.
    let at_zero = std::sync::Mutex::new(Vec::new());
    let waiting = |i: usize, obj: &DynamicObject| {
        if spec_replicas(obj) == 0 {
            let object = &batch.objects[i];
            at_zero
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((i, pods::selector(object, obj)));
        }
        // terminatingReplicas (Kubernetes 1.33+): pods still shutting down may still write to
        // the volumes that are demoted next.
        let left = ["replicas", "readyReplicas", "terminatingReplicas"]
            .into_iter()
            .map(|field| status_count(obj, field))
            .max()
            .unwrap_or(0);
        if !observed(obj) {
            let object = &batch.objects[i];
            Some(format!(
                "{object}: waiting for its controller to see the change"
            ))
        } else {
            (left > 0).then(|| format!("{}: {left} replicas left", batch.objects[i]))
        }
    };
    let progress = batch.run(fence, decide, waiting).await?;
    let mut pending = match progress {
        Progress::Done => Vec::new(),
        Progress::Pending(what) => vec![what],
    };
    let at_zero = at_zero.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut errors = Vec::new();
    for (i, selector) in at_zero {
        let object = &batch.objects[i];
        let counted = match selector {
            Ok(selector) => pods::left(fence.client, object, &selector).await,
            Err(e) => Err(e),
        };
        match counted {
            Ok((0, _)) => {}
            Ok((n, terminating)) => pending.push(format!(
                "{object}: {n} pods left ({terminating} terminating)"
            )),
            Err(e) => errors.push(e),
        }
    }
    match errors.len() {
        0 if pending.is_empty() => Ok(Progress::Done),
        0 => Ok(Progress::Pending(pending.join(", "))),
        1 => Err(errors.remove(0)),
        _ => Err(KubeError::Several(errors)),
    }
}

/// Scales every workload at 0 back to its remembered count; done when all replicas are ready.
pub async fn scale_up(
    fence: &Fence<'_>,
    objects: Vec<ObjectRef<'_>>,
) -> Result<Progress, KubeError> {
    let batch = Batch {
        objects,
        field: FIELD,
        deactivating: false,
    };
    let decide = |i: usize, obj: &DynamicObject| {
        if spec_replicas(obj) > 0 {
            // Running already (never scaled down, or scaled by someone since): leave it.
            return Ok(None);
        }
        let replicas = remembered(&batch.objects[i], obj)?;
        Ok((replicas > 0).then(|| {
            json!({
                "metadata": {"annotations": {REPLICAS_ANNOTATION: Value::Null}},
                "spec": {"replicas": replicas},
            })
        }))
    };
    let waiting = |i: usize, obj: &DynamicObject| {
        let want = spec_replicas(obj);
        let ready = status_count(obj, "readyReplicas");
        (ready != want || !observed(obj))
            .then(|| format!("{}: {ready}/{want} ready", batch.objects[i]))
    };
    batch.run(fence, decide, waiting).await
}

/// The replica count remembered on a workload at 0: a whole number from 0 to
/// [`MAX_RESTORED_REPLICAS`], never a default.
fn remembered(object: &ObjectRef<'_>, obj: &DynamicObject) -> Result<i64, KubeError> {
    let bad = |value: &str, problem: String| KubeError::BadValue {
        object: object.to_string(),
        field: format!("annotation {REPLICAS_ANNOTATION}"),
        value: value.to_string(),
        problem,
        fix: format!(
            "annotate it with the replica count to run when active (kubectl annotate {} {} {REPLICAS_ANNOTATION}=N --overwrite), or scale it up yourself",
            object.kind.label, object.name
        ),
    };
    let Some(text) = annotation(obj, REPLICAS_ANNOTATION) else {
        return Err(bad(
            "",
            "is missing on a workload at 0 replicas, so the count to restore is unknown".into(),
        ));
    };
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let whole = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let too_many =
        || format!("is above {MAX_RESTORED_REPLICAS} replicas, the most an activation restores");
    match text.parse::<i64>() {
        Ok(n) if n < 0 => Err(bad(text, "is negative, not a replica count".into())),
        Ok(n) if n > MAX_RESTORED_REPLICAS => Err(bad(text, too_many())),
        Ok(n) => Ok(n),
        // Digits too long for an i64: a count no cluster runs.
        Err(_) if whole && !text.starts_with('-') => Err(bad(text, too_many())),
        Err(_) if whole => Err(bad(text, "is negative, not a replica count".into())),
        Err(_) => Err(bad(text, "is not a whole number of replicas".into())),
    }
}

/// Per workload with replicas asked for: all ready is OK, some DEGRADED, none ERROR; workloads
/// at 0 are a healthy standby.
pub fn judge(objects: &[(ObjectRef<'_>, DynamicObject)]) -> ComponentHealth {
    let mut worst = Health::Ok;
    let mut problems = Vec::new();
    for (object, obj) in objects {
        let want = spec_replicas(obj);
        let ready = status_count(obj, "readyReplicas");
        if want == 0 || ready >= want {
            continue;
        }
        let health = if ready > 0 {
            Health::Degraded
        } else {
            Health::Error
        };
        worst = worse(worst, health);
        problems.push(format!("{object}: {ready}/{want} ready"));
    }
    component(worst, problems)
}
