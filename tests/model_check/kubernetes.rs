//! The runs on Kubernetes clusters (`kube.rs`): with every fix the invariants hold; without
//! F1, F2 or F3, or with a write in flight for ever, the same configuration has a
//! counterexample. Smaller bounds than the simulated runs, and release builds only.

use super::kube::Fixes;
use super::properties::*;
use super::world::{Config, Kind};
use super::{config, run};

/// A run on Kubernetes clusters with the given fixes (`kube.rs`): every fault kind enabled,
/// writes in flight landing within the bound (two intervals) or never.
fn kube(clusters: usize, horizon: u64, fixes: Fixes) -> Config {
    Config {
        kind: Kind::Kube(fixes),
        ..config(clusters, horizon)
    }
}

/// Kubernetes without F1 (the fresh agent's fence).
const WITHOUT_F1: Fixes = Fixes {
    fence_at_start: false,
    ..Fixes::ALL
};

/// Kubernetes without F2 (every object stamped).
const WITHOUT_F2: Fixes = Fixes {
    stamp_every_object: false,
    ..Fixes::ALL
};

/// Kubernetes without F3 (deactivation past newer stamps).
const WITHOUT_F3: Fixes = Fixes {
    deactivate_past_newer_stamps: false,
    ..Fixes::ALL
};

/// A process restarts (crash) and its link is cut: the configuration in which F1 and F3 matter.
fn restart_cut_off(fixes: Fixes) -> Config {
    Config {
        max_faults: 2,
        pauses: false,
        promotions: false,
        ..kube(2, 10, fixes)
    }
}

/// A pause (also between an activation's check and its write) with two delays, during a
/// planned failover: the configuration in which F2 matters.
fn paused_write(fixes: Fixes) -> Config {
    Config {
        max_faults: 1,
        max_delays: 2,
        crashes: false,
        partitions: false,
        forced_promotions: false,
        ..kube(2, 7, fixes)
    }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release only: too slow unoptimized")]
fn two_clusters_never_serve_together_through_a_crash_a_pause_or_a_cut_link() {
    let cfg = Config {
        max_faults: 1,
        max_delays: 1,
        expect: &[
            PLANNED_COMPLETES,
            STALE_REFUSED,
            OWNER_FENCED,
            LATE_WRITE_REFUSED,
        ],
        ..kube(2, 6, Fixes::ALL)
    };
    let run = run::check("kubernetes, 2 clusters, 1 fault, 1 delay", cfg);
    run.checker.assert_properties();
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release only: too slow unoptimized")]
fn a_restarted_agent_cut_off_from_the_store_fences_its_cluster() {
    let cfg = Config {
        expect: &[AUTOMATIC_COMPLETES, FENCED_AT_START],
        ..restart_cut_off(Fixes::ALL)
    };
    let run = run::check("kubernetes, 2 clusters, a crash and a cut link", cfg);
    run.checker.assert_properties();
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release only: too slow unoptimized")]
fn an_activation_paused_before_its_write_is_refused_by_a_newer_stamp() {
    let cfg = Config {
        expect: &[PLANNED_COMPLETES, LATE_WRITE_REFUSED],
        ..paused_write(Fixes::ALL)
    };
    let run = run::check("kubernetes, 2 clusters, a pause, 2 delays", cfg);
    run.checker.assert_properties();
}

#[test]
#[cfg_attr(debug_assertions, ignore = "release only: too slow unoptimized")]
fn a_write_in_flight_and_a_cut_link_keep_one_cluster_serving() {
    let cfg = Config {
        max_faults: 2,
        max_delays: 1,
        crashes: false,
        promotions: false,
        expect: &[FENCED_AT_START, OWNER_FENCED],
        ..kube(2, 6, Fixes::ALL)
    };
    let run = run::check("kubernetes, 2 clusters, a pause and a cut link", cfg);
    run.checker.assert_properties();
}

/// Without F1 a restarted agent that cannot reach the store leaves its cluster serving, for
/// ever: on Kubernetes nothing else switches it off, and the other cluster takes over.
#[test]
#[cfg_attr(debug_assertions, ignore = "release only: too slow unoptimized")]
fn without_the_fresh_agents_fence_two_clusters_serve() {
    let run = run::find(
        "kubernetes without F1",
        restart_cut_off(WITHOUT_F1),
        ONE_SERVER,
    );
    let path = run.checker.discovery_text(ONE_SERVER);
    assert!(path.is_some(), "no two clusters served without F1");
}

/// Without F2 the new process's deactivation finds the network already off and leaves its old
/// stamp, so the activation its paused predecessor checked before lands after the flip.
#[test]
#[cfg_attr(debug_assertions, ignore = "release only: too slow unoptimized")]
fn without_stamping_every_object_a_stale_activation_lands() {
    let run = run::find(
        "kubernetes without F2",
        paused_write(WITHOUT_F2),
        ONE_SERVER,
    );
    let path = run.checker.discovery_text(ONE_SERVER);
    assert!(path.is_some(), "no two clusters served without F2");
}

/// Without F3 the fresh agent's fence, at epoch 0, is refused by the stamps of the decision
/// that activated the cluster, which then serves next to its successor.
#[test]
#[cfg_attr(debug_assertions, ignore = "release only: too slow unoptimized")]
fn without_deactivating_past_newer_stamps_two_clusters_serve() {
    let run = run::find(
        "kubernetes without F3",
        restart_cut_off(WITHOUT_F3),
        ONE_SERVER,
    );
    let path = run.checker.discovery_text(ONE_SERVER);
    assert!(path.is_some(), "no two clusters served without F3");
}

/// The bound on a write in flight is an assumption the fixes need: a process that froze
/// between an activation's check and its write, and wakes up after its successor, cut off from
/// the store, fenced the cluster at epoch 0 (which stamps nothing), switches the network on
/// again after the other cluster took over.
#[test]
#[cfg_attr(debug_assertions, ignore = "release only: too slow unoptimized")]
fn a_write_in_flight_for_ever_lands_after_the_takeover() {
    let cfg = Config {
        max_faults: 2,
        max_delays: 1,
        crashes: false,
        promotions: false,
        late_write_bound: None,
        ..kube(2, 10, Fixes::ALL)
    };
    let run = run::find("kubernetes, unbounded write in flight", cfg, ONE_SERVER);
    let path = run.checker.discovery_text(ONE_SERVER);
    assert!(
        path.is_some(),
        "no two clusters served with a write in flight for ever"
    );
}
