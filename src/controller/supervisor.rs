//! The dynamic set of group agents of one replica: started when a FailoverGroup is seen,
//! restarted when the settings the agent was built from change, stopped (lock released) when the
//! group is withdrawn or leadership is lost. The one place that spawns group tasks. Agents act
//! on the cluster through [`LeaderOnly`], so their changes stop at the leadership deadline even
//! before they are stopped.

use super::events::{EventQueue, GroupEventSink};
use super::group_task::GroupTask;
use super::guarded::LeaderOnly;
use super::leadership::Leadership;
use super::liveness::TickBoard;
use super::metrics::Metrics;
use super::status_patch::StatusWriter;
use super::tap::TappedStore;
use crate::agent::{AgentError, GroupAgent, GroupSpec};
use crate::clock::Clock;
use crate::crd::{FailoverGroup, GroupSettings};
use crate::k8s::ClusterActions;
use crate::store::{GroupConfig, GroupId};
use kube::{Api, Resource, ResourceExt};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// What group agents need, shared by all of them.
#[derive(Clone)]
pub struct AgentDeps {
    /// The store, tapped.
    pub store: Arc<TappedStore>,
    /// This cluster.
    pub cluster: Arc<dyn ClusterActions>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Kubernetes Events.
    pub events: EventQueue,
    /// For status writes.
    pub client: kube::Client,
    /// This replica's leadership: the agents' changes are refused once it lapses.
    pub leadership: Arc<Leadership>,
    /// Where each agent notes when its next tick is due, for `/healthz`.
    pub ticks: Arc<TickBoard>,
    /// The liveness probe budget (`LIVENESS_BUDGET`); `None`: not checked.
    pub liveness_budget: Option<std::time::Duration>,
    /// The turns of the status writes of every group (`status_patch::status_write_turns`).
    pub status_writes: Arc<tokio::sync::Semaphore>,
}

/// Whether `settings` are those `spec` runs with, the bootstrap's time stamp aside (it is the
/// time of each reconcile).
fn same_settings(spec: &GroupSpec, settings: &GroupSettings) -> bool {
    let unstamped = |c: &GroupConfig| GroupConfig {
        last_updated: None,
        ..c.clone()
    };
    spec.policy == settings.policy && unstamped(&spec.bootstrap) == unstamped(&settings.bootstrap)
}

/// One running agent. Its spec is the agent's own, shared: a copy inline made every entry of
/// the map 624 bytes, which the map holds twice while it grows (11 MiB at 10,000 groups), and
/// a boxed copy still a kilobyte per group with its strings.
struct Running {
    spec: Arc<GroupSpec>,
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
    generation: Arc<AtomicI64>,
}

/// What [`Supervisor::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// The agent was not running and now is.
    Started,
    /// The settings changed: the agent was stopped and started again.
    Restarted,
    /// Already running with these settings.
    Unchanged,
}

/// The running group agents.
pub struct Supervisor {
    deps: AgentDeps,
    running: HashMap<GroupId, Running>,
    /// The notification webhooks (`NOTIFY_CONFIG`); `None`: off.
    notifier: Option<Arc<crate::notify::Notifier>>,
}

impl Supervisor {
    /// No agents yet.
    pub fn new(deps: AgentDeps) -> Self {
        Supervisor {
            deps,
            running: HashMap::new(),
            notifier: None,
        }
    }

    /// Sends notifications through `notifier` from every agent started from now on.
    pub fn with_notifier(mut self, notifier: Option<Arc<crate::notify::Notifier>>) -> Self {
        self.notifier = notifier;
        self
    }

    /// Whether an agent runs for `group`.
    pub fn is_running(&self, group: &GroupId) -> bool {
        self.running.contains_key(group)
    }

    /// Starts the agent of `fg`, or restarts it when its settings changed.
    pub async fn upsert(
        &mut self,
        fg: &FailoverGroup,
        settings: GroupSettings,
    ) -> Result<Upserted, AgentError> {
        let generation = fg.metadata.generation.unwrap_or(0);
        let mut outcome = Upserted::Started;
        if let Some(running) = self.running.get(&settings.group) {
            if same_settings(&running.spec, &settings) && !running.handle.is_finished() {
                running.generation.store(generation, Ordering::SeqCst);
                return Ok(Upserted::Unchanged);
            }
            self.stop(&settings.group).await;
            outcome = Upserted::Restarted;
        }
        let group = settings.group.clone();
        let d = &self.deps;
        let sink: Arc<dyn crate::agent::EventSink> = Arc::new(GroupEventSink {
            queue: d.events.clone(),
            reference: fg.object_ref(&()),
            metrics: d.metrics.clone(),
        });
        // With notifications on, the task also gets the agent's transition events.
        let (sink, notify) = crate::notify::for_group(
            self.notifier.as_ref(),
            sink,
            &group,
            d.cluster.cluster_name(),
        );
        let interval = settings.bootstrap.heartbeat_interval.get();
        let self_fencing = settings.policy.self_fencing;
        let spec = GroupSpec {
            group: group.clone(),
            policy: settings.policy,
            bootstrap: settings.bootstrap,
            settings_from_spec: true,
        };
        let cluster: Arc<dyn ClusterActions> =
            Arc::new(LeaderOnly::new(d.cluster.clone(), d.leadership.clone()));
        let agent = GroupAgent::new(spec, d.store.clone(), cluster, d.clock.clone(), sink)?;
        let agent_spec = agent.spec().clone();
        let api: Api<FailoverGroup> = Api::namespaced(d.client.clone(), &group.namespace);
        let generation = Arc::new(AtomicI64::new(generation));
        let task = GroupTask {
            agent,
            store: d.store.clone(),
            clock: d.clock.clone(),
            metrics: d.metrics.clone(),
            writer: StatusWriter::new(
                api,
                &fg.name_any(),
                fg.status.clone(),
                d.status_writes.clone(),
            ),
            generation: generation.clone(),
            interval,
            self_fencing,
            leadership: d.leadership.clone(),
            ticks: d.ticks.clone(),
            liveness_budget: d.liveness_budget,
            budget_reported: None,
            notify: notify.map(Box::new),
            first_tick_delay: crate::agent::stagger::first_tick_delay(
                &group,
                interval,
                self.running.len() + 1,
            ),
        };
        let (stop, stop_rx) = watch::channel(false);
        let span =
            tracing::info_span!("group", group = %group, cluster = %d.cluster.cluster_name());
        let handle = tokio::spawn(Box::new(task).run(stop_rx).instrument(span));
        tracing::info!(group = %group, ?outcome, "group agent started");
        self.running.insert(
            group,
            Running {
                spec: agent_spec,
                stop,
                handle,
                generation,
            },
        );
        self.deps.metrics.groups.set(self.running.len() as i64);
        Ok(outcome)
    }

    /// Stops the agent of `group` and waits until it has released its lock; false if none ran.
    pub async fn stop(&mut self, group: &GroupId) -> bool {
        let Some(running) = self.running.remove(group) else {
            return false;
        };
        let _ = running.stop.send(true);
        if let Err(e) = running.handle.await {
            tracing::error!(group = %group, "group task ended abnormally: {e}");
        }
        // Also when the task panicked before taking itself off the board.
        self.deps.ticks.stopped(group);
        self.deps.store.forget(group);
        self.deps.metrics.groups.set(self.running.len() as i64);
        tracing::info!(group = %group, "group agent stopped");
        true
    }

    /// Stops every agent at once and waits for all of them (each releases its lock).
    pub async fn stop_all(&mut self) {
        let running: Vec<(GroupId, Running)> = self.running.drain().collect();
        for (_, r) in &running {
            let _ = r.stop.send(true);
        }
        for (group, r) in running {
            if let Err(e) = r.handle.await {
                tracing::error!(group = %group, "group task ended abnormally: {e}");
            }
            self.deps.ticks.stopped(&group);
            self.deps.store.forget(&group);
        }
        self.deps.metrics.groups.set(0);
    }

    /// A group whose task ended without being told to (it panicked): the process must exit.
    pub fn failed(&self) -> Option<GroupId> {
        self.running
            .iter()
            .find(|(_, r)| r.handle.is_finished())
            .map(|(g, _)| g.clone())
    }
}

#[cfg(test)]
mod tests {
    /// The map of running agents has an entry per group and holds its entries twice while it
    /// grows: the settings stay out of it (624 bytes an entry inline, 11 MiB at 10,000 groups).
    #[test]
    fn a_running_entry_keeps_the_settings_it_compares_out_of_the_map() {
        let entry = std::mem::size_of::<super::Running>();
        assert!(
            entry <= 64,
            "a running entry is {entry} bytes: its settings are held inline again"
        );
    }
}
