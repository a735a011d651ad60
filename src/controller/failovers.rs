//! Failover reconcile: each group of a Failover becomes exactly one transition request
//! (`ops::promote::request_promotion`, with the Failover's stable transition id), written only
//! when the table shows neither that transition in flight nor its history record, so a retried
//! reconcile never asks twice. Any cluster's controller may write it: the write is a
//! compare-and-set and a second ask with the same id finds the first. The status then follows
//! each group's progress until every group has ended.

use super::context::{Context, ReconcileError};
use super::failover_progress::{
    complete_condition, from_outcome, is_terminal, observed, overall, refused,
};
use crate::crd::{
    Failover, FailoverGroup, FailoverPhase, FailoverStatus, GroupProgress, set_condition,
};
use crate::error::Error;
use crate::ops::promote::{PromoteRequest, request_promotion};
use crate::store::{CoordinationStore, GroupId};
use kube::api::Patch;
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use std::sync::Arc;

/// How many history records are searched for a Failover's transition id.
pub const HISTORY_SEARCH: usize = 25;

/// Reconciles one Failover.
pub async fn reconcile(fo: Arc<Failover>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let result = reconcile_inner(&fo, &ctx).await;
    ctx.metrics.reconciled("Failover", result.is_ok());
    result
}

async fn reconcile_inner(fo: &Failover, ctx: &Context) -> Result<Action, ReconcileError> {
    // A deposed leader's reconcile may still be running until the loop notices: it acts no more.
    ctx.leadership.check()?;
    let previous = fo.status.clone().unwrap_or_default();
    let done = matches!(
        previous.phase,
        Some(FailoverPhase::Succeeded | FailoverPhase::Failed)
    );
    if fo.metadata.deletion_timestamp.is_some() || done {
        return Ok(Action::await_change());
    }
    let now = ctx.clock.now();
    let planned = fo
        .group_ids()
        .and_then(|ids| Ok((ids, fo.transition_id()?)));
    let groups: Vec<GroupProgress> = match (planned, fo.target()) {
        (Ok((ids, id)), Ok(target)) => {
            let mut groups = Vec::with_capacity(ids.len());
            for gid in ids {
                let key = gid.to_string();
                let before = previous.groups.iter().find(|g| g.group == key);
                let progress = match before {
                    Some(b) if is_terminal(b.status) => Some(b.clone()),
                    _ => group_progress(fo, ctx, &gid, &id, target).await?,
                };
                if let Some(p) = progress.or_else(|| before.cloned()) {
                    groups.push(p);
                }
            }
            groups
        }
        (Err(e), _) | (_, Err(e)) => fo
            .spec
            .failover_groups
            .iter()
            .map(|g| refused(&g.name, e.to_string(), now))
            .collect(),
    };
    let phase = overall(&groups);
    let mut status = FailoverStatus {
        phase: Some(phase),
        groups,
        conditions: previous.conditions.clone(),
        observed_generation: fo.metadata.generation,
    };
    let _ = set_condition(
        &mut status.conditions,
        complete_condition(phase, fo.metadata.generation, now),
    );
    if status != previous {
        let api: Api<Failover> =
            Api::namespaced(ctx.client.clone(), &fo.namespace().unwrap_or_default());
        let body = serde_json::json!({ "status": status });
        let (name, params) = (fo.name_any(), super::patch_params());
        ctx.leadership
            .bounded(api.patch_status(&name, &params, &Patch::Merge(&body)))
            .await??;
        tracing::info!(failover = %fo.name_any(), ?phase, "Failover status written");
    }
    Ok(match phase {
        FailoverPhase::Succeeded | FailoverPhase::Failed => Action::await_change(),
        _ => Action::requeue(ctx.settings.failover_poll),
    })
}

/// The annotation with which a FailoverGroup lets Failovers of other namespaces move it: a
/// comma-separated list of namespaces (or `*` for any). Set by whoever may edit the group.
pub const ALLOW_FAILOVERS_FROM: &str = "kubectl-failover.io/allow-failovers-from";

/// Why a Failover may not move a group of another namespace, or `None` when it may: the
/// controller acts with cluster-wide rights, so a Failover author's own namespace is where their
/// authority ends unless the group's owners opted in with [`ALLOW_FAILOVERS_FROM`].
pub fn cross_namespace_refusal(fo: &Failover, fg: &FailoverGroup, gid: &GroupId) -> Option<String> {
    let own = fo.namespace().unwrap_or_default();
    if gid.namespace == own {
        return None;
    }
    let allowed = fg
        .annotations()
        .get(ALLOW_FAILOVERS_FROM)
        .is_some_and(|list| {
            list.split(',')
                .map(str::trim)
                .any(|ns| ns == own || ns == "*")
        });
    (!allowed).then(|| {
        format!(
            "Failover {own}/{} may not move FailoverGroup {gid}: it is in another namespace; create the Failover in {} instead, or let Failovers from {own} move it by annotating the FailoverGroup {ALLOW_FAILOVERS_FROM}={own}",
            fo.name_any(),
            gid.namespace
        )
    })
}

/// One group's progress: what the table shows for the transition, else the outcome of asking
/// for it now. `None`: the group belongs to another operator (its controller reports it).
async fn group_progress(
    fo: &Failover,
    ctx: &Context,
    gid: &GroupId,
    id: &str,
    target: &str,
) -> Result<Option<GroupProgress>, ReconcileError> {
    let now = ctx.clock.now();
    let op = &ctx.settings.operator_id;
    let api: Api<FailoverGroup> = Api::namespaced(ctx.client.clone(), &gid.namespace);
    let Some(fg) = api.get_opt(&gid.name).await? else {
        return Ok(Some(refused(
            &gid.to_string(),
            format!(
                "FailoverGroup {gid} does not exist in this cluster; check failoverGroups[].name and namespace"
            ),
            now,
        )));
    };
    if fg.spec.operator_id_or(op) != op {
        return Ok(None);
    }
    if let Some(why) = cross_namespace_refusal(fo, &fg, gid) {
        ctx.events.warn(fo, "CrossNamespaceRefused", why.clone());
        return Ok(Some(refused(&gid.to_string(), why, now)));
    }
    let settings = match fg.settings(op, now) {
        Ok(s) => s,
        Err(e) => return Ok(Some(refused(&gid.to_string(), e.to_string(), now))),
    };
    let Some(snapshot) = ctx.store.load_group_with(op, gid, false).await? else {
        return Ok(Some(GroupProgress {
            group: gid.to_string(),
            phase: None,
            status: crate::crd::GroupFailoverStatus::Pending,
            start_time: None,
            end_time: None,
            duration: None,
            downtime: None,
            message: format!("waiting for {gid} to be registered in DynamoDB by its agents"),
        }));
    };
    let in_flight = snapshot
        .config
        .transition
        .as_ref()
        .is_some_and(|t| t.id == id);
    let history = if in_flight {
        Vec::new()
    } else {
        ctx.store
            .history(op, gid, HISTORY_SEARCH, None)
            .await?
            .records
    };
    if let Some(progress) = observed(gid, id, &snapshot, &history) {
        return Ok(Some(progress));
    }
    let request = PromoteRequest {
        target: target.to_string(),
        mode: fo.spec.mode_for(&fg.spec),
        force: fo.spec.force,
        reason: fo
            .spec
            .reason
            .clone()
            .unwrap_or_else(|| format!("Failover {}/{}", gid.namespace, fo.name_any())),
        initiator: fo.initiator(),
        id: Some(id.to_string()),
        has_volume_replications: settings.has_volume_replications,
    };
    let outcome = request_promotion(ctx.store.as_ref(), ctx.clock.as_ref(), op, gid, &request)
        .await
        .map_err(|e| match e {
            Error::Store(s) => ReconcileError::Store(s),
            other => ReconcileError::Request(other.to_string()),
        })?;
    tracing::info!(failover = %fo.name_any(), group = %gid, "{outcome}");
    Ok(Some(from_outcome(gid, id, &outcome, now)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn failover(namespace: &str) -> Failover {
        serde_json::from_value(json!({
            "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "Failover",
            "metadata": {"name": "move", "namespace": namespace, "uid": "u1"},
            "spec": {"targetCluster": "west", "failoverGroups": [{"name": "web", "namespace": "shop"}]},
        }))
        .unwrap()
    }

    fn group(allow: Option<&str>) -> FailoverGroup {
        let mut fg: FailoverGroup = serde_json::from_value(json!({
            "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "FailoverGroup",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"initialPrimary": "east", "workloads": [{"kind": "Deployment", "name": "api"}]},
        }))
        .unwrap();
        if let Some(list) = allow {
            fg.annotations_mut()
                .insert(ALLOW_FAILOVERS_FROM.into(), list.into());
        }
        fg
    }

    #[test]
    fn a_failover_may_move_groups_of_its_own_namespace_only_unless_the_group_opts_in() {
        let gid = GroupId::new("shop", "web").unwrap();
        assert_eq!(
            cross_namespace_refusal(&failover("shop"), &group(None), &gid),
            None
        );
        let why = cross_namespace_refusal(&failover("intruder"), &group(None), &gid).unwrap();
        for part in [
            "Failover intruder/move",
            "FailoverGroup shop/web",
            "another namespace",
            "allow-failovers-from=intruder",
        ] {
            assert!(why.contains(part), "{why} lacks {part}");
        }
        let gid2 = gid.clone();
        assert_eq!(
            cross_namespace_refusal(&failover("ops"), &group(Some("team-a, ops")), &gid2),
            None
        );
        assert_eq!(
            cross_namespace_refusal(&failover("ops"), &group(Some("*")), &gid),
            None
        );
        assert!(cross_namespace_refusal(&failover("ops"), &group(Some("team-a")), &gid).is_some());
    }
}
