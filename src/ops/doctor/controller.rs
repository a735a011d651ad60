//! The controller in one context: its Deployment has ready replicas, one replica leads on the
//! Lease, and the environment its container gets (the Deployment's `env` and the ConfigMaps it
//! references), from which `settings` reads CLUSTER_NAME, the table and the timings.

use super::{Area, Check};
use crate::ops::seconds_between;
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Container;
use std::collections::BTreeMap;

/// Namespace of the controller (deploy/base/deployment.yaml).
pub const DEFAULT_NAMESPACE: &str = "kubectl-failover-system";
/// Name of the controller's Deployment (deploy/base/deployment.yaml).
pub const DEFAULT_NAME: &str = "kubectl-failover";
/// The ConfigMap read when there is no Deployment to say which (deploy/base/configmap.yaml).
pub const DEFAULT_CONFIGMAP: &str = "kubectl-failover-config";
/// The controller's container in the Deployment.
const CONTAINER: &str = "controller";

/// What the Deployment says about its replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentFacts {
    /// `spec.replicas` (1 when unset, as the API server defaults it).
    pub desired: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
}

impl DeploymentFacts {
    /// Reads the replica counts of a Deployment.
    pub fn from_deployment(d: &Deployment) -> DeploymentFacts {
        DeploymentFacts {
            desired: d.spec.replicas.unwrap_or(1),
            ready: d
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
        }
    }
}

/// What the leader Lease says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseFacts {
    /// `spec.holderIdentity` (empty counts as none).
    pub holder: Option<String>,
    /// `spec.renewTime`.
    pub renewed: Option<DateTime<Utc>>,
    /// `spec.leaseDurationSeconds`.
    pub duration_seconds: Option<i32>,
}

impl LeaseFacts {
    /// Reads the holder and its last renewal from a Lease.
    pub fn from_lease(lease: &Lease) -> LeaseFacts {
        let spec = lease.spec.as_ref();
        LeaseFacts {
            holder: spec
                .and_then(|s| s.holder_identity.clone())
                .filter(|h| !h.is_empty()),
            renewed: spec
                .and_then(|s| s.renew_time.as_ref())
                .and_then(|t| DateTime::from_timestamp_millis(t.0.as_millisecond())),
            duration_seconds: spec.and_then(|s| s.lease_duration_seconds),
        }
    }
}

/// The controller's container: the one named `controller`, else the one running `run`, else
/// the first (an overlay may rename it).
fn container(d: &Deployment) -> Option<&Container> {
    let containers = &d.spec.template.spec.as_ref()?.containers;
    containers
        .iter()
        .find(|c| c.name == CONTAINER)
        .or_else(|| {
            containers
                .iter()
                .find(|c| c.args.iter().flatten().any(|a| a == "run"))
        })
        .or_else(|| containers.first())
}

/// The ConfigMaps the controller's environment comes from (to be read by the caller); without
/// a Deployment, the default one, so the settings can still be checked.
pub fn configmap_names(deployment: Option<&Deployment>) -> Vec<String> {
    let Some(c) = deployment.and_then(container) else {
        return vec![DEFAULT_CONFIGMAP.to_string()];
    };
    let mut names: Vec<String> = c
        .env_from
        .iter()
        .flatten()
        .filter_map(|e| e.config_map_ref.as_ref().map(|r| r.name.clone()))
        .chain(c.env.iter().flatten().filter_map(|e| {
            let r = e.value_from.as_ref()?.config_map_key_ref.as_ref()?;
            Some(r.name.clone())
        }))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The environment the controller's container gets, as far as it can be known without reading
/// Secrets (doctor never reads them: they hold credentials).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControllerEnv {
    /// Variable -> value.
    pub vars: BTreeMap<String, String>,
    /// What could not be resolved, e.g. a required ConfigMap that does not exist.
    pub problems: Vec<String>,
}

/// Resolves the container's environment as the kubelet does: `envFrom` in order (later sources
/// win, with their prefix), then `env` over it. `configmaps` holds each ConfigMap's data by
/// name, `None` for one that does not exist. Without a Deployment, the default ConfigMap's data.
pub fn controller_env(
    deployment: Option<&Deployment>,
    configmaps: &BTreeMap<String, Option<BTreeMap<String, String>>>,
) -> ControllerEnv {
    let mut env = ControllerEnv::default();
    let Some(d) = deployment else {
        if let Some(Some(data)) = configmaps.get(DEFAULT_CONFIGMAP) {
            env.vars = data.clone();
        }
        return env;
    };
    let namespace = d.metadata.namespace.clone().unwrap_or_default();
    let Some(c) = container(d) else {
        env.problems.push("the Deployment has no container".into());
        return env;
    };
    for source in c.env_from.iter().flatten() {
        let Some(r) = &source.config_map_ref else {
            continue;
        };
        let prefix = source.prefix.clone().unwrap_or_default();
        match configmaps.get(&r.name) {
            Some(Some(data)) => {
                for (k, v) in data {
                    env.vars.insert(format!("{prefix}{k}"), v.clone());
                }
            }
            _ if r.optional == Some(true) => {}
            _ => env.problems.push(format!(
                "ConfigMap {namespace}/{} (envFrom) does not exist, so the controller's pods cannot start",
                r.name
            )),
        }
    }
    for var in c.env.iter().flatten() {
        let from = var.value_from.as_ref();
        let value = if let Some(v) = &var.value {
            Some(v.clone())
        } else if let Some(r) = from.and_then(|f| f.config_map_key_ref.as_ref()) {
            configmaps
                .get(&r.name)
                .cloned()
                .flatten()
                .and_then(|data| data.get(&r.key).cloned())
        } else if let Some(f) = from.and_then(|f| f.field_ref.as_ref()) {
            // The only field the controller's manifests use that matters here: the Lease's
            // namespace comes from POD_NAMESPACE.
            (f.field_path == "metadata.namespace").then(|| namespace.clone())
        } else {
            None
        };
        if let Some(value) = value {
            env.vars.insert(var.name.clone(), value);
        }
    }
    env
}

/// The Deployment check: it exists and all its replicas are ready (one ready is enough to act,
/// so fewer than desired is a warning).
pub fn judge_deployment(
    context: &str,
    (namespace, name): (&str, &str),
    read: &Result<Option<DeploymentFacts>, String>,
) -> Check {
    let check = format!("controller in {context}");
    let inspect = format!(
        "kubectl --context {context} -n {namespace} describe deployment {name}; kubectl --context {context} -n {namespace} logs deployment/{name}"
    );
    match read {
        Err(e) => Check::fail(
            Area::Controller,
            check,
            format!("could not read Deployment {namespace}/{name}: {e}"),
            format!("allow your user to get deployments in {namespace}, or check the context"),
        ),
        Ok(None) => Check::fail(
            Area::Controller,
            check,
            format!("no Deployment {namespace}/{name}: no controller runs in this cluster"),
            format!(
                "install it (deploy/README.md: kubectl --context {context} apply -k deploy/overlays/YOURS), or pass --controller-namespace/--controller-name if it is installed elsewhere"
            ),
        ),
        Ok(Some(f)) if f.ready == 0 => Check::fail(
            Area::Controller,
            check,
            format!(
                "Deployment {namespace}/{name}: 0 of {} replicas ready",
                f.desired
            ),
            inspect,
        ),
        Ok(Some(f)) if f.ready < f.desired => Check::warn(
            Area::Controller,
            check,
            format!(
                "Deployment {namespace}/{name}: {} of {} replicas ready (one acts; the others take over when it fails)",
                f.ready, f.desired
            ),
            inspect,
        ),
        Ok(Some(f)) => Check::pass(
            Area::Controller,
            check,
            format!(
                "Deployment {namespace}/{name}: {} of {} replicas ready",
                f.ready, f.desired
            ),
        ),
    }
}

/// The Lease check: a holder whose last renewal is within the Lease's duration (judged by this
/// machine's clock, which the controller itself never does: a doctor can afford a clock skew
/// of a few seconds, an election cannot).
pub fn judge_lease(
    context: &str,
    leader_elect: bool,
    (namespace, name): (&str, &str),
    read: &Result<Option<LeaseFacts>, String>,
    now: DateTime<Utc>,
) -> Check {
    let check = format!("leader Lease in {context}");
    if !leader_elect {
        return Check::skipped(
            Area::Lease,
            check,
            "leader election is off (LEADER_ELECT=false): the single replica always acts",
        );
    }
    let logs = format!(
        "kubectl --context {context} -n {namespace} get pods,lease; kubectl --context {context} -n {namespace} logs -l app.kubernetes.io/name=kubectl-failover --prefix"
    );
    let f = match read {
        Err(e) => {
            return Check::fail(
                Area::Lease,
                check,
                format!("could not read Lease {namespace}/{name}: {e}"),
                format!("allow your user to get leases in {namespace}, or check the context"),
            );
        }
        Ok(None) => {
            return Check::fail(
                Area::Lease,
                check,
                format!("no Lease {namespace}/{name}: no replica has campaigned"),
                format!(
                    "check that the controller runs and that LEASE_NAME matches the Role's resourceNames (deploy/base/rbac.yaml): {logs}"
                ),
            );
        }
        Ok(Some(f)) => f,
    };
    let Some(holder) = &f.holder else {
        return Check::fail(
            Area::Lease,
            check,
            format!(
                "Lease {namespace}/{name} has no holder: no replica leads, so nothing heartbeats from this cluster"
            ),
            logs,
        );
    };
    let duration = i64::from(f.duration_seconds.unwrap_or(15));
    match f.renewed.map(|t| seconds_between(t, now)) {
        Some(age) if age <= duration => Check::pass(
            Area::Lease,
            check,
            format!(
                "{holder} leads (renewed {}s ago, lease {duration}s)",
                age.max(0)
            ),
        ),
        age => Check::fail(
            Area::Lease,
            check,
            format!(
                "{holder} holds Lease {namespace}/{name} but {}, longer than its {duration}s: the leader is gone or cannot reach the API server",
                age.map_or("never renewed it".to_string(), |a| format!(
                    "last renewed it {a}s ago"
                ))
            ),
            logs,
        ),
    }
}
