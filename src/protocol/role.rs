//! Which role CONFIG gives a cluster (`Shape` of the transition in flight, then the role), and
//! self-fencing on top of it. Pure functions of the snapshot and the local facts.

use super::decision::{Note, Report, Role};
use super::facts::LocalFacts;
use super::policy::Timings;
use super::refusal::Refusal;
use crate::store::{ClusterState, FailoverMode, GroupSnapshot, Phase, Transition, TransitionAck};
use std::time::Duration;

/// The transition in flight, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape<'a> {
    /// No transition.
    Idle,
    /// A consistent transition; `flipped`: ownership already moved to the target.
    Moving {
        /// The transition.
        t: &'a Transition,
        /// Whether the flip happened.
        flipped: bool,
    },
    /// A transition that contradicts itself or the group: roles follow ownership alone, nobody
    /// drives it, and the stuck rule ends it.
    Malformed(&'a Transition),
}

impl<'a> Shape<'a> {
    /// Classifies CONFIG's transition; a malformed one comes with the refusal explaining it.
    pub(crate) fn of(snap: &'a GroupSnapshot) -> (Shape<'a>, Option<Refusal>) {
        let cfg = &snap.config;
        let Some(t) = &cfg.transition else {
            return (Shape::Idle, None);
        };
        let flipped = cfg.owner_cluster == t.target;
        let problem = if t.source == t.target {
            Some(format!("its source and target are both {}", t.source))
        } else if !flipped && cfg.owner_cluster != t.source {
            Some(format!(
                "the owner {} is neither its source {} nor its target {}",
                cfg.owner_cluster, t.source, t.target
            ))
        } else if !snap.clusters.iter().any(|c| c.cluster_name == t.target) {
            Some(format!(
                "its target {} has no heartbeat record in the group",
                t.target
            ))
        } else if phase_is_after_flip(t.mode, t.phase) != flipped {
            Some(format!(
                "phase {} of a {} transition does not match ownership (owner {})",
                t.phase, t.mode, cfg.owner_cluster
            ))
        } else {
            None
        };
        match problem {
            None => (Shape::Moving { t, flipped }, None),
            Some(problem) => (
                Shape::Malformed(t),
                Some(Refusal::Malformed {
                    group: cfg.group.clone(),
                    id: t.id.clone(),
                    problem,
                }),
            ),
        }
    }

    /// The transition, whatever its shape.
    pub(crate) fn transition(&self) -> Option<&'a Transition> {
        match self {
            Shape::Idle => None,
            Shape::Moving { t, .. } | Shape::Malformed(t) => Some(t),
        }
    }
}

/// Whether a phase comes after the ownership flip in a mode: CONSISTENCY flips between
/// SOURCE_DEACTIVATING and TARGET_ACTIVATING, UPTIME between TARGET_ACTIVATING and
/// SOURCE_DEACTIVATING; REQUESTED is always before.
pub(crate) fn phase_is_after_flip(mode: FailoverMode, phase: Phase) -> bool {
    matches!(
        (mode, phase),
        (FailoverMode::Consistency, Phase::TargetActivating)
            | (FailoverMode::Uptime, Phase::SourceDeactivating)
    )
}

/// Whether CONFIG asks `me` to be active, before self-fencing.
pub(crate) fn wants_active(snap: &GroupSnapshot, shape: Shape<'_>, me: &str) -> bool {
    let owner = snap.config.owner_cluster == me;
    match shape {
        Shape::Idle | Shape::Malformed(_) => owner,
        // After the flip the owner is the target, active in both modes.
        Shape::Moving { flipped: true, .. } => owner,
        Shape::Moving { t, flipped: false } => match t.mode {
            // Data first: the source serves until told to deactivate; the target waits for the
            // flip.
            FailoverMode::Consistency => t.source == me && t.phase == Phase::Requested,
            // Availability first: the source serves until after the flip; the target activates
            // as soon as TARGET_ACTIVATING is persisted.
            FailoverMode::Uptime => {
                t.source == me || (t.target == me && t.phase == Phase::TargetActivating)
            }
        },
    }
}

/// The role, its service deadline, and a note when fenced. `timings` is `None` when CONFIG's
/// timeouts are invalid: then there is no safe margin to fence by, and since no agent writes
/// anything for such a group nobody takes over either, so the roles simply follow CONFIG.
pub(crate) fn role(
    wants_active: bool,
    self_fencing: bool,
    timings: Option<&Timings>,
    local: &LocalFacts,
) -> (Role, Option<Duration>, Option<Note>) {
    if !wants_active {
        return (Role::Standby, None, None);
    }
    let Some(timings) = timings.filter(|_| self_fencing) else {
        return (Role::Primary, None, None);
    };
    let window = timings.serve_window();
    let until = serve_until(timings, local);
    match until {
        Some(until) if local.now < until => (Role::Primary, Some(until), None),
        _ => (
            Role::Fenced,
            None,
            Some(Note::Fenced {
                silent_for: local
                    .heartbeat_sent_at
                    .map(|sent| local.now.saturating_sub(sent)),
                limit: window,
            }),
        ),
    }
}

/// Until when this agent's last usable heartbeat lets its cluster serve.
pub(crate) fn serve_until(timings: &Timings, local: &LocalFacts) -> Option<Duration> {
    local
        .heartbeat_sent_at
        .map(|sent| sent.saturating_add(timings.serve_window()))
}

/// Whether this agent's heartbeats are recent enough for it to serve (and so to drive).
pub(crate) fn heartbeat_fresh(timings: &Timings, local: &LocalFacts) -> bool {
    serve_until(timings, local).is_some_and(|until| local.now < until)
}

/// What to report in the next heartbeat: the state people see, and the acknowledgement when
/// this cluster is the source of a transition asking it to deactivate and it has, under the
/// current epoch (so the acknowledgement is true when written: the decision that produced it
/// does not activate anything).
pub(crate) fn report(
    snap: &GroupSnapshot,
    shape: Shape<'_>,
    role: Role,
    local: &LocalFacts,
) -> Report {
    let me = local.me.as_str();
    let cfg = &snap.config;
    let state = match shape.transition() {
        Some(t) if t.source == me => ClusterState::Failover,
        Some(t) if t.target == me => ClusterState::Failback,
        _ if cfg.owner_cluster == me => ClusterState::Primary,
        _ => ClusterState::Standby,
    };
    let ack = match shape {
        Shape::Moving { t, .. }
            if t.source == me
                && t.phase == Phase::SourceDeactivating
                && role != Role::Primary
                && local.progress.deactivated_since(cfg.version) =>
        {
            Some(TransitionAck {
                id: t.id.clone(),
                at: local.progress.network_off_at.unwrap_or(local.wall_now),
            })
        }
        _ => None,
    };
    Report {
        state,
        fenced: role == Role::Fenced,
        ack,
    }
}
