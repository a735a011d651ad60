//! `status`: which cluster is primary for one group, a namespace's groups, or every group of the
//! operator (`-A`), with every cluster's heartbeat and health and any lock. Read-only.

mod render;
#[cfg(test)]
mod render_tests;

pub use render::{render_group, render_list};

use crate::cli::open_store;
use crate::cli::output::{OutputFormat, write_warnings};
use crate::clock::SystemClock;
use crate::config::StoreArgs;
use crate::error::Error;
use crate::ops::status::{ListScope, group_status, list_status};
use crate::store::GroupId;
use clap::Args;
use std::io::Write;

/// The namespace used when none is given, as kubectl does without a context namespace.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Flags of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The group, as NAMESPACE/NAME (or NAME with -n). Without it: every group in the namespace.
    #[arg(value_name = "GROUP")]
    pub group: Option<String>,

    /// Namespace of the group(s) [default: default].
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// Every group of the operator, in every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// What `status` was asked to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One group.
    Group(GroupId),
    /// A listing.
    List(ListScope),
}

impl StatusArgs {
    /// Resolves the positional group, `-n` and `-A` into one target, refusing combinations that
    /// contradict each other. As in kubectl, `-A` makes `-n` irrelevant.
    pub fn target(&self) -> Result<Target, Error> {
        match (&self.group, self.all_namespaces) {
            (Some(group), true) => Err(Error::Usage(format!(
                "status takes either a group or -A/--all-namespaces, not both; run `kubectl failover status {group}` for one group or `kubectl failover status -A` for all"
            ))),
            (Some(group), false) => {
                resolve_group(group, self.namespace.as_deref()).map(Target::Group)
            }
            (None, true) => Ok(Target::List(ListScope::AllNamespaces)),
            (None, false) => {
                let ns = self.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
                crate::store::validate_name("namespace", ns)
                    .map_err(|e| Error::Usage(e.to_string()))?;
                Ok(Target::List(ListScope::Namespace(ns.to_string())))
            }
        }
    }
}

/// Turns `NAMESPACE/NAME`, or `NAME` with `-n NAMESPACE` (default `default`), into a group id.
/// A `NAMESPACE/NAME` whose namespace differs from `-n` is refused rather than guessed.
pub fn resolve_group(group: &str, namespace: Option<&str>) -> Result<GroupId, Error> {
    let usage = |e: crate::store::InvalidName| Error::Usage(e.to_string());
    match group.split_once('/') {
        Some((ns, name)) => {
            if let Some(flag) = namespace.filter(|flag| *flag != ns) {
                return Err(Error::Usage(format!(
                    "group {group} names namespace {ns:?} but -n says {flag:?}; drop -n, or give just the name: -n {flag} {name}"
                )));
            }
            GroupId::new(ns, name).map_err(usage)
        }
        None => GroupId::new(namespace.unwrap_or(DEFAULT_NAMESPACE), group).map_err(usage),
    }
}

/// Runs `status`.
pub async fn run(store_args: &StoreArgs, args: StatusArgs) -> Result<(), Error> {
    // Check the arguments before connecting: a usage error should not wait on the network.
    let target = args.target()?;
    let store = open_store(store_args).await?;
    let clock = SystemClock::new();
    let operator_id = &store_args.operator_id;
    match target {
        Target::Group(group) => {
            let view = group_status(store.as_ref(), &clock, operator_id, &group).await?;
            render_group(&view, args.output, &mut std::io::stdout().lock())?;
        }
        Target::List(scope) => {
            let list = list_status(store.clone(), &clock, operator_id, &scope).await?;
            write_warnings(&mut std::io::stderr().lock(), &list.warnings)?;
            let nothing = render_list(&list, args.output, &mut std::io::stdout().lock())?;
            if nothing {
                // Like kubectl's "No resources found": on stderr, so stdout stays empty.
                let mut err = std::io::stderr().lock();
                match &scope {
                    ListScope::Namespace(ns) => writeln!(
                        err,
                        "No failover groups found in namespace {ns} (operator {operator_id:?}, {}); try -A for every namespace.",
                        store.describe()
                    )?,
                    ListScope::AllNamespaces => writeln!(
                        err,
                        "No failover groups found for operator {operator_id:?} in {}.",
                        store.describe()
                    )?,
                }
            }
        }
    }
    std::io::stdout().flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: StatusArgs,
    }

    fn target(argv: &[&str]) -> Result<Target, Error> {
        let mut full = vec!["status"];
        full.extend_from_slice(argv);
        Wrapper::try_parse_from(full).unwrap().args.target()
    }

    fn group(ns: &str, name: &str) -> Target {
        Target::Group(GroupId::new(ns, name).unwrap())
    }

    #[test]
    fn a_group_can_be_named_with_a_slash_or_with_dash_n_or_in_the_default_namespace() {
        assert_eq!(target(&["shop/web"]).unwrap(), group("shop", "web"));
        assert_eq!(
            target(&["-n", "shop", "web"]).unwrap(),
            group("shop", "web")
        );
        assert_eq!(
            target(&["-n", "shop", "shop/web"]).unwrap(),
            group("shop", "web")
        );
        assert_eq!(target(&["web"]).unwrap(), group("default", "web"));
    }

    #[test]
    fn without_a_group_the_namespace_or_every_namespace_is_listed() {
        let ns = |n: &str| Target::List(ListScope::Namespace(n.into()));
        assert_eq!(target(&[]).unwrap(), ns("default"));
        assert_eq!(target(&["-n", "shop"]).unwrap(), ns("shop"));
        let all = Target::List(ListScope::AllNamespaces);
        assert_eq!(target(&["-A"]).unwrap(), all);
        assert_eq!(target(&["--all-namespaces", "-n", "shop"]).unwrap(), all);
    }

    #[test]
    fn all_namespaces_with_a_group_is_a_usage_error_that_says_what_to_run() {
        let err = target(&["-A", "shop/web"]).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
        let msg = err.to_string();
        assert!(
            msg.contains("status shop/web") && msg.contains("status -A"),
            "{msg}"
        );
    }

    #[test]
    fn a_slash_namespace_that_contradicts_dash_n_is_a_usage_error() {
        let err = target(&["-n", "blog", "shop/web"]).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
        assert!(err.to_string().contains("-n blog web"), "{err}");
    }

    #[test]
    fn names_that_cannot_be_keys_are_usage_errors() {
        for bad in ["shop/we#b", "/web", "shop/", "a/b/c"] {
            let err = target(&[bad]).unwrap_err();
            assert_eq!(err.exit_code(), crate::error::ExitCode::Usage, "{bad}");
        }
    }
}
