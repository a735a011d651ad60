//! Time as the rest of the code sees it: wall-clock timestamps for records and display, and a
//! monotonic clock for every decision. No other module reads the system time directly.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A source of wall-clock and monotonic time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Wall-clock time in UTC, for timestamps written to records and shown to people.
    fn now(&self) -> DateTime<Utc>;
    /// Monotonic time since an arbitrary fixed origin, for measuring elapsed time.
    fn monotonic(&self) -> Duration;
}

/// The real clock.
#[derive(Debug, Clone)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A clock whose monotonic origin is now.
    pub fn new() -> Self {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to; both of its readings advance together.
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<(DateTime<Utc>, Duration)>>,
}

impl ManualClock {
    /// A manual clock starting at the given wall-clock time.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        ManualClock {
            inner: Arc::new(Mutex::new((start, Duration::ZERO))),
        }
    }

    /// Moves both readings forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut guard = self.lock();
        guard.0 += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        guard.1 += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (DateTime<Utc>, Duration)> {
        // A poisoned lock only means another thread panicked mid-advance; the data is two plain
        // values and still consistent, so keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.lock().0
    }
    fn monotonic(&self) -> Duration {
        self.lock().1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_both_readings_together() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = ManualClock::starting_at(start);
        c.advance(Duration::from_millis(1500));
        assert_eq!(c.monotonic(), Duration::from_millis(1500));
        assert_eq!((c.now() - start).num_milliseconds(), 1500);
    }
}
