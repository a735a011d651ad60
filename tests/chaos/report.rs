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
    let rows: Vec<(&Schedule, Option<Duration>)> = outcomes
        .iter()
        .map(|o| (&o.schedule, o.recovered_after()))
        .collect();
    figures_of(&rows)
}

/// [`figures`] from each schedule and how long after its last fault it was served again.
pub fn figures_of(rows: &[(&Schedule, Option<Duration>)]) -> String {
    let mut by_kind: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
    let mut all = Vec::new();
    for (schedule, after) in rows {
        let Some(after) = *after else {
            continue;
        };
        all.push(after);
        let mut kinds: Vec<String> = schedule.faults.iter().map(|p| p.fault.kind()).collect();
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

/// A duration as Rust's `Debug` prints it (`0ns`, `11.3ms`, `5.67s`), in a campaign log.
fn parse_debug_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    for (suffix, scale) in [("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3), ("s", 1.0)] {
        if let Some(n) = s.strip_suffix(suffix) {
            return n
                .parse::<f64>()
                .ok()
                .map(|v| Duration::from_secs_f64(v * scale));
        }
    }
    None
}

/// One schedule's line of a campaign log: `chaos: seed N: ... served again Some(D) after ...`;
/// (seed, failed, time to served).
pub fn parse_log_line(line: &str) -> Option<(u64, bool, Option<Duration>)> {
    let rest = line.strip_prefix("chaos: seed ")?;
    let (seed, rest) = rest.split_once(':')?;
    let failed = rest.contains("FAILURE");
    let after = rest
        .split_once("served again Some(")
        .and_then(|(_, r)| r.split_once(')'))
        .and_then(|(d, _)| parse_debug_duration(d));
    Some((seed.trim().parse().ok()?, failed, after))
}
