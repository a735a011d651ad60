//! Stuck transitions: who ends them, when, and how (rolled back before the flip, completed
//! forcibly after it), always through the lock. Every party heartbeats here: only the
//! transition makes no progress (a target that died is `dead_parties.rs`).

use super::fixtures::*;
use crate::protocol::*;
use crate::store::*;
use FailoverMode::{Consistency, Uptime};
use Phase::{Requested, SourceDeactivating, TargetActivating};

/// Observations of `sn` at each listed second, every cluster's heartbeat moving each time.
fn seen(sn: &GroupSnapshot, at: &[u64]) -> Observations {
    let mut sn = sn.clone();
    let mut o = Observations::default();
    for t in at {
        for c in &mut sn.clusters {
            c.heartbeat_seq = Some(t + 1);
        }
        o.observe(&sn, true, s(*t));
    }
    o
}

fn dead_lock(mut sn: GroupSnapshot) -> GroupSnapshot {
    sn.lock = Some(lock("b", "dead", 30));
    sn
}

#[test]
fn a_transition_is_not_stuck_before_transitory_state_of_this_agent_s_observation() {
    let sn = moving(Consistency, SourceDeactivating);
    // A fresh agent: it first saw this version at 500s, so 119s later is not enough.
    let d = decide(&sn, &seen(&sn, &[500, 619]), &facts("a", 619));
    assert_eq!(d.writes, vec![]);
}

#[test]
fn a_stuck_transition_before_the_flip_is_rolled_back_by_the_source_through_the_lock() {
    let sn = dead_lock(moving(Consistency, SourceDeactivating));
    let o = seen(&sn, &[0, 120]);
    let d = decide(&sn, &o, &facts("a", 120));
    assert_eq!(names(&d), ["take-over-lock"]);

    let mine = lock("a", "mine", 150);
    let mut taken = sn.clone();
    taken.lock = Some(mine.clone());
    let mut o = seen(&sn, &[0, 120]);
    o.observe(&taken, true, s(125));
    let d = decide(&taken, &o, &holding("a", 125, &mine));
    assert_eq!(names(&d), ["renew-lock", "finish", "release-lock"]);
    let req = guarded(&d.writes[1]).unwrap();
    assert_eq!(
        (
            req.new_config.owner_cluster.as_str(),
            &req.new_config.transition
        ),
        ("a", &None)
    );
    assert_eq!(req.new_config.last_failover, None);
    let h = req.history.as_ref().unwrap();
    assert_eq!((h.status.as_str(), h.start_time), ("ROLLED_BACK", wall(0)));
    assert!(
        d.notes
            .iter()
            .any(|n| n.to_string().contains("no progress for 2m"))
    );
}

#[test]
fn other_agents_wait_one_more_heartbeat_timeout_before_ending_a_stuck_transition() {
    let sn = dead_lock(moving(Consistency, SourceDeactivating));
    assert_eq!(
        decide(&sn, &seen(&sn, &[0, 159]), &facts("c", 159)).writes,
        vec![]
    );
    let d = decide(&sn, &seen(&sn, &[0, 160]), &facts("c", 160));
    assert_eq!(names(&d), ["take-over-lock"]);
}

#[test]
fn a_stuck_transition_after_the_flip_is_completed_forcibly_by_the_owner() {
    for mode in [Consistency, Uptime] {
        let phase = if mode == Consistency {
            TargetActivating
        } else {
            SourceDeactivating
        };
        let mine = lock("b", "mine", 150);
        let mut sn = moving(mode, phase);
        sn.lock = Some(mine.clone());
        let d = decide(&sn, &seen(&sn, &[0, 120]), &holding("b", 120, &mine));
        assert_eq!(
            names(&d),
            ["renew-lock", "finish", "release-lock"],
            "{mode}"
        );
        let req = guarded(&d.writes[1]).unwrap();
        assert_eq!(req.new_config.owner_cluster, "b");
        assert!(req.new_config.last_failover.is_some());
        let h = req.history.as_ref().unwrap();
        let downtime = (mode == Uptime).then_some(0);
        assert_eq!(
            (h.status.as_str(), h.downtime),
            ("FORCED_COMPLETE", downtime)
        );
    }
}

#[test]
fn the_driver_holding_the_lock_ends_its_own_stuck_transition_before_the_flip() {
    let mine = lock("b", "mine", 150);
    let mut sn = moving(Consistency, SourceDeactivating);
    sn.lock = Some(mine.clone());
    let d = decide(&sn, &seen(&sn, &[0, 120]), &holding("b", 120, &mine));
    let h = guarded(&d.writes[1]).unwrap().history.clone().unwrap();
    assert_eq!(h.status, "ROLLED_BACK");
}

#[test]
fn an_ender_waits_while_a_live_driver_renews_the_lock() {
    let mut sn = moving(Consistency, SourceDeactivating);
    let mut o = Observations::default();
    for i in 0..=13u64 {
        sn.lock = Some(lock("b", "live", 30 + i * 10));
        o.observe(&sn, true, s(i * 10));
    }
    let d = decide(&sn, &o, &facts("a", 130));
    assert_eq!(d.writes, vec![]);
    assert!(d.notes[0].to_string().contains("lock held by b"));
}

#[test]
fn a_version_change_restarts_the_stuck_clock() {
    let sn = moving(Consistency, Requested);
    let mut later = moving(Consistency, SourceDeactivating);
    later.config.version = 6;
    let mut o = seen(&sn, &[0, 100]);
    for t in [110, 200] {
        for c in &mut later.clusters {
            c.heartbeat_seq = Some(t + 1);
        }
        o.observe(&later, true, s(t));
    }
    assert_eq!(decide(&later, &o, &facts("a", 200)).writes, vec![]);
}

#[test]
fn a_malformed_transition_is_ended_by_the_stuck_rule() {
    let mut sn = moving(Consistency, SourceDeactivating);
    sn.clusters.retain(|c| c.cluster_name != "b");
    let d = decide(&sn, &seen(&sn, &[0, 120]), &facts("a", 120));
    assert_eq!(names(&d), ["acquire-lock"]);
}
