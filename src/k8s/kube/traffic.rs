//! Ingresses and Istio VirtualServices: the DNS annotations (external-dns conventions) set while
//! the cluster serves the group and switched off (or removed) while it does not. A NetworkRef's
//! `activeAnnotations` replace the controller's built-in DNS annotation for that object.

use super::batch::Batch;
use super::errors::KubeError;
use super::fencing::{Fence, annotation};
use super::health::component;
use super::objects::{INGRESS, Kind, ObjectRef, VIRTUAL_SERVICE};
use super::settings::DnsAnnotations;
use crate::crd::{NetworkKind, NetworkRef};
use crate::k8s::{ComponentHealth, Progress};
use crate::store::Health;
use kube::api::DynamicObject;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The FailoverGroup field listing traffic objects.
pub const FIELD: &str = "networkResources";

/// The kind of a NetworkRef.
pub fn kind(r: &NetworkRef) -> &'static Kind {
    match r.kind {
        NetworkKind::Ingress => &INGRESS,
        NetworkKind::VirtualService => &VIRTUAL_SERVICE,
    }
}

/// The annotations of `r` for `on`: a value to set, `None` to remove.
fn wanted(r: &NetworkRef, dns: &DnsAnnotations, on: bool) -> BTreeMap<String, Option<String>> {
    match &r.active_annotations {
        Some(active) => active
            .iter()
            .map(|(k, v)| (k.clone(), on.then(|| v.clone())))
            .collect(),
        None => dns.patch(on),
    }
}

/// Whether `obj` carries exactly `annotations` (absent where `None`).
fn carries(obj: &DynamicObject, annotations: &BTreeMap<String, Option<String>>) -> bool {
    annotations
        .iter()
        .all(|(k, v)| annotation(obj, k) == v.as_deref())
}

/// Switches every traffic object's DNS annotations on or off; done at once (DNS then follows
/// at the pace of the DNS controller and record TTLs).
pub async fn switch(
    fence: &Fence<'_>,
    refs: &[NetworkRef],
    dns: &DnsAnnotations,
    on: bool,
) -> Result<Progress, KubeError> {
    let batch = Batch {
        objects: refs
            .iter()
            .map(|r| fence.object(kind(r), &r.name))
            .collect(),
        field: FIELD,
        deactivating: !on,
    };
    let decide = |i: usize, obj: &DynamicObject| {
        let r = &refs[i];
        let active = r.active_annotations.iter().flat_map(|a| a.keys());
        if let Some(key) = active.into_iter().find(|k| !dns.allows(k)) {
            return Err(KubeError::BadValue {
                object: format!("{} {}", kind(r).label, r.name),
                field: "networkResources[].activeAnnotations".into(),
                value: key.clone(),
                problem: format!(
                    "is not under a prefix the cluster admin allows ({})",
                    dns.allowed_prefixes.join(", ")
                ),
                fix: "use an external-dns.alpha.kubernetes.io/ or kubectl-failover.io/ key, or ask the cluster admin to add the prefix to ALLOWED_ANNOTATION_PREFIXES (and to the CRD and admission policy, docs/security.md)".into(),
            });
        }
        let want = wanted(r, dns, on);
        if carries(obj, &want) {
            return Ok(None);
        }
        let annotations: Map<String, Value> = want
            .into_iter()
            .map(|(k, v)| (k, v.map_or(Value::Null, Value::String)))
            .collect();
        Ok(Some(json!({"metadata": {"annotations": annotations}})))
    };
    batch.run(fence, decide, |_, _| None).await
}

/// Serving or not are both healthy; an object switched only partly (its annotations edited by
/// hand) or objects that disagree are DEGRADED.
pub fn judge(
    refs: &[NetworkRef],
    dns: &DnsAnnotations,
    objects: &[(usize, ObjectRef<'_>, DynamicObject)],
) -> ComponentHealth {
    let mut problems = Vec::new();
    let mut states = Vec::new();
    for (i, object, obj) in objects {
        let r = &refs[*i];
        if carries(obj, &wanted(r, dns, true)) {
            states.push((object, true));
        } else if carries(obj, &wanted(r, dns, false)) {
            states.push((object, false));
        } else {
            problems.push(format!(
                "{object}: DNS annotations neither fully on nor off"
            ));
        }
    }
    if let (Some(on), Some(off)) = (
        states.iter().find(|(_, on)| *on),
        states.iter().find(|(_, on)| !*on),
    ) {
        problems.push(format!("{} serves but {} does not", on.0, off.0));
    }
    let health = if problems.is_empty() {
        Health::Ok
    } else {
        Health::Degraded
    };
    component(health, problems)
}
