//! `history`: a group's failovers, newest first (who moved it where, how it ended, how long the
//! application was down). Read-only.

use crate::cli::kubeconfig::{KubeArgs, default_namespace};
use crate::cli::open_store;
use crate::cli::output::{
    NONE, OutputFormat, Table, format_seconds, format_signed_age, format_time, write_document,
};
use crate::cli::status::resolve_group;
use crate::clock::SystemClock;
use crate::config::StoreArgs;
use crate::error::Error;
use crate::ops::history::{HistoryView, group_history};
use clap::Args;
use std::io::Write;

/// Flags of `history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The group, as NAMESPACE/NAME (or NAME with -n).
    #[arg(value_name = "GROUP")]
    pub group: String,

    /// Namespace of the group [default: the kubeconfig context's namespace, else default].
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// Show at most this many failovers (the newest).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,

    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Runs `history`.
pub async fn run(store_args: &StoreArgs, kube: &KubeArgs, args: HistoryArgs) -> Result<(), Error> {
    // A bare NAME without -n is in the context's namespace, as in kubectl (and `status`).
    let context_namespace = match &args.namespace {
        Some(_) => None,
        None if args.group.contains('/') => None,
        None => Some(default_namespace(kube.context().ok().as_ref())),
    };
    let namespace = args.namespace.as_deref().or(context_namespace.as_deref());
    let group = resolve_group(&args.group, namespace)?;
    let store = open_store(store_args).await?;
    let clock = SystemClock::new();
    let limit = usize::try_from(args.limit).unwrap_or(usize::MAX);
    let view = group_history(
        store.as_ref(),
        &clock,
        &store_args.operator_id,
        &group,
        limit,
    )
    .await?;
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    render_history(&view, args.output, &mut out, &mut err)?;
    out.flush()?;
    Ok(())
}

/// Writes a group's history in `format`; notes for people (no records, CONFIG missing) go to
/// `err` so stdout stays a clean document or table.
pub fn render_history(
    view: &HistoryView,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let group = format!("{}/{}", view.namespace, view.name);
    if view.config_missing {
        writeln!(
            err,
            "Warning: {group} has no CONFIG record (deleted?); showing the history that remains."
        )?;
    }
    if write_document(format, out, view)? {
        return Ok(());
    }
    if view.failovers.is_empty() {
        writeln!(err, "No failovers recorded for {group}.")?;
        return Ok(());
    }
    let wide = format.is_wide();
    let mut headers = vec![
        "START", "SOURCE", "TARGET", "STATUS", "DURATION", "DOWNTIME", "REASON",
    ];
    if wide {
        headers.extend(["FAILOVER-NAME", "MODE", "AUTOMATIC", "INITIATOR", "END"]);
    }
    // Only when a drill is shown, so the table of a group that never had one is unchanged.
    let drills = view.failovers.iter().any(|f| f.drill);
    if drills {
        headers.push("DRILL");
    }
    let mut table = Table::new(headers);
    for f in &view.failovers {
        // The narrow table shows how long ago; wide shows the instant, comparable with END.
        let start = if wide {
            format_time(f.start_time)
        } else {
            format_signed_age(f.age_seconds)
        };
        let mut row = vec![
            start,
            f.source_cluster.clone(),
            f.target_cluster.clone(),
            f.status.clone(),
            format_seconds(f.duration_seconds),
            format_seconds(f.downtime_seconds),
            or_none(&f.reason),
        ];
        if wide {
            row.push(or_none(&f.failover_name));
            row.push(f.mode.clone().unwrap_or_else(|| NONE.to_string()));
            row.push(match f.automatic {
                Some(true) => "yes".to_string(),
                Some(false) => "no".to_string(),
                None => NONE.to_string(),
            });
            row.push(f.initiator.clone().unwrap_or_else(|| NONE.to_string()));
            row.push(f.end_time.map_or_else(|| NONE.to_string(), format_time));
        }
        if drills {
            row.push(if f.drill { "yes" } else { "no" }.to_string());
        }
        table.row(row);
    }
    table.write_to(out)?;
    Ok(())
}

fn or_none(s: &str) -> String {
    if s.is_empty() {
        NONE.to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests;
