//! The token bucket of the request budget: pure arithmetic on an injected clock, no I/O.
//!
//! Amounts are kept in nano-tokens (a token is 10^9 of them) so that refilling `per_second`
//! tokens a second is exact integer arithmetic: "ten a second" means one every 100 ms to the
//! nanosecond, never a rounding error that lets an extra request through or delays one by 1 ns.

use std::time::Duration;
use tokio::time::Instant;

/// Nano-tokens in one token.
const NANO: i128 = 1_000_000_000;

/// A token bucket holding at most `burst` tokens, refilled at `per_second`. Taking tokens may
/// run it into debt: each taker is told how long to wait, and later takers queue behind the
/// debt, so callers are served in the order they asked and none is starved.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Tokens added per second (also nano-tokens added per nanosecond).
    per_second: i128,
    /// The most nano-tokens the bucket holds.
    capacity: i128,
    /// Nano-tokens held at `last`; negative while takers wait for tokens not yet refilled.
    level: i128,
    /// When `level` was last brought up to date.
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `per_second` tokens (the burst) refilled at `per_second`; `None` for 0,
    /// which means no ceiling at all.
    pub fn new(per_second: u32, now: Instant) -> Option<Self> {
        if per_second == 0 {
            return None;
        }
        let per_second = i128::from(per_second);
        Some(TokenBucket {
            per_second,
            capacity: per_second * NANO,
            level: per_second * NANO,
            last: now,
        })
    }

    /// Takes `tokens` at `now` and says how long the caller must wait before using them (zero
    /// when the bucket held them). The tokens are taken even if the caller then gives up
    /// waiting: the bucket only ever errs towards fewer requests.
    pub fn take(&mut self, tokens: u32, now: Instant) -> Duration {
        self.refill(now);
        self.level -= i128::from(tokens) * NANO;
        if self.level >= 0 {
            return Duration::ZERO;
        }
        // The debt is paid off at `per_second` nano-tokens per nanosecond; round up so the
        // caller never starts before its tokens exist.
        let debt = -self.level;
        let nanos = (debt + self.per_second - 1) / self.per_second;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Whole tokens available at `now` without waiting (for tests and messages).
    pub fn available(&mut self, now: Instant) -> u64 {
        self.refill(now);
        u64::try_from(self.level.max(0) / NANO).unwrap_or(u64::MAX)
    }

    fn refill(&mut self, now: Instant) {
        // A clock read before `last` (callers racing between reading the time and taking the
        // lock) adds nothing rather than moving `last` back.
        if now <= self.last {
            return;
        }
        let elapsed = i128::try_from((now - self.last).as_nanos()).unwrap_or(i128::MAX);
        self.level = self
            .level
            .saturating_add(elapsed.saturating_mul(self.per_second))
            .min(self.capacity);
        self.last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn no_ceiling_is_no_bucket() {
        assert!(TokenBucket::new(0, Instant::now()).is_none());
    }

    #[test]
    fn a_bucket_of_ten_per_second_lets_ten_through_then_one_every_100_ms() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, t0).unwrap();
        for _ in 0..10 {
            assert_eq!(b.take(1, t0), Duration::ZERO);
        }
        // Asked at the same instant, the next ones queue 100 ms apart, in the order they asked.
        assert_eq!(b.take(1, t0), ms(100));
        assert_eq!(b.take(1, t0), ms(200));
        // Once the debt is paid, one token every 100 ms and no more.
        let t = t0 + ms(200);
        assert_eq!(b.take(1, t), ms(100));
        assert_eq!(b.take(1, t + ms(100)), ms(100));
        assert_eq!(b.take(1, t + ms(300)), Duration::ZERO);
        assert_eq!(b.take(1, t + ms(300)), ms(100));
    }

    #[test]
    fn an_idle_bucket_refills_up_to_the_burst_and_no_further() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, t0).unwrap();
        for _ in 0..10 {
            assert_eq!(b.take(1, t0), Duration::ZERO);
        }
        assert_eq!(b.available(t0 + ms(550)), 5);
        assert_eq!(b.available(t0 + Duration::from_secs(3600)), 10);
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..10 {
            assert_eq!(b.take(1, later), Duration::ZERO);
        }
        assert_eq!(b.take(1, later), ms(100));
    }

    #[test]
    fn a_call_of_two_requests_takes_two_tokens() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(4, t0).unwrap();
        assert_eq!(b.take(2, t0), Duration::ZERO);
        assert_eq!(b.take(2, t0), Duration::ZERO);
        assert_eq!(b.take(2, t0), ms(500));
    }

    #[test]
    fn a_clock_read_before_the_last_one_adds_nothing() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1, t0 + ms(500)).unwrap();
        assert_eq!(b.take(1, t0 + ms(500)), Duration::ZERO);
        assert_eq!(b.take(1, t0), Duration::from_secs(1));
    }

    #[test]
    fn a_rate_that_does_not_divide_a_second_rounds_the_wait_up() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(3, t0).unwrap();
        for _ in 0..3 {
            assert_eq!(b.take(1, t0), Duration::ZERO);
        }
        assert_eq!(b.take(1, t0), Duration::from_nanos(333_333_334));
    }
}
