//! What a simulated group is made of: the resources a FailoverGroup would list, and how fast the
//! simulated cluster makes them catch up (replica readiness, volume promotion).

use std::fmt;
use std::time::Duration;

/// The kind of a scalable workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    /// An `apps/v1` Deployment.
    Deployment,
    /// An `apps/v1` StatefulSet.
    StatefulSet,
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // kubectl's lower-case resource names, so messages read like `deployment/web`.
        f.write_str(match self {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::StatefulSet => "statefulset",
        })
    }
}

/// One workload of a group, with the replica count it runs with when the group is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimWorkload {
    /// Deployment or StatefulSet.
    pub kind: WorkloadKind,
    /// Object name.
    pub name: String,
    /// Replicas when active: the count the real controller remembers in an annotation while the
    /// workload is scaled to 0.
    pub replicas: u32,
}

impl SimWorkload {
    /// A Deployment with the given replica count.
    pub fn deployment(name: &str, replicas: u32) -> Self {
        SimWorkload {
            kind: WorkloadKind::Deployment,
            name: name.to_string(),
            replicas,
        }
    }

    /// A StatefulSet with the given replica count.
    pub fn stateful_set(name: &str, replicas: u32) -> Self {
        SimWorkload {
            kind: WorkloadKind::StatefulSet,
            name: name.to_string(),
            replicas,
        }
    }
}

/// The resources of one group in a simulated cluster and the cluster's reaction times.
///
/// `Default` is an empty group with zero delays; the named constructors are the demo's groups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimGroupSpec {
    /// Deployments and StatefulSets scaled together.
    pub workloads: Vec<SimWorkload>,
    /// CronJob names (suspended on standby).
    pub cronjobs: Vec<String>,
    /// Flux HelmRelease / Kustomization names (suspended on standby, reconciled on resume).
    pub flux: Vec<String>,
    /// Ingress / VirtualService names whose DNS annotations make the cluster serve.
    pub network: Vec<String>,
    /// csi-addons VolumeReplication names.
    pub volume_replications: Vec<String>,
    /// Time for all replicas to become ready after a scale-up; replicas become ready one by one,
    /// evenly spread over it, so a group passes through DEGRADED on its way up.
    pub ready_delay: Duration,
    /// Time for a VolumeReplication to reach the asked state (primary or secondary).
    pub promote_delay: Duration,
}

impl SimGroupSpec {
    /// A stateful web application: Deployment `web` with 3 replicas, CronJob `nightly-report`,
    /// HelmRelease `web`, Ingress `web` and VolumeReplication `web-data`; replicas take 3 s to
    /// become ready and the volume 2 s to change role.
    pub fn web_app() -> Self {
        SimGroupSpec {
            workloads: vec![SimWorkload::deployment("web", 3)],
            cronjobs: vec!["nightly-report".to_string()],
            flux: vec!["web".to_string()],
            network: vec!["web".to_string()],
            volume_replications: vec!["web-data".to_string()],
            ready_delay: Duration::from_secs(3),
            promote_delay: Duration::from_secs(2),
        }
    }

    /// A stateless service without volumes (UPTIME failovers allowed): Deployment `api` with 2
    /// replicas, HelmRelease `api`, Ingress `api`; replicas take 2 s to become ready.
    pub fn stateless() -> Self {
        SimGroupSpec {
            workloads: vec![SimWorkload::deployment("api", 2)],
            cronjobs: Vec::new(),
            flux: vec!["api".to_string()],
            network: vec!["api".to_string()],
            volume_replications: Vec::new(),
            ready_delay: Duration::from_secs(2),
            promote_delay: Duration::ZERO,
        }
    }

    /// The same resources with zero delays: every action is done on its first application.
    pub fn instant(self) -> Self {
        self.with_delays(Duration::ZERO, Duration::ZERO)
    }

    /// The same resources with the given readiness and volume promotion delays.
    pub fn with_delays(mut self, ready_delay: Duration, promote_delay: Duration) -> Self {
        self.ready_delay = ready_delay;
        self.promote_delay = promote_delay;
        self
    }
}
