//! What both reconcilers share, and the error they return.

use super::ControllerSettings;
use super::events::EventQueue;
use super::leadership::{Leadership, NotLeading};
use super::metrics::Metrics;
use super::supervisor::Supervisor;
use super::tap::TappedStore;
use crate::agent::AgentError;
use crate::clock::Clock;
use crate::k8s::GroupResources;
use crate::store::{GroupId, StoreError};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Shared by the FailoverGroup and Failover reconcilers of one replica.
pub struct Context {
    /// Start-up settings.
    pub settings: ControllerSettings,
    /// The Kubernetes client.
    pub client: kube::Client,
    /// The store, tapped.
    pub store: Arc<TappedStore>,
    /// Tells the cluster side each group's resources.
    pub resources: Arc<dyn GroupResources>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Kubernetes Events.
    pub events: EventQueue,
    /// The running group agents.
    pub supervisor: tokio::sync::Mutex<Supervisor>,
    /// (group, generation) pairs already reported as malformed, so a Warning is emitted once
    /// per bad generation rather than at every reconcile (a re-list reconciles every object).
    pub reported_invalid: Mutex<HashSet<(GroupId, i64)>>,
    /// This replica's leadership, checked before every write a reconcile makes.
    pub leadership: Arc<Leadership>,
}

impl Context {
    /// Remembers that `group` at `generation` was reported; false if it already was.
    pub fn first_report(&self, group: &GroupId, generation: i64) -> bool {
        // A set of plain values: still whole after a panic elsewhere.
        let mut set = self
            .reported_invalid
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let key = (group.clone(), generation);
        if set.contains(&key) {
            return false;
        }
        set.retain(|(g, _)| g != group);
        set.insert(key)
    }
}

/// Why a reconcile did not finish; it is retried.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The Kubernetes API failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The agent could not be built.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// This cluster may not leave the group yet (see `groups::withdrawal`).
    #[error("{0}")]
    Withdrawal(String),
    /// The promote use case failed for another reason than the store.
    #[error("{0}")]
    Request(String),
    /// This replica's leadership lapsed: it writes nothing more (the reconcile loop stops).
    #[error(transparent)]
    NotLeading(#[from] NotLeading),
}
