//! What a person reads: a failing schedule's timeline (faults, the kubelet's restarts, CLI
//! runs, and every role change of every group in every cluster, from the journals), and the
//! campaign's figures per fault kind.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::checker::Frame;
use super::runner::{Outcome, since};
use super::schedule::Schedule;
use super::timeline::Step;

/// The timeline of one run, relative to the moment the clusters had converged.
pub fn timeline(
    schedule: &Schedule,
    frame: &Frame,
    steps: &[Step],
    log: &[(DateTime<Utc>, String)],
) -> String {
    let mut lines: Vec<(DateTime<Utc>, String)> = log.to_vec();
    for s in steps.iter().filter(|s| s.at >= frame.converged) {
        let r = s.role;
        lines.push((
            s.at,
            format!(
                "{:<6} running={:<5} served={:<5} primary={:<5} ({})",
                s.cluster, r.running, r.served, r.primary, s.cause
            ),
        ));
    }
    lines.push((frame.quiet, "--- last fault ended".into()));
    lines.push((frame.end, "--- run ended".into()));
    lines.sort_by_key(|l| l.0);
    let mut out = schedule.to_string();
    for (at, what) in lines {
        let _ = writeln!(out, "{:>+8.3}s  {what}", since(frame, at));
    }
    out
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The campaign's figures: per fault kind, the schedules that drew it and the time to be
/// served again after the last fault (median, p99, max), as a Markdown table.
pub fn figures(outcomes: &[Outcome]) -> String {
    let mut by_kind: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    let mut all = Vec::new();
    for o in outcomes {
        let Some(after) = o.recovered_after() else {
            continue;
        };
        all.push(after);
        let mut kinds: Vec<String> = o.schedule.faults.iter().map(|p| p.fault.kind()).collect();
        kinds.sort();
        kinds.dedup();
        for k in kinds {
            by_kind.entry(k).or_default().push(after);
        }
    }
    let mut out = String::from(
        "| fault kind | schedules | time to served: median | p99 | max |\n|---|---:|---:|---:|---:|\n",
    );
    let mut row = |kind: &str, v: &mut Vec<Duration>| {
        v.sort();
        let _ = writeln!(
            out,
            "| {kind} | {} | {:.1} s | {:.1} s | {:.1} s |",
            v.len(),
            quantile(v, 0.5).as_secs_f64(),
            quantile(v, 0.99).as_secs_f64(),
            v.last().copied().unwrap_or_default().as_secs_f64()
        );
    };
    for (kind, v) in by_kind.iter_mut() {
        row(kind, v);
    }
    row("**all schedules**", &mut all);
    out
}
