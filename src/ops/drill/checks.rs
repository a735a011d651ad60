//! The pre-checks of a drill: what is read from the table before anything is written. A drill
//! stops a serving owner on purpose, so it asks more than `promote` does: the group must not
//! be suspended (someone is working on it), both clusters must report OK, and both must be
//! seen heartbeating, judged by `heartbeatSeq` changing as every agent judges liveness
//! (docs/protocol.md), never by comparing another machine's timestamp with our clock.

use super::{DrillError, format_secs, seconds};
use crate::store::{ClusterStatus, GroupSnapshot, Health};
use serde::Serialize;
use std::time::Duration;

/// What `promote`'s own checks (`cli::promote::check`) said of moving the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromoteCheck {
    /// The request can be written.
    Go,
    /// The target owns the group already.
    AlreadyThere,
    /// Refused, with promote's message (transition or lock in flight, unknown target, ...).
    Refused(String),
}

/// One check and its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// `namespace/name`.
    pub group: String,
    /// What was checked.
    pub check: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found, and for a failure what to do.
    pub detail: String,
}

impl Check {
    fn new(group: &str, check: &str, ok: bool, detail: String) -> Self {
        Check {
            group: group.to_string(),
            check: check.to_string(),
            ok,
            detail,
        }
    }
}

/// The checks that need one read of the group: existence, suspension, promote's verdict and
/// the reported health of the owner and of the target.
pub fn assess(snapshot: &GroupSnapshot, to: &str, promote: &PromoteCheck) -> Vec<Check> {
    let config = &snapshot.config;
    let group = config.group.to_string();
    let owner = config.owner_cluster.as_str();
    let mut checks = vec![Check::new(
        &group,
        "group",
        true,
        format!("owner {owner}, CONFIG version {}", config.version),
    )];
    checks.push(if config.suspended {
        let why = config
            .suspension_reason
            .as_deref()
            .map_or(String::new(), |r| format!(" ({r})"));
        Check::new(
            &group,
            "not suspended",
            false,
            format!(
                "automatic failover is suspended{why}: someone is working on the group; drill once that is done and `kubectl failover resume {group}` has turned it back on"
            ),
        )
    } else {
        Check::new(
            &group,
            "not suspended",
            true,
            "automatic failover on".to_string(),
        )
    });
    checks.push(match promote {
        PromoteCheck::Go => Check::new(
            &group,
            "planned failover",
            true,
            format!("{owner} -> {to} can be requested (no transition or lock in flight)"),
        ),
        PromoteCheck::AlreadyThere => Check::new(
            &group,
            "planned failover",
            false,
            DrillError::AlreadyOnTarget {
                group: group.clone(),
                to: to.to_string(),
            }
            .to_string(),
        ),
        PromoteCheck::Refused(why) => Check::new(&group, "planned failover", false, why.clone()),
    });
    if owner != to {
        checks.push(health(
            snapshot,
            "owner health",
            owner,
            "stop it on purpose",
        ));
    }
    checks.push(health(
        snapshot,
        "target health",
        to,
        "move the group onto it",
    ));
    checks
}

fn health(snapshot: &GroupSnapshot, check: &str, cluster: &str, drill_would: &str) -> Check {
    let group = snapshot.config.group.to_string();
    let record = snapshot.clusters.iter().find(|c| c.cluster_name == cluster);
    let fix = format!("fix it first (`kubectl failover status {group}` shows its components)");
    match record {
        None => Check::new(
            &group,
            check,
            false,
            format!(
                "{cluster} has no heartbeat record in {group}: its controller has never run the group; check the name and the controller there"
            ),
        ),
        Some(c) if c.fenced => Check::new(
            &group,
            check,
            false,
            format!(
                "{cluster} has fenced itself (it could not reach DynamoDB): a drill would {drill_would} while it is cut off; {fix}"
            ),
        ),
        Some(c) if c.health != Health::Ok => Check::new(
            &group,
            check,
            false,
            format!(
                "{cluster} reports {}: a drill would {drill_would} while it has problems; {fix}",
                c.health
            ),
        ),
        Some(_) => Check::new(&group, check, true, format!("{cluster} reports OK")),
    }
}

/// Whether a cluster wrote a heartbeat between two reads: its `heartbeatSeq` changed, or, for a
/// record written by a tool that keeps no sequence, its `lastHeartbeat` text changed.
pub fn advanced(first: Option<&ClusterStatus>, latest: Option<&ClusterStatus>) -> bool {
    match (first, latest) {
        (Some(a), Some(b)) => match (a.heartbeat_seq, b.heartbeat_seq) {
            (Some(x), Some(y)) => x != y,
            _ => a.last_heartbeat != b.last_heartbeat,
        },
        _ => false,
    }
}

/// The liveness check of one cluster after watching it for `waited`.
pub fn heartbeat_check(
    group: &str,
    check: &str,
    cluster: &str,
    first: Option<&ClusterStatus>,
    latest: Option<&ClusterStatus>,
    waited: Duration,
) -> Check {
    let seq = |c: Option<&ClusterStatus>| {
        c.and_then(|c| c.heartbeat_seq)
            .map_or("none".to_string(), |s| s.to_string())
    };
    if advanced(first, latest) {
        return Check::new(
            group,
            check,
            true,
            format!(
                "{cluster} heartbeats (seq {} -> {})",
                seq(first),
                seq(latest)
            ),
        );
    }
    Check::new(
        group,
        check,
        false,
        format!(
            "{cluster}'s heartbeat did not change in {} (seq {}): its controller is down, has no leader or cannot reach DynamoDB; a drill needs the agents of both clusters running",
            format_secs(seconds(waited)),
            seq(latest)
        ),
    )
}
