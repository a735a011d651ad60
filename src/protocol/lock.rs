//! The LOCK as one agent sees it (mine, free, someone else's, unknown) and the intents that get
//! it: acquire when free, take over only after observing the holder's lease unchanged for a
//! whole lease, renew every tick while driving.

use super::decision::{Intent, Note, WaitFor};
use super::facts::LocalFacts;
use super::observe::Observations;
use super::policy::Timings;
use crate::store::{GroupSnapshot, Lock, LockRequest, Phase};
use std::time::Duration;

/// The lock from one agent's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockView<'a> {
    /// This agent holds it (as far as the last read shows).
    Mine(&'a Lock),
    /// The read included the lock and there was none.
    Free,
    /// The read did not include the lock.
    Unknown,
    /// Someone else holds it (possibly an earlier incarnation of this agent).
    Theirs {
        /// The lock.
        lock: &'a Lock,
        /// How long it has been observed unchanged.
        unchanged_for: Option<Duration>,
    },
}

/// The lock as seen, and whether the lock `local` remembers turned out to be lost.
pub(crate) fn view<'a>(
    snap: &'a GroupSnapshot,
    obs: &Observations,
    local: &'a LocalFacts,
) -> (LockView<'a>, bool) {
    let stored = || match &snap.lock {
        None => LockView::Free,
        Some(lock) => LockView::Theirs {
            lock,
            unchanged_for: obs.lock_unchanged_for(lock, local.now),
        },
    };
    match (&local.lock, obs.lock_read()) {
        // Not read: trust what the last lock operation said; every guarded write checks the
        // token anyway, so an optimistic belief can cost a lost race, never safety.
        (Some(mine), false) => (LockView::Mine(mine), false),
        (Some(mine), true) => match &snap.lock {
            Some(l) if l.lease_token == mine.lease_token => (LockView::Mine(mine), false),
            _ => (stored(), true),
        },
        (None, false) => (LockView::Unknown, false),
        (None, true) => (stored(), false),
    }
}

/// The outcome of trying to hold the lock this tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Obtained {
    /// Held: renew first, then the caller's guarded writes with this token.
    Held {
        /// The lease token.
        token: String,
        /// The renewal.
        renew: Intent,
    },
    /// Not held yet: maybe one intent to get it, and why we wait.
    Pending {
        /// Acquire or take over.
        intent: Option<Intent>,
        /// What we wait for.
        note: Note,
    },
}

/// Intents to hold the lock, given how it is seen.
pub(crate) fn obtain(
    view: LockView<'_>,
    reason: String,
    phase: Phase,
    timings: &Timings,
    local: &LocalFacts,
) -> Obtained {
    let request = LockRequest {
        holder: local.me.clone(),
        reason,
        lease: timings.lease,
        now: local.wall_now,
    };
    let waiting = |for_what| Note::Waiting { phase, for_what };
    match view {
        LockView::Mine(lock) => Obtained::Held {
            token: lock.lease_token.clone(),
            renew: Intent::RenewLock {
                lease_token: lock.lease_token.clone(),
                lease: timings.lease,
                now: local.wall_now,
            },
        },
        LockView::Free | LockView::Unknown => Obtained::Pending {
            intent: Some(Intent::AcquireLock(request)),
            note: waiting(WaitFor::LockOutcome),
        },
        LockView::Theirs {
            lock,
            unchanged_for,
        } => {
            // Only a lease that nobody renewed for a whole lease is presumed dead; the holder's
            // `expiresAt` is its own clock and is never compared with ours.
            let dead = unchanged_for.is_some_and(|u| u >= timings.lease);
            Obtained::Pending {
                intent: dead.then(|| Intent::TakeOverLock {
                    observed: lock.clone(),
                    request,
                }),
                note: waiting(WaitFor::Lock {
                    holder: lock.locked_by.clone(),
                    unchanged_for,
                    lease: timings.lease,
                }),
            }
        }
    }
}
