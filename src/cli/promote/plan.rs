//! What `promote` shows before it asks: the group's current topology and, per cluster, the
//! ordered steps the agents will take (what is switched, scaled, suspended, promoted). The
//! resources are named when the FailoverGroup could be read from the kubeconfig context;
//! otherwise the steps are described by kind. Pure: text from a snapshot.

use crate::cli::color::Palette;
use crate::cli::output::{Table, format_signed_age};
use crate::crd::{FailoverGroupSpec, WorkloadKind};
use crate::ops::status::{GroupView, group_view};
use crate::store::{FailoverMode, GroupSnapshot};
use chrono::{DateTime, Utc};

/// What the plan is for.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// The group as read from the store.
    pub snapshot: &'a GroupSnapshot,
    /// The cluster to become PRIMARY.
    pub target: &'a str,
    /// CONSISTENCY or UPTIME.
    pub mode: FailoverMode,
    /// Do not wait for the source's acknowledgement.
    pub force: bool,
    /// The FailoverGroup's spec, when it could be read from a cluster.
    pub spec: Option<&'a FailoverGroupSpec>,
}

/// The group's clusters as a small table (role, health, heartbeat age), indented.
pub fn topology(view: &GroupView, palette: Palette) -> String {
    let mut table = Table::new(["cluster", "role", "health", "heartbeat"]);
    for c in &view.clusters {
        let heartbeat = match c.heartbeat_age_seconds {
            None => "never".to_string(),
            Some(age) if c.heartbeat_stale => format!("{} (stale)", format_signed_age(age)),
            Some(age) => format_signed_age(age),
        };
        table.row([
            c.name.clone(),
            c.role.as_str().to_string(),
            c.health.map_or("UNKNOWN", |h| h.as_str()).to_string(),
            heartbeat,
        ]);
    }
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = table.write_to(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let suspended = if view.suspended {
        palette.warn("suspended")
    } else {
        "not suspended".to_string()
    };
    let mut out = format!(
        "{}: owner {}, version {}, automatic failover {suspended}\n",
        palette.bold(&format!("{}/{}", view.namespace, view.name)),
        view.owner_cluster,
        view.version,
    );
    for line in text.lines() {
        out.push_str("  ");
        out.push_str(&crate::cli::color::paint_health(line, palette));
        out.push('\n');
    }
    out
}

/// The full text for one group: topology, then the steps per cluster in order.
pub fn render(input: &PlanInput<'_>, now: DateTime<Utc>, palette: Palette) -> String {
    let view = group_view(input.snapshot, now);
    let source = view.owner_cluster.clone();
    let target = input.target;
    let mut out = topology(&view, palette);
    out.push_str(&format!(
        "  plan: {} {source} -> {target}{}\n",
        input.mode,
        if input.force { " (forced)" } else { "" }
    ));
    let r = Resources::from(input.spec);
    let stop = source_steps(&source, &r, input.force);
    let start = target_steps(target, &r);
    let flip = format!(
        "DynamoDB: ownership {source} -> {target} in one conditional write (version and lock checked), history recorded"
    );
    let sections: Vec<(String, Vec<String>)> = match input.mode {
        FailoverMode::Consistency => vec![
            (format!("on {source} (PRIMARY -> STANDBY)"), stop),
            (flip, Vec::new()),
            (format!("on {target} (STANDBY -> PRIMARY)"), start),
        ],
        // Availability first: the target serves before the source stops.
        FailoverMode::Uptime => vec![
            (format!("on {target} (STANDBY -> PRIMARY)"), start),
            (flip, Vec::new()),
            (format!("on {source} (PRIMARY -> STANDBY)"), stop),
        ],
    };
    for (i, (title, steps)) in sections.iter().enumerate() {
        out.push_str(&format!("  {}. {title}\n", i + 1));
        for (j, step) in steps.iter().enumerate() {
            out.push_str(&format!("     {}.{} {step}\n", i + 1, j + 1));
        }
    }
    if input.spec.is_none() {
        out.push_str(&format!(
            "  {}\n",
            palette.dim("(resources by kind: the FailoverGroup could not be read from the kubeconfig context; -v says why)")
        ));
    }
    out
}

/// The group's resources by what happens to them, named when the spec is known.
struct Resources {
    network: String,
    scaled: String,
    suspended: String,
    volumes: String,
}

impl Resources {
    fn from(spec: Option<&FailoverGroupSpec>) -> Self {
        let Some(spec) = spec else {
            return Resources {
                network: "Ingresses / VirtualServices".into(),
                scaled: "Deployments and StatefulSets".into(),
                suspended: "CronJobs and Flux HelmReleases / Kustomizations".into(),
                volumes: "VolumeReplications".into(),
            };
        };
        let list = |items: Vec<String>| {
            if items.is_empty() {
                "none".to_string()
            } else {
                items.join(", ")
            }
        };
        let workloads = |pick: fn(WorkloadKind) -> bool| {
            spec.workloads
                .iter()
                .filter(|w| pick(w.kind))
                .map(|w| format!("{:?}/{}", w.kind, w.name))
                .collect::<Vec<_>>()
        };
        let mut suspended = workloads(|k| k == WorkloadKind::CronJob);
        suspended.extend(
            spec.flux_resources
                .iter()
                .map(|f| format!("{:?}/{}", f.kind, f.name)),
        );
        Resources {
            network: list(
                spec.network_resources
                    .iter()
                    .map(|n| format!("{:?}/{}", n.kind, n.name))
                    .collect(),
            ),
            scaled: list(workloads(|k| k != WorkloadKind::CronJob)),
            suspended: list(suspended),
            volumes: list(
                spec.workloads
                    .iter()
                    .flat_map(|w| w.volume_replications.iter().cloned())
                    .collect(),
            ),
        }
    }
}

fn source_steps(source: &str, r: &Resources, force: bool) -> Vec<String> {
    let mut steps = vec![
        format!("switch traffic off: {}", r.network),
        format!("scale to 0 (replica counts remembered): {}", r.scaled),
        format!("suspend: {}", r.suspended),
        format!("demote volumes to secondary and wait: {}", r.volumes),
    ];
    if force {
        steps.push(format!(
            "not waited for: {source} may be unreachable; the target waits until {source}'s heartbeat has been silent for timeouts.heartbeat + timeouts.deactivation (it has fenced itself and stopped by then)"
        ));
    } else {
        steps.push(format!("{source} acknowledges in its heartbeat record"));
    }
    steps
}

fn target_steps(_target: &str, r: &Resources) -> Vec<String> {
    vec![
        format!("promote volumes to primary: {}", r.volumes),
        format!("scale up to the remembered replicas: {}", r.scaled),
        format!("resume: {}", r.suspended),
        "wait until every workload is ready".to_string(),
        format!("switch traffic on: {}", r.network),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ClusterState, ClusterStatus, GroupConfig, GroupId, Health};
    use std::collections::BTreeMap;

    fn snapshot() -> GroupSnapshot {
        let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = GroupId::new("shop", "web").unwrap();
        let cluster = |name: &str, state| ClusterStatus {
            cluster_name: name.into(),
            health: Health::Ok,
            state,
            last_heartbeat: Some(now),
            heartbeat_seq: Some(1),
            components: BTreeMap::new(),
            ack: None,
            fenced: false,
        };
        GroupSnapshot {
            config: GroupConfig::new("op", id, "east", now),
            clusters: vec![
                cluster("east", ClusterState::Primary),
                cluster("west", ClusterState::Standby),
            ],
            lock: None,
        }
    }

    fn plan(mode: FailoverMode, force: bool) -> String {
        let snap = snapshot();
        let input = PlanInput {
            snapshot: &snap,
            target: "west",
            mode,
            force,
            spec: None,
        };
        render(&input, snap.config.last_updated.unwrap(), Palette::PLAIN)
    }

    #[test]
    fn consistency_stops_the_source_before_the_flip_and_starts_the_target_after() {
        let text = plan(FailoverMode::Consistency, false);
        let stop = text.find("on east (PRIMARY -> STANDBY)").unwrap();
        let flip = text.find("ownership east -> west").unwrap();
        let start = text.find("on west (STANDBY -> PRIMARY)").unwrap();
        assert!(stop < flip && flip < start, "{text}");
        assert!(text.contains("east acknowledges"), "{text}");
        assert!(text.contains("CONSISTENCY east -> west"), "{text}");
    }

    #[test]
    fn uptime_starts_the_target_first_and_force_explains_what_is_not_waited_for() {
        let text = plan(FailoverMode::Uptime, true);
        let start = text.find("on west (STANDBY -> PRIMARY)").unwrap();
        let stop = text.find("on east (PRIMARY -> STANDBY)").unwrap();
        assert!(start < stop, "{text}");
        assert!(text.contains("(forced)") && text.contains("silent for timeouts.heartbeat"));
    }
}
