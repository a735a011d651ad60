//! `SimulatedCluster`: an in-memory cluster implementing `ClusterActions`, with fencing epochs per
//! group, an on/off switch for its API, and hooks for tests to inspect and break it.

use super::group::{GroupSim, SimGroupState};
use super::health::judge;
use super::log::{EventKind, ServingLog};
use super::spec::SimGroupSpec;
use crate::clock::Clock;
use crate::k8s::{Action, ActionError, ClusterActions, HealthReport, Progress};
use crate::store::{GroupId, Health};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A test or demo helper was pointed at a group the cluster does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("simulated cluster {cluster} has no group {group}; add it with add_group first")]
pub struct UnknownGroup {
    /// The cluster.
    pub cluster: String,
    /// The group asked for.
    pub group: GroupId,
}

/// One simulated Kubernetes cluster holding the resources of some groups.
///
/// Every delay is measured on the injected clock's monotonic reading, so a `ManualClock` makes a
/// run fully deterministic. Serving changes and completed steps go to the shared [`ServingLog`].
#[derive(Debug)]
pub struct SimulatedCluster {
    name: String,
    clock: Arc<dyn Clock>,
    log: ServingLog,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    api_available: bool,
    groups: BTreeMap<GroupId, GroupSim>,
    /// No serving lease of a group with its network on lapses before this (monotonic time);
    /// `None`: unknown, the next call sweeps. Lets the watchdog skip its sweep over every group
    /// on every call, which made a cluster of 10,000 groups quadratic.
    next_lapse: Option<Duration>,
}

impl Inner {
    /// Takes `group`'s serving deadline into [`Inner::next_lapse`] after a change to it.
    fn note_deadline(&mut self, group: &GroupId) {
        let deadline = self
            .groups
            .get(group)
            .filter(|g| g.network_on)
            .and_then(|g| g.serving_deadline);
        if let (Some(d), Some(next)) = (deadline, self.next_lapse.as_mut()) {
            *next = (*next).min(d);
        }
    }
}

impl SimulatedCluster {
    /// A cluster with no groups and a reachable API.
    pub fn new(name: &str, clock: Arc<dyn Clock>, log: ServingLog) -> Self {
        SimulatedCluster {
            name: name.to_string(),
            clock,
            log,
            inner: Mutex::new(Inner {
                api_available: true,
                groups: BTreeMap::new(),
                next_lapse: None,
            }),
        }
    }

    /// Adds `group` (fully deactivated, as a FailoverGroup applied by GitOps to a standby
    /// would be). Adding it again starts it over from that state.
    pub fn add_group(&self, group: GroupId, spec: SimGroupSpec) {
        let mut inner = self.lock();
        inner.groups.insert(group, GroupSim::new(spec));
        inner.next_lapse = None;
    }

    /// Builder form of [`SimulatedCluster::add_group`].
    pub fn with_group(self, group: GroupId, spec: SimGroupSpec) -> Self {
        self.add_group(group, spec);
        self
    }

    /// The shared timeline this cluster writes to.
    pub fn log(&self) -> &ServingLog {
        &self.log
    }

    /// Makes the cluster's API reachable or not. While unreachable, `apply`, `health` and
    /// `has_volume_replications` fail with `Unavailable`, and nothing changes: workloads keep
    /// running as they were, a serving cluster keeps serving, and changes already under way
    /// (replicas becoming ready, volumes changing role) still complete, as in a real cluster
    /// cut off from its controller.
    pub fn set_api_available(&self, available: bool) {
        self.lock().api_available = available;
    }

    /// Makes `component` of `group` report `health` whatever the status says (`None` removes
    /// the override). Any component name works, including ones the group does not have.
    pub fn set_component_health_override(
        &self,
        group: &GroupId,
        component: &str,
        health: Option<Health>,
    ) -> Result<(), UnknownGroup> {
        self.with_group_mut(group, |g| match health {
            Some(h) => {
                g.overrides.insert(component.to_string(), h);
            }
            None => {
                g.overrides.remove(component);
            }
        })
    }

    /// Makes the volume replication `volume` of `group` unable (or able again) to reach the
    /// role it is asked for, as when the storage backend cannot replicate: promotions and
    /// demotions stay Pending and volume health turns ERROR. Unknown volume names are ignored.
    pub fn set_volume_stuck(
        &self,
        group: &GroupId,
        volume: &str,
        stuck: bool,
    ) -> Result<(), UnknownGroup> {
        let now = self.clock.monotonic();
        self.with_group_mut(group, |g| {
            // Settle first: a role reached before the fault began stays reached. Once un-stuck,
            // a volume whose delay has already passed completes at the next look.
            g.settle(now);
            for v in g.volumes.iter_mut().filter(|v| v.name == volume) {
                v.stuck = stuck;
            }
        })
    }

    /// Scales one workload of `group` by hand, as `kubectl scale` or an autoscaler would while
    /// the group is active (on a standby it changes the remembered count). Returns whether the
    /// workload exists.
    pub fn set_workload_replicas(
        &self,
        group: &GroupId,
        workload: &str,
        replicas: u32,
    ) -> Result<bool, UnknownGroup> {
        let now = self.clock.monotonic();
        let mut found = false;
        self.with_group_mut(group, |g| found = g.set_replicas(workload, replicas, now))?;
        Ok(found)
    }

    /// Everything about `group` now, for assertions; works while the API is unreachable (it
    /// is the test's view, not the controller's). `None` if the cluster lacks the group.
    pub fn snapshot(&self, group: &GroupId) -> Option<SimGroupState> {
        let now = self.clock.monotonic();
        let mut inner = self.lock();
        self.run_watchdog(&mut inner);
        inner.groups.get_mut(group).map(|g| g.snapshot(now))
    }

    /// Whether the cluster serves `group` now (its network annotations are on).
    pub fn is_serving(&self, group: &GroupId) -> bool {
        let mut inner = self.lock();
        self.run_watchdog(&mut inner);
        inner.groups.get(group).is_some_and(|g| g.network_on)
    }

    /// Lets the cluster's serving watchdog act now: every group whose serving lease lapsed stops
    /// serving, stamped at the instant it lapsed. Loops that drive simulated time call it often;
    /// every other call on the cluster runs it first anyway.
    pub fn watchdog(&self) {
        let mut inner = self.lock();
        self.run_watchdog(&mut inner);
    }

    fn run_watchdog(&self, inner: &mut Inner) {
        let now = self.clock.monotonic();
        if inner.next_lapse.is_some_and(|at| now < at) {
            return;
        }
        let mut next = Duration::MAX;
        for (group, g) in inner.groups.iter_mut() {
            if let Some(lapsed_at) = g.expire_serving_lease(now) {
                self.log
                    .record_at(lapsed_at, &self.name, group, EventKind::ServingStopped);
            }
            if g.network_on
                && let Some(d) = g.serving_deadline
            {
                next = next.min(d);
            }
        }
        inner.next_lapse = Some(next);
    }

    fn with_group_mut(
        &self,
        group: &GroupId,
        f: impl FnOnce(&mut GroupSim),
    ) -> Result<(), UnknownGroup> {
        match self.lock().groups.get_mut(group) {
            Some(g) => {
                f(g);
                Ok(())
            }
            None => Err(UnknownGroup {
                cluster: self.name.clone(),
                group: group.clone(),
            }),
        }
    }

    /// The group, if the API is reachable and the group exists; the error the trait reports
    /// otherwise.
    fn reachable<'a>(
        &self,
        inner: &'a mut Inner,
        group: &GroupId,
        action: Option<Action>,
    ) -> Result<&'a mut GroupSim, ActionError> {
        let unavailable = |message: String| ActionError::Unavailable {
            cluster: self.name.clone(),
            group: group.to_string(),
            action,
            message,
        };
        if !inner.api_available {
            return Err(unavailable(
                "the cluster's API server is unreachable (simulated outage)".to_string(),
            ));
        }
        inner.groups.get_mut(group).ok_or_else(|| {
            unavailable(format!(
                "no FailoverGroup {group} in this cluster; apply it here first"
            ))
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Poisoned only if a test panicked mid-call; every change below is a handful of field
        // writes that leave the group in some reachable state, so carrying on is safe.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ClusterActions for SimulatedCluster {
    fn cluster_name(&self) -> &str {
        &self.name
    }

    async fn apply(
        &self,
        group: &GroupId,
        action: Action,
        epoch: u64,
    ) -> Result<Progress, ActionError> {
        let now = self.clock.monotonic();
        let mut inner = self.lock();
        self.run_watchdog(&mut inner);
        let g = self.reachable(&mut inner, group, Some(action))?;
        let applied = g.applied_epoch;
        if epoch < applied {
            // Logged so a demo shows the fencing at work; the group itself is left untouched.
            let kind = EventKind::StaleEpochRefused {
                action,
                epoch,
                applied,
            };
            self.log.record(&self.name, group, kind);
            return Err(ActionError::StaleEpoch {
                group: group.to_string(),
                action,
                epoch,
                applied,
            });
        }
        g.applied_epoch = epoch;
        let (progress, event) = g.apply(action, now);
        // Recorded while the cluster is still locked, so the timeline's order matches the order
        // in which this cluster's state changed.
        if let Some(kind) = event {
            self.log.record(&self.name, group, kind);
        }
        inner.note_deadline(group);
        Ok(progress)
    }

    async fn health(&self, group: &GroupId) -> Result<HealthReport, ActionError> {
        let now = self.clock.monotonic();
        let mut inner = self.lock();
        self.run_watchdog(&mut inner);
        let g = self.reachable(&mut inner, group, None)?;
        g.settle(now);
        Ok(judge(g, now))
    }

    async fn has_volume_replications(&self, group: &GroupId) -> Result<bool, ActionError> {
        let mut inner = self.lock();
        let g = self.reachable(&mut inner, group, None)?;
        Ok(!g.spec.volume_replications.is_empty())
    }

    async fn renew_serving_lease(
        &self,
        group: &GroupId,
        lease: Duration,
    ) -> Result<bool, ActionError> {
        let now = self.clock.monotonic();
        let mut inner = self.lock();
        self.run_watchdog(&mut inner);
        let g = self.reachable(&mut inner, group, None)?;
        g.serving_deadline = Some(now + lease);
        inner.note_deadline(group);
        Ok(true)
    }
}

#[cfg(test)]
mod tests;
