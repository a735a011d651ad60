//! The leader-election loop: reads the coordination.k8s.io/v1 Lease every retry period, writes
//! it as [`LeaseObserver`] decides (create, or replace with the read resourceVersion so that
//! two candidates never both win), and publishes whether this replica leads. On shutdown a
//! leader releases the Lease (clears the holder) so a standby replica takes over at once.

use super::LeaderSettings;
use super::leader::{LeaseAction, LeaseObserver, LeaseView, still_leading};
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
        LeaderElector {
            api,
            settings,
            clock,
            metrics,
        }
    }

    /// Campaigns and renews until `shutdown`; `leading` is true exactly while this replica may
    /// act. It turns false as soon as another holder is seen or the renew deadline passes.
    pub async fn run(self, leading: watch::Sender<bool>, mut shutdown: watch::Receiver<bool>) {
        let me = self.settings.identity.clone();
        let mut observer = LeaseObserver::default();
        let mut last_renewed: Option<Duration> = None;
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Taken before the read: a renewal counts from when it was sent, never later.
            let sent_at = self.clock.monotonic();
            match self.api.get_opt(&self.settings.lease_name).await {
                Ok(lease) => {
                    let view = lease.as_ref().map(view_of);
                    let action =
                        observer.decide(view.as_ref(), &me, sent_at, self.settings.lease_duration);
                    match self.write(action, lease).await {
                        Ok(true) => last_renewed = Some(sent_at),
                        Ok(false) => last_renewed = None,
                        Err(e) => tracing::warn!(
                            lease = %self.settings.lease_name,
                            "could not write the leader Lease: {e}"
                        ),
                    }
                }
                Err(e) => tracing::warn!(
                    lease = %self.settings.lease_name,
                    "could not read the leader Lease: {e}"
                ),
            }
            let now = self.clock.monotonic();
            let lead = still_leading(last_renewed, now, self.settings.renew_deadline);
            self.publish(&leading, lead);
            tokio::select! {
                _ = tokio::time::sleep(self.settings.retry_period) => {}
                _ = shutdown.changed() => {}
            }
        }
        let was_leading = *leading.borrow();
        self.publish(&leading, false);
        if was_leading {
            self.release().await;
        }
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
