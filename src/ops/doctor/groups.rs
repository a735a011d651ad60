//! Every group in the table: heartbeats fresh from every cluster the doctor was pointed at
//! (the status listing's own staleness, `ops::status`), and timings that satisfy the fencing
//! arithmetic (the protocol's own validation, `protocol::validate_timeouts`, and the liveness
//! budget's, `controller::liveness::budget_problem`).
//!
//! A healthy table gives one line per area whatever the number of groups; each failing group
//! gets its own line, up to [`MAX_GROUP_LINES`].

use super::{Area, Check, split_fix};
use crate::controller::liveness::budget_problem;
use crate::duration::GoDuration;
use crate::ops::status::StatusList;
use crate::protocol::validate_timeouts;
use crate::store::GroupConfig;
use std::collections::BTreeMap;
use std::time::Duration;

/// Failing groups listed one by one; the rest are counted in one more line.
pub const MAX_GROUP_LINES: usize = 20;

/// A cluster the doctor was pointed at, with what its controller's settings add to the
/// arithmetic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterTimings {
    /// CLUSTER_NAME.
    pub cluster: String,
    /// The kubeconfig context it runs in.
    pub context: String,
    /// LIVENESS_BUDGET, when set.
    pub liveness_budget: Option<Duration>,
    /// LEASE_DURATION, when leader election is on.
    pub lease: Option<Duration>,
}

/// Keeps the first [`MAX_GROUP_LINES`] lines and sums up the others in one more line of the
/// same area and status.
fn capped(mut lines: Vec<Check>, what: &str) -> Vec<Check> {
    if lines.len() > MAX_GROUP_LINES {
        let more = lines.len() - MAX_GROUP_LINES;
        let mut summary = lines[MAX_GROUP_LINES].clone();
        lines.truncate(MAX_GROUP_LINES);
        summary.name = format!("{what}: {more} more groups");
        summary.detail = format!("{more} more groups like the ones above");
        summary.fix = Some("kubectl failover status -A -o wide lists every group".into());
        lines.push(summary);
    }
    lines
}

/// Heartbeats: every group has a fresh record from every cluster in `clusters` (CLUSTER_NAME ->
/// context). `listing` is the status listing, or why it could not be read.
pub fn judge_heartbeats(
    listing: &Result<StatusList, String>,
    clusters: &BTreeMap<String, String>,
    operator_id: &str,
) -> Vec<Check> {
    let list = match listing {
        Err(e) => {
            return vec![Check::fail(
                Area::Heartbeats,
                "heartbeats",
                format!("could not list the groups: {e}"),
                "fix the table check above first, then run the doctor again",
            )];
        }
        Ok(list) => list,
    };
    let mut checks: Vec<Check> = list
        .warnings
        .iter()
        .map(|w| {
            Check::warn(
                Area::Heartbeats,
                "unreadable record",
                w.clone(),
                "fix or delete that item",
            )
        })
        .collect();
    if list.groups.is_empty() {
        checks.push(Check::skipped(
            Area::Heartbeats,
            "heartbeats",
            format!("no FailoverGroups of operator {operator_id:?} in the table yet"),
        ));
        return checks;
    }
    let mut failures = Vec::new();
    for g in &list.groups {
        let timeout = g.timeouts.heartbeat;
        let problems: Vec<(String, String)> = clusters
            .iter()
            .filter_map(|(cluster, context)| {
                let c = g.clusters.iter().find(|c| c.name == *cluster);
                let why = match c {
                    None => format!("no heartbeat record from {cluster}"),
                    Some(c) if c.heartbeat_stale => match c.heartbeat_age_seconds {
                        Some(age) => format!(
                            "{cluster}'s heartbeat is {age}s old, older than timeouts.heartbeat {timeout}"
                        ),
                        None => format!("{cluster} never wrote a heartbeat"),
                    },
                    Some(_) => return None,
                };
                Some((why, context.clone()))
            })
            .collect();
        if problems.is_empty() {
            continue;
        }
        let (whys, contexts): (Vec<String>, Vec<String>) = problems.into_iter().unzip();
        let fixes: Vec<String> = contexts
            .iter()
            .map(|ctx| {
                format!(
                    "kubectl --context {ctx} -n {ns} get failovergroup {name} (applied there?) and the controller's logs in {ctx}",
                    ns = g.namespace,
                    name = g.name
                )
            })
            .collect();
        failures.push(Check::fail(
            Area::Heartbeats,
            format!("heartbeats of {}/{}", g.namespace, g.name),
            whys.join("; "),
            fixes.join("; "),
        ));
    }
    if failures.is_empty() {
        let names: Vec<&str> = clusters.keys().map(String::as_str).collect();
        checks.push(Check::pass(
            Area::Heartbeats,
            "heartbeats",
            format!(
                "{} groups: fresh heartbeats from {} within each group's timeouts.heartbeat",
                list.groups.len(),
                names.join(", ")
            ),
        ));
    }
    checks.extend(capped(failures, "heartbeats"));
    checks
}

/// Timings: every group's CONFIG passes the protocol's validation, each cluster's liveness
/// budget brings a stuck controller back before `timeouts.heartbeat`, and a replica crash hands
/// the Lease over in less than half of it (the controller's `LeaseTooLong` warning).
pub fn judge_timings(
    configs: &Result<Vec<GroupConfig>, String>,
    clusters: &[ClusterTimings],
) -> Vec<Check> {
    let configs = match configs {
        Err(e) => {
            return vec![Check::fail(
                Area::Timings,
                "timings",
                format!("could not list the groups: {e}"),
                "fix the table check above first, then run the doctor again",
            )];
        }
        Ok(c) if c.is_empty() => {
            return vec![Check::skipped(
                Area::Timings,
                "timings",
                "no FailoverGroups in the table yet",
            )];
        }
        Ok(c) => c,
    };
    let mut failures = Vec::new();
    let mut warnings = Vec::new();
    for config in configs {
        let name = format!("timings of {}", config.group);
        if let Err(e) = validate_timeouts(config) {
            let (detail, fix) = split_fix(&e.to_string());
            let fix = fix.unwrap_or_default();
            failures.push(Check::fail(Area::Timings, name, detail, fix_spec(&fix)));
            continue;
        }
        let interval = config.heartbeat_interval.get();
        let heartbeat = config.timeouts.heartbeat.get();
        for c in clusters {
            if let Some(budget) = c.liveness_budget
                && let Some(problem) =
                    budget_problem(interval, heartbeat, config.self_fencing, budget)
            {
                let (detail, fix) = split_fix(&problem);
                failures.push(Check::fail(
                    Area::Timings,
                    format!("{name} in {}", c.context),
                    format!("{}: {detail}", c.cluster),
                    fix.unwrap_or_default(),
                ));
            }
            // The rule of controller::groups' LeaseTooLong warning (private there): a crashed
            // leader's replacement acts only after one lease, during which nothing heartbeats.
            if let Some(lease) = c.lease.filter(|l| *l * 2 > heartbeat) {
                warnings.push(Check::warn(
                    Area::Timings,
                    format!("{name} in {}", c.context),
                    format!(
                        "LEASE_DURATION {} of {} is more than half of timeouts.heartbeat {}: if its leading replica crashes, the other takes over only after the lease, and the other clusters may fail the group over meanwhile",
                        GoDuration(lease),
                        c.cluster,
                        GoDuration(heartbeat)
                    ),
                    format!("lower LEASE_DURATION in {} or raise timeouts.heartbeat", c.context),
                ));
            }
        }
    }
    let mut checks = Vec::new();
    if failures.is_empty() && warnings.is_empty() {
        let budgets: Vec<String> = clusters
            .iter()
            .filter_map(|c| {
                c.liveness_budget
                    .map(|b| format!("{} LIVENESS_BUDGET {}", c.cluster, GoDuration(b)))
            })
            .collect();
        checks.push(Check::pass(
            Area::Timings,
            "timings",
            format!(
                "{} groups satisfy the fencing arithmetic (timeouts.heartbeat >= 4 x heartbeatInterval, transitoryState > heartbeat + deactivation + 2 x interval{}{})",
                configs.len(),
                if budgets.is_empty() { "" } else { ", liveness budgets " },
                budgets.join(", ")
            ),
        ));
    }
    checks.extend(capped(failures, "timings"));
    checks.extend(capped(warnings, "leases"));
    checks
}

/// The protocol's fix names CONFIG's fields; the doctor's reader changes them in the
/// FailoverGroup (the controller brings the spec into CONFIG).
fn fix_spec(fix: &str) -> String {
    format!("{fix} (in the FailoverGroup's spec, in every cluster)")
}
