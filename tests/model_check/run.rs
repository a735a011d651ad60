//! Runs the checker on one configuration on two threads (breadth-first over everything, or
//! depth-first until a violation), prints the counts the team quotes (states generated, unique
//! states, depth, time) and each property's result, and any counterexample as a timeline.

use super::model::{Act, FailoverModel};
use super::world::{Config, Stage, World};
use stateright::{Checker, Expectation, HasDiscoveries, Model};
use std::fmt::Write as _;
use std::time::Instant;

/// The outcome of one check.
pub struct Run {
    /// The finished checker (for `assert_properties` and discoveries).
    pub checker: Box<dyn CheckerExt>,
}

/// A path through the model: each state with the action taken from it.
pub type Steps = Vec<(World, Option<Act>)>;

/// The parts of `Checker` the tests use, object-safe (BFS and DFS checkers differ in type).
pub trait CheckerExt {
    /// Panics unless every `always` property held and every `sometimes` one was witnessed.
    fn assert_properties(&self);
    /// The counterexample (or example) found for a property.
    fn path(&self, name: &'static str) -> Option<Steps>;
    /// The counterexample (or example) found for a property, as a readable timeline.
    fn discovery_text(&self, name: &'static str) -> Option<String> {
        self.path(name).map(timeline)
    }
    /// States generated, unique states, and the largest depth.
    fn counts(&self) -> (usize, usize, usize);
}

impl<C: Checker<FailoverModel>> CheckerExt for C {
    fn assert_properties(&self) {
        Checker::assert_properties(self);
    }

    fn path(&self, name: &'static str) -> Option<Steps> {
        self.discovery(name).map(|p| p.into_vec())
    }

    fn counts(&self) -> (usize, usize, usize) {
        (
            self.state_count(),
            self.unique_state_count(),
            self.max_depth(),
        )
    }
}

/// Checks `cfg` exhaustively, breadth-first (every reachable state up to its bounds; a
/// counterexample is a shortest one), and reports.
pub fn check(label: &str, cfg: Config) -> Run {
    search(label, cfg, &[])
}

/// Searches `cfg` depth-first until `property` has a discovery (a deep one is found long
/// before the whole space is seen), and reports.
pub fn find(label: &str, cfg: Config, property: &'static str) -> Run {
    search(label, cfg, &[property])
}

fn search(label: &str, cfg: Config, stop_when: &[&'static str]) -> Run {
    let model = FailoverModel::new(cfg);
    let properties: Vec<_> = model
        .properties()
        .into_iter()
        .map(|p| (p.name, p.expectation))
        .collect();
    let started = Instant::now();
    let builder = model.checker().threads(2);
    let checker: Box<dyn CheckerExt> = if stop_when.is_empty() {
        Box::new(builder.spawn_bfs().join())
    } else {
        let any = HasDiscoveries::AnyOf(stop_when.iter().copied().collect());
        Box::new(builder.finish_when(any).spawn_dfs().join())
    };
    let (generated, unique, depth) = checker.counts();
    println!(
        "{label}: {generated} states generated, {unique} unique, max depth {depth}, in {:.1?}",
        started.elapsed()
    );
    for (name, expectation) in properties {
        let found = checker.path(name);
        let verdict = match (&expectation, &found) {
            (Expectation::Sometimes, Some(_)) => "witnessed",
            (Expectation::Sometimes, None) => "NOT WITNESSED",
            (_, None) => "held",
            (_, Some(_)) => "VIOLATED",
        };
        println!("  {verdict:>13}: {name}");
        if let (Expectation::Always, Some(path)) = (expectation, found) {
            println!("counterexample for \"{name}\":\n{}", timeline(path));
        }
    }
    Run { checker }
}

/// A path as one line per action, each followed by the state it led to.
pub fn timeline(steps: Vec<(World, Option<Act>)>) -> String {
    let mut out = String::new();
    if let Some((first, _)) = steps.first() {
        let _ = writeln!(out, "  start: {}", describe(first));
    }
    for pair in steps.windows(2) {
        let (_, Some(act)) = &pair[0] else { continue };
        let _ = writeln!(out, "  {act:?}\n      -> {}", describe(&pair[1].0));
    }
    out
}

/// One state in a line or two: time, CONFIG, LOCK, history, then each agent and its cluster.
pub fn describe(w: &World) -> String {
    let c = &w.table.config;
    let mut s = format!(
        "t={} CONFIG v{} owner={} epoch={}",
        w.now, c.version, c.owner_cluster, c.epoch
    );
    if let Some(t) = &c.transition {
        let force = if t.force { " forced" } else { "" };
        let _ = write!(
            s,
            " transition {} {}->{} {}{force}",
            t.id, t.source, t.target, t.phase
        );
    }
    match &w.table.lock {
        Some(l) => {
            let _ = write!(s, " LOCK {} {}", l.locked_by, l.lease_token);
        }
        None => s.push_str(" LOCK -"),
    }
    for h in w.table.history.values() {
        let _ = write!(s, " HISTORY {}={}", h.failover_name, h.status);
    }
    for (i, a) in w.agents.iter().enumerate() {
        let mono = World::mono(i, w.now);
        let stage = match &a.stage {
            Stage::Idle => "idle".to_string(),
            Stage::Reading { snapshot, .. } => format!("reading(v{})", snapshot.config.version),
            Stage::Writing { decision, next } => format!(
                "writing {} ({:?} e{})",
                decision.writes[*next].name(),
                decision.role,
                decision.epoch
            ),
            Stage::Converging { decision } => {
                format!("converging({:?} e{})", decision.role, decision.epoch)
            }
        };
        let process = if a.up { stage } else { "DOWN".to_string() };
        let zombie = if a.zombie.is_some() {
            " +paused-process"
        } else {
            ""
        };
        let seq = w.table.clusters.get(&a.name).and_then(|r| r.heartbeat_seq);
        let serving = if a.cluster.serving(mono) {
            "SERVING"
        } else {
            "off"
        };
        let deadline = a
            .cluster
            .serve_deadline
            .map(|d| format!(" until t={}", d.saturating_sub(World::mono(i, 0)).as_secs()))
            .unwrap_or_default();
        let _ = write!(
            s,
            "\n         {}: {process}{zombie} seq={seq:?} cluster {serving}{deadline}",
            a.name
        );
        // Every simulated cluster applied epoch 1 in the warm-up; a Kubernetes one has stamps.
        if a.cluster.applied_epoch > 0 {
            let _ = write!(s, " applied e{}", a.cluster.applied_epoch);
        } else {
            s.push_str(&super::kube::describe(w, i));
        }
    }
    s
}
