//! Property tests: random runs of the simulation (`sim`) with crashes, partitions, pauses, health
//! changes, promotions and arbitrary interleavings, checking the protocol's invariants after
//! every event (the checks live in `sim` and `sim_table`), and convergence once faults stop.

use super::sim::{Event, Sim};
use crate::protocol::*;
use crate::store::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

/// How many local steps an `Act` may change: mostly all of them, sometimes fewer or none.
fn budget() -> impl Strategy<Value = u8> {
    prop_oneof![3 => Just(4u8), 1 => 0..4u8]
}

fn event(clusters: usize, uptime: bool) -> impl Strategy<Value = Event> {
    let i = 0..clusters;
    let mode = if uptime {
        prop_oneof![Just(FailoverMode::Consistency), Just(FailoverMode::Uptime)].boxed()
    } else {
        Just(FailoverMode::Consistency).boxed()
    };
    let health = prop_oneof![
        Just(Health::Ok),
        Just(Health::Degraded),
        Just(Health::Error)
    ];
    prop_oneof![
        12 => i.clone().prop_map(Event::Decide),
        12 => (i.clone(), budget()).prop_map(|(i, n)| Event::Act(i, n)),
        8 => (1..15u64).prop_map(Event::Advance),
        2 => (i.clone(), 1..8u8).prop_map(|(i, k)| Event::Burst(i, k)),
        1 => i.clone().prop_map(Event::Crash),
        2 => i.clone().prop_map(Event::Restart),
        1 => i.clone().prop_map(Event::Cut),
        2 => i.clone().prop_map(Event::Heal),
        1 => i.clone().prop_map(Event::CutHeartbeats),
        1 => (i.clone(), budget()).prop_map(|(i, n)| Event::Wake(i, n)),
        1 => (i.clone(), health).prop_map(|(i, h)| Event::Health(i, h)),
        2 => (i, mode, any::<bool>()).prop_map(|(i, m, f)| Event::Promote(i, m, f)),
    ]
}

fn run(clusters: usize, consistency_only: bool, events: &[Event]) -> Sim {
    let mut sim = Sim::new(clusters, consistency_only);
    for e in events {
        sim.apply(*e);
    }
    sim
}

/// Stops every fault and lets every agent decide and act once per heartbeat interval for
/// `rounds` intervals.
fn settle(sim: &mut Sim, rounds: usize) {
    for i in 0..sim.agents.len() {
        sim.apply(Event::Restart(i));
        sim.apply(Event::Heal(i));
        sim.apply(Event::Health(i, Health::Ok));
    }
    for _ in 0..rounds {
        sim.apply(Event::Advance(10));
        for i in 0..sim.agents.len() {
            sim.apply(Event::Decide(i));
            sim.apply(Event::Act(i, 4));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Invariants 1-4 on CONSISTENCY-only runs: at most one cluster serves, versions and epochs
    /// only grow, one lock holder and take-overs only after a full unchanged lease, exactly one
    /// history record per ended transition.
    #[test]
    fn a_consistency_group_never_has_two_serving_clusters(
        clusters in 2..=3usize,
        events in prop::collection::vec(event(3, false), 1..400),
    ) {
        run(clusters, true, &events);
    }

    /// Invariants 2-4 with UPTIME transitions in the mix (where two clusters serve by design).
    #[test]
    fn versions_locks_and_history_stay_sound_with_uptime_transitions_too(
        events in prop::collection::vec(event(3, true), 1..400),
    ) {
        run(3, false, &events);
    }

    /// Invariant 5: after faults stop, within a bounded time no transition is in flight, the
    /// owner alone serves, and every other cluster is fully deactivated.
    #[test]
    fn every_cluster_converges_to_the_role_config_gives_it_once_faults_stop(
        consistency_only in any::<bool>(),
        events in prop::collection::vec(event(3, true), 1..300),
    ) {
        let events: Vec<Event> = events
            .into_iter()
            .filter(|e| !consistency_only || !matches!(e, Event::Promote(_, FailoverMode::Uptime, _)))
            .collect();
        let mut sim = run(3, consistency_only, &events);
        // transitoryState + heartbeat + lease + a transition's own ticks, with room to spare:
        // 60 intervals of 10s.
        settle(&mut sim, 60);
        let cfg = &sim.table.config;
        prop_assert!(cfg.transition.is_none(), "still in flight: {:?}", cfg.transition);
        for (i, a) in sim.agents.iter().enumerate() {
            let owner = a.name == cfg.owner_cluster;
            let role = a.acted.as_ref().map(|d| d.role);
            prop_assert_eq!(role, Some(if owner { Role::Primary } else { Role::Standby }), "{}", a.name);
            prop_assert!(a.cluster.converged(if owner { Role::Primary } else { Role::Standby }), "{}: {:?}", a.name, a.cluster);
            prop_assert_eq!(sim.serving(i), owner);
        }
    }
}

/// The runs above are not vacuous: over a fixed set of random runs, the paths that matter all
/// happen (flips, automatic failovers, take-overs, fencing, refused stale actions, and every
/// way a transition ends).
#[test]
fn the_random_runs_exercise_every_path() {
    let mut runner = TestRunner::deterministic();
    let strategy = prop::collection::vec(event(3, false), 300..400);
    let mut total = super::sim::Stats::default();
    let mut statuses = std::collections::BTreeSet::new();
    for _ in 0..200 {
        let events = strategy
            .new_tree(&mut runner)
            .map(|t| t.current())
            .unwrap_or_default();
        let sim = run(3, true, &events);
        total.flips += sim.stats.flips;
        total.take_overs += sim.stats.take_overs;
        total.automatic += sim.stats.automatic;
        total.fenced += sim.stats.fenced;
        total.refused_steps += sim.stats.refused_steps;
        statuses.extend(sim.table.history.values().map(|h| h.status.clone()));
    }
    assert!(
        total.flips > 0 && total.automatic > 0 && total.fenced > 0,
        "{total:?}"
    );
    assert!(total.take_overs > 0 && total.refused_steps > 0, "{total:?}");
    for s in ["SUCCESS", "ROLLED_BACK", "FORCED_COMPLETE"] {
        assert!(statuses.contains(s), "no {s} in {statuses:?}");
    }
}
