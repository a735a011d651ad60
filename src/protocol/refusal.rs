//! `Refusal`: why a request or a decision was not carried out. Refusals are values, never
//! panics; each message names the group and, when there is one, the next step.

use super::policy::InvalidTimings;
use crate::store::{GroupId, Phase};

/// Why a transition was not requested, or why an agent does not act on what it read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Refusal {
    /// The target already owns the group: an idempotent no-op, reported as such.
    #[error("{cluster} is already primary for {group}; nothing to do")]
    AlreadyPrimary {
        /// The group.
        group: GroupId,
        /// The owner that was asked to become owner.
        cluster: String,
    },
    /// The target has no `CLUSTER#` record in the group.
    #[error(
        "cluster {target:?} is not part of {group} (clusters with a heartbeat record: {}); check the name, or wait for that cluster's agent to write its first heartbeat",
        .known.join(", ")
    )]
    UnknownTarget {
        /// The group.
        group: GroupId,
        /// The name asked for.
        target: String,
        /// The clusters that are part of the group.
        known: Vec<String>,
    },
    /// Another transition is in flight; only one at a time.
    #[error(
        "{group} already has a transition in flight ({id}: {from} -> {to}, phase {phase}); wait for it to end (it is rolled back or completed after timeouts.transitoryState without progress)"
    )]
    TransitionInFlight {
        /// The group.
        group: GroupId,
        /// The transition in flight.
        id: String,
        /// Its source (`source` would be taken for an error source).
        from: String,
        /// Its target.
        to: String,
        /// Its phase.
        phase: Phase,
    },
    /// UPTIME would make two clusters' volumes primary at once.
    #[error(
        "UPTIME failover of {group} refused: it has volume replications, and promoting a secondary volume while the primary still serves splits the data; use CONSISTENCY mode, or force it if you accept that"
    )]
    UptimeWithVolumes {
        /// The group.
        group: GroupId,
    },
    /// CONFIG's timeouts cannot keep the protocol safe.
    #[error(transparent)]
    InvalidTimings(#[from] InvalidTimings),
    /// The transition in CONFIG contradicts itself or the group; nobody guesses what was meant.
    #[error(
        "transition {id} of {group} is malformed: {problem}; nobody drives it, and it is ended after timeouts.transitoryState (or fix CONFIG by hand)"
    )]
    Malformed {
        /// The group.
        group: GroupId,
        /// The transition's id.
        id: String,
        /// What is wrong.
        problem: String,
    },
    /// The owner has no `CLUSTER#` record, so its liveness cannot be judged.
    #[error(
        "{group}'s owner {owner:?} has no heartbeat record, so whether it is alive is unknown; no automatic failover (if it is gone, promote another cluster by hand with force: the flip then waits until the missing record has been observed unchanged for timeouts.heartbeat)"
    )]
    OwnerUnknown {
        /// The group.
        group: GroupId,
        /// The owner named in CONFIG.
        owner: String,
    },
}

impl Refusal {
    /// True when nothing needed doing (the caller reports success, not an error).
    pub fn is_no_op(&self) -> bool {
        matches!(self, Refusal::AlreadyPrimary { .. })
    }
}
