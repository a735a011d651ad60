//! Ending a transition: the one guarded write that removes it from CONFIG and appends its
//! HISTORY record (completion, forced completion, rollback, failure), and the stuck rule that
//! decides when an agent other than the driver ends it.

use super::facts::LocalFacts;
use super::observe::Observations;
use super::policy::Timings;
use super::role::Shape;
use crate::store::{FailoverMode, FailoverRef, FlipRequest, GroupSnapshot, HistoryRecord};
use crate::store::{HistoryStatus, Transition};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How a transition ends, and the numbers for its history record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ending {
    /// The history status.
    pub(crate) status: HistoryStatus,
    /// Seconds the application was not served, when known.
    pub(crate) downtime: Option<u64>,
    /// Appended to the transition's reason in history (why it failed).
    pub(crate) why: Option<String>,
}

/// Whole seconds from `from` to `to`, zero when `to` is earlier (the two may come from different
/// clocks: this is for people, never for a decision).
fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_seconds()).unwrap_or(0)
}

/// The ending of a completed transition driven by its target.
pub(crate) fn completion(t: &Transition, local: &LocalFacts, acked: bool) -> Ending {
    let downtime = match t.mode {
        // The target served before the source stopped.
        FailoverMode::Uptime => Some(0),
        // From the source's network off (its acknowledgement) to ours on; unknown when the
        // source never acknowledged.
        FailoverMode::Consistency => t
            .source_stopped_at
            .map(|off| seconds(off, local.progress.network_on_at.unwrap_or(local.wall_now))),
    };
    // A planned transition that went ahead on the source's silence says so.
    let why = (!acked && !t.force && t.mode == FailoverMode::Consistency).then(|| {
        format!(
            "{} never acknowledged: it was silent for timeouts.heartbeat + timeouts.deactivation, so the failover proceeded as a forced one",
            t.source
        )
    });
    Ending {
        status: if acked {
            HistoryStatus::Success
        } else {
            HistoryStatus::ForcedComplete
        },
        downtime,
        why,
    }
}

/// The `Finish` request that ends `t` as `ending` under the lock `token`. A completion keeps
/// the owner and sets `lastFailover`; a rollback or failure keeps the owner too (it is still
/// the source before the flip). History's start time is the transition's `requestedAt`, so a
/// retried end write can never add a second record.
pub(crate) fn finish(
    snap: &GroupSnapshot,
    t: &Transition,
    ending: &Ending,
    token: &str,
    wall_now: DateTime<Utc>,
) -> FlipRequest {
    let cfg = &snap.config;
    let mut next = cfg.clone();
    next.transition = None;
    next.last_updated = Some(wall_now);
    if matches!(
        ending.status,
        HistoryStatus::Success | HistoryStatus::ForcedComplete
    ) {
        next.last_failover = Some(FailoverRef {
            name: t.id.clone(),
            namespace: cfg.group.namespace.clone(),
            timestamp: wall_now,
        });
    }
    let reason = match &ending.why {
        Some(why) => format!("{}; {why}", t.reason),
        None => t.reason.clone(),
    };
    FlipRequest {
        expected_version: cfg.version,
        lease_token: token.to_string(),
        new_config: next,
        history: Some(HistoryRecord {
            failover_name: t.id.clone(),
            source_cluster: t.source.clone(),
            target_cluster: t.target.clone(),
            start_time: t.requested_at,
            end_time: Some(wall_now),
            status: ending.status.as_str().to_string(),
            reason,
            downtime: ending.downtime,
            duration: Some(seconds(t.requested_at, wall_now)),
            mode: Some(t.mode.as_str().to_string()),
            automatic: Some(t.automatic),
            initiator: Some(t.initiator.clone()),
            drill: t.drill,
        }),
    }
}

/// A transition found stuck by this agent: how long CONFIG has not changed, and how to end it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stuck {
    /// CONFIG seen unchanged for this long.
    pub(crate) unchanged_for: Duration,
    /// How it ends.
    pub(crate) ending: Ending,
}

/// Whether this agent should end the transition in flight: at once when its target has been
/// seen silent for `timeouts.heartbeat` (it died: [`target_gone`]), else because CONFIG has not
/// changed for too long. For the latter the agent holding the lock and the preferred agent (the
/// source before the flip, the owner after it) act after `timeouts.transitoryState`; everyone
/// else one heartbeat timeout later, so the preferred one normally wins and the others only
/// step in when it is gone. The lock and the version check make concurrent attempts safe
/// whoever acts.
pub(crate) fn stuck(
    snap: &GroupSnapshot,
    shape: Shape<'_>,
    obs: &Observations,
    local: &LocalFacts,
    timings: &Timings,
    holds_lock: bool,
) -> Option<Stuck> {
    let t = shape.transition()?;
    let cfg = &snap.config;
    let flipped = cfg.owner_cluster == t.target;
    if let Some(gone) = target_gone(t, flipped, obs, local, timings) {
        return Some(gone);
    }
    let preferred = if flipped { &t.target } else { &t.source };
    let threshold = if holds_lock || *preferred == local.me {
        timings.transitory
    } else {
        timings.stuck_for_others()
    };
    let unchanged_for = obs.version_unchanged_for(cfg.version, local.now);
    if unchanged_for < threshold {
        return None;
    }
    let ending = if flipped {
        // After the flip only a completion is possible; the target was serving (UPTIME) or may
        // not be yet (CONSISTENCY): downtime unknown in the latter case.
        Ending {
            status: HistoryStatus::ForcedComplete,
            downtime: (t.mode == FailoverMode::Uptime).then_some(0),
            why: None,
        }
    } else {
        Ending {
            status: HistoryStatus::RolledBack,
            downtime: None,
            why: None,
        }
    };
    Some(Stuck {
        unchanged_for,
        ending,
    })
}

/// A transition whose target has been seen silent for `timeouts.heartbeat` by this agent (not
/// the target itself): the target died, or is cut off (then it fences). Waiting for
/// `timeouts.transitoryState` would leave the group unserved for minutes while a healthy
/// standby waits. Before the flip it is rolled back (the source, still the owner, serves
/// again); after it, it is ended as forced-complete and the owner's silence then gets the
/// group an automatic failover at once (`detect`: a new owner silent since it took over is
/// not held back by the cool-down).
fn target_gone(
    t: &Transition,
    flipped: bool,
    obs: &Observations,
    local: &LocalFacts,
    timings: &Timings,
) -> Option<Stuck> {
    if t.target == local.me || obs.beat(&t.target).is_none() {
        return None;
    }
    let silent = obs.heartbeat_unchanged_for(&t.target, local.now);
    if silent < timings.heartbeat {
        return None;
    }
    let why = format!(
        "the target {} was silent for {}s (timeouts.heartbeat {}s)",
        t.target,
        silent.as_secs(),
        timings.heartbeat.as_secs()
    );
    let ending = if flipped {
        Ending {
            status: HistoryStatus::ForcedComplete,
            downtime: (t.mode == FailoverMode::Uptime).then_some(0),
            why: Some(format!("{why}; an automatic failover follows")),
        }
    } else {
        Ending {
            status: HistoryStatus::RolledBack,
            downtime: None,
            why: Some(format!("{why}; rolled back to {}", t.source)),
        }
    };
    Some(Stuck {
        unchanged_for: silent,
        ending,
    })
}
