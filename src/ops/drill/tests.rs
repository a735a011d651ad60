//! The drill's plan, checks, timeline, verdict, Ctrl-C rules and renderers.

use super::*;
use crate::store::{
    ClusterState, ClusterStatus, FailoverMode, GroupConfig, GroupId, GroupSnapshot, Health,
    HistoryRecord, Phase, Transition,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

pub(super) fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub(super) fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub(super) fn web() -> GroupId {
    GroupId::new("shop", "web").unwrap()
}

pub(super) fn cluster(name: &str, health: Health, seq: u64) -> ClusterStatus {
    ClusterStatus {
        cluster_name: name.into(),
        health,
        state: ClusterState::Standby,
        last_heartbeat: Some(t0()),
        heartbeat_seq: Some(seq),
        components: BTreeMap::new(),
        ack: None,
        fenced: false,
    }
}

pub(super) fn snapshot(target_health: Health) -> GroupSnapshot {
    let mut config = GroupConfig::new("op", web(), "east", t0());
    config.timeouts.heartbeat = secs(60).into();
    config.timeouts.deactivation = secs(5).into();
    GroupSnapshot {
        config,
        clusters: vec![
            cluster("east", Health::Ok, 10),
            cluster("west", target_health, 20),
        ],
        lock: None,
    }
}

pub(super) fn plan(hold: Duration) -> DrillPlan {
    DrillPlan {
        to: "west".into(),
        mode: FailoverMode::Consistency,
        groups: vec![GroupPlan {
            group: "shop/web".into(),
            from: "east".into(),
            bound: secs(65),
        }],
        hold,
        timeout: secs(600),
    }
}

pub(super) fn transition(phase: Phase, stopped: Option<DateTime<Utc>>) -> Transition {
    Transition {
        id: "drill-west-1".into(),
        source: "east".into(),
        target: "west".into(),
        mode: FailoverMode::Consistency,
        force: false,
        automatic: false,
        reason: "failover drill".into(),
        initiator: "alice".into(),
        phase,
        requested_at: t0(),
        source_stopped_at: stopped,
        drill: true,
    }
}

pub(super) fn record(id: &str, status: &str, downtime: Option<u64>) -> HistoryRecord {
    HistoryRecord {
        failover_name: id.into(),
        source_cluster: "east".into(),
        target_cluster: "west".into(),
        start_time: t0(),
        end_time: Some(t0() + chrono::Duration::milliseconds(4_900)),
        status: status.into(),
        reason: "failover drill".into(),
        downtime,
        duration: Some(5),
        mode: Some("CONSISTENCY".into()),
        automatic: Some(false),
        initiator: Some("alice".into()),
        drill: true,
    }
}

/// A timeline: REQUESTED at 0.1s, SOURCE_DEACTIVATING at 0.6s, TARGET_ACTIVATING at 2.6s,
/// ended at 4.9s.
pub(super) fn seen() -> Timeline {
    let mut tl = Timeline::default();
    tl.saw(
        &transition(Phase::Requested, None),
        Duration::from_millis(100),
    );
    tl.saw(
        &transition(Phase::Requested, None),
        Duration::from_millis(400),
    );
    tl.saw(
        &transition(Phase::SourceDeactivating, None),
        Duration::from_millis(600),
    );
    let stopped = Some(t0() + chrono::Duration::milliseconds(2_000));
    tl.saw(
        &transition(Phase::TargetActivating, stopped),
        Duration::from_millis(2_600),
    );
    tl.end(Duration::from_millis(4_900));
    tl
}

pub(super) fn a_move(leg: Leg, end: MoveEnd, history: Option<&HistoryRecord>) -> MoveReport {
    let p = plan(Duration::ZERO);
    let (source, target) = match leg {
        Leg::Out => ("east", "west"),
        Leg::Back => ("west", "east"),
    };
    MoveReport::new(MoveFacts {
        plan: &p.groups[0],
        leg,
        source,
        target,
        id: history.map(|h| h.failover_name.clone()),
        end,
        timeline: &seen(),
        history,
    })
}

pub(super) fn passing_report() -> DrillReport {
    let mut r = DrillReport::new(plan(secs(5)), false, t0());
    r.checks = assess(&snapshot(Health::Ok), "west", &PromoteCheck::Go);
    let out = record("drill-west-1", "SUCCESS", Some(3));
    let back = record("drill-east-1", "SUCCESS", Some(2));
    r.moves = vec![
        a_move(Leg::Out, MoveEnd::Moved, Some(&out)),
        a_move(Leg::Back, MoveEnd::Moved, Some(&back)),
    ];
    r.held = Some(secs(5));
    r.finish(t0() + chrono::Duration::seconds(15));
    r
}

#[test]
fn the_plan_names_the_route_the_hold_and_the_bound() {
    let p = plan(secs(300));
    assert_eq!(p.route(), "east -> west -> east");
    let steps = p.steps();
    assert_eq!(steps.len(), 5, "{steps:#?}");
    assert!(steps[1].contains("move shop/web to west"), "{steps:#?}");
    assert!(steps[2].starts_with("hold 5m00s on west"), "{steps:#?}");
    assert!(steps[3].starts_with("fail back to east"), "{steps:#?}");
    assert!(steps[4].contains("within 65s"), "{steps:#?}");
    assert_eq!(plan(Duration::ZERO).steps().len(), 4, "no hold step");

    let s = snapshot(Health::Ok);
    assert_eq!(downtime_bound(&s.config, None), secs(65));
    assert_eq!(downtime_bound(&s.config, Some(secs(10))), secs(10));
    let clock = crate::clock::ManualClock::starting_at(t0());
    assert!(drill_id("west", &clock).starts_with("drill-west-20261206-120000-"));
}

#[test]
fn a_healthy_group_passes_every_check_and_a_suspended_one_is_refused_with_the_fix() {
    let checks = assess(&snapshot(Health::Ok), "west", &PromoteCheck::Go);
    assert!(checks.iter().all(|c| c.ok), "{checks:#?}");
    let names: Vec<&str> = checks.iter().map(|c| c.check.as_str()).collect();
    assert_eq!(
        names,
        [
            "group",
            "not suspended",
            "planned failover",
            "owner health",
            "target health"
        ]
    );

    let mut s = snapshot(Health::Ok);
    s.config.suspended = true;
    s.config.suspension_reason = Some("db migration".into());
    let checks = assess(&s, "west", &PromoteCheck::Go);
    let bad: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    assert_eq!(bad.len(), 1, "{checks:#?}");
    assert!(
        bad[0].detail.contains("suspended (db migration)"),
        "{bad:?}"
    );
    assert!(
        bad[0].detail.contains("kubectl failover resume shop/web"),
        "{bad:?}"
    );
}

#[test]
fn a_sick_target_a_missing_one_or_the_owner_as_target_fail_their_checks() {
    let checks = assess(&snapshot(Health::Degraded), "west", &PromoteCheck::Go);
    let bad: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].check, "target health");
    assert!(bad[0].detail.contains("west reports DEGRADED"), "{bad:?}");

    let checks = assess(
        &snapshot(Health::Ok),
        "north",
        &PromoteCheck::Refused("cluster \"north\" is not part of shop/web".into()),
    );
    let bad: Vec<&str> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.check.as_str())
        .collect();
    assert_eq!(bad, ["planned failover", "target health"]);

    let checks = assess(&snapshot(Health::Ok), "east", &PromoteCheck::AlreadyThere);
    let bad: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    assert_eq!(bad.len(), 1, "{checks:#?}");
    assert!(bad[0].detail.contains("already served by east"), "{bad:?}");
}

#[test]
fn liveness_is_a_changed_sequence_never_a_timestamp() {
    let before = cluster("west", Health::Ok, 20);
    let mut after = before.clone();
    after.last_heartbeat = Some(t0() + chrono::Duration::seconds(30));
    assert!(!advanced(Some(&before), Some(&after)), "same seq: silent");
    after.heartbeat_seq = Some(21);
    assert!(advanced(Some(&before), Some(&after)));
    let c = heartbeat_check(
        "shop/web",
        "target heartbeat",
        "west",
        Some(&before),
        Some(&after),
        secs(1),
    );
    assert!(c.ok && c.detail.contains("seq 20 -> 21"), "{c:?}");
    let c = heartbeat_check(
        "shop/web",
        "target heartbeat",
        "west",
        Some(&before),
        Some(&before),
        secs(60),
    );
    assert!(!c.ok, "{c:?}");
    assert!(c.detail.contains("did not change in 60s"), "{c:?}");
}

#[test]
fn phases_last_until_the_next_one_seen_and_the_last_until_the_end() {
    let spans = seen().spans();
    let got: Vec<(Phase, Option<u128>)> = spans
        .iter()
        .map(|s| (s.phase, s.duration.map(|d| d.as_millis())))
        .collect();
    assert_eq!(
        got,
        [
            (Phase::Requested, Some(500)),
            (Phase::SourceDeactivating, Some(2_000)),
            (Phase::TargetActivating, Some(2_300)),
        ]
    );
    let mut running = Timeline::default();
    running.saw(&transition(Phase::Requested, None), Duration::ZERO);
    assert_eq!(running.spans()[0].duration, None);
}

#[test]
fn downtime_comes_from_history_else_from_the_sources_stop_to_the_end() {
    let stopped = Some(t0() + chrono::Duration::milliseconds(2_000));
    let with = record("x", "SUCCESS", Some(3));
    let d = timeline::downtime(Some(&with), stopped).unwrap();
    assert_eq!((d.seconds, d.from), (3.0, DowntimeFrom::History));
    let without = record("x", "SUCCESS", None);
    let d = timeline::downtime(Some(&without), stopped).unwrap();
    assert_eq!((d.seconds, d.from), (2.9, DowntimeFrom::StoppedToEnd));
    assert_eq!(timeline::downtime(Some(&without), None), None);
    assert_eq!(timeline::downtime(None, stopped), None);
}

#[test]
fn ctrl_c_stops_before_writing_fails_back_after_and_a_second_one_stops() {
    use OnInterrupt::*;
    assert_eq!(on_interrupt(Stage::BeforeFirstMove, 1), StopNothingDone);
    assert_eq!(on_interrupt(Stage::FirstMove, 1), FailBackAfterMove);
    assert_eq!(on_interrupt(Stage::Hold, 1), FailBackNow);
    assert_eq!(on_interrupt(Stage::FailBack, 1), KeepFailingBack);
    for stage in [Stage::FirstMove, Stage::Hold, Stage::FailBack] {
        assert_eq!(on_interrupt(stage, 2), StopAndReport);
    }

    let t = transition(Phase::TargetActivating, None);
    let running = left_state(&web(), "east", "west", Some(&t));
    assert!(
        running.contains("transition drill-west-1 (east -> west) in phase TARGET_ACTIVATING"),
        "{running}"
    );
    assert!(
        running.contains("kubectl failover promote shop/web --to east"),
        "{running}"
    );
    let parked = left_state(&web(), "east", "west", None);
    assert!(parked.contains("owner west (it serves there)"), "{parked}");
    assert!(
        parked.contains("kubectl failover promote shop/web --to east"),
        "{parked}"
    );
    let home = left_state(&web(), "east", "east", None);
    assert!(home.contains("back where the drill started"), "{home}");
}

#[test]
fn durations_read_like_their_precision() {
    assert_eq!(format_secs(0.0), "0s");
    assert_eq!(format_secs(2.0), "2s");
    assert_eq!(format_secs(2.34), "2.3s");
    assert_eq!(format_secs(65.0), "65s");
    assert_eq!(format_secs(125.0), "2m05s");
    assert_eq!(format_secs(-1.0), "0s");
}
