//! Whether this cluster's heartbeats for a group are falling behind: pure bookkeeping of when
//! the agent last wrote its heartbeat, and the `HeartbeatsBehind` condition built from it. A
//! cluster that stops writing (DynamoDB throttling it, unreachable, ticks starting late on an
//! overloaded node) fences itself once `timeouts.heartbeat` passes without a write; this says so
//! from the second missed interval on, while there is still time to act.

use crate::agent::TickReport;
use crate::crd::{Condition, ConditionStatus};
use crate::duration::GoDuration;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The condition type on the FailoverGroup.
pub const HEARTBEATS_BEHIND: &str = "HeartbeatsBehind";

/// When the agent last wrote its heartbeat (monotonic time).
#[derive(Debug, Clone, Copy)]
pub struct HeartbeatLag {
    /// The last successful write, or the task's start before any.
    since: Duration,
}

impl HeartbeatLag {
    /// Bookkeeping for a task started at monotonic `start`.
    pub fn new(start: Duration) -> Self {
        HeartbeatLag { since: start }
    }

    /// Notes one tick: a heartbeat written moves the mark to the tick's start.
    pub fn observe(&mut self, report: &TickReport) {
        if report.heartbeat_seq.is_some() {
            self.since = self.since.max(report.at);
        }
    }

    /// How long the next heartbeat is overdue at `now`: the time since the last write minus
    /// one interval (the write that was due), zero while on time.
    pub fn overdue(&self, now: Duration, interval: Duration) -> Duration {
        now.saturating_sub(self.since).saturating_sub(interval)
    }
}

/// The `HeartbeatsBehind` condition: True once a whole interval's heartbeat is overdue (two
/// intervals without a write). Numbers in the message are coarse (`status::coarse_age`) so
/// that a growing lag does not rewrite the status every tick.
pub fn behind_condition(
    overdue: Duration,
    interval: Duration,
    heartbeat_timeout: Duration,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> Condition {
    let silent = overdue + interval;
    let (status, reason, message) = if !interval.is_zero() && overdue >= interval {
        let shown = super::status::coarse_age(silent, interval);
        (
            ConditionStatus::True,
            "HeartbeatsLate",
            format!(
                "no heartbeat written for at least {} (interval {}); this cluster fences itself for the group before {} (timeouts.heartbeat) pass without one (a margin before, so it has stopped when others may take over): see the Synced condition for the store error, kubectl_failover_store_requests_total and kubectl_failover_heartbeat_lag_seconds, and check DynamoDB throttling (STORE_MAX_REQUESTS_PER_SECOND, the table's capacity) and the node's CPU",
                GoDuration(shown),
                GoDuration(interval),
                GoDuration(heartbeat_timeout)
            ),
        )
    } else {
        (
            ConditionStatus::False,
            "OnTime",
            "heartbeats are written every interval".to_string(),
        )
    };
    Condition {
        type_: HEARTBEATS_BEHIND.to_string(),
        status,
        observed_generation: generation,
        last_transition_time: now,
        reason: reason.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn tick(at: u64, written: bool) -> TickReport {
        TickReport {
            heartbeat_seq: written.then_some(at),
            ..TickReport::starting(secs(at))
        }
    }

    #[test]
    fn heartbeats_written_every_interval_are_never_overdue() {
        let mut lag = HeartbeatLag::new(secs(0));
        for t in 0..10 {
            lag.observe(&tick(t, true));
            assert_eq!(
                lag.overdue(secs(t) + Duration::from_millis(900), secs(1)),
                secs(0)
            );
        }
    }

    #[test]
    fn failed_writes_make_the_heartbeat_overdue_from_the_last_one_written() {
        let mut lag = HeartbeatLag::new(secs(0));
        lag.observe(&tick(3, true));
        lag.observe(&tick(4, false));
        lag.observe(&tick(5, false));
        assert_eq!(lag.overdue(secs(6), secs(1)), secs(2));
        lag.observe(&tick(6, true));
        assert_eq!(lag.overdue(secs(6), secs(1)), secs(0));
    }

    #[test]
    fn a_task_that_never_wrote_is_overdue_from_its_start() {
        let lag = HeartbeatLag::new(secs(10));
        assert_eq!(lag.overdue(secs(13), secs(1)), secs(2));
    }

    #[test]
    fn the_condition_turns_true_at_two_silent_intervals_before_the_fence_at_the_timeout() {
        let at = |overdue| behind_condition(secs(overdue), secs(5), secs(20), Some(2), Utc::now());
        assert_eq!(at(4).status, ConditionStatus::False);
        let late = at(5);
        assert_eq!(
            (late.status, late.reason.as_str()),
            (ConditionStatus::True, "HeartbeatsLate")
        );
        assert!(
            late.message.contains("20s (timeouts.heartbeat)"),
            "{}",
            late.message
        );
    }

    #[test]
    fn the_message_moves_in_coarse_steps_so_a_growing_lag_does_not_rewrite_the_status() {
        let msg =
            |overdue| behind_condition(secs(overdue), secs(1), secs(4), None, Utc::now()).message;
        assert_eq!(msg(5), msg(6));
    }
}
