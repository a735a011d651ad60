//! Shared builders for the protocol tests: a three-cluster group (a owns it, b and c stand by)
//! with 10s heartbeats, a 40s heartbeat timeout, 2m transitory state and 30s unhealthy primary.

use crate::protocol::*;
use crate::store::*;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Seconds.
pub fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Wall time `n` seconds after the tests' epoch.
pub fn wall(n: u64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap_or_default() + s(n)
}

/// The group.
pub fn group() -> GroupId {
    GroupId::new("shop", "web").unwrap()
}

/// CONFIG owned by `owner`, at version and epoch 5, with the tests' timeouts.
pub fn config(owner: &str) -> GroupConfig {
    let mut c = GroupConfig::new("op", group(), owner, wall(0));
    c.heartbeat_interval = s(10).into();
    c.timeouts.heartbeat = s(40).into();
    c.timeouts.transitory_state = s(120).into();
    c.timeouts.unhealthy_primary = s(30).into();
    // Workloads that stop at once; tests of the budget set their own.
    c.timeouts.deactivation = s(0).into();
    c.version = 5;
    c.epoch = 5;
    c
}

/// The tests' timings.
pub fn timings() -> Timings {
    GroupPolicy::default().timings(&config("a")).unwrap()
}

/// A healthy heartbeat record.
pub fn status(name: &str, seq: u64) -> ClusterStatus {
    ClusterStatus {
        cluster_name: name.to_string(),
        health: Health::Ok,
        state: ClusterState::Standby,
        last_heartbeat: Some(wall(seq)),
        heartbeat_seq: Some(seq),
        components: Default::default(),
        ack: None,
        fenced: false,
    }
}

/// a, b and c at heartbeat `seq`, owned by `owner`, no lock read.
pub fn snap(owner: &str, seq: u64) -> GroupSnapshot {
    GroupSnapshot {
        config: config(owner),
        clusters: ["a", "b", "c"].iter().map(|n| status(n, seq)).collect(),
        lock: None,
    }
}

/// A transition from `source` to `target`.
pub fn transition(source: &str, target: &str, mode: FailoverMode, phase: Phase) -> Transition {
    Transition {
        id: "t1".to_string(),
        source: source.to_string(),
        target: target.to_string(),
        mode,
        force: false,
        automatic: false,
        reason: "planned".to_string(),
        initiator: "alice".to_string(),
        phase,
        requested_at: wall(0),
        source_stopped_at: None,
        drill: false,
    }
}

/// `snap` with a transition a -> b in `phase`, ownership moved when the phase is after the flip.
pub fn moving(mode: FailoverMode, phase: Phase) -> GroupSnapshot {
    let after = matches!(
        (mode, phase),
        (FailoverMode::Consistency, Phase::TargetActivating)
            | (FailoverMode::Uptime, Phase::SourceDeactivating)
    );
    let mut sn = snap(if after { "b" } else { "a" }, 1);
    sn.config.transition = Some(transition("a", "b", mode, phase));
    if after {
        sn.config.previous_owner = Some("a".into());
    }
    sn
}

/// A lock held by `holder` with `token`.
pub fn lock(holder: &str, token: &str, expires: u64) -> Lock {
    Lock {
        locked_by: holder.to_string(),
        lock_reason: "test".to_string(),
        acquired_at: Some(wall(0)),
        expires_at: wall(expires),
        lease_token: token.to_string(),
    }
}

/// Facts of agent `me` at `now` seconds, with a heartbeat sent one second ago.
pub fn facts(me: &str, now: u64) -> LocalFacts {
    LocalFacts {
        me: me.to_string(),
        now: s(now),
        wall_now: wall(now),
        heartbeat_sent_at: Some(s(now.saturating_sub(1))),
        lock: None,
        progress: LocalProgress::unknown(),
        has_volume_replications: false,
        new_id: "auto-1".to_string(),
    }
}

/// `facts` holding `lock`.
pub fn holding(me: &str, now: u64, l: &Lock) -> LocalFacts {
    LocalFacts {
        lock: Some(l.clone()),
        ..facts(me, now)
    }
}

/// `progress` activated (or deactivated) under `epoch`.
pub fn progress(active: bool, epoch: u64) -> LocalProgress {
    LocalProgress {
        epoch,
        activated: active,
        deactivated: !active,
        network_off_at: (!active).then(|| wall(3)),
        network_on_at: active.then(|| wall(9)),
    }
}

/// Observations of the same snapshot at every listed second (lock read every time).
pub fn seen(sn: &GroupSnapshot, at: &[u64]) -> Observations {
    let mut o = Observations::default();
    for t in at {
        o.observe(sn, true, s(*t));
    }
    o
}

/// Observations of `sn` from 0s to `until` seconds every 10s, lock read.
pub fn seen_for(sn: &GroupSnapshot, until: u64) -> Observations {
    let at: Vec<u64> = (0..=until / 10).map(|i| i * 10).chain([until]).collect();
    seen(sn, &at)
}

/// `step` with the default policy.
pub fn decide(sn: &GroupSnapshot, o: &Observations, f: &LocalFacts) -> Decision {
    step(&GroupPolicy::default(), sn, o, f)
}

/// The names of a decision's writes.
pub fn names(d: &Decision) -> Vec<&'static str> {
    d.writes.iter().map(Intent::name).collect()
}

/// The guarded request of a write, if it is one.
pub fn guarded(i: &Intent) -> Option<&FlipRequest> {
    match i {
        Intent::AdvancePhase(r) | Intent::Flip(r) | Intent::Finish(r) => Some(r),
        _ => None,
    }
}
