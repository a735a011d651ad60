//! Whole failovers on the simulation, event by event: what the random runs find by chance, spelt
//! out. Every event still checks every invariant.

use super::sim::{Event, Sim};
use crate::protocol::*;
use crate::store::*;
use Event::*;

fn owner(sim: &Sim) -> &str {
    &sim.table.config.owner_cluster
}

fn statuses(sim: &Sim) -> Vec<&str> {
    sim.table
        .history
        .values()
        .map(|h| h.status.as_str())
        .collect()
}

fn role(sim: &Sim, i: usize) -> Option<Role> {
    sim.agents[i].acted.as_ref().map(|d| d.role)
}

/// a owns and serves, b (and c) stand by.
fn started(clusters: usize) -> Sim {
    let mut sim = Sim::new(clusters, true);
    for _ in 0..2 {
        for i in 0..clusters {
            sim.apply(Burst(i, 1));
        }
    }
    assert!(sim.serving(0));
    sim
}

#[test]
fn a_planned_consistency_failover_runs_end_to_end() {
    let mut sim = started(2);
    sim.apply(Promote(1, FailoverMode::Consistency, false));
    // b: lock, SOURCE_DEACTIVATING; a: deactivate, acknowledge, heartbeat with the
    // acknowledgement; b: flip, activate, finish.
    for _ in 0..5 {
        sim.apply(Burst(1, 1));
        sim.apply(Burst(0, 1));
    }
    sim.apply(Burst(1, 2));
    assert_eq!(owner(&sim), "b");
    assert_eq!(statuses(&sim), ["SUCCESS"]);
    let h = sim.table.history.values().next().unwrap();
    assert!(h.downtime.is_some() && h.duration.is_some());
    assert!(sim.table.config.transition.is_none() && sim.table.lock.is_none());
    assert!(sim.serving(1) && !sim.serving(0));
    assert_eq!(sim.table.config.epoch, sim.table.config.version - 1);
}

#[test]
fn a_partitioned_owner_fences_itself_before_an_automatic_failover_flips() {
    let mut sim = started(3);
    sim.apply(Cut(0));
    let mut fenced_before_flip = false;
    for _ in 0..40 {
        sim.apply(Advance(3));
        for i in 0..3 {
            sim.apply(Decide(i));
            sim.apply(Act(i, 4));
        }
        if owner(&sim) == "a" && role(&sim, 0) == Some(Role::Fenced) {
            fenced_before_flip = true;
        }
    }
    assert!(fenced_before_flip);
    assert_eq!(owner(&sim), "b");
    assert_eq!(statuses(&sim), ["FORCED_COMPLETE"]);
    let h = sim.table.history.values().next().unwrap();
    assert_eq!((h.automatic, h.downtime), (Some(true), None));
    assert!(sim.serving(1) && !sim.serving(0));
}

#[test]
fn a_paused_agent_waking_with_an_old_decision_cannot_reactivate_its_cluster() {
    let mut sim = started(2);
    // a's process decides PRIMARY, then hangs before acting; a new process replaces it.
    sim.apply(Decide(0));
    sim.apply(Crash(0));
    sim.apply(Promote(1, FailoverMode::Consistency, false));
    sim.apply(Burst(1, 2));
    sim.apply(Restart(0));
    sim.apply(Burst(0, 3));
    sim.apply(Burst(1, 3));
    assert_eq!(owner(&sim), "b");
    assert!(sim.serving(1));
    // The old process wakes up inside its serve window and carries out PRIMARY: its epoch is
    // older than the deactivation the new process applied, so the cluster refuses it.
    let refused = sim.stats.refused_steps;
    sim.apply(Wake(0, 4));
    assert_eq!(sim.stats.refused_steps, refused + 1);
    assert!(!sim.agents[0].cluster.network_on());
}

#[test]
fn a_dead_target_s_transition_is_rolled_back_and_the_source_serves_again() {
    let mut sim = started(2);
    sim.apply(Promote(1, FailoverMode::Consistency, false));
    sim.apply(Burst(1, 2));
    sim.apply(Crash(1));
    sim.apply(Burst(0, 2));
    assert_eq!(role(&sim, 0), Some(Role::Standby));
    assert!(
        !sim.serving(0),
        "the source deactivated for the flip that never came"
    );
    for _ in 0..20 {
        sim.apply(Burst(0, 5));
    }
    assert_eq!((owner(&sim), statuses(&sim)), ("a", vec!["ROLLED_BACK"]));
    assert!(sim.serving(0));
    assert!(
        sim.stats.take_overs >= 1,
        "a took the dead driver's lock over"
    );
}

#[test]
fn an_uptime_failover_activates_the_target_before_the_source_stops() {
    let mut sim = Sim::new(2, false);
    for _ in 0..2 {
        sim.apply(Burst(0, 1));
        sim.apply(Burst(1, 1));
    }
    sim.apply(Promote(1, FailoverMode::Uptime, false));
    sim.apply(Burst(1, 4));
    assert!(
        sim.serving(0) && sim.serving(1),
        "both serve before the flip, by design"
    );
    for _ in 0..3 {
        sim.apply(Burst(0, 1));
        sim.apply(Burst(1, 1));
    }
    assert_eq!((owner(&sim), statuses(&sim)), ("b", vec!["SUCCESS"]));
    assert_eq!(sim.table.history.values().next().unwrap().downtime, Some(0));
    assert!(sim.serving(1) && !sim.serving(0));
}
