//! `Observations`: what one agent has seen of a group over time, on its own monotonic clock.
//! Liveness is judged by observed change ("this heartbeat has not moved for 60s of my time"),
//! never by comparing another machine's timestamp with a local clock.

use crate::store::{ClusterStatus, GroupSnapshot, Health, Lock};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// A cluster's heartbeat as an observer can compare it: the sequence number when the record has
/// one, else its timestamp text (compared for equality only, never with a clock), else absent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Beat {
    /// The cluster has no `CLUSTER#` record (an absent record is a value too: it can stay absent).
    Absent,
    /// `heartbeatSeq`.
    Seq(u64),
    /// `lastHeartbeat`, for records written by a tool that keeps no sequence number.
    Stamp(Option<DateTime<Utc>>),
}

impl Beat {
    /// The beat of a record (or of its absence).
    pub fn of(status: Option<&ClusterStatus>) -> Beat {
        match status {
            None => Beat::Absent,
            Some(s) => match s.heartbeat_seq {
                Some(seq) => Beat::Seq(seq),
                None => Beat::Stamp(s.last_heartbeat),
            },
        }
    }
}

/// A value and the local time since which it has been seen unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Since<T> {
    value: T,
    since: Duration,
}

impl<T: PartialEq> Since<T> {
    /// Keeps `since` when the value is the same, restarts it otherwise.
    fn update(slot: &mut Option<Since<T>>, value: T, now: Duration) {
        match slot {
            Some(s) if s.value == value => {}
            _ => *slot = Some(Since { value, since: now }),
        }
    }
}

/// What identifies one lease of the lock: a renewal changes `expires_at`, a take-over the token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LeaseKey {
    token: String,
    expires_at: DateTime<Utc>,
}

impl LeaseKey {
    fn of(lock: &Lock) -> Self {
        LeaseKey {
            token: lock.lease_token.clone(),
            expires_at: lock.expires_at,
        }
    }
}

/// One cluster as observed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClusterSeen {
    beat: Option<Since<Beat>>,
    error_since: Option<Duration>,
}

/// Everything one agent has observed of one group, timed on the agent's monotonic clock. Start
/// with `Observations::default()` (an agent that just started knows nothing, so every timeout
/// runs in full from its first observation) and call [`Observations::observe`] after every
/// successful read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Observations {
    first_at: Option<Duration>,
    last_at: Option<Duration>,
    clusters: BTreeMap<String, ClusterSeen>,
    version: Option<Since<u64>>,
    /// `None` when the last read did not include the lock: then nothing is known about it, and
    /// observation restarts when it is read again (a take-over needs an unbroken observation).
    lock: Option<Since<Option<LeaseKey>>>,
    lock_read: bool,
    ownership: Option<(String, u64, Option<String>)>,
    handover_at: Option<Duration>,
}

impl Observations {
    /// Records what a read returned. `lock_read`: whether the read included the LOCK (a
    /// snapshot read without it has `lock: None` whatever is stored). `now`: this agent's
    /// monotonic time when the read returned; a time earlier than the last one is treated as
    /// the last one (a monotonic clock never goes back, so that would be a caller's bug).
    pub fn observe(&mut self, snap: &GroupSnapshot, lock_read: bool, now: Duration) {
        let now = self.last_at.map_or(now, |last| now.max(last));
        self.first_at.get_or_insert(now);
        self.last_at = Some(now);

        let cfg = &snap.config;
        let mut names: Vec<&str> = snap
            .clusters
            .iter()
            .map(|c| c.cluster_name.as_str())
            .collect();
        names.push(&cfg.owner_cluster);
        if let Some(t) = &cfg.transition {
            names.extend([t.source.as_str(), t.target.as_str()]);
        }
        for name in names {
            self.clusters
                .entry(name.to_string())
                .or_insert(ClusterSeen {
                    beat: None,
                    error_since: None,
                });
        }
        for (name, seen) in &mut self.clusters {
            let record = snap.clusters.iter().find(|c| &c.cluster_name == name);
            Since::update(&mut seen.beat, Beat::of(record), now);
            seen.error_since = match record.map(|r| r.health) {
                Some(Health::Error) => Some(seen.error_since.unwrap_or(now)),
                _ => None,
            };
        }

        Since::update(&mut self.version, cfg.version, now);

        self.lock_read = lock_read;
        if lock_read {
            Since::update(&mut self.lock, snap.lock.as_ref().map(LeaseKey::of), now);
        } else {
            self.lock = None;
        }

        // The cool-down runs from the last handover this agent saw: the owner (or epoch)
        // changing, or a transition ending. The first observation is not a handover: an agent
        // that restarts must not delay a needed failover by a whole cool-down.
        let ownership = (
            cfg.owner_cluster.clone(),
            cfg.epoch,
            cfg.transition.as_ref().map(|t| t.id.clone()),
        );
        if let Some((owner, epoch, transition)) = &self.ownership {
            let ended = transition.is_some() && *transition != ownership.2;
            if *owner != ownership.0 || *epoch != ownership.1 || ended {
                self.handover_at = Some(now);
            }
        }
        self.ownership = Some(ownership);
    }

    /// How long this agent has been observing the group (zero before the first observation).
    pub fn observed_for(&self, now: Duration) -> Duration {
        self.first_at
            .map_or(Duration::ZERO, |f| now.saturating_sub(f))
    }

    /// The last beat seen for a cluster, if it was ever looked at.
    pub fn beat(&self, cluster: &str) -> Option<&Beat> {
        self.clusters
            .get(cluster)
            .and_then(|c| c.beat.as_ref())
            .map(|b| &b.value)
    }

    /// How long a cluster's heartbeat has been seen unchanged (zero for a cluster never looked
    /// at: an unobserved silence counts for nothing).
    pub fn heartbeat_unchanged_for(&self, cluster: &str, now: Duration) -> Duration {
        self.clusters
            .get(cluster)
            .and_then(|c| c.beat.as_ref())
            .map_or(Duration::ZERO, |b| now.saturating_sub(b.since))
    }

    /// How long a cluster has been seen reporting health ERROR without interruption, if it does.
    pub fn error_for(&self, cluster: &str, now: Duration) -> Option<Duration> {
        self.clusters
            .get(cluster)
            .and_then(|c| c.error_since)
            .map(|since| now.saturating_sub(since))
    }

    /// How long CONFIG has been seen at `version` (zero when the last version seen differs).
    pub fn version_unchanged_for(&self, version: u64, now: Duration) -> Duration {
        match &self.version {
            Some(v) if v.value == version => now.saturating_sub(v.since),
            _ => Duration::ZERO,
        }
    }

    /// Whether the last observation included the LOCK.
    pub fn lock_read(&self) -> bool {
        self.lock_read
    }

    /// How long `lock` (same token, same expiry) has been observed unchanged without a break;
    /// `None` when the last observation did not include the lock or saw a different one.
    pub fn lock_unchanged_for(&self, lock: &Lock, now: Duration) -> Option<Duration> {
        match &self.lock {
            Some(Since {
                value: Some(key),
                since,
            }) if *key == LeaseKey::of(lock) => Some(now.saturating_sub(*since)),
            _ => None,
        }
    }

    /// Time since this agent last saw ownership change or a transition end; `None` if it never
    /// saw one.
    pub fn since_handover(&self, now: Duration) -> Option<Duration> {
        self.handover_at.map(|at| now.saturating_sub(at))
    }
}

#[cfg(test)]
#[path = "observe_tests.rs"]
mod tests;
