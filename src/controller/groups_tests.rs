use super::*;
use crate::store::{
    ClusterState, ClusterStatus, FailoverMode, GroupConfig, Health, Phase, Transition,
};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn snapshot(owner: &str, members: &[&str]) -> GroupSnapshot {
    GroupSnapshot {
        config: GroupConfig::new("op", GroupId::new("shop", "web").unwrap(), owner, t0()),
        clusters: members
            .iter()
            .map(|m| ClusterStatus {
                cluster_name: m.to_string(),
                health: Health::Ok,
                state: if *m == owner {
                    ClusterState::Primary
                } else {
                    ClusterState::Standby
                },
                last_heartbeat: Some(t0()),
                heartbeat_seq: Some(1),
                components: BTreeMap::new(),
                ack: None,
                fenced: false,
            })
            .collect(),
        lock: None,
    }
}

#[test]
fn a_standby_leaves_at_once() {
    let s = snapshot("east", &["east", "west"]);
    assert_eq!(withdrawal("west", Some(&s)), Withdrawal::Leave);
}

#[test]
fn a_group_missing_from_the_table_leaves_at_once() {
    assert_eq!(withdrawal("west", None), Withdrawal::Leave);
}

#[test]
fn the_owner_does_not_leave_while_another_cluster_could_take_over() {
    let s = snapshot("east", &["east", "west"]);
    let Withdrawal::Refuse(why) = withdrawal("east", Some(&s)) else {
        panic!("the owner left");
    };
    assert!(why.contains("serves shop/web"), "{why}");
    assert!(
        why.contains("kubectl failover promote shop/web --to west"),
        "{why}"
    );
}

#[test]
fn the_owner_leaves_when_it_is_the_last_cluster_of_the_group() {
    let s = snapshot("east", &["east"]);
    assert_eq!(withdrawal("east", Some(&s)), Withdrawal::Leave);
}

#[test]
fn a_cluster_taking_part_in_a_transition_waits_for_it_to_end() {
    let mut s = snapshot("east", &["east", "west", "north"]);
    s.config.transition = Some(Transition {
        id: "t1".into(),
        source: "east".into(),
        target: "west".into(),
        mode: FailoverMode::Consistency,
        force: false,
        automatic: false,
        reason: "r".into(),
        initiator: "i".into(),
        phase: Phase::SourceDeactivating,
        requested_at: t0(),
        source_stopped_at: None,
        drill: false,
    });
    assert!(matches!(withdrawal("west", Some(&s)), Withdrawal::Refuse(w) if w.contains("t1")));
    assert_eq!(withdrawal("north", Some(&s)), Withdrawal::Leave);
}

#[test]
fn a_leader_lease_longer_than_half_the_heartbeat_timeout_is_warned_about_with_the_fix() {
    let secs = Duration::from_secs;
    let why = slow_leader_handover(Some(secs(15)), secs(20)).expect("a warning");
    assert!(why.contains("15s") && why.contains("20s"), "{why}");
    assert!(why.contains("lower LEASE_DURATION"), "{why}");
    assert_eq!(slow_leader_handover(Some(secs(15)), secs(60)), None);
    assert_eq!(
        slow_leader_handover(None, secs(5)),
        None,
        "without leader election there is no handover"
    );
}
