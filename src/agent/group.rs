//! `GroupAgent`: one group in one cluster, one tick at a time (heartbeat, read, step, writes,
//! converge), with no sleeping inside, so a test can drive it with a `ManualClock`.

mod health;
mod round;
mod start;
mod steps;

use super::beat::Heartbeats;
use super::changes::Changes;
use super::converge::{Converger, call_bound};
use super::events::{AgentEventKind, EventSink};

use super::{AgentError, GroupSpec};
use crate::clock::Clock;
use crate::k8s::ClusterActions;
use crate::protocol::{Decision, LocalProgress, Observations, validate_timeouts};
use crate::store::{CoordinationStore, GroupConfig, GroupId, Lock, Phase, validate_name};
use health::HealthResult;
use std::sync::Arc;
use std::time::Duration;

/// The shortest pause between two ticks, however short the heartbeat interval.
pub const MIN_FAST_TICK: Duration = Duration::from_millis(50);
/// While a transition involving this cluster is in flight, ticks come this many times per
/// heartbeat interval (each phase needs one tick of each side, so this bounds a planned promote).
pub const FAST_TICKS_PER_INTERVAL: u32 = 10;
/// Right after a write of this agent landed or its decision produced a new acknowledgement,
/// the next tick comes this many times sooner still: someone is waiting for exactly that.
pub const FOLLOW_UP_TICKS_PER_INTERVAL: u32 = 20;

/// How soon the next tick comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    /// One heartbeat interval.
    Steady,
    /// A transition involving this cluster is in flight, or this agent holds the lock.
    Transition,
    /// A write just landed or a new acknowledgement waits to be written.
    FollowUp,
}

/// One group in one cluster. See the module doc of `agent` for the tick.
pub struct GroupAgent {
    /// Shared with whoever started the agent (the controller compares a changed
    /// FailoverGroup's settings with it), never changed.
    spec: Arc<GroupSpec>,
    me: String,
    store: Arc<dyn CoordinationStore>,
    cluster: Arc<dyn ClusterActions>,
    clock: Arc<dyn Clock>,
    sink: Arc<dyn EventSink>,
    observations: Observations,
    previous: Option<Decision>,
    lock: Option<Lock>,
    progress: LocalProgress,
    network: Option<bool>,
    heartbeats: Heartbeats,
    volumes: Option<bool>,
    changes: Changes,
    interval: Duration,
    pace: Pace,
    version: Option<u64>,
    phase: Option<Phase>,
    /// Monotonic time at which this agent was created: no earlier incarnation can have written
    /// a heartbeat after it (see `group/start.rs`).
    created: Duration,
    /// The serve window of the bootstrap CONFIG (`None`: self-fencing is off), for the fence of
    /// an agent that never reached the store.
    start_window: Option<Duration>,
    /// The cluster is fenced because this agent never reached the store since it started.
    fenced_at_start: bool,
    /// The cluster's last health answer (`None`: none yet), for the next heartbeat.
    health: Option<HealthResult>,
    /// When the current (or last) tick started, for the pace.
    tick_started: Duration,
    /// When the last tick finished.
    last_tick_finished: Option<Duration>,
}

impl std::fmt::Debug for GroupAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupAgent")
            .field("group", &self.spec.group)
            .field("cluster", &self.me)
            .field("role", &self.previous.as_ref().map(|d| d.role))
            .field("lock", &self.lock.as_ref().map(|l| &l.lease_token))
            .finish_non_exhaustive()
    }
}

impl GroupAgent {
    /// An agent for `spec.group` in `cluster`, talking to `store`. Nothing is read or written
    /// until the first tick. Fails when the bootstrap CONFIG is unusable.
    pub fn new(
        spec: impl Into<Arc<GroupSpec>>,
        store: Arc<dyn CoordinationStore>,
        cluster: Arc<dyn ClusterActions>,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn EventSink>,
    ) -> Result<GroupAgent, AgentError> {
        let spec = spec.into();
        let me = cluster.cluster_name().to_string();
        if spec.bootstrap.group != spec.group {
            return Err(AgentError::BootstrapForAnotherGroup {
                cluster: me,
                group: spec.group.clone(),
                bootstrap_group: spec.bootstrap.group.clone(),
            });
        }
        validate_timeouts(&spec.bootstrap).map_err(|source| AgentError::InvalidBootstrap {
            cluster: me.clone(),
            source: Box::new(source),
        })?;
        validate_name("cluster name", &me).map_err(|e| AgentError::InvalidClusterName {
            cluster: me.clone(),
            problem: e.problem,
        })?;
        let interval = spec.bootstrap.heartbeat_interval.get();
        let heartbeats = Heartbeats::new(clock.now());
        let start_window = start::window(&spec);
        let created = clock.monotonic();
        Ok(GroupAgent {
            spec,
            me,
            store,
            cluster,
            clock,
            sink,
            observations: Observations::default(),
            previous: None,
            lock: None,
            progress: LocalProgress::unknown(),
            network: None,
            heartbeats,
            volumes: None,
            changes: Changes::default(),
            interval,
            pace: Pace::Steady,
            version: None,
            phase: None,
            created,
            start_window,
            fenced_at_start: false,
            health: None,
            tick_started: created,
            last_tick_finished: None,
        })
    }

    /// The group.
    pub fn group(&self) -> &GroupId {
        &self.spec.group
    }

    /// The CONFIG its FailoverGroup asks for (written when the table has none).
    pub fn bootstrap(&self) -> &GroupConfig {
        &self.spec.bootstrap
    }

    /// The spec the agent runs with.
    pub fn spec(&self) -> &Arc<GroupSpec> {
        &self.spec
    }

    /// This agent's cluster.
    pub fn cluster_name(&self) -> &str {
        &self.me
    }

    /// The last decision the cluster was converged to.
    pub fn decision(&self) -> Option<&Decision> {
        self.previous.as_ref()
    }

    /// How far the cluster got toward its role.
    pub fn progress(&self) -> &LocalProgress {
        &self.progress
    }

    /// Whether this agent holds the group's lock (as far as it knows).
    pub fn holds_lock(&self) -> bool {
        self.lock.is_some()
    }

    /// The last heartbeat sequence number used.
    pub fn heartbeat_seq(&self) -> u64 {
        self.heartbeats.seq()
    }

    /// When the last tick finished, on the monotonic reading of the agent's clock
    /// ([`Clock::monotonic`]); `None` before the first one did. Every call of a tick is bounded,
    /// so a tick that never finishes means the agent itself is stuck (a liveness probe can
    /// compare this with the clock and the heartbeat interval).
    pub fn last_tick_finished(&self) -> Option<Duration> {
        self.last_tick_finished
    }

    /// The heartbeat interval this agent paces itself by.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// When to tick again: the heartbeat interval at steady state; a tenth of it (at least
    /// [`MIN_FAST_TICK`]) while a transition involving this cluster is in flight or this agent
    /// holds the lock, because every phase of a transition waits for one tick of each side; a
    /// twentieth right after one of its writes landed or its decision produced a new
    /// acknowledgement (the other side waits for exactly that). Never more often than the
    /// interval allows at steady state, so the steady cost stays one heartbeat and one read.
    /// The pace counts from the start of the last tick, so a tick slowed down by a call that
    /// ran into its bound does not space the heartbeats further apart.
    pub fn next_tick_in(&self) -> Duration {
        let pace = match self.pace {
            Pace::Steady => self.interval,
            Pace::Transition => self.interval / FAST_TICKS_PER_INTERVAL,
            Pace::FollowUp => self.interval / FOLLOW_UP_TICKS_PER_INTERVAL,
        };
        let now = self.clock.monotonic();
        let pace = pace.saturating_sub(now.saturating_sub(self.tick_started));
        // A PRIMARY wakes up at its serving deadline at the latest, so it fences itself on
        // time even when its store calls fail without a word; so does an agent that never
        // read the group, at the deadline of an earlier incarnation's service.
        let deadline = self
            .serving_deadline()
            .map(|until| until.saturating_sub(now));
        pace.min(deadline.unwrap_or(pace))
            .max(MIN_FAST_TICK)
            .min(self.interval)
    }

    /// When the cluster must stop serving unless a heartbeat succeeds first: the last
    /// decision's `serve_until`, while it made this cluster PRIMARY; before any decision, the
    /// latest moment an earlier incarnation could have let it serve (`start_deadline`).
    fn serving_deadline(&self) -> Option<Duration> {
        match &self.previous {
            Some(d) => d.serve_until.filter(|_| d.role.is_active()),
            None => self.start_deadline(),
        }
    }

    /// How long one call of this tick may take, to the store or to the cluster: a heartbeat
    /// interval, and never past the serving deadline (`call_bound`). A call that outlives it
    /// is a failed call. Without this bound a store that accepts connections and never answers
    /// would hold the tick (the SDK allows far longer than any heartbeat timeout), as would a
    /// hung API server, and a cut-off PRIMARY would keep serving after another cluster took
    /// over.
    pub(super) fn call_budget(&self) -> Duration {
        call_bound(
            self.interval,
            self.serving_deadline(),
            self.clock.monotonic(),
        )
    }

    /// The cluster side of this agent, for one convergence.
    fn converger(&mut self) -> Converger<'_> {
        Converger {
            cluster: self.cluster.as_ref(),
            clock: self.clock.as_ref(),
            group: &self.spec.group,
            interval: self.interval,
            network: &mut self.network,
            progress: &mut self.progress,
        }
    }

    /// Releases the lock this agent holds, if any (on shutdown: the next driver need not wait a
    /// lease to take it over).
    pub async fn release_lock(&mut self) {
        let Some(lock) = self.lock.take() else {
            return;
        };
        let operator_id = &self.spec.bootstrap.operator_id;
        let result = self
            .store
            .release_lock(operator_id, &self.spec.group, &lock.lease_token)
            .await;
        match result {
            Ok(_) => self.emit(AgentEventKind::LockReleased),
            Err(e) => tracing::warn!(
                group = %self.spec.group,
                cluster = %self.me,
                "could not release the lock on shutdown (it is taken over after its lease): {e}"
            ),
        }
    }
}
