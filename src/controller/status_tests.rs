use super::*;
use crate::protocol::{Decision, Report, Role};
use crate::store::{
    ClusterState, ComponentStatus, FailoverMode, GroupConfig, GroupId, Phase, Transition,
};

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
}

fn gid() -> GroupId {
    GroupId::new("shop", "web").unwrap()
}

fn cluster(name: &str, state: ClusterState, seq: u64, health: Health) -> ClusterStatus {
    ClusterStatus {
        cluster_name: name.into(),
        health,
        state,
        last_heartbeat: Some(t(seq as i64)),
        heartbeat_seq: Some(seq),
        components: BTreeMap::new(),
        ack: None,
        fenced: false,
    }
}

fn snapshot(seq: u64) -> GroupSnapshot {
    GroupSnapshot {
        config: GroupConfig::new("op", gid(), "east", t(0)),
        clusters: vec![
            cluster("east", ClusterState::Primary, seq, Health::Ok),
            cluster("west", ClusterState::Standby, 3, Health::Ok),
        ],
        lock: None,
    }
}

fn report(role: Role, converged: bool) -> TickReport {
    TickReport {
        at: Duration::ZERO,
        heartbeat_seq: Some(1),
        version: Some(1),
        decision: Some(Decision {
            role,
            epoch: 1,
            serve_until: None,
            writes: Vec::new(),
            report: Report {
                state: ClusterState::Primary,
                fenced: false,
                ack: None,
            },
            notes: Vec::new(),
            read_lock_next: false,
            forget_lock: false,
        }),
        held: false,
        writes: Vec::new(),
        store_error: None,
        cluster_error: None,
        converged,
        pending: if converged {
            None
        } else {
            Some("2/3 replicas ready".into())
        },
    }
}

fn compute(
    report: Option<&TickReport>,
    snap: Option<&GroupSnapshot>,
    previous: &FailoverGroupStatus,
    ages: &BTreeMap<String, Duration>,
    now: i64,
) -> FailoverGroupStatus {
    group_status(StatusInput {
        me: "east",
        report,
        snapshot: snap,
        previous,
        ages,
        interval: Duration::from_secs(5),
        wanted: None,
        generation: Some(2),
        now: t(now),
    })
}

fn condition<'a>(s: &'a FailoverGroupStatus, type_: &str) -> &'a Condition {
    s.conditions.iter().find(|c| c.type_ == type_).unwrap()
}

#[test]
fn the_status_shows_role_active_cluster_every_cluster_and_ready_conditions() {
    let r = report(Role::Primary, true);
    let snap = snapshot(10);
    let s = compute(
        Some(&r),
        Some(&snap),
        &FailoverGroupStatus::default(),
        &BTreeMap::new(),
        0,
    );
    assert_eq!(s.role, Some(GroupRole::Primary));
    assert_eq!(s.active_cluster.as_deref(), Some("east"));
    assert_eq!(s.health, Some(Health::Ok));
    let names: Vec<_> = s
        .clusters
        .iter()
        .map(|c| (c.name.as_str(), c.role))
        .collect();
    assert_eq!(
        names,
        [
            ("east", ClusterState::Primary),
            ("west", ClusterState::Standby)
        ]
    );
    assert_eq!(condition(&s, "Ready").status, ConditionStatus::True);
    assert_eq!(condition(&s, "Synced").status, ConditionStatus::True);
    assert_eq!(condition(&s, "Degraded").status, ConditionStatus::False);
    assert_eq!(s.observed_generation, Some(2));
}

#[test]
fn before_the_first_read_the_role_is_unknown_and_ready_is_unknown() {
    let s = compute(
        None,
        None,
        &FailoverGroupStatus::default(),
        &BTreeMap::new(),
        0,
    );
    assert_eq!(s.role, Some(GroupRole::Unknown));
    assert_eq!(condition(&s, "Ready").status, ConditionStatus::Unknown);
}

#[test]
fn a_steady_group_needs_no_second_write_even_though_heartbeats_move() {
    let r = report(Role::Primary, true);
    let first = compute(
        Some(&r),
        Some(&snapshot(10)),
        &FailoverGroupStatus::default(),
        &BTreeMap::new(),
        0,
    );
    let later = compute(Some(&r), Some(&snapshot(11)), &first, &BTreeMap::new(), 60);
    assert_ne!(first, later, "lastHeartbeat moved");
    assert!(
        !meaningful_change(&first, &later),
        "but that alone is no reason to write"
    );
    assert_eq!(
        condition(&later, "Ready").last_transition_time,
        t(0),
        "an unchanged condition keeps its time"
    );
}

#[test]
fn a_transition_phase_and_unhealthy_resources_are_meaningful_changes() {
    let r = report(Role::Primary, false);
    let first = compute(
        Some(&r),
        Some(&snapshot(10)),
        &FailoverGroupStatus::default(),
        &BTreeMap::new(),
        0,
    );
    let mut snap = snapshot(10);
    snap.config.transition = Some(Transition {
        id: "t1".into(),
        source: "east".into(),
        target: "west".into(),
        mode: FailoverMode::Consistency,
        force: false,
        automatic: false,
        reason: "test".into(),
        initiator: "me".into(),
        phase: Phase::SourceDeactivating,
        requested_at: t(1),
        source_stopped_at: None,
        drill: false,
    });
    snap.clusters[0].health = Health::Degraded;
    snap.clusters[0].components.insert(
        "Deployment/web".into(),
        ComponentStatus {
            health: Health::Degraded,
            message: "2/3 replicas ready".into(),
        },
    );
    let next = compute(Some(&r), Some(&snap), &first, &BTreeMap::new(), 5);
    assert!(meaningful_change(&first, &next));
    assert_eq!(next.phase, Some(Phase::SourceDeactivating));
    assert_eq!(next.resources[0].kind, "Deployment");
    assert_eq!(next.resources[0].name, "web");
    let degraded = condition(&next, "Degraded");
    assert_eq!(degraded.status, ConditionStatus::True);
    assert!(
        degraded.message.contains("2/3 replicas ready"),
        "{}",
        degraded.message
    );
    let ready = condition(&next, "Ready");
    assert_eq!(ready.status, ConditionStatus::False);
    assert_eq!(ready.message, "converging to PRIMARY: 2/3 replicas ready");
}

#[test]
fn a_store_error_turns_synced_false_with_the_error() {
    let mut r = report(Role::Standby, true);
    r.store_error = Some("DynamoDB is unreachable".into());
    let s = compute(
        Some(&r),
        Some(&snapshot(1)),
        &FailoverGroupStatus::default(),
        &BTreeMap::new(),
        0,
    );
    let synced = condition(&s, "Synced");
    assert_eq!(synced.status, ConditionStatus::False);
    assert_eq!(synced.message, "DynamoDB is unreachable");
}

#[test]
fn a_store_error_in_status_names_no_account_role_or_key() {
    let mut r = report(Role::Standby, true);
    r.store_error = Some(
        "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/kfo/i-1 is not authorized to perform: dynamodb:Query".into(),
    );
    let s = compute(
        Some(&r),
        Some(&snapshot(1)),
        &FailoverGroupStatus::default(),
        &BTreeMap::new(),
        0,
    );
    let synced = condition(&s, "Synced");
    assert!(
        !synced.message.contains("123456789012"),
        "{}",
        synced.message
    );
    assert!(
        !synced.message.contains("assumed-role"),
        "{}",
        synced.message
    );
    assert!(
        synced.message.contains("dynamodb:Query"),
        "{}",
        synced.message
    );
    assert!(
        synced
            .message
            .contains("the controller's log has the whole error")
    );
}

#[test]
fn heartbeat_ages_are_zero_while_fresh_then_grow_in_doubling_steps() {
    let i = Duration::from_secs(5);
    let s = Duration::from_secs;
    assert_eq!(coarse_age(s(0), i), s(0));
    assert_eq!(coarse_age(s(9), i), s(0));
    assert_eq!(coarse_age(s(10), i), s(10));
    assert_eq!(coarse_age(s(19), i), s(10));
    assert_eq!(coarse_age(s(20), i), s(20));
    assert_eq!(coarse_age(s(45), i), s(40));
    assert_eq!(coarse_age(s(3600), i), s(2560));
}

#[test]
fn an_age_counts_from_when_this_cluster_saw_the_heartbeat_change() {
    let mut ages = HeartbeatAges::default();
    let s = Duration::from_secs;
    let a = ages.observe(&snapshot(10), s(100));
    assert_eq!(a["east"], s(0));
    let a = ages.observe(&snapshot(10), s(130));
    assert_eq!(a["east"], s(30), "unchanged for 30s on this clock");
    let a = ages.observe(&snapshot(11), s(131));
    assert_eq!(a["east"], s(0), "a new heartbeat resets it");
    assert_eq!(a["west"], s(31));
}

#[test]
fn a_silent_cluster_shows_its_coarse_age_and_causes_a_write_only_at_each_step() {
    let r = report(Role::Primary, true);
    let snap = snapshot(10);
    let ages = |west: u64| BTreeMap::from([("west".to_string(), Duration::from_secs(west))]);
    let a = compute(
        Some(&r),
        Some(&snap),
        &FailoverGroupStatus::default(),
        &ages(21),
        0,
    );
    let b = compute(Some(&r), Some(&snap), &a, &ages(39), 1);
    let c = compute(Some(&r), Some(&snap), &b, &ages(40), 2);
    assert_eq!(a.clusters[1].heartbeat_age.as_deref(), Some("20s"));
    assert!(!meaningful_change(&a, &b));
    assert!(meaningful_change(&b, &c));
    assert_eq!(c.clusters[1].heartbeat_age.as_deref(), Some("40s"));
}

#[test]
fn a_spec_that_differs_from_the_table_is_not_synced_and_names_each_difference() {
    let r = report(Role::Primary, true);
    let snap = snapshot(10);
    let mut wanted = snap.config.clone();
    wanted.timeouts.heartbeat = Duration::from_secs(90).into();
    wanted.suspended = !snap.config.suspended;
    let previous = FailoverGroupStatus::default();
    let ages = BTreeMap::new();
    let status = |wanted| {
        group_status(StatusInput {
            me: "east",
            report: Some(&r),
            snapshot: Some(&snap),
            previous: &previous,
            ages: &ages,
            interval: Duration::from_secs(5),
            wanted,
            generation: Some(2),
            now: t(0),
        })
    };
    let s = status(Some(&wanted));
    let synced = condition(&s, condition_types::SYNCED);
    assert_eq!(synced.status, ConditionStatus::False);
    assert_eq!(synced.reason, "SpecNotInTable");
    assert!(
        synced
            .message
            .contains("timeouts.heartbeat is 1m30s in the spec"),
        "{}",
        synced.message
    );
    assert!(
        synced.message.contains("suspended is"),
        "{}",
        synced.message
    );
    assert!(
        synced.message.contains("kubectl failover suspend|resume"),
        "{}",
        synced.message
    );

    let same = snap.config.clone();
    let s = status(Some(&same));
    assert_eq!(
        condition(&s, condition_types::SYNCED).status,
        ConditionStatus::True
    );
}
