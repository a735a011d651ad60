//! The cluster fake of the agent's fencing tests: the simulated cluster behind the Kubernetes
//! backend's contract (no serving watchdog), whose calls can be made to hang, be refused or
//! answer slowly, as a hung, refusing or loaded API server's do.

use super::*;
use crate::k8s::{Action, ActionError, ClusterActions, HealthReport, Progress};
use async_trait::async_trait;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The simulated cluster behind the Kubernetes backend's contract: no serving watchdog (the
/// lease is never passed on, so the simulated one is never armed and cannot be what switches
/// the cluster off) and a deactivation that no epoch refuses (`src/k8s/kube/fencing.rs`). Its
/// `health()` and `apply` can be made to never answer, as a hung API server's calls do.
pub(super) struct NoWatchdog {
    inner: Arc<SimulatedCluster>,
    pub(super) hang_health: AtomicBool,
    pub(super) hang_apply: AtomicBool,
    /// An action the API refuses (a 403, a refusing admission webhook).
    pub(super) refuse: Mutex<Option<Action>>,
    /// An action the API answers only after a while (a loaded control plane), and how long.
    pub(super) slow: Mutex<Option<(Action, Duration)>>,
    /// Every action that reached the cluster, in order.
    applied: Mutex<Vec<Action>>,
    /// Every call of `apply`, answered or not, with when it was made (tokio's time).
    attempts: Mutex<Vec<(Action, tokio::time::Instant)>>,
}

impl NoWatchdog {
    pub(super) fn new(inner: Arc<SimulatedCluster>) -> Arc<NoWatchdog> {
        Arc::new(NoWatchdog {
            inner,
            hang_health: AtomicBool::new(false),
            hang_apply: AtomicBool::new(false),
            refuse: Mutex::new(None),
            slow: Mutex::new(None),
            applied: Mutex::new(Vec::new()),
            attempts: Mutex::new(Vec::new()),
        })
    }

    pub(super) fn attempts(&self) -> Vec<(Action, tokio::time::Instant)> {
        self.attempts.lock().unwrap().clone()
    }

    pub(super) fn applied(&self) -> Vec<Action> {
        self.applied.lock().unwrap().clone()
    }
}

#[async_trait]
impl ClusterActions for NoWatchdog {
    fn cluster_name(&self) -> &str {
        self.inner.cluster_name()
    }

    async fn apply(
        &self,
        group: &GroupId,
        action: Action,
        epoch: u64,
    ) -> Result<Progress, ActionError> {
        let now = tokio::time::Instant::now();
        self.attempts.lock().unwrap().push((action, now));
        if self.hang_apply.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let slow = *self.slow.lock().unwrap();
        if let Some((_, delay)) = slow.filter(|(slow, _)| *slow == action) {
            tokio::time::sleep(delay).await;
        }
        if *self.refuse.lock().unwrap() == Some(action) {
            return Err(ActionError::Unavailable {
                cluster: self.cluster_name().to_string(),
                group: group.to_string(),
                action: Some(action),
                message:
                    "admission webhook \"validate.nginx.ingress.kubernetes.io\" denied the request"
                        .into(),
            });
        }
        let epoch = if Action::DEACTIVATE.contains(&action) {
            let applied = self.inner.snapshot(group).map_or(0, |s| s.applied_epoch);
            epoch.max(applied)
        } else {
            epoch
        };
        self.applied.lock().unwrap().push(action);
        self.inner.apply(group, action, epoch).await
    }

    async fn health(&self, group: &GroupId) -> Result<HealthReport, ActionError> {
        if self.hang_health.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.health(group).await
    }

    async fn has_volume_replications(&self, group: &GroupId) -> Result<bool, ActionError> {
        self.inner.has_volume_replications(group).await
    }

    async fn renew_serving_lease(
        &self,
        _group: &GroupId,
        _lease: Duration,
    ) -> Result<bool, ActionError> {
        Ok(false)
    }
}

pub(super) fn agent_on(w: &World, cluster: Arc<NoWatchdog>, owner: &str) -> GroupAgent {
    w.agent_on(cluster, owner)
}

/// One tick, which must end (in paused tokio time) whatever the cluster or the store do.
pub(super) async fn bounded_tick(agent: &mut GroupAgent) -> TickReport {
    tokio::time::timeout(Duration::from_secs(600), agent.tick())
        .await
        .expect("a tick ends even when a cluster call never answers")
}

/// `a` owning and serving on a cluster without a watchdog: the cluster, its fake and its agent.
pub(super) async fn serving(w: &World) -> (Arc<SimulatedCluster>, Arc<NoWatchdog>, GroupAgent) {
    let sim = w.cluster("a");
    let a = NoWatchdog::new(sim.clone());
    let mut agent = agent_on(w, a.clone(), "a");
    let _ = bounded_tick(&mut agent).await;
    w.clock.advance(agent.next_tick_in());
    let _ = bounded_tick(&mut agent).await;
    assert!(sim.is_serving(&gid()));
    (sim, a, agent)
}

/// Cuts the store off and ticks the agent at its pace until it fences: that tick's report.
pub(super) async fn cut_off_until_fenced(w: &World, agent: &mut GroupAgent) -> TickReport {
    w.store.set_partitioned(true);
    for _ in 0..20 {
        w.clock.advance(agent.next_tick_in());
        let r = bounded_tick(agent).await;
        if r.decision.as_ref().is_some_and(|d| d.role == Role::Fenced) {
            return r;
        }
    }
    panic!("the cut-off primary never fenced");
}
