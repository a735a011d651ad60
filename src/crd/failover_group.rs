//! The FailoverGroup resource: the workloads, traffic and Flux objects of one application that
//! move together between clusters, and the timing and policy of its failovers. The same
//! FailoverGroup (same namespace/name and spec) is applied in every cluster.

use super::group_status::FailoverGroupStatus;
use super::schema;
use crate::duration::GoDuration;
use crate::store::{FailoverMode, model::defaults};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What moves together (Deployments, StatefulSets, CronJobs, the volumes they replicate, the
/// Ingresses or VirtualServices that send traffic to them, the Flux objects that deploy them)
/// and how failovers behave. Keep it identical in every cluster.
// kube's printcolumn(...) arguments repeat `type_ = ..` per column, which this lint misreads as
// one attribute given twice.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "kubectl-failover.io",
    version = "v1alpha1",
    kind = "FailoverGroup",
    plural = "failovergroups",
    singular = "failovergroup",
    namespaced,
    status = "FailoverGroupStatus",
    derive = "PartialEq",
    shortname = "fg",
    shortname = "fgs",
    doc = "An application that fails over between clusters as one unit. Apply the same FailoverGroup (same namespace, name and spec) in every cluster; one DynamoDB table decides which cluster serves it.",
    printcolumn(
        name = "Role",
        type_ = "string",
        json_path = ".status.role",
        description = "This cluster's role for the group"
    ),
    printcolumn(
        name = "Active",
        type_ = "string",
        json_path = ".status.activeCluster",
        description = "The cluster that serves the group"
    ),
    printcolumn(
        name = "Health",
        type_ = "string",
        json_path = ".status.health",
        description = "Health of the group's resources in this cluster"
    ),
    printcolumn(
        name = "Suspended",
        type_ = "boolean",
        json_path = ".status.suspended",
        description = "Automatic failovers are off"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Phase of the failover in flight, if any"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "(has(self.workloads) && size(self.workloads) > 0) || (has(self.networkResources) && size(self.networkResources) > 0) || (has(self.fluxResources) && size(self.fluxResources) > 0)",
        "message": "list at least one resource to fail over in workloads, networkResources or fluxResources"
    },
    {
        "rule": "duration(self.heartbeatInterval) > duration('0s')",
        "message": "heartbeatInterval must be longer than 0s, e.g. 15s",
        "fieldPath": ".heartbeatInterval"
    },
    {
        "rule": "duration(self.timeouts.heartbeat) >= duration(self.heartbeatInterval) + duration(self.heartbeatInterval) + duration(self.heartbeatInterval) + duration(self.heartbeatInterval)",
        "message": "timeouts.heartbeat must be at least 4 x heartbeatInterval, so the primary can fence itself before another cluster takes over: raise timeouts.heartbeat or lower heartbeatInterval",
        "fieldPath": ".timeouts.heartbeat"
    },
    {
        "rule": "duration(self.timeouts.transitoryState) > duration(self.timeouts.heartbeat) + duration(self.timeouts.deactivation) + duration(self.heartbeatInterval) + duration(self.heartbeatInterval)",
        "message": "timeouts.transitoryState must be longer than timeouts.heartbeat + timeouts.deactivation + 2 x heartbeatInterval, or a forced failover would be declared stuck before it may complete: raise timeouts.transitoryState (or lower timeouts.deactivation if the workloads stop sooner)",
        "fieldPath": ".timeouts.transitoryState"
    },
    {
        "rule": "duration(self.timeouts.unhealthyPrimary) >= duration(self.heartbeatInterval)",
        "message": "timeouts.unhealthyPrimary must be at least heartbeatInterval, or one ERROR report would trigger a failover: raise timeouts.unhealthyPrimary",
        "fieldPath": ".timeouts.unhealthyPrimary"
    },
    {
        "rule": "self.defaultFailoverMode != 'UPTIME' || !has(self.workloads) || self.workloads.all(w, !has(w.volumeReplications) || size(w.volumeReplications) == 0)",
        "message": "defaultFailoverMode UPTIME runs both clusters at once, which splits replicated volumes: use CONSISTENCY for a group with volumeReplications (a forced Failover may still ask for UPTIME)",
        "fieldPath": ".defaultFailoverMode"
    }
]))]
pub struct FailoverGroupSpec {
    /// The operator instance (the controllers' OPERATOR_ID) that manages this group. Unset: the
    /// operator of the controller that reads it. A controller with another OPERATOR_ID ignores
    /// the group, so several independent installations can share one DynamoDB table.
    #[serde(
        rename = "operatorID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "schema::table_name")]
    pub operator_id: Option<String>,

    /// The cluster (its CLUSTER_NAME) that serves the group when the DynamoDB table has no record
    /// of it yet. Read once, when the group is first registered in the table; after that the
    /// table decides and changing this field moves nothing (use a Failover or
    /// `kubectl failover promote`).
    #[schemars(schema_with = "schema::table_name")]
    pub initial_primary: String,

    /// Turns automatic failover off for this group (a person can still start a failover).
    #[serde(default)]
    pub suspended: bool,

    /// Why automatic failover is off, shown in status and `kubectl failover status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub suspension_reason: Option<String>,

    /// How long the protocol waits before it acts on silence, errors and stuck failovers.
    #[serde(default)]
    pub timeouts: GroupTimeouts,

    /// How often each cluster writes its heartbeat for this group, as a Go duration (e.g. 15s).
    /// Must be positive and at most a quarter of timeouts.heartbeat.
    #[serde(default = "default_heartbeat_interval")]
    #[schemars(schema_with = "schema::duration")]
    pub heartbeat_interval: String,

    /// Deployments, StatefulSets and CronJobs that run only where the group is active: scaled to
    /// 0 (CronJobs suspended) in standby clusters and back up in the active one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["kind", "name"]))]
    pub workloads: Vec<WorkloadRef>,

    /// Ingresses and Istio VirtualServices whose DNS annotations make traffic reach the active
    /// cluster only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["kind", "name"]))]
    pub network_resources: Vec<NetworkRef>,

    /// Flux HelmReleases and Kustomizations that deploy the group: suspended in standby
    /// clusters, so Flux does not scale the workloads back up, and resumed in the active one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["kind", "name"]))]
    pub flux_resources: Vec<FluxRef>,

    /// Cluster names in order of preference for automatic failover: among healthy standbys the
    /// first listed wins; unlisted clusters come last, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16), inner(regex(pattern = schema::TABLE_NAME_PATTERN), length(min = 1, max = 253)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub cluster_preference: Vec<String>,

    /// The active cluster deactivates itself (network off, workloads to 0, volumes secondary)
    /// when it cannot write heartbeats for nearly timeouts.heartbeat, before any other cluster
    /// may take over. This is what keeps a forced failover from running two copies of the
    /// application when a cluster is cut off from DynamoDB but still running. Turn it off only
    /// for stateless applications that may briefly run in two clusters.
    #[serde(default = "default_true")]
    pub self_fencing: bool,

    /// Minimum time between a change of the active cluster and an automatic failover, so a
    /// flapping cluster cannot bounce the group back and forth; a Go duration. Unset: 5 x
    /// timeouts.heartbeat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::duration")]
    pub failover_cooldown: Option<String>,

    /// Mode of a failover that does not name one (a Failover without failoverMode,
    /// `kubectl failover promote` without --mode). CONSISTENCY stops the old cluster completely
    /// before the new one starts (data first); UPTIME starts the new cluster first (both serve
    /// briefly). Automatic failovers always use CONSISTENCY.
    #[serde(default = "default_mode")]
    #[schemars(schema_with = "schema::failover_mode")]
    pub default_failover_mode: FailoverMode,
}

/// The protocol's timeouts, as Go durations (e.g. 5m, 90s).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupTimeouts {
    /// Longest a failover may go without progress before it is rolled back (before the new
    /// cluster took over) or completed without the old cluster (after).
    #[serde(default = "default_transitory_state")]
    #[schemars(schema_with = "schema::duration")]
    pub transitory_state: String,

    /// How long the active cluster may report ERROR health before a standby takes over.
    #[serde(default = "default_unhealthy_primary")]
    #[schemars(schema_with = "schema::duration")]
    pub unhealthy_primary: String,

    /// How long the active cluster's heartbeat may stay unchanged before it is presumed dead and
    /// a standby takes over. At least 4 x heartbeatInterval.
    #[serde(default = "default_heartbeat")]
    #[schemars(schema_with = "schema::duration")]
    pub heartbeat: String,

    /// How long this group's cluster needs to stop serving: traffic off, Flux and CronJobs
    /// suspended, every pod of the workloads gone (their termination grace period, one pod at a
    /// time for an OrderedReady StatefulSet), volumes demoted. A failover without the old
    /// cluster's acknowledgement waits timeouts.heartbeat plus this long, so a cluster cut off
    /// from DynamoDB has stopped before another one starts.
    #[serde(default = "default_deactivation")]
    #[schemars(schema_with = "schema::duration")]
    pub deactivation: String,
}

impl Default for GroupTimeouts {
    fn default() -> Self {
        GroupTimeouts {
            transitory_state: default_transitory_state(),
            unhealthy_primary: default_unhealthy_primary(),
            heartbeat: default_heartbeat(),
            deactivation: default_deactivation(),
        }
    }
}

/// A Deployment, StatefulSet or CronJob in the group's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.kind != 'CronJob' || !has(self.volumeReplications) || size(self.volumeReplications) == 0",
    "message": "a CronJob has no volumes to replicate: list volumeReplications on the Deployment or StatefulSet that mounts them"
}]))]
pub struct WorkloadRef {
    /// Deployment, StatefulSet or CronJob.
    pub kind: WorkloadKind,
    /// Name of the object in the FailoverGroup's namespace.
    #[schemars(schema_with = "schema::object_name")]
    pub name: String,
    /// csi-addons VolumeReplications (replication.storage.openshift.io) of the volumes this
    /// workload mounts: made primary before it starts in the active cluster, secondary after it
    /// stopped in a standby.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), inner(regex(pattern = schema::OBJECT_NAME_PATTERN), length(min = 1, max = 253)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub volume_replications: Vec<String>,
}

/// Kinds of workloads a group can scale or suspend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum WorkloadKind {
    /// apps/v1 Deployment: scaled to 0 in standbys, back to its replica count when active.
    Deployment,
    /// apps/v1 StatefulSet: scaled like a Deployment.
    StatefulSet,
    /// batch/v1 CronJob: suspended in standbys.
    CronJob,
}

/// An Ingress or VirtualService whose annotations decide whether DNS points at this cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkRef {
    /// Ingress (networking.k8s.io) or VirtualService (networking.istio.io).
    pub kind: NetworkKind,
    /// Name of the object in the FailoverGroup's namespace.
    #[schemars(schema_with = "schema::object_name")]
    pub name: String,
    /// Annotations set on the object while this cluster serves the group and removed while it
    /// does not, e.g. external-dns's `external-dns.alpha.kubernetes.io/hostname`. Unset: the
    /// controller's built-in DNS annotations. Keys only under `external-dns.alpha.kubernetes.io/`
    /// or `kubectl-failover.io/` (the cluster admin may allow more, docs/security.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 16))]
    #[schemars(extend("x-kubernetes-validations" = [{"rule": "self.all(k, k.startsWith('external-dns.alpha.kubernetes.io/') || k.startsWith('kubectl-failover.io/'))", "message": "activeAnnotations keys must start with external-dns.alpha.kubernetes.io/ or kubectl-failover.io/: the controller writes them with its own rights"}]))]
    pub active_annotations: Option<BTreeMap<String, String>>,
}

/// Kinds of traffic objects a group can switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum NetworkKind {
    /// networking.k8s.io/v1 Ingress.
    Ingress,
    /// networking.istio.io VirtualService.
    VirtualService,
}

/// A Flux object that deploys part of the group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FluxRef {
    /// HelmRelease (helm.toolkit.fluxcd.io/v2) or Kustomization (kustomize.toolkit.fluxcd.io/v1).
    pub kind: FluxKind,
    /// Name of the object in the FailoverGroup's namespace. List the top-most Flux object that
    /// owns the workloads: a parent Kustomization re-applies a suspended child.
    #[schemars(schema_with = "schema::object_name")]
    pub name: String,
    /// Ask Flux to reconcile the object right after resuming it in the active cluster, instead
    /// of waiting for its interval.
    #[serde(default = "default_true")]
    pub trigger_reconcile: bool,
}

/// Kinds of Flux objects a group can suspend and resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum FluxKind {
    /// helm.toolkit.fluxcd.io/v2 HelmRelease.
    HelmRelease,
    /// kustomize.toolkit.fluxcd.io/v1 Kustomization.
    Kustomization,
}

impl FailoverGroupSpec {
    /// Whether any workload lists a volume replication (UPTIME is then refused unless forced).
    pub fn has_volume_replications(&self) -> bool {
        self.workloads
            .iter()
            .any(|w| !w.volume_replications.is_empty())
    }

    /// The operator that manages the group: `operatorID`, or `controller_operator_id` if unset.
    pub fn operator_id_or<'a>(&'a self, controller_operator_id: &'a str) -> &'a str {
        self.operator_id
            .as_deref()
            .unwrap_or(controller_operator_id)
    }
}

fn go(d: std::time::Duration) -> String {
    GoDuration::from(d).to_string()
}

fn default_transitory_state() -> String {
    go(defaults::TRANSITORY_STATE)
}

fn default_unhealthy_primary() -> String {
    go(defaults::UNHEALTHY_PRIMARY)
}

fn default_heartbeat() -> String {
    go(defaults::HEARTBEAT_TIMEOUT)
}

fn default_deactivation() -> String {
    go(defaults::DEACTIVATION)
}

fn default_heartbeat_interval() -> String {
    go(defaults::HEARTBEAT_INTERVAL)
}

fn default_true() -> bool {
    true
}

fn default_mode() -> FailoverMode {
    FailoverMode::Consistency
}
