//! FailoverGroup reconcile: for each group of this operator, put the finalizer on, tell the
//! cluster side its resources, and run its agent; a malformed group gets `Ready=False` and a
//! Warning, and nothing acts on it. On deletion (or when the group moves to another operator)
//! this cluster withdraws from the group (see [`withdrawal`]) and only then lets it go.

use super::FINALIZER;
use super::context::{Context, ReconcileError};
use super::supervisor::Upserted;
use crate::crd::{Condition, ConditionStatus, FailoverGroup, FailoverGroupStatus, condition_types};
use crate::store::{CoordinationStore, GroupId, GroupSnapshot};
use kube::api::Patch;
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use std::sync::Arc;
use std::time::Duration;

/// How soon a withdrawal that was refused is tried again.
pub const WITHDRAWAL_RETRY: Duration = Duration::from_secs(30);

/// Whether this cluster may leave a group now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Withdrawal {
    /// Leave: stop the agent, delete this cluster's record.
    Leave,
    /// Stay for now (the agent keeps running), and say why.
    Refuse(String),
}

/// Decides whether `me` may withdraw from the group in `snapshot` (read with the agent stopped,
/// so it cannot change under the decision).
///
/// The owner does not leave while another cluster is still part of the group: its record would
/// vanish, the others would presume it dead and take over while its workloads still run here
/// (nothing deactivates them once the agent is gone). It leaves once it is the last cluster, or
/// after the group was moved away (Failover or `kubectl failover promote`). Nor does a cluster
/// leave in the middle of a transition it takes part in: that would strand it until it times
/// out.
pub fn withdrawal(me: &str, snapshot: Option<&GroupSnapshot>) -> Withdrawal {
    let Some(s) = snapshot else {
        return Withdrawal::Leave;
    };
    let group = &s.config.group;
    if let Some(t) = &s.config.transition
        && (t.source == me || t.target == me)
    {
        return Withdrawal::Refuse(format!(
            "cluster {me} takes part in failover {} of {group} ({} -> {}, {}); it withdraws once that ends",
            t.id, t.source, t.target, t.phase
        ));
    }
    let others: Vec<&str> = s
        .clusters
        .iter()
        .map(|c| c.cluster_name.as_str())
        .filter(|c| *c != me)
        .collect();
    if s.config.owner_cluster == me && !others.is_empty() {
        return Withdrawal::Refuse(format!(
            "cluster {me} serves {group} and {} still take part: move the group first (kubectl failover promote {group} --to {} or a Failover), or delete the FailoverGroup in those clusters first",
            others.join(", "),
            others[0]
        ));
    }
    Withdrawal::Leave
}

/// Reconciles one FailoverGroup.
pub async fn reconcile(
    fg: Arc<FailoverGroup>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let result = reconcile_inner(&fg, &ctx).await;
    ctx.metrics.reconciled("FailoverGroup", result.is_ok());
    result
}

async fn reconcile_inner(fg: &FailoverGroup, ctx: &Context) -> Result<Action, ReconcileError> {
    // A deposed leader's reconcile may still be running until the loop notices: it acts no more.
    ctx.leadership.check()?;
    let ours = fg.spec.operator_id_or(&ctx.settings.operator_id) == ctx.settings.operator_id;
    let has_finalizer = fg.finalizers().iter().any(|f| f == FINALIZER);
    if fg.metadata.deletion_timestamp.is_some() || !ours {
        if has_finalizer {
            return withdraw(fg, ctx).await;
        }
        return Ok(Action::await_change());
    }
    let now = ctx.clock.now();
    let settings = match fg.settings(&ctx.settings.operator_id, now) {
        Ok(s) => s,
        Err(e) => {
            report_invalid(fg, ctx, &e.to_string()).await?;
            return Ok(Action::await_change());
        }
    };
    if !has_finalizer {
        set_finalizers(fg, ctx, with_finalizer(fg)).await?;
    }
    ctx.resources.set_group(&settings.group, &fg.spec);
    let heartbeat_timeout = settings.bootstrap.timeouts.heartbeat.get();
    let outcome = ctx.supervisor.lock().await.upsert(fg, settings).await?;
    if outcome != Upserted::Unchanged
        && let Some(why) = slow_leader_handover(
            ctx.settings
                .leader_election
                .as_ref()
                .map(|l| l.lease_duration),
            heartbeat_timeout,
        )
    {
        ctx.events.warn(fg, "LeaseTooLong", why.clone());
        tracing::warn!(group = %fg.name_any(), "{why}");
    }
    tracing::debug!(group = %fg.name_any(), ?outcome, "FailoverGroup reconciled");
    // No timed resync: the agent runs on its own and a task that ends unasked stops the process
    // (`Supervisor::failed`), so a resync repaired nothing a watch event does not bring, and
    // kube's scheduler kept an entry per group for it (15 MiB at 10,000 groups).
    Ok(Action::await_change())
}

/// A warning when a crashed leader's replacement would take over too late for this group: no
/// heartbeats are written from this cluster between the crash and the takeover (up to one
/// lease), so a lease near `timeouts.heartbeat` turns a replica crash into a failover.
fn slow_leader_handover(lease: Option<Duration>, heartbeat_timeout: Duration) -> Option<String> {
    let lease = lease?;
    (lease * 2 > heartbeat_timeout).then(|| {
        format!(
            "the leader-election lease ({lease:?}) is more than half of this group's timeouts.heartbeat ({heartbeat_timeout:?}): if the leading replica crashes, the other replica takes over only after the lease, and the other clusters may fail the group over meanwhile; lower LEASE_DURATION or raise timeouts.heartbeat"
        )
    })
}

/// Withdraws this cluster from the group, then removes the finalizer.
async fn withdraw(fg: &FailoverGroup, ctx: &Context) -> Result<Action, ReconcileError> {
    let group = GroupId::new(&fg.namespace().unwrap_or_default(), &fg.name_any())
        .map_err(|e| ReconcileError::Request(format!("FailoverGroup {}: {e}", fg.name_any())))?;
    // Our operator's records, whichever operator the spec names now.
    let op = ctx.settings.operator_id.clone();
    let me = ctx.settings.cluster_name.clone();
    let mut supervisor = ctx.supervisor.lock().await;
    // Stopped first (lock released), so the snapshot cannot change under the decision by a
    // flip of our own agent.
    let was_running = supervisor.stop(&group).await;
    let snapshot = match ctx.store.load_group_with(&op, &group, false).await {
        Ok(s) => s,
        Err(e) => {
            restart_if(was_running, fg, ctx, &mut supervisor).await;
            return Err(e.into());
        }
    };
    if let Withdrawal::Refuse(why) = withdrawal(&me, snapshot.as_ref()) {
        restart_if(true, fg, ctx, &mut supervisor).await;
        ctx.events.warn(fg, "WithdrawalBlocked", why.clone());
        tracing::warn!(group = %group, cluster = %me, "{why}");
        return Err(ReconcileError::Withdrawal(why));
    }
    ctx.resources.remove_group(&group);
    ctx.store.delete_cluster_status(&op, &group, &me).await?;
    tracing::info!(group = %group, cluster = %me, "withdrew from the group; removing the finalizer");
    let rest: Vec<String> = fg
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    set_finalizers(fg, ctx, rest).await?;
    Ok(Action::await_change())
}

/// Starts the agent again after a withdrawal that did not happen (it must keep heartbeating and
/// fencing while this cluster is part of the group).
async fn restart_if(
    was_running: bool,
    fg: &FailoverGroup,
    ctx: &Context,
    supervisor: &mut super::supervisor::Supervisor,
) {
    if !was_running {
        return;
    }
    // Still ours until it has left, even if the spec now names another operator.
    let mut fg = fg.clone();
    fg.spec.operator_id = None;
    let settings = fg.settings(&ctx.settings.operator_id, ctx.clock.now());
    let Ok(settings) = settings else { return };
    if let Err(e) = supervisor.upsert(&fg, settings).await {
        tracing::error!(group = %fg.name_any(), "could not restart the group agent: {e}");
    }
}

fn with_finalizer(fg: &FailoverGroup) -> Vec<String> {
    let mut list = fg.finalizers().to_vec();
    list.push(FINALIZER.to_string());
    list
}

/// Replaces `metadata.finalizers` with a merge patch carrying the read resourceVersion, so a
/// concurrent change of the list is a 409 and the reconcile retries on fresh data.
async fn set_finalizers(
    fg: &FailoverGroup,
    ctx: &Context,
    finalizers: Vec<String>,
) -> Result<(), ReconcileError> {
    let api: Api<FailoverGroup> =
        Api::namespaced(ctx.client.clone(), &fg.namespace().unwrap_or_default());
    let patch = serde_json::json!({
        "metadata": {
            "finalizers": finalizers,
            "resourceVersion": fg.resource_version(),
        }
    });
    let name = fg.name_any();
    let params = super::patch_params();
    ctx.leadership
        .bounded(api.patch(&name, &params, &Patch::Merge(&patch)))
        .await??;
    Ok(())
}

/// `Ready=False` with the message, and a Warning once per generation.
async fn report_invalid(
    fg: &FailoverGroup,
    ctx: &Context,
    message: &str,
) -> Result<(), ReconcileError> {
    let generation = fg.metadata.generation.unwrap_or(0);
    let group = GroupId {
        namespace: fg.namespace().unwrap_or_default(),
        name: fg.name_any(),
    };
    if !ctx.first_report(&group, generation) {
        return Ok(());
    }
    tracing::warn!(group = %group, "{message}");
    ctx.events.warn(fg, "InvalidSpec", message.to_string());
    let mut status: FailoverGroupStatus = fg.status.clone().unwrap_or_default();
    let _ = crate::crd::set_condition(
        &mut status.conditions,
        Condition {
            type_: condition_types::READY.to_string(),
            status: ConditionStatus::False,
            observed_generation: Some(generation),
            last_transition_time: ctx.clock.now(),
            reason: "InvalidSpec".to_string(),
            message: message.to_string(),
        },
    );
    let api: Api<FailoverGroup> =
        Api::namespaced(ctx.client.clone(), &fg.namespace().unwrap_or_default());
    let patch = serde_json::json!({ "status": { "conditions": status.conditions } });
    let name = fg.name_any();
    let params = super::patch_params();
    ctx.leadership
        .bounded(api.patch_status(&name, &params, &Patch::Merge(&patch)))
        .await??;
    Ok(())
}

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
