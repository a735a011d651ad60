//! The target driving a transition: the lock, each phase persisted before anyone acts, the flip,
//! completion with exactly one history record, and losing the lock.

use super::fixtures::*;
use crate::protocol::*;
use crate::store::*;
use FailoverMode::{Consistency, Uptime};
use Phase::{Requested, SourceDeactivating, TargetActivating};

fn with_lock(mut sn: GroupSnapshot, l: &Lock) -> GroupSnapshot {
    sn.lock = Some(l.clone());
    sn
}

#[test]
fn the_target_takes_the_lock_when_a_transition_is_requested() {
    let sn = moving(Consistency, Requested);
    let d = decide(&sn, &seen(&sn, &[0]), &facts("b", 0));
    assert_eq!(names(&d), ["acquire-lock"]);
    let Intent::AcquireLock(req) = &d.writes[0] else {
        unreachable!()
    };
    assert_eq!((req.holder.as_str(), req.lease), ("b", timings().lease));
    assert!(req.reason.contains("t1"));
    assert!(d.read_lock_next);
}

#[test]
fn the_target_tries_the_lock_even_before_it_has_read_it() {
    let sn = moving(Consistency, Requested);
    let mut o = Observations::default();
    o.observe(&sn, false, s(0));
    assert_eq!(names(&decide(&sn, &o, &facts("b", 0))), ["acquire-lock"]);
}

#[test]
fn a_live_holder_s_lock_is_waited_for() {
    let sn = with_lock(moving(Consistency, Requested), &lock("c", "x", 30));
    let d = decide(&sn, &seen(&sn, &[0, 29]), &facts("b", 29));
    assert_eq!(d.writes, vec![]);
    assert!(d.notes[0].to_string().contains("lock held by c"));
}

#[test]
fn a_dead_holder_s_lock_is_taken_over_only_after_a_full_lease_unchanged() {
    let l = lock("c", "x", 30);
    let sn = with_lock(moving(Consistency, Requested), &l);
    let d = decide(&sn, &seen(&sn, &[0, 30]), &facts("b", 30));
    assert_eq!(
        d.writes[0],
        Intent::TakeOverLock {
            observed: l,
            request: LockRequest {
                holder: "b".into(),
                reason: "transition t1: a -> b".into(),
                lease: s(30),
                now: wall(30),
            },
        }
    );
}

#[test]
fn a_renewed_lease_restarts_the_take_over_clock() {
    let old = with_lock(moving(Consistency, Requested), &lock("c", "x", 30));
    let renewed = with_lock(moving(Consistency, Requested), &lock("c", "x", 50));
    let mut o = seen(&old, &[0, 20]);
    o.observe(&renewed, true, s(25));
    assert_eq!(decide(&renewed, &o, &facts("b", 40)).writes, vec![]);
    assert_eq!(
        names(&decide(&renewed, &o, &facts("b", 55))),
        ["take-over-lock"]
    );
}

#[test]
fn a_restarted_agent_does_not_reuse_a_lock_it_no_longer_has_the_token_of() {
    let sn = with_lock(moving(Consistency, Requested), &lock("b", "old", 30));
    let d = decide(&sn, &seen(&sn, &[0, 10]), &facts("b", 10));
    assert_eq!(d.writes, vec![]);
}

#[test]
fn the_driver_persists_source_deactivating_before_anyone_acts() {
    let l = lock("b", "tok", 30);
    let sn = with_lock(moving(Consistency, Requested), &l);
    let d = decide(&sn, &seen(&sn, &[0]), &holding("b", 0, &l));
    assert_eq!(names(&d), ["renew-lock", "advance-phase"]);
    let req = guarded(&d.writes[1]).unwrap();
    assert_eq!((req.expected_version, req.lease_token.as_str()), (5, "tok"));
    let t = req.new_config.transition.as_ref().unwrap();
    assert_eq!(t.phase, SourceDeactivating);
    assert_eq!(req.new_config.owner_cluster, "a");
    assert_eq!(req.history, None);
    // The source keeps serving until it reads the persisted phase.
    assert_eq!(
        decide(&sn, &seen(&sn, &[0]), &facts("a", 0)).role,
        Role::Primary
    );
}

fn acked(mut sn: GroupSnapshot, id: &str) -> GroupSnapshot {
    sn.clusters[0].ack = Some(TransitionAck {
        id: id.into(),
        at: wall(3),
    });
    sn
}

#[test]
fn the_target_flips_after_the_source_acknowledges() {
    let l = lock("b", "tok", 30);
    let sn = acked(with_lock(moving(Consistency, SourceDeactivating), &l), "t1");
    let d = decide(&sn, &seen(&sn, &[0]), &holding("b", 0, &l));
    assert_eq!(names(&d), ["renew-lock", "flip"]);
    let req = guarded(&d.writes[1]).unwrap();
    let c = &req.new_config;
    assert_eq!((c.owner_cluster.as_str(), c.epoch), ("b", 6));
    assert_eq!(c.previous_owner.as_deref(), Some("a"));
    let t = c.transition.as_ref().unwrap();
    assert_eq!(
        (t.phase, t.source_stopped_at),
        (TargetActivating, Some(wall(3)))
    );
    assert_eq!(
        d.role,
        Role::Standby,
        "the target activates only after reading the flip"
    );
}

#[test]
fn an_acknowledgement_of_another_transition_does_not_count() {
    let l = lock("b", "tok", 30);
    let mut sn = acked(with_lock(moving(Consistency, SourceDeactivating), &l), "t0");
    // The source is alive (its heartbeat moves): only its acknowledgement of t1 would do.
    let mut o = Observations::default();
    for t in [0, 50, 100] {
        sn.clusters[0].heartbeat_seq = Some(t + 1);
        o.observe(&sn, true, s(t));
    }
    let d = decide(&sn, &o, &holding("b", 100, &l));
    assert_eq!(names(&d), ["renew-lock"]);
    assert!(d.notes[0].to_string().contains("a to finish deactivating"));
}

#[test]
fn a_forced_flip_waits_for_a_full_heartbeat_timeout_of_source_silence() {
    let l = lock("b", "tok", 30);
    let mut sn = with_lock(moving(Consistency, SourceDeactivating), &l);
    sn.config.transition.as_mut().unwrap().force = true;
    let o = seen(&sn, &[0, 39]);
    assert_eq!(
        names(&decide(&sn, &o, &holding("b", 39, &l))),
        ["renew-lock"]
    );
    let d = decide(&sn, &seen(&sn, &[0, 40]), &holding("b", 40, &l));
    assert_eq!(names(&d), ["renew-lock", "flip"]);
    let t = guarded(&d.writes[1])
        .unwrap()
        .new_config
        .transition
        .clone()
        .unwrap();
    assert_eq!(
        t.source_stopped_at, None,
        "no acknowledgement: downtime unknown"
    );
}

#[test]
fn a_forced_flip_also_waits_for_the_deactivation_budget_the_source_needs_to_stop() {
    let l = lock("b", "tok", 30);
    let mut sn = with_lock(moving(Consistency, SourceDeactivating), &l);
    sn.config.transition.as_mut().unwrap().force = true;
    // Pods that take 25s to terminate: the cut-off source started fencing 20s (two intervals)
    // before timeouts.heartbeat (40s) and is still stopping until 40s + 25s.
    sn.config.timeouts.deactivation = s(25).into();
    for at in [40, 64] {
        let d = decide(&sn, &seen(&sn, &[0, at]), &holding("b", at, &l));
        assert_eq!(names(&d), ["renew-lock"], "at {at}s");
    }
    let d = decide(&sn, &seen(&sn, &[0, 65]), &holding("b", 65, &l));
    assert_eq!(names(&d), ["renew-lock", "flip"]);
}

#[test]
fn a_source_that_keeps_heartbeating_is_never_flipped_without_its_acknowledgement() {
    let l = lock("b", "tok", 30);
    let mut sn = with_lock(moving(Consistency, SourceDeactivating), &l);
    sn.config.transition.as_mut().unwrap().force = true;
    let mut o = Observations::default();
    for i in 0..10u64 {
        sn.clusters[0].heartbeat_seq = Some(i);
        o.observe(&sn, true, s(i * 10));
    }
    assert_eq!(
        names(&decide(&sn, &o, &holding("b", 90, &l))),
        ["renew-lock"]
    );
}

#[test]
fn the_target_finishes_with_success_and_releases_the_lock_once_activated() {
    let l = lock("b", "tok", 30);
    let mut sn = with_lock(moving(Consistency, TargetActivating), &l);
    sn.config.version = 6;
    sn.config.transition.as_mut().unwrap().source_stopped_at = Some(wall(3));
    let f = LocalFacts {
        progress: progress(true, 6),
        ..holding("b", 20, &l)
    };
    let d = decide(&sn, &seen(&sn, &[0, 20]), &f);
    assert_eq!(names(&d), ["renew-lock", "finish", "release-lock"]);
    let req = guarded(&d.writes[1]).unwrap();
    assert_eq!(req.new_config.transition, None);
    assert_eq!(req.new_config.owner_cluster, "b");
    let lf = req.new_config.last_failover.as_ref().unwrap();
    assert_eq!((lf.name.as_str(), lf.timestamp), ("t1", wall(20)));
    let h = req.history.as_ref().unwrap();
    assert_eq!(
        h.start_time,
        wall(0),
        "the sort key is requestedAt, so a retry cannot add one"
    );
    assert_eq!(h.status, "SUCCESS");
    assert_eq!((h.downtime, h.duration), (Some(6), Some(20)));
    assert_eq!(
        (h.mode.as_deref(), h.initiator.as_deref()),
        (Some("CONSISTENCY"), Some("alice"))
    );
}

#[test]
fn the_target_does_not_finish_before_activating_under_the_current_epoch() {
    let l = lock("b", "tok", 30);
    let mut sn = with_lock(moving(Consistency, TargetActivating), &l);
    sn.config.version = 6;
    for p in [
        progress(true, 5),
        progress(false, 6),
        LocalProgress::unknown(),
    ] {
        let f = LocalFacts {
            progress: p,
            ..holding("b", 20, &l)
        };
        let d = decide(&sn, &seen(&sn, &[20]), &f);
        assert_eq!(names(&d), ["renew-lock"]);
        assert!(d.notes[0].to_string().contains("finish activating"));
    }
}

#[test]
fn a_flip_without_acknowledgement_finishes_as_forced_complete_with_unknown_downtime() {
    let l = lock("b", "tok", 30);
    let mut sn = with_lock(moving(Consistency, TargetActivating), &l);
    sn.config.transition.as_mut().unwrap().force = true;
    let f = LocalFacts {
        progress: progress(true, 5),
        ..holding("b", 20, &l)
    };
    let d = decide(&sn, &seen(&sn, &[20]), &f);
    let h = guarded(&d.writes[1]).unwrap().history.clone().unwrap();
    assert_eq!((h.status.as_str(), h.downtime), ("FORCED_COMPLETE", None));
}

#[test]
fn uptime_activates_the_target_then_flips_then_waits_for_the_source() {
    let l = lock("b", "tok", 30);
    let sn = with_lock(moving(Uptime, Requested), &l);
    let d = decide(&sn, &seen(&sn, &[0]), &holding("b", 0, &l));
    let t = guarded(&d.writes[1])
        .unwrap()
        .new_config
        .transition
        .clone()
        .unwrap();
    assert_eq!(t.phase, TargetActivating);

    let sn = with_lock(moving(Uptime, TargetActivating), &l);
    let waiting = decide(&sn, &seen(&sn, &[0]), &holding("b", 0, &l));
    assert_eq!(
        (waiting.role, names(&waiting)),
        (Role::Primary, vec!["renew-lock"])
    );
    let f = LocalFacts {
        progress: progress(true, 5),
        ..holding("b", 10, &l)
    };
    let d = decide(&sn, &seen(&sn, &[10]), &f);
    let c = &guarded(&d.writes[1]).unwrap().new_config;
    assert_eq!(names(&d), ["renew-lock", "flip"]);
    assert_eq!((c.owner_cluster.as_str(), c.epoch), ("b", 6));
    assert_eq!(c.transition.as_ref().unwrap().phase, SourceDeactivating);

    let sn = acked(with_lock(moving(Uptime, SourceDeactivating), &l), "t1");
    let d = decide(&sn, &seen(&sn, &[30]), &holding("b", 30, &l));
    let h = guarded(&d.writes[1]).unwrap().history.clone().unwrap();
    assert_eq!(
        (h.status.as_str(), h.downtime, h.duration),
        ("SUCCESS", Some(0), Some(30))
    );
}

#[test]
fn uptime_with_volume_replications_unforced_is_ended_as_failed_by_the_target() {
    let l = lock("b", "tok", 30);
    let sn = with_lock(moving(Uptime, Requested), &l);
    let f = LocalFacts {
        has_volume_replications: true,
        ..holding("b", 0, &l)
    };
    let d = decide(&sn, &seen(&sn, &[0]), &f);
    assert_eq!(names(&d), ["renew-lock", "finish", "release-lock"]);
    let req = guarded(&d.writes[1]).unwrap();
    let h = req.history.as_ref().unwrap();
    assert_eq!(h.status, "FAILED");
    assert!(h.reason.contains("volume replications"), "{}", h.reason);
    assert_eq!(req.new_config.last_failover, None);
    assert_eq!(req.new_config.owner_cluster, "a");
}

#[test]
fn a_driver_that_lost_its_lock_stops_driving_and_forgets_it() {
    let mine = lock("b", "tok", 30);
    let sn = with_lock(moving(Consistency, Requested), &lock("c", "other", 60));
    let d = decide(&sn, &seen(&sn, &[0]), &holding("b", 0, &mine));
    assert!(d.forget_lock);
    assert!(d.notes.contains(&Note::LockLost));
    assert!(!names(&d).contains(&"advance-phase"));
}

#[test]
fn a_lock_held_with_nothing_to_drive_is_released() {
    let l = lock("b", "tok", 30);
    let sn = with_lock(snap("b", 1), &l);
    let d = decide(&sn, &seen(&sn, &[0]), &holding("b", 0, &l));
    assert_eq!(
        d.writes,
        vec![Intent::ReleaseLock {
            lease_token: "tok".into()
        }]
    );
    assert!(d.read_lock_next);
}

#[test]
fn only_the_target_drives() {
    for (mode, phase) in [(Consistency, Requested), (Uptime, TargetActivating)] {
        let sn = moving(mode, phase);
        for me in ["a", "c"] {
            let d = decide(&sn, &seen(&sn, &[0, 10]), &facts(me, 10));
            assert_eq!(d.writes, vec![], "{me} in {mode} {phase}");
        }
    }
}

#[test]
fn a_target_whose_heartbeats_are_failing_does_not_drive() {
    let l = lock("b", "tok", 30);
    let sn = acked(with_lock(moving(Consistency, SourceDeactivating), &l), "t1");
    let f = LocalFacts {
        heartbeat_sent_at: Some(s(0)),
        ..holding("b", 20, &l)
    };
    let d = decide(&sn, &seen(&sn, &[20]), &f);
    assert_eq!(d.writes, vec![]);
    assert!(
        d.notes[0]
            .to_string()
            .contains("heartbeat writes to succeed")
    );
}
