//! The watcher: every notification kind, the driving-cluster rule, a restart without memory,
//! stuck once.

use super::*;
use crate::store::{FailoverMode, HistoryStatus};
use chrono::TimeZone;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

fn gid() -> GroupId {
    GroupId::new("shop", "web").unwrap()
}

fn transition(phase: Phase) -> Transition {
    Transition {
        id: "t-1".into(),
        source: "east".into(),
        target: "west".into(),
        mode: FailoverMode::Consistency,
        force: false,
        automatic: false,
        reason: "maintenance".into(),
        initiator: "failover/shop/move-web".into(),
        phase,
        requested_at: t0(),
        source_stopped_at: None,
        drill: false,
    }
}

fn config(owner: &str, t: Option<Transition>) -> GroupConfig {
    let mut c = GroupConfig::new("op", gid(), owner, t0());
    c.transition = t;
    c
}

fn event(cluster: &str, secs: i64, kind: AgentEventKind) -> AgentEvent {
    AgentEvent {
        at: at(secs),
        cluster: cluster.into(),
        group: gid(),
        kind,
    }
}

/// One tick's observation: the role, the CONFIG read, the lock holder, the time, the agent's
/// events.
fn see(
    w: &mut Watcher,
    role: Role,
    config: Option<&GroupConfig>,
    lock: Option<&str>,
    secs: i64,
    agent: &[AgentEvent],
) -> Vec<Notification> {
    w.observe(&Observation {
        role: Some(role),
        config,
        lock_holder: lock,
        now: at(secs),
        agent,
    })
}

fn kinds(ns: &[Notification]) -> Vec<(Kind, Option<&str>)> {
    ns.iter().map(|n| (n.kind, n.phase.as_deref())).collect()
}

#[test]
fn only_the_target_that_drives_announces_the_start_and_each_phase() {
    let (mut east, mut west) = (Watcher::new(gid(), "east"), Watcher::new(gid(), "west"));
    let idle = config("east", None);
    let requested = config("east", Some(transition(Phase::Requested)));
    let deactivating = config("east", Some(transition(Phase::SourceDeactivating)));
    let activating = config("west", Some(transition(Phase::TargetActivating)));
    let steps = [
        (&idle, None),
        (&requested, None),
        (&deactivating, Some("west")),
        (&activating, Some("west")),
    ];
    let mut from_west = Vec::new();
    for (i, (cfg, lock)) in steps.into_iter().enumerate() {
        let secs = i as i64;
        assert!(see(&mut east, Role::Primary, Some(cfg), lock, secs, &[]).is_empty());
        from_west.extend(see(&mut west, Role::Standby, Some(cfg), lock, secs, &[]));
    }
    assert_eq!(
        kinds(&from_west),
        [
            (Kind::FailoverStarted, None),
            (Kind::FailoverPhase, Some("SOURCE_DEACTIVATING")),
            (Kind::FailoverPhase, Some("TARGET_ACTIVATING")),
        ]
    );
    let started = &from_west[0];
    assert_eq!(started.key, "t-1");
    assert_eq!(started.dedup_key, "t-1/FailoverStarted");
    assert_eq!(started.cluster, "west");
    assert_eq!(started.group, "shop/web");
    assert_eq!(
        (started.source.as_deref(), started.target.as_deref()),
        (Some("east"), Some("west"))
    );
    assert_eq!(started.mode.as_deref(), Some("CONSISTENCY"));
    assert_eq!(started.requested_at, Some(t0()));
    assert_eq!(
        from_west[1].dedup_key,
        "t-1/FailoverPhase/SOURCE_DEACTIVATING"
    );
    // The same phase read again is not news.
    assert!(
        see(
            &mut west,
            Role::Primary,
            Some(&activating),
            Some("west"),
            9,
            &[]
        )
        .is_empty()
    );
}

#[test]
fn a_phase_this_agent_wrote_is_sent_in_the_same_tick_and_not_again_when_read() {
    let mut west = Watcher::new(gid(), "west");
    let requested = config("east", Some(transition(Phase::Requested)));
    let wrote = [event(
        "west",
        1,
        AgentEventKind::PhaseChanged {
            id: "t-1".into(),
            from: Some(Phase::Requested),
            to: Phase::SourceDeactivating,
        },
    )];
    let out = see(&mut west, Role::Standby, Some(&requested), None, 1, &wrote);
    assert_eq!(
        kinds(&out),
        [
            (Kind::FailoverStarted, None),
            (Kind::FailoverPhase, Some("SOURCE_DEACTIVATING"))
        ]
    );
    let deactivating = config("east", Some(transition(Phase::SourceDeactivating)));
    assert!(
        see(
            &mut west,
            Role::Standby,
            Some(&deactivating),
            Some("west"),
            2,
            &[]
        )
        .is_empty()
    );
}

fn ended(outcome: HistoryStatus) -> AgentEventKind {
    AgentEventKind::TransitionEnded {
        id: "t-1".into(),
        source: "east".into(),
        target: "west".into(),
        mode: FailoverMode::Consistency,
        automatic: false,
        outcome,
        duration: Some(Duration::from_secs(12)),
        downtime: Some(Duration::from_secs(4)),
    }
}

#[test]
fn the_end_comes_from_the_agent_that_wrote_it_with_outcome_duration_and_downtime() {
    let mut west = Watcher::new(gid(), "west");
    let activating = config("west", Some(transition(Phase::TargetActivating)));
    see(
        &mut west,
        Role::Primary,
        Some(&activating),
        Some("west"),
        5,
        &[],
    );
    let done = [event("west", 12, ended(HistoryStatus::Success))];
    let out = see(
        &mut west,
        Role::Primary,
        Some(&activating),
        Some("west"),
        12,
        &done,
    );
    assert_eq!(kinds(&out), [(Kind::FailoverEnded, None)]);
    let n = &out[0];
    assert_eq!(n.key, "t-1");
    assert_eq!(n.dedup_key, "t-1/FailoverEnded");
    assert_eq!(n.outcome.as_deref(), Some("SUCCESS"));
    assert_eq!(
        (n.duration_seconds, n.downtime_seconds),
        (Some(12), Some(4))
    );
    assert_eq!(
        n.reason.as_deref(),
        Some("maintenance"),
        "from the tracked request"
    );
    assert_eq!(n.at, at(12));
    assert!(
        n.summary.contains("ended SUCCESS, took 12s, downtime 4s"),
        "{}",
        n.summary
    );
    // A stale read of the ended transition, then the CONFIG without it: nothing more.
    assert!(
        see(
            &mut west,
            Role::Primary,
            Some(&activating),
            Some("west"),
            13,
            &[]
        )
        .is_empty()
    );
    let idle = config("west", None);
    assert!(see(&mut west, Role::Primary, Some(&idle), None, 14, &[]).is_empty());

    // A cluster that only saw the transition end sends nothing.
    let mut east = Watcher::new(gid(), "east");
    see(
        &mut east,
        Role::Standby,
        Some(&activating),
        Some("west"),
        5,
        &[],
    );
    assert!(see(&mut east, Role::Standby, Some(&idle), None, 14, &[]).is_empty());
}

#[test]
fn a_source_rolling_back_for_a_dead_target_sends_stuck_and_ended_but_not_by_age() {
    let mut east = Watcher::new(gid(), "east");
    let deactivating = config("east", Some(transition(Phase::SourceDeactivating)));
    // Older than transitoryState (300s), but the (dead) target holds the lock: not east's.
    assert!(
        see(
            &mut east,
            Role::Standby,
            Some(&deactivating),
            Some("west"),
            400,
            &[]
        )
        .is_empty()
    );
    let ending = [
        event(
            "east",
            401,
            AgentEventKind::Stuck {
                id: "t-1".into(),
                ending: HistoryStatus::RolledBack,
            },
        ),
        event("east", 401, ended(HistoryStatus::RolledBack)),
    ];
    let out = see(
        &mut east,
        Role::Standby,
        Some(&deactivating),
        Some("west"),
        401,
        &ending,
    );
    assert_eq!(
        kinds(&out),
        [
            (Kind::FailoverStuck, Some("SOURCE_DEACTIVATING")),
            (Kind::FailoverEnded, None)
        ]
    );
    assert_eq!(out[0].outcome.as_deref(), Some("ROLLED_BACK"));
    assert_eq!(out[0].dedup_key, "t-1/FailoverStuck");
    assert_eq!(out[1].outcome.as_deref(), Some("ROLLED_BACK"));
    assert!(out.iter().all(|n| n.cluster == "east"));
}

#[test]
fn a_transition_older_than_transitory_state_is_reported_stuck_once_by_its_driver() {
    let mut west = Watcher::new(gid(), "west");
    let deactivating = config("east", Some(transition(Phase::SourceDeactivating)));
    let out = see(
        &mut west,
        Role::Standby,
        Some(&deactivating),
        Some("west"),
        299,
        &[],
    );
    assert_eq!(
        kinds(&out),
        [(Kind::FailoverPhase, Some("SOURCE_DEACTIVATING"))]
    );
    let out = see(
        &mut west,
        Role::Standby,
        Some(&deactivating),
        Some("west"),
        301,
        &[],
    );
    assert_eq!(
        kinds(&out),
        [(Kind::FailoverStuck, Some("SOURCE_DEACTIVATING"))]
    );
    assert_eq!(out[0].duration_seconds, Some(301));
    assert!(
        out[0].summary.contains("timeouts.transitoryState"),
        "{}",
        out[0].summary
    );
    assert!(
        see(
            &mut west,
            Role::Standby,
            Some(&deactivating),
            Some("west"),
            900,
            &[]
        )
        .is_empty()
    );
    let agent_says = [event(
        "west",
        901,
        AgentEventKind::Stuck {
            id: "t-1".into(),
            ending: HistoryStatus::RolledBack,
        },
    )];
    let out = see(
        &mut west,
        Role::Standby,
        Some(&deactivating),
        Some("west"),
        901,
        &agent_says,
    );
    assert!(out.is_empty(), "once per transition: {out:?}");
}

#[test]
fn after_a_restart_a_transition_past_its_first_phase_gets_its_phase_again_but_no_start() {
    let deactivating = config("east", Some(transition(Phase::SourceDeactivating)));
    let mut west = Watcher::new(gid(), "west");
    let out = see(
        &mut west,
        Role::Standby,
        Some(&deactivating),
        Some("west"),
        3,
        &[],
    );
    assert_eq!(
        kinds(&out),
        [(Kind::FailoverPhase, Some("SOURCE_DEACTIVATING"))]
    );

    let requested = config("east", Some(transition(Phase::Requested)));
    let mut west = Watcher::new(gid(), "west");
    let out = see(&mut west, Role::Standby, Some(&requested), None, 3, &[]);
    assert_eq!(kinds(&out), [(Kind::FailoverStarted, None)]);

    // A failed read is no observation: the next successful one still counts as the first.
    let mut west = Watcher::new(gid(), "west");
    assert!(see(&mut west, Role::Standby, None, None, 1, &[]).is_empty());
    let out = see(
        &mut west,
        Role::Standby,
        Some(&deactivating),
        Some("west"),
        2,
        &[],
    );
    assert_eq!(
        kinds(&out),
        [(Kind::FailoverPhase, Some("SOURCE_DEACTIVATING"))]
    );

    // With memory, a transition first seen past REQUESTED (reads failed meanwhile) is started.
    let mut west = Watcher::new(gid(), "west");
    see(
        &mut west,
        Role::Standby,
        Some(&config("east", None)),
        None,
        1,
        &[],
    );
    let out = see(
        &mut west,
        Role::Standby,
        Some(&deactivating),
        Some("west"),
        2,
        &[],
    );
    assert_eq!(
        kinds(&out),
        [
            (Kind::FailoverStarted, None),
            (Kind::FailoverPhase, Some("SOURCE_DEACTIVATING"))
        ]
    );
}

#[test]
fn fencing_and_unfencing_are_sent_by_the_cluster_itself_under_one_key() {
    let mut east = Watcher::new(gid(), "east");
    let idle = config("east", None);
    assert!(see(&mut east, Role::Primary, Some(&idle), None, 0, &[]).is_empty());
    let out = see(&mut east, Role::Fenced, None, None, 30, &[]);
    assert_eq!(kinds(&out), [(Kind::ClusterFenced, None)]);
    let key = out[0].key.clone();
    assert_eq!(key, "fenced/shop/web/east/2025-03-01T10:00:30Z");
    assert_eq!(out[0].dedup_key, format!("{key}/ClusterFenced"));
    assert!(see(&mut east, Role::Fenced, None, None, 31, &[]).is_empty());
    let out = see(&mut east, Role::Standby, Some(&idle), None, 60, &[]);
    assert_eq!(kinds(&out), [(Kind::ClusterUnfenced, None)]);
    assert_eq!(out[0].key, key);
    assert!(out[0].summary.contains("now STANDBY"), "{}", out[0].summary);

    // Started fenced (no memory): said at once.
    let mut fresh = Watcher::new(gid(), "east");
    let out = see(&mut fresh, Role::Fenced, None, None, 5, &[]);
    assert_eq!(kinds(&out), [(Kind::ClusterFenced, None)]);
}

fn requested_here(target: &str) -> AgentEventKind {
    AgentEventKind::TransitionStarted {
        id: "t-2".into(),
        source: "east".into(),
        target: target.into(),
        mode: FailoverMode::Consistency,
        force: true,
        automatic: true,
        reason: "owner east silent for 60s".into(),
        requested_here: true,
    }
}

#[test]
fn an_automatic_failover_is_announced_by_the_cluster_that_decided_it() {
    let mut west = Watcher::new(gid(), "west");
    let idle = config("east", None);
    see(&mut west, Role::Standby, Some(&idle), None, 0, &[]);
    let decided = [event("west", 61, requested_here("west"))];
    let out = see(&mut west, Role::Standby, Some(&idle), None, 61, &decided);
    assert_eq!(
        kinds(&out),
        [
            (Kind::AutomaticFailoverDecided, None),
            (Kind::FailoverStarted, None)
        ]
    );
    assert_eq!(out[0].key, "t-2");
    assert_eq!(out[0].automatic, Some(true));
    assert!(
        out[1].summary.contains("automatic failover east -> west"),
        "{}",
        out[1].summary
    );
    // The next read shows the request: nothing new.
    let mut t = transition(Phase::Requested);
    t.id = "t-2".into();
    t.automatic = true;
    let requested = config("east", Some(t));
    assert!(see(&mut west, Role::Standby, Some(&requested), None, 62, &[]).is_empty());

    // Decided here for another target: the decision only; the target announces the start.
    let mut north = Watcher::new(gid(), "north");
    see(&mut north, Role::Standby, Some(&idle), None, 0, &[]);
    let decided = [event("north", 61, requested_here("west"))];
    let out = see(&mut north, Role::Standby, Some(&idle), None, 61, &decided);
    assert_eq!(kinds(&out), [(Kind::AutomaticFailoverDecided, None)]);
}

#[test]
fn events_seen_but_not_requested_here_are_left_to_the_snapshot() {
    let mut east = Watcher::new(gid(), "east");
    let seen = [event(
        "east",
        1,
        AgentEventKind::TransitionStarted {
            id: "t-1".into(),
            source: "east".into(),
            target: "west".into(),
            mode: FailoverMode::Consistency,
            force: false,
            automatic: false,
            reason: "maintenance".into(),
            requested_here: false,
        },
    )];
    let requested = config("east", Some(transition(Phase::Requested)));
    assert!(see(&mut east, Role::Primary, Some(&requested), None, 1, &seen).is_empty());
}
