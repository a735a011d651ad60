//! One group's task: tick the agent, mirror what it saw into the FailoverGroup's status (when
//! that changed) and into the metrics, sleep until the next tick; on stop, release the lock the
//! agent holds.

use super::metrics::{ClusterLabels, LockLabels, Metrics};
use super::status::{HeartbeatAges, StatusInput, group_status};
use super::status_patch::StatusWriter;
use super::tap::TappedStore;
use crate::agent::{GroupAgent, TickReport};
use crate::clock::Clock;
use crate::store::GroupConfig;
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
    /// The settings the FailoverGroup's spec asks for (its bootstrap CONFIG).
    pub wanted: GroupConfig,
}

impl GroupTask {
    /// Ticks until `stop` turns true (or its sender is gone), then releases the lock.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut ages = HeartbeatAges::default();
        let mut last_ages = BTreeMap::new();
        let mut holder: Option<String> = None;
        loop {
            if *stop.borrow() {
                break;
            }
            let report = self.agent.tick().await;
            if report.version.is_some()
                && let Some(snapshot) = self.store.last_snapshot(self.agent.group())
            {
                last_ages = ages.observe(&snapshot, self.clock.monotonic());
            }
            self.mirror(&report, &last_ages, &mut holder).await;
            let pause = self.agent.next_tick_in();
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
        }
        self.agent.release_lock().await;
        self.clear_metrics(&last_ages, holder);
    }

    async fn mirror(
        &mut self,
        report: &TickReport,
        ages: &BTreeMap<String, Duration>,
        holder: &mut Option<String>,
    ) {
        let group = self.agent.group().clone();
        let snapshot = self.store.last_snapshot(&group);
        let generation = self.generation.load(Ordering::SeqCst);
        let status = group_status(StatusInput {
            me: self.agent.cluster_name(),
            report: Some(report),
            snapshot: snapshot.as_ref(),
            previous: self.writer.written(),
            ages,
            interval: self.interval,
            wanted: Some(&self.wanted),
            generation: (generation > 0).then_some(generation),
            now: self.clock.now(),
        });
        match self.writer.write(status).await {
            Ok(true) => tracing::debug!(group = %group, "status written"),
            Ok(false) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {
                tracing::debug!(group = %group, "FailoverGroup gone; status not written")
            }
            Err(e) => {
                tracing::warn!(group = %group, "could not write the FailoverGroup status: {e}")
            }
        }

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
            .as_ref()
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
    }

    fn clear_metrics(&self, ages: &BTreeMap<String, Duration>, holder: Option<String>) {
        let group = self.agent.group().to_string();
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
