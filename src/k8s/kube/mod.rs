//! `ClusterActions` against a Kubernetes API server (kube-rs), acting in each group's namespace
//! on exactly the objects its FailoverGroup lists (registered through [`GroupResources`]).
//!
//! - `workloads`: Deployments and StatefulSets scaled to 0 (count remembered in
//!   `kubectl-failover.io/replicas`) and back; `jobs`: CronJobs suspended and resumed;
//!   `traffic`: Ingress / VirtualService DNS annotations; `volumes`: csi-addons
//!   VolumeReplications; `flux`: HelmReleases and Kustomizations.
//! - `fencing`: every write is a JSON merge patch carrying the object's `resourceVersion` (a
//!   concurrent change fails with 409; the object is read, checked and patched again) and the
//!   fencing epoch in `kubectl-failover.io/epoch`, also on an object already in the asked state
//!   when its epoch is older; an object with a newer (or unreadable) epoch refuses an
//!   activation before anything is written (`batch` reads and checks all objects first), while
//!   a deactivation goes on, keeps that epoch and logs a warning.
//! - `health`: per-family components judged from real status; `errors`: failures naming
//!   the object and the fix; [`settings`]: field manager and DNS annotations; `objects`: the
//!   kinds.
//!
//! A missing optional API (Istio, Flux, csi-addons) is DEGRADED in health; an activation step
//! on it fails as unavailable, a deactivation step skips it (nothing of a kind the cluster does
//! not serve can run or serve traffic), so self-fencing still reaches the workloads.
//!
//! `renew_serving_lease` keeps the trait's default (not enforced): a lease enforced inside the
//! cluster needs something that switches DNS off when the agent is gone — a process other than
//! this one (its own lapse is what must be covered). Nothing in a stock cluster does that for
//! an annotation (a `Lease` object expires silently), so this cluster relies on the agent being
//! restarted in time, as the trait allows.

mod batch;
mod errors;
mod fencing;
mod flux;
mod health;
mod jobs;
mod objects;
mod pods;
pub mod settings;
mod stop_time;
mod traffic;
mod volumes;
mod workloads;

pub use errors::KubeError;
pub use fencing::EPOCH_ANNOTATION;
pub use flux::REQUESTED_AT_ANNOTATION;
pub use health::{FLUX, JOBS, NETWORK, VOLUMES, WORKLOADS};
pub use settings::{DnsAnnotations, KubeSettings, KubeSettingsError};
pub use workloads::REPLICAS_ANNOTATION;

use crate::clock::{Clock, SystemClock};
use crate::crd::{FailoverGroupSpec, WorkloadKind};
use crate::k8s::{Action, ActionError, ClusterActions, GroupResources, HealthReport, Progress};
use crate::store::GroupId;
use async_trait::async_trait;
use fencing::Fence;
use objects::{CRON_JOB, DEPLOYMENT, ObjectRef, STATEFUL_SET, VOLUME_REPLICATION};
use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError, RwLock};

/// One cluster's [`ClusterActions`] through a kube client.
pub struct KubeCluster {
    client: kube::Client,
    name: String,
    settings: KubeSettings,
    clock: Arc<dyn Clock>,
    /// Per group, its FailoverGroup's spec; shared, so a call waiting for the API server holds
    /// no copy of it (8 MiB of copies at 10,000 groups waiting, heaptrack).
    groups: RwLock<BTreeMap<GroupId, Arc<FailoverGroupSpec>>>,
    /// Per group, the newest epoch this process applied: refuses older ones even for objects
    /// the newer decision did not touch.
    applied: RwLock<BTreeMap<GroupId, u64>>,
}

impl KubeCluster {
    /// One cluster's actions through `client` (its default namespace is irrelevant: each group
    /// acts in its own namespace).
    pub fn new(client: kube::Client, cluster_name: &str, settings: KubeSettings) -> KubeCluster {
        KubeCluster {
            client,
            name: cluster_name.to_string(),
            settings,
            clock: Arc::new(SystemClock::new()),
            groups: RwLock::new(BTreeMap::new()),
            applied: RwLock::new(BTreeMap::new()),
        }
    }

    /// The same cluster reading the time (Flux `requestedAt` stamps) from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> KubeCluster {
        self.clock = clock;
        self
    }

    /// The settings it writes with.
    pub fn settings(&self) -> &KubeSettings {
        &self.settings
    }

    fn spec(
        &self,
        group: &GroupId,
        action: Option<Action>,
    ) -> Result<Arc<FailoverGroupSpec>, ActionError> {
        let groups = self.groups.read().unwrap_or_else(PoisonError::into_inner);
        groups.get(group).cloned().ok_or_else(|| ActionError::Unavailable {
            cluster: self.name.clone(),
            group: group.to_string(),
            action,
            message: "no FailoverGroup registered for it in this controller; apply the FailoverGroup in this cluster".into(),
        })
    }

    fn fence<'a>(&'a self, group: &'a GroupId, epoch: u64) -> Fence<'a> {
        Fence {
            client: &self.client,
            namespace: &group.namespace,
            field_manager: &self.settings.field_manager,
            epoch,
        }
    }

    async fn run(
        &self,
        group: &GroupId,
        action: Action,
        epoch: u64,
        spec: &FailoverGroupSpec,
    ) -> Result<Progress, KubeError> {
        let fence = self.fence(group, epoch);
        let dns = &self.settings.dns;
        match action {
            Action::PromoteVolumes => {
                volumes::set_role(&fence, volume_objects(&fence, spec), volumes::Role::Primary)
                    .await
            }
            Action::DemoteVolumes => {
                volumes::set_role(
                    &fence,
                    volume_objects(&fence, spec),
                    volumes::Role::Secondary,
                )
                .await
            }
            Action::ScaleUp => workloads::scale_up(&fence, scaled_objects(&fence, spec)).await,
            Action::ScaleDown => workloads::scale_down(&fence, scaled_objects(&fence, spec)).await,
            Action::ResumeJobs => {
                let cron = jobs::set_suspended(&fence, cronjob_objects(&fence, spec), false).await;
                let flux = flux::resume(&fence, &spec.flux_resources, self.clock.now()).await;
                both(cron, flux)
            }
            Action::SuspendJobs => {
                let cron = jobs::set_suspended(&fence, cronjob_objects(&fence, spec), true).await;
                let flux = flux::suspend(&fence, &spec.flux_resources).await;
                both(cron, flux)
            }
            Action::NetworkOn => traffic::switch(&fence, &spec.network_resources, dns, true).await,
            Action::NetworkOff => {
                traffic::switch(&fence, &spec.network_resources, dns, false).await
            }
        }
    }

    /// Refuses an activation at `epoch` when this process already applied a newer one to
    /// `group`. A deactivation is never refused: turning things off cannot make two clusters
    /// serve, and a fence may carry an older epoch than one applied here (an agent that
    /// restarted inside this process and has not read the table fences at epoch 0).
    fn check_applied(
        &self,
        group: &GroupId,
        action: Action,
        epoch: u64,
    ) -> Result<(), ActionError> {
        if Action::DEACTIVATE.contains(&action) {
            return Ok(());
        }
        let applied = self.applied.read().unwrap_or_else(PoisonError::into_inner);
        match applied.get(group) {
            Some(&newest) if newest > epoch => Err(ActionError::StaleEpoch {
                group: group.to_string(),
                action,
                epoch,
                applied: newest,
            }),
            _ => Ok(()),
        }
    }

    fn record_applied(&self, group: &GroupId, epoch: u64) {
        let mut applied = self.applied.write().unwrap_or_else(PoisonError::into_inner);
        let newest = applied.entry(group.clone()).or_insert(0);
        *newest = (*newest).max(epoch);
    }
}

/// Two families of one step: errors first, then pending, else done.
fn both(
    a: Result<Progress, KubeError>,
    b: Result<Progress, KubeError>,
) -> Result<Progress, KubeError> {
    match (a, b) {
        (Err(a), Err(b)) => Err(KubeError::Several(vec![a, b])),
        (Err(e), _) | (_, Err(e)) => Err(e),
        (Ok(Progress::Pending(a)), Ok(Progress::Pending(b))) => {
            Ok(Progress::Pending(format!("{a}, {b}")))
        }
        (Ok(p @ Progress::Pending(_)), _) | (_, Ok(p @ Progress::Pending(_))) => Ok(p),
        (Ok(Progress::Done), Ok(Progress::Done)) => Ok(Progress::Done),
    }
}

/// The Deployments and StatefulSets of the spec.
pub(crate) fn scaled_objects<'a>(
    fence: &Fence<'a>,
    spec: &'a FailoverGroupSpec,
) -> Vec<ObjectRef<'a>> {
    spec.workloads
        .iter()
        .filter_map(|w| match w.kind {
            WorkloadKind::Deployment => Some(fence.object(&DEPLOYMENT, &w.name)),
            WorkloadKind::StatefulSet => Some(fence.object(&STATEFUL_SET, &w.name)),
            WorkloadKind::CronJob => None,
        })
        .collect()
}

/// The CronJobs of the spec.
pub(crate) fn cronjob_objects<'a>(
    fence: &Fence<'a>,
    spec: &'a FailoverGroupSpec,
) -> Vec<ObjectRef<'a>> {
    spec.workloads
        .iter()
        .filter(|w| w.kind == WorkloadKind::CronJob)
        .map(|w| fence.object(&CRON_JOB, &w.name))
        .collect()
}

/// The VolumeReplications of the spec, each once.
pub(crate) fn volume_objects<'a>(
    fence: &Fence<'a>,
    spec: &'a FailoverGroupSpec,
) -> Vec<ObjectRef<'a>> {
    let mut names: Vec<&str> = Vec::new();
    for name in spec.workloads.iter().flat_map(|w| &w.volume_replications) {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names
        .into_iter()
        .map(|n| fence.object(&VOLUME_REPLICATION, n))
        .collect()
}

#[async_trait]
impl ClusterActions for KubeCluster {
    fn cluster_name(&self) -> &str {
        &self.name
    }

    async fn apply(
        &self,
        group: &GroupId,
        action: Action,
        epoch: u64,
    ) -> Result<Progress, ActionError> {
        let spec = self.spec(group, Some(action))?;
        self.check_applied(group, action, epoch)?;
        let result = self.run(group, action, epoch, &spec).await;
        match &result {
            Err(e) => {
                tracing::warn!(%group, cluster = %self.name, epoch, ?action, error = %e, "action failed")
            }
            Ok(progress) => {
                self.record_applied(group, epoch);
                tracing::debug!(%group, cluster = %self.name, epoch, ?action, ?progress, "action applied");
            }
        }
        // An epoch merely seen on an object is not remembered: it may be forged, and removing
        // the annotation (the fix the refusal names) must be enough to lift the refusal. The
        // objects keep refusing by themselves, since every action stamps all it acts on.
        result.map_err(|e| e.into_action_error(&self.name, group, Some(action)))
    }

    async fn health(&self, group: &GroupId) -> Result<HealthReport, ActionError> {
        let spec = self.spec(group, None)?;
        // Reads only: the epoch is never used to write.
        let fence = self.fence(group, 0);
        health::report(&fence, &spec, &self.settings.dns)
            .await
            .map_err(|e| e.into_action_error(&self.name, group, None))
    }

    async fn has_volume_replications(&self, group: &GroupId) -> Result<bool, ActionError> {
        Ok(self.spec(group, None)?.has_volume_replications())
    }
}

impl GroupResources for KubeCluster {
    fn set_group(&self, group: &GroupId, spec: &FailoverGroupSpec) {
        let mut groups = self.groups.write().unwrap_or_else(PoisonError::into_inner);
        groups.insert(group.clone(), Arc::new(spec.clone()));
    }

    fn remove_group(&self, group: &GroupId) {
        let mut groups = self.groups.write().unwrap_or_else(PoisonError::into_inner);
        groups.remove(group);
        let mut applied = self.applied.write().unwrap_or_else(PoisonError::into_inner);
        applied.remove(group);
    }
}
