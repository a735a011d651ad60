//! The drill report for people (aligned text), for documents (Markdown, e.g. pasted into a
//! change ticket) and for machines (JSON, the report's fields as they are).

use super::format_secs;
use super::moves::MoveReport;
use super::report::{DrillReport, Outcome};
use super::timeline::DowntimeFrom;
use chrono::{DateTime, SecondsFormat, Utc};

/// Columns padded to the widest cell, separated by three spaces, no trailing spaces (as the
/// other commands print their tables).
fn columns(rows: &[Vec<String>], indent: &str) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            let w = cell.chars().count();
            match widths.get_mut(i) {
                Some(max) => *max = (*max).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut text = String::new();
    for row in rows {
        let mut line = String::from(indent);
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("   ");
            }
            line.push_str(cell);
            let pad = widths[i] - cell.chars().count();
            line.extend(std::iter::repeat_n(' ', pad));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn opt_secs(d: Option<std::time::Duration>) -> String {
    d.map_or("-".to_string(), |d| format_secs(d.as_secs_f64()))
}

fn downtime(m: &MoveReport) -> String {
    match m.downtime {
        None => "-".to_string(),
        Some(d) if d.from == DowntimeFrom::StoppedToEnd => format!("<={}", format_secs(d.seconds)),
        Some(d) => format_secs(d.seconds),
    }
}

fn phases(m: &MoveReport) -> String {
    if m.phases.is_empty() {
        return "-".to_string();
    }
    let spans: Vec<String> = m
        .phases
        .iter()
        .map(|p| match p.duration {
            Some(d) => format!("{} {}", p.phase, format_secs(d.as_secs_f64())),
            None => format!("{} (running)", p.phase),
        })
        .collect();
    spans.join(", ")
}

fn took(r: &DrillReport) -> String {
    r.ended_at.map_or("-".to_string(), |end| {
        let ms = (end - r.started_at).num_milliseconds().max(0);
        format_secs(ms as f64 / 1000.0)
    })
}

fn hold(r: &DrillReport) -> String {
    let planned = format_secs(r.plan.hold.as_secs_f64());
    match r.held {
        Some(held) => format!(
            "{} on {} (planned {planned})",
            format_secs(held.as_secs_f64()),
            r.plan.to
        ),
        None => format!("planned {planned}, not reached"),
    }
}

fn move_row(m: &MoveReport) -> Vec<String> {
    vec![
        m.group.clone(),
        m.route(),
        m.leg.as_str().to_string(),
        m.id.clone().unwrap_or_else(|| "-".to_string()),
        m.result.as_str().to_string(),
        m.status.clone().unwrap_or_else(|| "-".to_string()),
        opt_secs(m.took),
        downtime(m),
        format_secs(m.bound.as_secs_f64()),
    ]
}

const MOVE_HEADERS: [&str; 9] = [
    "GROUP",
    "MOVE",
    "LEG",
    "TRANSITION",
    "RESULT",
    "STATUS",
    "TOOK",
    "DOWNTIME",
    "BOUND",
];

/// The report for a terminal.
pub fn table(r: &DrillReport) -> String {
    let mut out = format!("Failover drill: {}\n", r.verdict.result.as_str());
    let route = format!("{}, {}", r.plan.route(), r.plan.mode);
    let started = format!("{}, took {}", time(r.started_at), took(r));
    out.push_str(&columns(
        &[
            vec!["groups".into(), r.plan.groups_text()],
            vec!["route".into(), route],
            vec!["hold".into(), hold(r)],
            vec!["started".into(), started],
        ],
        "  ",
    ));
    if r.dry_run {
        out.push_str("\nPlan (dry run: nothing written)\n");
        for (i, step) in r.steps.iter().enumerate() {
            out.push_str(&format!("  {}. {step}\n", i + 1));
        }
    }
    if !r.checks.is_empty() {
        out.push_str("\nChecks\n");
        let mut rows = vec![vec![
            "GROUP".to_string(),
            "CHECK".into(),
            "RESULT".into(),
            "DETAIL".into(),
        ]];
        rows.extend(r.checks.iter().map(|c| {
            let result = if c.ok { "ok" } else { "FAILED" };
            vec![
                c.group.clone(),
                c.check.clone(),
                result.into(),
                c.detail.clone(),
            ]
        }));
        out.push_str(&columns(&rows, "  "));
    }
    if !r.moves.is_empty() {
        out.push_str("\nMoves\n");
        let mut rows = vec![MOVE_HEADERS.iter().map(|h| h.to_string()).collect()];
        rows.extend(r.moves.iter().map(move_row));
        out.push_str(&columns(&rows, "  "));
        out.push_str("\nPhases\n");
        for m in &r.moves {
            out.push_str(&format!("  {} {}: {}\n", m.group, m.route(), phases(m)));
        }
    }
    if let Some(what) = &r.interrupted {
        out.push_str(&format!("\nInterrupted: {what}\n"));
    }
    if !r.left.is_empty() {
        out.push_str("\nLeft as follows\n");
        for line in &r.left {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out.push_str(&format!(
        "\nVerdict: {}: {}\n",
        r.verdict.result.as_str(),
        r.verdict.summary
    ));
    for reason in &r.verdict.reasons {
        out.push_str(&format!("  - {reason}\n"));
    }
    out
}

/// A Markdown table cell: pipes escaped, line breaks flattened.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn md_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", headers.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// The report as a Markdown document.
pub fn markdown(r: &DrillReport) -> String {
    let mut out = format!("## Failover drill: {}\n\n", r.verdict.result.as_str());
    out.push_str(&md_table(
        &["", ""],
        &[
            vec!["Groups".into(), r.plan.groups_text()],
            vec![
                "Route".into(),
                format!("{}, {}", r.plan.route(), r.plan.mode),
            ],
            vec!["Hold".into(), hold(r)],
            vec!["Started".into(), time(r.started_at)],
            vec!["Took".into(), took(r)],
        ],
    ));
    if r.dry_run {
        out.push_str("\n### Plan (dry run: nothing written)\n\n");
        for (i, step) in r.steps.iter().enumerate() {
            out.push_str(&format!("{}. {step}\n", i + 1));
        }
    }
    if !r.checks.is_empty() {
        out.push_str("\n### Checks\n\n");
        let rows: Vec<Vec<String>> = r
            .checks
            .iter()
            .map(|c| {
                let result = if c.ok { "ok" } else { "**failed**" };
                vec![
                    c.group.clone(),
                    c.check.clone(),
                    result.into(),
                    c.detail.clone(),
                ]
            })
            .collect();
        out.push_str(&md_table(&["Group", "Check", "Result", "Detail"], &rows));
    }
    if !r.moves.is_empty() {
        out.push_str("\n### Moves\n\n");
        let rows: Vec<Vec<String>> = r
            .moves
            .iter()
            .map(|m| {
                let mut row = move_row(m);
                row[3] = format!("`{}`", row[3]);
                row.push(phases(m));
                row
            })
            .collect();
        let mut headers: Vec<String> = MOVE_HEADERS.iter().map(|h| title(h)).collect();
        headers.push("Phases".into());
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        out.push_str(&md_table(&headers, &rows));
    }
    if let Some(what) = &r.interrupted {
        out.push_str(&format!("\n**Interrupted:** {what}\n"));
    }
    if !r.left.is_empty() {
        out.push_str("\n### Left as follows\n\n");
        for line in &r.left {
            out.push_str(&format!("- {line}\n"));
        }
    }
    let verdict = r.verdict.result.as_str();
    out.push_str(&format!(
        "\n**Verdict: {verdict}.** {}\n",
        r.verdict.summary
    ));
    if r.verdict.result != Outcome::Pass && !r.verdict.reasons.is_empty() {
        out.push('\n');
        for reason in &r.verdict.reasons {
            out.push_str(&format!("- {reason}\n"));
        }
    }
    out
}

/// `GROUP` -> `Group`.
fn title(header: &str) -> String {
    let lower = header.to_lowercase();
    let mut chars = lower.chars();
    chars.next().map_or(String::new(), |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// The report as pretty JSON (the same fields as the Rust types, camelCase).
pub fn json(r: &DrillReport) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(r)
}
