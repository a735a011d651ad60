//! Waiting for conditions with deadlines instead of fixed sleeps: a probe returns what it found
//! (`Ok` ends the wait) or a description of what it saw instead (`Err`), and the timeout message
//! carries the last description.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often probes run.
pub const PERIOD: Duration = Duration::from_millis(100);

/// Runs `probe` every [`PERIOD`] until it returns `Ok`; panics after `limit` with `what` and the
/// last thing the probe saw. Returns the value and how long it took.
pub async fn until<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        let last = match probe().await {
            Ok(value) => return (value, start.elapsed()),
            Err(seen) => seen,
        };
        if start.elapsed() >= limit {
            panic!("not within {limit:?}: {what}\nlast seen: {last}");
        }
        tokio::time::sleep(PERIOD).await;
    }
}

/// Checks `probe` every [`PERIOD`] for `span`, panicking the first time it returns `Err`: for
/// asserting that something stays true (or never comes back) over a period.
pub async fn holds<F, Fut>(span: Duration, what: &str, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let start = Instant::now();
    while start.elapsed() < span {
        if let Err(seen) = probe().await {
            panic!("{what} stopped holding after {:?}: {seen}", start.elapsed());
        }
        tokio::time::sleep(PERIOD).await;
    }
}

/// `Ok(())` when `cond`, otherwise `Err(seen())`: shorthand for probes.
pub fn check(cond: bool, seen: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(seen()) }
}
