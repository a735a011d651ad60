//! The status use case: load one group, a namespace's groups or every group of an operator from
//! the store and turn each into a [`GroupView`] (owner, clusters with heartbeat age and health,
//! lock countdown, suspension). Building a view is pure (`group_view`); loading does the I/O.

mod listing;
mod view;

pub use view::{ClusterView, GroupView, LastFailoverView, LockView, Role, group_view};

use crate::clock::Clock;
use crate::error::Error;
use crate::store::{CoordinationStore, GroupId, GroupSnapshot, StoreError};
use serde::Serialize;
use std::sync::Arc;
use tokio::task::JoinSet;

/// How many groups a listing loads at once: enough to hide round-trip latency, few enough not
/// to trip throttling on a table with provisioned capacity.
pub const LOAD_CONCURRENCY: usize = 8;

/// Which groups a status listing covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    /// The groups in one namespace.
    Namespace(String),
    /// Every group of the operator, in every namespace.
    AllNamespaces,
}

/// Several groups' status, sorted by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusList {
    /// One view per group.
    pub groups: Vec<GroupView>,
    /// Records that could not be read, one message each. Not part of the serialized output: the
    /// CLI prints them to stderr so that stdout stays a clean document.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// The status of one group; `Error::GroupNotFound` when it has no CONFIG record.
pub async fn group_status(
    store: &dyn CoordinationStore,
    clock: &dyn Clock,
    operator_id: &str,
    group: &GroupId,
) -> Result<GroupView, Error> {
    match store.load_group(operator_id, group).await? {
        Some(snapshot) => Ok(group_view(&snapshot, clock.now())),
        None => Err(Error::GroupNotFound {
            group: group.to_string(),
            operator_id: operator_id.to_string(),
            store: store.describe(),
        }),
    }
}

/// The status of every group in `scope`: lists the operator's groups and their clusters' records
/// through GSI1 (`listing`), and loads one by one, a few at a time, only the groups the index
/// cannot describe (a transition in flight, or no member list in CONFIG).
///
/// A group whose records cannot be read, or that vanished between the listing and the load,
/// becomes a warning instead of hiding every other group. Errors that concern the whole store
/// (missing table, no access, unreachable) fail the call.
pub async fn list_status(
    store: Arc<dyn CoordinationStore>,
    clock: &dyn Clock,
    operator_id: &str,
    scope: &ListScope,
) -> Result<StatusList, Error> {
    let listing = store.list_groups(operator_id).await?;
    let mut warnings = listing.skipped;
    let configs: Vec<_> = listing
        .items
        .into_iter()
        .filter(|config| match scope {
            ListScope::Namespace(ns) => &config.group.namespace == ns,
            ListScope::AllNamespaces => true,
        })
        .collect();
    let indexed = listing::from_index(store.as_ref(), operator_id, configs).await?;
    warnings.extend(indexed.warnings);
    let mut snapshots: Vec<GroupSnapshot> = indexed.snapshots;
    let mut pending = indexed.to_load;
    // Spawned from the back, so reverse to start with the first group in listing order.
    pending.reverse();

    let mut tasks = JoinSet::new();
    loop {
        while tasks.len() < LOAD_CONCURRENCY {
            let Some(group) = pending.pop() else { break };
            let store = Arc::clone(&store);
            let operator_id = operator_id.to_string();
            tasks.spawn(async move {
                let loaded = store.load_group(&operator_id, &group).await;
                (group, loaded)
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (group, loaded) = joined.map_err(|e| {
            Error::Internal(anyhow::anyhow!("loading a group's status failed: {e}"))
        })?;
        match loaded {
            Ok(Some(snapshot)) => snapshots.push(snapshot),
            // The listing index is eventually consistent: a group deleted a moment ago may
            // still be listed. Saying so is more useful than failing.
            Ok(None) => warnings.push(format!(
                "FailoverGroup {group} is listed but has no CONFIG record any more (deleted?); skipped"
            )),
            Err(e @ StoreError::Malformed { .. }) => {
                warnings.push(format!("FailoverGroup {group} skipped: {e}"))
            }
            Err(e) => return Err(e.into()),
        }
    }

    // One instant for every view, taken after the loads, so ages in one listing are comparable.
    let now = clock.now();
    let mut groups: Vec<GroupView> = snapshots.iter().map(|s| group_view(s, now)).collect();
    groups.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(StatusList { groups, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::memory::MemoryStore;
    use crate::store::{ClusterState, ClusterStatus, CreateOutcome, GroupConfig, Health};
    use chrono::{DateTime, Utc};
    use std::collections::BTreeMap;

    const OP: &str = "op";

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    async fn seed(store: &MemoryStore, ns: &str, name: &str, owner: &str) -> GroupId {
        let id = GroupId::new(ns, name).unwrap();
        let created = store
            .create_config(&GroupConfig::new(OP, id.clone(), owner, t0()))
            .await
            .unwrap();
        assert!(matches!(created, CreateOutcome::Created(_)));
        store
            .put_cluster_status(
                OP,
                &id,
                &ClusterStatus {
                    cluster_name: owner.to_string(),
                    health: Health::Ok,
                    state: ClusterState::Primary,
                    last_heartbeat: Some(t0()),
                    heartbeat_seq: Some(1),
                    components: BTreeMap::new(),
                    ack: None,
                    fenced: false,
                },
            )
            .await
            .unwrap();
        id
    }

    #[tokio::test]
    async fn a_group_without_config_is_reported_as_not_found_with_operator_and_store() {
        let store = MemoryStore::new();
        let clock = ManualClock::starting_at(t0());
        let id = GroupId::new("shop", "web").unwrap();
        let err = group_status(&store, &clock, OP, &id).await.unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::NotFound);
        let msg = err.to_string();
        assert!(msg.contains("shop/web"), "{msg}");
        assert!(msg.contains("\"op\""), "{msg}");
        assert!(msg.contains("in-memory"), "{msg}");
    }

    #[tokio::test]
    async fn one_group_is_viewed_with_ages_from_the_injected_clock() {
        let store = MemoryStore::new();
        let id = seed(&store, "shop", "web", "cluster-a").await;
        let clock = ManualClock::starting_at(t0());
        clock.advance(std::time::Duration::from_secs(42));
        let view = group_status(&store, &clock, OP, &id).await.unwrap();
        assert_eq!(view.owner_cluster, "cluster-a");
        assert_eq!(view.clusters[0].heartbeat_age_seconds, Some(42));
        assert!(!view.clusters[0].heartbeat_stale);
    }

    #[tokio::test]
    async fn a_namespace_listing_keeps_only_that_namespace_sorted_by_name() {
        let store = MemoryStore::new();
        seed(&store, "shop", "web", "a").await;
        seed(&store, "shop", "api", "b").await;
        seed(&store, "blog", "web", "a").await;
        let store: Arc<dyn CoordinationStore> = Arc::new(store);
        let clock = ManualClock::starting_at(t0());
        let list = list_status(store, &clock, OP, &ListScope::Namespace("shop".into()))
            .await
            .unwrap();
        let names: Vec<_> = list.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["api", "web"]);
        assert!(list.groups.iter().all(|g| g.namespace == "shop"));
    }

    #[tokio::test]
    async fn listing_every_namespace_loads_more_groups_than_the_concurrency_bound() {
        let store = MemoryStore::new();
        let total = LOAD_CONCURRENCY * 2 + 3;
        for i in 0..total {
            seed(&store, &format!("ns{:02}", i % 5), &format!("g{i:02}"), "a").await;
        }
        seed(&store, "x", "other-operator", "a").await;
        let other = GroupConfig::new("someone-else", GroupId::new("x", "y").unwrap(), "a", t0());
        let _ = store.create_config(&other).await.unwrap();
        let store: Arc<dyn CoordinationStore> = Arc::new(store);
        let clock = ManualClock::starting_at(t0());
        let list = list_status(store, &clock, OP, &ListScope::AllNamespaces)
            .await
            .unwrap();
        assert_eq!(list.groups.len(), total + 1);
        assert!(list.groups.iter().all(|g| g.operator_id == OP));
        let keys: Vec<_> = list
            .groups
            .iter()
            .map(|g| (g.namespace.clone(), g.name.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(list.warnings.is_empty());
    }

    /// `count` groups in 4 namespaces, each with records of east (owner), west and north, and
    /// CONFIG naming its members as the controllers write it (`appliedSpecs`).
    async fn seed_members(store: &MemoryStore, count: usize) {
        for i in 0..count {
            let id = seed(store, &format!("ns{}", i % 4), &format!("g{i:03}"), "east").await;
            for (seq, cluster) in ["west", "north"].iter().enumerate() {
                let mut record =
                    store.load_group(OP, &id).await.unwrap().unwrap().clusters[0].clone();
                record.cluster_name = cluster.to_string();
                record.state = ClusterState::Standby;
                record.heartbeat_seq = Some(seq as u64 + 2);
                store.put_cluster_status(OP, &id, &record).await.unwrap();
            }
            let config = store.load_group(OP, &id).await.unwrap().unwrap().config;
            let mut next = config.clone();
            for c in ["east", "west", "north"] {
                next.applied_specs.insert(c.into(), "spec".into());
            }
            let _ = store.update_config(config.version, &next).await.unwrap();
        }
    }

    #[tokio::test]
    async fn listing_every_namespace_reads_the_index_once_per_cluster_not_every_group() {
        let memory = MemoryStore::new();
        seed_members(&memory, 40).await;
        // One group mid-transition: its lock is not in the index, so it is loaded on its own.
        let moving = GroupId::new("ns0", "g000").unwrap();
        let config = memory
            .load_group(OP, &moving)
            .await
            .unwrap()
            .unwrap()
            .config;
        let request = crate::protocol::TransitionRequest {
            target: "west".into(),
            mode: crate::store::FailoverMode::Consistency,
            force: false,
            reason: "test".into(),
            initiator: "test".into(),
            id: "t1".into(),
            wall_now: t0(),
            has_volume_replications: false,
            automatic: false,
        };
        let snap = memory.load_group(OP, &moving).await.unwrap().unwrap();
        let next = crate::protocol::request_transition(&snap, &request).unwrap();
        let _ = memory.update_config(config.version, &next).await.unwrap();

        let store = Arc::new(crate::store::instrumented::InstrumentedStore::new(
            Arc::new(memory),
            "cli",
        ));
        let clock = ManualClock::starting_at(t0());
        let list = list_status(store.clone(), &clock, OP, &ListScope::AllNamespaces)
            .await
            .unwrap();
        assert_eq!(list.groups.len(), 40);
        for g in &list.groups {
            let names: Vec<_> = g.clusters.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(
                names,
                ["east", "north", "west"],
                "{}/{}",
                g.namespace,
                g.name
            );
        }
        let counts = store.counts();
        // 1 listing of CONFIGs + 1 per cluster (3), and the one group in flight (CONFIG and
        // records, then its lock): 6 requests instead of 80.
        assert_eq!(counts.listings, 4, "{counts:?}");
        assert_eq!(
            counts.by_operation.get("load_group"),
            Some(&1),
            "{counts:?}"
        );
        assert!(counts.listings + counts.reads <= 6, "{counts:?}");
    }

    #[tokio::test]
    async fn an_empty_namespace_lists_nothing_and_is_not_an_error() {
        let store: Arc<dyn CoordinationStore> = Arc::new(MemoryStore::new());
        let clock = ManualClock::starting_at(t0());
        let list = list_status(store, &clock, OP, &ListScope::Namespace("default".into()))
            .await
            .unwrap();
        assert!(list.groups.is_empty());
    }
}
