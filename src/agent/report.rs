//! `TickReport`: what one tick of a `GroupAgent` did, for tests, the demo and logs.

use crate::protocol::Decision;
use std::time::Duration;

/// How one write of a tick went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Done.
    Applied,
    /// Someone else moved first; the rest of the list was skipped.
    LostRace(String),
    /// The store failed; the rest of the list was skipped.
    Failed(String),
}

/// One write attempted in a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteReport {
    /// The intent's short name (`flip`, `acquire-lock`, ...).
    pub intent: &'static str,
    /// How it went.
    pub outcome: WriteOutcome,
}

/// What one tick did, for tests, the demo and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickReport {
    /// Monotonic time the tick started.
    pub at: Duration,
    /// The heartbeat sequence number written; `None` when the write failed.
    pub heartbeat_seq: Option<u64>,
    /// The CONFIG version read; `None` when the read failed.
    pub version: Option<u64>,
    /// The decision the cluster was converged to; `None` only before any read ever succeeded.
    pub decision: Option<Decision>,
    /// The read failed and the decision is the previous one held (`Decision::hold`).
    pub held: bool,
    /// The writes attempted, in order.
    pub writes: Vec<WriteReport>,
    /// The first store error of the tick.
    pub store_error: Option<String>,
    /// The first cluster error of the tick.
    pub cluster_error: Option<String>,
    /// Every step of the role reported done.
    pub converged: bool,
    /// What the first unfinished step waits for; for a cluster fenced because this agent has
    /// not reached the store since it started, says so ("could not reach the store since
    /// start ...; fenced ...").
    pub pending: Option<String>,
}

impl TickReport {
    /// A tick started at `at` that has done nothing yet.
    pub fn starting(at: Duration) -> TickReport {
        TickReport {
            at,
            heartbeat_seq: None,
            version: None,
            decision: None,
            held: false,
            writes: Vec::new(),
            store_error: None,
            cluster_error: None,
            converged: false,
            pending: None,
        }
    }
}
