//! Converging the local cluster to the decided role: renew the serving lease while PRIMARY
//! (so the cluster's watchdog stops serving by itself if this agent dies), then run the role's
//! steps in order with the decision's epoch, stopping at the first one that is not done, and
//! record how far the cluster got (`LocalProgress`).

use crate::clock::Clock;
use crate::k8s::{Action, ActionError, ClusterActions, Progress};
use crate::protocol::{Decision, LocalProgress};
use crate::store::GroupId;
use std::time::Duration;

/// The serving lease for a PRIMARY decision without a deadline (self-fencing off, or timeouts
/// refused): long enough to mean "no limit", yet a plain duration every cluster can add to its
/// clock. Renewing it (rather than not renewing at all) keeps a deadline armed earlier from
/// switching a cluster off that is meant to serve.
pub(super) const UNLIMITED_SERVING_LEASE: Duration = Duration::from_secs(365 * 24 * 3600);

/// How far one convergence got.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Converged {
    /// Every step of the role reported done.
    pub(super) done: bool,
    /// What the first unfinished step waits for.
    pub(super) pending: Option<String>,
    /// The cluster error that stopped it.
    pub(super) error: Option<String>,
}

/// The cluster side of an agent: its `ClusterActions` and what it last knew of its network.
pub(super) struct Converger<'a> {
    pub(super) cluster: &'a dyn ClusterActions,
    pub(super) clock: &'a dyn Clock,
    pub(super) group: &'a GroupId,
    /// Whether the agent last turned the network on (`Some(true)`) or off; `None` before it
    /// did either (an agent that just started). Only used to stamp the moment it changed.
    pub(super) network: &'a mut Option<bool>,
    pub(super) progress: &'a mut LocalProgress,
}

impl Converger<'_> {
    /// Converges the cluster to `d.role` with `d.epoch`.
    pub(super) async fn run(&mut self, d: &Decision) -> Converged {
        let active = d.role.is_active();
        let mut out = Converged::default();
        if active && !self.renew_lease(d, &mut out).await {
            self.record(d, false);
            return out;
        }
        for action in d.role.actions() {
            // Never start an activation step past the deadline: the next tick steps again and
            // will be FENCED unless a newer heartbeat succeeded.
            if active && d.serve_until.is_some_and(|u| self.clock.monotonic() >= u) {
                out.pending = Some("the serving deadline passed; stepping again".to_string());
                self.record(d, false);
                return out;
            }
            match self.cluster.apply(self.group, action, d.epoch).await {
                Ok(Progress::Done) => self.stamp(action),
                Ok(Progress::Pending(what)) => {
                    out.pending = Some(format!("{action:?}: {what}"));
                    self.record(d, false);
                    return out;
                }
                Err(e) => {
                    out.error = Some(describe(&e));
                    self.record(d, false);
                    return out;
                }
            }
        }
        out.done = true;
        self.record(d, true);
        out
    }

    /// Renews the serving lease up to the decision's deadline; false when the cluster must not
    /// (or could not) be activated now.
    async fn renew_lease(&mut self, d: &Decision, out: &mut Converged) -> bool {
        let now = self.clock.monotonic();
        let lease = match d.serve_until {
            Some(until) if now >= until => {
                out.pending = Some("the serving deadline passed; stepping again".to_string());
                return false;
            }
            Some(until) => until - now,
            None => UNLIMITED_SERVING_LEASE,
        };
        match self.cluster.renew_serving_lease(self.group, lease).await {
            Ok(enforced) => {
                tracing::trace!(group = %self.group, ?lease, enforced, "serving lease renewed");
                true
            }
            Err(e) => {
                out.error = Some(describe(&e));
                false
            }
        }
    }

    fn stamp(&mut self, action: Action) {
        let on = match action {
            Action::NetworkOn => true,
            Action::NetworkOff => false,
            _ => return,
        };
        if *self.network != Some(on) {
            let at = Some(self.clock.now());
            if on {
                self.progress.network_on_at = at;
            } else {
                self.progress.network_off_at = at;
            }
            *self.network = Some(on);
        }
    }

    fn record(&mut self, d: &Decision, done: bool) {
        self.progress.epoch = d.epoch;
        self.progress.activated = done && d.role.is_active();
        self.progress.deactivated = done && !d.role.is_active();
    }
}

fn describe(e: &ActionError) -> String {
    e.to_string()
}
