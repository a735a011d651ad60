//! The Kubernetes API of kubectl-failover: the `FailoverGroup` and `Failover` custom resources
//! (group `kubectl-failover.io`, version `v1alpha1`), generated from these Rust types with kube's
//! derive, and the checked conversion from a FailoverGroup to the protocol's settings.
//!
//! The `///` comments of the spec and status fields are the CRD's field descriptions: they are
//! what `kubectl explain failovergroup.spec` shows, so they are written for the person applying
//! the resource.
//!
//! What is validated where:
//! - API server (the generated schema): field types, enums, Go duration and name patterns,
//!   list sizes and uniqueness (`x-kubernetes-list-type`), and CEL rules: the timing rules of
//!   the protocol (via CEL `duration()`), at least one resource, no UPTIME default with
//!   volumes, no volumes on CronJobs, and every Failover field immutable.
//! - Offline: `tests/crds.rs` (schema, samples, drift) and `.ci/validate-manifests.sh`
//!   (every manifest for Kubernetes 1.33+, and the CEL rules evaluated on the samples).
//! - Controller ([`FailoverGroup::settings`]): all of that again with the protocol's own code
//!   ([`crate::protocol::GroupPolicy::timings`]), since a resource may predate the CRD, plus
//!   the table-key rules for names. [`Failover::group_ids`] and [`Failover::target`] do the same
//!   for a Failover.
//!
//! Files: [`failover_group`] (FailoverGroup spec), [`group_status`] (its status and the shared
//! `Condition`), [`failover`] (Failover), [`convert`] (FailoverGroup -> protocol settings),
//! `schema` (patterns and enum schemas).

pub mod convert;
pub mod failover;
pub mod failover_group;
pub mod group_status;
mod schema;

pub use convert::{GroupSettings, InvalidGroupSpec};
pub use failover::{
    Failover, FailoverPhase, FailoverSpec, FailoverStatus, GroupFailoverStatus, GroupProgress,
    GroupRef, InvalidFailover,
};
pub use failover_group::{
    FailoverGroup, FailoverGroupSpec, FluxKind, FluxRef, GroupTimeouts, NetworkKind, NetworkRef,
    WorkloadKind, WorkloadRef,
};
pub use group_status::{
    ClusterEntry, Condition, ConditionStatus, FailoverGroupStatus, GroupRole, LastFailover,
    ResourceHealth, condition_types, set_condition,
};
pub use schema::{DURATION_PATTERN, OBJECT_NAME_PATTERN, TABLE_NAME_PATTERN};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

/// The API group of both resources.
pub const GROUP: &str = "kubectl-failover.io";
/// The API version of both resources.
pub const VERSION: &str = "v1alpha1";

/// Where the generated CRDs are committed, relative to the repository root.
pub const CRD_PATH: &str = "deploy/crds/failover.yaml";

/// First lines of the generated file.
const HEADER: &str = "\
# Generated from the Rust types in src/crd by kubectl_failover::crd::crd_yaml(). Do not edit:
# change the types and run `KFO_UPDATE_CRDS=1 cargo test --test crds` to rewrite this file.
";

/// Why the CRDs could not be rendered.
#[derive(Debug, thiserror::Error)]
#[error("cannot render the CRDs as YAML: {0}")]
pub struct CrdRenderError(#[from] serde_saphyr::SerializeError);

/// Longest name of a FailoverGroup or Failover. The controller's Events are named
/// `{object name}.{16 hex digits}` (as kube's `Recorder` names them), and an object name may not
/// exceed 253 characters: with a longer name every Event about the object is refused by the API
/// server.
pub const MAX_NAME_LENGTH: usize = 253 - 17;

/// Both CustomResourceDefinitions, FailoverGroup first.
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![FailoverGroup::crd(), Failover::crd()];
    for crd in &mut crds {
        limit_name_length(crd);
    }
    crds
}

/// Adds the root CEL rule that keeps names at most [`MAX_NAME_LENGTH`] characters (kube's
/// derive injects root rules only for `KubeSchema` types, so it is added here).
fn limit_name_length(crd: &mut CustomResourceDefinition) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::ValidationRule;
    let kind = crd.spec.names.kind.clone();
    for version in &mut crd.spec.versions {
        let Some(schema) = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        schema
            .x_kubernetes_validations
            .get_or_insert_with(Vec::new)
            .push(ValidationRule {
                rule: format!("size(self.metadata.name) <= {MAX_NAME_LENGTH}"),
                message: Some(format!(
                    "a {kind} name may have at most {MAX_NAME_LENGTH} characters: the controller's Events about it are named NAME.<16 hex digits>, and longer names would make every Event be refused"
                )),
                ..ValidationRule::default()
            });
    }
}

/// Both CRDs as one multi-document YAML file: the exact text of [`CRD_PATH`].
pub fn crd_yaml() -> Result<String, CrdRenderError> {
    let docs = serde_saphyr::to_string_multiple(&crds())?;
    Ok(format!("{HEADER}---\n{docs}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    #[test]
    fn both_kinds_use_the_published_group_and_version() {
        assert_eq!(FailoverGroup::group(&()), GROUP);
        assert_eq!(Failover::group(&()), GROUP);
        assert_eq!(FailoverGroup::version(&()), VERSION);
        assert_eq!(Failover::version(&()), VERSION);
    }

    #[test]
    fn the_rendered_yaml_holds_both_crds_in_order_after_the_header() {
        let text = crd_yaml().unwrap();
        assert!(text.starts_with("# Generated"), "{text}");
        let back: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&text).unwrap();
        let names: Vec<_> = back.iter().map(|c| c.metadata.name.clone()).collect();
        assert_eq!(
            names,
            [
                Some("failovergroups.kubectl-failover.io".to_string()),
                Some("failovers.kubectl-failover.io".to_string())
            ]
        );
    }
}
