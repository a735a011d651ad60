//! Where the DynamoDB settings come from. A flag or an environment variable always wins; a
//! setting given neither way is read from the operator's ConfigMap in the current kubeconfig
//! context when that cluster answers (so `kubectl failover status` just works against the table
//! the controllers use), and otherwise takes the spec's default. With `-v` every setting's
//! source is logged.

use crate::cli::kubeconfig::{CLUSTER_TIMEOUT, KubeArgs};
use crate::config::StoreArgs;
use clap::parser::ValueSource;
use k8s_openapi::api::core::v1::ConfigMap;
use std::collections::BTreeMap;

/// Namespace of the operator's ConfigMap (deploy/base/configmap.yaml).
pub const CONFIGMAP_NAMESPACE: &str = "kubectl-failover-system";
/// Name of the operator's ConfigMap.
pub const CONFIGMAP_NAME: &str = "kubectl-failover-config";

/// One store setting: its clap id and the ConfigMap key (the environment name).
const SETTINGS: [(&str, &str); 5] = [
    ("region", "AWS_REGION"),
    ("endpoint", "AWS_ENDPOINT"),
    ("use_local_endpoint", "AWS_USE_LOCAL_ENDPOINT"),
    ("table_name", "DYNAMODB_TABLE_NAME"),
    ("operator_id", "OPERATOR_ID"),
];

/// Which store settings the person gave (flag or environment), by clap id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Given(BTreeMap<&'static str, &'static str>);

impl Given {
    /// Reads the sources of the store settings from parsed matches (the top-level command and
    /// every subcommand level, since global flags may sit at any of them).
    pub fn from_matches(matches: &clap::ArgMatches) -> Self {
        let mut given = BTreeMap::new();
        let mut level = Some(matches);
        while let Some(m) = level {
            for (id, _) in SETTINGS {
                match m.try_get_raw(id).ok().flatten().and(m.value_source(id)) {
                    Some(ValueSource::CommandLine) => {
                        given.insert(id, "flag");
                    }
                    Some(ValueSource::EnvVariable) => {
                        given.entry(id).or_insert("environment");
                    }
                    _ => {}
                }
            }
            level = m.subcommand().map(|(_, sub)| sub);
        }
        Given(given)
    }

    /// Every setting given explicitly (for tests and callers that know).
    pub fn all() -> Self {
        Given(SETTINGS.iter().map(|(id, _)| (*id, "flag")).collect())
    }

    fn source(&self, id: &str) -> Option<&'static str> {
        self.0.get(id).copied()
    }

    /// True when nothing is left to look up.
    pub fn is_complete(&self) -> bool {
        // The endpoint flags only matter for local servers; an explicit table and operator in
        // a region is a complete address.
        ["region", "table_name", "operator_id"]
            .iter()
            .all(|id| self.0.contains_key(id))
    }
}

/// Applies a ConfigMap's data to the settings not given explicitly. Returns one line per
/// setting saying where its value came from.
pub fn apply(
    store: &mut StoreArgs,
    given: &Given,
    data: Option<&BTreeMap<String, String>>,
    origin: &str,
) -> Vec<String> {
    let mut notes = Vec::new();
    for (id, key) in SETTINGS {
        if let Some(source) = given.source(id) {
            notes.push(format!("{key}: from the {source}"));
            continue;
        }
        let value = data.and_then(|d| d.get(key)).map(|v| v.trim().to_string());
        let Some(value) = value else {
            notes.push(format!("{key}: default"));
            continue;
        };
        let applied = match id {
            "region" if !value.is_empty() => {
                store.region = value;
                true
            }
            "table_name" if !value.is_empty() => {
                store.table_name = value;
                true
            }
            "operator_id" if !value.is_empty() => {
                store.operator_id = value;
                true
            }
            // An empty AWS_ENDPOINT means "AWS itself", as the controller reads it.
            "endpoint" => {
                store.endpoint = Some(value).filter(|v| !v.is_empty());
                true
            }
            "use_local_endpoint" => {
                store.use_local_endpoint = value.eq_ignore_ascii_case("true");
                true
            }
            _ => false,
        };
        notes.push(if applied {
            format!("{key}: from {origin}")
        } else {
            format!("{key}: default ({origin} has it empty)")
        });
    }
    notes
}

/// Fills the settings not given explicitly from the operator's ConfigMap in the kubeconfig
/// context, when there is one and the cluster answers within [`CLUSTER_TIMEOUT`]; otherwise
/// they keep their defaults. Never fails: a missing kubeconfig or an unreachable cluster only
/// means the defaults are used, which `-v` says.
pub async fn resolve_store(store: &StoreArgs, given: &Given, kube: &KubeArgs) -> StoreArgs {
    let mut resolved = store.clone();
    if given.is_complete() {
        for note in apply(&mut resolved, given, None, "") {
            tracing::info!("store setting {note}");
        }
        return resolved;
    }
    let (data, origin) = match read_configmap(kube).await {
        Ok((data, origin)) => (Some(data), origin),
        Err(why) => {
            tracing::info!(
                "no operator ConfigMap used ({why}); store settings come from flags, environment and defaults"
            );
            (None, String::new())
        }
    };
    for note in apply(&mut resolved, given, data.as_ref(), &origin) {
        tracing::info!("store setting {note}");
    }
    resolved
}

async fn read_configmap(kube: &KubeArgs) -> Result<(BTreeMap<String, String>, String), String> {
    let (client, ctx) = kube.client().await.map_err(|e| e.to_string())?;
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(client, CONFIGMAP_NAMESPACE);
    let got = tokio::time::timeout(CLUSTER_TIMEOUT, api.get_opt(CONFIGMAP_NAME)).await;
    let origin = format!(
        "ConfigMap {CONFIGMAP_NAMESPACE}/{CONFIGMAP_NAME} in context {}",
        ctx.context
    );
    match got {
        Err(_) => Err(format!(
            "context {} did not answer within {}s",
            ctx.context,
            CLUSTER_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => Err(format!("reading {origin} failed: {e}")),
        Ok(Ok(None)) => Err(format!("{origin} does not exist")),
        Ok(Ok(Some(cm))) => Ok((cm.data.unwrap_or_default(), origin)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::{CommandFactory, FromArgMatches};

    fn given(argv: &[&str]) -> Given {
        let matches = Cli::command().try_get_matches_from(argv).unwrap();
        let _ = Cli::from_arg_matches(&matches).unwrap();
        Given::from_matches(&matches)
    }

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flags_before_or_after_the_subcommand_count_as_given() {
        let g = given(&[
            "kubectl-failover",
            "--table-name",
            "t",
            "status",
            "--region",
            "r",
        ]);
        assert_eq!(g.source("table_name"), Some("flag"));
        assert_eq!(g.source("region"), Some("flag"));
        assert_eq!(g.source("operator_id"), None);
        assert!(!g.is_complete());
    }

    #[test]
    fn the_configmap_fills_only_what_was_not_given_and_says_where_each_came_from() {
        let g = given(&["kubectl-failover", "--table-name", "mine", "status"]);
        let mut store = StoreArgs::defaults();
        store.table_name = "mine".into();
        let cm = data(&[
            ("DYNAMODB_TABLE_NAME", "theirs"),
            ("OPERATOR_ID", "prod"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT", ""),
        ]);
        let notes = apply(&mut store, &g, Some(&cm), "ConfigMap x/y");
        assert_eq!(store.table_name, "mine");
        assert_eq!(store.operator_id, "prod");
        assert_eq!(store.region, "eu-west-1");
        assert_eq!(store.endpoint, None);
        assert!(notes.contains(&"DYNAMODB_TABLE_NAME: from the flag".to_string()));
        assert!(notes.contains(&"OPERATOR_ID: from ConfigMap x/y".to_string()));
        assert!(notes.contains(&"AWS_USE_LOCAL_ENDPOINT: default".to_string()));
    }

    #[test]
    fn without_a_configmap_every_setting_not_given_is_a_default() {
        let g = Given::default();
        let mut store = StoreArgs::defaults();
        let notes = apply(&mut store, &g, None, "");
        assert_eq!(store, StoreArgs::defaults());
        assert!(notes.iter().all(|n| n.ends_with("default")), "{notes:?}");
    }
}
