//! The agent: the async shell around the pure protocol. One [`GroupAgent`] per group and cluster
//! writes its heartbeat, reads the group, asks `protocol::step`, carries out the writes it gets
//! back, and converges its own cluster to the role it was given; [`Agent`] runs one task per
//! group for one cluster.
//!
//! One tick of a [`GroupAgent`], exactly as `src/protocol/mod.rs` describes it:
//!
//! 0. switch the cluster off first when the last decision says so (its serving deadline
//!    passed), or when this agent never read the group and an earlier incarnation's service may
//!    have run out (`group/start.rs`); start the cluster's health read, which runs alongside
//!    the rest of the tick (`group/health.rs`),
//! 1. heartbeat (`CLUSTER#` with the previous decision's report, the cluster's last health
//!    answer and a never-repeating `heartbeatSeq`),
//! 2. read the group (the LOCK only when the previous decision asks for it; `Decision::hold` on
//!    a failed read),
//! 3. observe and `step`,
//! 4. execute the decision's writes in order, stopping at the first lost race or error,
//! 5. converge the cluster: renew the serving lease while PRIMARY, then run the role's actions
//!    in order with the decision's epoch, starting no activation step past `serve_until`.
//!
//! Every call of a tick, to the store or to the cluster, is bounded by one heartbeat interval
//! and never runs past the serving deadline; one that does not answer in time is a failed call.
//! So a tick always ends, and a hung store or API server can delay neither a heartbeat nor a
//! fence ([`GroupAgent::last_tick_finished`] shows that the agent itself is not stuck).
//!
//! A tick never sleeps, so tests drive agents with a `ManualClock`; [`GroupAgent::next_tick_in`]
//! says when to tick again (one heartbeat interval at steady state, much sooner while a
//! transition involving this cluster is in flight).
//!
//! Files: [`group`] (`GroupAgent` and its tick; `group/steps.rs` its heartbeat, read and facts),
//! [`report`] (`TickReport`), `beat` (the heartbeat record), `execute` (the store writes),
//! `converge` (the cluster side), `changes` (events derived from what changed), [`events`]
//! (`AgentEvent`, `EventSink`), [`run`] (`Agent`, the one place that spawns tasks).

mod beat;
mod changes;
mod converge;
pub mod events;
mod execute;
pub mod group;
pub mod report;
pub mod run;
pub mod stagger;

#[cfg(test)]
mod tests;

pub use events::{AgentEvent, AgentEventKind, CollectingSink, EventSink};
pub use group::GroupAgent;
pub use report::{TickReport, WriteOutcome, WriteReport};
pub use run::Agent;

use crate::protocol::{GroupPolicy, InvalidTimings};
use crate::store::{GroupConfig, GroupId};

/// One group as an agent runs it: its identity, its local policy, and the CONFIG to create when
/// the table has none yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// The group (FailoverGroup namespace/name).
    pub group: GroupId,
    /// Local settings: self-fencing, preference order, cool-down.
    pub policy: GroupPolicy,
    /// The CONFIG written with `create_config` when the table has none for the group (initial
    /// owner, timeouts, heartbeat interval; its `operator_id` is the operator the agent serves).
    /// An existing CONFIG always wins: bootstrap never overwrites anything.
    pub bootstrap: GroupConfig,
    /// Whether the bootstrap's settings come from a FailoverGroup that people edit: then an
    /// edit is brought into CONFIG (`protocol::sync_spec`). False where no such resource
    /// exists (the demo, tests of other things): CONFIG's settings are the only ones.
    pub settings_from_spec: bool,
}

/// Why an agent cannot run. Each message names the group and cluster, the cause and the fix.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The bootstrap CONFIG is for another group than the spec.
    #[error(
        "cluster {cluster}: the bootstrap CONFIG for group {group} names group {bootstrap_group}; give each GroupSpec a bootstrap CONFIG for its own group"
    )]
    BootstrapForAnotherGroup {
        /// This agent's cluster.
        cluster: String,
        /// The spec's group.
        group: GroupId,
        /// The group the bootstrap CONFIG names.
        bootstrap_group: GroupId,
    },
    /// The bootstrap CONFIG's timeouts cannot keep the protocol safe.
    #[error("cluster {cluster}: invalid bootstrap CONFIG: {source}")]
    InvalidBootstrap {
        /// This agent's cluster.
        cluster: String,
        /// What is wrong with the timeouts (names the group, the value and the fix).
        #[source]
        source: Box<InvalidTimings>,
    },
    /// The cluster's name cannot be used in the table's keys.
    #[error(
        "cluster name {cluster:?} cannot be used: {problem}; set CLUSTER_NAME to letters, digits, '-', '.' or '_'"
    )]
    InvalidClusterName {
        /// The name.
        cluster: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The same group was given twice to one agent.
    #[error("cluster {cluster}: group {group} is listed twice; give each group to the agent once")]
    DuplicateGroup {
        /// This agent's cluster.
        cluster: String,
        /// The group.
        group: GroupId,
    },
    /// A group's task ended abnormally (it panicked or was cancelled).
    #[error(
        "cluster {cluster}: the task of group {group} stopped: {message}; this is a bug, the process exits so that it is restarted"
    )]
    TaskFailed {
        /// This agent's cluster.
        cluster: String,
        /// The group.
        group: GroupId,
        /// What the runtime said.
        message: String,
    },
}
