//! Roles, self-fencing, epochs, acknowledgements and what is reported, phase by phase.

use super::fixtures::*;
use crate::protocol::*;
use crate::store::*;
use FailoverMode::{Consistency, Uptime};
use Phase::{Requested, SourceDeactivating, TargetActivating};

#[test]
fn the_owner_is_primary_with_a_fresh_heartbeat_and_writes_nothing() {
    let sn = snap("a", 1);
    let d = decide(&sn, &seen_for(&sn, 30), &facts("a", 30));
    assert_eq!(d.role, Role::Primary);
    assert_eq!(d.writes, vec![]);
    assert_eq!(d.notes, vec![]);
    assert_eq!(d.report.state, ClusterState::Primary);
    assert!(!d.read_lock_next);
}

#[test]
fn a_standby_is_standby_and_writes_nothing_at_steady_state() {
    let sn = snap("a", 1);
    let d = decide(&sn, &seen(&sn, &[0, 10]), &facts("b", 10));
    assert_eq!((d.role, d.writes.len()), (Role::Standby, 0));
    assert_eq!(d.report.state, ClusterState::Standby);
}

#[test]
fn the_epoch_of_every_decision_is_the_config_version_it_read() {
    let mut sn = snap("a", 1);
    sn.config.version = 42;
    for me in ["a", "b"] {
        assert_eq!(decide(&sn, &seen(&sn, &[0]), &facts(me, 0)).epoch, 42);
    }
}

#[test]
fn the_owner_may_serve_until_its_last_heartbeat_plus_the_serve_window() {
    let sn = snap("a", 1);
    let f = LocalFacts {
        heartbeat_sent_at: Some(s(7)),
        ..facts("a", 10)
    };
    let d = decide(&sn, &seen(&sn, &[10]), &f);
    // 40s heartbeat timeout - 20s margin = 20s after the send.
    assert_eq!((d.role, d.serve_until), (Role::Primary, Some(s(27))));
}

#[test]
fn the_owner_fences_itself_when_its_last_heartbeat_is_older_than_the_serve_window() {
    let sn = snap("a", 1);
    let f = LocalFacts {
        heartbeat_sent_at: Some(s(10)),
        ..facts("a", 30)
    };
    let d = decide(&sn, &seen(&sn, &[30]), &f);
    assert_eq!((d.role, d.serve_until), (Role::Fenced, None));
    assert!(d.report.fenced);
    assert_eq!(d.report.state, ClusterState::Primary);
    assert!(matches!(d.notes[0], Note::Fenced { silent_for: Some(x), .. } if x == s(20)));
    assert!(d.notes[0].to_string().contains("fenced"));
}

#[test]
fn an_owner_that_never_wrote_a_heartbeat_is_fenced() {
    let sn = snap("a", 1);
    let f = LocalFacts {
        heartbeat_sent_at: None,
        ..facts("a", 0)
    };
    assert_eq!(decide(&sn, &seen(&sn, &[0]), &f).role, Role::Fenced);
}

#[test]
fn the_owner_unfences_when_a_heartbeat_succeeds_again_and_config_still_names_it() {
    let sn = snap("a", 1);
    let stale = LocalFacts {
        heartbeat_sent_at: Some(s(0)),
        ..facts("a", 100)
    };
    assert_eq!(decide(&sn, &seen(&sn, &[100]), &stale).role, Role::Fenced);
    let fresh = facts("a", 110);
    assert_eq!(decide(&sn, &seen(&sn, &[110]), &fresh).role, Role::Primary);
    let moved = snap("b", 1);
    assert_eq!(
        decide(&moved, &seen(&moved, &[110]), &fresh).role,
        Role::Standby
    );
}

#[test]
fn self_fencing_off_in_config_keeps_a_silent_owner_primary_without_a_deadline() {
    let mut sn = snap("a", 1);
    sn.config.self_fencing = false;
    let f = LocalFacts {
        heartbeat_sent_at: None,
        ..facts("a", 500)
    };
    let d = decide(&sn, &seen(&sn, &[500]), &f);
    assert_eq!((d.role, d.serve_until), (Role::Primary, None));
}

/// The rule is CONFIG's, the same for every cluster: a cluster whose own FailoverGroup says
/// `selfFencing: false` still fences when the table says true (the standbys rely on it), and
/// the reverse.
#[test]
fn the_self_fencing_rule_is_configs_not_the_local_policy() {
    let sn = snap("a", 1);
    let local_off = GroupPolicy {
        self_fencing: false,
        ..GroupPolicy::default()
    };
    let f = LocalFacts {
        heartbeat_sent_at: None,
        ..facts("a", 500)
    };
    let d = step(&local_off, &sn, &seen(&sn, &[500]), &f);
    assert_eq!(d.role, Role::Fenced, "CONFIG says fence");
    let mut off = sn.clone();
    off.config.self_fencing = false;
    let d = step(&GroupPolicy::default(), &off, &seen(&off, &[500]), &f);
    assert_eq!(d.role, Role::Primary, "CONFIG says do not");
}

/// (mode, phase, source's role, target's role, bystander's role).
const PHASE_TABLE: [(FailoverMode, Phase, Role, Role, Role); 6] = [
    (
        Consistency,
        Requested,
        Role::Primary,
        Role::Standby,
        Role::Standby,
    ),
    (
        Consistency,
        SourceDeactivating,
        Role::Standby,
        Role::Standby,
        Role::Standby,
    ),
    (
        Consistency,
        TargetActivating,
        Role::Standby,
        Role::Primary,
        Role::Standby,
    ),
    (
        Uptime,
        Requested,
        Role::Primary,
        Role::Standby,
        Role::Standby,
    ),
    (
        Uptime,
        TargetActivating,
        Role::Primary,
        Role::Primary,
        Role::Standby,
    ),
    (
        Uptime,
        SourceDeactivating,
        Role::Standby,
        Role::Primary,
        Role::Standby,
    ),
];

#[test]
fn roles_follow_the_phase_table_in_both_modes() {
    for (mode, phase, source, target, other) in PHASE_TABLE {
        let sn = moving(mode, phase);
        let o = seen(&sn, &[0]);
        let got = ["a", "b", "c"].map(|me| decide(&sn, &o, &facts(me, 0)).role);
        assert_eq!(got, [source, target, other], "{mode} {phase}");
    }
}

#[test]
fn the_source_deactivates_when_the_phase_says_so_and_reports_failover() {
    let sn = moving(Consistency, SourceDeactivating);
    let d = decide(&sn, &seen(&sn, &[0]), &facts("a", 0));
    assert_eq!(d.role, Role::Standby);
    assert_eq!(d.role.actions(), crate::k8s::Action::DEACTIVATE);
    assert_eq!(d.report.state, ClusterState::Failover);
    assert_eq!(d.report.ack, None);
    assert!(d.read_lock_next);
}

#[test]
fn the_consistency_target_activates_only_after_the_flip() {
    let before = moving(Consistency, SourceDeactivating);
    let after = moving(Consistency, TargetActivating);
    let b = |sn: &GroupSnapshot| decide(sn, &seen(sn, &[0]), &facts("b", 0));
    assert_eq!(b(&before).role, Role::Standby);
    assert_eq!(b(&after).role, Role::Primary);
    assert_eq!(b(&after).report.state, ClusterState::Failback);
}

#[test]
fn the_uptime_target_activates_before_the_flip_and_is_fenced_like_an_owner() {
    let sn = moving(Uptime, TargetActivating);
    let f = LocalFacts {
        heartbeat_sent_at: Some(s(0)),
        ..facts("b", 50)
    };
    assert_eq!(
        decide(&sn, &seen(&sn, &[50]), &facts("b", 50)).role,
        Role::Primary
    );
    assert_eq!(decide(&sn, &seen(&sn, &[50]), &f).role, Role::Fenced);
}

#[test]
fn the_source_acknowledges_once_deactivated_under_the_current_epoch() {
    let sn = moving(Consistency, SourceDeactivating);
    let f = LocalFacts {
        progress: progress(false, 5),
        ..facts("a", 10)
    };
    let d = decide(&sn, &seen(&sn, &[0, 10]), &f);
    let ack = d.report.ack.expect("an acknowledgement");
    assert_eq!((ack.id.as_str(), ack.at), ("t1", wall(3)));
}

#[test]
fn a_deactivation_under_an_older_epoch_is_not_acknowledged() {
    let sn = moving(Consistency, SourceDeactivating);
    let f = LocalFacts {
        progress: progress(false, 4),
        ..facts("a", 10)
    };
    assert_eq!(decide(&sn, &seen(&sn, &[10]), &f).report.ack, None);
}

#[test]
fn nothing_is_acknowledged_outside_source_deactivating() {
    for phase in [Requested, TargetActivating] {
        let sn = moving(Consistency, phase);
        let f = LocalFacts {
            progress: progress(false, 5),
            ..facts("a", 10)
        };
        assert_eq!(
            decide(&sn, &seen(&sn, &[10]), &f).report.ack,
            None,
            "{phase}"
        );
    }
}

#[test]
fn a_malformed_transition_is_refused_and_roles_follow_ownership() {
    type Spoil = fn(&mut GroupSnapshot);
    let cases: [(&str, Spoil); 4] = [
        ("source and target are both", |sn| {
            sn.config.transition.as_mut().unwrap().target = "a".into();
        }),
        ("neither its source", |sn| {
            sn.config.owner_cluster = "c".into()
        }),
        ("no heartbeat record", |sn| {
            sn.clusters.retain(|c| c.cluster_name != "b")
        }),
        ("does not match ownership", |sn| {
            sn.config.transition.as_mut().unwrap().phase = TargetActivating;
        }),
    ];
    for (want, spoil) in cases {
        let mut sn = moving(Consistency, SourceDeactivating);
        spoil(&mut sn);
        let o = seen(&sn, &[0]);
        let owner = sn.config.owner_cluster.clone();
        for me in ["a", "b", "c"] {
            let d = decide(&sn, &o, &facts(me, 0));
            let expected = if me == owner {
                Role::Primary
            } else {
                Role::Standby
            };
            assert_eq!(d.role, expected, "{want}: {me}");
            assert_eq!(d.writes, vec![], "{want}: {me} drives nothing");
            let text = d.notes.iter().map(ToString::to_string).collect::<String>();
            assert!(text.contains(want), "{want}: {text}");
        }
    }
}

#[test]
fn invalid_timeouts_refuse_every_write_and_keep_the_roles_config_gives() {
    let mut sn = moving(Consistency, Requested);
    sn.config.heartbeat_interval = s(30).into();
    let f = LocalFacts {
        heartbeat_sent_at: None,
        ..facts("b", 0)
    };
    let d = decide(&sn, &seen(&sn, &[0]), &f);
    assert_eq!((d.role, d.writes.len()), (Role::Standby, 0));
    assert!(matches!(
        &d.notes[0],
        Note::Refused(Refusal::InvalidTimings(_))
    ));
    let owner = decide(&sn, &seen(&sn, &[0]), &facts("a", 0));
    assert_eq!((owner.role, owner.serve_until), (Role::Primary, None));
}

#[test]
fn hold_keeps_the_role_without_writes_and_fences_once_the_deadline_passes() {
    let sn = moving(Consistency, Requested);
    let d = decide(&sn, &seen(&sn, &[10]), &facts("a", 10));
    assert_eq!(d.serve_until, Some(s(29)));
    let early = d.hold(s(20));
    assert_eq!((early.role, early.writes.len()), (Role::Primary, 0));
    let late = d.hold(s(29));
    assert_eq!(late.role, Role::Fenced);
    assert!(late.report.fenced);
    let standby = decide(&sn, &seen(&sn, &[10]), &facts("c", 10)).hold(s(1000));
    assert_eq!(standby.role, Role::Standby);
}

#[test]
fn the_same_inputs_always_give_the_same_decision() {
    for (mode, phase, ..) in PHASE_TABLE {
        let sn = moving(mode, phase);
        let o = seen_for(&sn, 200);
        for me in ["a", "b", "c"] {
            let f = facts(me, 200);
            assert_eq!(decide(&sn, &o, &f), decide(&sn, &o, &f));
        }
    }
}
