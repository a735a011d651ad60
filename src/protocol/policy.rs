//! Per-group local settings (`GroupPolicy`) and the timings every decision uses (`Timings`),
//! derived from CONFIG and validated: an agent refuses to act on a group whose timeouts cannot
//! keep the protocol safe, and says which value to change.

use crate::duration::GoDuration;
use crate::store::{GroupConfig, GroupId};
use std::time::Duration;

/// `timeouts.heartbeat` must be at least this many heartbeat intervals: the owner fences itself
/// `FENCE_MARGIN_INTERVALS` before others may take over, and it needs at least one interval of
/// successful heartbeats in between, plus one of slack for a slow write.
pub const MIN_HEARTBEAT_INTERVALS: u32 = 4;
/// The self-fencing margin in heartbeat intervals: one for the tick that notices the lapse, one
/// for turning the network off and for clock-rate drift between the hosts (Patroni's rule).
pub const FENCE_MARGIN_INTERVALS: u32 = 2;
/// The lock lease in heartbeat intervals: a driver renews every tick (every interval), so three
/// intervals tolerate two slow renewals before others may take over.
pub const LEASE_INTERVALS: u32 = 3;
/// The default automatic-failover cool-down in `timeouts.heartbeat` units (5 x 60s = 5m at the
/// defaults): long enough that a flapping cluster cannot bounce the group faster than a person
/// can look at it, short enough that a second real outage is still handled without a person.
pub const COOLDOWN_HEARTBEATS: u32 = 5;

/// What an agent knows about a group that is not in CONFIG: its local settings. Every agent of a
/// group should use the same policy; nothing breaks if they differ, decisions only become less
/// predictable (for example two standbys naming different automatic-failover targets, of which
/// the compare-and-set lets one win).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupPolicy {
    /// The owner deactivates itself when it cannot write heartbeats (default true). Turning it off
    /// makes a forced failover unsafe for data: only for stateless applications.
    pub self_fencing: bool,
    /// Cluster names in order of preference for automatic failover targets (after health).
    pub preference: Vec<String>,
    /// Minimum time between an ownership change (or the end of a transition) this agent saw and
    /// an automatic failover it starts. `None`: `COOLDOWN_HEARTBEATS x timeouts.heartbeat`.
    pub cooldown: Option<Duration>,
}

impl Default for GroupPolicy {
    fn default() -> Self {
        GroupPolicy {
            self_fencing: true,
            preference: Vec::new(),
            cooldown: None,
        }
    }
}

/// Every duration a decision uses, validated. Derived from CONFIG (so all agents agree on them)
/// plus the policy's cool-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timings {
    /// `heartbeatInterval`: how often each agent writes its heartbeat and ticks.
    pub interval: Duration,
    /// `timeouts.heartbeat`: observed silence after which a cluster is presumed dead.
    pub heartbeat: Duration,
    /// `timeouts.transitoryState`: a transition whose CONFIG does not change for this long is
    /// ended (rolled back or completed forcibly).
    pub transitory: Duration,
    /// `timeouts.unhealthyPrimary`: observed ERROR health of the owner before a failover.
    pub unhealthy: Duration,
    /// Lock lease (`LEASE_INTERVALS` intervals); also how long a lock must be observed unchanged
    /// before it is taken over.
    pub lease: Duration,
    /// Self-fencing margin (`FENCE_MARGIN_INTERVALS` intervals).
    pub fence_margin: Duration,
    /// Automatic-failover cool-down.
    pub cooldown: Duration,
    /// `timeouts.deactivation`: how long a cluster needs to stop serving once it starts to.
    pub deactivation: Duration,
    /// The takeover silence: `heartbeat + deactivation`, or the superseded settings' if longer
    /// (`GroupConfig::superseded`: the owner may not have read the change yet).
    pub takeover: Duration,
}

impl Timings {
    /// How long after sending its last successful heartbeat an active cluster may keep serving:
    /// `heartbeat - fence_margin` (positive once validated).
    pub fn serve_window(&self) -> Duration {
        self.heartbeat.saturating_sub(self.fence_margin)
    }

    /// The source's observed silence after which a forced flip (a forced promotion or an
    /// automatic failover) may go ahead without its acknowledgement: `heartbeat +
    /// deactivation`. A cut-off owner starts fencing `fence_margin` before `heartbeat` has
    /// passed and has stopped by this time, so the target never starts beside it. While a
    /// change of these settings is unacknowledged, the longer of the old and new sums.
    pub fn takeover_silence(&self) -> Duration {
        self.takeover
    }

    /// How long a transition must be stuck before an agent other than the preferred one ends it:
    /// one more heartbeat timeout, so the preferred agent (the source before the flip, the owner
    /// after) normally wins and the others only step in when it is gone.
    pub fn stuck_for_others(&self) -> Duration {
        self.transitory.saturating_add(self.heartbeat)
    }
}

/// Why a group's timeouts were refused. Every message names the group, the value and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum InvalidTimings {
    /// `heartbeatInterval` is zero.
    #[error(
        "group {group}: heartbeatInterval is 0s, so no heartbeat would ever be written; set heartbeatInterval to a positive duration such as 30s"
    )]
    ZeroInterval {
        /// The group.
        group: GroupId,
    },
    /// `timeouts.heartbeat` is shorter than `MIN_HEARTBEAT_INTERVALS` intervals.
    #[error(
        "group {group}: timeouts.heartbeat {heartbeat} is shorter than 4 x heartbeatInterval ({interval} x 4 = {min}), so the owner could not fence itself before others take over; raise timeouts.heartbeat to at least {min} or lower heartbeatInterval to at most {max_interval}"
    )]
    HeartbeatTooShort {
        /// The group.
        group: GroupId,
        /// `timeouts.heartbeat`.
        heartbeat: GoDuration,
        /// `heartbeatInterval`.
        interval: GoDuration,
        /// The smallest acceptable `timeouts.heartbeat`.
        min: GoDuration,
        /// The largest acceptable `heartbeatInterval` for this `timeouts.heartbeat`.
        max_interval: GoDuration,
    },
    /// `timeouts.transitoryState` leaves no room for a forced flip before the transition is
    /// declared stuck.
    #[error(
        "group {group}: timeouts.transitoryState {transitory} is not longer than timeouts.heartbeat + timeouts.deactivation + 2 x heartbeatInterval ({min}), so a forced failover would be declared stuck before it may flip; raise timeouts.transitoryState above {min}, or lower timeouts.deactivation if the workloads stop sooner"
    )]
    TransitoryTooShort {
        /// The group.
        group: GroupId,
        /// `timeouts.transitoryState`.
        transitory: GoDuration,
        /// The bound it must exceed.
        min: GoDuration,
    },
    /// `timeouts.unhealthyPrimary` is shorter than one heartbeat interval.
    #[error(
        "group {group}: timeouts.unhealthyPrimary {unhealthy} is shorter than heartbeatInterval {interval}, so one ERROR report would trigger a failover; raise timeouts.unhealthyPrimary to at least {interval}"
    )]
    UnhealthyTooShort {
        /// The group.
        group: GroupId,
        /// `timeouts.unhealthyPrimary`.
        unhealthy: GoDuration,
        /// `heartbeatInterval`.
        interval: GoDuration,
    },
}

/// Checks CONFIG's timeouts against each other (no policy needed): what `request_transition`
/// and every agent use to refuse a group whose timeouts cannot keep the protocol safe.
pub fn validate_timeouts(config: &GroupConfig) -> Result<(), InvalidTimings> {
    GroupPolicy::default().timings(config).map(|_| ())
}

impl GroupPolicy {
    /// The validated timings for a group.
    pub fn timings(&self, config: &GroupConfig) -> Result<Timings, InvalidTimings> {
        let group = || config.group.clone();
        let interval = config.heartbeat_interval.get();
        let heartbeat = config.timeouts.heartbeat.get();
        let transitory = config.timeouts.transitory_state.get();
        let unhealthy = config.timeouts.unhealthy_primary.get();
        if interval.is_zero() {
            return Err(InvalidTimings::ZeroInterval { group: group() });
        }
        let min_heartbeat = interval.saturating_mul(MIN_HEARTBEAT_INTERVALS);
        if heartbeat < min_heartbeat {
            return Err(InvalidTimings::HeartbeatTooShort {
                group: group(),
                heartbeat: heartbeat.into(),
                interval: interval.into(),
                min: min_heartbeat.into(),
                max_interval: (heartbeat / MIN_HEARTBEAT_INTERVALS).into(),
            });
        }
        let deactivation = config.timeouts.deactivation.get();
        let min_transitory = heartbeat
            .saturating_add(deactivation)
            .saturating_add(interval.saturating_mul(2));
        if transitory <= min_transitory {
            return Err(InvalidTimings::TransitoryTooShort {
                group: group(),
                transitory: transitory.into(),
                min: min_transitory.into(),
            });
        }
        if unhealthy < interval {
            return Err(InvalidTimings::UnhealthyTooShort {
                group: group(),
                unhealthy: unhealthy.into(),
                interval: interval.into(),
            });
        }
        Ok(Timings {
            interval,
            heartbeat,
            transitory,
            unhealthy,
            lease: interval.saturating_mul(LEASE_INTERVALS),
            fence_margin: interval.saturating_mul(FENCE_MARGIN_INTERVALS),
            cooldown: self
                .cooldown
                .unwrap_or_else(|| heartbeat.saturating_mul(COOLDOWN_HEARTBEATS)),
            deactivation,
            takeover: config.superseded.as_ref().map_or(
                heartbeat.saturating_add(deactivation),
                |old| {
                    old.takeover_silence()
                        .max(heartbeat.saturating_add(deactivation))
                },
            ),
        })
    }

    /// Rank of a cluster in the preference list (listed clusters first, in order).
    pub fn rank(&self, cluster: &str) -> usize {
        self.preference
            .iter()
            .position(|c| c == cluster)
            .unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn config(interval: u64, heartbeat: u64, transitory: u64, unhealthy: u64) -> GroupConfig {
        let mut c = GroupConfig::new(
            "op",
            GroupId::new("shop", "web").unwrap(),
            "a",
            DateTime::<Utc>::UNIX_EPOCH,
        );
        c.heartbeat_interval = Duration::from_secs(interval).into();
        c.timeouts.heartbeat = Duration::from_secs(heartbeat).into();
        c.timeouts.transitory_state = Duration::from_secs(transitory).into();
        c.timeouts.unhealthy_primary = Duration::from_secs(unhealthy).into();
        c.timeouts.deactivation = Duration::ZERO.into();
        c
    }

    #[test]
    fn a_heartbeat_timeout_of_two_intervals_is_refused_with_the_fix() {
        // 30s interval and 1m heartbeat (the store's current defaults): with a 1m margin the owner
        // would fence itself at once. The refusal says how to fix it, both ways.
        let text = validate_timeouts(&config(30, 60, 300, 300))
            .unwrap_err()
            .to_string();
        assert!(text.contains("shop/web"), "{text}");
        assert!(text.contains("at least 2m"), "{text}");
        assert!(text.contains("at most 15s"), "{text}");
    }

    #[test]
    fn valid_timeouts_derive_lease_margin_and_cooldown_from_the_interval() {
        let t = GroupPolicy::default()
            .timings(&config(10, 40, 120, 30))
            .unwrap();
        assert_eq!(t.lease, Duration::from_secs(30));
        assert_eq!(t.fence_margin, Duration::from_secs(20));
        assert_eq!(t.serve_window(), Duration::from_secs(20));
        assert_eq!(t.cooldown, Duration::from_secs(200));
        assert_eq!(t.stuck_for_others(), Duration::from_secs(160));
    }

    #[test]
    fn a_policy_cooldown_overrides_the_default() {
        let p = GroupPolicy {
            cooldown: Some(Duration::from_secs(7)),
            ..GroupPolicy::default()
        };
        assert_eq!(
            p.timings(&config(10, 40, 120, 30)).unwrap().cooldown,
            Duration::from_secs(7)
        );
    }

    #[test]
    fn each_bad_timeout_is_refused_with_the_value_and_the_fix() {
        let cases = [
            (config(0, 40, 120, 30), "heartbeatInterval is 0s"),
            (config(10, 39, 120, 30), "timeouts.heartbeat 39s"),
            (
                config(10, 40, 60, 30),
                "raise timeouts.transitoryState above 1m",
            ),
            (config(10, 40, 120, 5), "timeouts.unhealthyPrimary 5s"),
        ];
        for (c, want) in cases {
            let text = validate_timeouts(&c).unwrap_err().to_string();
            assert!(text.contains(want), "{text} lacks {want}");
            assert!(text.starts_with("group shop/web"), "{text}");
        }
    }

    #[test]
    fn an_unacknowledged_change_keeps_the_longer_takeover_silence_of_old_and_new() {
        let mut c = config(1, 4, 20, 5);
        c.timeouts.deactivation = Duration::from_secs(2).into();
        let own = GroupPolicy::default().timings(&c).unwrap();
        assert_eq!(own.takeover_silence(), Duration::from_secs(6));
        // Lowered from 10s + 3s: a cut-off owner that has not read the change serves and stops
        // by the old sum, so takeovers wait for it.
        c.superseded = Some(crate::store::SafetySettings {
            heartbeat_interval: Duration::from_secs(1).into(),
            heartbeat: Duration::from_secs(10).into(),
            deactivation: Duration::from_secs(3).into(),
            self_fencing: true,
        });
        let t = GroupPolicy::default().timings(&c).unwrap();
        assert_eq!(t.takeover_silence(), Duration::from_secs(13));
        // Everything else follows the new settings at once.
        assert_eq!(t.heartbeat, Duration::from_secs(4));
        assert_eq!(t.serve_window(), Duration::from_secs(2));
        // Raised: the new sum is the longer one.
        c.timeouts.heartbeat = Duration::from_secs(12).into();
        let t = GroupPolicy::default().timings(&c).unwrap();
        assert_eq!(t.takeover_silence(), Duration::from_secs(14));
    }

    #[test]
    fn preference_ranks_listed_clusters_first_in_order() {
        let p = GroupPolicy {
            preference: vec!["c".into(), "b".into()],
            ..GroupPolicy::default()
        };
        assert!(p.rank("c") < p.rank("b"));
        assert!(p.rank("b") < p.rank("a"));
    }
}
