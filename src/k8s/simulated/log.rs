//! The shared timeline of simulated clusters: who served which group when, plus the other steps
//! worth showing in a demo. Tests check the "at most one cluster serves" invariant against it.

use crate::clock::Clock;
use crate::k8s::Action;
use crate::store::GroupId;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::broadcast;

/// How many events a slow live subscriber may fall behind before it misses some; the log itself
/// keeps every event regardless.
const LIVE_CAPACITY: usize = 1024;

/// What happened to a group in a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Network on: the cluster started serving the group.
    ServingStarted,
    /// Network off: the cluster stopped serving the group.
    ServingStopped,
    /// Every volume replication reported primary.
    VolumesPrimary,
    /// Every volume replication reported secondary.
    VolumesSecondary,
    /// Every workload reported all its replicas ready.
    ScaledUp,
    /// Every workload was scaled to 0.
    ScaledDown,
    /// CronJobs and Flux resources were resumed.
    JobsResumed,
    /// CronJobs and Flux resources were suspended.
    JobsSuspended,
    /// An action decided under an older epoch was refused (a stale agent was fenced off).
    StaleEpochRefused {
        /// The action refused.
        action: Action,
        /// The epoch it carried.
        epoch: u64,
        /// The newest epoch the cluster had applied.
        applied: u64,
    },
}

/// One entry of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingEvent {
    /// When, on the log's monotonic clock (the one every decision and delay uses).
    pub at: Duration,
    /// When, in wall-clock time, for display.
    pub wall: DateTime<Utc>,
    /// The cluster it happened in.
    pub cluster: String,
    /// The group.
    pub group: GroupId,
    /// What happened.
    pub kind: EventKind,
}

/// A stretch of time during which one cluster served a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingInterval {
    /// The serving cluster.
    pub cluster: String,
    /// When it started serving.
    pub from: Duration,
    /// When it stopped; `None` while it still serves.
    pub to: Option<Duration>,
}

/// Two clusters serving the same group at the same time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overlap {
    /// The two clusters, in name order.
    pub clusters: (String, String),
    /// Start of the common stretch.
    pub from: Duration,
    /// End of the common stretch; `None` while both still serve.
    pub to: Option<Duration>,
}

/// The timeline shared by every simulated cluster of a test or demo. Cloning it is cheap and
/// every clone appends to and reads the same events.
#[derive(Debug, Clone)]
pub struct ServingLog {
    inner: Arc<LogInner>,
}

#[derive(Debug)]
struct LogInner {
    clock: Arc<dyn Clock>,
    events: Mutex<Vec<ServingEvent>>,
    live: broadcast::Sender<ServingEvent>,
}

impl ServingLog {
    /// An empty log stamping events with `clock`; give it the clock the clusters use.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        ServingLog {
            inner: Arc::new(LogInner {
                clock,
                events: Mutex::new(Vec::new()),
                live,
            }),
        }
    }

    /// Appends an event stamped now and passes it to live subscribers.
    pub fn record(&self, cluster: &str, group: &GroupId, kind: EventKind) {
        let mut events = self.lock();
        // Stamped under the lock so the stored order is also the order of `at`.
        let event = ServingEvent {
            at: self.inner.clock.monotonic(),
            wall: self.inner.clock.now(),
            cluster: cluster.to_string(),
            group: group.clone(),
            kind,
        };
        events.push(event.clone());
        // An error only means nobody is subscribed right now, which is fine: the log keeps it.
        let _ = self.inner.live.send(event);
    }

    /// Records an event that happened at `at` (earlier than now, e.g. a serving lease that lapsed
    /// while nobody looked), keeping the log in time order.
    pub fn record_at(&self, at: Duration, cluster: &str, group: &GroupId, kind: EventKind) {
        let mut events = self.lock();
        let now = self.inner.clock.monotonic();
        let back = chrono::Duration::from_std(now.saturating_sub(at)).unwrap_or_default();
        let event = ServingEvent {
            at,
            wall: self.inner.clock.now() - back,
            cluster: cluster.to_string(),
            group: group.clone(),
            kind,
        };
        let position = events.partition_point(|e| e.at <= at);
        events.insert(position, event.clone());
        let _ = self.inner.live.send(event);
    }

    /// Every event so far, in order.
    pub fn events(&self) -> Vec<ServingEvent> {
        self.lock().clone()
    }

    /// A live feed of the events recorded from now on (for the demo's display).
    pub fn subscribe(&self) -> broadcast::Receiver<ServingEvent> {
        self.inner.live.subscribe()
    }

    /// Every stretch during which a cluster served `group`, ordered by start (then cluster).
    pub fn serving_intervals(&self, group: &GroupId) -> Vec<ServingInterval> {
        let events = self.lock();
        let mut open: BTreeMap<&str, Duration> = BTreeMap::new();
        let mut intervals = Vec::new();
        for e in events.iter().filter(|e| &e.group == group) {
            match e.kind {
                EventKind::ServingStarted => {
                    open.entry(e.cluster.as_str()).or_insert(e.at);
                }
                EventKind::ServingStopped => {
                    if let Some(from) = open.remove(e.cluster.as_str()) {
                        intervals.push(ServingInterval {
                            cluster: e.cluster.clone(),
                            from,
                            to: Some(e.at),
                        });
                    }
                }
                _ => {}
            }
        }
        intervals.extend(open.into_iter().map(|(cluster, from)| ServingInterval {
            cluster: cluster.to_string(),
            from,
            to: None,
        }));
        intervals.sort_by(|a, b| (a.from, &a.cluster).cmp(&(b.from, &b.cluster)));
        intervals
    }

    /// Every stretch of positive length during which two clusters served `group` together,
    /// ordered by start. A hand-over where one cluster stops at the very instant the other
    /// starts is not an overlap: at no moment did both serve.
    pub fn overlaps(&self, group: &GroupId) -> Vec<Overlap> {
        let intervals = self.serving_intervals(group);
        let mut overlaps = Vec::new();
        for (i, a) in intervals.iter().enumerate() {
            for b in intervals.iter().skip(i + 1) {
                if a.cluster == b.cluster {
                    continue;
                }
                let from = a.from.max(b.from);
                let to = match (a.to, b.to) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (Some(x), None) | (None, Some(x)) => Some(x),
                    (None, None) => None,
                };
                if to.is_none_or(|to| to > from) {
                    let clusters = if a.cluster <= b.cluster {
                        (a.cluster.clone(), b.cluster.clone())
                    } else {
                        (b.cluster.clone(), a.cluster.clone())
                    };
                    overlaps.push(Overlap { clusters, from, to });
                }
            }
        }
        overlaps.sort_by(|a, b| (a.from, &a.clusters).cmp(&(b.from, &b.clusters)));
        overlaps
    }

    /// The clusters serving `group` now, in name order.
    pub fn serving_now(&self, group: &GroupId) -> Vec<String> {
        let mut clusters: Vec<String> = self
            .serving_intervals(group)
            .into_iter()
            .filter(|i| i.to.is_none())
            .map(|i| i.cluster)
            .collect();
        clusters.sort();
        clusters
    }

    fn lock(&self) -> MutexGuard<'_, Vec<ServingEvent>> {
        // Poisoned only if a thread panicked while pushing; a Vec push either happened or did
        // not, so the events are still consistent and a test's timeline stays readable.
        self.inner.events.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn setup() -> (ManualClock, ServingLog, GroupId) {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::starting_at(start);
        let log = ServingLog::new(Arc::new(clock.clone()));
        (clock, log, GroupId::new("shop", "web").unwrap())
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn serving_intervals_pair_starts_with_stops_and_leave_the_current_one_open() {
        let (clock, log, g) = setup();
        let other = GroupId::new("shop", "other").unwrap();
        clock.advance(secs(1));
        log.record("a", &g, EventKind::ServingStarted);
        log.record("c", &other, EventKind::ServingStarted);
        clock.advance(secs(4));
        log.record("a", &g, EventKind::ScaledDown);
        log.record("a", &g, EventKind::ServingStopped);
        clock.advance(secs(2));
        log.record("b", &g, EventKind::ServingStarted);
        let got = log.serving_intervals(&g);
        let want = vec![
            ServingInterval {
                cluster: "a".into(),
                from: secs(1),
                to: Some(secs(5)),
            },
            ServingInterval {
                cluster: "b".into(),
                from: secs(7),
                to: None,
            },
        ];
        assert_eq!(got, want);
        assert_eq!(log.serving_now(&g), vec!["b".to_string()]);
        assert_eq!(log.serving_now(&other), vec!["c".to_string()]);
    }

    #[test]
    fn overlaps_are_found_for_two_clusters_serving_at_once() {
        let (clock, log, g) = setup();
        log.record("b", &g, EventKind::ServingStarted);
        clock.advance(secs(2));
        log.record("a", &g, EventKind::ServingStarted);
        clock.advance(secs(3));
        log.record("b", &g, EventKind::ServingStopped);
        clock.advance(secs(1));
        log.record("c", &g, EventKind::ServingStarted);
        let got = log.overlaps(&g);
        let want = vec![
            Overlap {
                clusters: ("a".into(), "b".into()),
                from: secs(2),
                to: Some(secs(5)),
            },
            Overlap {
                clusters: ("a".into(), "c".into()),
                from: secs(6),
                to: None,
            },
        ];
        assert_eq!(got, want);
        assert_eq!(log.serving_now(&g), vec!["a".to_string(), "c".to_string()]);
    }

    #[test]
    fn a_back_to_back_hand_over_is_not_an_overlap() {
        let (clock, log, g) = setup();
        log.record("a", &g, EventKind::ServingStarted);
        clock.advance(secs(3));
        log.record("a", &g, EventKind::ServingStopped);
        log.record("b", &g, EventKind::ServingStarted);
        assert_eq!(log.overlaps(&g), Vec::new());
        assert_eq!(log.serving_intervals(&g).len(), 2);
    }

    #[test]
    fn live_subscribers_receive_events_recorded_after_subscribing() {
        let (clock, log, g) = setup();
        log.record("a", &g, EventKind::ServingStarted);
        let mut rx = log.subscribe();
        clock.advance(secs(1));
        log.record("a", &g, EventKind::ServingStopped);
        let got = rx.try_recv().unwrap();
        assert_eq!((got.kind, got.at), (EventKind::ServingStopped, secs(1)));
        assert!(rx.try_recv().is_err());
        assert_eq!(log.events().len(), 2);
    }
}
