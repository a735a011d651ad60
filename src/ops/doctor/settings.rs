//! The controllers' settings across clusters: each cluster's CLUSTER_NAME its own, and the
//! table, region, endpoint and operator id the same everywhere (clusters that write different
//! tables never see each other: both would serve). Read from each controller's environment
//! under the names `run` reads them by (config::StoreArgs, cli::run::RunArgs).

use super::controller::ControllerEnv;
use super::{Area, Check};
use crate::config::{DEFAULT_OPERATOR_ID, DEFAULT_REGION, DEFAULT_TABLE_NAME, StoreArgs};
use crate::duration::GoDuration;
use crate::k8s::kube::{DnsAnnotations, KubeSettings};
use std::collections::BTreeMap;
use std::time::Duration;

/// The default of LEASE_NAME (cli::run::RunArgs).
pub const DEFAULT_LEASE_NAME: &str = "kubectl-failover-leader";
/// The default of LEASE_DURATION (cli::run::RunArgs).
const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);

/// One cluster's controller settings, with the defaults `run` applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    /// The kubeconfig context.
    pub context: String,
    /// Namespace of the controller.
    pub namespace: String,
    /// Name of its Deployment (for fixes).
    pub deployment: String,
    /// The ConfigMap that holds the settings (for fixes).
    pub configmap: String,
    /// CLUSTER_NAME; `None` when unset or empty.
    pub cluster_name: Option<String>,
    /// DYNAMODB_TABLE_NAME.
    pub table: String,
    /// AWS_REGION.
    pub region: String,
    /// OPERATOR_ID.
    pub operator_id: String,
    /// AWS_ENDPOINT; `None` for AWS itself.
    pub endpoint: Option<String>,
    /// LEADER_ELECT.
    pub leader_elect: bool,
    /// LEASE_NAME.
    pub lease_name: String,
    /// POD_NAMESPACE: where the Lease is.
    pub lease_namespace: String,
    /// LEASE_DURATION.
    pub lease_duration: Duration,
    /// LIVENESS_BUDGET, when set.
    pub liveness_budget: Option<Duration>,
    /// The DNS annotation the controller switches, or why its settings are refused.
    pub dns: Result<DnsAnnotations, String>,
    /// Values `run` would refuse, and what could not be resolved.
    pub problems: Vec<String>,
}

impl ClusterSettings {
    /// The settings of the controller `deployment` in `namespace` from its environment.
    pub fn from_env(
        context: &str,
        (namespace, deployment): (&str, &str),
        configmap: &str,
        env: &ControllerEnv,
    ) -> ClusterSettings {
        let get = |name: &str| env.vars.get(name).map(|v| v.trim().to_string());
        let or = |name: &str, default: &str| {
            get(name)
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        let mut problems = env.problems.clone();
        let mut duration = |name: &str| match get(name).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => match v.parse::<GoDuration>() {
                Ok(d) => Some(d.get()),
                Err(e) => {
                    problems.push(format!("{name}: {e}"));
                    None
                }
            },
        };
        let lease_duration = duration("LEASE_DURATION").unwrap_or(DEFAULT_LEASE_DURATION);
        let liveness_budget = duration("LIVENESS_BUDGET");
        let leader_elect = match get("LEADER_ELECT").map(|v| v.to_ascii_lowercase()) {
            None => true,
            Some(v) if v.is_empty() => true,
            // clap's BoolishValueParser, which `run` parses it with.
            Some(v) if ["y", "yes", "t", "true", "on", "1"].contains(&v.as_str()) => true,
            Some(v) if ["n", "no", "f", "false", "off", "0"].contains(&v.as_str()) => false,
            Some(v) => {
                problems.push(format!(
                    "LEADER_ELECT={v:?} is not a boolean; set true or false"
                ));
                true
            }
        };
        let dns = KubeSettings::from_lookup(|name| env.vars.get(name).cloned())
            .map(|s| s.dns)
            .map_err(|e| e.to_string());
        ClusterSettings {
            context: context.to_string(),
            namespace: namespace.to_string(),
            deployment: deployment.to_string(),
            configmap: configmap.to_string(),
            cluster_name: get("CLUSTER_NAME").filter(|v| !v.is_empty()),
            table: or("DYNAMODB_TABLE_NAME", DEFAULT_TABLE_NAME),
            region: or("AWS_REGION", DEFAULT_REGION),
            operator_id: or("OPERATOR_ID", DEFAULT_OPERATOR_ID),
            endpoint: get("AWS_ENDPOINT").filter(|v| !v.is_empty()),
            leader_elect,
            lease_name: or("LEASE_NAME", DEFAULT_LEASE_NAME),
            lease_namespace: or("POD_NAMESPACE", namespace),
            lease_duration,
            liveness_budget,
            dns,
            problems,
        }
    }

    /// Where the table is, as one comparable value: table, region, endpoint, operator.
    fn address(&self) -> String {
        format!(
            "table {:?} in {}{}, operator {:?}",
            self.table,
            self.region,
            self.endpoint
                .as_ref()
                .map_or(String::new(), |e| format!(" at {e}")),
            self.operator_id
        )
    }

    /// How to change a setting of this cluster's controller.
    fn edit(&self) -> String {
        format!(
            "kubectl --context {c} -n {ns} edit configmap {cm}, then kubectl --context {c} -n {ns} rollout restart deployment/{d}",
            c = self.context,
            ns = self.namespace,
            cm = self.configmap,
            d = self.deployment
        )
    }
}

/// Per context, the settings `run` would refuse; across contexts, CLUSTER_NAMEs distinct and one
/// table; and whether this run checks the table the controllers use.
pub fn judge_settings(settings: &[ClusterSettings], doctor: &StoreArgs) -> Vec<Check> {
    let mut checks = Vec::new();
    for s in settings {
        let name = format!("controller settings in {}", s.context);
        let mut problems = s.problems.clone();
        if let Err(e) = &s.dns {
            problems.push(e.clone());
        }
        checks.push(if problems.is_empty() {
            Check::pass(
                Area::Settings,
                name,
                format!(
                    "CLUSTER_NAME={}, {}",
                    s.cluster_name.as_deref().unwrap_or("(unset)"),
                    s.address()
                ),
            )
        } else {
            Check::fail(Area::Settings, name, problems.join("; "), s.edit())
        });
    }
    checks.push(judge_cluster_names(settings));
    if let Some(check) = judge_same_table(settings, doctor) {
        checks.push(check);
    }
    checks
}

fn judge_cluster_names(settings: &[ClusterSettings]) -> Check {
    let name = "CLUSTER_NAME distinct";
    if let Some(s) = settings.iter().find(|s| s.cluster_name.is_none()) {
        return Check::fail(
            Area::Settings,
            name,
            format!(
                "CLUSTER_NAME is not set in {}: its controller refuses to start",
                s.context
            ),
            format!(
                "set CLUSTER_NAME to this cluster's name (e.g. {}) in ConfigMap {}/{}: {}",
                s.context,
                s.namespace,
                s.configmap,
                s.edit()
            ),
        );
    }
    let mut by_name: BTreeMap<&str, Vec<&ClusterSettings>> = BTreeMap::new();
    for s in settings {
        by_name
            .entry(s.cluster_name.as_deref().unwrap_or_default())
            .or_default()
            .push(s);
    }
    if let Some((cluster, same)) = by_name.iter().find(|(_, v)| v.len() > 1) {
        let contexts: Vec<&str> = same.iter().map(|s| s.context.as_str()).collect();
        return Check::fail(
            Area::Settings,
            name,
            format!(
                "{} all have CLUSTER_NAME={cluster}: they write one heartbeat record and each may act as the owner, so both could serve",
                contexts.join(" and ")
            ),
            format!(
                "give each cluster its own CLUSTER_NAME (a kustomize patch per cluster, deploy/README.md): {}",
                same[1..]
                    .iter()
                    .map(|s| s.edit())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        );
    }
    let pairs: Vec<String> = settings
        .iter()
        .map(|s| {
            format!(
                "{}={}",
                s.context,
                s.cluster_name.as_deref().unwrap_or_default()
            )
        })
        .collect();
    Check::pass(Area::Settings, name, pairs.join(", "))
}

fn judge_same_table(settings: &[ClusterSettings], doctor: &StoreArgs) -> Option<Check> {
    let first = settings.first()?;
    let name = "same table, region and operator";
    if settings.iter().any(|s| s.address() != first.address()) {
        let each: Vec<String> = settings
            .iter()
            .map(|s| format!("{}: {}", s.context, s.address()))
            .collect();
        return Some(Check::fail(
            Area::Settings,
            name,
            format!(
                "the controllers use different tables, so they never see each other and each may serve: {}",
                each.join("; ")
            ),
            format!(
                "set DYNAMODB_TABLE_NAME, AWS_REGION, AWS_ENDPOINT and OPERATOR_ID to the same values in every cluster: {}",
                settings
                    .iter()
                    .map(|s| s.edit())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ));
    }
    let endpoint = doctor.effective_endpoint().map(|e| e.trim().to_string());
    let ours = (
        &doctor.table_name,
        &doctor.region,
        &doctor.operator_id,
        &endpoint,
    );
    let theirs = (
        &first.table,
        &first.region,
        &first.operator_id,
        &first.endpoint,
    );
    if ours != theirs {
        return Some(Check::warn(
            Area::Settings,
            name,
            format!(
                "every controller uses {}, but this run checked table {:?} in {}, operator {:?}",
                first.address(),
                doctor.table_name,
                doctor.region,
                doctor.operator_id
            ),
            format!(
                "run again with --table-name {} --region {} --operator-id {}{}",
                first.table,
                first.region,
                first.operator_id,
                first
                    .endpoint
                    .as_ref()
                    .map_or(String::new(), |e| format!(" --endpoint {e}"))
            ),
        ));
    }
    Some(Check::pass(
        Area::Settings,
        name,
        format!("every controller uses {}", first.address()),
    ))
}
