//! One group's task: tick the agent, note on the [`TickBoard`] when the next tick is due (for
//! `/healthz`), mirror what it saw into the FailoverGroup's status (when that changed, while
//! this replica leads, bounded by the heartbeat interval) and into the metrics, sleep until the
//! next tick; on stop, release the lock the agent holds.

use super::heartbeat_lag::{HeartbeatLag, behind_condition};
use super::leadership::Leadership;
use super::liveness::{TickBoard, budget_condition, budget_problem};
use super::metrics::{ClusterLabels, GroupLabels, LockLabels, Metrics};
use super::status::{HeartbeatAges, StatusInput, group_status};
use super::status_patch::StatusWriter;
use super::tap::TappedStore;
use crate::agent::{GroupAgent, TickReport};
use crate::clock::Clock;
use crate::crd::FailoverGroupStatus;
use crate::store::{GroupId, GroupSnapshot};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// A group's agent and what mirrors it.
pub(super) struct GroupTask {
    pub agent: GroupAgent,
    pub store: Arc<TappedStore>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub writer: StatusWriter,
    /// `metadata.generation` of the FailoverGroup, kept current by the supervisor.
    pub generation: Arc<AtomicI64>,
    /// The group's heartbeat interval.
    pub interval: Duration,
    /// Whether the group's agent fences itself before CONFIG was read (the spec's `selfFencing`).
    pub self_fencing: bool,
    /// This replica's leadership: status writes only while it holds.
    pub leadership: Arc<Leadership>,
    /// Where the next tick's due time is noted for `/healthz`.
    pub ticks: Arc<TickBoard>,
    /// The liveness probe budget (`LIVENESS_BUDGET`); `None`: not checked.
    pub liveness_budget: Option<Duration>,
    /// The budget problem last reported (`None`: nothing reported yet).
    pub budget_reported: Option<Option<String>>,
    /// How long the first tick waits: its share of the start-up spread (`agent::stagger`).
    pub first_tick_delay: Duration,
    /// The notification webhooks' view of this group; `None`: notifications off. Boxed: 360
    /// bytes inline in every group's task, notifications on or not.
    pub notify: Option<Box<crate::notify::GroupNotifier>>,
}

impl GroupTask {
    /// Ticks until `stop` turns true (or its sender is gone), then releases the lock. Boxed:
    /// an `async fn` keeps its arguments apart from its locals, so a task passed by value
    /// would be held twice by every sleeping group.
    pub async fn run(mut self: Box<Self>, mut stop: watch::Receiver<bool>) {
        let group = self.agent.group().clone();
        self.ticks.started(&group, self.interval);
        let mut ages = HeartbeatAges::default();
        let mut last_ages = BTreeMap::new();
        let mut holder: Option<String> = None;
        if !self.first_tick_delay.is_zero() {
            tokio::select! {
                _ = tokio::time::sleep(self.first_tick_delay) => {}
                _ = stop.changed() => {}
            }
        }
        let mut lag = HeartbeatLag::new(self.clock.monotonic());
        loop {
            if *stop.borrow() {
                break;
            }
            // Boxed, as the release below: a task's future is as large as its largest await,
            // and a sleeping group would otherwise hold the tick's kilobytes (12 KiB per group
            // at 1,000 groups, heaptrack: about 120 MiB at 10,000), and the report and the
            // snapshot copy it read (10,000 groups, heaptrack, docs/benchmarks.md). The tick
            // and the status write apart, and nothing else held while either waits: a tick
            // waiting for the store, or a status waiting for its turn to be written (every
            // group's, while DynamoDB or the API server does not answer), holds only its own
            // state (5.6 KiB a group together at 10,000, heaptrack).
            let report = Box::pin(self.agent.tick()).await;
            let (due, status, interval) = self.after_tick(
                report,
                &group,
                &mut ages,
                &mut last_ages,
                &mut holder,
                &mut lag,
            );
            Box::pin(self.write_status(&group, status, interval)).await;
            let pause = due.saturating_sub(self.clock.monotonic());
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
        Box::pin(self.agent.release_lock()).await;
        self.clear_metrics(&last_ages, holder);
        self.ticks.stopped(&group);
    }

    /// A tick's mirror (gauges, notifications, the status to write); returns when the next
    /// tick is due, on the monotonic clock, the status and the heartbeat interval.
    fn after_tick(
        &mut self,
        report: TickReport,
        group: &GroupId,
        ages: &mut HeartbeatAges,
        last_ages: &mut BTreeMap<String, Duration>,
        holder: &mut Option<String>,
        lag: &mut HeartbeatLag,
    ) -> (Duration, FailoverGroupStatus, Duration) {
        lag.observe(&report);
        // Taken before the status write, so that a slow write never delays the next tick
        // past the agent's serving deadline.
        let pause = self.agent.next_tick_in();
        let due = self.clock.monotonic() + pause;
        let snapshot = self.store.last_snapshot(group);
        let interval = snapshot
            .as_ref()
            .map(|s| s.config.heartbeat_interval.get())
            .filter(|i| !i.is_zero())
            .unwrap_or(self.interval);
        let serve_until = self
            .agent
            .decision()
            .filter(|d| d.role.is_active())
            .and_then(|d| d.serve_until);
        self.ticks.finished(group, interval, pause, serve_until);
        if report.version.is_some()
            && let Some(snapshot) = &snapshot
        {
            *last_ages = ages.observe(snapshot, self.clock.monotonic());
        }
        let overdue = lag.overdue(self.clock.monotonic(), interval);
        // Before the status write, which may wait: notifying only queues, never waits.
        if let Some(notify) = &mut self.notify {
            notify.after_tick(
                report.decision.as_ref().map(|d| d.role),
                snapshot.as_ref().filter(|_| report.version.is_some()),
                self.clock.now(),
            );
        }
        let status = self.mirror(
            &report,
            snapshot.as_ref(),
            interval,
            last_ages,
            holder,
            overdue,
        );
        (due, status, interval)
    }

    /// The FailoverGroup's status from what the tick saw; sets the gauges it feeds.
    fn mirror(
        &mut self,
        report: &TickReport,
        snapshot: Option<&GroupSnapshot>,
        interval: Duration,
        ages: &BTreeMap<String, Duration>,
        holder: &mut Option<String>,
        overdue: Duration,
    ) -> FailoverGroupStatus {
        let group = self.agent.group().clone();
        let generation = self.generation.load(Ordering::SeqCst);
        let generation = (generation > 0).then_some(generation);
        let mut status = group_status(StatusInput {
            me: self.agent.cluster_name(),
            report: Some(report),
            snapshot,
            previous: self.writer.written(),
            ages,
            interval: self.interval,
            wanted: Some(self.agent.bootstrap()),
            generation,
            now: self.clock.now(),
        });
        if let Some(budget) = self.liveness_budget {
            let config = snapshot.map_or(self.agent.bootstrap(), |s| &s.config);
            let problem = budget_problem(
                interval,
                config.timeouts.heartbeat.get(),
                // CONFIG's setting once read: that is the one the agent applies.
                snapshot.map_or(self.self_fencing, |s| s.config.self_fencing),
                budget,
            );
            self.report_budget(problem.as_deref());
            let condition =
                budget_condition(problem.as_deref(), budget, generation, self.clock.now());
            let _ = crate::crd::set_condition(&mut status.conditions, condition);
        }
        let heartbeat_timeout = snapshot
            .map_or(self.agent.bootstrap(), |s| &s.config)
            .timeouts
            .heartbeat;
        let behind = behind_condition(
            overdue,
            interval,
            heartbeat_timeout.get(),
            generation,
            self.clock.now(),
        );
        let _ = crate::crd::set_condition(&mut status.conditions, behind);
        self.mirror_gauges(report, snapshot, overdue);
        for (cluster, age) in ages {
            self.metrics
                .heartbeat_age
                .get_or_create(&ClusterLabels {
                    group: group.to_string(),
                    cluster: cluster.clone(),
                })
                .set(age.as_secs_f64());
        }
        let now_holder = snapshot
            .and_then(|s| s.lock.as_ref().map(|l| l.locked_by.clone()))
            .or_else(|| {
                self.agent
                    .holds_lock()
                    .then(|| self.agent.cluster_name().to_string())
            });
        if *holder != now_holder {
            if let Some(old) = holder.take() {
                self.metrics.lock_holder.remove(&LockLabels {
                    group: group.to_string(),
                    holder: old,
                });
            }
            if let Some(new) = &now_holder {
                self.metrics
                    .lock_holder
                    .get_or_create(&LockLabels {
                        group: group.to_string(),
                        holder: new.clone(),
                    })
                    .set(1);
            }
            *holder = now_holder;
        }
        status
    }

    /// Writes `status` if it changed, within one heartbeat interval and this replica's
    /// leadership; what went wrong is logged (the next tick writes it again).
    async fn write_status(
        &mut self,
        group: &GroupId,
        status: FailoverGroupStatus,
        interval: Duration,
    ) {
        // A status write must neither hold the next tick nor outlive this replica's leadership.
        // Boxed: `bounded` keeps its argument apart from what it awaits.
        let write = tokio::time::timeout(interval, Box::pin(self.writer.write(status)));
        match self.leadership.bounded(write).await {
            Err(e) => tracing::debug!(group = %group, "status not written: {e}"),
            Ok(Err(_)) => tracing::warn!(
                group = %group,
                "the API server did not answer the FailoverGroup status write within {interval:?} (one heartbeat interval); given up, the next tick writes it again"
            ),
            Ok(Ok(Ok(true))) => tracing::debug!(group = %group, "status written"),
            Ok(Ok(Ok(false))) => {}
            Ok(Ok(Err(kube::Error::Api(s)))) if s.code == 404 => {
                tracing::debug!(group = %group, "FailoverGroup gone; status not written")
            }
            Ok(Ok(Err(e))) => {
                tracing::warn!(group = %group, "could not write the FailoverGroup status: {e}")
            }
        }
    }

    /// The per-group gauges the alerts of deploy/monitoring read: fenced, the running
    /// transition's age, the heartbeat's lag.
    fn mirror_gauges(
        &self,
        report: &TickReport,
        snapshot: Option<&GroupSnapshot>,
        overdue: Duration,
    ) {
        let labels = GroupLabels {
            group: self.agent.group().to_string(),
        };
        let fenced = report
            .decision
            .as_ref()
            .is_some_and(|d| d.role == crate::protocol::Role::Fenced);
        self.metrics
            .fenced
            .get_or_create(&labels)
            .set(i64::from(fenced));
        self.metrics
            .heartbeat_lag
            .get_or_create(&labels)
            .set(overdue.as_secs_f64());
        match snapshot.and_then(|s| s.config.transition.as_ref()) {
            Some(t) => {
                // The requester's clock against ours: skew shifts the age a little, which an
                // alert threshold of minutes tolerates.
                let age = (self.clock.now() - t.requested_at)
                    .num_milliseconds()
                    .max(0);
                self.metrics
                    .transition_age
                    .get_or_create(&labels)
                    .set(age as f64 / 1000.0);
            }
            None => {
                // Only when the read succeeded: a failed read says nothing about the transition.
                if snapshot.is_some() && report.version.is_some() {
                    self.metrics.transition_age.get_or_create(&labels).set(0.0);
                }
            }
        }
    }

    /// Logs a warning and sets the metric when the probe budget stops (or starts) honouring
    /// the group's timings; said once per change, not every tick.
    fn report_budget(&mut self, problem: Option<&str>) {
        if self.budget_reported.as_ref().map(Option::as_deref) == Some(problem) {
            return;
        }
        let labels = GroupLabels {
            group: self.agent.group().to_string(),
        };
        match problem {
            Some(why) => {
                tracing::warn!(group = %labels.group, "{why}");
                self.metrics
                    .liveness_budget_short
                    .get_or_create(&labels)
                    .set(1);
            }
            None => {
                self.metrics.liveness_budget_short.remove(&labels);
            }
        }
        self.budget_reported = Some(problem.map(str::to_string));
    }

    fn clear_metrics(&self, ages: &BTreeMap<String, Duration>, holder: Option<String>) {
        let group = self.agent.group().to_string();
        let labels = GroupLabels {
            group: group.clone(),
        };
        self.metrics.liveness_budget_short.remove(&labels);
        self.metrics.fenced.remove(&labels);
        self.metrics.transition_age.remove(&labels);
        self.metrics.heartbeat_lag.remove(&labels);
        for cluster in ages.keys() {
            self.metrics.heartbeat_age.remove(&ClusterLabels {
                group: group.clone(),
                cluster: cluster.clone(),
            });
        }
        if let Some(holder) = holder {
            self.metrics
                .lock_holder
                .remove(&LockLabels { group, holder });
        }
    }
}

#[cfg(test)]
#[path = "group_task_tests.rs"]
mod tests;
