//! `LocalFacts`: what the agent knows about itself for one decision: who it is, the time, its
//! heartbeat, the lock it holds, how far its cluster got, and the fresh id a new transition
//! would use. The caller supplies all of it, so `step` reads no clock and draws no randomness.

use crate::store::Lock;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// How far the local cluster got toward its role, as the agent's last actions reported it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct LocalProgress {
    /// Epoch (the decision's CONFIG version) under which the last steps were applied.
    pub epoch: u64,
    /// Every `Action::ACTIVATE` step reported `Done` at `epoch`, and nothing was deactivated since.
    pub activated: bool,
    /// Every `Action::DEACTIVATE` step reported `Done` at `epoch`, and nothing was activated since.
    pub deactivated: bool,
    /// Wall time at which `NetworkOff` was done (an acknowledgement's `at`, for downtime).
    pub network_off_at: Option<DateTime<Utc>>,
    /// Wall time at which `NetworkOn` was done (the end of downtime).
    pub network_on_at: Option<DateTime<Utc>>,
}

impl LocalProgress {
    /// Nothing known yet (an agent that just started): neither activated nor deactivated.
    pub fn unknown() -> Self {
        Self::default()
    }

    /// Activated, confirmed by steps applied under `version` or later. Requiring the current
    /// version means a completion is never decided from activity under an older decision.
    pub fn activated_since(&self, version: u64) -> bool {
        self.activated && self.epoch >= version
    }

    /// Deactivated, confirmed by steps applied under `version` or later.
    pub fn deactivated_since(&self, version: u64) -> bool {
        self.deactivated && self.epoch >= version
    }
}

/// What the agent knows about itself when it calls `step`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFacts {
    /// This agent's cluster name (`CLUSTER_NAME`).
    pub me: String,
    /// Monotonic time now (after the read returned), on the same clock as `Observations`.
    pub now: Duration,
    /// Wall time now, only for what is written into records (never compared across hosts).
    pub wall_now: DateTime<Utc>,
    /// Monotonic time at which the newest heartbeat write that had SUCCEEDED BEFORE THIS
    /// SNAPSHOT'S READ WAS SENT was itself sent; `None` if there is none. The simplest correct
    /// agent writes its heartbeat, then reads, then steps: this is then the send time of this
    /// tick's heartbeat when it succeeded, else of the last one that did; an agent whose
    /// heartbeats run concurrently uses `HeartbeatLog::sent_at_before`. (Why the order
    /// matters: an owner coming back from a partition may serve again only on a read made after
    /// its heartbeat is visible to others; see docs/protocol.md, Decisions.)
    pub heartbeat_sent_at: Option<Duration>,
    /// The lock this agent holds, as the last lock operation returned it.
    pub lock: Option<Lock>,
    /// How far the local cluster got.
    pub progress: LocalProgress,
    /// Whether the group has volume replications in this cluster (UPTIME is refused for them
    /// unless forced).
    pub has_volume_replications: bool,
    /// A fresh unique id, used if this step starts a transition (automatic failover).
    pub new_id: String,
}

/// The agent's recent successful heartbeat writes, to answer `LocalFacts::heartbeat_sent_at`
/// correctly even when heartbeats run in their own task, concurrently with reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct HeartbeatLog {
    /// (sent, succeeded) monotonic times of the last few successful writes, oldest first.
    recent: Vec<(Duration, Duration)>,
}

impl HeartbeatLog {
    /// How many successes are kept: enough to cover a read that overlaps a few writes.
    const KEEP: usize = 4;

    /// Records a heartbeat write that succeeded: sent at `sent_at`, success known at `ok_at`.
    pub fn record(&mut self, sent_at: Duration, ok_at: Duration) {
        self.recent.push((sent_at, ok_at));
        self.recent.sort();
        if self.recent.len() > Self::KEEP {
            self.recent.remove(0);
        }
    }

    /// `LocalFacts::heartbeat_sent_at` for a read sent at `read_sent_at`: the send time of the
    /// newest write whose success was known before the read was sent.
    pub fn sent_at_before(&self, read_sent_at: Duration) -> Option<Duration> {
        self.recent
            .iter()
            .filter(|(_, ok)| *ok <= read_sent_at)
            .map(|(sent, _)| *sent)
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn only_heartbeats_known_to_have_succeeded_before_the_read_count() {
        let mut log = HeartbeatLog::default();
        assert_eq!(log.sent_at_before(s(100)), None);
        log.record(s(10), s(11));
        log.record(s(20), s(25));
        assert_eq!(log.sent_at_before(s(24)), Some(s(10)));
        assert_eq!(log.sent_at_before(s(25)), Some(s(20)));
    }

    #[test]
    fn only_the_last_few_successes_are_kept() {
        let mut log = HeartbeatLog::default();
        for i in 0..10 {
            log.record(s(i * 10), s(i * 10 + 1));
        }
        assert_eq!(log.sent_at_before(s(55)), None);
        assert_eq!(log.sent_at_before(s(1000)), Some(s(90)));
    }

    #[test]
    fn activation_counts_only_when_confirmed_under_the_version_asked_about() {
        let p = LocalProgress {
            epoch: 7,
            activated: true,
            ..LocalProgress::unknown()
        };
        assert!(p.activated_since(7) && !p.activated_since(8) && !p.deactivated_since(1));
    }
}
