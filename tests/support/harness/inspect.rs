//! Looking at a harness world: who serves, the agents' events, CONFIG and history as stored,
//! the merged timeline printed on failures, and the CLI-like requests (promote, CONFIG edits).

use super::{Harness, OP};
use kubectl_failover::agent::{AgentEvent, AgentEventKind};
use kubectl_failover::clock::Clock;
use kubectl_failover::k8s::ClusterActions;
use kubectl_failover::k8s::simulated::ServingInterval;
use kubectl_failover::protocol::{Refusal, TransitionRequest, request_transition};
use kubectl_failover::store::*;
use std::collections::BTreeSet;
use std::time::Duration;

impl Harness {
    /// Whether the cluster serves the group now.
    pub fn serving(&self, cluster: &str, group: &GroupId) -> bool {
        self.clusters[cluster].is_serving(group)
    }

    /// The clusters serving the group now.
    pub fn serving_now(&self, group: &GroupId) -> Vec<String> {
        self.log.serving_now(group)
    }

    /// A cluster's serving intervals for the group.
    pub fn intervals(&self, cluster: &str, group: &GroupId) -> Vec<ServingInterval> {
        let all = self.log.serving_intervals(group);
        all.into_iter().filter(|i| i.cluster == cluster).collect()
    }

    /// Every agent event for the group, with its monotonic time.
    pub fn events(&self, group: &GroupId) -> Vec<(Duration, AgentEvent)> {
        let all = self.sink.events();
        all.into_iter()
            .filter(|e| &e.group == group)
            .map(|e| (self.mono(e.at), e))
            .collect()
    }

    /// The events for the group matching `pick`, with their times.
    pub fn find(
        &self,
        group: &GroupId,
        pick: impl Fn(&AgentEvent) -> bool,
    ) -> Vec<(Duration, AgentEvent)> {
        self.events(group)
            .into_iter()
            .filter(|(_, e)| pick(e))
            .collect()
    }

    /// The `TransitionEnded` events for the group (one per ended transition, from the agent
    /// that ended it).
    pub fn ended(&self, group: &GroupId) -> Vec<(Duration, AgentEvent)> {
        self.find(group, |e| {
            matches!(e.kind, AgentEventKind::TransitionEnded { .. })
        })
    }

    /// The transitions some agent requested (automatic failovers), each once.
    pub fn requested_here(&self, group: &GroupId) -> Vec<(Duration, AgentEvent)> {
        self.find(group, |e| {
            matches!(
                e.kind,
                AgentEventKind::TransitionStarted {
                    requested_here: true,
                    ..
                }
            )
        })
    }

    /// The group as stored now (with the lock).
    pub async fn snapshot(&self, group: &GroupId) -> GroupSnapshot {
        self.store
            .load_group(OP, group)
            .await
            .expect("store answers")
            .expect("group exists")
    }

    /// Every history record of the group, newest first.
    pub async fn history(&self, group: &GroupId) -> Vec<HistoryRecord> {
        let page = self
            .store
            .history(OP, group, 100, None)
            .await
            .expect("store answers");
        page.records
    }

    /// Asks for a transition as `kubectl failover promote` does: `request_transition` on the
    /// current snapshot, then a compare-and-set of CONFIG (retried when someone else moved).
    pub async fn promote(
        &self,
        group: &GroupId,
        target: &str,
        mode: FailoverMode,
        force: bool,
    ) -> Result<GroupConfig, Refusal> {
        let volumes = self.clusters[target]
            .has_volume_replications(group)
            .await
            .expect("cluster answers");
        for attempt in 0..5 {
            let snap = self.snapshot(group).await;
            let request = TransitionRequest {
                target: target.to_string(),
                mode,
                force,
                reason: "planned maintenance".to_string(),
                initiator: "tester".to_string(),
                id: format!("promote-{target}-{}-{attempt}", self.now().as_millis()),
                wall_now: self.clock.now(),
                has_volume_replications: volumes,
                automatic: false,
            };
            let config = request_transition(&snap, &request)?;
            match self
                .store
                .update_config(snap.config.version, &config)
                .await
                .expect("store answers")
            {
                CasOutcome::Applied(written) => return Ok(written),
                CasOutcome::Conflict { .. } => continue,
            }
        }
        panic!("promote of {group} to {target} lost the compare-and-set five times in a row");
    }

    /// Changes CONFIG with a compare-and-set (retried when someone else moved first).
    pub async fn update_config(
        &self,
        group: &GroupId,
        change: impl Fn(&mut GroupConfig),
    ) -> GroupConfig {
        for _ in 0..5 {
            let mut config = self.snapshot(group).await.config;
            let expected = config.version;
            change(&mut config);
            if let CasOutcome::Applied(written) = self
                .store
                .update_config(expected, &config)
                .await
                .expect("store answers")
            {
                return written;
            }
        }
        panic!("CONFIG of {group} changed five times in a row under the test");
    }

    /// The group's serving timeline and agent events, merged in time order, for failures.
    pub fn timeline(&self, group: &GroupId) -> String {
        let mut lines: Vec<(Duration, String)> = self
            .log
            .events()
            .into_iter()
            .filter(|e| &e.group == group)
            .map(|e| (e.at, format!("{:<10} {:?}", e.cluster, e.kind)))
            .collect();
        lines.extend(
            self.events(group)
                .into_iter()
                .map(|(at, e)| (at, format!("{:<10} {}", e.cluster, e.kind))),
        );
        lines.sort_by_key(|(at, _)| *at);
        let mut out = format!("timeline of {group} (now {:?}):\n", self.now());
        for (at, line) in lines {
            out.push_str(&format!("  {:>9.3}s  {line}\n", at.as_secs_f64()));
        }
        out
    }

    /// The agents' clusters that have a live agent.
    pub fn live(&self) -> BTreeSet<String> {
        self.slots
            .iter()
            .filter(|(_, s)| s.agent.is_some())
            .map(|((c, _), _)| c.clone())
            .collect()
    }
}
