//! Listing many groups through GSI1 instead of group by group: the operator's CONFIG records in
//! one paged query, then every member cluster's heartbeat records in one paged query per
//! cluster. `status -A` over N groups and C clusters then costs about `1 + C` queries (times the
//! pages), not `2 x N` strongly consistent loads. The index is eventually consistent, which a
//! display can afford; decisions never read it.
//!
//! Where the index cannot say everything a view shows, the group is loaded on its own: a group
//! with a transition in flight (the view shows its lock, which GSI1 does not hold), and a group
//! whose member clusters CONFIG does not name (`appliedSpecs` is written by the controllers; a
//! table written by another tool may lack it).

use crate::store::{
    ClusterStatus, CoordinationStore, GroupConfig, GroupId, GroupSnapshot, StoreError,
};
use std::collections::{BTreeMap, BTreeSet};

/// What the index gave: whole snapshots, the groups to load one by one, and records skipped.
#[derive(Debug, Default)]
pub struct FromIndex {
    /// Snapshots built from the index (no lock: none of these has a transition in flight).
    pub snapshots: Vec<GroupSnapshot>,
    /// Groups the index cannot describe fully: load each with `load_group`.
    pub to_load: Vec<GroupId>,
    /// Records that could not be read.
    pub warnings: Vec<String>,
}

/// The clusters CONFIG says take part in the group: every cluster that recorded its spec, the
/// owner and the previous owner. Empty when CONFIG names none but the owner's own record would
/// not tell the standbys apart (no `appliedSpecs`).
fn members(config: &GroupConfig) -> Option<BTreeSet<String>> {
    if config.applied_specs.is_empty() {
        return None;
    }
    let mut names: BTreeSet<String> = config.applied_specs.keys().cloned().collect();
    names.insert(config.owner_cluster.clone());
    names.extend(config.previous_owner.clone());
    Some(names)
}

/// Builds snapshots for `configs` from the per-cluster listings of GSI1.
pub async fn from_index(
    store: &dyn CoordinationStore,
    operator_id: &str,
    configs: Vec<GroupConfig>,
) -> Result<FromIndex, StoreError> {
    let mut out = FromIndex::default();
    let mut indexed: Vec<GroupConfig> = Vec::new();
    let mut clusters: BTreeSet<String> = BTreeSet::new();
    for config in configs {
        match (config.transition.is_none(), members(&config)) {
            (true, Some(names)) => {
                clusters.extend(names);
                indexed.push(config);
            }
            _ => out.to_load.push(config.group),
        }
    }
    let wanted: BTreeSet<&GroupId> = indexed.iter().map(|c| &c.group).collect();
    let mut records: BTreeMap<GroupId, Vec<ClusterStatus>> = BTreeMap::new();
    for cluster in &clusters {
        let listing = store.list_cluster_groups(operator_id, cluster).await?;
        out.warnings.extend(listing.skipped);
        for membership in listing.items {
            if wanted.contains(&membership.group) {
                records
                    .entry(membership.group)
                    .or_default()
                    .push(membership.status);
            }
        }
    }
    for config in indexed {
        let mut clusters = records.remove(&config.group).unwrap_or_default();
        clusters.sort_by(|a, b| a.cluster_name.cmp(&b.cluster_name));
        out.snapshots.push(GroupSnapshot {
            config,
            clusters,
            lock: None,
        });
    }
    Ok(out)
}
