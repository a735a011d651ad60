//! The checker must be able to fail: each check is shown a history that breaks it.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use kubectl_failover::store::{
    FailoverMode, GroupConfig, GroupId, HistoryRecord, Phase, Transition,
};

use crate::chaos::checker::{Frame, Recorded, judge};
use crate::chaos::timeline::{Role, Shape, Step};

const SHAPE: Shape = Shape {
    group: "web",
    consistency: true,
    deployments: &["web"],
    statefulsets: &[],
    pod_apps: &["web"],
    ingress: "web",
    annotation: "dns",
    host: "shop.example.com",
    volume: Some("data"),
};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-06T10:00:00Z")
        .expect("valid time")
        .with_timezone(&Utc)
}

fn at(ms: i64) -> DateTime<Utc> {
    t0() + TimeDelta::milliseconds(ms)
}

const SERVES: Role = Role {
    running: true,
    served: true,
    primary: true,
};
const STOPPING: Role = Role {
    running: true,
    served: false,
    primary: false,
};
const STANDBY: Role = Role {
    running: false,
    served: false,
    primary: false,
};

fn step(ms: i64, cluster: &str, role: Role) -> Step {
    Step {
        at: at(ms),
        cluster: cluster.into(),
        role,
        cause: "test".into(),
    }
}

fn frame() -> Frame {
    Frame {
        converged: at(0),
        quiet: at(10_000),
        end: at(30_000),
        bound: Duration::from_secs(12),
    }
}

fn config(version: u64, owner: &str, transition: Option<&str>) -> GroupConfig {
    let mut c = GroupConfig::new(
        "op",
        GroupId::new("shop", "web").expect("valid"),
        owner,
        t0(),
    );
    c.version = version;
    c.transition = transition.map(|id| Transition {
        id: id.into(),
        source: "east".into(),
        target: "west".into(),
        mode: FailoverMode::Consistency,
        force: false,
        automatic: false,
        reason: "test".into(),
        initiator: "test".into(),
        phase: Phase::TargetActivating,
        requested_at: t0(),
        source_stopped_at: None,
        drill: false,
    });
    c
}

fn record(name: &str, status: &str) -> HistoryRecord {
    HistoryRecord {
        failover_name: name.into(),
        source_cluster: "east".into(),
        target_cluster: "west".into(),
        start_time: t0(),
        end_time: Some(at(5_000)),
        status: status.into(),
        reason: "test".into(),
        downtime: None,
        duration: None,
        mode: None,
        automatic: None,
        initiator: None,
        drill: false,
    }
}

/// A clean handover east -> west at 5 s, with its CONFIG and HISTORY.
fn handover() -> Recorded<'static> {
    Recorded {
        shape: &SHAPE,
        steps: vec![
            step(-1_000, "east", SERVES),
            step(-1_000, "west", STANDBY),
            step(4_000, "east", STOPPING),
            step(4_500, "east", STANDBY),
            step(5_000, "west", SERVES),
        ],
        configs: vec![
            (at(0), config(3, "east", None)),
            (at(4_000), config(4, "east", Some("t1"))),
            (at(5_000), config(5, "west", Some("t1"))),
            (at(6_000), config(6, "west", None)),
        ],
        history: vec![record("t1", "SUCCESS")],
    }
}

#[test]
fn a_clean_handover_passes_and_counts_as_served_at_once_after_the_faults() {
    let v = judge(&handover(), &frame());
    assert!(v.violations.is_empty(), "{:?}", v.violations);
    assert_eq!(v.recovered_after, Some(Duration::ZERO));
}

#[test]
fn two_clusters_running_a_consistency_group_at_once_is_a_violation() {
    let mut rec = handover();
    // West starts before east's last pod is gone.
    rec.steps[4] = step(4_200, "west", SERVES);
    let v = judge(&rec, &frame());
    assert!(
        v.violations
            .iter()
            .any(|m| m.contains("ran the CONSISTENCY group at once")),
        "{:?}",
        v.violations
    );
}

#[test]
fn two_primary_volumes_at_once_is_a_violation() {
    let mut rec = handover();
    rec.steps.push(step(
        3_000,
        "north",
        Role {
            running: false,
            served: false,
            primary: true,
        },
    ));
    let v = judge(&rec, &frame());
    assert!(
        v.violations
            .iter()
            .any(|m| m.contains("held the volume primary at once")),
        "{:?}",
        v.violations
    );
}

#[test]
fn a_group_served_late_or_never_after_the_faults_is_a_violation() {
    let mut rec = handover();
    rec.steps.push(step(9_000, "west", STANDBY));
    rec.steps.push(step(25_000, "west", SERVES));
    let v = judge(&rec, &frame());
    assert_eq!(v.recovered_after, Some(Duration::from_secs(15)));
    assert!(
        v.violations.iter().any(|m| m.contains("past the bound")),
        "{:?}",
        v.violations
    );

    let mut rec = handover();
    rec.steps.push(step(9_000, "west", STANDBY));
    let v = judge(&rec, &frame());
    assert_eq!(v.recovered_after, None);
    assert!(
        v.violations.iter().any(|m| m.contains("not served")),
        "{:?}",
        v.violations
    );
}

#[test]
fn a_lost_or_reused_config_version_is_a_violation() {
    let mut rec = handover();
    rec.configs.push((at(7_000), config(5, "west", None)));
    let v = judge(&rec, &frame());
    assert!(
        v.violations.iter().any(|m| m.contains("went back")),
        "{:?}",
        v.violations
    );
    assert!(
        v.violations.iter().any(|m| m.contains("written twice")),
        "{:?}",
        v.violations
    );
}

#[test]
fn history_without_a_transition_or_a_transition_without_history_is_a_violation() {
    let mut rec = handover();
    rec.history.push(record("t1", "SUCCESS"));
    rec.history.push(record("ghost", "SUCCESS"));
    let v = judge(&rec, &frame());
    assert!(
        v.violations
            .iter()
            .any(|m| m.contains("2 HISTORY records for transition t1")),
        "{:?}",
        v.violations
    );
    assert!(
        v.violations.iter().any(|m| m.contains("ghost")),
        "{:?}",
        v.violations
    );

    let mut rec = handover();
    rec.history.clear();
    let v = judge(&rec, &frame());
    assert!(
        v.violations
            .iter()
            .any(|m| m.contains("ended without a HISTORY record")),
        "{:?}",
        v.violations
    );
    assert!(
        v.violations
            .iter()
            .any(|m| m.contains("without a completed transition")),
        "{:?}",
        v.violations
    );
}

#[test]
fn an_owner_change_that_history_calls_rolled_back_is_a_violation() {
    let mut rec = handover();
    rec.history = vec![record("t1", "ROLLED_BACK")];
    let v = judge(&rec, &frame());
    assert!(
        v.violations
            .iter()
            .any(|m| m.contains("without a completed transition")),
        "{:?}",
        v.violations
    );
}
