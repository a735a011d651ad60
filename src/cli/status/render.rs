//! Renders status views: a header block, a clusters table and a lock line for one group; one row
//! per group for a listing; or the view itself as JSON/YAML.

use crate::cli::output::{
    NONE, OutputFormat, Table, format_signed_age, format_time, write_document,
};
use crate::error::Error;
use crate::ops::status::{ClusterView, GroupView, LockView, StatusList};
use std::io::Write;

/// One line counting a listing's groups by state, for people (`-A`): how many have every
/// cluster healthy, how many not, how many are suspended or mid-transition or locked.
pub fn summary_line(list: &StatusList) -> String {
    let total = list.groups.len();
    let healthy = list
        .groups
        .iter()
        .filter(|g| g.healthy_clusters == g.clusters.len())
        .count();
    let suspended = list.groups.iter().filter(|g| g.suspended).count();
    let moving = list
        .groups
        .iter()
        .filter(|g| g.transition.is_some())
        .count();
    let locked = list.groups.iter().filter(|g| g.lock.is_some()).count();
    let mut owners: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for g in &list.groups {
        *owners.entry(g.owner_cluster.as_str()).or_default() += 1;
    }
    let owners: Vec<String> = owners.iter().map(|(c, n)| format!("{c} {n}")).collect();
    format!(
        "{total} group{}: {healthy} all healthy, {} not, {suspended} suspended, {moving} in transition, {locked} locked; primary: {}",
        if total == 1 { "" } else { "s" },
        total - healthy,
        owners.join(", ")
    )
}

/// Writes one group's status in `format`.
pub fn render_group(
    view: &GroupView,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<(), Error> {
    if write_document(format, out, view)? {
        return Ok(());
    }
    let wide = format.is_wide();
    writeln!(
        out,
        "Group: {}/{}   Owner: {}   Previous owner: {}   Version: {}",
        view.namespace,
        view.name,
        view.owner_cluster,
        view.previous_owner.as_deref().unwrap_or(NONE),
        view.version
    )?;
    let last_failover = view.last_failover.as_ref().map_or_else(
        || NONE.to_string(),
        |f| format!("{} ({} ago)", f.name, format_signed_age(f.age_seconds)),
    );
    writeln!(
        out,
        "Suspended: {}   Last failover: {last_failover}",
        suspended(view)
    )?;
    if let Some(t) = &view.transition {
        writeln!(
            out,
            "Transition: {} {} -> {} ({}{}), phase {}",
            t.id,
            t.source,
            t.target,
            t.mode,
            if t.force { ", forced" } else { "" },
            t.phase
        )?;
    }
    if wide {
        let t = &view.timeouts;
        writeln!(
            out,
            "Timeouts: heartbeat {}, unhealthy primary {}, transitory state {}   Heartbeat interval: {}",
            t.heartbeat, t.unhealthy_primary, t.transitory_state, view.heartbeat_interval
        )?;
        writeln!(
            out,
            "Operator: {}   Epoch: {}   Last updated: {}",
            view.operator_id,
            view.epoch,
            view.last_updated
                .map_or_else(|| NONE.to_string(), format_time)
        )?;
    }
    writeln!(out)?;

    let mut headers = vec!["CLUSTER", "ROLE", "HEALTH", "HEARTBEAT"];
    if wide {
        headers.extend(["SEQ", "LAST-HEARTBEAT", "COMPONENTS"]);
    }
    let mut table = Table::new(headers);
    for c in &view.clusters {
        let mut row = vec![c.name.clone(), role(c), health(c), heartbeat(c)];
        if wide {
            row.push(
                c.heartbeat_seq
                    .map_or_else(|| NONE.to_string(), |s| s.to_string()),
            );
            row.push(
                c.last_heartbeat
                    .map_or_else(|| NONE.to_string(), format_time),
            );
            row.push(components(c));
        }
        table.row(row);
    }
    table.write_to(out)?;
    writeln!(out)?;
    writeln!(out, "Lock: {}", lock_line(view.lock.as_ref(), wide))?;
    Ok(())
}

/// Writes several groups' status in `format`. Returns true when a table would have been empty
/// (nothing was written), so the caller can say so on stderr as kubectl does.
pub fn render_list(
    list: &StatusList,
    format: OutputFormat,
    out: &mut dyn Write,
) -> Result<bool, Error> {
    if write_document(format, out, list)? {
        return Ok(false);
    }
    if list.groups.is_empty() {
        return Ok(true);
    }
    let wide = format.is_wide();
    let mut headers = vec![
        "NAMESPACE",
        "NAME",
        "OWNER",
        "CLUSTERS",
        "LOCK",
        "SUSPENDED",
        "VERSION",
        "LAST-FAILOVER",
    ];
    if wide {
        headers.extend([
            "PREVIOUS-OWNER",
            "NOT-HEALTHY",
            "HEARTBEAT-TIMEOUT",
            "INTERVAL",
            "EPOCH",
            "PHASE",
            "LOCK-EXPIRES",
        ]);
    }
    let mut table = Table::new(headers);
    for g in &list.groups {
        let lock = g.lock.as_ref().map_or_else(
            || NONE.to_string(),
            |l| {
                if l.lapsed {
                    format!("{} (lapsed)", l.locked_by)
                } else {
                    l.locked_by.clone()
                }
            },
        );
        let mut row = vec![
            g.namespace.clone(),
            g.name.clone(),
            g.owner_cluster.clone(),
            format!("{}/{}", g.healthy_clusters, g.clusters.len()),
            lock,
            if g.suspended { "yes" } else { "no" }.to_string(),
            g.version.to_string(),
            g.last_failover
                .as_ref()
                .map_or_else(|| NONE.to_string(), |f| format_signed_age(f.age_seconds)),
        ];
        if wide {
            let unhealthy: Vec<&str> = g
                .clusters
                .iter()
                .filter(|c| !c.is_healthy())
                .map(|c| c.name.as_str())
                .collect();
            row.push(g.previous_owner.clone().unwrap_or_else(|| NONE.to_string()));
            row.push(if unhealthy.is_empty() {
                NONE.to_string()
            } else {
                unhealthy.join(",")
            });
            row.push(g.timeouts.heartbeat.to_string());
            row.push(g.heartbeat_interval.to_string());
            row.push(g.epoch.to_string());
            row.push(
                g.transition
                    .as_ref()
                    .map_or_else(|| NONE.to_string(), |t| t.phase.to_string()),
            );
            row.push(g.lock.as_ref().map_or_else(
                || NONE.to_string(),
                |l| {
                    if l.lapsed {
                        format!("lapsed {}", format_signed_age(-l.expires_in_seconds))
                    } else {
                        format!("in {}", format_signed_age(l.expires_in_seconds))
                    }
                },
            ));
        }
        table.row(row);
    }
    table.write_to(out)?;
    Ok(false)
}

fn suspended(view: &GroupView) -> String {
    match (view.suspended, view.suspension_reason.as_deref()) {
        (false, _) => "no".to_string(),
        (true, Some(reason)) if !reason.is_empty() => format!("yes ({reason})"),
        (true, _) => "yes".to_string(),
    }
}

/// The role CONFIG gives, plus what the cluster itself reports when that differs.
fn role(c: &ClusterView) -> String {
    match c.reported_state {
        None => format!("{} (no record)", c.role.as_str()),
        Some(state) if c.state_mismatch => format!("{} (reports {state})", c.role.as_str()),
        Some(_) => c.role.as_str().to_string(),
    }
}

fn health(c: &ClusterView) -> String {
    c.health.map_or("UNKNOWN", |h| h.as_str()).to_string()
}

fn heartbeat(c: &ClusterView) -> String {
    match c.heartbeat_age_seconds {
        None => "never".to_string(),
        Some(age) if c.heartbeat_stale => format!("{} (stale)", format_signed_age(age)),
        Some(age) => format_signed_age(age),
    }
}

fn components(c: &ClusterView) -> String {
    if c.components.is_empty() {
        return NONE.to_string();
    }
    c.components
        .iter()
        .map(|(name, s)| format!("{name}={}", s.health))
        .collect::<Vec<_>>()
        .join(",")
}

fn lock_line(lock: Option<&LockView>, wide: bool) -> String {
    let Some(l) = lock else {
        return "none".to_string();
    };
    let countdown = if l.lapsed {
        format!(
            "lease lapsed {} ago",
            format_signed_age(-l.expires_in_seconds)
        )
    } else {
        format!("expires in {}", format_signed_age(l.expires_in_seconds))
    };
    let mut line = format!("held by {}", l.locked_by);
    if !l.lock_reason.is_empty() {
        line.push_str(&format!(" ({})", l.lock_reason));
    }
    line.push_str(&format!(", {countdown}"));
    if wide {
        let acquired = l.acquired_at.map_or_else(|| NONE.to_string(), format_time);
        line.push_str(&format!(
            " (acquired {acquired}, expires {})",
            format_time(l.expires_at)
        ));
    }
    line
}
