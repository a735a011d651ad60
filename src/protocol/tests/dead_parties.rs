//! A transition whose target or source dies does not stall: a dead target's transition is
//! rolled back (before the flip) or ended so an automatic failover follows at once (after it);
//! a planned transition whose source went silent proceeds as a forced one. Timings of the
//! fixtures: interval 10s, `timeouts.heartbeat` 40s, `timeouts.transitoryState` 2m.

use super::fixtures::*;
use crate::protocol::*;
use crate::store::*;
use FailoverMode::Consistency;
use Phase::{SourceDeactivating, TargetActivating};

/// Observations of `sn` every 10s up to `until`, the clusters in `alive` heartbeating each time.
fn seen_with_alive(
    mut sn: GroupSnapshot,
    alive: &[&str],
    until: u64,
) -> (GroupSnapshot, Observations) {
    let mut o = Observations::default();
    for t in (0..=until).step_by(10) {
        for c in sn
            .clusters
            .iter_mut()
            .filter(|c| alive.contains(&c.cluster_name.as_str()))
        {
            c.heartbeat_seq = Some(t + 1);
        }
        o.observe(&sn, true, s(t));
    }
    (sn, o)
}

fn with_lock_of_b(mut sn: GroupSnapshot) -> GroupSnapshot {
    sn.lock = Some(lock("b", "b-token", 30));
    sn
}

#[test]
fn a_transition_whose_target_died_before_the_flip_is_rolled_back_after_one_heartbeat_timeout() {
    let sn = with_lock_of_b(moving(Consistency, SourceDeactivating));
    // b (the target, holding the lock) stopped at 0; a and c keep heartbeating.
    let (sn, o) = seen_with_alive(sn, &["a", "c"], 30);
    assert_eq!(names(&decide(&sn, &o, &facts("a", 30))), Vec::<&str>::new());
    let (sn, o) = seen_with_alive(sn, &["a", "c"], 40);
    let d = decide(&sn, &o, &facts("a", 40));
    assert_eq!(
        names(&d),
        ["take-over-lock"],
        "40s, not transitoryState's 2m"
    );

    let mine = lock("a", "mine", 70);
    let mut taken = sn.clone();
    taken.lock = Some(mine.clone());
    let mut o = o;
    o.observe(&taken, true, s(41));
    let d = decide(&taken, &o, &holding("a", 41, &mine));
    assert_eq!(names(&d), ["renew-lock", "finish", "release-lock"]);
    let req = guarded(&d.writes[1]).unwrap();
    assert_eq!(
        req.new_config.owner_cluster, "a",
        "the source keeps the group"
    );
    assert_eq!(req.new_config.transition, None);
    let h = req.history.as_ref().unwrap();
    assert_eq!(h.status, "ROLLED_BACK");
    assert!(
        h.reason.contains("the target b was silent for 41s")
            && h.reason.contains("rolled back to a"),
        "{}",
        h.reason
    );
}

#[test]
fn a_transition_whose_target_died_after_the_flip_ends_at_once_and_the_group_fails_over_again() {
    let sn = with_lock_of_b(moving(Consistency, TargetActivating));
    let (sn, o) = seen_with_alive(sn, &["a", "c"], 40);
    let d = decide(&sn, &o, &facts("c", 40));
    assert_eq!(names(&d), ["take-over-lock"]);
    let mine = lock("c", "mine", 70);
    let mut taken = sn.clone();
    taken.lock = Some(mine.clone());
    let mut o = o;
    o.observe(&taken, true, s(41));
    let d = decide(&taken, &o, &holding("c", 41, &mine));
    assert_eq!(names(&d), ["renew-lock", "finish", "release-lock"]);
    let req = guarded(&d.writes[1]).unwrap();
    let h = req.history.as_ref().unwrap();
    assert_eq!(h.status, "FORCED_COMPLETE");
    assert!(
        h.reason.contains("an automatic failover follows"),
        "{}",
        h.reason
    );

    // The transition is gone and b, the owner since the flip, is still silent: no cool-down
    // (it never served), an automatic failover to a healthy standby at once.
    let mut ended = taken.clone();
    ended.config = req.new_config.clone();
    ended.config.version += 1;
    ended.lock = None;
    o.observe(&ended, true, s(42));
    let d = decide(&ended, &o, &facts("c", 42));
    assert_eq!(names(&d), ["start-transition"], "{:?}", d.notes);
    let Intent::StartTransition { config, .. } = &d.writes[0] else {
        unreachable!()
    };
    let t = config.transition.as_ref().unwrap();
    assert!(t.automatic && t.force && t.source == "b", "{t:?}");
}

#[test]
fn a_living_target_is_not_judged_by_the_dead_target_rule() {
    let sn = with_lock_of_b(moving(Consistency, SourceDeactivating));
    let (sn, o) = seen_with_alive(sn, &["a", "b", "c"], 110);
    assert_eq!(
        names(&decide(&sn, &o, &facts("c", 110))),
        Vec::<&str>::new()
    );
}

#[test]
fn a_planned_transition_whose_source_died_proceeds_as_forced_after_heartbeat_plus_deactivation() {
    let l = lock("b", "tok", 1000);
    let mut sn = moving(Consistency, SourceDeactivating);
    sn.lock = Some(l.clone());
    sn.config.timeouts.deactivation = s(15).into();
    // a, the source, stopped at 0 without acknowledging; b drives.
    let (sn, o) = seen_with_alive(sn, &["b", "c"], 50);
    let d = decide(&sn, &o, &holding("b", 50, &l));
    assert_eq!(names(&d), ["renew-lock"], "waits 40s + 15s");
    let (sn, o) = seen_with_alive(sn, &["b", "c"], 60);
    let d = decide(&sn, &o, &holding("b", 60, &l));
    assert_eq!(names(&d), ["renew-lock", "flip"]);

    // Once activated, b finishes it, and the history says it went ahead without the source.
    let mut flipped = sn.clone();
    flipped.config = guarded(&d.writes[1]).unwrap().new_config.clone();
    flipped.config.version += 1;
    let mut o = o;
    o.observe(&flipped, true, s(61));
    let f = LocalFacts {
        progress: progress(true, flipped.config.version),
        ..holding("b", 61, &l)
    };
    let d = decide(&flipped, &o, &f);
    let finish = d
        .writes
        .iter()
        .find_map(|w| match w {
            Intent::Finish(r) => Some(r),
            _ => None,
        })
        .expect("finish");
    let h = finish.history.as_ref().unwrap();
    assert_eq!(h.status, "FORCED_COMPLETE");
    assert!(h.reason.contains("a never acknowledged"), "{}", h.reason);
}

/// Where owners do not fence themselves (`selfFencing: false`), a silent source proves nothing:
/// a planned transition keeps waiting for its acknowledgement (only a person's force, or the
/// stuck rule, moves it).
#[test]
fn without_self_fencing_a_planned_transition_still_waits_for_the_acknowledgement() {
    let l = lock("b", "tok", 1000);
    let mut sn = moving(Consistency, SourceDeactivating);
    sn.lock = Some(l.clone());
    sn.config.self_fencing = false;
    let (sn, o) = seen_with_alive(sn, &["b", "c"], 100);
    let d = decide(&sn, &o, &holding("b", 100, &l));
    assert_eq!(names(&d), ["renew-lock"]);
}
