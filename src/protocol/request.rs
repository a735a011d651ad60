//! Asking for a transition: `request_transition` builds the CONFIG a person's request (`promote`,
//! a Failover resource) writes with a compare-and-set, or refuses it with a reason. Automatic
//! failover builds its request with the same function.

use super::policy::validate_timeouts;
use super::refusal::Refusal;
use crate::store::{FailoverMode, GroupConfig, GroupSnapshot, Phase, Transition};
use chrono::{DateTime, Utc};

/// A request for a transition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransitionRequest {
    /// Cluster that is to become the owner.
    pub target: String,
    /// CONSISTENCY (data first) or UPTIME (availability first).
    pub mode: FailoverMode,
    /// Do not wait for the source's acknowledgement once its heartbeat has lapsed; also allows
    /// UPTIME for a group with volume replications.
    pub force: bool,
    /// Why, for history.
    pub reason: String,
    /// Who asks (a user, a Failover resource, or a cluster for automatic failovers).
    pub initiator: String,
    /// Unique id (the Failover resource's name, or a generated one).
    pub id: String,
    /// Wall time of the request (history's start time and sort key).
    pub wall_now: DateTime<Utc>,
    /// Whether the group has volume replications (UPTIME is refused for them unless forced).
    pub has_volume_replications: bool,
    /// Set by automatic failover; false for people.
    pub automatic: bool,
}

/// The CONFIG to write with `update_config(snapshot.config.version, ..)` to request a
/// transition, or why not. Refusals, in the order checked: invalid timeouts, a transition in
/// flight, target already owner (`Refusal::is_no_op`), unknown target (no `CLUSTER#` record),
/// UPTIME with volume replications unless forced. A lost compare-and-set means someone else
/// changed CONFIG first: read again and ask again.
pub fn request_transition(
    snapshot: &GroupSnapshot,
    request: &TransitionRequest,
) -> Result<GroupConfig, Refusal> {
    let cfg = &snapshot.config;
    let group = || cfg.group.clone();
    validate_timeouts(cfg)?;
    if let Some(t) = &cfg.transition {
        return Err(Refusal::TransitionInFlight {
            group: group(),
            id: t.id.clone(),
            from: t.source.clone(),
            to: t.target.clone(),
            phase: t.phase,
        });
    }
    if cfg.owner_cluster == request.target {
        return Err(Refusal::AlreadyPrimary {
            group: group(),
            cluster: request.target.clone(),
        });
    }
    if !snapshot
        .clusters
        .iter()
        .any(|c| c.cluster_name == request.target)
    {
        return Err(Refusal::UnknownTarget {
            group: group(),
            target: request.target.clone(),
            known: snapshot
                .clusters
                .iter()
                .map(|c| c.cluster_name.clone())
                .collect(),
        });
    }
    if request.mode == FailoverMode::Uptime && request.has_volume_replications && !request.force {
        return Err(Refusal::UptimeWithVolumes { group: group() });
    }
    let mut next = cfg.clone();
    next.last_updated = Some(request.wall_now);
    next.transition = Some(Transition {
        id: request.id.clone(),
        source: cfg.owner_cluster.clone(),
        target: request.target.clone(),
        mode: request.mode,
        force: request.force,
        automatic: request.automatic,
        reason: request.reason.clone(),
        initiator: request.initiator.clone(),
        phase: Phase::Requested,
        requested_at: request.wall_now,
        source_stopped_at: None,
        drill: false,
    });
    Ok(next)
}
