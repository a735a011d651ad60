//! The markdown table (one row per size, as benches/scale.rs prints), a line per size with
//! what moto and the control plane cost, whether moto kept up, and the targets.

use std::time::Duration;

use crate::measure::Figures;
use crate::procfs::mib;
use crate::timing::{Size, ms, secs};

/// The targets at 10,000 groups and 15 s.
const TARGET_RSS_MIB: f64 = 256.0;
const TARGET_CORES: f64 = 0.5;
/// Tick lateness p99 at most this share of the interval.
const TARGET_LATE_SHARE: f64 = 0.10;

/// The table's head.
pub fn header() -> String {
    "| groups | interval | RSS | peak RSS | CPU (cores) | threads | store requests/s | store latency p99 | tick lateness p50 | p99 | max | heartbeats measured | set-up time |\n\
     |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        .to_string()
}

/// One size's row.
pub fn row(size: Size, f: &Figures) -> String {
    format!(
        "| {} | {} | {:.0} MiB | {:.0} MiB | {:.3} | {} | {:.1} | {} | {} | {} | {} | {} of {} | {} |",
        size.groups,
        crate::timing::go(size.interval),
        f.rss_mib,
        f.peak_mib,
        f.cores,
        f.threads,
        f.requests_per_s,
        ms(f.store_p99),
        ms(f.late_p50),
        ms(f.late_p99),
        ms(f.late_max),
        f.beats,
        f.expected_beats,
        secs(f.setup.total),
    )
}

/// A size that could not be measured.
pub fn failed_row(size: Size, why: &str) -> String {
    let first = why.lines().next().unwrap_or(why);
    format!("| {size}: FAILED: {} |", first.replace('|', "/"))
}

/// Why moto did not keep up with the controller, from the window's own figures; empty when
/// it did. A store that falls behind makes the controller's ticks late however well it does.
pub fn store_problems(size: Size, f: &Figures) -> Vec<String> {
    let mut why = Vec::new();
    if let Some(cores) = f.moto_cores
        && cores >= 0.9
    {
        why.push(format!(
            "moto used {cores:.2} cores and serves one request at a time (tests/support/moto_linearizable.py): saturated"
        ));
    }
    if f.store_p99.as_secs_f64() > size.interval.as_secs_f64() * TARGET_LATE_SHARE {
        why.push(format!(
            "store latency p99 {} is over {:.0}% of the interval",
            ms(f.store_p99),
            TARGET_LATE_SHARE * 100.0
        ));
    }
    if (f.beats as f64) < 0.95 * f.expected_beats as f64 {
        why.push(format!(
            "{} of the {} heartbeat gaps expected arrived ({:.0}%)",
            f.beats,
            f.expected_beats,
            100.0 * f.beats as f64 / (f.expected_beats.max(1) as f64)
        ));
    }
    if f.overdue > 0 {
        why.push(format!(
            "{} groups without a heartbeat for over 2 intervals at the end",
            f.overdue
        ));
    }
    let errors: u64 = f.errors.values().sum();
    if errors > 0 {
        let kinds: Vec<String> = f.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        why.push(format!(
            "{errors} failed store requests ({})",
            kinds.join(", ")
        ));
    }
    why
}

/// The line under the table for one size.
pub fn details(size: Size, f: &Figures) -> String {
    let cores = |c: Option<f64>| c.map_or("unknown".to_string(), |c| format!("{c:.2} cores"));
    let plane_total: u64 = f.plane_rss.iter().map(|(_, kib)| kib).sum();
    let plane_parts: Vec<String> = f
        .plane_rss
        .iter()
        .map(|(name, kib)| format!("{name} {:.0}", mib(*kib)))
        .collect();
    let ops: Vec<String> = f
        .operations
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    let expected_rate = 2.0 * size.groups as f64 / size.interval.as_secs_f64();
    let problems = store_problems(size, f);
    let kept_up = if problems.is_empty() {
        "moto kept up".to_string()
    } else {
        format!("moto did NOT keep up: {}", problems.join("; "))
    };
    let s = &f.setup;
    format!(
        "- {size}: moto CPU {}, store latency p50 {} / p99 {} / max {}; {kept_up}. \
         Requests in the window: {} (about {expected_rate:.0}/s expected: a heartbeat and a read per group per interval). \
         Control plane: RSS {:.0} MiB ({} MiB), CPU {}; pods {}/{} at the controller's start, {} at the end. \
         Controller: budget waits in the window {}, {} log lines (warnings and errors). \
         Set-up: control plane {}, objects {}, pods {}, first heartbeats of {}/{} groups {} after the controller started.",
        cores(f.moto_cores),
        ms(f.store_p50),
        ms(f.store_p99),
        ms(f.store_max),
        ops.join(", "),
        mib(plane_total),
        plane_parts.join(", "),
        cores(f.plane_cores),
        s.pods_at_start,
        size.groups,
        f.pods_at_end.map_or("unknown".into(), |n| n.to_string()),
        f.budget_waits
            .map_or("unknown".into(), |w| format!("{w:.0}")),
        f.log_lines,
        secs(s.control_plane),
        secs(s.objects),
        secs(s.pods),
        s.heartbeating,
        size.groups,
        secs(s.first_heartbeats),
    )
}

/// The targets beside the figures: at 10,000 groups and 15 s, RSS, CPU and tick
/// lateness p99; at every size the lateness p99 as a share of the interval. A lateness that
/// misses while moto did not keep up says so: then it measures moto, not the controller.
pub fn targets(size: Size, f: &Figures) -> Vec<String> {
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let share = f.late_p99.as_secs_f64() / size.interval.as_secs_f64();
    let late_ok = share < TARGET_LATE_SHARE;
    let store_bound = !late_ok && !store_problems(size, f).is_empty();
    let blame = if store_bound {
        " (moto did not keep up: this measures moto, not the controller)"
    } else {
        ""
    };
    let mut lines = Vec::new();
    if size.groups == 10_000 && size.interval == Duration::from_secs(15) {
        lines.push(format!(
            "- target at {size}: RSS under {TARGET_RSS_MIB:.0} MiB: {:.0} MiB, {}; CPU under {TARGET_CORES} cores: {:.3}, {}; \
             tick lateness p99 under {:.0}% of the interval ({}): {} ({:.1}%), {}{blame}",
            f.rss_mib,
            verdict(f.rss_mib < TARGET_RSS_MIB),
            f.cores,
            verdict(f.cores < TARGET_CORES),
            TARGET_LATE_SHARE * 100.0,
            ms(size.interval.mul_f64(TARGET_LATE_SHARE)),
            ms(f.late_p99),
            share * 100.0,
            verdict(late_ok),
        ));
    } else {
        lines.push(format!(
            "- {size}: tick lateness p99 {} is {:.1}% of the interval (target under {:.0}%: {}){blame}",
            ms(f.late_p99),
            share * 100.0,
            TARGET_LATE_SHARE * 100.0,
            verdict(late_ok),
        ));
    }
    lines
}
