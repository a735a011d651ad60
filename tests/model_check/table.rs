//! The coordination table of one group with the conditional semantics of each store operation
//! (`src/store/mod.rs`, as `src/store/memory.rs` implements them): CAS on CONFIG's version, lock
//! operations on tokens, the guarded write that checks version and token and appends history
//! without ever overwriting it. Lease tokens come from a counter so that runs are deterministic.

use super::world::Breaches;
use kubectl_failover::protocol::Intent;
use kubectl_failover::store::{
    ClusterStatus, FlipConflict, FlipRequest, GroupConfig, GroupSnapshot, HistoryRecord, Lock,
    LockRequest, history_timestamp, lease_until,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The table's records for the group, plus what the invariants need to know about its past.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Table {
    /// CONFIG.
    pub config: GroupConfig,
    /// `CLUSTER#` records by cluster name.
    pub clusters: BTreeMap<String, ClusterStatus>,
    /// LOCK.
    pub lock: Option<Lock>,
    /// Global time (intervals) since which the lock's (token, expiry) has been what it is.
    pub lock_since: u64,
    /// The current lock was obtained by a take-over (a witness).
    pub lock_taken_over: bool,
    /// `HISTORY#` records by sort key.
    pub history: BTreeMap<String, HistoryRecord>,
    /// Ids of the transitions that left CONFIG.
    pub ended: BTreeSet<String>,
    /// Lease tokens issued so far.
    pub tokens: u64,
    /// The deliberate bug: no write checks its condition (version, token, holder).
    pub unconditional: bool,
}

/// What the agent learns from one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; go on with the next write. For a lock operation: the lock now held.
    Done(Option<Lock>),
    /// A lost race: stop the list. `forget_lock`: the agent must forget its lock.
    Lost {
        /// `NotHeld`, or a guarded write cancelled with `lock_lost`.
        forget_lock: bool,
    },
}

impl Table {
    /// A table holding only CONFIG.
    pub fn new(config: GroupConfig, unconditional: bool) -> Self {
        Table {
            config,
            clusters: BTreeMap::new(),
            lock: None,
            lock_since: 0,
            lock_taken_over: false,
            history: BTreeMap::new(),
            ended: BTreeSet::new(),
            tokens: 0,
            unconditional,
        }
    }

    /// `load_group_with`: CONFIG and every `CLUSTER#` record, the LOCK only when asked for.
    pub fn snapshot(&self, with_lock: bool) -> GroupSnapshot {
        GroupSnapshot {
            config: self.config.clone(),
            clusters: self.clusters.values().cloned().collect(),
            lock: self.lock.clone().filter(|_| with_lock),
        }
    }

    /// `put_cluster_status`.
    pub fn put_status(&mut self, status: ClusterStatus) {
        self.clusters.insert(status.cluster_name.clone(), status);
    }

    fn version_ok(&self, expected: u64) -> bool {
        self.unconditional || self.config.version == expected
    }

    /// Replaces CONFIG with `next` at version `expected + 1`, noting which transition ended and
    /// whether ownership changed without being granted by this very write.
    fn write_config(&mut self, expected: u64, mut next: GroupConfig, breaches: &mut Breaches) {
        next.version = expected + 1;
        if next.owner_cluster != self.config.owner_cluster && next.epoch != next.version {
            breaches.ungranted_ownership = true;
        }
        let old_id = self.config.transition.as_ref().map(|t| t.id.clone());
        let new_id = next.transition.as_ref().map(|t| t.id.clone());
        if new_id.as_ref().is_some_and(|id| self.ended.contains(id)) {
            breaches.transition_came_back = true;
        }
        if let Some(id) = old_id.filter(|id| new_id.as_ref() != Some(id)) {
            self.ended.insert(id);
        }
        self.config = next;
    }

    /// `update_config`: compare-and-set on version.
    pub fn update_config(&mut self, expected: u64, config: &GroupConfig, b: &mut Breaches) -> bool {
        if !self.version_ok(expected) {
            return false;
        }
        self.write_config(expected, config.clone(), b);
        true
    }

    /// `flip_ownership`: version, lock token and history key checked, all or nothing.
    pub fn flip(&mut self, req: &FlipRequest, b: &mut Breaches) -> FlipConflict {
        let key = req
            .history
            .as_ref()
            .map(|h| history_timestamp(h.start_time));
        let conflict = FlipConflict {
            version_changed: !self.version_ok(req.expected_version),
            lock_lost: !self.unconditional
                && self
                    .lock
                    .as_ref()
                    .is_none_or(|l| l.lease_token != req.lease_token),
            history_exists: key.as_ref().is_some_and(|k| self.history.contains_key(k)),
        };
        if conflict == FlipConflict::default() {
            self.write_config(req.expected_version, req.new_config.clone(), b);
            if let (Some(k), Some(h)) = (key, &req.history) {
                self.history.insert(k, h.clone());
            }
        }
        conflict
    }

    fn set_lock(&mut self, lock: Option<Lock>, now: u64) {
        let key = |l: &Option<Lock>| l.as_ref().map(|l| (l.lease_token.clone(), l.expires_at));
        if key(&self.lock) != key(&lock) {
            self.lock_since = now;
        }
        self.lock = lock;
    }

    fn new_lock(&mut self, req: &LockRequest, now: u64, taken_over: bool) -> Lock {
        self.tokens += 1;
        let lock = Lock {
            locked_by: req.holder.clone(),
            lock_reason: req.reason.clone(),
            acquired_at: Some(req.now),
            expires_at: lease_until(req.now, req.lease),
            lease_token: format!("token-{}", self.tokens),
        };
        self.set_lock(Some(lock.clone()), now);
        self.lock_taken_over = taken_over;
        lock
    }

    /// Executes one intent at global time `now` (intervals) with the store's semantics. `lease`
    /// is the lease in intervals, for the take-over check of invariant 3.
    pub fn execute(&mut self, w: &Intent, now: u64, lease: u64, b: &mut Breaches) -> Outcome {
        let lost = Outcome::Lost { forget_lock: false };
        match w {
            Intent::StartTransition {
                expected_version,
                config,
            }
            | Intent::AcknowledgeSettings {
                expected_version,
                config,
            } => {
                if self.update_config(*expected_version, config, b) {
                    Outcome::Done(None)
                } else {
                    lost
                }
            }
            Intent::AcquireLock(req) => match self.lock {
                Some(_) if !self.unconditional => lost,
                _ => Outcome::Done(Some(self.new_lock(req, now, false))),
            },
            Intent::TakeOverLock { observed, request } => match &self.lock {
                Some(l)
                    if l.lease_token == observed.lease_token
                        && l.expires_at == observed.expires_at =>
                {
                    // Invariant 3: a held lease is taken over only after it stayed unchanged
                    // for a whole lease (the taker's observation starts no earlier than the
                    // change it saw, so its observed lease is at most this real one).
                    if now.saturating_sub(self.lock_since) < lease {
                        b.early_take_over = true;
                    }
                    Outcome::Done(Some(self.new_lock(request, now, true)))
                }
                Some(_) if !self.unconditional => lost,
                _ => Outcome::Done(Some(self.new_lock(request, now, false))),
            },
            Intent::RenewLock {
                lease_token,
                lease,
                now: wall,
            } => match self.lock.clone() {
                Some(mut l) if l.lease_token == *lease_token => {
                    l.expires_at = lease_until(*wall, *lease);
                    self.set_lock(Some(l.clone()), now);
                    Outcome::Done(Some(l))
                }
                _ => Outcome::Lost { forget_lock: true },
            },
            Intent::AdvancePhase(r) | Intent::Flip(r) | Intent::Finish(r) => {
                let c = self.flip(r, b);
                if c == FlipConflict::default() {
                    Outcome::Done(None)
                } else {
                    Outcome::Lost {
                        forget_lock: c.lock_lost,
                    }
                }
            }
            Intent::ReleaseLock { lease_token } => {
                if self
                    .lock
                    .as_ref()
                    .is_some_and(|l| l.lease_token == *lease_token)
                {
                    self.set_lock(None, now);
                    self.lock_taken_over = false;
                }
                // The agent forgets its lock whatever the outcome.
                Outcome::Done(None)
            }
        }
    }
}

/// The lease in intervals, from the timings every agent derives from CONFIG.
pub fn lease_intervals(config: &GroupConfig) -> u64 {
    let timings = super::world::policy(true)
        .timings(config)
        .expect("the model's timeouts are valid");
    let interval = Duration::from_secs(super::world::INTERVAL);
    u64::try_from(timings.lease.as_nanos() / interval.as_nanos()).expect("small lease")
}
