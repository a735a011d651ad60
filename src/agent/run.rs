//! `Agent`: every group of one cluster, each in its own task (the one place in the agent that
//! spawns tasks), ticking until shutdown; on shutdown each releases the lock it holds.

use super::group::GroupAgent;
use super::{AgentError, EventSink, GroupSpec};
use crate::clock::Clock;
use crate::k8s::ClusterActions;
use crate::store::{CoordinationStore, GroupId};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

/// One cluster's agent: a [`GroupAgent`] per group.
#[derive(Debug)]
pub struct Agent {
    cluster: String,
    groups: Vec<GroupAgent>,
}

impl Agent {
    /// An agent for `cluster` running every group in `specs`. Fails (naming the group and the
    /// fix) on a bootstrap CONFIG that cannot be used or a group listed twice.
    pub fn new(
        specs: Vec<GroupSpec>,
        store: Arc<dyn CoordinationStore>,
        cluster: Arc<dyn ClusterActions>,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn EventSink>,
    ) -> Result<Agent, AgentError> {
        let name = cluster.cluster_name().to_string();
        let mut seen = BTreeSet::new();
        let mut groups = Vec::with_capacity(specs.len());
        for spec in specs {
            if !seen.insert(spec.group.clone()) {
                return Err(AgentError::DuplicateGroup {
                    cluster: name,
                    group: spec.group,
                });
            }
            groups.push(GroupAgent::new(
                spec,
                store.clone(),
                cluster.clone(),
                clock.clone(),
                sink.clone(),
            )?);
        }
        Ok(Agent {
            cluster: name,
            groups,
        })
    }

    /// The cluster this agent runs for.
    pub fn cluster_name(&self) -> &str {
        &self.cluster
    }

    /// Runs every group until `shutdown` turns true (or its sender is dropped: nobody can stop
    /// the agent any more, so it stops now rather than run unsupervised). Each group ticks, then
    /// sleeps `next_tick_in`; on shutdown it finishes its tick, releases a held lock and stops.
    /// If a group's task fails, the others are stopped the same way and the error is returned,
    /// so the process can exit non-zero and be restarted.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), AgentError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut names: HashMap<tokio::task::Id, GroupId> = HashMap::new();
        let count = self.groups.len();
        for agent in self.groups {
            let group = agent.group().clone();
            let delay = super::stagger::first_tick_delay(&group, agent.interval(), count);
            let span = tracing::info_span!("group", group = %group, cluster = %self.cluster);
            let handle =
                tasks.spawn(run_group(Box::new(agent), stop_rx.clone(), delay).instrument(span));
            names.insert(handle.id(), group);
        }
        tracing::info!(cluster = %self.cluster, groups = names.len(), "agent started");

        let mut stopping = *shutdown.borrow();
        if stopping {
            let _ = stop_tx.send(true);
        }
        let mut failure = None;
        loop {
            tokio::select! {
                changed = shutdown.changed(), if !stopping => {
                    if changed.is_err() || *shutdown.borrow() {
                        stopping = true;
                        // Receivers live as long as the tasks, so this cannot fail while any
                        // task still needs it.
                        let _ = stop_tx.send(true);
                    }
                }
                joined = tasks.join_next_with_id() => match joined {
                    None => break,
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        let group = names.get(&e.id()).cloned();
                        tracing::error!(cluster = %self.cluster, group = ?group, "group task failed: {e}");
                        if let Some(group) = group {
                            failure.get_or_insert(AgentError::TaskFailed {
                                cluster: self.cluster.clone(),
                                group,
                                message: e.to_string(),
                            });
                        }
                        stopping = true;
                        let _ = stop_tx.send(true);
                    }
                },
            }
        }
        tracing::info!(cluster = %self.cluster, "agent stopped");
        failure.map_or(Ok(()), Err)
    }
}

/// One group's loop: wait `delay` (its share of the start-up spread), then tick, sleep, until
/// told to stop; then give the lock back. The agent comes boxed: an `async fn` keeps its
/// arguments apart from its locals, so an agent passed by value would be held twice.
pub(super) async fn run_group(
    mut agent: Box<GroupAgent>,
    mut stop: watch::Receiver<bool>,
    delay: Duration,
) {
    if !delay.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => {}
        }
    }
    loop {
        if *stop.borrow() {
            break;
        }
        // Boxed: a task's future is as large as its largest await, and the tick's is kilobytes
        // that every sleeping group would otherwise hold (see `resting_size`).
        let _report = Box::pin(agent.tick()).await;
        let pause = agent.next_tick_in();
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
    }
    Box::pin(agent.release_lock()).await;
}
