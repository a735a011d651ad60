//! Converging the local cluster to the decided role: renew the serving lease while PRIMARY
//! (so the cluster's watchdog stops serving by itself if this agent dies), then run the role's
//! steps in order with the decision's epoch, and record how far the cluster got
//! (`LocalProgress`). An activation stops at the first step that is not done. A deactivation
//! (STANDBY, FENCED) stops only at a step that is still under way (pods terminating, a volume
//! demoting): a step that fails (a 403, a refusing admission webhook, a renamed object, a call
//! that does not answer) is reported and the later steps still run, because a failed NetworkOff
//! must not keep the workloads running while another cluster takes over.
//!
//! Every call to the cluster has a time limit ([`call_bound`]): one that does not answer in
//! time is a failed call, so a hung API server can hold neither a tick nor a fence.

use crate::clock::Clock;
use crate::k8s::{Action, ActionError, ClusterActions, Progress};
use crate::protocol::{Decision, LocalProgress};
use crate::store::GroupId;
use std::future::Future;
use std::time::Duration;

/// The serving lease for a PRIMARY decision without a deadline (self-fencing off, or timeouts
/// refused): long enough to mean "no limit", yet a plain duration every cluster can add to its
/// clock. Renewing it (rather than not renewing at all) keeps a deadline armed earlier from
/// switching a cluster off that is meant to serve.
pub(super) const UNLIMITED_SERVING_LEASE: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long one call of a tick may take, to the store or to the cluster: a heartbeat
/// `interval`, and never past the serving `deadline` (when the cluster has one); a call that
/// outlives it is a failed call. Without it, a call that never answers would hold the tick,
/// and a cut-off PRIMARY would keep serving after another cluster took over.
pub(super) fn call_bound(
    interval: Duration,
    deadline: Option<Duration>,
    now: Duration,
) -> Duration {
    match deadline {
        Some(until) => until.saturating_sub(now).min(interval),
        None => interval,
    }
}

/// What [`call_bound`] allows, as the messages of calls that ran out of it explain it.
pub(super) const CALL_BOUND: &str = "one heartbeat interval, and never past the serving deadline";
/// What a deactivation's step is allowed ([`Converger::run`]), as its messages explain it.
const STEP_SHARE: &str = "an equal share of what is left of one heartbeat interval, which the deactivation's remaining steps split";

/// Runs one cluster call for at most `bound` (`why` says where the bound comes from).
/// `Err(message)` when it did not answer in time (naming the cluster, `what` it was asked and
/// the bound), `Ok` with its own result otherwise.
pub(super) async fn bounded<T>(
    (bound, why): (Duration, &str),
    cluster: &str,
    group: &GroupId,
    what: &str,
    call: impl Future<Output = T>,
) -> Result<T, String> {
    tokio::time::timeout(bound, call).await.map_err(|_| {
        format!(
            "cluster {cluster} did not answer in time to {what} for {group} (allowed {bound:?}: {why}); treated as a failed call and tried again at the next tick"
        )
    })
}

/// How far one convergence got.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Converged {
    /// Every step of the role reported done.
    pub(super) done: bool,
    /// What the first unfinished step waits for.
    pub(super) pending: Option<String>,
    /// The cluster error that stopped an activation, or the first one a deactivation went
    /// past.
    pub(super) error: Option<String>,
}

/// The cluster side of an agent: its `ClusterActions` and what it last knew of its network.
pub(super) struct Converger<'a> {
    pub(super) cluster: &'a dyn ClusterActions,
    pub(super) clock: &'a dyn Clock,
    pub(super) group: &'a GroupId,
    /// The heartbeat interval: the longest any one call may take.
    pub(super) interval: Duration,
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
        // A deactivation's steps share one interval (tokio's time, as the bounds are): each
        // gets an equal share of what is left, so a step that answers at once leaves its share
        // to a slow one (a loaded API server), and one that hangs still leaves the later
        // steps a quarter each.
        let shared_until = (!active).then(|| tokio::time::Instant::now() + self.interval);
        let actions = d.role.actions();
        for (done, action) in actions.into_iter().enumerate() {
            // Never start an activation step past the deadline: the next tick steps again and
            // will be FENCED unless a newer heartbeat succeeded.
            if active && d.serve_until.is_some_and(|u| self.clock.monotonic() >= u) {
                out.pending = Some("the serving deadline passed; stepping again".to_string());
                self.record(d, false);
                return out;
            }
            let call = self.cluster.apply(self.group, action, d.epoch);
            let what = format!("apply {action:?}");
            let share = shared_until.map(|until| (until, (actions.len() - done) as u32));
            match self.bounded(d, share, &what, call).await {
                Ok(Ok(Progress::Done)) => self.stamp(action),
                Ok(Ok(Progress::Pending(what))) => {
                    out.pending = Some(format!("{action:?}: {what}"));
                    self.record(d, false);
                    return out;
                }
                Ok(Err(e)) => {
                    out.error.get_or_insert(describe(&e));
                    if active {
                        self.record(d, false);
                        return out;
                    }
                }
                Err(timed_out) => {
                    out.error.get_or_insert(timed_out);
                    if active {
                        self.record(d, false);
                        return out;
                    }
                }
            }
        }
        // A deactivation that went past a failed step is not done: the next tick runs it again.
        out.done = out.error.is_none();
        self.record(d, out.done);
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
        let call = self.cluster.renew_serving_lease(self.group, lease);
        match self.bounded(d, None, "renew the serving lease", call).await {
            Ok(Ok(enforced)) => {
                tracing::trace!(group = %self.group, ?lease, enforced, "serving lease renewed");
                true
            }
            Ok(Err(e)) => {
                out.error = Some(describe(&e));
                false
            }
            Err(timed_out) => {
                out.error = Some(timed_out);
                false
            }
        }
    }

    /// Runs one call for `d` within its bound: the interval, and never past the deadline of
    /// a decision that lets the cluster serve. A deactivation has no serving deadline (it is
    /// what happens once that has passed) and goes on past a step that fails, so its steps
    /// share one interval (`share`: until when, and how many steps are left, this one
    /// included): a step whose call hangs (a stuck admission webhook on the Ingress) then
    /// delays the steps after it by a fraction of the interval, not by a whole one each time
    /// it is tried, and the workloads still stop before another cluster takes over.
    async fn bounded<T>(
        &self,
        d: &Decision,
        share: Option<(tokio::time::Instant, u32)>,
        what: &str,
        call: impl Future<Output = T>,
    ) -> Result<T, String> {
        let bound = match share {
            Some((until, steps_left)) => (
                until.saturating_duration_since(tokio::time::Instant::now()) / steps_left.max(1),
                STEP_SHARE,
            ),
            None => {
                let deadline = d.serve_until.filter(|_| d.role.is_active());
                let now = self.clock.monotonic();
                (call_bound(self.interval, deadline, now), CALL_BOUND)
            }
        };
        let name = self.cluster.cluster_name();
        bounded(bound, name, self.group, what, call).await
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
