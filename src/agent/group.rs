//! `GroupAgent`: one group in one cluster, one tick at a time (heartbeat, read, step, writes,
//! converge), with no sleeping inside, so a test can drive it with a `ManualClock`.

mod steps;

use super::beat::Heartbeats;
use super::changes::Changes;
use super::converge::Converger;
use super::events::{AgentEventKind, EventSink};
use super::execute::Writer;
use super::report::{TickReport, WriteOutcome};
use super::{AgentError, GroupSpec};
use crate::clock::Clock;
use crate::k8s::ClusterActions;
use crate::protocol::{Decision, LocalProgress, Observations, step, validate_timeouts};
use crate::store::{CoordinationStore, GroupId, Lock, Phase, validate_name};
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
        })
    }

    /// The group.
    pub fn group(&self) -> &GroupId {
        &self.spec.group
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

    /// When to tick again: the heartbeat interval at steady state; a tenth of it (at least
    /// [`MIN_FAST_TICK`]) while a transition involving this cluster is in flight or this agent
    /// holds the lock, because every phase of a transition waits for one tick of each side; a
    /// twentieth right after one of its writes landed or its decision produced a new
    /// acknowledgement (the other side waits for exactly that). Never more often than the
    /// interval allows at steady state, so the steady cost stays one heartbeat and one read.
    pub fn next_tick_in(&self) -> Duration {
        let pace = match self.pace {
            Pace::Steady => self.interval,
            Pace::Transition => self.interval / FAST_TICKS_PER_INTERVAL,
            Pace::FollowUp => self.interval / FOLLOW_UP_TICKS_PER_INTERVAL,
        };
        // A PRIMARY wakes up at its serving deadline at the latest, so it fences itself on
        // time even when its store calls fail without a word.
        let deadline = self
            .serving_deadline()
            .map(|until| until.saturating_sub(self.clock.monotonic()));
        pace.min(deadline.unwrap_or(pace))
            .max(MIN_FAST_TICK)
            .min(self.interval)
    }

    /// When the cluster must stop serving unless a heartbeat succeeds first: the last
    /// decision's `serve_until`, while it made this cluster PRIMARY.
    fn serving_deadline(&self) -> Option<Duration> {
        self.previous
            .as_ref()
            .filter(|d| d.role.is_active())
            .and_then(|d| d.serve_until)
    }

    /// How long one store call of this tick may take: a heartbeat interval, and never past the
    /// serving deadline. A call that outlives it is a failed call. Without this bound a store
    /// that accepts connections and never answers would hold the tick (the SDK allows far
    /// longer than any heartbeat timeout), and a cut-off PRIMARY would keep serving after
    /// another cluster took over.
    pub(super) fn store_budget(&self) -> Duration {
        let now = self.clock.monotonic();
        match self.serving_deadline() {
            Some(until) => until.saturating_sub(now).min(self.interval),
            None => self.interval,
        }
    }

    /// The cluster side of this agent, for one convergence.
    fn converger(&mut self) -> Converger<'_> {
        Converger {
            cluster: self.cluster.as_ref(),
            clock: self.clock.as_ref(),
            group: &self.spec.group,
            network: &mut self.network,
            progress: &mut self.progress,
        }
    }

    /// Switches the cluster off before any store call of this tick when the last decision
    /// says it must (its serving deadline passed, or a deactivation is unfinished): those
    /// steps need only the cluster, and must not wait for a store that may not answer.
    async fn fence_before_the_store(&mut self) {
        let Some(previous) = &self.previous else {
            return;
        };
        let now = self.clock.monotonic();
        let decision = previous.hold(now);
        if decision.role.is_active() || self.progress.deactivated {
            return;
        }
        let _ = self.converger().run(&decision).await;
    }

    /// One full round: heartbeat, read, observe, step, writes, converge.
    pub async fn tick(&mut self) -> TickReport {
        let at = self.clock.monotonic();
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

        self.fence_before_the_store().await;
        self.heartbeat(&mut report).await;
        let read_sent_at = self.clock.monotonic();
        let include_lock = self.previous.as_ref().is_none_or(|d| d.read_lock_next);
        let snapshot = self.read(include_lock, &mut report).await;
        let now = self.clock.monotonic();

        let decision = match &snapshot {
            Some(snap) => {
                self.observations.observe(snap, include_lock, now);
                self.heartbeats.saw(snap, &self.me);
                self.changes.config(&snap.config, false, &mut events);
                let facts = self.facts(snap, now, read_sent_at, &mut report).await;
                Some(step(&self.spec.policy, snap, &self.observations, &facts))
            }
            None => {
                report.held = true;
                self.previous.as_ref().map(|p| p.hold(now))
            }
        };
        let Some(decision) = decision else {
            // Never read the group: nothing is known, so the cluster is left alone (a serving
            // lease armed by an earlier incarnation still lapses on its own).
            self.finish(&mut report, events);
            return report;
        };
        self.changes.decision(&decision, report.held, &mut events);
        if decision.forget_lock && self.lock.take().is_some() {
            events.push(AgentEventKind::LockLost);
        }
        // A held decision has no writes: they need a fresh read.
        if snapshot.is_some() {
            let budget = self.store_budget();
            let mut writer = Writer {
                store: self.store.as_ref(),
                operator_id: &self.spec.bootstrap.operator_id,
                group: &self.spec.group,
                lock: &mut self.lock,
                changes: &mut self.changes,
                events: &mut events,
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
        self.finish(&mut report, events);
        report
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
