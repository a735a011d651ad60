//! Automatic failover: a standby that has itself observed the owner silent for
//! `timeouts.heartbeat` (or reporting ERROR for `timeouts.unhealthyPrimary`) requests a forced
//! CONSISTENCY transition to the best standby. Any standby may write the request; the
//! compare-and-set lets exactly one win.

use super::decision::{Blocked, FailoverCause, Intent, Note};
use super::facts::LocalFacts;
use super::observe::Observations;
use super::policy::{GroupPolicy, Timings};
use super::refusal::Refusal;
use super::request::{TransitionRequest, request_transition};
use crate::store::{FailoverMode, GroupSnapshot, Health};
use std::time::Duration;

/// Why the owner should be replaced, from this agent's own observations only.
fn cause(
    snap: &GroupSnapshot,
    obs: &Observations,
    local: &LocalFacts,
    timings: &Timings,
) -> Option<FailoverCause> {
    let owner = &snap.config.owner_cluster;
    let unchanged_for = obs.heartbeat_unchanged_for(owner, local.now);
    if unchanged_for >= timings.heartbeat {
        return Some(FailoverCause::HeartbeatLapsed {
            owner: owner.clone(),
            unchanged_for,
        });
    }
    obs.error_for(owner, local.now)
        .filter(|e| *e >= timings.unhealthy)
        .map(|error_for| FailoverCause::Unhealthy {
            owner: owner.clone(),
            error_for,
        })
}

/// Whether the owner is dead and went silent less than `timeouts.heartbeat` after it was handed
/// the group (`since` ago): it never really served (typically a failover target that died
/// during or just after the flip). The cool-down keeps a group from bouncing between clusters
/// that serve; holding back the failover away from this one would only leave the group
/// unserved for the whole cool-down.
fn silent_since_handover(cause: &FailoverCause, since: Duration, timings: &Timings) -> bool {
    match cause {
        FailoverCause::HeartbeatLapsed { unchanged_for, .. } => {
            unchanged_for.saturating_add(timings.heartbeat) >= since
        }
        FailoverCause::Unhealthy { .. } => false,
    }
}

/// The best standby: healthy (OK, then DEGRADED; never ERROR) and alive (heartbeat seen changing
/// within `timeouts.heartbeat`), then in the policy's preference order, then by name.
pub(crate) fn best_target(
    snap: &GroupSnapshot,
    obs: &Observations,
    policy: &GroupPolicy,
    timings: &Timings,
    now: std::time::Duration,
) -> Option<String> {
    let owner = &snap.config.owner_cluster;
    snap.clusters
        .iter()
        .filter(|c| c.cluster_name != *owner && c.health != Health::Error)
        .filter(|c| obs.beat(&c.cluster_name).is_some())
        .filter(|c| obs.heartbeat_unchanged_for(&c.cluster_name, now) < timings.heartbeat)
        .min_by_key(|c| {
            let health = u8::from(c.health != Health::Ok);
            (health, policy.rank(&c.cluster_name), c.cluster_name.clone())
        })
        .map(|c| c.cluster_name.clone())
}

/// The automatic-failover request this agent writes, if one is due and allowed, with a note
/// saying why (or why not). Only called with no transition in flight.
pub(crate) fn automatic(
    snap: &GroupSnapshot,
    obs: &Observations,
    local: &LocalFacts,
    policy: &GroupPolicy,
    timings: &Timings,
) -> (Option<Intent>, Option<Note>) {
    let cfg = &snap.config;
    if cfg.owner_cluster == local.me {
        return (None, None);
    }
    let Some(cause) = cause(snap, obs, local, timings) else {
        return (None, None);
    };
    let blocked = |blocked| {
        (
            None,
            Some(Note::FailoverBlocked {
                cause: cause.clone(),
                blocked,
            }),
        )
    };
    if !snap
        .clusters
        .iter()
        .any(|c| c.cluster_name == cfg.owner_cluster)
    {
        // An owner that never wrote a heartbeat (or left the group) is not presumed dead: nobody
        // guesses; a person promotes.
        let refusal = Refusal::OwnerUnknown {
            group: cfg.group.clone(),
            owner: cfg.owner_cluster.clone(),
        };
        return (None, Some(Note::Refused(refusal)));
    }
    if cfg.suspended {
        return blocked(Blocked::Suspended {
            reason: cfg.suspension_reason.clone(),
        });
    }
    if let Some(since) = obs.since_handover(local.now)
        && since < timings.cooldown
        && !silent_since_handover(&cause, since, timings)
    {
        return blocked(Blocked::Cooldown {
            remaining: timings.cooldown - since,
        });
    }
    // An agent that (re)started recently cannot know whether a handover happened just before it
    // started: the cool-down lives in memory. For an unhealthy but living owner it assumes one
    // did, so a restarted agent cannot fail a group straight back and forth (ping-pong). A dead
    // owner is not held back: that failover is needed, and a restart must not delay it.
    if matches!(cause, FailoverCause::Unhealthy { .. }) {
        let observed = obs.observed_for(local.now);
        if observed < timings.cooldown {
            return blocked(Blocked::Cooldown {
                remaining: timings.cooldown - observed,
            });
        }
    }
    let Some(target) = best_target(snap, obs, policy, timings, local.now) else {
        return blocked(Blocked::NoEligibleTarget);
    };
    let request = TransitionRequest {
        target: target.clone(),
        mode: FailoverMode::Consistency,
        force: true,
        reason: format!("automatic: {cause} (observed by {})", local.me),
        initiator: local.me.clone(),
        id: local.new_id.clone(),
        wall_now: local.wall_now,
        has_volume_replications: false,
        automatic: true,
    };
    match request_transition(snap, &request) {
        Ok(config) => (
            Some(Intent::StartTransition {
                expected_version: cfg.version,
                config,
            }),
            Some(Note::AutomaticFailover { target, cause }),
        ),
        Err(refusal) => (None, Some(Note::Refused(refusal))),
    }
}
