//! How a simulated cluster judges a group's health: from the simulated status (ready replicas,
//! volume roles), the way the real one reads `status.readyReplicas` and VolumeReplication state,
//! with per-component overrides injected by tests.

use super::group::{GroupSim, VolumeRole};
use crate::k8s::{ComponentHealth, HealthReport};
use crate::store::Health;
use std::time::Duration;

/// Component names, as they appear in heartbeats and status.
pub const WORKLOADS: &str = "workloads";
/// See [`WORKLOADS`].
pub const VOLUMES: &str = "volumes";
/// See [`WORKLOADS`].
pub const NETWORK: &str = "network";
/// See [`WORKLOADS`].
pub const JOBS: &str = "jobs";

/// The report for `group` at `now` (the caller has settled it). Only resource families the group
/// has get a component; overrides replace (or add) a component whatever the status says.
pub(super) fn judge(group: &GroupSim, now: Duration) -> HealthReport {
    let mut report = HealthReport::default();
    if !group.workloads.is_empty() {
        report
            .components
            .insert(WORKLOADS.into(), workloads(group, now));
    }
    if !group.volumes.is_empty() {
        report.components.insert(VOLUMES.into(), volumes(group));
    }
    if !group.spec.network.is_empty() {
        // Annotations on or off are both healthy states (primary or standby).
        report.components.insert(NETWORK.into(), ok());
    }
    if !group.spec.cronjobs.is_empty() || !group.spec.flux.is_empty() {
        // Suspended is the standby state, not a fault (DESIGN 8: do not count it as unhealthy).
        report.components.insert(JOBS.into(), ok());
    }
    for (component, health) in &group.overrides {
        report.components.insert(
            component.clone(),
            ComponentHealth {
                health: *health,
                message: if *health == Health::Ok {
                    String::new()
                } else {
                    format!("{component} reported {health} (injected fault)")
                },
            },
        );
    }
    report
}

fn ok() -> ComponentHealth {
    ComponentHealth {
        health: Health::Ok,
        message: String::new(),
    }
}

/// Per workload scaled up: all ready is OK, some ready DEGRADED, none ready ERROR; the component
/// takes the worst. Workloads scaled to 0 are a healthy standby.
fn workloads(group: &GroupSim, now: Duration) -> ComponentHealth {
    let mut worst = Health::Ok;
    let mut problems = Vec::new();
    for w in group.workloads.iter().filter(|w| w.replicas > 0) {
        let ready = w.ready(now, group.spec.ready_delay);
        let health = if ready == w.replicas {
            continue;
        } else if ready > 0 {
            Health::Degraded
        } else {
            Health::Error
        };
        worst = worse(worst, health);
        problems.push(format!(
            "{}/{}: {ready}/{} ready",
            w.kind, w.name, w.replicas
        ));
    }
    ComponentHealth {
        health: worst,
        message: problems.join(", "),
    }
}

/// A volume changing role is DEGRADED (resyncing); one that cannot reach its asked role (a fault
/// on the csi-addons side), or that is not primary while workloads run on it, is ERROR.
fn volumes(group: &GroupSim) -> ComponentHealth {
    let workloads_running = group.workloads.iter().any(|w| w.replicas > 0);
    let mut worst = Health::Ok;
    let mut problems = Vec::new();
    for v in &group.volumes {
        let (health, problem) = if v.state != v.desired && v.stuck {
            (
                Health::Error,
                format!("{} is not progressing", v.transition()),
            )
        } else if workloads_running && v.state != VolumeRole::Primary {
            let problem = format!("volume {} is {} while workloads run", v.name, v.state);
            (Health::Error, problem)
        } else if v.state != v.desired {
            (Health::Degraded, v.transition())
        } else {
            continue;
        };
        worst = worse(worst, health);
        problems.push(problem);
    }
    ComponentHealth {
        health: worst,
        message: problems.join(", "),
    }
}

fn worse(a: Health, b: Health) -> Health {
    let rank = |h: Health| match h {
        Health::Ok => 0,
        Health::Degraded => 1,
        Health::Error => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}
