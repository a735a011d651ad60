//! Liveness of the group agents: when a group's tick stops finishing, `/healthz` fails so the
//! kubelet restarts the process, and the arithmetic that says whether that restart comes in
//! time for a group's timings.
//!
//! Why the kubelet: no serving-lease watchdog runs in a real cluster, so a controller that is
//! stuck (a call that never returns, a deadlock) or paused (SIGSTOP, a frozen cgroup) neither
//! heartbeats nor fences its cluster. Only a restart ends that, and it must come before
//! another cluster may take over: `timeouts.heartbeat` after the last heartbeat.
//!
//! The stall rule ([`stall_deadline`]): a tick that is due must finish within two heartbeat
//! intervals (its heartbeat and its read are each bounded to one interval by the agent) plus
//! [`STALL_GRACE`] for its Kubernetes calls; and a serving agent must finish a tick by its
//! serving deadline (when it would fence itself) plus the grace. From the last heartbeat `t0`
//! a stall is therefore seen by `t0 + min(3 x interval, timeouts.heartbeat - 2 x interval) +
//! grace`, and the restarted process heartbeats again after the probe budget
//! (`LIVENESS_BUDGET`: periodSeconds x failureThreshold + timeoutSeconds + termination grace +
//! restart and start-up). [`budget_problem`] checks that this ends before `timeouts.heartbeat`.

use crate::clock::Clock;
use crate::crd::{Condition, ConditionStatus};
use crate::duration::GoDuration;
use crate::protocol::policy::FENCE_MARGIN_INTERVALS;
use crate::store::GroupId;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Heartbeat intervals a due tick may take: its heartbeat and its read, each bounded to one.
pub const STALL_INTERVALS: u32 = 2;
/// On top of the intervals: the tick's Kubernetes calls (bounded by the client's read timeout)
/// and its status write.
pub const STALL_GRACE: Duration = Duration::from_secs(5);
/// The FailoverGroup condition that reports whether the probe budget honours the timings.
pub const LIVENESS_CONDITION: &str = "LivenessBudget";

/// The monotonic time after which a group whose next tick was `due` counts as stalled.
pub fn stall_deadline(
    due: Duration,
    interval: Duration,
    serve_until: Option<Duration>,
) -> Duration {
    let by_pace = due + interval * STALL_INTERVALS + STALL_GRACE;
    match serve_until {
        Some(until) => by_pace.min(until.max(due) + STALL_GRACE),
        None => by_pace,
    }
}

/// Why the probe budget cannot honour a group's timings, for people; `None` when it can.
pub fn budget_problem(
    interval: Duration,
    heartbeat_timeout: Duration,
    self_fencing: bool,
    budget: Duration,
) -> Option<String> {
    let by_pace = interval * (1 + STALL_INTERVALS);
    let seen = if self_fencing {
        by_pace.min(heartbeat_timeout.saturating_sub(interval * FENCE_MARGIN_INTERVALS))
    } else {
        by_pace
    } + STALL_GRACE;
    let back = seen + budget;
    (back >= heartbeat_timeout).then(|| {
        format!(
            "a stuck controller would be restarted too late for this group: a stall is seen up to {} after the last heartbeat, and the liveness probe budget (LIVENESS_BUDGET {}) brings the heartbeats back only {} after it, not before timeouts.heartbeat {} when another cluster may take over; shorten the livenessProbe (periodSeconds x failureThreshold, timeoutSeconds, terminationGracePeriodSeconds) and LIVENESS_BUDGET with it, or raise timeouts.heartbeat, or lower heartbeatInterval (docs/controller.md, \"Health and metrics\")",
            GoDuration(seen),
            GoDuration(budget),
            GoDuration(back),
            GoDuration(heartbeat_timeout),
        )
    })
}

/// The [`LIVENESS_CONDITION`] for `problem` (from [`budget_problem`]).
pub fn budget_condition(
    problem: Option<&str>,
    budget: Duration,
    generation: Option<i64>,
    now: DateTime<Utc>,
) -> Condition {
    let (status, reason, message) = match problem {
        Some(why) => (ConditionStatus::False, "ProbeTooSlow", why.to_string()),
        None => (
            ConditionStatus::True,
            "WithinBudget",
            format!(
                "the liveness probe budget (LIVENESS_BUDGET {}) restarts a stuck controller before another cluster may take over",
                GoDuration(budget)
            ),
        ),
    };
    Condition {
        type_: LIVENESS_CONDITION.to_string(),
        status,
        observed_generation: generation,
        last_transition_time: now,
        reason: reason.to_string(),
        message,
    }
}

#[derive(Debug, Clone, Copy)]
struct Pace {
    interval: Duration,
    due: Duration,
    serve_until: Option<Duration>,
}

/// When each running agent's next tick is due, for `/healthz`. An agent is on the board from
/// its start to the end of its task; a standby replica runs none, so it is never stalled.
#[derive(Debug)]
pub struct TickBoard {
    clock: Arc<dyn Clock>,
    groups: Mutex<BTreeMap<GroupId, Pace>>,
}

impl TickBoard {
    /// An empty board on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        TickBoard {
            clock,
            groups: Mutex::new(BTreeMap::new()),
        }
    }

    fn groups(&self) -> std::sync::MutexGuard<'_, BTreeMap<GroupId, Pace>> {
        // Plain values: still whole after a panic elsewhere.
        self.groups.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The agent of `group` starts: its first tick is due now.
    pub fn started(&self, group: &GroupId, interval: Duration) {
        let due = self.clock.monotonic();
        self.groups().insert(
            group.clone(),
            Pace {
                interval,
                due,
                serve_until: None,
            },
        );
    }

    /// A tick of `group` finished; the next is due after `pause`. `serve_until`: the serving
    /// deadline of its decision, while it serves.
    pub fn finished(
        &self,
        group: &GroupId,
        interval: Duration,
        pause: Duration,
        serve_until: Option<Duration>,
    ) {
        let due = self.clock.monotonic() + pause;
        self.groups().insert(
            group.clone(),
            Pace {
                interval,
                due,
                serve_until,
            },
        );
    }

    /// The agent of `group` ended.
    pub fn stopped(&self, group: &GroupId) {
        self.groups().remove(group);
    }

    /// One line per stalled group, naming it; empty when every agent keeps ticking.
    pub fn stalled(&self) -> Vec<String> {
        let now = self.clock.monotonic();
        self.groups()
            .iter()
            .filter_map(|(group, p)| {
                let limit = stall_deadline(p.due, p.interval, p.serve_until);
                (now > limit).then(|| {
                    format!(
                        "group {group}: its agent's tick has not finished {} after it was due (allowed: {}); the agent is stuck and the process must be restarted",
                        GoDuration(now.saturating_sub(p.due)),
                        GoDuration(limit.saturating_sub(p.due)),
                    )
                })
            })
            .collect()
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
    fn a_due_tick_may_take_two_intervals_and_the_grace_or_end_by_the_serving_deadline() {
        assert_eq!(stall_deadline(secs(100), secs(15), None), secs(135));
        assert_eq!(
            stall_deadline(secs(100), secs(15), Some(secs(115))),
            secs(120)
        );
        assert_eq!(
            stall_deadline(secs(100), secs(15), Some(secs(500))),
            secs(135),
            "a far deadline does not lengthen the pace rule"
        );
    }

    #[test]
    fn the_board_names_a_stalled_group_and_forgets_a_stopped_one() {
        let clock = ManualClock::starting_at(Utc::now());
        let board = TickBoard::new(Arc::new(clock.clone()));
        let web = GroupId::new("shop", "web").unwrap();
        board.started(&web, secs(1));
        board.finished(&web, secs(1), secs(1), None);
        clock.advance(secs(8));
        assert!(board.stalled().is_empty(), "due at 1s, allowed until 8s");
        clock.advance(Duration::from_millis(1));
        let stalled = board.stalled();
        assert_eq!(stalled.len(), 1);
        assert!(stalled[0].contains("shop/web"), "{}", stalled[0]);
        board.stopped(&web);
        assert!(board.stalled().is_empty());
    }

    #[test]
    fn the_default_timings_fit_the_deployed_probe_budget() {
        // deploy/base/deployment.yaml: LIVENESS_BUDGET 20s, heartbeatInterval 15s, 1m.
        assert_eq!(budget_problem(secs(15), secs(60), true, secs(20)), None);
        let why = budget_problem(secs(15), secs(60), true, secs(25)).expect("too slow");
        assert!(why.contains("LIVENESS_BUDGET 25s"), "{why}");
        assert!(why.contains("timeouts.heartbeat 1m"), "{why}");
        // Without self-fencing only the pace rule sees a stall: 3 intervals + grace.
        assert!(budget_problem(secs(15), secs(60), false, secs(20)).is_some());
        assert_eq!(budget_problem(secs(15), secs(120), false, secs(20)), None);
    }

    #[test]
    fn the_condition_says_whether_the_budget_holds() {
        let ok = budget_condition(None, secs(20), Some(3), Utc::now());
        assert_eq!(ok.status, ConditionStatus::True);
        let short = budget_condition(Some("too slow"), secs(20), Some(3), Utc::now());
        assert_eq!(
            (short.status, short.reason.as_str()),
            (ConditionStatus::False, "ProbeTooSlow")
        );
    }
}
