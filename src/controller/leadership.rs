//! Whether this replica may change anything *now*, judged by the clock rather than by the
//! last Lease call that returned: leadership is valid until the last successful renewal plus
//! the renew deadline (client-go's rule), on this process's monotonic clock. The elector
//! moves the deadline on every renewal; everything that writes on the leader's behalf (the
//! agents' cluster actions, FailoverGroup and Failover writes) asks [`Leadership::check`]
//! first, so a replica whose Lease calls hang stops writing at the deadline, not when its
//! current tick or call ends.

use crate::clock::Clock;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// `valid_until` value meaning "not leading".
const NONE: u64 = 0;
/// `valid_until` value meaning "always" (no leader election: one replica only).
const ALWAYS: u64 = u64::MAX;

/// Why a write was refused: leadership is not (or no longer) held.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this replica does not hold the leader Lease {lease} (not renewed within the renew deadline, or taken by another replica): the write is refused so that only the current leader acts; it resumes if this replica leads again"
)]
pub struct NotLeading {
    /// The Lease, `namespace/name`.
    pub lease: String,
}

/// The leadership deadline of one replica, shared by the elector and every writer.
#[derive(Debug)]
pub struct Leadership {
    clock: Arc<dyn Clock>,
    lease: String,
    /// Monotonic nanoseconds until which this replica leads; [`NONE`] or [`ALWAYS`].
    valid_until: AtomicU64,
}

impl Leadership {
    /// Leadership without election: always valid.
    pub fn always(clock: Arc<dyn Clock>) -> Arc<Self> {
        Arc::new(Leadership {
            clock,
            lease: "(leader election off)".to_string(),
            valid_until: AtomicU64::new(ALWAYS),
        })
    }

    /// Leadership on the Lease `lease` (`namespace/name`): not held until renewed.
    pub fn elected(clock: Arc<dyn Clock>, lease: &str) -> Arc<Self> {
        Arc::new(Leadership {
            clock,
            lease: lease.to_string(),
            valid_until: AtomicU64::new(NONE),
        })
    }

    /// Leads until `until` (monotonic) unless renewed again.
    pub fn renewed_until(&self, until: Duration) {
        let nanos = u64::try_from(until.as_nanos())
            .unwrap_or(ALWAYS - 1)
            .clamp(1, ALWAYS - 1);
        self.valid_until.store(nanos, Ordering::SeqCst);
    }

    /// No longer leads (another holder was seen, or on shutdown).
    pub fn lost(&self) {
        self.valid_until.store(NONE, Ordering::SeqCst);
    }

    /// How long this replica still leads: `None` without a limit, zero when it does not lead.
    pub fn remaining(&self) -> Option<Duration> {
        match self.valid_until.load(Ordering::SeqCst) {
            ALWAYS => None,
            nanos => Some(Duration::from_nanos(nanos).saturating_sub(self.clock.monotonic())),
        }
    }

    /// `Ok` while this replica leads.
    pub fn check(&self) -> Result<(), NotLeading> {
        match self.remaining() {
            Some(left) if left.is_zero() => Err(NotLeading {
                lease: self.lease.clone(),
            }),
            _ => Ok(()),
        }
    }

    /// Runs `call` only while this replica leads, and cuts it off when leadership ends first
    /// (the write may still land if it was sent: nothing can take back a sent request, but
    /// nothing waits for it or builds on it).
    pub async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = T>,
    ) -> Result<T, NotLeading> {
        self.check()?;
        match self.remaining() {
            None => Ok(call.await),
            Some(left) => tokio::time::timeout(left, call)
                .await
                .map_err(|_| NotLeading {
                    lease: self.lease.clone(),
                }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn leadership_lasts_until_the_deadline_by_the_clock_and_not_a_moment_longer() {
        let clock = ManualClock::starting_at(chrono::Utc::now());
        let l = Leadership::elected(Arc::new(clock.clone()), "ops/leader");
        assert!(l.check().is_err(), "not leading before the first renewal");
        l.renewed_until(secs(10));
        assert_eq!(l.remaining(), Some(secs(10)));
        clock.advance(secs(9));
        assert!(l.check().is_ok());
        clock.advance(secs(1));
        let refused = l.check().unwrap_err();
        assert!(refused.to_string().contains("ops/leader"), "{refused}");
        l.renewed_until(secs(20));
        assert!(l.check().is_ok());
        l.lost();
        assert!(l.check().is_err());
    }

    #[test]
    fn without_election_a_replica_always_leads() {
        let l = Leadership::always(Arc::new(ManualClock::starting_at(chrono::Utc::now())));
        assert_eq!(l.remaining(), None);
        assert!(l.check().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_in_flight_is_cut_off_when_leadership_ends() {
        let clock = ManualClock::starting_at(chrono::Utc::now());
        let l = Leadership::elected(Arc::new(clock.clone()), "ops/leader");
        l.renewed_until(secs(2));
        let started = tokio::time::Instant::now();
        assert!(l.bounded(std::future::pending::<()>()).await.is_err());
        assert_eq!(started.elapsed(), secs(2), "cut off at the deadline");
        assert_eq!(l.bounded(async { 7 }).await.ok(), Some(7));
        clock.advance(secs(2));
        assert!(
            l.bounded(async { 7 }).await.is_err(),
            "lapsed: not even started"
        );
    }
}
