//! One tick: switch the cluster off first if the last decision says so, then heartbeat, read,
//! observe, step, writes and converge, with the cluster's health read alongside.

use super::super::events::AgentEventKind;
use super::super::execute::Writer;
use super::super::report::{TickReport, WriteOutcome};
use super::{GroupAgent, Pace};
use crate::protocol::step;
use crate::store::GroupSnapshot;
use std::time::Duration;

impl GroupAgent {
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
        // Boxed: allocated only on the ticks that switch the cluster off here.
        let _ = Box::pin(self.converger().run(&decision)).await;
    }

    /// One full round: heartbeat, read, observe, step, writes, converge; the cluster's health
    /// is read alongside (off the heartbeat's path, see `group/health.rs`).
    pub async fn tick(&mut self) -> TickReport {
        let at = self.clock.monotonic();
        self.tick_started = at;
        let mut events = Vec::new();
        let mut report = TickReport::starting(at);

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
    /// What follows the read is boxed: a tick waiting for the store (every group's, while it
    /// does not answer) holds only what the heartbeat and the read need.
    async fn round(&mut self, report: &mut TickReport, events: &mut Vec<AgentEventKind>) {
        self.heartbeat(report).await;
        let read_sent_at = self.clock.monotonic();
        let include_lock = self.previous.as_ref().is_none_or(|d| d.read_lock_next);
        let snapshot = self.read(include_lock, report).await;
        Box::pin(self.act(snapshot, include_lock, read_sent_at, report, events)).await;
    }

    /// Observe, step, writes, converge: the round once the read answered (or did not).
    async fn act(
        &mut self,
        snapshot: Option<GroupSnapshot>,
        include_lock: bool,
        read_sent_at: Duration,
        report: &mut TickReport,
        events: &mut Vec<AgentEventKind>,
    ) {
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
}
