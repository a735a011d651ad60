//! The cluster's health, off the heartbeat's path: every tick asks the cluster once, bounded
//! like every other call of the tick, and the heartbeat carries the newest answer known when it
//! is written. A `health()` that never returns can then delay neither the heartbeat nor a fence;
//! it is reported as a failed read (ERROR health) once its bound has passed.

use super::super::converge;
use super::GroupAgent;
use crate::agent::report::TickReport;
use crate::k8s::{ActionError, HealthReport};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// The share of a heartbeat interval the heartbeat waits for this tick's health answer.
const HEALTH_WAIT_FRACTION: u32 = 10;

/// One answer of `ClusterActions::health`, or why there is none.
pub(super) type HealthResult = Result<HealthReport, ActionError>;

/// A health read still under way: it runs alongside the rest of the tick.
pub(super) type Probe = Pin<Box<dyn Future<Output = HealthResult> + Send>>;

impl GroupAgent {
    /// Starts this tick's health read, bounded by `call_budget`. When the cluster answers at
    /// once (a cluster with its state at hand, as the simulated one), the answer is what this
    /// tick's heartbeat carries; otherwise the read is handed back to run alongside the tick,
    /// and the heartbeat carries the answer of an earlier tick.
    pub(super) async fn start_health(&mut self, report: &mut TickReport) -> Option<Probe> {
        let bound = self.call_budget();
        let cluster = self.cluster.clone();
        let group = self.spec.group.clone();
        let mut probe: Probe = Box::pin(async move {
            match tokio::time::timeout(bound, cluster.health(&group)).await {
                Ok(answer) => answer,
                Err(_) => Err(ActionError::Unavailable {
                    cluster: cluster.cluster_name().to_string(),
                    group: group.to_string(),
                    action: None,
                    message: format!(
                        "the health read did not answer within {bound:?} ({}); treated as a failed read and tried again at the next tick",
                        converge::CALL_BOUND
                    ),
                }),
            }
        });
        // A short wait lets the heartbeat carry this tick's answer from a cluster that answers
        // in milliseconds (the Kubernetes API): an answer one interval old would report a
        // PRIMARY that has just activated as unhealthy for an interval longer, and the others
        // count that toward `timeouts.unhealthyPrimary`. A cluster slower than that slice is
        // reported from an earlier answer, and cannot delay the heartbeat by more.
        let slice = (self.interval / HEALTH_WAIT_FRACTION).min(bound);
        if let Poll::Ready(answer) = futures::poll!(probe.as_mut()) {
            self.health_answered(answer, report);
            return None;
        }
        match tokio::time::timeout(slice, probe.as_mut()).await {
            Ok(answer) => {
                self.health_answered(answer, report);
                None
            }
            Err(_) => Some(probe),
        }
    }

    /// Keeps this tick's health answer for the next heartbeat; a failed read is this tick's
    /// cluster error unless something else failed first.
    pub(super) fn health_answered(&mut self, answer: HealthResult, report: &mut TickReport) {
        if let Err(e) = &answer {
            report.cluster_error.get_or_insert(e.to_string());
        }
        self.health = Some(answer);
    }
}
