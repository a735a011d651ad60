//! `promote`: move groups to another cluster. Shows the topology and the ordered plan, asks
//! (unless `--yes`), then writes the transition request to DynamoDB (works while a cluster's
//! API is unreachable) or creates a Failover resource (`--via-cr`); `--wait` follows it to the
//! end. Refusals (unknown target, transition or lock in flight, invalid group state) write
//! nothing and exit 3; a target that already is primary exits 0.

pub mod check;
pub mod cluster;
pub mod confirm;
pub mod plan;

use crate::cli::color::ColorChoice;
use crate::cli::kubeconfig::{KubeArgs, default_namespace, initiator};
use crate::cli::open_store;
use crate::cli::progress::{self, Awaited};
use crate::cli::status::resolve_group;
use crate::clock::{Clock, SystemClock};
use crate::config::StoreArgs;
use crate::duration::GoDuration;
use crate::error::{Error, ExitCode};
use crate::ops::promote::{PromoteOutcome, PromoteRequest, request_promotion};
use crate::store::{FailoverMode, GroupId};
use check::{Checked, Verdict};
use clap::Args;
use std::io::{IsTerminal, Write};

/// Examples shown by `promote --help`.
const EXAMPLES: &str = "Examples:
  # Show the plan for moving shop/web to cluster west, ask, then request it
  kubectl failover promote shop/web --to west

  # The same with -n, without a question, following it to the end
  kubectl failover promote -n shop web --to west --yes --wait --timeout 5m

  # Move every group cluster east owns to west (e.g. before maintenance of east)
  kubectl failover promote --all-from east --to west --reason \"east maintenance\"

  # East is down: do not wait for its acknowledgement (type the group name to confirm)
  kubectl failover promote shop/web --to west --force

  # Print the plan only; nothing is written
  kubectl failover promote shop/web --to west --dry-run

Exit codes: 0 requested (or already primary), 2 bad arguments, 3 refused (unknown target,
transition or lock in flight, invalid group state) or aborted, 4 group not found,
5 DynamoDB or cluster unreachable, 6 --wait timed out.";

/// The `--mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Data first: the old primary stops completely before the target starts.
    Consistency,
    /// Availability first: the target starts before the old primary stops.
    Uptime,
}

impl From<ModeArg> for FailoverMode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Consistency => FailoverMode::Consistency,
            ModeArg::Uptime => FailoverMode::Uptime,
        }
    }
}

/// `-o` of `promote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PromoteOutput {
    /// Plan and results for people.
    #[default]
    Text,
    /// One JSON document with every group's outcome (needs --yes or --dry-run).
    Json,
}

/// Flags of `promote`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct PromoteArgs {
    /// Groups to move, as NAMESPACE/NAME (or NAME with -n).
    #[arg(value_name = "GROUP")]
    pub groups: Vec<String>,

    /// Namespace of the groups [default: the context's namespace, else default].
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// The cluster to become PRIMARY.
    #[arg(long, value_name = "CLUSTER")]
    pub to: String,

    /// Also move every group this cluster owns (in -n's namespace when given, else in all).
    #[arg(long, value_name = "CLUSTER")]
    pub all_from: Option<String>,

    /// CONSISTENCY (data first) or UPTIME (availability first).
    #[arg(long, value_enum, default_value_t = ModeArg::Consistency)]
    pub mode: ModeArg,

    /// Do not wait for the old primary to acknowledge (it is down or unreachable).
    #[arg(long)]
    pub force: bool,

    /// Why; recorded in the history with who asked.
    #[arg(long, default_value = "promoted with kubectl failover")]
    pub reason: String,

    /// Print the plan and the checks only; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Create a Failover resource in the kubeconfig context instead of writing to DynamoDB.
    #[arg(long)]
    pub via_cr: bool,

    /// Follow the transitions until they end, printing each phase.
    #[arg(long)]
    pub wait: bool,

    /// How long --wait waits (e.g. 90s, 5m).
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub timeout: GoDuration,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = PromoteOutput::Text)]
    pub output: PromoteOutput,
}

/// Runs `promote`.
pub async fn run(
    store_args: &StoreArgs,
    kube: &KubeArgs,
    color: ColorChoice,
    args: PromoteArgs,
) -> Result<(), Error> {
    if args.groups.is_empty() && args.all_from.is_none() {
        return Err(Error::Usage(
            "promote needs the groups to move (NAMESPACE/NAME ...) or --all-from CLUSTER; e.g. kubectl failover promote shop/web --to west".into(),
        ));
    }
    let json = args.output == PromoteOutput::Json;
    if json && !args.yes && !args.dry_run {
        return Err(Error::Usage(
            "-o json cannot ask for confirmation; add --yes (or --dry-run)".into(),
        ));
    }
    crate::store::validate_name("cluster", &args.to).map_err(|e| Error::Usage(e.to_string()))?;
    let palette = if json {
        crate::cli::color::Palette::PLAIN
    } else {
        color.for_stdout()
    };
    let ctx = match kube.context() {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::info!("no kubeconfig context: {e}");
            None
        }
    };
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| default_namespace(ctx.as_ref()));
    let mut groups = Vec::new();
    for g in &args.groups {
        // An explicit -n must agree with NAMESPACE/NAME; the context's namespace only fills in
        // a bare NAME.
        let id = match (&args.namespace, g.contains('/')) {
            (Some(ns), _) => resolve_group(g, Some(ns))?,
            (None, true) => resolve_group(g, None)?,
            (None, false) => resolve_group(g, Some(&namespace))?,
        };
        if !groups.contains(&id) {
            groups.push(id);
        }
    }
    let store = open_store(store_args).await?;
    let operator_id = &store_args.operator_id;
    if let Some(from) = &args.all_from {
        let listing = store.list_groups(operator_id).await?;
        for config in listing.items {
            let in_scope = args.namespace.is_none() || config.group.namespace == namespace;
            if config.owner_cluster == *from && in_scope && !groups.contains(&config.group) {
                groups.push(config.group);
            }
        }
        if groups.is_empty() {
            return Err(Error::Command {
                message: format!(
                    "cluster {from:?} owns no group of operator {operator_id:?}{}; see `kubectl failover status -A`",
                    args.namespace
                        .as_ref()
                        .map_or(String::new(), |ns| format!(" in namespace {ns}"))
                ),
                code: ExitCode::NotFound,
            });
        }
    }
    let login = std::env::var("USER").ok();
    let (who, source) = initiator(ctx.as_ref(), login.as_deref());
    tracing::info!(initiator = %who, "initiator from {source}");

    let clock = SystemClock::new();
    let mode = FailoverMode::from(args.mode);
    let checks = check::check_all(
        store.as_ref(),
        &clock,
        operator_id,
        &groups,
        &check::Ask {
            target: &args.to,
            mode,
            force: args.force,
            kube: ctx.as_ref().map(|_| kube),
        },
    )
    .await?;

    let mut out = std::io::stdout().lock();
    if !json {
        for c in &checks {
            check::print(
                c,
                &args.to,
                mode,
                args.force,
                clock.now(),
                palette,
                &mut out,
            )?;
        }
    }
    let refused: Vec<&Checked> = checks.iter().filter(|c| c.verdict.is_refusal()).collect();
    if !refused.is_empty() {
        if json {
            check::write_json(&checks, args.dry_run, &mut out)?;
        }
        let reasons: Vec<String> = refused.iter().map(|c| c.verdict.to_string()).collect();
        return Err(Error::Command {
            message: format!("nothing written: {}", reasons.join("; ")),
            code: ExitCode::Conflict,
        });
    }
    let todo: Vec<&Checked> = checks
        .iter()
        .filter(|c| matches!(c.verdict, Verdict::Go))
        .collect();
    if todo.is_empty() {
        if json {
            check::write_json(&checks, args.dry_run, &mut out)?;
        } else {
            writeln!(out, "Nothing to do: {} is already primary.", args.to)?;
        }
        return Ok(());
    }
    if args.dry_run {
        if json {
            check::write_json(&checks, true, &mut out)?;
        } else {
            writeln!(out, "Dry run: nothing written.")?;
        }
        return Ok(());
    }
    if !args.yes {
        let question = if args.force {
            writeln!(
                out,
                "--force: the target does not wait for the old primary to stop and acknowledge; it only waits until that cluster's heartbeat has been silent for timeouts.heartbeat + timeouts.deactivation. Use it when the old primary is down or cut off."
            )?;
            let text = match todo.as_slice() {
                [one] => one.group.to_string(),
                _ => args.to.clone(),
            };
            confirm::Question::TypeBack(text)
        } else {
            confirm::Question::YesNo
        };
        confirm::ask(&question, &mut std::io::stdin().lock(), &mut out)?;
        if !std::io::stdin().is_terminal() {
            // A piped answer is not echoed: end the prompt's line ourselves.
            writeln!(out)?;
        }
    }

    let mut awaited = Vec::new();
    if args.via_cr {
        let ids: Vec<GroupId> = todo.iter().map(|c| c.group.clone()).collect();
        let created = cluster::create_failovers(
            kube,
            &cluster::CrRequest {
                groups: &ids,
                target: &args.to,
                mode,
                force: args.force,
                reason: &args.reason,
            },
        )
        .await?;
        for name in &created {
            writeln!(out, "failover.kubectl-failover.io/{name} created")?;
        }
        awaited.extend(todo.iter().map(|c| Awaited {
            group: c.group.clone(),
            target: args.to.clone(),
            source: c.owner.clone(),
            id: None,
        }));
    } else {
        let mut outcomes = Vec::new();
        let mut worst = ExitCode::Ok;
        for c in &todo {
            let mut request = PromoteRequest::to(&args.to, &who, &args.reason);
            request.mode = mode;
            request.force = args.force;
            request.has_volume_replications = c.has_volume_replications;
            let outcome =
                request_promotion(store.as_ref(), &clock, operator_id, &c.group, &request).await?;
            if let PromoteOutcome::Requested { transition, .. } = &outcome {
                awaited.push(Awaited {
                    group: c.group.clone(),
                    target: args.to.clone(),
                    source: transition.source.clone(),
                    id: Some(transition.id.clone()),
                });
            }
            if !json {
                let line = format!("{}: {outcome}", c.group);
                let line = if outcome.is_success() {
                    palette.ok(&line)
                } else {
                    palette.bad(&line)
                };
                writeln!(out, "{line}")?;
            }
            if !outcome.is_success() {
                worst = ExitCode::Conflict;
            }
            outcomes.push((c.group.to_string(), outcome));
        }
        if json {
            let doc: Vec<serde_json::Value> = outcomes
                .iter()
                .map(|(g, o)| serde_json::json!({"group": g, "result": o}))
                .collect();
            crate::cli::output::write_json(&mut out, &serde_json::json!({"groups": doc}))?;
        }
        if worst != ExitCode::Ok {
            return Err(Error::Command {
                message:
                    "some requests were refused (see above); nothing was written for those groups"
                        .into(),
                code: worst,
            });
        }
    }
    if args.wait && !awaited.is_empty() {
        let live = !json && std::io::stdout().is_terminal();
        let mut sink: Box<dyn Write> = if json {
            Box::new(std::io::stderr())
        } else {
            Box::new(std::io::stdout())
        };
        drop(out);
        progress::wait(
            store.as_ref(),
            operator_id,
            &awaited,
            args.timeout.get(),
            &mut sink,
            live,
            palette,
        )
        .await?;
    }
    Ok(())
}
