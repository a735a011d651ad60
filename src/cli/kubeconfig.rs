//! kubectl's connection flags (`--kubeconfig`, `--context`), which kubectl passes to a plugin
//! untouched, and what the plugin takes from them: the context's default namespace, the
//! person's identity for history, and a Kubernetes client for the current context.

use clap::Args;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::PathBuf;
use std::time::Duration;

/// How long a call to a cluster may take before the plugin gives up on it and falls back
/// (reading a ConfigMap or a FailoverGroup must not hang a command whose real work is in
/// DynamoDB).
pub const CLUSTER_TIMEOUT: Duration = Duration::from_secs(4);

/// The kubectl connection flags.
#[derive(Debug, Clone, Default, Args, PartialEq, Eq)]
#[command(next_help_heading = "Kubernetes")]
pub struct KubeArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "PATH", global = true)]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
}

/// Why the kubeconfig or a cluster could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No kubeconfig could be read.
    #[error("could not read the kubeconfig ({source}); pass --kubeconfig PATH or set KUBECONFIG")]
    Read {
        /// The loader's error.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The context asked for is not in the kubeconfig.
    #[error("context {context:?} is not in the kubeconfig (contexts: {}); check --context", .known.join(", "))]
    UnknownContext {
        /// The context asked for.
        context: String,
        /// The contexts there are.
        known: Vec<String>,
    },
    /// The kubeconfig names no context and none was given.
    #[error("the kubeconfig has no current context; pass --context NAME")]
    NoContext,
    /// A client could not be built from the context.
    #[error("could not use context {context:?}: {source}")]
    Config {
        /// The context.
        context: String,
        /// The loader's error.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// Building the client failed.
    #[error("could not create a Kubernetes client for context {context:?}: {source}")]
    Client {
        /// The context.
        context: String,
        /// kube's error.
        #[source]
        source: kube::Error,
    },
}

/// What the plugin knows about the kubeconfig context it runs against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeContext {
    /// The context's name.
    pub context: String,
    /// The kubeconfig user of the context, if it names one.
    pub user: Option<String>,
    /// The context's default namespace, if it sets one.
    pub namespace: Option<String>,
}

impl KubeArgs {
    /// Reads the kubeconfig: `--kubeconfig`, else `$KUBECONFIG` (a list of files, merged), else
    /// `~/.kube/config`, as kubectl does.
    pub fn read(&self) -> Result<Kubeconfig, KubeError> {
        let read = match &self.kubeconfig {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::read(),
        };
        read.map_err(|source| KubeError::Read { source })
    }

    /// The context in use (`--context`, else the kubeconfig's current one), with its user and
    /// namespace.
    pub fn context(&self) -> Result<KubeContext, KubeError> {
        let config = self.read()?;
        context_of(&config, self.context.as_deref())
    }

    /// A client for the context, with [`CLUSTER_TIMEOUT`] on connecting and reading so an
    /// unreachable cluster fails fast.
    pub async fn client(&self) -> Result<(kube::Client, KubeContext), KubeError> {
        let kubeconfig = self.read()?;
        let ctx = context_of(&kubeconfig, self.context.as_deref())?;
        let options = KubeConfigOptions {
            context: Some(ctx.context.clone()),
            ..KubeConfigOptions::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|source| KubeError::Config {
                context: ctx.context.clone(),
                source,
            })?;
        config.connect_timeout = Some(CLUSTER_TIMEOUT);
        config.read_timeout = Some(CLUSTER_TIMEOUT);
        let client = kube::Client::try_from(config).map_err(|source| KubeError::Client {
            context: ctx.context.clone(),
            source,
        })?;
        Ok((client, ctx))
    }
}

/// Finds `wanted` (or the current context) in a kubeconfig.
pub fn context_of(config: &Kubeconfig, wanted: Option<&str>) -> Result<KubeContext, KubeError> {
    let name = wanted
        .map(str::to_string)
        .or_else(|| config.current_context.clone())
        .filter(|n| !n.is_empty())
        .ok_or(KubeError::NoContext)?;
    let Some(named) = config.contexts.iter().find(|c| c.name == name) else {
        return Err(KubeError::UnknownContext {
            context: name,
            known: config.contexts.iter().map(|c| c.name.clone()).collect(),
        });
    };
    let inner = named.context.as_ref();
    Ok(KubeContext {
        context: name.clone(),
        user: inner.and_then(|c| c.user.clone()).filter(|u| !u.is_empty()),
        namespace: inner
            .and_then(|c| c.namespace.clone())
            .filter(|n| !n.is_empty()),
    })
}

/// Who is asking, for the history's `initiator`: the kubeconfig user and context when there is
/// a kubeconfig (that is the identity the clusters know), else the login name from `$USER`.
/// The second value says which source was used, for `-v`.
pub fn initiator(ctx: Option<&KubeContext>, login: Option<&str>) -> (String, &'static str) {
    let login = login.filter(|l| !l.is_empty());
    match (ctx, login) {
        (Some(c), Some(login)) => (
            format!(
                "{}@{} ({login})",
                c.user.as_deref().unwrap_or("unknown-user"),
                c.context
            ),
            "kubeconfig user@context and $USER",
        ),
        (Some(c), None) => (
            format!(
                "{}@{}",
                c.user.as_deref().unwrap_or("unknown-user"),
                c.context
            ),
            "kubeconfig user@context",
        ),
        (None, Some(login)) => (login.to_string(), "$USER (no kubeconfig context)"),
        (None, None) => (
            "unknown".to_string(),
            "nothing: no kubeconfig context and no $USER",
        ),
    }
}

/// The namespace a command uses when `-n` is not given: the context's, else `default`.
pub fn default_namespace(ctx: Option<&KubeContext>) -> String {
    ctx.and_then(|c| c.namespace.clone())
        .unwrap_or_else(|| crate::cli::status::DEFAULT_NAMESPACE.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
apiVersion: v1
kind: Config
current-context: east
clusters:
- name: east
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: alice
  user: {token: x}
contexts:
- name: east
  context: {cluster: east, user: alice, namespace: shop}
- name: west
  context: {cluster: east}
"#;

    fn config() -> Kubeconfig {
        Kubeconfig::from_yaml(CONFIG).unwrap()
    }

    #[test]
    fn the_current_context_gives_user_and_namespace_and_context_overrides_it() {
        let c = context_of(&config(), None).unwrap();
        assert_eq!(
            c,
            KubeContext {
                context: "east".into(),
                user: Some("alice".into()),
                namespace: Some("shop".into())
            }
        );
        let w = context_of(&config(), Some("west")).unwrap();
        assert_eq!(w.user, None);
        assert_eq!(default_namespace(Some(&w)), "default");
        assert_eq!(default_namespace(Some(&c)), "shop");
    }

    #[test]
    fn an_unknown_context_names_the_known_ones() {
        let err = context_of(&config(), Some("north")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("\"north\"") && msg.contains("east, west"),
            "{msg}"
        );
    }

    #[test]
    fn the_initiator_prefers_the_kubeconfig_identity_and_adds_the_login() {
        let c = context_of(&config(), None).unwrap();
        assert_eq!(initiator(Some(&c), Some("bob")).0, "alice@east (bob)");
        assert_eq!(initiator(Some(&c), None).0, "alice@east");
        assert_eq!(initiator(None, Some("bob")).0, "bob");
        assert_eq!(initiator(None, None).0, "unknown");
    }
}
