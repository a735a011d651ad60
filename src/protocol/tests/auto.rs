//! Automatic failover: when a standby requests one, to which target, and what blocks it.

use super::fixtures::*;
use crate::protocol::*;
use crate::store::*;

/// Observations where a stays at heartbeat 1 while b and c keep beating, from 0s to `until`.
fn owner_silent(until: u64) -> (GroupSnapshot, Observations) {
    let mut o = Observations::default();
    let mut sn = snap("a", 1);
    for i in 0..=until / 10 {
        for c in &mut sn.clusters[1..] {
            c.heartbeat_seq = Some(i + 2);
        }
        o.observe(&sn, false, s(i * 10));
    }
    (sn, o)
}

#[test]
fn a_standby_does_not_fail_over_before_observing_a_full_timeout() {
    let (sn, o) = owner_silent(30);
    let d = decide(&sn, &o, &facts("b", 39));
    assert_eq!((d.writes.len(), d.notes.len()), (0, 0));
}

#[test]
fn a_standby_requests_a_forced_automatic_consistency_failover_when_the_owner_is_silent() {
    let (sn, o) = owner_silent(40);
    let d = decide(&sn, &o, &facts("c", 40));
    let [
        Intent::StartTransition {
            expected_version,
            config,
        },
    ] = d.writes.as_slice()
    else {
        panic!("{:?}", d.writes)
    };
    assert_eq!(*expected_version, 5);
    let t = config.transition.as_ref().unwrap();
    assert_eq!((t.source.as_str(), t.target.as_str()), ("a", "b"));
    assert_eq!(
        (t.mode, t.force, t.automatic),
        (FailoverMode::Consistency, true, true)
    );
    assert_eq!((t.id.as_str(), t.initiator.as_str()), ("auto-1", "c"));
    assert_eq!((t.phase, t.requested_at), (Phase::Requested, wall(40)));
    assert!(
        t.reason.contains("heartbeat unchanged for 40s"),
        "{}",
        t.reason
    );
    assert!(matches!(&d.notes[0], Note::AutomaticFailover { target, .. } if target == "b"));
}

#[test]
fn an_agent_that_just_started_waits_a_full_timeout_even_if_the_owner_is_long_dead() {
    let sn = snap("a", 1);
    assert_eq!(
        decide(&sn, &seen(&sn, &[1000, 1039]), &facts("b", 1039)).writes,
        vec![]
    );
}

/// Observations of a group whose clusters all beat every 10s from 0s to `until`, the owner a
/// reporting ERROR from `error_from` on.
fn owner_failing(error_from: u64, until: u64) -> (GroupSnapshot, Observations) {
    let mut sn = snap("a", 1);
    let mut o = Observations::default();
    for i in 0..=until / 10 {
        if i * 10 >= error_from {
            sn.clusters[0].health = Health::Error;
        }
        for c in &mut sn.clusters {
            c.heartbeat_seq = Some(i + 2);
        }
        o.observe(&sn, false, s(i * 10));
    }
    (sn, o)
}

#[test]
fn an_owner_reporting_error_for_unhealthy_primary_is_failed_over() {
    // Observed for longer than the cool-down (5 x 40s) before the owner starts failing.
    let (sn, o) = owner_failing(210, 240);
    let early = decide(&sn, &o, &facts("b", 239));
    assert_eq!(early.writes, vec![]);
    let d = decide(&sn, &o, &facts("b", 240));
    let Intent::StartTransition { config, .. } = &d.writes[0] else {
        panic!("{:?}", d.writes)
    };
    let reason = &config.transition.as_ref().unwrap().reason;
    assert!(reason.contains("reported ERROR for 30s"), "{reason}");
}

#[test]
fn a_restarted_agent_waits_the_cool_down_before_failing_over_an_unhealthy_owner() {
    // The agent has only been watching for 30s: a handover may have happened just before it
    // started, so a failing (but living) owner is not failed over yet — no ping-pong after a
    // restart.
    let (sn, o) = owner_failing(0, 30);
    let d = decide(&sn, &o, &facts("b", 30));
    assert_eq!(d.writes, vec![]);
    assert!(
        d.notes.iter().any(|n| n.to_string().contains("cool-down")),
        "{:?}",
        d.notes
    );
    let (sn, o) = owner_failing(0, 200);
    let d = decide(&sn, &o, &facts("b", 200));
    assert!(
        matches!(d.writes.as_slice(), [Intent::StartTransition { .. }]),
        "{:?}",
        d.writes
    );
}

#[test]
fn a_restarted_agent_still_fails_over_a_dead_owner_after_one_timeout() {
    let (sn, o) = owner_silent(40);
    let d = decide(&sn, &o, &facts("b", 40));
    assert!(
        matches!(d.writes.as_slice(), [Intent::StartTransition { .. }]),
        "{:?}",
        d.writes
    );
}

#[test]
fn suspension_blocks_automatic_failover_with_a_note() {
    let (mut sn, o) = owner_silent(40);
    sn.config.suspended = true;
    sn.config.suspension_reason = Some("maintenance".into());
    let d = decide(&sn, &o, &facts("b", 40));
    assert_eq!(d.writes, vec![]);
    assert!(d.notes[0].to_string().contains("suspended (maintenance)"));
}

#[test]
fn the_cooldown_blocks_automatic_failover_after_a_handover() {
    let mut o = Observations::default();
    let mut sn = snap("c", 1);
    o.observe(&sn, false, s(0));
    sn.config.owner_cluster = "a".into();
    sn.config.epoch = 6;
    sn.config.version = 6;
    // a, handed the group at 10s, serves (heartbeats) until 70s, then goes silent: a cluster
    // that served after the handover is held back by the cool-down (no ping-pong).
    for t in (10..=110u64).step_by(10) {
        if t <= 70 {
            sn.clusters[0].heartbeat_seq = Some(t);
        }
        sn.clusters[1].heartbeat_seq = Some(t + 2);
        sn.clusters[2].heartbeat_seq = Some(t + 2);
        o.observe(&sn, false, s(t));
    }
    let d = decide(&sn, &o, &facts("b", 110));
    assert_eq!(d.writes, vec![]);
    let Note::FailoverBlocked { blocked, .. } = &d.notes[0] else {
        panic!("{:?}", d.notes)
    };
    assert_eq!(*blocked, Blocked::Cooldown { remaining: s(100) });
    let policy = GroupPolicy {
        cooldown: Some(s(30)),
        ..GroupPolicy::default()
    };
    assert_eq!(step(&policy, &sn, &o, &facts("b", 110)).writes.len(), 1);
}

/// An owner silent since (or within `timeouts.heartbeat` of) the handover never served: the
/// cool-down would only leave the group unserved, so it does not apply.
#[test]
fn an_owner_silent_since_the_handover_is_failed_over_without_the_cooldown() {
    let mut o = Observations::default();
    let mut sn = snap("c", 1);
    o.observe(&sn, false, s(0));
    sn.config.owner_cluster = "a".into();
    sn.config.epoch = 6;
    sn.config.version = 6;
    for t in (10..=50u64).step_by(10) {
        sn.clusters[1].heartbeat_seq = Some(t + 2);
        sn.clusters[2].heartbeat_seq = Some(t + 2);
        o.observe(&sn, false, s(t));
    }
    let d = decide(&sn, &o, &facts("b", 50));
    assert_eq!(names(&d), ["start-transition"], "{:?}", d.notes);
}

/// (health of b, health of c, preference, expected target).
#[test]
fn the_best_target_is_healthy_then_preferred_then_first_by_name() {
    use Health::{Degraded, Error, Ok};
    let cases: [(Health, Health, &[&str], Option<&str>); 6] = [
        (Ok, Ok, &[], Some("b")),
        (Ok, Ok, &["c"], Some("c")),
        (Degraded, Ok, &["b"], Some("c")),
        (Degraded, Degraded, &["c", "b"], Some("c")),
        (Error, Degraded, &["b"], Some("c")),
        (Error, Error, &[], None),
    ];
    for (hb, hc, pref, want) in cases {
        let (mut sn, mut o) = owner_silent(30);
        sn.clusters[1].health = hb;
        sn.clusters[2].health = hc;
        o.observe(&sn, false, s(40));
        let policy = GroupPolicy {
            preference: pref.iter().map(ToString::to_string).collect(),
            ..GroupPolicy::default()
        };
        let d = step(&policy, &sn, &o, &facts("b", 40));
        let got = d.writes.first().map(|w| match w {
            Intent::StartTransition { config, .. } => config.transition.clone().unwrap().target,
            other => panic!("{other:?}"),
        });
        assert_eq!(got.as_deref(), want, "{hb} {hc} {pref:?}");
        if want.is_none() {
            assert!(
                d.notes[0]
                    .to_string()
                    .contains("no standby is healthy and alive")
            );
        }
    }
}

#[test]
fn a_stale_standby_is_never_chosen() {
    let (mut sn, mut o) = owner_silent(40);
    // c stops beating at 40s; at 80s a has been silent for 80s and c for 40s.
    for t in [50u64, 60, 70, 80] {
        sn.clusters[1].heartbeat_seq = Some(t);
        o.observe(&sn, false, s(t));
    }
    let policy = GroupPolicy {
        preference: vec!["c".into()],
        ..GroupPolicy::default()
    };
    let d = step(&policy, &sn, &o, &facts("c", 80));
    let Intent::StartTransition { config, .. } = &d.writes[0] else {
        panic!("{:?}", d.writes)
    };
    assert_eq!(config.transition.as_ref().unwrap().target, "b");
}

#[test]
fn an_owner_without_a_record_is_not_presumed_dead() {
    let mut sn = snap("z", 1);
    sn.config.owner_cluster = "z".into();
    let d = decide(&sn, &seen(&sn, &[0, 40]), &facts("b", 40));
    assert_eq!(d.writes, vec![]);
    assert!(matches!(
        &d.notes[0],
        Note::Refused(Refusal::OwnerUnknown { .. })
    ));
}

#[test]
fn the_owner_never_fails_itself_over() {
    let (sn, o) = owner_silent(100);
    let d = decide(&sn, &o, &facts("a", 100));
    assert_eq!(d.writes, vec![]);
}
