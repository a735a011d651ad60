//! Leader election decisions, pure: given the Lease as read, this replica's identity and its
//! own monotonic clock, what to write. A Lease held by another replica is taken over only after
//! it has been *observed unchanged* for its whole duration on this replica's clock (never by
//! comparing its `renewTime` with the local time), and a leader stops acting when it has not
//! renewed for the renew deadline, which is shorter than the duration: so the old leader has
//! stopped before anyone may take over.

use std::time::Duration;

/// The parts of a Lease the decision looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseView {
    /// `spec.holderIdentity`; `None` or empty: released.
    pub holder: Option<String>,
    /// `spec.leaseDurationSeconds` as written by the holder.
    pub duration: Option<Duration>,
    /// `metadata.resourceVersion`: changes on every renewal.
    pub resource_version: String,
}

/// What to do with the Lease now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum LeaseAction {
    /// No Lease exists: create it with this replica as holder.
    Create,
    /// This replica holds it: renew (replace with the read resourceVersion).
    Renew,
    /// Released, or its holder stopped renewing for a whole duration: take it (replace with the
    /// read resourceVersion, so only one candidate wins).
    Acquire {
        /// The holder it is taken from, if any.
        from: Option<String>,
    },
    /// Another replica holds it and renews: follow.
    Follow {
        /// The holder.
        holder: String,
    },
}

/// What one replica remembers between two reads: which Lease record it last saw change, and
/// when (monotonic).
#[derive(Debug, Clone, Default)]
pub struct LeaseObserver {
    seen: Option<(String, Duration)>,
}

impl LeaseObserver {
    /// Decides for `lease` (as just read) at monotonic time `now`; `fallback` is the duration
    /// used when the Lease does not say.
    pub fn decide(
        &mut self,
        lease: Option<&LeaseView>,
        me: &str,
        now: Duration,
        fallback: Duration,
    ) -> LeaseAction {
        let Some(lease) = lease else {
            self.seen = None;
            return LeaseAction::Create;
        };
        let holder = lease.holder.as_deref().filter(|h| !h.is_empty());
        match holder {
            None => LeaseAction::Acquire { from: None },
            Some(h) if h == me => LeaseAction::Renew,
            Some(h) => {
                let since = match &self.seen {
                    Some((rv, at)) if *rv == lease.resource_version => *at,
                    _ => {
                        self.seen = Some((lease.resource_version.clone(), now));
                        now
                    }
                };
                let duration = lease.duration.unwrap_or(fallback);
                if now.saturating_sub(since) >= duration {
                    LeaseAction::Acquire {
                        from: Some(h.to_string()),
                    }
                } else {
                    LeaseAction::Follow {
                        holder: h.to_string(),
                    }
                }
            }
        }
    }
}

/// Whether a leader whose last successful write of the Lease was at `last_renewed` (monotonic)
/// may still act at `now`: only within `renew_deadline` of it.
pub fn still_leading(
    last_renewed: Option<Duration>,
    now: Duration,
    renew_deadline: Duration,
) -> bool {
    last_renewed.is_some_and(|at| now.saturating_sub(at) < renew_deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Duration = Duration::from_secs(15);

    fn held_by(holder: &str, rv: &str) -> LeaseView {
        LeaseView {
            holder: Some(holder.to_string()),
            duration: Some(D),
            resource_version: rv.to_string(),
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_missing_lease_is_created_and_an_own_lease_is_renewed() {
        let mut o = LeaseObserver::default();
        assert_eq!(o.decide(None, "a", secs(0), D), LeaseAction::Create);
        assert_eq!(
            o.decide(Some(&held_by("a", "1")), "a", secs(1), D),
            LeaseAction::Renew
        );
    }

    #[test]
    fn a_released_lease_is_acquired_at_once() {
        let mut o = LeaseObserver::default();
        let released = LeaseView {
            holder: Some(String::new()),
            duration: Some(D),
            resource_version: "7".into(),
        };
        assert_eq!(
            o.decide(Some(&released), "b", secs(0), D),
            LeaseAction::Acquire { from: None }
        );
    }

    #[test]
    fn a_renewing_holder_is_followed_however_long_it_runs() {
        let mut o = LeaseObserver::default();
        for (i, t) in (0..100).step_by(5).enumerate() {
            let rv = i.to_string();
            assert_eq!(
                o.decide(Some(&held_by("a", &rv)), "b", secs(t), D),
                LeaseAction::Follow { holder: "a".into() }
            );
        }
    }

    #[test]
    fn a_silent_holder_is_taken_over_only_after_a_whole_duration_unchanged_on_this_clock() {
        let mut o = LeaseObserver::default();
        let lease = held_by("a", "5");
        // First seen at t=100 (whatever its renewTime says): the duration counts from here.
        assert!(matches!(
            o.decide(Some(&lease), "b", secs(100), D),
            LeaseAction::Follow { .. }
        ));
        assert!(matches!(
            o.decide(Some(&lease), "b", secs(114), D),
            LeaseAction::Follow { .. }
        ));
        assert_eq!(
            o.decide(Some(&lease), "b", secs(115), D),
            LeaseAction::Acquire {
                from: Some("a".into())
            }
        );
    }

    #[test]
    fn a_renewal_seen_late_restarts_the_wait() {
        let mut o = LeaseObserver::default();
        let _ = o.decide(Some(&held_by("a", "5")), "b", secs(0), D);
        let _ = o.decide(Some(&held_by("a", "6")), "b", secs(14), D);
        assert!(matches!(
            o.decide(Some(&held_by("a", "6")), "b", secs(20), D),
            LeaseAction::Follow { .. }
        ));
        assert!(matches!(
            o.decide(Some(&held_by("a", "6")), "b", secs(29), D),
            LeaseAction::Acquire { .. }
        ));
    }

    #[test]
    fn the_holder_s_own_duration_wins_over_the_local_setting() {
        let mut o = LeaseObserver::default();
        let long = LeaseView {
            duration: Some(secs(60)),
            ..held_by("a", "1")
        };
        let _ = o.decide(Some(&long), "b", secs(0), D);
        assert!(matches!(
            o.decide(Some(&long), "b", secs(30), D),
            LeaseAction::Follow { .. }
        ));
        assert!(matches!(
            o.decide(Some(&long), "b", secs(60), D),
            LeaseAction::Acquire { .. }
        ));
    }

    #[test]
    fn a_leader_stops_acting_when_its_last_renewal_is_older_than_the_deadline() {
        let deadline = secs(10);
        assert!(!still_leading(None, secs(0), deadline));
        assert!(still_leading(Some(secs(5)), secs(14), deadline));
        assert!(!still_leading(Some(secs(5)), secs(15), deadline));
        // The deadline is shorter than the duration another replica waits, so the old leader
        // has stopped before a takeover is allowed.
        let settings = crate::controller::LeaderSettings::with_duration("a", "ns", "l", D);
        assert!(settings.renew_deadline < settings.lease_duration);
    }
}
