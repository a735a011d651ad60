//! What agents tell the outside world (the demo, the controller's Kubernetes events, tests):
//! `AgentEvent`s derived from decisions and write outcomes, each emitted once per change, and
//! the `EventSink` they go to.

use crate::protocol::{Refusal, Role};
use crate::store::{FailoverMode, GroupId, HistoryStatus, Phase};
use chrono::{DateTime, Utc};
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

/// One thing that happened to a group in one cluster, as its agent saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentEvent {
    /// Wall time (the agent's clock), for display.
    pub at: DateTime<Utc>,
    /// The agent's cluster.
    pub cluster: String,
    /// The group.
    pub group: GroupId,
    /// What happened.
    pub kind: AgentEventKind,
}

/// What happened. Every kind is emitted when it changes, never every tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEventKind {
    /// The role this agent converges its cluster to changed (`from` is `None` at the first
    /// decision).
    RoleChanged {
        /// The previous role.
        from: Option<Role>,
        /// The new role.
        to: Role,
        /// The decision's epoch.
        epoch: u64,
    },
    /// A transition appeared: this agent requested it (`requested_here`, an automatic failover)
    /// or saw it in CONFIG for the first time.
    TransitionStarted {
        /// Its id.
        id: String,
        /// The owner when requested.
        source: String,
        /// The cluster to become owner.
        target: String,
        /// CONSISTENCY or UPTIME.
        mode: FailoverMode,
        /// Whether the source's acknowledgement may be skipped once it is silent.
        force: bool,
        /// Started by an agent, not a person.
        automatic: bool,
        /// Why.
        reason: String,
        /// This agent wrote the request.
        requested_here: bool,
    },
    /// The transition in flight moved to another phase.
    PhaseChanged {
        /// The transition's id.
        id: String,
        /// The phase before (`None`: not seen before).
        from: Option<Phase>,
        /// The new phase.
        to: Phase,
    },
    /// Ownership moved (this agent's flip, or one it read).
    OwnershipFlipped {
        /// The previous owner.
        source: String,
        /// The new owner.
        target: String,
        /// The new grant's epoch.
        epoch: u64,
    },
    /// This agent ended a transition and wrote its history record.
    TransitionEnded {
        /// The transition's id.
        id: String,
        /// Its source.
        source: String,
        /// Its target.
        target: String,
        /// CONSISTENCY or UPTIME.
        mode: FailoverMode,
        /// Started by an agent.
        automatic: bool,
        /// The history status.
        outcome: HistoryStatus,
        /// Request to end (whole seconds, as in history).
        duration: Option<Duration>,
        /// Source network off to target network on, when known (whole seconds).
        downtime: Option<Duration>,
    },
    /// The cluster fenced itself: its heartbeats failed for too long to keep serving.
    Fenced {
        /// Since the last successful heartbeat was sent, when known.
        silent_for: Option<Duration>,
        /// The limit.
        limit: Duration,
    },
    /// The cluster is no longer fenced.
    Unfenced,
    /// This agent took the lock (`took_over`: from a holder presumed dead).
    LockAcquired {
        /// Taken over from a lease observed unchanged for a whole lease.
        took_over: bool,
    },
    /// The lock this agent held was taken over or released by someone else.
    LockLost,
    /// This agent released the lock it held.
    LockReleased,
    /// The store failed (first failure, or a different one).
    StoreError {
        /// The error.
        message: String,
    },
    /// The store answers again.
    StoreRecovered,
    /// The cluster failed an action or a status read (first failure, or a different one).
    ClusterError {
        /// The error.
        message: String,
    },
    /// The cluster answers again.
    ClusterRecovered,
    /// The decision refuses something (a new refusal; repeated ones are not re-emitted).
    Refused {
        /// Why.
        refusal: Refusal,
    },
    /// An automatic failover is due but blocked (emitted when the reason kind changes).
    FailoverBlocked {
        /// Why it is due and why it is blocked.
        message: String,
    },
    /// A transition was found stuck and is being ended by this agent.
    Stuck {
        /// The transition's id.
        id: String,
        /// How it is ended.
        ending: HistoryStatus,
    },
}

fn secs(d: Duration) -> String {
    crate::duration::GoDuration(Duration::from_secs(d.as_secs())).to_string()
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Primary => "PRIMARY",
        Role::Standby => "STANDBY",
        Role::Fenced => "FENCED",
    }
}

impl fmt::Display for AgentEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use AgentEventKind as K;
        match self {
            K::RoleChanged { from, to, epoch } => match from {
                Some(from) => write!(f, "role {} -> {} (epoch {epoch})", role(*from), role(*to)),
                None => write!(f, "role {} (epoch {epoch})", role(*to)),
            },
            K::TransitionStarted {
                id,
                source,
                target,
                mode,
                force,
                automatic,
                reason,
                requested_here,
            } => {
                let verb = if *requested_here { "requested" } else { "seen" };
                let auto = if *automatic { " automatic" } else { "" };
                let forced = if *force { " forced" } else { "" };
                write!(
                    f,
                    "transition {id} {verb}:{auto}{forced} {mode} {source} -> {target} ({reason})"
                )
            }
            K::PhaseChanged { id, from, to } => match from {
                Some(from) => write!(f, "transition {id}: phase {from} -> {to}"),
                None => write!(f, "transition {id}: phase {to}"),
            },
            K::OwnershipFlipped {
                source,
                target,
                epoch,
            } => write!(f, "ownership {source} -> {target} (epoch {epoch})"),
            K::TransitionEnded {
                id,
                source,
                target,
                mode,
                automatic,
                outcome,
                duration,
                downtime,
            } => {
                let auto = if *automatic { " automatic" } else { "" };
                write!(
                    f,
                    "transition {id} ended {outcome}:{auto} {mode} {source} -> {target}"
                )?;
                if let Some(d) = duration {
                    write!(f, ", took {}", secs(*d))?;
                }
                if let Some(d) = downtime {
                    write!(f, ", downtime {}", secs(*d))?;
                }
                Ok(())
            }
            K::Fenced { silent_for, limit } => match silent_for {
                Some(s) => write!(
                    f,
                    "fenced: last successful heartbeat {} ago (limit {})",
                    secs(*s),
                    secs(*limit)
                ),
                None => write!(f, "fenced: no recent successful heartbeat"),
            },
            K::Unfenced => write!(f, "unfenced: heartbeats succeed again"),
            K::LockAcquired { took_over: true } => write!(f, "took the lock over"),
            K::LockAcquired { took_over: false } => write!(f, "took the lock"),
            K::LockLost => write!(f, "lost the lock"),
            K::LockReleased => write!(f, "released the lock"),
            K::StoreError { message } => write!(f, "store error: {message}"),
            K::StoreRecovered => write!(f, "store reachable again"),
            K::ClusterError { message } => write!(f, "cluster error: {message}"),
            K::ClusterRecovered => write!(f, "cluster reachable again"),
            K::Refused { refusal } => write!(f, "refused: {refusal}"),
            K::FailoverBlocked { message } => write!(f, "{message}"),
            K::Stuck { id, ending } => write!(f, "transition {id} is stuck; ending it as {ending}"),
        }
    }
}

impl fmt::Display for AgentEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.cluster, self.group, self.kind)
    }
}

/// Where agents send their events. Emitting must not block: agents call it from their tick.
pub trait EventSink: Send + Sync {
    /// Takes one event.
    fn emit(&self, event: AgentEvent);
}

impl EventSink for tokio::sync::mpsc::UnboundedSender<AgentEvent> {
    fn emit(&self, event: AgentEvent) {
        // A closed channel means nobody listens any more (the demo's display ended): the agent
        // keeps working without it.
        let _ = self.send(event);
    }
}

/// Drops every event (for agents nobody watches).
impl EventSink for () {
    fn emit(&self, _event: AgentEvent) {}
}

/// Keeps every event in memory, in order; for tests.
#[derive(Debug, Default)]
pub struct CollectingSink {
    events: Mutex<Vec<AgentEvent>>,
}

impl CollectingSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<AgentEvent> {
        self.lock().clone()
    }

    /// Every event so far, removing them.
    pub fn take(&self) -> Vec<AgentEvent> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AgentEvent>> {
        // A push either happened or not: the events are whole even after a panic elsewhere.
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl EventSink for CollectingSink {
    fn emit(&self, event: AgentEvent) {
        self.lock().push(event);
    }
}
