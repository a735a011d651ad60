//! Tests of `groups`: heartbeats and timings.

use super::Status;
use super::groups::*;
use crate::duration::GoDuration;
use crate::ops::status::{StatusList, group_view};
use crate::store::{ClusterState, ClusterStatus, GroupConfig, GroupId, GroupSnapshot, Health};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn config(name: &str) -> GroupConfig {
    GroupConfig::new(
        "op",
        GroupId::new("shop", name).unwrap(),
        "east",
        at("2026-03-01T11:00:00Z"),
    )
}

fn record(cluster: &str, heartbeat: &str) -> ClusterStatus {
    ClusterStatus {
        cluster_name: cluster.into(),
        health: Health::Ok,
        state: if cluster == "east" {
            ClusterState::Primary
        } else {
            ClusterState::Standby
        },
        last_heartbeat: Some(at(heartbeat)),
        heartbeat_seq: Some(1),
        components: BTreeMap::new(),
        ack: None,
        fenced: false,
    }
}

/// Groups named `names`, each with records from `records`; seen at 12:00:30 (timeout 60s).
fn listing(names: &[&str], records: &[ClusterStatus]) -> Result<StatusList, String> {
    let now = at("2026-03-01T12:00:30Z");
    let groups = names
        .iter()
        .map(|n| {
            let snapshot = GroupSnapshot {
                config: config(n),
                clusters: records.to_vec(),
                lock: None,
            };
            group_view(&snapshot, now)
        })
        .collect();
    Ok(StatusList {
        groups,
        warnings: vec![],
    })
}

fn clusters() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("east".to_string(), "ctx-east".to_string()),
        ("west".to_string(), "ctx-west".to_string()),
    ])
}

#[test]
fn fresh_heartbeats_from_every_cluster_give_one_passing_line() {
    let fresh = [
        record("east", "2026-03-01T12:00:25Z"),
        record("west", "2026-03-01T12:00:20Z"),
    ];
    let checks = judge_heartbeats(&listing(&["web", "api"], &fresh), &clusters(), "op");
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].status, Status::Pass);
    assert!(
        checks[0]
            .detail
            .starts_with("2 groups: fresh heartbeats from east, west")
    );
}

#[test]
fn a_stale_or_missing_heartbeat_fails_naming_the_cluster_and_its_context() {
    let stale = [
        record("east", "2026-03-01T12:00:25Z"),
        record("west", "2026-03-01T11:50:00Z"),
    ];
    let checks = judge_heartbeats(&listing(&["web"], &stale), &clusters(), "op");
    assert_eq!(checks.len(), 1, "{checks:?}");
    let c = &checks[0];
    assert_eq!(
        (c.status, c.name.as_str()),
        (Status::Fail, "heartbeats of shop/web")
    );
    assert!(
        c.detail
            .contains("west's heartbeat is 630s old, older than timeouts.heartbeat 1m"),
        "{c:?}"
    );
    assert!(
        c.fix
            .as_ref()
            .unwrap()
            .contains("--context ctx-west -n shop get failovergroup web")
    );
    let missing = [record("east", "2026-03-01T12:00:25Z")];
    let checks = judge_heartbeats(&listing(&["web"], &missing), &clusters(), "op");
    assert!(
        checks[0].detail.contains("no heartbeat record from west"),
        "{checks:?}"
    );
}

#[test]
fn many_failing_groups_are_capped_and_no_groups_or_no_table_are_said_so() {
    let names: Vec<String> = (0..MAX_GROUP_LINES + 5)
        .map(|i| format!("g{i:02}"))
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let checks = judge_heartbeats(&listing(&refs, &[]), &clusters(), "op");
    assert_eq!(checks.len(), MAX_GROUP_LINES + 1);
    let last = checks.last().unwrap();
    assert_eq!(last.status, Status::Fail);
    assert!(last.name.contains("5 more groups"), "{last:?}");
    let none = judge_heartbeats(&listing(&[], &[]), &clusters(), "op");
    assert_eq!(none[0].status, Status::Skipped);
    let broken = judge_heartbeats(&Err("no GSI1".into()), &clusters(), "op");
    assert_eq!(broken[0].status, Status::Fail);
}

fn timings(cluster: &str, budget: Option<u64>, lease: Option<u64>) -> ClusterTimings {
    ClusterTimings {
        cluster: cluster.into(),
        context: format!("ctx-{cluster}"),
        liveness_budget: budget.map(Duration::from_secs),
        lease: lease.map(Duration::from_secs),
    }
}

#[test]
fn default_timings_with_the_shipped_probe_budget_pass() {
    let c = [
        timings("east", Some(20), Some(15)),
        timings("west", Some(20), Some(15)),
    ];
    let checks = judge_timings(&Ok(vec![config("web")]), &c);
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0].status, Status::Pass);
    assert!(
        checks[0].detail.contains("east LIVENESS_BUDGET 20s"),
        "{checks:?}"
    );
}

#[test]
fn timings_the_protocol_refuses_fail_with_its_fix() {
    let mut short = config("web");
    short.timeouts.heartbeat = GoDuration(Duration::from_secs(30));
    let checks = judge_timings(&Ok(vec![short]), &[]);
    let c = &checks[0];
    assert_eq!(
        (c.status, c.name.as_str()),
        (Status::Fail, "timings of shop/web")
    );
    assert!(
        c.detail.contains("shorter than 4 x heartbeatInterval"),
        "{c:?}"
    );
    assert!(
        c.fix
            .as_ref()
            .unwrap()
            .starts_with("raise timeouts.heartbeat to at least 1m"),
        "{c:?}"
    );
    let mut transitory = config("api");
    transitory.timeouts.transitory_state = GoDuration(Duration::from_secs(60));
    let c = &judge_timings(&Ok(vec![transitory]), &[])[0];
    assert!(c.detail.contains("timeouts.transitoryState"), "{c:?}");
}

#[test]
fn a_slow_probe_budget_fails_and_a_long_lease_warns() {
    let slow = [timings("east", Some(40), None)];
    let c = &judge_timings(&Ok(vec![config("web")]), &slow)[0];
    assert_eq!(
        (c.status, c.name.as_str()),
        (Status::Fail, "timings of shop/web in ctx-east")
    );
    assert!(
        c.detail
            .starts_with("east: a stuck controller would be restarted too late"),
        "{c:?}"
    );
    assert!(c.fix.as_ref().unwrap().contains("LIVENESS_BUDGET"), "{c:?}");
    let long = [timings("west", None, Some(45))];
    let c = &judge_timings(&Ok(vec![config("web")]), &long)[0];
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.detail.contains("LEASE_DURATION 45s of west"), "{c:?}");
    let none = judge_timings(&Ok(vec![]), &long);
    assert_eq!(none[0].status, Status::Skipped);
}
