//! Waits the scenarios share: a cluster fully active or fully standby, the table naming an
//! owner, a FailoverGroup status showing a role. Each returns what it found, and its timeout
//! message says what was seen instead.

use std::time::Duration;

use kubectl_failover::store::{ClusterState, GroupSnapshot, HistoryRecord};
use serde_json::Value;

use super::cluster::{AppView, Cluster};
use super::poll::until;
use super::world::World;

/// The Deployment/StatefulSet annotation holding the replica count to restore.
pub const REPLICAS_ANNOTATION: &str = "kubectl-failover.io/replicas";
/// The annotation stamping the fencing epoch on every object the controller changes.
pub const EPOCH_ANNOTATION: &str = "kubectl-failover.io/epoch";
/// The finalizer the controller puts on FailoverGroups.
pub const FINALIZER: &str = "kubectl-failover.io/cleanup";

/// Waits until every resource of the group is active in `cluster`.
pub async fn active(cluster: &Cluster, limit: Duration) -> AppView {
    let what = format!("{} serves the group (every resource active)", cluster.name);
    until(limit, &what, || {
        let view = cluster.view();
        async move {
            if view.is_active() {
                Ok(view)
            } else {
                Err(view.summary())
            }
        }
    })
    .await
    .0
}

/// Waits until every resource of the group is on standby in `cluster`.
pub async fn standby(cluster: &Cluster, limit: Duration) -> AppView {
    let what = format!("{} keeps the group on standby", cluster.name);
    until(limit, &what, || {
        let view = cluster.view();
        async move {
            if view.is_standby() {
                Ok(view)
            } else {
                Err(view.summary())
            }
        }
    })
    .await
    .0
}

/// Waits until the table names `owner` as the group's owner with no transition in flight.
pub async fn owner(world: &World, owner: &str, limit: Duration) -> GroupSnapshot {
    let what = format!("the table names {owner} owner with no transition in flight");
    until(limit, &what, || async {
        let snap = world.snapshot().await?.ok_or("no CONFIG record yet")?;
        let c = &snap.config;
        if c.owner_cluster == owner && c.transition.is_none() {
            Ok(snap)
        } else {
            Err(format!(
                "owner {} version {} epoch {} transition {:?}",
                c.owner_cluster, c.version, c.epoch, c.transition
            ))
        }
    })
    .await
    .0
}

/// Waits until `cluster`'s CLUSTER# record reports `state`.
pub async fn reported_state(world: &World, cluster: &str, state: ClusterState, limit: Duration) {
    let what = format!("{cluster}'s heartbeat record reports {state:?}");
    until(limit, &what, || async {
        let snap = world.snapshot().await?.ok_or("no CONFIG record yet")?;
        let seen: Vec<String> = snap
            .clusters
            .iter()
            .map(|c| format!("{}={:?}", c.cluster_name, c.state))
            .collect();
        match snap.clusters.iter().find(|c| c.cluster_name == cluster) {
            Some(c) if c.state == state => Ok(()),
            _ => Err(seen.join(", ")),
        }
    })
    .await;
}

/// Waits until `cluster`'s FailoverGroup status shows `role` and, if given, `active` as the
/// active cluster.
pub async fn status_role(
    cluster: &Cluster,
    role: &str,
    active: Option<&str>,
    limit: Duration,
) -> Value {
    let what = format!(
        "{}'s FailoverGroup status shows role {role}, active cluster {active:?}",
        cluster.name
    );
    until(limit, &what, || {
        let status = cluster
            .failover_group()
            .map(|g| g["status"].clone())
            .unwrap_or(Value::Null);
        async move {
            if status["role"] == role && active.is_none_or(|a| status["activeCluster"] == a) {
                Ok(status)
            } else {
                Err(status.to_string())
            }
        }
    })
    .await
    .0
}

/// Waits until the history holds `n` records; returns them newest first.
pub async fn history_len(world: &World, n: usize, limit: Duration) -> Vec<HistoryRecord> {
    let what = format!("{n} history record(s)");
    until(limit, &what, || async {
        let records = world.history().await?;
        if records.len() == n {
            Ok(records)
        } else {
            Err(format!("{records:?}"))
        }
    })
    .await
    .0
}

/// An annotation of an object, if set.
pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj["metadata"]["annotations"][key].as_str()
}
