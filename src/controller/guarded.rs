//! The cluster actions as the agents of a leading replica get them: every change (`apply`,
//! `renew_serving_lease`) is refused once this replica's leadership has lapsed by the clock,
//! and a change in flight is cut off at that moment. Stopping the agents when leadership ends
//! is not enough on its own: an agent finishes its current tick first, and a tick may still be
//! scaling workloads up when another replica, or another cluster after a failover, already
//! acts. Reads (`health`, `has_volume_replications`) pass: they change nothing.

use super::leadership::{Leadership, NotLeading};
use crate::k8s::{Action, ActionError, ClusterActions, HealthReport, Progress};
use crate::store::GroupId;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// [`ClusterActions`] that change the cluster only while this replica leads.
pub struct LeaderOnly {
    inner: Arc<dyn ClusterActions>,
    leadership: Arc<Leadership>,
}

impl LeaderOnly {
    /// Wraps `inner`; its changes are allowed while `leadership` holds.
    pub fn new(inner: Arc<dyn ClusterActions>, leadership: Arc<Leadership>) -> Self {
        LeaderOnly { inner, leadership }
    }

    fn refused(&self, group: &GroupId, action: Option<Action>, why: NotLeading) -> ActionError {
        ActionError::Unavailable {
            cluster: self.inner.cluster_name().to_string(),
            group: group.to_string(),
            action,
            message: why.to_string(),
        }
    }
}

#[async_trait]
impl ClusterActions for LeaderOnly {
    fn cluster_name(&self) -> &str {
        self.inner.cluster_name()
    }

    async fn apply(
        &self,
        group: &GroupId,
        action: Action,
        epoch: u64,
    ) -> Result<Progress, ActionError> {
        self.leadership
            .bounded(self.inner.apply(group, action, epoch))
            .await
            .unwrap_or_else(|why| Err(self.refused(group, Some(action), why)))
    }

    async fn health(&self, group: &GroupId) -> Result<HealthReport, ActionError> {
        self.inner.health(group).await
    }

    async fn has_volume_replications(&self, group: &GroupId) -> Result<bool, ActionError> {
        self.inner.has_volume_replications(group).await
    }

    async fn renew_serving_lease(
        &self,
        group: &GroupId,
        lease: Duration,
    ) -> Result<bool, ActionError> {
        // A renewal keeps the cluster serving: a deposed leader must not extend it.
        self.leadership
            .bounded(self.inner.renew_serving_lease(group, lease))
            .await
            .unwrap_or_else(|why| Err(self.refused(group, None, why)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::k8s::simulated::{ServingLog, SimGroupSpec, SimulatedCluster};

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn group() -> GroupId {
        GroupId::new("shop", "web").unwrap()
    }

    fn setup() -> (
        ManualClock,
        Arc<Leadership>,
        Arc<SimulatedCluster>,
        LeaderOnly,
    ) {
        let clock = ManualClock::starting_at(chrono::Utc::now());
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let sim = Arc::new(SimulatedCluster::new(
            "east",
            shared.clone(),
            ServingLog::new(shared.clone()),
        ));
        sim.add_group(group(), SimGroupSpec::stateless().instant());
        let leadership = Leadership::elected(shared, "ops/leader");
        let guarded = LeaderOnly::new(sim.clone(), leadership.clone());
        (clock, leadership, sim, guarded)
    }

    #[tokio::test]
    async fn a_write_after_the_leadership_deadline_is_refused_and_never_reaches_the_cluster() {
        let (clock, leadership, sim, guarded) = setup();
        leadership.renewed_until(secs(10));
        assert_eq!(
            guarded.apply(&group(), Action::NetworkOff, 1).await,
            Ok(Progress::Done)
        );
        clock.advance(secs(10));
        let refused = guarded
            .apply(&group(), Action::ScaleUp, 1)
            .await
            .unwrap_err();
        let text = refused.to_string();
        assert!(
            text.contains("shop/web") && text.contains("ScaleUp"),
            "{text}"
        );
        assert!(text.contains("ops/leader"), "{text}");
        let before = sim.snapshot(&group());
        assert!(
            guarded
                .renew_serving_lease(&group(), secs(30))
                .await
                .is_err(),
            "a deposed leader must not keep its cluster serving"
        );
        assert_eq!(sim.snapshot(&group()), before, "nothing changed");
        assert!(guarded.health(&group()).await.is_ok(), "reads still pass");
    }

    #[tokio::test]
    async fn a_replica_that_never_led_changes_nothing() {
        let (_clock, _leadership, _sim, guarded) = setup();
        assert!(guarded.apply(&group(), Action::NetworkOn, 1).await.is_err());
    }
}
