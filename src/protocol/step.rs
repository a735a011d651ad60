//! `step`: one agent's decision for one group from one consistent read. Deterministic, cheap and
//! pure: the same inputs always give the same decision, and at steady state it writes nothing.

use super::decision::{Decision, Intent, Note, WaitFor};
use super::detect;
use super::drive;
use super::end;
use super::facts::LocalFacts;
use super::lock::{self, LockView, Obtained};
use super::observe::Observations;
use super::policy::GroupPolicy;
use super::role::{self, Shape};
use super::settings;
use crate::store::GroupSnapshot;

/// Decides the local cluster's role and this tick's store writes for one group.
///
/// `snapshot` is this tick's strongly consistent read (with the LOCK when the previous decision
/// said `read_lock_next`); `observations` must already include it (`Observations::observe`);
/// `local` describes this agent (see `LocalFacts` for the heartbeat ordering rule).
///
/// The agent then executes `writes` in order, stopping at the first lost race, converges its
/// cluster to `role` with `epoch` on every action (starting no activation step at or after
/// `serve_until`), and puts `report` into its next heartbeat.
pub fn step(
    policy: &GroupPolicy,
    snapshot: &GroupSnapshot,
    observations: &Observations,
    local: &LocalFacts,
) -> Decision {
    let cfg = &snapshot.config;
    let (shape, malformed) = Shape::of(snapshot);
    let timings = policy.timings(cfg);
    let wants = role::wants_active(snapshot, shape, &local.me);
    // CONFIG's setting, not this cluster's: a standby that takes over after the owner's silence
    // relies on the owner having fenced, so both must apply the same rule.
    let self_fencing = cfg.self_fencing;
    let (role, serve_until, fenced) = role::role(wants, self_fencing, timings.as_ref().ok(), local);
    let mut d = Decision {
        role,
        epoch: cfg.version,
        serve_until,
        writes: Vec::new(),
        report: role::report(snapshot, shape, role, local),
        notes: fenced.into_iter().collect(),
        read_lock_next: shape != Shape::Idle || local.lock.is_some(),
        forget_lock: false,
    };
    d.notes.extend(malformed.map(Note::Refused));
    let timings = match timings {
        Ok(t) => t,
        Err(e) => {
            // Refuse to write anything for a group whose timeouts cannot keep it safe. Every
            // agent refuses the same CONFIG, so nobody takes over either.
            d.notes.push(Note::Refused(e.into()));
            return d;
        }
    };
    let (view, lost) = lock::view(snapshot, observations, local);
    if lost {
        d.forget_lock = true;
        d.notes.push(Note::LockLost);
    }
    let mine = match view {
        LockView::Mine(l) => Some(l.lease_token.clone()),
        _ => None,
    };
    let release = |d: &mut Decision| {
        if let Some(token) = &mine {
            // Holding a lock with nothing to drive (a finished transition whose release was
            // lost, or one someone else ended): give it back.
            d.writes.push(Intent::ReleaseLock {
                lease_token: token.clone(),
            });
        }
    };

    let Some(t) = shape.transition() else {
        release(&mut d);
        let fresh = role::heartbeat_fresh(&timings, local);
        d.writes
            .extend(settings::acknowledge(cfg, &local.me, fresh, local.wall_now));
        if mine.is_none() {
            let (intent, note) = detect::automatic(snapshot, observations, local, policy, &timings);
            d.writes.extend(intent);
            d.notes.extend(note);
        }
        return d;
    };

    if let Some(stuck) = end::stuck(
        snapshot,
        shape,
        observations,
        local,
        &timings,
        mine.is_some(),
    ) {
        let reason = format!("ending stuck transition {}", t.id);
        match lock::obtain(view, reason, t.phase, &timings, local) {
            Obtained::Held { token, renew } => {
                d.notes.push(Note::Stuck {
                    id: t.id.clone(),
                    unchanged_for: stuck.unchanged_for,
                    ending: stuck.ending.status,
                });
                let request = end::finish(snapshot, t, &stuck.ending, &token, local.wall_now);
                d.writes.extend([
                    renew,
                    Intent::Finish(request),
                    Intent::ReleaseLock { lease_token: token },
                ]);
            }
            Obtained::Pending { intent, note } => {
                d.writes.extend(intent);
                d.notes.push(note);
            }
        }
        return d;
    }

    match shape {
        Shape::Moving { t, .. }
            if t.target == local.me && self_fencing && !role::heartbeat_fresh(&timings, local) =>
        {
            // A target that would be fenced could not serve after the flip: leave the
            // transition alone (its lease lapses, the stuck rule rolls it back) instead of
            // moving ownership to a cluster that cannot take it.
            d.notes.push(Note::Waiting {
                phase: t.phase,
                for_what: WaitFor::OwnHeartbeat,
            });
        }
        Shape::Moving { t, flipped } if t.target == local.me => {
            let reason = format!("transition {}: {} -> {}", t.id, t.source, t.target);
            match lock::obtain(view, reason, t.phase, &timings, local) {
                Obtained::Held { token, renew } => {
                    d.writes.push(renew);
                    match drive::next_write(
                        snapshot,
                        t,
                        flipped,
                        observations,
                        local,
                        &timings,
                        &token,
                    ) {
                        Ok(write) => {
                            let ends = matches!(write, Intent::Finish(_));
                            d.writes.push(write);
                            if ends {
                                d.writes.push(Intent::ReleaseLock { lease_token: token });
                            }
                        }
                        Err(for_what) => d.notes.push(Note::Waiting {
                            phase: t.phase,
                            for_what,
                        }),
                    }
                }
                Obtained::Pending { intent, note } => {
                    d.writes.extend(intent);
                    d.notes.push(note);
                }
            }
        }
        _ => release(&mut d),
    }
    d
}
