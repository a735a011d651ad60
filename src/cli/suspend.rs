//! `suspend` and `resume`: turn a group's automatic failover off or on. Written to DynamoDB with
//! a compare-and-set (so it holds while a cluster is unreachable); `status` shows it. A person
//! can still `promote` a suspended group.

use crate::cli::color::ColorChoice;
use crate::cli::kubeconfig::{KubeArgs, default_namespace};
use crate::cli::open_store;
use crate::cli::output::{OutputFormat, write_document};
use crate::cli::status::resolve_group;
use crate::clock::SystemClock;
use crate::config::StoreArgs;
use crate::error::{Error, ExitCode};
use crate::ops::suspend::{SuspendOutcome, set_suspended};
use crate::store::GroupId;
use clap::Args;
use std::io::Write;

const SUSPEND_EXAMPLES: &str = "Examples:
  # No automatic failover of shop/web during a database migration
  kubectl failover suspend shop/web --reason \"db migration\"

  # Every group given, with -n
  kubectl failover suspend -n shop web api --reason \"load test\"

Exit codes: 0 suspended (or already), 2 bad arguments, 3 CONFIG kept changing,
4 group not found, 5 DynamoDB unreachable.";

const RESUME_EXAMPLES: &str = "Examples:
  kubectl failover resume shop/web
  kubectl failover resume -n shop web api

Exit codes: 0 resumed (or not suspended), 2 bad arguments, 3 CONFIG kept changing,
4 group not found, 5 DynamoDB unreachable.";

/// Flags of `suspend`.
#[derive(Debug, Args)]
#[command(after_help = SUSPEND_EXAMPLES)]
pub struct SuspendArgs {
    /// Groups, as NAMESPACE/NAME (or NAME with -n).
    #[arg(value_name = "GROUP", required = true)]
    pub groups: Vec<String>,

    /// Namespace of the groups [default: the context's namespace, else default].
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// Why automatic failover is off; shown by status.
    #[arg(long, required = true)]
    pub reason: String,

    /// Output format (json/yaml: one document with every group's outcome).
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Flags of `resume`.
#[derive(Debug, Args)]
#[command(after_help = RESUME_EXAMPLES)]
pub struct ResumeArgs {
    /// Groups, as NAMESPACE/NAME (or NAME with -n).
    #[arg(value_name = "GROUP", required = true)]
    pub groups: Vec<String>,

    /// Namespace of the groups [default: the context's namespace, else default].
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// Output format (json/yaml: one document with every group's outcome).
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Runs `suspend`.
pub async fn run_suspend(
    store: &StoreArgs,
    kube: &KubeArgs,
    color: ColorChoice,
    args: SuspendArgs,
) -> Result<(), Error> {
    if args.reason.trim().is_empty() {
        return Err(Error::Usage(
            "--reason must say why automatic failover is off (status shows it to whoever looks next)".into(),
        ));
    }
    let groups = resolve_all(&args.groups, args.namespace.as_deref(), kube)?;
    apply(store, color, &groups, Some(&args.reason), args.output).await
}

/// Runs `resume`.
pub async fn run_resume(
    store: &StoreArgs,
    kube: &KubeArgs,
    color: ColorChoice,
    args: ResumeArgs,
) -> Result<(), Error> {
    let groups = resolve_all(&args.groups, args.namespace.as_deref(), kube)?;
    apply(store, color, &groups, None, args.output).await
}

/// Resolves group arguments; a bare NAME takes `-n`, else the context's namespace.
pub fn resolve_all(
    groups: &[String],
    namespace: Option<&str>,
    kube: &KubeArgs,
) -> Result<Vec<GroupId>, Error> {
    let mut fallback: Option<String> = None;
    let mut ids = Vec::new();
    for g in groups {
        let id = match (namespace, g.contains('/')) {
            (Some(ns), _) => resolve_group(g, Some(ns))?,
            (None, true) => resolve_group(g, None)?,
            (None, false) => {
                let ns =
                    fallback.get_or_insert_with(|| default_namespace(kube.context().ok().as_ref()));
                resolve_group(g, Some(ns))?
            }
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

async fn apply(
    store_args: &StoreArgs,
    color: ColorChoice,
    groups: &[GroupId],
    reason: Option<&str>,
    format: OutputFormat,
) -> Result<(), Error> {
    let store = open_store(store_args).await?;
    let clock = SystemClock::new();
    let palette = color.for_stdout();
    let mut outcomes = Vec::new();
    for group in groups {
        let outcome = set_suspended(
            store.as_ref(),
            &clock,
            &store_args.operator_id,
            group,
            reason.is_some(),
            reason,
        )
        .await?;
        outcomes.push(outcome);
    }
    let mut out = std::io::stdout().lock();
    if !write_document(format, &mut out, &serde_json::json!({ "groups": outcomes }))? {
        for o in &outcomes {
            let line = o.to_string();
            let line = match o {
                SuspendOutcome::Changed { .. } => palette.ok(&line),
                SuspendOutcome::Unchanged { .. } => line,
                SuspendOutcome::Contended { .. } => palette.bad(&line),
            };
            writeln!(out, "{line}")?;
        }
    }
    out.flush()?;
    if outcomes
        .iter()
        .any(|o| matches!(o, SuspendOutcome::Contended { .. }))
    {
        return Err(Error::Command {
            message: "CONFIG kept changing for some groups (see above); run the command again"
                .into(),
            code: ExitCode::Conflict,
        });
    }
    Ok(())
}
