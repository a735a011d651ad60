use super::*;
use crate::store::{FailoverMode, GroupConfig, Phase, Transition};

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
}

fn gid() -> GroupId {
    GroupId::new("shop", "web").unwrap()
}

fn snapshot(transition: Option<&str>) -> GroupSnapshot {
    let mut config = GroupConfig::new("op", gid(), "east", t(0));
    config.transition = transition.map(|id| Transition {
        id: id.into(),
        source: "east".into(),
        target: "west".into(),
        mode: FailoverMode::Consistency,
        force: false,
        automatic: false,
        reason: "r".into(),
        initiator: "failover/shop/move".into(),
        phase: Phase::TargetActivating,
        requested_at: t(1),
        source_stopped_at: None,
        drill: false,
    });
    GroupSnapshot {
        config,
        clusters: Vec::new(),
        lock: None,
    }
}

fn record(id: &str, status: &str) -> HistoryRecord {
    HistoryRecord {
        failover_name: id.into(),
        source_cluster: "east".into(),
        target_cluster: "west".into(),
        start_time: t(1),
        end_time: Some(t(13)),
        status: status.into(),
        reason: "stuck".into(),
        downtime: Some(4),
        duration: Some(12),
        mode: Some("CONSISTENCY".into()),
        automatic: Some(false),
        initiator: None,
        drill: false,
    }
}

#[test]
fn the_failover_s_own_transition_in_flight_shows_its_phase() {
    let p = observed(&gid(), "move-1234", &snapshot(Some("move-1234")), &[]).unwrap();
    assert_eq!(p.status, GroupFailoverStatus::InProgress);
    assert_eq!(p.phase, Some(Phase::TargetActivating));
    assert_eq!(p.start_time, Some(t(1)));
}

#[test]
fn another_transition_in_flight_or_another_history_record_is_not_this_failover_s() {
    let history = [record("other", "SUCCESS")];
    assert_eq!(
        observed(&gid(), "move-1234", &snapshot(Some("other")), &history),
        None
    );
}

#[test]
fn an_ended_transition_shows_its_outcome_duration_and_downtime_from_history() {
    let history = [record("x", "SUCCESS"), record("move-1234", "ROLLED_BACK")];
    let p = observed(&gid(), "move-1234", &snapshot(None), &history).unwrap();
    assert_eq!(p.status, GroupFailoverStatus::RolledBack);
    assert_eq!(p.duration.as_deref(), Some("12s"));
    assert_eq!(p.downtime.as_deref(), Some("4s"));
    assert_eq!(p.end_time, Some(t(13)));
    assert!(p.message.contains("stuck"), "{}", p.message);
}

#[test]
fn a_refusal_is_final_and_an_accepted_request_is_in_progress() {
    let refused_outcome = PromoteOutcome::UnknownTarget {
        group: gid(),
        target: "south".into(),
        known: vec!["east".into(), "west".into()],
    };
    let p = from_outcome(&gid(), "move-1234", &refused_outcome, t(5));
    assert_eq!(p.status, GroupFailoverStatus::Refused);
    assert!(is_terminal(p.status));
    assert!(p.message.contains("south"), "{}", p.message);

    let already = PromoteOutcome::AlreadyPrimary {
        group: gid(),
        cluster: "west".into(),
    };
    assert_eq!(
        from_outcome(&gid(), "move-1234", &already, t(5)).status,
        GroupFailoverStatus::AlreadyPrimary
    );
}

#[test]
fn finding_its_own_id_in_flight_is_progress_not_a_refusal() {
    let outcome = PromoteOutcome::TransitionInFlight {
        group: gid(),
        id: "move-1234".into(),
        source: "east".into(),
        target: "west".into(),
        phase: Phase::Requested,
    };
    let p = from_outcome(&gid(), "move-1234", &outcome, t(5));
    assert_eq!(p.status, GroupFailoverStatus::InProgress);
    let p = from_outcome(&gid(), "another", &outcome, t(5));
    assert_eq!(p.status, GroupFailoverStatus::Refused);
}

#[test]
fn the_failover_phase_follows_its_groups() {
    let with = |s: &[GroupFailoverStatus]| -> Vec<GroupProgress> {
        s.iter()
            .map(|st| GroupProgress {
                status: *st,
                ..refused("g", String::new(), t(0))
            })
            .collect()
    };
    use GroupFailoverStatus as G;
    assert_eq!(overall(&with(&[])), FailoverPhase::Pending);
    assert_eq!(overall(&with(&[G::Pending])), FailoverPhase::Pending);
    assert_eq!(
        overall(&with(&[G::Success, G::InProgress])),
        FailoverPhase::InProgress
    );
    assert_eq!(
        overall(&with(&[G::Success, G::AlreadyPrimary])),
        FailoverPhase::Succeeded
    );
    assert_eq!(
        overall(&with(&[G::Success, G::Refused])),
        FailoverPhase::Failed
    );
    assert_eq!(
        complete_condition(FailoverPhase::Failed, Some(1), t(0)).status,
        ConditionStatus::True
    );
}
