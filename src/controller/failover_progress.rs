//! A Failover's status, pure: each group's progress from what the table says about the
//! Failover's transition id (in flight in CONFIG, ended in history) or from the outcome of the
//! request, and the Failover's overall phase.

use crate::crd::{
    Condition, ConditionStatus, FailoverPhase, GroupFailoverStatus, GroupProgress, condition_types,
};
use crate::duration::GoDuration;
use crate::ops::promote::PromoteOutcome;
use crate::store::{GroupId, GroupSnapshot, HistoryRecord, HistoryStatus};
use chrono::{DateTime, Utc};
use std::str::FromStr;
use std::time::Duration;

/// Whether a group's part of a Failover has ended (nothing more will change it).
pub fn is_terminal(status: GroupFailoverStatus) -> bool {
    !matches!(
        status,
        GroupFailoverStatus::Pending | GroupFailoverStatus::InProgress
    )
}

/// What the table says about transition `id` of `group`: in flight (with its phase), ended
/// (from its history record), or nothing (not asked yet, or asked and refused). Requests are
/// written only when this is `None`, so a retried reconcile never asks twice.
pub fn observed(
    group: &GroupId,
    id: &str,
    snapshot: &GroupSnapshot,
    history: &[HistoryRecord],
) -> Option<GroupProgress> {
    if let Some(t) = snapshot.config.transition.as_ref().filter(|t| t.id == id) {
        return Some(GroupProgress {
            group: group.to_string(),
            phase: Some(t.phase),
            status: GroupFailoverStatus::InProgress,
            start_time: Some(t.requested_at),
            end_time: None,
            duration: None,
            downtime: None,
            message: format!("{} -> {}, {}", t.source, t.target, t.phase),
        });
    }
    history
        .iter()
        .find(|r| r.failover_name == id)
        .map(|r| from_history(group, r))
}

/// A group's progress from the history record of its transition.
pub fn from_history(group: &GroupId, r: &HistoryRecord) -> GroupProgress {
    let status = HistoryStatus::from_str(&r.status)
        .map(GroupFailoverStatus::from)
        .unwrap_or(GroupFailoverStatus::Failed);
    let secs = |s: Option<u64>| s.map(|s| GoDuration(Duration::from_secs(s)).to_string());
    let message = match (status, r.reason.is_empty()) {
        (GroupFailoverStatus::Success, _) | (_, true) => {
            format!("{} -> {}: {}", r.source_cluster, r.target_cluster, r.status)
        }
        _ => format!(
            "{} -> {}: {}: {}",
            r.source_cluster, r.target_cluster, r.status, r.reason
        ),
    };
    GroupProgress {
        group: group.to_string(),
        phase: None,
        status,
        start_time: Some(r.start_time),
        end_time: r.end_time,
        duration: secs(r.duration),
        downtime: secs(r.downtime),
        message,
    }
}

/// A group's progress from the answer to its request.
/// A request that found its own id in flight (another cluster's controller asked first) is in
/// progress, not refused.
pub fn from_outcome(
    group: &GroupId,
    id: &str,
    outcome: &PromoteOutcome,
    now: DateTime<Utc>,
) -> GroupProgress {
    let (status, phase, start) = match outcome {
        PromoteOutcome::TransitionInFlight {
            id: other, phase, ..
        } if other == id => (GroupFailoverStatus::InProgress, Some(*phase), None),
        PromoteOutcome::Requested { transition, .. } => (
            GroupFailoverStatus::InProgress,
            Some(transition.phase),
            Some(transition.requested_at),
        ),
        PromoteOutcome::AlreadyPrimary { .. } => (GroupFailoverStatus::AlreadyPrimary, None, None),
        _ => (GroupFailoverStatus::Refused, None, None),
    };
    GroupProgress {
        group: group.to_string(),
        phase,
        status,
        start_time: start,
        end_time: is_terminal(status).then_some(now),
        duration: None,
        downtime: None,
        message: outcome.to_string(),
    }
}

/// A group that cannot be asked for (no such FailoverGroup here, another operator's, a bad
/// name): refused with `message`.
pub fn refused(group: &str, message: String, now: DateTime<Utc>) -> GroupProgress {
    // Failover status is read by everyone in the namespace: no account, role or key ids.
    let message = super::redact::redact(&message);
    GroupProgress {
        group: group.to_string(),
        phase: None,
        status: GroupFailoverStatus::Refused,
        start_time: None,
        end_time: Some(now),
        duration: None,
        downtime: None,
        message,
    }
}

/// The Failover's phase from its groups: IN_PROGRESS while any is pending or in flight, then
/// SUCCEEDED when every group reached the target (or already was there), else FAILED.
pub fn overall(groups: &[GroupProgress]) -> FailoverPhase {
    if groups.is_empty() {
        return FailoverPhase::Pending;
    }
    if groups
        .iter()
        .all(|g| g.status == GroupFailoverStatus::Pending)
    {
        return FailoverPhase::Pending;
    }
    if groups.iter().any(|g| !is_terminal(g.status)) {
        return FailoverPhase::InProgress;
    }
    let reached = |s| {
        matches!(
            s,
            GroupFailoverStatus::Success
                | GroupFailoverStatus::ForcedComplete
                | GroupFailoverStatus::AlreadyPrimary
        )
    };
    if groups.iter().all(|g| reached(g.status)) {
        FailoverPhase::Succeeded
    } else {
        FailoverPhase::Failed
    }
}

/// The `Complete` condition for `phase`.
pub fn complete_condition(
    phase: FailoverPhase,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> Condition {
    let (status, reason, message) = match phase {
        FailoverPhase::Succeeded => (
            ConditionStatus::True,
            "Succeeded",
            "every group runs in the target cluster",
        ),
        FailoverPhase::Failed => (
            ConditionStatus::True,
            "Failed",
            "some group was refused, failed or rolled back; see status.groups",
        ),
        FailoverPhase::InProgress => (
            ConditionStatus::False,
            "InProgress",
            "a group's failover is in flight",
        ),
        FailoverPhase::Pending => (
            ConditionStatus::False,
            "Pending",
            "not yet written to DynamoDB",
        ),
    };
    Condition {
        type_: condition_types::COMPLETE.to_string(),
        status,
        observed_generation: generation,
        last_transition_time: now,
        reason: reason.to_string(),
        message: message.to_string(),
    }
}

#[cfg(test)]
#[path = "failover_progress_tests.rs"]
mod tests;
