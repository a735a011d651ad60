//! How long a workload can take to stop, from its pod template: the check that a group's
//! deactivation budget (`timeouts.deactivation`) covers it. A cut-off primary starts fencing
//! before others may take over and has only this budget to get its last pod gone; a budget
//! shorter than the workloads need lets the new primary start beside the old pods.

use super::fencing::annotation;
use super::health::component;
use super::objects::{ObjectRef, STATEFUL_SET};
use super::workloads::{REPLICAS_ANNOTATION, spec_replicas};
use crate::duration::GoDuration;
use crate::k8s::ComponentHealth;
use crate::store::Health;
use kube::api::DynamicObject;
use std::time::Duration;

/// Kubernetes' `terminationGracePeriodSeconds` when the template sets none.
pub const DEFAULT_GRACE_SECONDS: u64 = 30;

/// The longest scaling `obj` to 0 can take and why: its pods' grace period (preStop hooks run
/// within it), times the replicas for a StatefulSet whose pods stop one at a time
/// (`podManagementPolicy: OrderedReady`, the default). A workload at 0 counts the replicas it
/// remembers for its next activation.
pub fn stop_time(object: &ObjectRef<'_>, obj: &DynamicObject) -> (Duration, String) {
    let template = &obj.data["spec"]["template"]["spec"];
    let grace = template["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap_or(DEFAULT_GRACE_SECONDS);
    let ordered = object.kind.label == STATEFUL_SET.label
        && obj.data["spec"]["podManagementPolicy"]
            .as_str()
            .is_none_or(|p| p == "OrderedReady");
    let remembered = annotation(obj, REPLICAS_ANNOTATION)
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(0);
    let replicas = u64::try_from(spec_replicas(obj))
        .unwrap_or(0)
        .max(remembered);
    if ordered && replicas > 1 {
        let total = Duration::from_secs(grace.saturating_mul(replicas));
        let why = format!("{replicas} pods one at a time x {grace}s grace period");
        (total, why)
    } else {
        (Duration::from_secs(grace), format!("{grace}s grace period"))
    }
}

/// DEGRADED, naming each workload and the budget to set, when a workload can take longer to
/// stop than `budget`; OK with no message otherwise.
pub fn judge_budget(
    objects: &[(ObjectRef<'_>, DynamicObject)],
    budget: Duration,
) -> ComponentHealth {
    let mut need = Duration::ZERO;
    let mut problems = Vec::new();
    for (object, obj) in objects {
        let (takes, why) = stop_time(object, obj);
        if takes > budget {
            problems.push(format!(
                "{object} may take {} to stop ({why})",
                GoDuration(takes)
            ));
            need = need.max(takes);
        }
    }
    if problems.is_empty() {
        return component(Health::Ok, problems);
    }
    problems.push(format!(
        "but timeouts.deactivation is {}: a primary cut off from DynamoDB may still have pods when another cluster takes over; raise timeouts.deactivation to at least {} (and timeouts.transitoryState with it)",
        GoDuration(budget),
        GoDuration(need)
    ));
    component(Health::Degraded, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::{ApiResource, GroupVersionKind};
    use serde_json::json;

    fn object(kind: &str, data: serde_json::Value) -> DynamicObject {
        let gvk = GroupVersionKind::gvk("apps", "v1", kind);
        let mut o = DynamicObject::new("db", &ApiResource::from_gvk(&gvk)).data(data);
        o.metadata.namespace = Some("shop".into());
        o
    }

    fn of(kind: &str, obj: &DynamicObject) -> Duration {
        let kind = if kind == "StatefulSet" {
            &super::super::objects::STATEFUL_SET
        } else {
            &super::super::objects::DEPLOYMENT
        };
        let r = ObjectRef {
            kind,
            namespace: "shop",
            name: "db",
        };
        stop_time(&r, obj).0
    }

    #[test]
    fn an_ordered_statefulset_stops_one_pod_at_a_time_and_a_deployment_all_at_once() {
        let sts = object(
            "StatefulSet",
            json!({"spec": {"replicas": 3, "template": {"spec": {"terminationGracePeriodSeconds": 40}}}}),
        );
        assert_eq!(of("StatefulSet", &sts), Duration::from_secs(120));
        let parallel = object(
            "StatefulSet",
            json!({"spec": {"replicas": 3, "podManagementPolicy": "Parallel", "template": {"spec": {}}}}),
        );
        assert_eq!(of("StatefulSet", &parallel), Duration::from_secs(30));
        let deploy = object(
            "Deployment",
            json!({"spec": {"replicas": 5, "template": {"spec": {}}}}),
        );
        assert_eq!(of("Deployment", &deploy), Duration::from_secs(30));
    }

    #[test]
    fn a_standby_statefulset_counts_the_replicas_it_will_run() {
        let mut sts = object(
            "StatefulSet",
            json!({"spec": {"replicas": 0, "template": {"spec": {}}}}),
        );
        sts.metadata.annotations =
            Some([(REPLICAS_ANNOTATION.to_string(), "4".to_string())].into());
        assert_eq!(of("StatefulSet", &sts), Duration::from_secs(120));
    }

    #[test]
    fn a_budget_shorter_than_a_workload_needs_is_degraded_naming_the_numbers_and_the_fix() {
        let kind = &STATEFUL_SET;
        let r = ObjectRef {
            kind,
            namespace: "shop",
            name: "db",
        };
        let sts = object(
            "StatefulSet",
            json!({"spec": {"replicas": 3, "template": {"spec": {"terminationGracePeriodSeconds": 40}}}}),
        );
        let judged = judge_budget(&[(r, sts.clone())], Duration::from_secs(60));
        assert_eq!(judged.health, Health::Degraded);
        for part in [
            "statefulset/db in shop may take 2m",
            "3 pods one at a time x 40s",
            "timeouts.deactivation is 1m:",
            "at least 2m ",
        ] {
            assert!(
                judged.message.contains(part),
                "{} lacks {part}",
                judged.message
            );
        }
        let judged = judge_budget(&[(r, sts)], Duration::from_secs(120));
        assert_eq!(judged.health, Health::Ok);
        assert!(judged.message.is_empty());
    }
}
