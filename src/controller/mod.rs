//! The `run` controller: watches FailoverGroups and Failovers in one Kubernetes cluster, runs a
//! [`crate::agent::GroupAgent`] per group while this replica leads, mirrors each group's state
//! into its status, turns Failover resources into transition requests, and serves `/healthz`,
//! `/readyz` and `/metrics`.
//!
//! Tasks: [`run::run`] is the one place that spawns the controller's long-lived tasks (leader
//! election, event publisher, the two reconcile loops); [`supervisor`] spawns one task per group
//! (it owns their lifetimes, as `agent::run` does for the demo). Everything else is plain
//! functions, most of them pure and tested beside the code.
//!
//! Files: [`leader`] (pure Lease decisions), [`lease`] (the Lease loop) and [`leadership`]
//! (leadership judged by the clock), [`guarded`] (cluster actions refused once leadership
//! lapsed), [`supervisor`] (the dynamic set of group agents) and `group_task` (one group's
//! loop), [`liveness`] (stalled ticks and the probe budget), [`status`] (pure
//! FailoverGroup status), `status_patch` (writing it only when it changed), [`groups`]
//! (FailoverGroup reconcile and finalizer), [`failovers`] (Failover reconcile) and
//! [`failover_progress`] (pure Failover status), [`events`] (agent events to Kubernetes
//! Events), [`metrics`], [`tap`] (store wrapper: metrics and the last snapshot per group),
//! [`http`] (health and metrics server, bound first at start-up), [`startup`] (waiting for the
//! DynamoDB table at start-up), [`run`] (wiring and shutdown).

pub mod context;
pub mod event_series;
pub mod events;
pub mod failover_progress;
pub mod failovers;
mod group_task;
pub mod groups;
pub mod guarded;
pub mod heartbeat_lag;
pub mod http;
pub mod leader;
pub mod leadership;
pub mod lease;
pub mod liveness;
pub mod metrics;
pub mod redact;
pub mod run;
pub mod startup;
pub mod status;
pub mod status_patch;
pub mod supervisor;
pub mod tap;
pub mod unreadable;
pub mod watch_cache;

pub use run::{Controller, ControllerDeps};

use std::time::Duration;

/// The finalizer the controller puts on every FailoverGroup it manages.
pub const FINALIZER: &str = "kubectl-failover.io/cleanup";
/// The controller's name in Kubernetes Events and as the status field manager.
pub const CONTROLLER_NAME: &str = "kubectl-failover";

/// What the controller is told at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerSettings {
    /// This cluster's CLUSTER_NAME.
    pub cluster_name: String,
    /// The OPERATOR_ID whose groups this controller runs.
    pub operator_id: String,
    /// Watch only this namespace; `None`: every namespace.
    pub namespace: Option<String>,
    /// Lease-based leader election; `None`: this replica always acts (one replica only).
    pub leader_election: Option<LeaderSettings>,
    /// How often a Failover in progress is checked again.
    pub failover_poll: Duration,
}

/// Leader election on a coordination.k8s.io/v1 Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderSettings {
    /// This replica's identity (POD_NAME).
    pub identity: String,
    /// Namespace of the Lease (POD_NAMESPACE).
    pub namespace: String,
    /// Name of the Lease.
    pub lease_name: String,
    /// How long a Lease lasts without renewal before another replica may take it.
    pub lease_duration: Duration,
    /// The leader stops acting when it has not renewed for this long (less than the duration).
    pub renew_deadline: Duration,
    /// How often the Lease is read and renewed.
    pub retry_period: Duration,
}

impl LeaderSettings {
    /// The usual timings for `lease_duration`: renew within 2/3 of it, try every 1/5 of it.
    pub fn with_duration(
        identity: &str,
        namespace: &str,
        lease_name: &str,
        lease_duration: Duration,
    ) -> Self {
        LeaderSettings {
            identity: identity.to_string(),
            namespace: namespace.to_string(),
            lease_name: lease_name.to_string(),
            lease_duration,
            renew_deadline: lease_duration * 2 / 3,
            retry_period: (lease_duration / 5).max(Duration::from_millis(100)),
        }
    }
}

/// Why the controller stopped with an error. Each message names the cause and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// The Kubernetes API could not be reached at start-up.
    #[error(
        "no Kubernetes cluster reachable: {message}; run inside a cluster or set KUBECONFIG to a kubeconfig whose current context points at one"
    )]
    NoCluster {
        /// What the client said.
        message: String,
    },
    /// The CRDs are not installed in the cluster.
    #[error(
        "the {resource} API is not served by the cluster: {message}; install the CRDs with: kubectl apply -f deploy/crds/failover.yaml"
    )]
    MissingCrd {
        /// `failovergroups.kubectl-failover.io` or `failovers.kubectl-failover.io`.
        resource: &'static str,
        /// What the API server said.
        message: String,
    },
    /// The settings cannot work.
    #[error("{0}")]
    Settings(String),
    /// A vital task ended: the process exits so that Kubernetes restarts it.
    #[error("the {task} task stopped: {message}; the process exits so that it is restarted")]
    TaskFailed {
        /// Which task.
        task: &'static str,
        /// Why.
        message: String,
    },
}

impl ControllerError {
    /// The exit code this error ends `run` with.
    pub fn exit_code(&self) -> crate::error::ExitCode {
        use crate::error::ExitCode;
        match self {
            ControllerError::NoCluster { .. } => ExitCode::Unavailable,
            ControllerError::MissingCrd { .. } => ExitCode::NotFound,
            ControllerError::Settings(_) => ExitCode::Usage,
            ControllerError::TaskFailed { .. } => ExitCode::Internal,
        }
    }
}

/// The PatchParams of every patch the controller sends itself (FailoverGroup and Failover status,
/// the finalizer): the field manager of the Kubernetes actions (`FIELD_MANAGER`, default
/// `kubectl-failover`), so an object's managedFields say which fields this controller owns.
pub fn patch_params() -> kube::api::PatchParams {
    static MANAGER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let manager = MANAGER.get_or_init(|| {
        crate::k8s::kube::settings::KubeSettings::from_env()
            .map(|s| s.field_manager)
            .unwrap_or_else(|_| crate::k8s::kube::settings::DEFAULT_FIELD_MANAGER.to_string())
    });
    kube::api::PatchParams {
        field_manager: Some(manager.clone()),
        ..Default::default()
    }
}
