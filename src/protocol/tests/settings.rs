//! Changing settings while the group runs: a cluster brings its edited FailoverGroup into CONFIG
//! (`sync_spec`), takeovers wait for the longer of the old and new windows until the owner has
//! read the change, and the owner acknowledges it. Fixture timings: interval 10s, heartbeat
//! 40s, deactivation 0s.

use super::fixtures::*;
use crate::protocol::settings::{SpecSync, spec_text, sync_spec};
use crate::protocol::*;
use crate::store::*;
use FailoverMode::Consistency;
use Phase::SourceDeactivating;

/// A spec like the fixtures' CONFIG with `timeouts.heartbeat` set to `heartbeat` seconds.
fn spec_with_heartbeat(heartbeat: u64) -> GroupConfig {
    let mut spec = config("a");
    spec.timeouts.heartbeat = s(heartbeat).into();
    spec.timeouts.transitory_state = s(300).into();
    spec
}

/// CONFIG as it is once `me` has recorded `spec` as applied.
fn recorded(mut table: GroupConfig, me: &str, spec: &GroupConfig) -> GroupConfig {
    table.applied_specs.insert(me.into(), spec_text(spec));
    table
}

fn written(sync: SpecSync) -> (GroupConfig, bool) {
    match sync {
        SpecSync::Write { config, changed } => (*config, changed),
        other => panic!("expected a write, got {other:?}"),
    }
}

#[test]
fn on_first_sight_the_table_wins_and_the_spec_is_only_recorded() {
    let table = config("a");
    let (next, changed) = written(sync_spec(&table, &spec_with_heartbeat(80), "b", wall(1)));
    assert!(!changed);
    assert_eq!(next.timeouts.heartbeat.get(), s(40), "CONFIG's value kept");
    assert_eq!(next.superseded, None);
    assert!(next.applied_specs["b"].contains("heartbeat=1m20s"));
    // Recorded: nothing more to write, although the spec still differs (status reports it).
    assert_eq!(
        sync_spec(&next, &spec_with_heartbeat(80), "b", wall(2)),
        SpecSync::InSync
    );
}

#[test]
fn an_edited_spec_is_brought_in_and_the_replaced_safety_settings_are_kept() {
    let before = config("a");
    let table = recorded(before.clone(), "b", &before);
    let (next, changed) = written(sync_spec(&table, &spec_with_heartbeat(80), "b", wall(1)));
    assert!(changed);
    assert_eq!(next.timeouts.heartbeat.get(), s(80));
    assert_eq!(next.timeouts.transitory_state.get(), s(300));
    assert_eq!(next.superseded, Some(before.safety()));
    assert_eq!(next.version, table.version, "the compare-and-set adds one");
    // Another cluster whose spec did not change does not undo it.
    let other = recorded(next.clone(), "c", &before);
    assert_eq!(sync_spec(&other, &before, "c", wall(2)), SpecSync::InSync);
}

#[test]
fn a_change_of_timeouts_that_are_not_safety_settings_supersedes_nothing() {
    let before = config("a");
    let table = recorded(before.clone(), "b", &before);
    let mut spec = before.clone();
    spec.timeouts.unhealthy_primary = s(90).into();
    let (next, changed) = written(sync_spec(&table, &spec, "b", wall(1)));
    assert!(changed);
    assert_eq!(next.timeouts.unhealthy_primary.get(), s(90));
    assert_eq!(next.superseded, None);
}

#[test]
fn a_second_change_before_the_acknowledgement_keeps_the_longest_window_and_fences_only_if_both_did()
{
    // 40s -> 100s (unacknowledged) -> 60s: the owner runs with 40s or 100s, so 100s is kept.
    let before = config("a");
    let table = recorded(before.clone(), "b", &before);
    let (first, _) = written(sync_spec(&table, &spec_with_heartbeat(100), "b", wall(1)));
    let mut spec = spec_with_heartbeat(60);
    spec.self_fencing = false;
    let (second, _) = written(sync_spec(&first, &spec, "b", wall(2)));
    let kept = second.superseded.expect("still unacknowledged");
    assert_eq!(kept.heartbeat.get(), s(100));
    assert!(kept.self_fencing);
    assert!(!second.fencing_assured(), "the new setting does not fence");
    let t = GroupPolicy::default().timings(&second).unwrap();
    assert_eq!(t.takeover_silence(), s(100));
}

#[test]
fn a_spec_edited_during_a_transition_waits_for_its_end() {
    let before = config("a");
    let mut table = recorded(before.clone(), "b", &before);
    table.transition = Some(transition("a", "b", Consistency, SourceDeactivating));
    assert_eq!(
        sync_spec(&table, &spec_with_heartbeat(80), "b", wall(1)),
        SpecSync::AfterTransition
    );
}

/// The fixtures' group whose heartbeat was lowered from 80s to 40s, not yet acknowledged.
fn lowered(mut sn: GroupSnapshot) -> GroupSnapshot {
    let mut old = sn.config.safety();
    old.heartbeat = s(80).into();
    sn.config.superseded = Some(old);
    sn
}

#[test]
fn a_forced_flip_waits_for_the_old_window_until_the_owner_has_read_a_lowered_heartbeat() {
    let l = lock("b", "tok", 30);
    let mut sn = lowered(moving(Consistency, SourceDeactivating));
    sn.lock = Some(l.clone());
    sn.config.transition.as_mut().unwrap().force = true;
    // a was cut off before the change: it serves until its last heartbeat + 80s - 20s.
    let d = decide(&sn, &seen(&sn, &[0, 79]), &holding("b", 79, &l));
    assert_eq!(
        names(&d),
        ["renew-lock"],
        "40s (the new timeout) is not enough"
    );
    let d = decide(&sn, &seen(&sn, &[0, 80]), &holding("b", 80, &l));
    assert_eq!(names(&d), ["renew-lock", "flip"]);
}

#[test]
fn a_planned_transition_s_silent_source_stands_in_only_if_old_and_new_settings_both_fence() {
    let l = lock("b", "tok", 30);
    let mut sn = moving(Consistency, SourceDeactivating);
    sn.lock = Some(l.clone());
    let mut old = sn.config.safety();
    old.self_fencing = false;
    sn.config.superseded = Some(old);
    let d = decide(&sn, &seen(&sn, &[0, 50]), &holding("b", 50, &l));
    assert_eq!(
        names(&d),
        ["renew-lock"],
        "the owner may not fence: wait for its ack"
    );
    // Acknowledged (or never changed): the silence stands in.
    sn.config.superseded = None;
    let d = decide(&sn, &seen(&sn, &[0, 50]), &holding("b", 50, &l));
    assert_eq!(names(&d), ["renew-lock", "flip"]);
}

#[test]
fn the_owner_acknowledges_changed_settings_and_nobody_else_does() {
    let sn = lowered(snap("a", 1));
    let o = seen(&sn, &[0, 10]);
    let d = decide(&sn, &o, &facts("a", 10));
    assert_eq!(names(&d), ["acknowledge-settings"]);
    let Intent::AcknowledgeSettings {
        expected_version,
        config,
    } = &d.writes[0]
    else {
        panic!("{:?}", d.writes);
    };
    assert_eq!(*expected_version, 5);
    assert_eq!(config.superseded, None);
    assert_eq!(config.timeouts.heartbeat.get(), s(40));
    // Under the new settings already: its serve window is 40s - 20s from its last heartbeat.
    assert_eq!(d.serve_until, Some(s(9 + 20)));
    for other in ["b", "c"] {
        assert!(
            names(&decide(&sn, &o, &facts(other, 10))).is_empty(),
            "{other}"
        );
    }
}

#[test]
fn a_fenced_owner_does_not_acknowledge() {
    let sn = lowered(snap("a", 1));
    let f = LocalFacts {
        heartbeat_sent_at: Some(s(0)),
        ..facts("a", 30)
    };
    let d = decide(&sn, &seen(&sn, &[0, 30]), &f);
    assert_eq!(d.role, Role::Fenced);
    assert!(names(&d).is_empty());
}
