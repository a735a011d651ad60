//! `drill`: a failover rehearsal. Checks the groups (promote's checks plus suspension, health
//! and live heartbeats), moves them to a cluster with a planned failover marked as a drill,
//! follows it, holds, fails back the same way and prints a report with every phase, the
//! downtime each way and a verdict. The plan, the checks' judgement, the report and the
//! Ctrl-C rules are in `ops::drill`; this reads, writes, waits and prints. The report goes to
//! stdout; the plan, the question and the progress to stderr.

mod moves;
mod precheck;
mod signals;

use crate::cli::color::{ColorChoice, Palette};
use crate::cli::kubeconfig::{KubeArgs, default_namespace, initiator};
use crate::cli::open_store;
use crate::cli::promote::check::{self, Ask, Verdict};
use crate::cli::promote::confirm;
use crate::cli::status::resolve_group;
use crate::clock::{Clock, SystemClock};
use crate::config::StoreArgs;
use crate::duration::GoDuration;
use crate::error::{Error, ExitCode};
use crate::ops::drill::{
    DrillError, DrillPlan, DrillReport, GroupPlan, Outcome, PromoteCheck, assess, downtime_bound,
    render,
};
use crate::store::{FailoverMode, GroupId};
use clap::Args;
use std::io::{IsTerminal, Write};

/// Examples shown by `drill --help`.
const EXAMPLES: &str = "Examples:
  # Rehearse moving shop/web to west and back; ask first, print the report
  kubectl failover drill shop/web --to west

  # Stay on west for five minutes before failing back, without a question
  kubectl failover drill shop/web --to west --hold 5m --yes

  # Rehearse evacuating cluster east: every group it owns goes to west and back
  kubectl failover drill --all-from east --to west --yes -o markdown > drill-report.md

  # The plan and the checks only; nothing is written
  kubectl failover drill shop/web --to west --dry-run

Ctrl-C before the first move stops with nothing done; during a move or the hold it fails back
as soon as the move in flight has ended; a second Ctrl-C stops and says where each group is.

Exit codes: 0 PASS (or a dry run whose checks passed), 2 bad arguments, 3 refused by a check,
aborted, interrupted or FAIL, 4 group not found, 5 DynamoDB unreachable, 6 a move did not end
within --timeout.";

/// `-o` of `drill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DrillOutput {
    /// The report for people.
    #[default]
    Table,
    /// The report as one JSON document.
    Json,
    /// The report as Markdown (a change ticket, a wiki page).
    Markdown,
}

/// Flags of `drill`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DrillArgs {
    /// Groups to rehearse with, as NAMESPACE/NAME (or NAME with -n).
    #[arg(value_name = "GROUP")]
    pub groups: Vec<String>,

    /// Namespace of the groups [default: the context's namespace, else default].
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// The cluster the groups move to (and back from).
    #[arg(long, value_name = "CLUSTER")]
    pub to: String,

    /// Rehearse the evacuation of this cluster: every group it owns (in -n's namespace when
    /// given, else in all).
    #[arg(long, value_name = "CLUSTER")]
    pub all_from: Option<String>,

    /// How long the groups stay on --to before failing back (e.g. 5m).
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub hold: GoDuration,

    /// The most downtime a move may have and pass [default: the group's timeouts.heartbeat +
    /// timeouts.deactivation].
    #[arg(long, value_name = "DURATION")]
    pub max_downtime: Option<GoDuration>,

    /// How long each move may take before the drill gives up on it.
    #[arg(long, default_value = "10m", value_name = "DURATION")]
    pub timeout: GoDuration,

    /// Why; recorded in the history of both moves with who asked.
    #[arg(long, default_value = "failover drill")]
    pub reason: String,

    /// Print the plan and the checks only; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Format of the report.
    #[arg(short = 'o', long, value_enum, default_value_t = DrillOutput::Table)]
    pub output: DrillOutput,
}

/// Runs `drill`.
pub async fn run(
    store_args: &StoreArgs,
    kube: &KubeArgs,
    color: ColorChoice,
    args: DrillArgs,
) -> Result<(), Error> {
    if args.groups.is_empty() && args.all_from.is_none() {
        return Err(Error::Usage(DrillError::NoGroups.to_string()));
    }
    crate::store::validate_name("cluster", &args.to).map_err(|e| Error::Usage(e.to_string()))?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let err_palette = color.resolve(std::io::stderr().is_terminal(), no_color);
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
    let store = open_store(store_args).await?;
    let operator_id = &store_args.operator_id;
    let groups = groups(&args, &namespace, store.as_ref(), operator_id).await?;
    let login = std::env::var("USER").ok();
    let (who, source) = initiator(ctx.as_ref(), login.as_deref());
    tracing::info!(initiator = %who, "initiator from {source}");
    let clock = SystemClock::new();

    let checked = check::check_all(
        store.as_ref(),
        &clock,
        operator_id,
        &groups,
        &Ask {
            target: &args.to,
            mode: FailoverMode::Consistency,
            force: false,
            kube: ctx.as_ref().map(|_| kube),
        },
    )
    .await?;
    let max_downtime = args.max_downtime.map(GoDuration::get);
    let plan = DrillPlan {
        to: args.to.clone(),
        mode: FailoverMode::Consistency,
        groups: checked
            .iter()
            .map(|c| GroupPlan {
                group: c.group.to_string(),
                from: c.owner.clone(),
                bound: downtime_bound(&c.snapshot.config, max_downtime),
            })
            .collect(),
        hold: args.hold.get(),
        timeout: args.timeout.get(),
    };
    let mut report = DrillReport::new(plan, args.dry_run, clock.now());
    for c in &checked {
        let promote = match &c.verdict {
            Verdict::Go => PromoteCheck::Go,
            Verdict::AlreadyPrimary => PromoteCheck::AlreadyThere,
            refused => PromoteCheck::Refused(refused.to_string()),
        };
        report
            .checks
            .extend(assess(&c.snapshot, &args.to, &promote));
    }
    // The promote plan of the move out (topology, steps per cluster): the report's plan on
    // stdout in a dry run, context before the question otherwise.
    if args.output == DrillOutput::Table {
        let now = clock.now();
        let (mut stdout, mut stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
        let (sink, palette): (&mut dyn Write, Palette) = if args.dry_run {
            (&mut stdout, color.for_stdout())
        } else {
            (&mut stderr, err_palette)
        };
        for c in &checked {
            check::print(
                c,
                &args.to,
                FailoverMode::Consistency,
                false,
                now,
                palette,
                sink,
            )?;
        }
    }
    if report.checks_passed() {
        let mut stderr = std::io::stderr();
        let live =
            precheck::heartbeats(store.as_ref(), operator_id, &checked, &args.to, &mut stderr)
                .await?;
        report.checks.extend(live);
    }
    if args.dry_run || !report.checks_passed() {
        return finish(report, &clock, args.output);
    }
    if !args.yes {
        let mut stderr = std::io::stderr().lock();
        writeln!(stderr, "Drill {}:", report.plan.route())?;
        for (i, step) in report.steps.iter().enumerate() {
            writeln!(stderr, "  {}. {step}", i + 1)?;
        }
        confirm::ask(
            &confirm::Question::YesNo,
            &mut std::io::stdin().lock(),
            &mut stderr,
        )?;
        if !std::io::stdin().is_terminal() {
            // A piped answer is not echoed: end the prompt's line ourselves.
            writeln!(stderr)?;
        }
    }
    // Listening only now: until the question is answered Ctrl-C keeps its usual meaning (the
    // process ends, nothing written), and a prompt blocked on stdin could not see it anyway.
    let mut interrupts = signals::Interrupts::listen().await;
    // The drill starts with its first write; the checks and the question came before.
    report.started_at = clock.now();
    let ctx = moves::Ctx {
        store: store.as_ref(),
        clock: &clock,
        operator_id,
        initiator: &who,
        reason: &args.reason,
        palette: err_palette,
        live: std::io::stderr().is_terminal(),
    };
    moves::execute(&ctx, &mut report, &mut interrupts).await?;
    finish(report, &clock, args.output)
}

/// The groups named on the command line, then those `--all-from` owns, each once.
async fn groups(
    args: &DrillArgs,
    namespace: &str,
    store: &dyn crate::store::CoordinationStore,
    operator_id: &str,
) -> Result<Vec<GroupId>, Error> {
    let mut groups = Vec::new();
    for g in &args.groups {
        // As in promote: an explicit -n must agree with NAMESPACE/NAME; the context's
        // namespace only fills in a bare NAME.
        let id = match (&args.namespace, g.contains('/')) {
            (Some(ns), _) => resolve_group(g, Some(ns))?,
            (None, true) => resolve_group(g, None)?,
            (None, false) => resolve_group(g, Some(namespace))?,
        };
        if !groups.contains(&id) {
            groups.push(id);
        }
    }
    let Some(from) = &args.all_from else {
        return Ok(groups);
    };
    let listing = store.list_groups(operator_id).await?;
    for config in listing.items {
        let in_scope = args.namespace.is_none() || config.group.namespace == namespace;
        if config.owner_cluster == *from && in_scope && !groups.contains(&config.group) {
            groups.push(config.group);
        }
    }
    if groups.is_empty() {
        let scope = args
            .namespace
            .as_ref()
            .map_or(String::new(), |ns| format!(" in namespace {ns}"));
        return Err(Error::Command {
            message: format!(
                "cluster {from:?} owns no group of operator {operator_id:?}{scope}: there is nothing to evacuate; see `kubectl failover status -A`"
            ),
            code: ExitCode::NotFound,
        });
    }
    Ok(groups)
}

/// Judges the report, prints it on stdout in `format` and turns its verdict into the exit code.
fn finish(mut report: DrillReport, clock: &dyn Clock, format: DrillOutput) -> Result<(), Error> {
    report.finish(clock.now());
    let text = match format {
        DrillOutput::Table => render::table(&report),
        DrillOutput::Markdown => render::markdown(&report),
        DrillOutput::Json => {
            let mut doc = render::json(&report)
                .map_err(|e| Error::Internal(anyhow::anyhow!("could not encode JSON: {e}")))?;
            doc.push('\n');
            doc
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let code = report.exit_code();
    if code == ExitCode::Ok {
        return Ok(());
    }
    let verdict = &report.verdict;
    let message = match verdict.result {
        Outcome::Refused => format!(
            "drill refused, nothing written: {}",
            verdict.reasons.join("; ")
        ),
        _ => format!(
            "drill {}: {}",
            verdict.result.as_str(),
            verdict.reasons.join("; ")
        ),
    };
    Err(Error::Command { message, code })
}
