//! What `step` returns: the role to converge the local cluster to (with its fencing epoch and
//! deadline), the store writes to attempt in order, what to report in the next heartbeat, and
//! notes for logs and events.

use super::refusal::Refusal;
use crate::k8s::Action;
use crate::store::{ClusterState, FlipRequest, GroupConfig, HistoryStatus, Lock, LockRequest};
use crate::store::{Phase, TransitionAck};
use chrono::{DateTime, Utc};
use std::fmt;
use std::time::Duration;

/// The role the local cluster converges to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Serve: run `Action::ACTIVATE` in order.
    Primary,
    /// Do not serve: run `Action::DEACTIVATE` in order.
    Standby,
    /// Should serve, but may not (heartbeats are failing): deactivate like a standby.
    Fenced,
}

impl Role {
    /// Whether the cluster serves in this role.
    pub fn is_active(self) -> bool {
        self == Role::Primary
    }

    /// The steps that converge a cluster to this role, in order.
    pub fn actions(self) -> [Action; 4] {
        if self.is_active() {
            Action::ACTIVATE
        } else {
            Action::DEACTIVATE
        }
    }
}

/// One store write, executed by the agent in order; stop at the first lost race (a `Conflict`,
/// `Held`, `NotHeld` or `Cancelled` outcome) and step again after the next read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Intent {
    /// `update_config(expected_version, config)`: write a transition request (automatic
    /// failover). Only one concurrent request wins.
    StartTransition {
        /// The version read.
        expected_version: u64,
        /// CONFIG with the new transition.
        config: GroupConfig,
    },
    /// `update_config(expected_version, config)`: the owner acknowledges changed safety
    /// settings (`supersededSettings` removed).
    AcknowledgeSettings {
        /// The version read.
        expected_version: u64,
        /// CONFIG without `supersededSettings`.
        config: GroupConfig,
    },
    /// `acquire_lock(request)`; on `Acquired`, remember the lock (`LocalFacts::lock`).
    AcquireLock(LockRequest),
    /// `take_over_lock(observed, request)`; on `Acquired`, remember the lock.
    TakeOverLock {
        /// The lock observed unchanged for a whole lease.
        observed: Lock,
        /// The new lease.
        request: LockRequest,
    },
    /// `renew_lock(lease_token, lease, now)`; on `NotHeld`, forget the lock and stop.
    RenewLock {
        /// The held lease's token.
        lease_token: String,
        /// The new lease from `now`.
        lease: Duration,
        /// Wall time now.
        now: DateTime<Utc>,
    },
    /// `flip_ownership` without history: persist the next phase, guarded by version and lock.
    AdvancePhase(FlipRequest),
    /// `flip_ownership` without history: the ownership flip (owner, epoch, phase).
    Flip(FlipRequest),
    /// `flip_ownership` with history: the one write that ends a transition.
    Finish(FlipRequest),
    /// `release_lock(lease_token)`; forget the lock whatever the outcome.
    ReleaseLock {
        /// The held lease's token.
        lease_token: String,
    },
}

impl Intent {
    /// A short name for logs (`start-transition`, `flip`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Intent::StartTransition { .. } => "start-transition",
            Intent::AcknowledgeSettings { .. } => "acknowledge-settings",
            Intent::AcquireLock(_) => "acquire-lock",
            Intent::TakeOverLock { .. } => "take-over-lock",
            Intent::RenewLock { .. } => "renew-lock",
            Intent::AdvancePhase(_) => "advance-phase",
            Intent::Flip(_) => "flip",
            Intent::Finish(_) => "finish",
            Intent::ReleaseLock { .. } => "release-lock",
        }
    }
}

/// What the agent puts into its next heartbeat record (`state`, `fenced`, `transitionAck`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Report {
    /// PRIMARY / STANDBY, or FAILOVER (source) / FAILBACK (target) during a transition.
    pub state: ClusterState,
    /// True while the role is `Fenced`.
    pub fenced: bool,
    /// The acknowledgement that this cluster finished deactivating for a transition.
    pub ack: Option<TransitionAck>,
}

/// What a step is waiting for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum WaitFor {
    /// The lock (held by `holder`, observed unchanged for `unchanged_for` of `lease`).
    Lock {
        /// Who holds it.
        holder: String,
        /// How long it has been seen unchanged (`None`: not observed yet).
        unchanged_for: Option<Duration>,
        /// How long it must be seen unchanged before a take-over.
        lease: Duration,
    },
    /// The outcome of an `AcquireLock` (the lock was not read, or was free).
    LockOutcome,
    /// The source's acknowledgement.
    SourceAck {
        /// The source.
        source: String,
    },
    /// With force, the source's heartbeat to stay unchanged for `timeouts.heartbeat +
    /// timeouts.deactivation` (it has then fenced and stopped).
    SourceSilence {
        /// The source.
        source: String,
        /// Seen unchanged so far.
        unchanged_for: Duration,
        /// Needed.
        needed: Duration,
    },
    /// The local cluster to finish activating under the current epoch.
    LocalActivation,
    /// The local cluster to finish deactivating under the current epoch.
    LocalDeactivation,
    /// This agent's own heartbeat writes to succeed again (a target that would be fenced does
    /// not drive).
    OwnHeartbeat,
}

/// Why an automatic failover is due.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FailoverCause {
    /// The owner's heartbeat was seen unchanged for this long.
    HeartbeatLapsed {
        /// The owner.
        owner: String,
        /// Observed silence.
        unchanged_for: Duration,
    },
    /// The owner was seen reporting ERROR for this long.
    Unhealthy {
        /// The owner.
        owner: String,
        /// Observed ERROR time.
        error_for: Duration,
    },
}

/// Why a due automatic failover was not started.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Blocked {
    /// The group is suspended.
    Suspended {
        /// `suspensionReason`.
        reason: Option<String>,
    },
    /// The cool-down since the last handover has not passed.
    Cooldown {
        /// Time left.
        remaining: Duration,
    },
    /// No standby is healthy and alive.
    NoEligibleTarget,
}

/// Something worth a log line or an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Note {
    /// This cluster fenced itself: its last successful heartbeat is too old to keep serving.
    Fenced {
        /// Since the last successful heartbeat was sent (`None`: never).
        silent_for: Option<Duration>,
        /// The limit (`timeouts.heartbeat - margin`).
        limit: Duration,
    },
    /// A transition is waiting.
    Waiting {
        /// Its phase.
        phase: Phase,
        /// For what.
        for_what: WaitFor,
    },
    /// A request or a situation was refused.
    Refused(Refusal),
    /// The lock this agent thought it held is held by someone else (or gone).
    LockLost,
    /// A transition made no progress for too long and is being ended.
    Stuck {
        /// Its id.
        id: String,
        /// CONFIG seen unchanged for this long.
        unchanged_for: Duration,
        /// How it is ended.
        ending: HistoryStatus,
    },
    /// An automatic failover is being requested.
    AutomaticFailover {
        /// Chosen target.
        target: String,
        /// Why.
        cause: FailoverCause,
    },
    /// An automatic failover is due but not started.
    FailoverBlocked {
        /// Why it is due.
        cause: FailoverCause,
        /// Why it is not started.
        blocked: Blocked,
    },
}

/// The outcome of one `step`: apply it, then step again after the next read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[must_use]
pub struct Decision {
    /// The role to converge the local cluster to.
    pub role: Role,
    /// The fencing epoch for every local action: the CONFIG version this decision was read at.
    pub epoch: u64,
    /// For `Primary` with self-fencing: the monotonic time at which this decision stops
    /// allowing service. Start no activation step at or after it, and step again: the role will
    /// be `Fenced` unless a newer heartbeat succeeded. `None`: no limit.
    pub serve_until: Option<Duration>,
    /// Store writes, in order.
    pub writes: Vec<Intent>,
    /// What to put into the next heartbeat.
    pub report: Report,
    /// Notes for logs and events (empty at steady state).
    pub notes: Vec<Note>,
    /// Read the LOCK with the next snapshot (a transition is in flight or a lock is held).
    pub read_lock_next: bool,
    /// The lock in `LocalFacts::lock` is no longer this agent's: forget it.
    pub forget_lock: bool,
}

impl Decision {
    /// The decision for a tick whose read failed: the previous role, no writes, the same
    /// report; a `Primary` whose `serve_until` has passed becomes `Fenced`. It never un-fences
    /// or activates anything new: that needs a fresh read.
    pub fn hold(&self, now: Duration) -> Decision {
        let lapsed = self.role == Role::Primary && self.serve_until.is_some_and(|u| now >= u);
        let mut held = Decision {
            writes: Vec::new(),
            notes: Vec::new(),
            forget_lock: false,
            ..self.clone()
        };
        if lapsed {
            held.role = Role::Fenced;
            held.report.fenced = true;
            held.notes.push(Note::Fenced {
                silent_for: None,
                limit: Duration::ZERO,
            });
        }
        held
    }
}

fn secs(d: Duration) -> String {
    crate::duration::GoDuration(Duration::from_secs(d.as_secs())).to_string()
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Fenced { silent_for, limit } => match silent_for {
                Some(s) => write!(
                    f,
                    "fenced: last successful heartbeat sent {} ago (limit {}); deactivating until heartbeats succeed",
                    secs(*s),
                    secs(*limit)
                ),
                None => write!(
                    f,
                    "fenced: no recent successful heartbeat; deactivating until heartbeats succeed"
                ),
            },
            Note::Waiting { phase, for_what } => write!(f, "phase {phase}: waiting for {for_what}"),
            Note::Refused(r) => write!(f, "refused: {r}"),
            Note::LockLost => write!(f, "lost the lock; no longer driving"),
            Note::Stuck {
                id,
                unchanged_for,
                ending,
            } => write!(
                f,
                "transition {id} made no progress for {}; ending it as {ending}",
                secs(*unchanged_for)
            ),
            Note::AutomaticFailover { target, cause } => {
                write!(f, "automatic failover to {target}: {cause}")
            }
            Note::FailoverBlocked { cause, blocked } => {
                write!(f, "automatic failover due ({cause}) but {blocked}")
            }
        }
    }
}

impl fmt::Display for WaitFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitFor::Lock {
                holder,
                unchanged_for,
                lease,
            } => match unchanged_for {
                Some(u) => write!(
                    f,
                    "the lock held by {holder} (unchanged for {} of {})",
                    secs(*u),
                    secs(*lease)
                ),
                None => write!(f, "the lock held by {holder}"),
            },
            WaitFor::LockOutcome => write!(f, "the lock"),
            WaitFor::SourceAck { source } => write!(f, "{source} to finish deactivating"),
            WaitFor::SourceSilence {
                source,
                unchanged_for,
                needed,
            } => write!(
                f,
                "{source} to finish deactivating, or its heartbeat to stay unchanged for {} (now {})",
                secs(*needed),
                secs(*unchanged_for)
            ),
            WaitFor::LocalActivation => write!(f, "this cluster to finish activating"),
            WaitFor::LocalDeactivation => write!(f, "this cluster to finish deactivating"),
            WaitFor::OwnHeartbeat => write!(
                f,
                "this cluster's heartbeat writes to succeed (it would be fenced after the flip)"
            ),
        }
    }
}

impl fmt::Display for FailoverCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailoverCause::HeartbeatLapsed {
                owner,
                unchanged_for,
            } => write!(
                f,
                "owner {owner}'s heartbeat unchanged for {}",
                secs(*unchanged_for)
            ),
            FailoverCause::Unhealthy { owner, error_for } => {
                write!(f, "owner {owner} reported ERROR for {}", secs(*error_for))
            }
        }
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocked::Suspended { reason: Some(r) } => write!(f, "the group is suspended ({r})"),
            Blocked::Suspended { reason: None } => write!(f, "the group is suspended"),
            Blocked::Cooldown { remaining } => {
                write!(f, "the cool-down has {} left", secs(*remaining))
            }
            Blocked::NoEligibleTarget => write!(f, "no standby is healthy and alive"),
        }
    }
}
