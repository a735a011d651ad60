//! The checker: judges one schedule from the independent history alone (the API servers'
//! write journals turned into [`Step`]s, the CONFIG records as sampled from the table, and the
//! HISTORY records read at the end). It knows nothing of the controller's own view.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kubectl_failover::store::{GroupConfig, HistoryRecord};

use super::timeline::{Role, Shape, Step};

/// What the run of one group recorded.
pub struct Recorded<'a> {
    pub shape: &'a Shape,
    /// Every cluster's role changes, any order.
    pub steps: Vec<Step>,
    /// CONFIG as sampled, in sampling order (`None`: no CONFIG yet).
    pub configs: Vec<(DateTime<Utc>, GroupConfig)>,
    /// HISTORY, read after the run.
    pub history: Vec<HistoryRecord>,
}

/// The moments that frame a run.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    /// The clusters had converged; judged from here.
    pub converged: DateTime<Utc>,
    /// The last fault ended.
    pub quiet: DateTime<Utc>,
    /// The run ended.
    pub end: DateTime<Utc>,
    /// Served by exactly one cluster within this after `quiet`.
    pub bound: Duration,
}

/// The checker's judgement of one group.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Safety and liveness violations, for people.
    pub violations: Vec<String>,
    /// How long after the last fault the group was (and stayed) served by exactly one cluster;
    /// `None` if it never was before the end.
    pub recovered_after: Option<Duration>,
    /// How many times CONFIG gave the group another owner.
    pub moves: usize,
}

/// Judges one group.
pub fn judge(rec: &Recorded, frame: &Frame) -> Verdict {
    let mut v = Verdict::default();
    let mut steps = rec.steps.clone();
    steps.sort_by_key(|s| s.at);
    overlaps(rec.shape, &steps, frame, &mut v.violations);
    v.recovered_after = recovery(&steps, frame);
    match v.recovered_after {
        None => v.violations.push(format!(
            "{}: not served by exactly one cluster by the end of the run ({:.1}s after the last fault)",
            rec.shape.group,
            secs(frame.end - frame.quiet)
        )),
        Some(after) if after > frame.bound => v.violations.push(format!(
            "{}: served by exactly one cluster only {:.1}s after the last fault, past the bound of {:.1}s",
            rec.shape.group,
            after.as_secs_f64(),
            frame.bound.as_secs_f64()
        )),
        Some(_) => {}
    }
    versions(rec, &mut v.violations);
    v.moves = history(rec, &mut v.violations);
    v
}

fn secs(d: chrono::TimeDelta) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

/// The roles of every cluster after each step (steps sorted by time).
fn sweep(steps: &[Step]) -> Vec<(DateTime<Utc>, BTreeMap<String, Role>)> {
    let mut now: BTreeMap<String, Role> = BTreeMap::new();
    steps
        .iter()
        .map(|s| {
            now.insert(s.cluster.clone(), s.role);
            (s.at, now.clone())
        })
        .collect()
}

fn overlaps(shape: &Shape, steps: &[Step], frame: &Frame, out: &mut Vec<String>) {
    let mut seen_running = false;
    let mut seen_primary = false;
    for (at, roles) in sweep(steps) {
        if at < frame.converged {
            continue;
        }
        let running: Vec<&String> = roles
            .iter()
            .filter(|(_, r)| r.running)
            .map(|(c, _)| c)
            .collect();
        let primary: Vec<&String> = roles
            .iter()
            .filter(|(_, r)| r.primary)
            .map(|(c, _)| c)
            .collect();
        if shape.consistency && running.len() > 1 && !seen_running {
            seen_running = true;
            out.push(format!(
                "{}: {running:?} ran the CONSISTENCY group at once at {} (+{:.3}s)",
                shape.group,
                at.format("%H:%M:%S%.3f"),
                secs(at - frame.converged)
            ));
        }
        if primary.len() > 1 && !seen_primary {
            seen_primary = true;
            out.push(format!(
                "{}: {primary:?} held the volume primary at once at {} (+{:.3}s)",
                shape.group,
                at.format("%H:%M:%S%.3f"),
                secs(at - frame.converged)
            ));
        }
    }
}

/// Served by exactly one cluster, nothing running anywhere else.
fn settled(roles: &BTreeMap<String, Role>) -> bool {
    let served = roles.values().filter(|r| r.served).count();
    let running = roles.values().filter(|r| r.running).count();
    served == 1 && running == 1
}

fn recovery(steps: &[Step], frame: &Frame) -> Option<Duration> {
    let states = sweep(steps);
    // The state at `quiet`, then every change after it: the last moment it became settled
    // and stayed so until the end.
    let mut settled_since = None;
    let at_quiet = states
        .iter()
        .take_while(|(at, _)| *at <= frame.quiet)
        .last()
        .map(|(_, roles)| settled(roles))
        .unwrap_or(false);
    if at_quiet {
        settled_since = Some(frame.quiet);
    }
    for (at, roles) in states
        .iter()
        .filter(|(at, _)| *at > frame.quiet && *at <= frame.end)
    {
        match (settled(roles), settled_since) {
            (true, None) => settled_since = Some(*at),
            (false, Some(_)) => settled_since = None,
            _ => {}
        }
    }
    settled_since.map(|at| (at - frame.quiet).to_std().unwrap_or_default())
}

/// CONFIG's version only grows, and one version always names the same record.
fn versions(rec: &Recorded, out: &mut Vec<String>) {
    let mut by_version: BTreeMap<u64, &GroupConfig> = BTreeMap::new();
    let mut highest = 0;
    for (at, c) in &rec.configs {
        if c.version < highest {
            out.push(format!(
                "{}: CONFIG went back from version {highest} to {} at {} (a lost write)",
                rec.shape.group,
                c.version,
                at.format("%H:%M:%S%.3f")
            ));
        }
        highest = highest.max(c.version);
        match by_version.get(&c.version) {
            Some(earlier) if *earlier != c => out.push(format!(
                "{}: CONFIG version {} was written twice with different contents (a reused version): owner {} then {}",
                rec.shape.group, c.version, earlier.owner_cluster, c.owner_cluster
            )),
            Some(_) => {}
            None => {
                by_version.insert(c.version, c);
            }
        }
    }
}

/// Every transition that ended has exactly one HISTORY record, every HISTORY record was a
/// transition, and every change of owner was a transition that HISTORY calls completed.
/// Returns the number of changes of owner.
fn history(rec: &Recorded, out: &mut Vec<String>) -> usize {
    let g = rec.shape.group;
    let mut transitions: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut grants: Vec<(u64, String, String, Option<String>)> = Vec::new();
    let mut previous: Option<&GroupConfig> = None;
    for (_, c) in &rec.configs {
        if let Some(t) = &c.transition {
            transitions.insert(t.id.clone(), (t.source.clone(), t.target.clone()));
        }
        if let Some(p) = previous
            && p.owner_cluster != c.owner_cluster
        {
            let by = c
                .transition
                .as_ref()
                .or(p.transition.as_ref())
                .map(|t| t.id.clone());
            grants.push((
                c.version,
                p.owner_cluster.clone(),
                c.owner_cluster.clone(),
                by,
            ));
        }
        previous = Some(c);
    }
    let in_flight: BTreeSet<String> = previous
        .and_then(|c| c.transition.as_ref())
        .map(|t| t.id.clone())
        .into_iter()
        .collect();
    let mut records: BTreeMap<&str, Vec<&HistoryRecord>> = BTreeMap::new();
    for h in &rec.history {
        records.entry(h.failover_name.as_str()).or_default().push(h);
    }
    for (name, hs) in &records {
        if hs.len() > 1 {
            out.push(format!(
                "{g}: {} HISTORY records for transition {name}",
                hs.len()
            ));
        }
        if !transitions.contains_key(*name) {
            out.push(format!(
                "{g}: HISTORY record {name} ({} -> {}, {}) names no transition CONFIG ever held",
                hs[0].source_cluster, hs[0].target_cluster, hs[0].status
            ));
        }
    }
    for (id, (source, target)) in &transitions {
        if !in_flight.contains(id) && !records.contains_key(id.as_str()) {
            out.push(format!(
                "{g}: transition {id} ({source} -> {target}) ended without a HISTORY record"
            ));
        }
    }
    for (version, from, to, by) in &grants {
        let completed = by
            .as_ref()
            .and_then(|id| records.get(id.as_str()))
            .is_some_and(|hs| {
                hs.iter().any(|h| {
                    h.target_cluster == *to
                        && (h.status == "SUCCESS" || h.status == "FORCED_COMPLETE")
                })
            });
        let pending = by.as_ref().is_some_and(|id| in_flight.contains(id));
        if !completed && !pending {
            out.push(format!(
                "{g}: CONFIG version {version} moved the group {from} -> {to} without a completed transition in HISTORY (transition {by:?})"
            ));
        }
    }
    grants.len()
}
