//! An agent that has not read the group yet, for a cluster that may be serving. The Kubernetes
//! backend has no serving watchdog, so only an agent can switch its cluster off; an agent that
//! cannot reach the store after a restart (a pod crash, leadership moved to another replica, a
//! FailoverGroup change) must not leave its cluster serving while the others take over.
//!
//! The choice (docs/protocol.md, "An agent that never reached the store"): decide from the
//! agent's start, with the most pessimistic assumption. What an earlier incarnation (an earlier
//! process, the previous leader, the agent before a FailoverGroup edit) last proved is unknown:
//! it may have been cut off from the store for most of its serve window before it died, so its
//! permission to serve may run out at any moment after this agent starts. The new agent gets
//! one bounded attempt, at most one heartbeat interval (never more than the serve window), to
//! prove by a heartbeat and a read that the cluster may serve; if it has not by then, it fences
//! the cluster: the deactivation steps of a FENCED decision. Assuming instead that the last
//! heartbeat was sent at the agent's start (`created + serve window`) would be the optimistic
//! case, and would let the cluster serve up to a window past the others' takeover whenever the
//! earlier incarnation had already been cut off. The cost of this choice: a controller that
//! restarts while the store is unreachable switches a serving cluster off, as the earlier
//! incarnation would have done within its window anyway. The window comes from the bootstrap
//! CONFIG (the table's cannot be read); with self-fencing off there is none, as for a PRIMARY.
//! What stays uncovered is the time no incarnation runs at all (the process dead, not yet
//! restarted): the restart budget is part of the fencing arithmetic (docs/controller.md).

use super::GroupAgent;
use crate::agent::GroupSpec;
use crate::agent::events::AgentEventKind;
use crate::protocol::{Decision, Note, Report, Role};
use crate::store::ClusterState;
use std::time::Duration;

/// The serve window of the bootstrap CONFIG (`timeouts.heartbeat - 2 x heartbeatInterval`, as a
/// PRIMARY's `serve_until` after a heartbeat), or `None` when self-fencing is off.
pub(super) fn window(spec: &GroupSpec) -> Option<Duration> {
    if !spec.policy.self_fencing {
        return None;
    }
    let timings = spec.policy.timings(&spec.bootstrap).ok()?;
    Some(timings.serve_window())
}

/// The decision of an agent that never read the group once its cluster may no longer serve.
/// Epoch 0: it was decided under no CONFIG version. A deactivation is never refused by an
/// epoch in the Kubernetes backend (src/k8s/kube/fencing.rs), and 0 raises no stamp, so it
/// refuses no later decision. Reported as a fenced STANDBY: a cluster never claims PRIMARY
/// without having read CONFIG.
fn fence(window: Duration) -> Decision {
    Decision {
        role: Role::Fenced,
        epoch: 0,
        serve_until: None,
        writes: Vec::new(),
        report: Report {
            state: ClusterState::Standby,
            fenced: true,
            ack: None,
        },
        notes: vec![Note::Fenced {
            silent_for: None,
            limit: window,
        }],
        read_lock_next: true,
        forget_lock: false,
    }
}

impl GroupAgent {
    /// Until when this agent may leave the cluster as it found it without having read the
    /// group: `created + min(interval, serve window)`, one bounded attempt to prove.
    pub(super) fn start_deadline(&self) -> Option<Duration> {
        if self.previous.is_some() {
            return None;
        }
        self.start_window
            .map(|w| self.created.saturating_add(w.min(self.interval)))
    }

    /// The FENCED decision for a cluster whose agent has not read the group by its start
    /// deadline (`None` before it, or once a read succeeded). It becomes the last decision,
    /// held by every tick whose read fails, until a read succeeds.
    pub(super) fn fence_at_start(
        &mut self,
        now: Duration,
        events: &mut Vec<AgentEventKind>,
    ) -> Option<Decision> {
        let window = self.start_window?;
        if self.start_deadline().is_none_or(|deadline| now < deadline) {
            return None;
        }
        let decision = fence(window);
        tracing::warn!(
            group = %self.spec.group,
            cluster = %self.me,
            "{}",
            self.start_fence_message(now)
        );
        self.changes.decision(&decision, true, events);
        self.fenced_at_start = true;
        self.previous = Some(decision.clone());
        Some(decision)
    }

    /// What a report says while the cluster is fenced by `fence_at_start`.
    pub(super) fn start_fence_message(&self, now: Duration) -> String {
        let since = now.saturating_sub(self.created);
        let window = self.start_window.unwrap_or_default();
        format!(
            "could not reach the store since start ({since:?} ago; an earlier incarnation's permission to serve, at most {window:?} after its last heartbeat, may already have run out); fenced: the cluster stays switched off until a heartbeat and a read succeed"
        )
    }
}
