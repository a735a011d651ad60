//! The in-memory backend: the same conditional semantics as the DynamoDB table, for the embedded
//! demo and tests. One mutex guards everything, so every operation (and the flip) is atomic.

use super::*;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

type Key = (String, GroupId);

#[derive(Debug, Default)]
struct Group {
    config: Option<GroupConfig>,
    clusters: BTreeMap<String, ClusterStatus>,
    lock: Option<Lock>,
    history: BTreeMap<String, HistoryRecord>,
}

impl Group {
    fn is_empty(&self) -> bool {
        self.config.is_none()
            && self.clusters.is_empty()
            && self.lock.is_none()
            && self.history.is_empty()
    }
}

/// The in-memory coordination store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    groups: Mutex<BTreeMap<Key, Group>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Key, Group>> {
        // Every mutation below completes before the guard drops and none can panic halfway, so
        // data behind a poisoned mutex is still consistent.
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn key(operator_id: &str, group: &GroupId) -> Key {
    (operator_id.to_string(), group.clone())
}

#[async_trait]
impl CoordinationStore for MemoryStore {
    fn describe(&self) -> String {
        "the embedded in-memory store".to_string()
    }

    async fn load_group_with(
        &self,
        operator_id: &str,
        group: &GroupId,
        include_lock: bool,
    ) -> Result<Option<GroupSnapshot>, StoreError> {
        let groups = self.lock();
        let Some(g) = groups.get(&key(operator_id, group)) else {
            return Ok(None);
        };
        Ok(g.config.clone().map(|config| GroupSnapshot {
            config,
            clusters: g.clusters.values().cloned().collect(),
            lock: g.lock.clone().filter(|_| include_lock),
        }))
    }

    async fn list_groups(&self, operator_id: &str) -> Result<Listing<GroupConfig>, StoreError> {
        let groups = self.lock();
        let items = groups
            .iter()
            .filter(|((op, _), _)| op == operator_id)
            .filter_map(|(_, g)| g.config.clone())
            .collect();
        Ok(Listing {
            items,
            skipped: Vec::new(),
        })
    }

    async fn list_cluster_groups(
        &self,
        operator_id: &str,
        cluster: &str,
    ) -> Result<Listing<ClusterMembership>, StoreError> {
        let groups = self.lock();
        let items = groups
            .iter()
            .filter(|((op, _), _)| op == operator_id)
            .filter_map(|((_, id), g)| {
                g.clusters.get(cluster).map(|status| ClusterMembership {
                    group: id.clone(),
                    status: status.clone(),
                })
            })
            .collect();
        Ok(Listing {
            items,
            skipped: Vec::new(),
        })
    }

    async fn create_config(&self, config: &GroupConfig) -> Result<CreateOutcome, StoreError> {
        let mut groups = self.lock();
        let g = groups
            .entry(key(&config.operator_id, &config.group))
            .or_default();
        if let Some(existing) = &g.config {
            return Ok(CreateOutcome::AlreadyExists(existing.clone()));
        }
        g.config = Some(config.clone());
        Ok(CreateOutcome::Created(config.clone()))
    }

    async fn update_config(
        &self,
        expected_version: u64,
        config: &GroupConfig,
    ) -> Result<CasOutcome, StoreError> {
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(&key(&config.operator_id, &config.group)) else {
            return Ok(CasOutcome::Conflict { current: None });
        };
        match &mut g.config {
            Some(current) if current.version == expected_version => {
                let mut next = config.clone();
                next.version = expected_version + 1;
                *current = next.clone();
                Ok(CasOutcome::Applied(next))
            }
            other => Ok(CasOutcome::Conflict {
                current: other.clone(),
            }),
        }
    }

    async fn put_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        status: &ClusterStatus,
    ) -> Result<(), StoreError> {
        let mut groups = self.lock();
        groups
            .entry(key(operator_id, group))
            .or_default()
            .clusters
            .insert(status.cluster_name.clone(), status.clone());
        Ok(())
    }

    async fn delete_cluster_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        cluster: &str,
    ) -> Result<(), StoreError> {
        let mut groups = self.lock();
        let k = key(operator_id, group);
        if let Some(g) = groups.get_mut(&k) {
            g.clusters.remove(cluster);
            if g.is_empty() {
                groups.remove(&k);
            }
        }
        Ok(())
    }

    async fn acquire_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        let mut groups = self.lock();
        let g = groups.entry(key(operator_id, group)).or_default();
        if let Some(held) = &g.lock {
            return Ok(LockOutcome::Held(held.clone()));
        }
        let lock = new_lock(request);
        g.lock = Some(lock.clone());
        Ok(LockOutcome::Acquired(lock))
    }

    async fn take_over_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        observed: &Lock,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        let mut groups = self.lock();
        let g = groups.entry(key(operator_id, group)).or_default();
        match &g.lock {
            Some(held)
                if held.lease_token == observed.lease_token
                    && held.expires_at == observed.expires_at =>
            {
                let lock = new_lock(request);
                g.lock = Some(lock.clone());
                Ok(LockOutcome::Acquired(lock))
            }
            Some(held) => Ok(LockOutcome::Held(held.clone())),
            // Released meanwhile: the lock is free, so taking it is what any caller would do.
            None => {
                let lock = new_lock(request);
                g.lock = Some(lock.clone());
                Ok(LockOutcome::Acquired(lock))
            }
        }
    }

    async fn renew_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
        lease: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseOutcome, StoreError> {
        let mut groups = self.lock();
        let g = groups.entry(key(operator_id, group)).or_default();
        match &mut g.lock {
            Some(held) if held.lease_token == lease_token => {
                held.expires_at = lease_until(now, lease);
                Ok(LeaseOutcome::Done(Some(held.clone())))
            }
            other => Ok(LeaseOutcome::NotHeld {
                current: other.clone(),
            }),
        }
    }

    async fn release_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
    ) -> Result<LeaseOutcome, StoreError> {
        let mut groups = self.lock();
        let g = groups.entry(key(operator_id, group)).or_default();
        match &g.lock {
            Some(held) if held.lease_token == lease_token => {
                g.lock = None;
                Ok(LeaseOutcome::Done(None))
            }
            other => Ok(LeaseOutcome::NotHeld {
                current: other.clone(),
            }),
        }
    }

    async fn append_history(
        &self,
        operator_id: &str,
        group: &GroupId,
        record: &HistoryRecord,
    ) -> Result<AppendOutcome, StoreError> {
        let mut groups = self.lock();
        let g = groups.entry(key(operator_id, group)).or_default();
        let sk = history_timestamp(record.start_time);
        if g.history.contains_key(&sk) {
            return Ok(AppendOutcome::AlreadyExists);
        }
        g.history.insert(sk, record.clone());
        Ok(AppendOutcome::Appended)
    }

    async fn history(
        &self,
        operator_id: &str,
        group: &GroupId,
        limit: usize,
        page: Option<&str>,
    ) -> Result<HistoryPage, StoreError> {
        let groups = self.lock();
        let Some(g) = groups.get(&key(operator_id, group)) else {
            return Ok(HistoryPage::default());
        };
        let limit = limit.max(1);
        let mut older = g
            .history
            .iter()
            .rev()
            .filter(|(sk, _)| page.is_none_or(|p| sk.as_str() < p));
        let records: Vec<(String, HistoryRecord)> = older
            .by_ref()
            .take(limit)
            .map(|(sk, r)| (sk.clone(), r.clone()))
            .collect();
        let more = older.next().is_some();
        let next_page = if more {
            records.last().map(|(sk, _)| sk.clone())
        } else {
            None
        };
        Ok(HistoryPage {
            records: records.into_iter().map(|(_, r)| r).collect(),
            next_page,
        })
    }

    async fn flip_ownership(&self, request: &FlipRequest) -> Result<FlipOutcome, StoreError> {
        let mut groups = self.lock();
        let cfg = &request.new_config;
        let g = groups.entry(key(&cfg.operator_id, &cfg.group)).or_default();
        let sk = request
            .history
            .as_ref()
            .map(|h| history_timestamp(h.start_time));
        let conflict = FlipConflict {
            version_changed: g
                .config
                .as_ref()
                .is_none_or(|c| c.version != request.expected_version),
            lock_lost: g
                .lock
                .as_ref()
                .is_none_or(|l| l.lease_token != request.lease_token),
            history_exists: sk.as_ref().is_some_and(|k| g.history.contains_key(k)),
        };
        if conflict != FlipConflict::default() {
            return Ok(FlipOutcome::Cancelled(conflict));
        }
        let mut next = cfg.clone();
        next.version = request.expected_version + 1;
        g.config = Some(next.clone());
        if let (Some(k), Some(h)) = (sk, &request.history) {
            g.history.insert(k, h.clone());
        }
        Ok(FlipOutcome::Committed(Box::new(next)))
    }
}

fn new_lock(request: &LockRequest) -> Lock {
    Lock {
        locked_by: request.holder.clone(),
        lock_reason: request.reason.clone(),
        acquired_at: Some(request.now),
        expires_at: lease_until(request.now, request.lease),
        lease_token: new_lease_token(),
    }
}
