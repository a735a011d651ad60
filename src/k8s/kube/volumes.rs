//! csi-addons VolumeReplications: `spec.replicationState` primary or secondary, done only when
//! `status.state` reports the role, and health from the conditions csi-addons publishes
//! (Completed, Degraded, Resyncing, Validated). The role is always read from `status.state`,
//! never from the spec.

use super::batch::Batch;
use super::errors::KubeError;
use super::fencing::Fence;
use super::health::{component, worse};
use super::objects::ObjectRef;
use crate::k8s::{ComponentHealth, Progress};
use crate::store::Health;
use kube::api::DynamicObject;
use serde_json::{Value, json};

/// The FailoverGroup field listing volume replications.
pub const FIELD: &str = "workloads[].volumeReplications";

/// A replication role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Writable, replicating out.
    Primary,
    /// Read-only replica.
    Secondary,
}

impl Role {
    /// csi-addons' `spec.replicationState` value.
    fn spec_value(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Secondary => "secondary",
        }
    }
}

/// The reached role (`status.state`: Primary, Secondary or Unknown), if any.
pub fn state(obj: &DynamicObject) -> Option<Role> {
    match obj.data["status"]["state"]
        .as_str()?
        .to_ascii_lowercase()
        .as_str()
    {
        "primary" => Some(Role::Primary),
        "secondary" => Some(Role::Secondary),
        _ => None,
    }
}

fn state_text(obj: &DynamicObject) -> &str {
    obj.data["status"]["state"]
        .as_str()
        .unwrap_or("not reported")
}

/// Whether the status describes the current spec.
fn observed(obj: &DynamicObject) -> bool {
    match (
        obj.data["status"]["observedGeneration"].as_i64(),
        obj.metadata.generation,
    ) {
        (Some(observed), Some(generation)) => observed >= generation,
        _ => true,
    }
}

/// The asked role (`spec.replicationState`).
fn asked(obj: &DynamicObject) -> &str {
    obj.data["spec"]["replicationState"].as_str().unwrap_or("")
}

/// Asks every replication for `role`; done when every `status.state` reports it.
pub async fn set_role(
    fence: &Fence<'_>,
    objects: Vec<ObjectRef<'_>>,
    role: Role,
) -> Result<Progress, KubeError> {
    let batch = Batch {
        objects,
        field: FIELD,
        deactivating: role == Role::Secondary,
    };
    let decide = |_: usize, obj: &DynamicObject| {
        let differs = !asked(obj).eq_ignore_ascii_case(role.spec_value());
        Ok(differs.then(|| json!({"spec": {"replicationState": role.spec_value()}})))
    };
    let waiting = |i: usize, obj: &DynamicObject| {
        (state(obj) != Some(role) || !observed(obj)).then(|| {
            let mut text = format!(
                "{}: state {} (asked {})",
                batch.objects[i],
                state_text(obj),
                role.spec_value()
            );
            if let Some(failed) = condition(obj, "Completed").filter(|c| c.status == "False") {
                text.push_str(&format!(", {}", failed.describe()));
            }
            text
        })
    };
    batch.run(fence, decide, waiting).await
}

/// One entry of `status.conditions`.
pub struct Condition<'o> {
    /// "True", "False" or "Unknown".
    pub status: &'o str,
    /// Machine-readable reason.
    pub reason: &'o str,
    /// Human message.
    pub message: &'o str,
    type_: &'o str,
}

impl Condition<'_> {
    fn describe(&self) -> String {
        let mut text = format!("{}={} ({})", self.type_, self.status, self.reason);
        if !self.message.is_empty() {
            text.push_str(&format!(": {}", self.message));
        }
        text
    }
}

/// The condition of `type_` in `status.conditions`.
pub fn condition<'o>(obj: &'o DynamicObject, type_: &str) -> Option<Condition<'o>> {
    let text = |c: &'o Value, k: &str| c[k].as_str().unwrap_or("");
    obj.data["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(type_))
        .map(|c| Condition {
            status: text(c, "status"),
            reason: text(c, "reason"),
            message: text(c, "message"),
            type_: text(c, "type"),
        })
}

/// Validated=False (prerequisites not met) or Completed=False (the last promote/demote/resync
/// failed) is ERROR, as is a volume not primary while workloads run on it; a role change in
/// progress, or a primary that is Degraded or Resyncing, is DEGRADED. A secondary reports
/// Degraded/Resyncing while it catches up: that is its normal standby life, not a problem.
pub fn judge(
    objects: &[(ObjectRef<'_>, DynamicObject)],
    workloads_running: bool,
) -> ComponentHealth {
    let mut worst = Health::Ok;
    let mut problems = Vec::new();
    let mut note = |health: Health, text: String| {
        worst = worse(worst, health);
        problems.push(text);
    };
    for (object, obj) in objects {
        let failed = ["Validated", "Completed"]
            .into_iter()
            .find_map(|t| condition(obj, t).filter(|c| c.status == "False"));
        let state = state(obj);
        if let Some(c) = failed {
            note(Health::Error, format!("{object}: {}", c.describe()));
        } else if workloads_running && state != Some(Role::Primary) {
            let text = format!("{object}: state {} while workloads run", state_text(obj));
            note(Health::Error, text);
        } else if state.is_none_or(|s| !asked(obj).eq_ignore_ascii_case(s.spec_value())) {
            let text = format!("{object}: state {} (asked {})", state_text(obj), asked(obj));
            note(Health::Degraded, text);
        } else if state == Some(Role::Primary) {
            for t in ["Degraded", "Resyncing"] {
                if let Some(c) = condition(obj, t).filter(|c| c.status == "True") {
                    note(Health::Degraded, format!("{object}: {}", c.describe()));
                }
            }
        }
    }
    component(worst, problems)
}
