//! `status`: which cluster is primary for one group, a namespace's groups, or every group of the
//! operator (`-A`), with every cluster's heartbeat and health and any lock. Read-only.

mod render;
#[cfg(test)]
mod render_tests;

pub use render::{render_group, render_list, summary_line};

use crate::cli::color::{ColorChoice, Palette, paint_health};
use crate::cli::kubeconfig::{KubeArgs, default_namespace};
use crate::cli::open_store;
use crate::cli::output::{OutputFormat, format_time, write_warnings};
use crate::clock::SystemClock;
use crate::config::StoreArgs;
use crate::duration::GoDuration;
use crate::error::Error;
use crate::ops::status::{ListScope, group_status, list_status};
use crate::store::GroupId;
use clap::Args;
use std::io::{IsTerminal, Write};

/// The namespace used when none is given, as kubectl does without a context namespace.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Examples under `status --help`.
const EXAMPLES: &str = "Examples:
  # Every group of the operator, with a summary line
  kubectl failover status -A

  # One group: owner, every cluster's health and heartbeat, lock countdown, transition phase
  kubectl failover status shop/web

  # More columns (epoch, phase, lock lease), refreshed every 2s until Ctrl-C
  kubectl failover status -A -o wide -w

  # The full view for scripts
  kubectl failover status -n shop web -o json

Exit codes: 0 ok, 2 bad arguments, 4 table or group not found, 5 DynamoDB unreachable.";

/// Flags of `status`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct StatusArgs {
    /// The group, as NAMESPACE/NAME (or NAME with -n). Without it: every group in the namespace.
    #[arg(value_name = "GROUP")]
    pub group: Option<String>,

    /// Namespace of the group(s) [default: the context's namespace, else default].
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// Every group of the operator, in every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,

    /// Keep showing the status, refreshed every --interval, until interrupted (Ctrl-C).
    #[arg(short = 'w', long)]
    pub watch: bool,

    /// How often -w refreshes (e.g. 2s, 500ms).
    #[arg(long, default_value = "2s", value_name = "DURATION")]
    pub interval: GoDuration,
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
        self.target_in(DEFAULT_NAMESPACE)
    }

    /// [`StatusArgs::target`] with `default_ns` (the kubeconfig context's namespace, as kubectl
    /// uses it) standing in for a missing `-n`.
    pub fn target_in(&self, default_ns: &str) -> Result<Target, Error> {
        let namespace = self.namespace.as_deref().or(Some(default_ns));
        match (&self.group, self.all_namespaces) {
            (Some(group), true) => Err(Error::Usage(format!(
                "status takes either a group or -A/--all-namespaces, not both; run `kubectl failover status {group}` for one group or `kubectl failover status -A` for all"
            ))),
            // An explicit -n must agree with NAMESPACE/NAME; the default only fills in NAME.
            (Some(group), false) if self.namespace.is_none() && group.contains('/') => {
                resolve_group(group, None).map(Target::Group)
            }
            (Some(group), false) => resolve_group(group, namespace).map(Target::Group),
            (None, true) => Ok(Target::List(ListScope::AllNamespaces)),
            (None, false) => {
                let ns = namespace.unwrap_or(DEFAULT_NAMESPACE);
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

/// Runs `status`: once, or with `-w` again every `--interval` until interrupted.
pub async fn run(
    store_args: &StoreArgs,
    kube: &KubeArgs,
    color: ColorChoice,
    args: StatusArgs,
) -> Result<(), Error> {
    // Check the arguments before connecting: a usage error should not wait on the network.
    let target = if args.namespace.is_none() {
        args.target_in(&default_namespace(kube.context().ok().as_ref()))?
    } else {
        args.target()?
    };
    let store = open_store(store_args).await?;
    let palette = if matches!(args.output, OutputFormat::Table | OutputFormat::Wide) {
        color.for_stdout()
    } else {
        Palette::PLAIN
    };
    if !args.watch {
        let frame = render_once(store.clone(), store_args, &target, &args, palette).await?;
        let mut out = std::io::stdout().lock();
        out.write_all(frame.stdout.as_bytes())?;
        out.flush()?;
        std::io::stderr()
            .lock()
            .write_all(frame.stderr.as_bytes())?;
        return Ok(());
    }
    let terminal = std::io::stdout().is_terminal();
    let mut last = String::new();
    loop {
        let frame = render_once(store.clone(), store_args, &target, &args, palette).await?;
        let text = format!("{}{}", frame.stdout, frame.stderr);
        let mut out = std::io::stdout().lock();
        if terminal {
            // Redraw in place, like `watch`: home, clear, then the frame with its time.
            write!(
                out,
                "\x1b[H\x1b[2J{}\n\n{text}",
                palette.dim(&format!(
                    "Every {}: kubectl failover status   {}",
                    args.interval,
                    format_time(chrono::Utc::now())
                ))
            )?;
        } else if text != last {
            // Not a terminal: append only what changed, like `kubectl get -w`.
            if !last.is_empty() {
                writeln!(out)?;
            }
            write!(out, "{text}")?;
        }
        out.flush()?;
        drop(out);
        last = text;
        tokio::select! {
            _ = tokio::time::sleep(args.interval.get()) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// One rendering: the document or table for stdout, notes for stderr.
struct Frame {
    stdout: String,
    stderr: String,
}

async fn render_once(
    store: std::sync::Arc<dyn crate::store::CoordinationStore>,
    store_args: &StoreArgs,
    target: &Target,
    args: &StatusArgs,
    palette: Palette,
) -> Result<Frame, Error> {
    let clock = SystemClock::new();
    let operator_id = &store_args.operator_id;
    let mut out = Vec::new();
    let mut err = Vec::new();
    match target {
        Target::Group(group) => {
            let view = group_status(store.as_ref(), &clock, operator_id, group).await?;
            render_group(&view, args.output, &mut out)?;
        }
        Target::List(scope) => {
            let list = list_status(store.clone(), &clock, operator_id, scope).await?;
            write_warnings(&mut err, &list.warnings)?;
            let nothing = render_list(&list, args.output, &mut out)?;
            if nothing {
                // Like kubectl's "No resources found": on stderr, so stdout stays empty.
                match scope {
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
            } else if *scope == ListScope::AllNamespaces
                && matches!(args.output, OutputFormat::Table | OutputFormat::Wide)
            {
                // On stderr like the notes above, so stdout stays one table.
                writeln!(err, "\n{}", summary_line(&list))?;
            }
        }
    }
    let stdout = String::from_utf8_lossy(&out)
        .lines()
        .map(|l| format!("{}\n", paint_health(l, palette)))
        .collect();
    Ok(Frame {
        stdout,
        stderr: String::from_utf8_lossy(&err).into_owned(),
    })
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
    fn the_context_namespace_fills_in_only_when_dash_n_is_not_given() {
        let parse = |argv: &[&str]| {
            let mut full = vec!["status"];
            full.extend_from_slice(argv);
            Wrapper::try_parse_from(full).unwrap().args
        };
        assert_eq!(
            parse(&["web"]).target_in("shop").unwrap(),
            group("shop", "web")
        );
        assert_eq!(
            parse(&["blog/web"]).target_in("shop").unwrap(),
            group("blog", "web")
        );
        assert_eq!(
            parse(&[]).target_in("shop").unwrap(),
            Target::List(ListScope::Namespace("shop".into()))
        );
        assert_eq!(
            parse(&["-n", "blog", "web"]).target_in("shop").unwrap(),
            group("blog", "web")
        );
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
