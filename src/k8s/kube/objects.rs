//! The kinds the actions touch, as dynamic API resources (one code path for built-in kinds and
//! optional CRDs), and the reference to one object that every message names.

use kube::api::{ApiResource, GroupVersionKind};
use std::fmt;

/// One kind of object the actions read and patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// kubectl's lower-case name, for messages (`deployment/web`).
    pub label: &'static str,
    /// API group ("" for core).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural resource name (the URL segment).
    pub plural: &'static str,
    /// The product that installs the CRD when the API is optional (Istio, Flux, csi-addons).
    pub optional: Option<&'static str>,
}

impl Kind {
    /// The dynamic API resource for `Api<DynamicObject>`.
    pub fn api_resource(&self) -> ApiResource {
        let gvk = GroupVersionKind::gvk(self.group, self.version, self.kind);
        ApiResource::from_gvk_with_plural(&gvk, self.plural)
    }

    /// `plural.group/version`, as the API names a resource type.
    pub fn api_name(&self) -> String {
        format!("{}.{}/{}", self.plural, self.group, self.version)
    }
}

/// apps/v1 Deployment.
pub const DEPLOYMENT: Kind = Kind {
    label: "deployment",
    group: "apps",
    version: "v1",
    kind: "Deployment",
    plural: "deployments",
    optional: None,
};
/// apps/v1 StatefulSet.
pub const STATEFUL_SET: Kind = Kind {
    label: "statefulset",
    group: "apps",
    version: "v1",
    kind: "StatefulSet",
    plural: "statefulsets",
    optional: None,
};
/// batch/v1 CronJob.
pub const CRON_JOB: Kind = Kind {
    label: "cronjob",
    group: "batch",
    version: "v1",
    kind: "CronJob",
    plural: "cronjobs",
    optional: None,
};
/// networking.k8s.io/v1 Ingress.
pub const INGRESS: Kind = Kind {
    label: "ingress",
    group: "networking.k8s.io",
    version: "v1",
    kind: "Ingress",
    plural: "ingresses",
    optional: None,
};
/// Istio networking.istio.io/v1 VirtualService.
pub const VIRTUAL_SERVICE: Kind = Kind {
    label: "virtualservice",
    group: "networking.istio.io",
    version: "v1",
    kind: "VirtualService",
    plural: "virtualservices",
    optional: Some("Istio"),
};
/// csi-addons replication.storage.openshift.io/v1alpha1 VolumeReplication.
pub const VOLUME_REPLICATION: Kind = Kind {
    label: "volumereplication",
    group: "replication.storage.openshift.io",
    version: "v1alpha1",
    kind: "VolumeReplication",
    plural: "volumereplications",
    optional: Some("csi-addons"),
};
/// Flux helm.toolkit.fluxcd.io/v2 HelmRelease.
pub const HELM_RELEASE: Kind = Kind {
    label: "helmrelease",
    group: "helm.toolkit.fluxcd.io",
    version: "v2",
    kind: "HelmRelease",
    plural: "helmreleases",
    optional: Some("Flux (helm-controller)"),
};
/// Flux kustomize.toolkit.fluxcd.io/v1 Kustomization.
pub const KUSTOMIZATION: Kind = Kind {
    label: "kustomization",
    group: "kustomize.toolkit.fluxcd.io",
    version: "v1",
    kind: "Kustomization",
    plural: "kustomizations",
    optional: Some("Flux (kustomize-controller)"),
};

/// One object of a group: its kind, namespace and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRef<'a> {
    /// Its kind.
    pub kind: &'static Kind,
    /// The group's namespace.
    pub namespace: &'a str,
    /// Object name.
    pub name: &'a str,
}

impl fmt::Display for ObjectRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} in {}", self.kind.label, self.name, self.namespace)
    }
}
