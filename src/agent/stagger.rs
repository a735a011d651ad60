//! Spreading the first ticks of many groups: a controller that starts with thousands of groups
//! would otherwise send every group's heartbeat and read in the same instant, a burst the table
//! must absorb (or throttle) at every restart or leader change. Each group's first tick waits a
//! fixed share of half an interval, taken from a hash of its name, so the same group always
//! starts at the same offset and the groups spread evenly.
//!
//! Why at most half an interval: a fresh agent has `min(interval, serve window)` from its start
//! to prove that its cluster may serve (`group/start.rs`); its calls are cut at that deadline, so
//! a late first tick still fences on time, and half an interval leaves the other half for the
//! first heartbeat and read to succeed.

use crate::store::GroupId;
use std::time::Duration;

/// With this many groups or fewer, every group ticks at once: the burst is small, and a small
/// installation (and every test of one) keeps its first heartbeat at start.
pub const STAGGER_ABOVE: usize = 100;

/// How long `group`'s first tick waits when its agent runs `groups` groups at `interval`.
pub fn first_tick_delay(group: &GroupId, interval: Duration, groups: usize) -> Duration {
    if groups <= STAGGER_ABOVE {
        return Duration::ZERO;
    }
    // FNV-1a: stable across processes and releases, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in group.to_string().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let share = (hash % 1_000_000) as f64 / 1_000_000.0;
    (interval / 2).mul_f64(share)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gid(i: usize) -> GroupId {
        GroupId::new("shop", &format!("app-{i}")).expect("valid group id")
    }

    #[test]
    fn a_small_installation_starts_every_group_at_once() {
        let interval = Duration::from_secs(15);
        for i in 0..STAGGER_ABOVE {
            assert_eq!(
                first_tick_delay(&gid(i), interval, STAGGER_ABOVE),
                Duration::ZERO
            );
        }
    }

    #[test]
    fn ten_thousand_groups_start_spread_evenly_over_half_an_interval_each_always_at_its_own_offset()
    {
        let interval = Duration::from_secs(15);
        let mut buckets = [0usize; 10];
        for i in 0..10_000 {
            let d = first_tick_delay(&gid(i), interval, 10_000);
            assert!(
                d < interval / 2,
                "group {i} waits {d:?}, past half an interval"
            );
            assert_eq!(d, first_tick_delay(&gid(i), interval, 10_000), "not stable");
            buckets[(d.as_secs_f64() / 0.75) as usize] += 1;
        }
        for (i, n) in buckets.iter().enumerate() {
            assert!(
                (800..=1200).contains(n),
                "bucket {i} of 10 holds {n} of 10,000 first ticks: {buckets:?}"
            );
        }
    }
}
