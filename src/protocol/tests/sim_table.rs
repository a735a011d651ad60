//! The simulated table and clusters for the property tests: the store's conditional semantics
//! (CAS on version, lock tokens, guarded writes with history, never overwriting history), and a
//! cluster that refuses actions from an older epoch. Every write checks invariants 2-4 as it
//! happens.

use crate::k8s::Action;
use crate::protocol::*;
use crate::store::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The shared table of one group.
#[derive(Debug, Clone)]
pub struct Table {
    pub config: GroupConfig,
    pub clusters: BTreeMap<String, ClusterStatus>,
    pub lock: Option<Lock>,
    /// Real time of the last change of the lock (acquire, renew, take-over, release).
    pub lock_changed_at: Duration,
    /// History by sort key.
    pub history: BTreeMap<String, HistoryRecord>,
    /// Every transition id ever written, and those that ended.
    pub started: BTreeSet<String>,
    pub ended: BTreeSet<String>,
    pub lease: Duration,
    tokens: u64,
}

impl Table {
    pub fn new(config: GroupConfig, lease: Duration) -> Self {
        Table {
            config,
            clusters: BTreeMap::new(),
            lock: None,
            lock_changed_at: Duration::ZERO,
            history: BTreeMap::new(),
            started: BTreeSet::new(),
            ended: BTreeSet::new(),
            lease,
            tokens: 0,
        }
    }

    pub fn snapshot(&self, include_lock: bool) -> GroupSnapshot {
        GroupSnapshot {
            config: self.config.clone(),
            clusters: self.clusters.values().cloned().collect(),
            lock: self.lock.clone().filter(|_| include_lock),
        }
    }

    /// Replaces CONFIG (the version check already passed) and checks invariants 2 and 4.
    fn write_config(&mut self, mut next: GroupConfig, history: Option<&HistoryRecord>) {
        let old = &self.config;
        next.version = old.version + 1;
        assert!(
            next.epoch >= old.epoch,
            "epoch went back: {} -> {}",
            old.epoch,
            next.epoch
        );
        assert!(
            next.epoch <= next.version,
            "an epoch is a version that has been written"
        );
        if next.owner_cluster != old.owner_cluster {
            assert_eq!(
                next.epoch, next.version,
                "an ownership change is a new epoch"
            );
        }
        let old_id = old.transition.as_ref().map(|t| t.id.clone());
        let new_id = next.transition.as_ref().map(|t| t.id.clone());
        if let Some(id) = &new_id {
            self.started.insert(id.clone());
            assert!(
                !self.ended.contains(id),
                "transition {id} came back after it ended"
            );
        }
        if let Some(id) = old_id.filter(|id| new_id.as_ref() != Some(id)) {
            assert!(
                history.is_some_and(|h| h.failover_name == id),
                "transition {id} left CONFIG without its history record in the same write"
            );
            self.ended.insert(id);
        } else {
            assert!(
                history.is_none(),
                "history written by a write that ends nothing"
            );
        }
        self.config = next;
    }

    pub fn cas(&mut self, expected: u64, config: &GroupConfig) -> bool {
        if self.config.version != expected {
            return false;
        }
        self.write_config(config.clone(), None);
        true
    }

    /// `flip_ownership`: version + token (+ no existing history key), all or nothing.
    pub fn guarded(&mut self, req: &FlipRequest) -> FlipConflict {
        let key = req
            .history
            .as_ref()
            .map(|h| history_timestamp(h.start_time));
        let conflict = FlipConflict {
            version_changed: self.config.version != req.expected_version,
            lock_lost: self
                .lock
                .as_ref()
                .is_none_or(|l| l.lease_token != req.lease_token),
            history_exists: key.as_ref().is_some_and(|k| self.history.contains_key(k)),
        };
        if conflict == FlipConflict::default() {
            self.write_config(req.new_config.clone(), req.history.as_ref());
            if let (Some(k), Some(h)) = (key, &req.history) {
                let dup = self
                    .history
                    .values()
                    .any(|r| r.failover_name == h.failover_name);
                assert!(!dup, "a second history record for {}", h.failover_name);
                self.history.insert(k, h.clone());
            }
        }
        conflict
    }

    fn new_lock(&mut self, req: &LockRequest, now: Duration) -> Lock {
        self.tokens += 1;
        let l = Lock {
            locked_by: req.holder.clone(),
            lock_reason: req.reason.clone(),
            acquired_at: Some(req.now),
            expires_at: lease_until(req.now, req.lease),
            lease_token: format!("tok-{}", self.tokens),
        };
        self.lock = Some(l.clone());
        self.lock_changed_at = now;
        l
    }

    pub fn acquire(&mut self, req: &LockRequest, now: Duration) -> Option<Lock> {
        match self.lock {
            Some(_) => None,
            None => Some(self.new_lock(req, now)),
        }
    }

    /// `take_over_lock`, checking invariant 3: a held lease is taken over only after it has
    /// been unchanged for a whole lease.
    pub fn take_over(&mut self, observed: &Lock, req: &LockRequest, now: Duration) -> Option<Lock> {
        match &self.lock {
            Some(l)
                if l.lease_token == observed.lease_token && l.expires_at == observed.expires_at =>
            {
                let idle = now.saturating_sub(self.lock_changed_at);
                assert!(
                    idle >= self.lease,
                    "lock taken over after only {idle:?} unchanged"
                );
                Some(self.new_lock(req, now))
            }
            Some(_) => None,
            None => Some(self.new_lock(req, now)),
        }
    }

    pub fn renew(
        &mut self,
        token: &str,
        lease: Duration,
        wall: chrono::DateTime<chrono::Utc>,
        now: Duration,
    ) -> Option<Lock> {
        let l = self.lock.as_mut().filter(|l| l.lease_token == token)?;
        l.expires_at = lease_until(wall, lease);
        self.lock_changed_at = now;
        Some(l.clone())
    }

    pub fn release(&mut self, token: &str, now: Duration) {
        if self.lock.as_ref().is_some_and(|l| l.lease_token == token) {
            self.lock = None;
            self.lock_changed_at = now;
        }
    }

    /// Executes one intent with the store's semantics, keeping the executing agent's memory of
    /// its lock (`lock`) as an agent would; false on a lost race.
    pub fn execute(&mut self, w: &Intent, lock: &mut Option<Lock>, now: Duration) -> bool {
        match w {
            Intent::StartTransition {
                expected_version,
                config,
            }
            | Intent::AcknowledgeSettings {
                expected_version,
                config,
            } => self.cas(*expected_version, config),
            Intent::AcquireLock(req) => {
                *lock = self.acquire(req, now);
                lock.is_some()
            }
            Intent::TakeOverLock { observed, request } => {
                *lock = self.take_over(observed, request, now);
                lock.is_some()
            }
            Intent::RenewLock {
                lease_token,
                lease,
                now: wall,
            } => {
                *lock = self.renew(lease_token, *lease, *wall, now);
                lock.is_some()
            }
            Intent::AdvancePhase(r) | Intent::Flip(r) | Intent::Finish(r) => {
                let c = self.guarded(r);
                if c.lock_lost {
                    *lock = None;
                }
                c == FlipConflict::default()
            }
            Intent::ReleaseLock { lease_token } => {
                self.release(lease_token, now);
                *lock = None;
                true
            }
        }
    }

    /// Invariant 4 at any moment: every ended transition has exactly one record, every record
    /// belongs to an ended transition.
    pub fn check_history(&self) {
        let names: Vec<&String> = self.history.values().map(|h| &h.failover_name).collect();
        let unique: BTreeSet<&String> = names.iter().copied().collect();
        assert_eq!(names.len(), unique.len(), "duplicate history records");
        let ended: BTreeSet<&String> = self.ended.iter().collect();
        assert_eq!(unique, ended, "history records vs ended transitions");
    }
}

/// A simulated cluster's resources for the group: which of the four activation steps are in
/// the active state, and the newest epoch applied.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub applied_epoch: u64,
    /// PromoteVolumes, ScaleUp, ResumeJobs, NetworkOn applied (true) or undone (false).
    pub on: [bool; 4],
}

impl Cluster {
    fn slot(a: Action) -> (usize, bool) {
        match a {
            Action::PromoteVolumes => (0, true),
            Action::ScaleUp => (1, true),
            Action::ResumeJobs => (2, true),
            Action::NetworkOn => (3, true),
            Action::DemoteVolumes => (0, false),
            Action::ScaleDown => (1, false),
            Action::SuspendJobs => (2, false),
            Action::NetworkOff => (3, false),
        }
    }

    /// Whether the network is on (the cluster serves).
    pub fn network_on(&self) -> bool {
        self.on[3]
    }

    /// Applies one action at `epoch`: `None` when refused (older epoch), else whether it
    /// changed anything.
    pub fn apply(&mut self, a: Action, epoch: u64) -> Option<bool> {
        if epoch < self.applied_epoch {
            return None;
        }
        self.applied_epoch = epoch;
        let (i, v) = Self::slot(a);
        let changed = self.on[i] != v;
        self.on[i] = v;
        Some(changed)
    }

    /// Whether every step of `role` is in place.
    pub fn converged(&self, role: Role) -> bool {
        self.on.iter().all(|on| *on == role.is_active())
    }
}
