//! The target driving a transition while it holds the lock: one guarded write per tick
//! (persist the next phase, flip ownership, or finish), each only once what it depends on has
//! been seen (the source's acknowledgement or, with force, its silence; local activation).

use super::decision::{Intent, WaitFor};
use super::end::{self, Ending};
use super::facts::LocalFacts;
use super::observe::Observations;
use super::policy::Timings;
use crate::store::{FailoverMode, FlipRequest, GroupSnapshot, HistoryStatus, Phase, Transition};
use chrono::{DateTime, Utc};

/// What the source has done, as the target can tell.
enum Released {
    /// It acknowledged, with the time its network went off (its clock).
    Acked(DateTime<Utc>),
    /// With force: its heartbeat has been seen unchanged for `timeouts.heartbeat` plus
    /// `timeouts.deactivation`. It started fencing `margin` before the first and has had the
    /// second to finish, so it no longer serves.
    Silent,
    /// Neither yet.
    Waiting(WaitFor),
}

fn released(
    snap: &GroupSnapshot,
    t: &Transition,
    obs: &Observations,
    local: &LocalFacts,
    timings: &Timings,
) -> Released {
    let record = snap.clusters.iter().find(|c| c.cluster_name == t.source);
    if let Some(ack) = record.and_then(|r| r.ack.as_ref()).filter(|a| a.id == t.id) {
        return Released::Acked(ack.at);
    }
    let unchanged_for = obs.heartbeat_unchanged_for(&t.source, local.now);
    // Without force too: a source that died (or was cut off) after a planned transition began
    // will never acknowledge, and its silence proves as much as it does for a forced one (it
    // fenced and stopped by then), as long as the group's owners fence themselves: nobody asked
    // for force where that is not so. The history says so (`end::completion`).
    let silence_stands_in = obs.beat(&t.source).is_some() && snap.config.fencing_assured();
    if (t.force || silence_stands_in) && unchanged_for >= timings.takeover_silence() {
        return Released::Silent;
    }
    Released::Waiting(if t.force {
        WaitFor::SourceSilence {
            source: t.source.clone(),
            unchanged_for,
            needed: timings.takeover_silence(),
        }
    } else {
        WaitFor::SourceAck {
            source: t.source.clone(),
        }
    })
}

/// CONFIG with the transition moved to `phase`.
fn with_phase(
    snap: &GroupSnapshot,
    phase: Phase,
    wall_now: DateTime<Utc>,
) -> crate::store::GroupConfig {
    let mut next = snap.config.clone();
    if let Some(t) = next.transition.as_mut() {
        t.phase = phase;
    }
    next.last_updated = Some(wall_now);
    next
}

fn guarded(
    snap: &GroupSnapshot,
    token: &str,
    new_config: crate::store::GroupConfig,
) -> FlipRequest {
    FlipRequest {
        expected_version: snap.config.version,
        lease_token: token.to_string(),
        new_config,
        history: None,
    }
}

/// The ownership flip: owner = target, `previousOwner` = source, epoch = the version this write
/// creates, and the phase after the flip; `stopped_at` is the source's acknowledgement time
/// (present exactly when the source acknowledged, which is how completion tells SUCCESS from
/// FORCED_COMPLETE).
fn flip(
    snap: &GroupSnapshot,
    t: &Transition,
    token: &str,
    phase: Phase,
    stopped_at: Option<DateTime<Utc>>,
    wall_now: DateTime<Utc>,
) -> Intent {
    let mut next = with_phase(snap, phase, wall_now);
    next.owner_cluster = t.target.clone();
    next.previous_owner = Some(t.source.clone());
    next.epoch = snap.config.version + 1;
    if let Some(nt) = next.transition.as_mut() {
        nt.source_stopped_at = stopped_at;
    }
    Intent::Flip(guarded(snap, token, next))
}

/// The next write for a well-formed transition that this agent (its target) drives with the
/// lock `token`, or what it waits for. `flipped`: ownership already moved.
pub(crate) fn next_write(
    snap: &GroupSnapshot,
    t: &Transition,
    flipped: bool,
    obs: &Observations,
    local: &LocalFacts,
    timings: &Timings,
    token: &str,
) -> Result<Intent, WaitFor> {
    let version = snap.config.version;
    let now = local.wall_now;
    let finish = |ending: Ending| Intent::Finish(end::finish(snap, t, &ending, token, now));
    match (t.mode, t.phase, flipped) {
        (FailoverMode::Consistency, Phase::Requested, false) => Ok(Intent::AdvancePhase(guarded(
            snap,
            token,
            with_phase(snap, Phase::SourceDeactivating, now),
        ))),
        (FailoverMode::Consistency, Phase::SourceDeactivating, false) => {
            match released(snap, t, obs, local, timings) {
                Released::Acked(at) => {
                    Ok(flip(snap, t, token, Phase::TargetActivating, Some(at), now))
                }
                Released::Silent => Ok(flip(snap, t, token, Phase::TargetActivating, None, now)),
                Released::Waiting(w) => Err(w),
            }
        }
        (FailoverMode::Consistency, Phase::TargetActivating, true) => {
            if local.progress.activated_since(version) {
                let acked = t.source_stopped_at.is_some();
                Ok(finish(end::completion(t, local, acked)))
            } else {
                Err(WaitFor::LocalActivation)
            }
        }
        (FailoverMode::Uptime, Phase::Requested, false) => {
            if local.has_volume_replications && !t.force {
                // The request was checked where it was made, but only the target's cluster
                // knows its volumes for sure: refuse here too rather than split the data.
                Ok(finish(Ending {
                    status: HistoryStatus::Failed,
                    downtime: None,
                    why: Some(format!(
                        "failed: {} has volume replications, UPTIME needs force",
                        t.target
                    )),
                }))
            } else {
                Ok(Intent::AdvancePhase(guarded(
                    snap,
                    token,
                    with_phase(snap, Phase::TargetActivating, now),
                )))
            }
        }
        (FailoverMode::Uptime, Phase::TargetActivating, false) => {
            if local.progress.activated_since(version) {
                Ok(flip(snap, t, token, Phase::SourceDeactivating, None, now))
            } else {
                Err(WaitFor::LocalActivation)
            }
        }
        (FailoverMode::Uptime, Phase::SourceDeactivating, true) => {
            match released(snap, t, obs, local, timings) {
                Released::Acked(_) => Ok(finish(end::completion(t, local, true))),
                Released::Silent => Ok(finish(end::completion(t, local, false))),
                Released::Waiting(w) => Err(w),
            }
        }
        // `Shape::of` classifies every other combination as malformed, so it never gets here;
        // waiting is the harmless answer if it ever did.
        _ => Err(WaitFor::LocalActivation),
    }
}
