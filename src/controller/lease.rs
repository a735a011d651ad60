//! The leader-election loop: reads the coordination.k8s.io/v1 Lease every retry period, writes
//! it as [`LeaseObserver`] decides (create, or replace with the read resourceVersion so that
//! two candidates never both win), and publishes whether this replica leads. On shutdown a
//! leader releases the Lease (clears the holder) so a standby replica takes over at once.
//!
//! Leadership ends by the clock, as in client-go: it is valid until the last successful
//! renewal plus the renew deadline ([`Leadership`]), every Lease call is cut off at that moment
//! (or after a renew deadline when not leading), and the loop wakes up at the deadline, so a
//! call that never answers cannot keep this replica acting while another takes the Lease.

use super::LeaderSettings;
use super::leader::{LeaseAction, LeaseObserver, LeaseView, still_leading};
use super::leadership::Leadership;
use super::metrics::Metrics;
use crate::clock::Clock;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// One replica's candidacy for the Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    settings: LeaderSettings,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    leadership: Arc<Leadership>,
}

impl LeaderElector {
    /// A candidate for `settings.lease_name` in `settings.namespace`.
    pub fn new(
        client: kube::Client,
        settings: LeaderSettings,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let api = Api::namespaced(client, &settings.namespace);
        let lease = format!("{}/{}", settings.namespace, settings.lease_name);
        let leadership = Leadership::elected(clock.clone(), &lease);
        LeaderElector {
            api,
            settings,
            clock,
            metrics,
            leadership,
        }
    }

    /// The leadership deadline this elector keeps, for everything that writes as the leader.
    pub fn leadership(&self) -> Arc<Leadership> {
        self.leadership.clone()
    }

    /// Campaigns and renews until `shutdown`; `leading` is true exactly while this replica may
    /// act. It turns false as soon as another holder is seen or the renew deadline passes,
    /// whether or not a Lease call is still waiting for an answer.
    pub async fn run(self, leading: watch::Sender<bool>, mut shutdown: watch::Receiver<bool>) {
        let me = self.settings.identity.clone();
        let deadline = self.settings.renew_deadline;
        let mut observer = LeaseObserver::default();
        let mut last_renewed: Option<Duration> = None;
        loop {
            // The deadline may have passed while sleeping: say so before the next call.
            self.settle(&leading, last_renewed);
            if *shutdown.borrow() {
                break;
            }
            // Taken before the read: a renewal counts from when it was sent, never later.
            let sent_at = self.clock.monotonic();
            // A leader's calls may last until its leadership ends, a candidate's one deadline.
            let bound = match last_renewed {
                Some(at) if still_leading(last_renewed, sent_at, deadline) => {
                    (at + deadline).saturating_sub(sent_at)
                }
                _ => deadline,
            };
            let attempt = tokio::time::timeout(bound, self.attempt(&mut observer, &me, sent_at));
            // A shutdown does not wait for a slow call: the loop's top sees it and stops.
            let outcome = tokio::select! {
                outcome = attempt => outcome,
                changed = shutdown.changed() => if changed.is_err() { break } else { continue },
            };
            match outcome {
                Ok(Some(true)) => last_renewed = Some(sent_at),
                Ok(Some(false)) => last_renewed = None,
                Ok(None) => {}
                Err(_) => tracing::warn!(
                    lease = %self.settings.lease_name,
                    "the API server did not answer the leader Lease calls within {bound:?}; given up (leadership lasts only until the renew deadline {deadline:?} after the last renewal)"
                ),
            }
            let lead = self.settle(&leading, last_renewed);
            let now = self.clock.monotonic();
            // A leader wakes up at its deadline at the latest, to stop acting on time.
            let pause = match last_renewed {
                Some(at) if lead => self
                    .settings
                    .retry_period
                    .min((at + deadline).saturating_sub(now)),
                _ => self.settings.retry_period,
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                changed = shutdown.changed() => if changed.is_err() { break },
            }
        }
        let was_leading = *leading.borrow();
        self.leadership.lost();
        self.publish(&leading, false);
        if was_leading {
            // Bounded like every Lease call: a hung API server must not hold the shutdown.
            if tokio::time::timeout(deadline, self.release())
                .await
                .is_err()
            {
                tracing::warn!(
                    lease = %self.settings.lease_name,
                    "could not release the leader Lease within {deadline:?} (a standby takes it after its duration)"
                );
            }
        }
    }

    /// One read and the write it calls for: `Some(true)` when this replica now holds the
    /// Lease, `Some(false)` when another does, `None` when a call failed (logged).
    async fn attempt(
        &self,
        observer: &mut LeaseObserver,
        me: &str,
        sent_at: Duration,
    ) -> Option<bool> {
        let lease = match self.api.get_opt(&self.settings.lease_name).await {
            Ok(lease) => lease,
            Err(e) => {
                tracing::warn!(lease = %self.settings.lease_name, "could not read the leader Lease: {e}");
                return None;
            }
        };
        let view = lease.as_ref().map(view_of);
        let action = observer.decide(view.as_ref(), me, sent_at, self.settings.lease_duration);
        match self.write(action, lease).await {
            Ok(held) => Some(held),
            Err(e) => {
                tracing::warn!(lease = %self.settings.lease_name, "could not write the leader Lease: {e}");
                None
            }
        }
    }

    /// Sets the leadership deadline and `leading` from the last renewal; returns whether this
    /// replica leads now. The deadline is set before `leading` turns true, so agents started
    /// on that signal find it valid.
    fn settle(&self, leading: &watch::Sender<bool>, last_renewed: Option<Duration>) -> bool {
        let deadline = self.settings.renew_deadline;
        let lead = still_leading(last_renewed, self.clock.monotonic(), deadline);
        match last_renewed {
            Some(at) if lead => self.leadership.renewed_until(at + deadline),
            _ => self.leadership.lost(),
        }
        self.publish(leading, lead);
        lead
    }

    fn publish(&self, leading: &watch::Sender<bool>, lead: bool) {
        self.metrics.leader.set(i64::from(lead));
        leading.send_if_modified(|old| {
            if *old != lead {
                tracing::info!(identity = %self.settings.identity, leading = lead, "leadership changed");
                *old = lead;
                true
            } else {
                false
            }
        });
    }

    /// Carries out `action`; `Ok(true)` when this replica now holds the Lease, `Ok(false)` when
    /// another does (including losing a write race: 409).
    async fn write(&self, action: LeaseAction, lease: Option<Lease>) -> Result<bool, kube::Error> {
        let now = MicroTime(to_timestamp(self.clock.now()));
        let seconds =
            i32::try_from(self.settings.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX);
        let result = match action {
            LeaseAction::Follow { .. } => return Ok(false),
            LeaseAction::Create => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.settings.lease_name.clone()),
                        namespace: Some(self.settings.namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(LeaseSpec {
                        holder_identity: Some(self.settings.identity.clone()),
                        lease_duration_seconds: Some(seconds),
                        acquire_time: Some(now.clone()),
                        renew_time: Some(now),
                        lease_transitions: Some(0),
                        ..LeaseSpec::default()
                    }),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            LeaseAction::Renew | LeaseAction::Acquire { .. } => {
                let Some(mut lease) = lease else {
                    return Ok(false);
                };
                let acquiring = matches!(action, LeaseAction::Acquire { .. });
                if let LeaseAction::Acquire { from } = &action {
                    tracing::info!(identity = %self.settings.identity, from = ?from, "taking the leader Lease");
                }
                let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
                spec.holder_identity = Some(self.settings.identity.clone());
                spec.lease_duration_seconds = Some(seconds);
                spec.renew_time = Some(now.clone());
                if acquiring {
                    spec.acquire_time = Some(now);
                    spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
                }
                // The read resourceVersion stays in metadata: a concurrent write makes this 409.
                self.api
                    .replace(&self.settings.lease_name, &PostParams::default(), &lease)
                    .await
            }
        };
        match result {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Clears the holder if it is still this replica, so a standby need not wait a duration.
    async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.settings.lease_name).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.renew_time = Some(MicroTime(to_timestamp(self.clock.now())));
        match self
            .api
            .replace(&self.settings.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                tracing::info!(identity = %self.settings.identity, "released the leader Lease")
            }
            Err(e) => tracing::warn!(
                identity = %self.settings.identity,
                "could not release the leader Lease (a standby takes it after its duration): {e}"
            ),
        }
    }
}

fn view_of(lease: &Lease) -> LeaseView {
    let spec = lease.spec.as_ref();
    LeaseView {
        holder: spec.and_then(|s| s.holder_identity.clone()),
        duration: spec
            .and_then(|s| s.lease_duration_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs),
        resource_version: lease.metadata.resource_version.clone().unwrap_or_default(),
    }
}

/// A chrono time as the timestamp type of k8s-openapi.
pub fn to_timestamp(t: chrono::DateTime<chrono::Utc>) -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::from_millisecond(t.timestamp_millis())
        .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
