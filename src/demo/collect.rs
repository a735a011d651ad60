//! Turning what the agents report into the demo's timeline: agent events are stamped with the
//! demo's clock as they are emitted, events every agent reports (a transition seen, an
//! ownership flip) are shown once, and each failover's timings are measured on the demo's
//! clock (request to end, source network off to target network on).

use super::event::{DemoEvent, FailoverInfo, What};
use super::summary::FailoverSummary;
use crate::agent::{AgentEvent, AgentEventKind, EventSink};
use crate::clock::Clock;
use crate::k8s::simulated::ServingLog;
use crate::store::GroupId;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// What reaches the demo's collector.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// An agent's event, stamped when it was emitted.
    Agent(Duration, AgentEvent),
    /// A line the demo itself produced (script steps, serving changes).
    Demo(DemoEvent),
}

/// The sink every agent of the demo emits to: stamps each event with the demo's monotonic
/// clock (agents stamp wall time, which is for display) and passes it on without blocking.
#[derive(Debug, Clone)]
pub struct StampingSink {
    /// The demo's clock.
    pub clock: Arc<dyn Clock>,
    /// The collector's channel.
    pub tx: UnboundedSender<Incoming>,
}

impl EventSink for StampingSink {
    fn emit(&self, event: AgentEvent) {
        // A closed channel means the demo is ending: the event has nowhere to go.
        let _ = self.tx.send(Incoming::Agent(self.clock.monotonic(), event));
    }
}

/// The collector's memory: what was shown already, and every failover's timings.
#[derive(Debug, Default)]
pub struct Timeline {
    /// Transitions by id, in the order they were first seen.
    failovers: BTreeMap<String, usize>,
    list: Vec<FailoverSummary>,
    shown: BTreeSet<(GroupId, String)>,
}

fn name(e: &AgentEventKind) -> &'static str {
    use AgentEventKind as K;
    match e {
        K::RoleChanged { .. } => "role_changed",
        K::TransitionStarted { .. } => "failover_started",
        K::PhaseChanged { .. } => "phase_changed",
        K::OwnershipFlipped { .. } => "ownership_flipped",
        K::TransitionEnded { .. } => "failover_completed",
        K::Fenced { .. } => "fenced",
        K::Unfenced => "unfenced",
        K::LockAcquired { .. } => "lock_acquired",
        K::LockLost => "lock_lost",
        K::LockReleased => "lock_released",
        K::StoreError { .. } => "store_error",
        K::StoreRecovered => "store_recovered",
        K::ClusterError { .. } => "cluster_error",
        K::ClusterRecovered => "cluster_recovered",
        K::Refused { .. } => "refused",
        K::FailoverBlocked { .. } => "failover_blocked",
        K::Stuck { .. } => "stuck",
    }
}

impl Timeline {
    /// Remembers that the script asked for transition `id` at `at`, so its duration counts from
    /// the request rather than from the first agent that noticed it.
    pub fn requested(&mut self, at: Duration, group: &GroupId, info: FailoverInfo) {
        self.start(at, group, info);
    }

    fn start(&mut self, at: Duration, group: &GroupId, info: FailoverInfo) -> bool {
        if self.failovers.contains_key(&info.id) {
            return false;
        }
        self.failovers.insert(info.id.clone(), self.list.len());
        self.list.push(FailoverSummary {
            group: group.clone(),
            info,
            requested_at: at,
            ended_at: None,
            outcome: None,
            downtime: None,
        });
        true
    }

    /// Shows an event only the first time any agent reports it (`key` names it).
    fn first(&mut self, group: &GroupId, key: String) -> bool {
        self.shown.insert((group.clone(), key))
    }

    /// The timeline lines for one agent event (none when another agent already reported it).
    pub fn agent_event(&mut self, at: Duration, e: AgentEvent, log: &ServingLog) -> Vec<DemoEvent> {
        use AgentEventKind as K;
        let line = |what: What| DemoEvent {
            at,
            cluster: Some(e.cluster.clone()),
            group: Some(e.group.clone()),
            what,
        };
        let what = match &e.kind {
            K::RoleChanged { to, epoch, .. } => What::Role {
                role: format!("{to:?}").to_uppercase(),
                epoch: *epoch,
            },
            K::TransitionStarted {
                id,
                source,
                target,
                mode,
                automatic,
                ..
            } => {
                let info = FailoverInfo {
                    id: id.clone(),
                    source: source.clone(),
                    target: target.clone(),
                    mode: mode.to_string(),
                    automatic: *automatic,
                };
                let shown = self.first(&e.group, format!("started {id}"));
                self.start(at, &e.group, info.clone());
                if !shown {
                    return Vec::new();
                }
                What::FailoverStarted(info)
            }
            K::PhaseChanged { id, to, .. } if !self.first(&e.group, format!("{id} {to}")) => {
                return Vec::new();
            }
            K::OwnershipFlipped { epoch, .. } if !self.first(&e.group, format!("flip {epoch}")) => {
                return Vec::new();
            }
            K::TransitionEnded {
                id,
                source,
                target,
                mode,
                automatic,
                outcome,
                ..
            } => {
                let info = FailoverInfo {
                    id: id.clone(),
                    source: source.clone(),
                    target: target.clone(),
                    mode: mode.to_string(),
                    automatic: *automatic,
                };
                self.start(at, &e.group, info.clone());
                let downtime = downtime(log, &e.group, target);
                let mut duration = None;
                if let Some(f) = self.failovers.get(id).and_then(|i| self.list.get_mut(*i)) {
                    f.ended_at = Some(at);
                    f.outcome = Some(outcome.to_string());
                    f.downtime = downtime;
                    duration = Some(at.saturating_sub(f.requested_at));
                }
                What::FailoverCompleted {
                    failover: info,
                    outcome: outcome.to_string(),
                    duration,
                    downtime,
                }
            }
            other => What::Step(name(other), other.to_string()),
        };
        vec![line(what)]
    }

    /// Every failover seen, in the order first seen.
    pub fn failovers(&self) -> Vec<FailoverSummary> {
        self.list.clone()
    }
}

/// How long nobody served `group` before `target` started serving it last: the gap between the
/// end of the latest other cluster's serving stretch and the target's start, zero when they
/// overlapped (UPTIME), `None` when the target never served.
pub fn downtime(log: &ServingLog, group: &GroupId, target: &str) -> Option<Duration> {
    let intervals = log.serving_intervals(group);
    let start = intervals
        .iter()
        .filter(|i| i.cluster == target)
        .map(|i| i.from)
        .max()?;
    let others = intervals
        .iter()
        .filter(|i| i.cluster != target && i.from <= start);
    if others.clone().any(|i| i.to.is_none_or(|to| to >= start)) {
        return Some(Duration::ZERO);
    }
    let stopped = others.filter_map(|i| i.to).max()?;
    Some(start.saturating_sub(stopped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::k8s::simulated::EventKind;
    use crate::protocol::Role;
    use crate::store::{FailoverMode, HistoryStatus};
    use chrono::{DateTime, Utc};

    fn g() -> GroupId {
        GroupId::new("demo", "app-1").unwrap()
    }

    fn event(cluster: &str, kind: AgentEventKind) -> AgentEvent {
        AgentEvent {
            at: DateTime::<Utc>::UNIX_EPOCH,
            cluster: cluster.into(),
            group: g(),
            kind,
        }
    }

    fn started(requested_here: bool) -> AgentEventKind {
        AgentEventKind::TransitionStarted {
            id: "t1".into(),
            source: "cluster-1".into(),
            target: "cluster-2".into(),
            mode: FailoverMode::Consistency,
            force: true,
            automatic: true,
            reason: "owner silent".into(),
            requested_here,
        }
    }

    #[test]
    fn a_transition_every_agent_sees_is_shown_once_and_timed_from_its_first_sighting() {
        let clock = ManualClock::starting_at(DateTime::<Utc>::UNIX_EPOCH);
        let log = ServingLog::new(Arc::new(clock.clone()));
        let mut t = Timeline::default();
        let s = Duration::from_secs;
        log.record("cluster-1", &g(), EventKind::ServingStarted);
        clock.advance(s(4));
        log.record("cluster-1", &g(), EventKind::ServingStopped);
        assert_eq!(
            t.agent_event(s(5), event("cluster-2", started(true)), &log)
                .len(),
            1
        );
        assert!(
            t.agent_event(s(6), event("cluster-3", started(false)), &log)
                .is_empty()
        );
        clock.advance(s(3));
        log.record("cluster-2", &g(), EventKind::ServingStarted);
        let ended = AgentEventKind::TransitionEnded {
            id: "t1".into(),
            source: "cluster-1".into(),
            target: "cluster-2".into(),
            mode: FailoverMode::Consistency,
            automatic: true,
            outcome: HistoryStatus::ForcedComplete,
            duration: Some(s(2)),
            downtime: None,
        };
        let lines = t.agent_event(s(8), event("cluster-2", ended), &log);
        let j = lines[0].to_json();
        assert_eq!(j["event"], "failover_completed");
        assert_eq!(
            (j["duration"].as_f64(), j["downtime"].as_f64()),
            (Some(3.0), Some(3.0))
        );
        assert_eq!(j["outcome"], "FORCED_COMPLETE");
        let f = &t.failovers()[0];
        assert_eq!((f.requested_at, f.ended_at), (s(5), Some(s(8))));
    }

    #[test]
    fn role_changes_carry_the_role_and_epoch() {
        let clock = ManualClock::starting_at(DateTime::<Utc>::UNIX_EPOCH);
        let log = ServingLog::new(Arc::new(clock));
        let mut t = Timeline::default();
        let kind = AgentEventKind::RoleChanged {
            from: None,
            to: Role::Primary,
            epoch: 3,
        };
        let j = t.agent_event(Duration::ZERO, event("cluster-1", kind), &log)[0].to_json();
        assert_eq!(
            (j["role"].as_str(), j["epoch"].as_u64()),
            (Some("PRIMARY"), Some(3))
        );
    }

    #[test]
    fn an_uptime_hand_over_has_no_downtime() {
        let clock = ManualClock::starting_at(DateTime::<Utc>::UNIX_EPOCH);
        let log = ServingLog::new(Arc::new(clock.clone()));
        log.record("a", &g(), EventKind::ServingStarted);
        clock.advance(Duration::from_secs(1));
        log.record("b", &g(), EventKind::ServingStarted);
        clock.advance(Duration::from_secs(1));
        log.record("a", &g(), EventKind::ServingStopped);
        assert_eq!(downtime(&log, &g(), "b"), Some(Duration::ZERO));
        assert_eq!(downtime(&log, &g(), "c"), None);
    }
}
