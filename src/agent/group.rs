//! `GroupAgent`: one group in one cluster, one tick at a time (heartbeat, read, step, writes,
//! converge), with no sleeping inside, so a test can drive it with a `ManualClock`.

mod health;
mod start;
mod steps;

use super::beat::Heartbeats;
use super::changes::Changes;
use super::converge::{Converger, call_bound};
use super::events::{AgentEventKind, EventSink};
use super::execute::Writer;
use super::report::{TickReport, WriteOutcome};
use super::{AgentError, GroupSpec};
use crate::clock::Clock;
use crate::k8s::ClusterActions;
use crate::protocol::{Decision, LocalProgress, Observations, step, validate_timeouts};
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
    spec: GroupSpec,
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
        spec: GroupSpec,
        store: Arc<dyn CoordinationStore>,
        cluster: Arc<dyn ClusterActions>,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn EventSink>,
    ) -> Result<GroupAgent, AgentError> {
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

    /// Switches the cluster off before any store call of this tick when the last decision
    /// says it must (its serving deadline passed, or a deactivation is unfinished), or when
    /// this agent never read the group and an earlier incarnation's service may have run out
    /// (`fence_at_start`): those steps need only the cluster, and must not wait for a store
    /// that may not answer.
    async fn fence_before_the_store(&mut self, events: &mut Vec<AgentEventKind>) {
        let now = self.clock.monotonic();
        let decision = match &self.previous {
            Some(previous) => previous.hold(now),
            None => match self.fence_at_start(now, events) {
                Some(decision) => decision,
                None => return,
            },
        };
        if decision.role.is_active() || self.progress.deactivated {
            return;
        }
        let _ = self.converger().run(&decision).await;
    }

    /// One full round: heartbeat, read, observe, step, writes, converge; the cluster's health
    /// is read alongside (off the heartbeat's path, see `group/health.rs`).
    pub async fn tick(&mut self) -> TickReport {
        let at = self.clock.monotonic();
        self.tick_started = at;
        let mut events = Vec::new();
        let mut report = TickReport {
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
        };

        self.fence_before_the_store(&mut events).await;
        let probe = self.start_health(&mut report).await;
        let health = async move {
            match probe {
                Some(probe) => Some(probe.await),
                None => None,
            }
        };
        let ((), late) = tokio::join!(self.round(&mut report, &mut events), health);
        if let Some(result) = late {
            self.health_answered(result, &mut report);
        }
        self.finish(&mut report, events);
        self.last_tick_finished = Some(self.clock.monotonic());
        report
    }

    /// The tick without the health read: heartbeat, read, observe, step, writes, converge.
    async fn round(&mut self, report: &mut TickReport, events: &mut Vec<AgentEventKind>) {
        self.heartbeat(report).await;
        let read_sent_at = self.clock.monotonic();
        let include_lock = self.previous.as_ref().is_none_or(|d| d.read_lock_next);
        let snapshot = self.read(include_lock, report).await;
        let now = self.clock.monotonic();

        let decision = match &snapshot {
            Some(snap) => {
                self.fenced_at_start = false;
                self.observations.observe(snap, include_lock, now);
                self.heartbeats.saw(snap, &self.me);
                self.changes.config(&snap.config, false, events);
                let facts = self.facts(snap, now, read_sent_at, report).await;
                Some(step(&self.spec.policy, snap, &self.observations, &facts))
            }
            None => {
                report.held = true;
                match &self.previous {
                    Some(previous) => Some(previous.hold(now)),
                    None => self.fence_at_start(now, events),
                }
            }
        };
        let Some(decision) = decision else {
            // Never read the group, within its one bounded attempt to prove that the cluster
            // may serve: it is left alone until `created + min(interval, serve window)`, when
            // an agent that has still not read the group fences it (`fence_at_start`, see
            // `group/start.rs`).
            return;
        };
        self.changes.decision(&decision, report.held, events);
        if decision.forget_lock && self.lock.take().is_some() {
            events.push(AgentEventKind::LockLost);
        }
        // A held decision has no writes: they need a fresh read.
        if snapshot.is_some() {
            let budget = self.call_budget();
            let mut writer = Writer {
                store: self.store.as_ref(),
                operator_id: &self.spec.bootstrap.operator_id,
                group: &self.spec.group,
                lock: &mut self.lock,
                changes: &mut self.changes,
                events,
            };
            // Bounded like every store call of a tick. A write cut off here may still have
            // landed: every one of them is conditional, and the next read shows what happened.
            match tokio::time::timeout(budget, writer.run(&decision.writes)).await {
                Ok((writes, error)) => {
                    report.writes = writes;
                    report.store_error = report.store_error.take().or(error);
                }
                Err(_) => {
                    report.store_error.get_or_insert(format!(
                        "the store did not answer the decision's writes within {budget:?}; the next read shows which of them landed"
                    ));
                }
            }
        }

        let converged = self.converger().run(&decision).await;
        report.converged = converged.done;
        report.pending = converged.pending;
        report.cluster_error = report.cluster_error.take().or(converged.error);
        if self.fenced_at_start && report.pending.is_none() {
            report.pending = Some(self.start_fence_message(self.clock.monotonic()));
        }

        let new_ack = decision.report.ack.is_some()
            && self.previous.as_ref().map(|p| &p.report.ack) != Some(&decision.report.ack);
        let involved = snapshot
            .as_ref()
            .and_then(|s| s.config.transition.as_ref())
            .is_some_and(|t| t.source == self.me || t.target == self.me);
        // A write that landed (a request, the lock, a phase) changed the group: the next step
        // of the transition follows at once. A renewal alone changes nothing anyone waits for.
        let wrote = report
            .writes
            .iter()
            .any(|w| w.outcome == WriteOutcome::Applied && w.intent != "renew-lock");
        // A failed read must not make the agent hammer the store: it waits a full interval,
        // unless its cluster is still being switched off (every tick moves that on).
        self.pace = if report.held && (report.converged || decision.role.is_active()) {
            Pace::Steady
        } else if report.held {
            Pace::Transition
        } else if wrote || new_ack {
            Pace::FollowUp
        } else if involved || self.lock.is_some() {
            Pace::Transition
        } else {
            Pace::Steady
        };
        report.decision = Some(decision.clone());
        self.previous = Some(decision);
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
