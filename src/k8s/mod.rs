//! The cluster side: `ClusterActions` is the only way any code changes a cluster. The simulated
//! cluster implements it in memory for the demo and tests; `kube` implements it against a
//! Kubernetes API server for the `run` controller, which tells it each group's resources
//! through [`GroupResources`].

pub mod kube;
pub mod simulated;

use crate::crd::FailoverGroupSpec;
use crate::store::{GroupId, Health};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// One step of activating or deactivating a group's resources in a cluster. Activation runs
/// `PromoteVolumes, ScaleUp, ResumeJobs, NetworkOn`; deactivation the reverse kinds in the reverse
/// order: `NetworkOff, SuspendJobs, ScaleDown, DemoteVolumes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Volume replications to primary; done when every one reports primary.
    PromoteVolumes,
    /// Workloads back to their remembered replica counts; done when all replicas are ready.
    ScaleUp,
    /// CronJobs and Flux resources resumed (Flux reconcile requested).
    ResumeJobs,
    /// DNS/traffic annotations on: the cluster serves.
    NetworkOn,
    /// DNS/traffic annotations off: the cluster stops serving.
    NetworkOff,
    /// Workloads scaled to 0, the replica count remembered; done when no replica is left.
    ScaleDown,
    /// CronJobs and Flux resources suspended.
    SuspendJobs,
    /// Volume replications to secondary; done when every one reports secondary.
    DemoteVolumes,
}

impl Action {
    /// Activation steps, in order.
    pub const ACTIVATE: [Action; 4] = [
        Action::PromoteVolumes,
        Action::ScaleUp,
        Action::ResumeJobs,
        Action::NetworkOn,
    ];
    /// Deactivation steps, in order. Flux and CronJobs are suspended before anything is scaled
    /// down, so a reconcile in between cannot scale a workload back up (or a CronJob start a
    /// job) while the cluster stops; volumes are demoted only once no pod is left.
    pub const DEACTIVATE: [Action; 4] = [
        Action::NetworkOff,
        Action::SuspendJobs,
        Action::ScaleDown,
        Action::DemoteVolumes,
    ];
}

/// How far an action got.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Progress {
    /// The resources are in the asked state (idempotent: also when they already were).
    Done,
    /// Asked for; the cluster has not caught up yet (e.g. replicas not ready, volume demoting).
    Pending(String),
}

/// Health of one component of a group in a cluster, judged from real status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentHealth {
    /// OK, DEGRADED or ERROR.
    pub health: Health,
    /// Details for people; empty when healthy.
    pub message: String,
}

/// A cluster's judgement of a group's resources.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthReport {
    /// Per component (workloads, volumes, network, flux, ...).
    pub components: BTreeMap<String, ComponentHealth>,
}

impl HealthReport {
    /// The worst component health, OK when there are no components.
    pub fn overall(&self) -> Health {
        let worst = |h: Health| match h {
            Health::Ok => 0,
            Health::Degraded => 1,
            Health::Error => 2,
        };
        self.components
            .values()
            .map(|c| c.health)
            .max_by_key(|h| worst(*h))
            .unwrap_or(Health::Ok)
    }
}

/// Why a cluster action failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The action was decided under an older epoch than one already applied: a newer decision
    /// exists, so this one must not be carried out.
    #[error(
        "refused {action:?} for {group} at epoch {epoch}: the cluster already applied epoch {applied}; a newer decision exists, re-read the table"
    )]
    StaleEpoch {
        /// The group.
        group: String,
        /// The action refused.
        action: Action,
        /// The epoch it carried.
        epoch: u64,
        /// The newest epoch already applied.
        applied: u64,
    },
    /// The cluster's API could not be reached or refused the change.
    #[error("cluster {cluster} could not {} for {group}: {message}", describe_operation(*.action))]
    Unavailable {
        /// The cluster.
        cluster: String,
        /// The group.
        group: String,
        /// The action, or `None` when a read failed (`health`, `has_volume_replications`): those
        /// calls reach the same API and fail the same way, but carry no action.
        action: Option<Action>,
        /// The cause.
        message: String,
    },
}

/// The verb phrase for an [`ActionError::Unavailable`] message.
fn describe_operation(action: Option<Action>) -> String {
    match action {
        Some(action) => format!("apply {action:?}"),
        None => "read the status".to_string(),
    }
}

/// The only code that mutates a cluster. Every call is idempotent, carries the fencing epoch it was
/// decided under, and refuses epochs older than one already applied to the group.
#[async_trait]
pub trait ClusterActions: Send + Sync {
    /// The cluster's name.
    fn cluster_name(&self) -> &str;
    /// Carries out one step for a group (or reports how far it is).
    async fn apply(
        &self,
        group: &GroupId,
        action: Action,
        epoch: u64,
    ) -> Result<Progress, ActionError>;
    /// Judges the group's resources from their real status.
    async fn health(&self, group: &GroupId) -> Result<HealthReport, ActionError>;
    /// Whether the group has volume replications (UPTIME is refused for those unless forced).
    async fn has_volume_replications(&self, group: &GroupId) -> Result<bool, ActionError>;

    /// Allows the group's traffic to stay on for at most `lease` from now unless renewed again:
    /// a watchdog in the cluster takes the traffic off by itself when the lease lapses. The agent
    /// renews it every tick while its cluster is PRIMARY, with the protocol's serving deadline,
    /// so a cluster whose agent died stops serving before another cluster may take over (the
    /// protocol alone cannot switch off a cluster whose agent is gone). Returns whether this
    /// cluster enforces it; one that does not relies on the agent being restarted in time.
    async fn renew_serving_lease(
        &self,
        _group: &GroupId,
        _lease: std::time::Duration,
    ) -> Result<bool, ActionError> {
        Ok(false)
    }
}

/// Which resources each group has in this cluster, as its FailoverGroup lists them. The
/// controller calls it whenever a FailoverGroup is seen or changed, and before it starts the
/// group's agent, so the [`ClusterActions`] act on exactly what the spec lists.
pub trait GroupResources: Send + Sync {
    /// Sets (or replaces) the resources of `group` from its FailoverGroup spec.
    fn set_group(&self, group: &GroupId, spec: &FailoverGroupSpec);
    /// Forgets `group` (its FailoverGroup was deleted): later actions for it fail.
    fn remove_group(&self, group: &GroupId);
}
