//! Kubernetes Events (events.k8s.io/v1, through [`EventPublisher`]) for what agents report and
//! for the controller's own refusals. Agents emit from inside their tick, which must not wait on
//! the API server, so events go through a bounded queue to one publishing task: when the API
//! server falls behind, Events beyond [`EVENT_QUEUE_CAPACITY`] are dropped and counted
//! (`kubectl_failover_events_dropped_total`) instead of growing the controller's memory.

use super::event_series::EventPublisher;
use super::metrics::{Metrics, TransitionLabels};
use crate::agent::{AgentEvent, AgentEventKind, EventSink};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::runtime::events::{Event, EventType};
use prometheus_client::metrics::counter::Counter;
use std::sync::Arc;
use tokio::sync::mpsc;

/// One event for one object, on its way to the publisher.
pub struct Outgoing {
    /// The object the event is about.
    pub reference: ObjectReference,
    /// The event.
    pub event: Event,
}

/// Events waiting for the API server at most: two for each of 10,000 groups (a role change and
/// one more), about 12 MiB when full.
pub const EVENT_QUEUE_CAPACITY: usize = 20_000;

/// Where events are sent; cheap to clone.
#[derive(Clone)]
pub struct EventQueue {
    tx: mpsc::Sender<Outgoing>,
    dropped: Counter,
}

impl EventQueue {
    /// A queue of [`EVENT_QUEUE_CAPACITY`] and the receiving end for [`publish_events`].
    pub fn new() -> (EventQueue, mpsc::Receiver<Outgoing>) {
        Self::with_capacity(EVENT_QUEUE_CAPACITY, Counter::default())
    }

    /// A queue of `capacity` Events that counts those it drops (full) in `dropped`.
    pub fn with_capacity(
        capacity: usize,
        dropped: Counter,
    ) -> (EventQueue, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(capacity);
        (EventQueue { tx, dropped }, rx)
    }

    /// Queues an event about `reference`; drops and counts it when the queue is full.
    pub fn send(&self, reference: &ObjectReference, event: Event) {
        let out = Outgoing {
            reference: reference.clone(),
            event,
        };
        match self.tx.try_send(out) {
            Ok(()) => {}
            // The status and the log carry the state; an Event is a notice, and waiting here
            // would stall the agent's tick behind a slow API server.
            Err(mpsc::error::TrySendError::Full(out)) => {
                self.dropped.inc();
                tracing::debug!(object = ?out.reference.name, reason = %out.event.reason, "Event queue full: Event dropped");
            }
            // Closed: the controller is stopping, the event is of no use any more.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Events dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    /// Queues a Warning about an object.
    pub fn warn<K: Resource<DynamicType = ()>>(&self, object: &K, reason: &str, note: String) {
        self.send(
            &object.object_ref(&()),
            Event {
                type_: EventType::Warning,
                reason: reason.to_string(),
                note: Some(truncate(note)),
                action: "Reconcile".to_string(),
                secondary: None,
            },
        );
    }
}

/// The `EventSink` of one group's agent: counts ended transitions, logs every event, and queues
/// it as a Kubernetes Event on the FailoverGroup.
pub struct GroupEventSink {
    /// The queue.
    pub queue: EventQueue,
    /// The FailoverGroup.
    pub reference: ObjectReference,
    /// Metrics to count transitions in.
    pub metrics: Arc<Metrics>,
}

impl EventSink for GroupEventSink {
    fn emit(&self, event: AgentEvent) {
        if let AgentEventKind::TransitionEnded { outcome, .. } = &event.kind {
            self.metrics
                .transitions
                .get_or_create(&TransitionLabels {
                    outcome: outcome.to_string(),
                })
                .inc();
        }
        tracing::info!(group = %event.group, cluster = %event.cluster, "{}", event.kind);
        self.queue.send(&self.reference, to_event(&event.kind));
    }
}

/// The Kubernetes Event for an agent event: reason, type, and the event's text as note.
pub fn to_event(kind: &AgentEventKind) -> Event {
    use AgentEventKind as K;
    let (type_, reason) = match kind {
        K::RoleChanged { .. } => (EventType::Normal, "RoleChanged"),
        K::TransitionStarted { .. } => (EventType::Normal, "FailoverStarted"),
        K::PhaseChanged { .. } => (EventType::Normal, "FailoverPhase"),
        K::OwnershipFlipped { .. } => (EventType::Normal, "OwnershipMoved"),
        K::TransitionEnded { outcome, .. } => match outcome {
            crate::store::HistoryStatus::Success => (EventType::Normal, "FailoverSucceeded"),
            crate::store::HistoryStatus::ForcedComplete => {
                (EventType::Warning, "FailoverForcedComplete")
            }
            crate::store::HistoryStatus::RolledBack => (EventType::Warning, "FailoverRolledBack"),
            crate::store::HistoryStatus::Failed => (EventType::Warning, "FailoverFailed"),
        },
        K::Fenced { .. } => (EventType::Warning, "Fenced"),
        K::Unfenced => (EventType::Normal, "Unfenced"),
        K::LockAcquired { .. } => (EventType::Normal, "LockAcquired"),
        K::LockLost => (EventType::Warning, "LockLost"),
        K::LockReleased => (EventType::Normal, "LockReleased"),
        K::StoreError { .. } => (EventType::Warning, "StoreError"),
        K::StoreRecovered => (EventType::Normal, "StoreRecovered"),
        K::ClusterError { .. } => (EventType::Warning, "ClusterError"),
        K::ClusterRecovered => (EventType::Normal, "ClusterRecovered"),
        K::Refused { .. } => (EventType::Warning, "Refused"),
        K::FailoverBlocked { .. } => (EventType::Warning, "FailoverBlocked"),
        K::Stuck { .. } => (EventType::Warning, "FailoverStuck"),
    };
    Event {
        type_,
        reason: reason.to_string(),
        // Every reader of the namespace sees Events: no account, role or key (the log has them).
        note: Some(truncate(super::redact::redact(&kind.to_string()))),
        action: action(kind),
        secondary: None,
    }
}

/// The Event's action. kube's recorder folds events with the same type, reason, action and
/// object into one series that keeps the first note, so each phase and each role gets its own
/// action: a later phase or role change is a new Event, not a count on an old one.
fn action(kind: &AgentEventKind) -> String {
    use AgentEventKind as K;
    let camel = |wire: &str| -> String {
        wire.split('_')
            .map(|w| {
                let lower = w.to_ascii_lowercase();
                let mut chars = lower.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                    .unwrap_or_default()
            })
            .collect()
    };
    match kind {
        K::PhaseChanged { to, .. } => format!("Phase{}", camel(to.as_str())),
        K::RoleChanged { to, .. } => format!("Become{to:?}"),
        _ => "Failover".to_string(),
    }
}

/// Event notes are limited to 1 kB.
fn truncate(mut note: String) -> String {
    if note.len() > 1000 {
        let mut end = 1000;
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
    }
    note
}

/// Publishes queued events until every sender is gone. A failed publish is logged, never
/// retried: events are informational and the status carries the state.
pub async fn publish_events(mut rx: mpsc::Receiver<Outgoing>, mut publisher: EventPublisher) {
    while let Some(out) = rx.recv().await {
        if let Err(e) = publisher.publish(&out.event, &out.reference).await {
            tracing::warn!(
                object = ?out.reference.name,
                reason = %out.event.reason,
                "could not publish a Kubernetes Event: {e}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{FailoverMode, HistoryStatus};

    #[test]
    fn failed_and_rolled_back_failovers_are_warnings_and_successes_normal() {
        let ended = |outcome| AgentEventKind::TransitionEnded {
            id: "t1".into(),
            source: "east".into(),
            target: "west".into(),
            mode: FailoverMode::Consistency,
            automatic: false,
            outcome,
            duration: None,
            downtime: None,
        };
        let ok = to_event(&ended(HistoryStatus::Success));
        assert_eq!(
            (ok.type_, ok.reason.as_str()),
            (EventType::Normal, "FailoverSucceeded")
        );
        assert!(ok.note.unwrap().contains("east -> west"));
        let rolled = to_event(&ended(HistoryStatus::RolledBack));
        assert_eq!(rolled.type_, EventType::Warning);
    }

    #[test]
    fn long_notes_are_cut_to_the_event_limit_on_a_character_boundary() {
        let note = truncate("é".repeat(800));
        assert!(note.len() <= 1000);
        assert!(note.chars().all(|c| c == 'é'));
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_growing() {
        let (queue, mut rx) = EventQueue::with_capacity(2, Counter::default());
        let reference = ObjectReference::default();
        for _ in 0..5 {
            queue.send(&reference, to_event(&AgentEventKind::StoreRecovered));
        }
        assert_eq!(queue.dropped(), 3);
        assert!(rx.try_recv().is_ok() && rx.try_recv().is_ok());
        assert!(rx.try_recv().is_err(), "only two were kept");
        queue.send(&reference, to_event(&AgentEventKind::StoreRecovered));
        assert!(
            rx.try_recv().is_ok(),
            "room again once the publisher took them"
        );
    }

    /// kube's recorder keys a series by (type, reason, action, object): see `action`.
    fn key(e: &Event) -> (String, String, String) {
        (format!("{:?}", e.type_), e.reason.clone(), e.action.clone())
    }

    #[test]
    fn each_phase_and_each_role_change_is_its_own_event_series() {
        use crate::protocol::Role;
        use crate::store::Phase;
        let phase = |to| AgentEventKind::PhaseChanged {
            id: "t1".into(),
            from: None,
            to,
        };
        let role = |to| AgentEventKind::RoleChanged {
            from: None,
            to,
            epoch: 3,
        };
        let keys: std::collections::BTreeSet<_> = [
            phase(Phase::Requested),
            phase(Phase::SourceDeactivating),
            phase(Phase::TargetActivating),
            role(Role::Primary),
            role(Role::Standby),
            role(Role::Fenced),
        ]
        .iter()
        .map(|k| key(&to_event(k)))
        .collect();
        assert_eq!(keys.len(), 6, "{keys:?}");
        let e = to_event(&phase(Phase::SourceDeactivating));
        assert_eq!(e.action, "PhaseSourceDeactivating");
        assert!(e.action.len() <= 128);
    }

    #[test]
    fn a_store_error_event_names_no_account_or_role() {
        let e = to_event(&AgentEventKind::StoreError {
            message: "AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/kfo/x is not authorized".into(),
        });
        let note = e.note.unwrap();
        assert!(
            !note.contains("123456789012") && !note.contains("assumed-role"),
            "{note}"
        );
        assert!(note.contains("AccessDeniedException"), "{note}");
    }
}
