//! A multi-cluster world in one process for the scenario tests: simulated clusters sharing one
//! manual clock and one serving timeline, one `GroupAgent` per cluster and group, each talking
//! to the shared store through its own `InstrumentedStore` (so one cluster can be cut off), all
//! driven in small steps of simulated time. After every step it asserts that no two clusters
//! serve a CONSISTENCY group at once, and fails with the timeline printed when they do.

#![allow(dead_code)]

mod inspect;

use chrono::{DateTime, Utc};
use kubectl_failover::agent::{CollectingSink, GroupAgent, GroupSpec};
use kubectl_failover::clock::{Clock, ManualClock};
use kubectl_failover::k8s::simulated::{ServingLog, SimGroupSpec, SimulatedCluster};
use kubectl_failover::protocol::{GroupPolicy, Role};
use kubectl_failover::store::instrumented::InstrumentedStore;
use kubectl_failover::store::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The operator every scenario uses.
pub const OP: &str = "failover-operator";
/// Test timings: heartbeat interval 1s, heartbeat timeout 5s, transitoryState 30s,
/// unhealthyPrimary 3s.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// See [`INTERVAL`].
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// See [`INTERVAL`].
pub const TRANSITORY: Duration = Duration::from_secs(30);
/// See [`INTERVAL`].
pub const UNHEALTHY: Duration = Duration::from_secs(3);
/// Default automatic-failover cool-down at these timings (5 x heartbeat).
pub const COOLDOWN: Duration = Duration::from_secs(25);
/// Simulated time per harness step.
pub const STEP: Duration = Duration::from_millis(50);

/// `shop/{name}`.
pub fn gid(name: &str) -> GroupId {
    GroupId::new("shop", name).expect("valid group name")
}

/// A stateful web application (volume replication) with small delays.
pub fn stateful() -> SimGroupSpec {
    SimGroupSpec::web_app().with_delays(Duration::from_millis(200), Duration::from_millis(100))
}

/// A stateless service (no volumes) with a small readiness delay.
pub fn stateless() -> SimGroupSpec {
    SimGroupSpec::stateless().with_delays(Duration::from_millis(200), Duration::ZERO)
}

/// One group of the world.
#[derive(Debug, Clone)]
pub struct GroupSetup {
    /// The group.
    pub group: GroupId,
    /// Its resources in every cluster.
    pub sim: SimGroupSpec,
    /// Its initial owner (bootstrap CONFIG).
    pub owner: String,
    /// Whether two clusters may serve it at once (UPTIME tests); false: asserted never.
    pub overlap_allowed: bool,
}

impl GroupSetup {
    /// A group owned by `owner` whose serving must never overlap.
    pub fn new(name: &str, sim: SimGroupSpec, owner: &str) -> Self {
        GroupSetup {
            group: gid(name),
            sim,
            owner: owner.to_string(),
            overlap_allowed: false,
        }
    }
}

struct Slot {
    agent: Option<GroupAgent>,
    due: Duration,
    last_beat: Option<Duration>,
}

/// The world. Clusters and their stores are addressed by name.
pub struct Harness {
    /// The shared clock.
    pub clock: ManualClock,
    /// The shared serving timeline.
    pub log: ServingLog,
    /// The shared store, as a person's CLI would see it.
    pub store: Arc<dyn CoordinationStore>,
    /// Every agent event.
    pub sink: Arc<CollectingSink>,
    /// Clusters by name.
    pub clusters: BTreeMap<String, Arc<SimulatedCluster>>,
    /// Each cluster's own view of the store (counted, partitionable).
    pub stores: BTreeMap<String, Arc<InstrumentedStore>>,
    groups: Vec<GroupSetup>,
    slots: BTreeMap<(String, GroupId), Slot>,
    start_wall: DateTime<Utc>,
    policy: GroupPolicy,
}

/// The CONFIG a group starts with.
pub fn bootstrap(group: &GroupId, owner: &str) -> GroupConfig {
    let mut c = GroupConfig::new(OP, group.clone(), owner, DateTime::<Utc>::UNIX_EPOCH);
    c.heartbeat_interval = INTERVAL.into();
    c.timeouts.heartbeat = HEARTBEAT.into();
    c.timeouts.transitory_state = TRANSITORY.into();
    c.timeouts.unhealthy_primary = UNHEALTHY.into();
    // The simulated cluster stops at once.
    c.timeouts.deactivation = std::time::Duration::ZERO.into();
    c
}

impl Harness {
    /// `clusters` (named), each with every group of `groups`; agents start staggered within
    /// the first interval.
    pub fn new(
        store: Arc<dyn CoordinationStore>,
        clusters: &[&str],
        groups: Vec<GroupSetup>,
    ) -> Self {
        let start_wall = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .expect("valid time")
            .with_timezone(&Utc);
        let clock = ManualClock::starting_at(start_wall);
        let log = ServingLog::new(Arc::new(clock.clone()));
        let mut h = Harness {
            clock,
            log,
            store,
            sink: Arc::new(CollectingSink::new()),
            clusters: BTreeMap::new(),
            stores: BTreeMap::new(),
            groups,
            slots: BTreeMap::new(),
            start_wall,
            policy: GroupPolicy::default(),
        };
        for (i, name) in clusters.iter().enumerate() {
            let cluster = SimulatedCluster::new(name, Arc::new(h.clock.clone()), h.log.clone());
            for g in &h.groups {
                cluster.add_group(g.group.clone(), g.sim.clone());
            }
            h.clusters.insert(name.to_string(), Arc::new(cluster));
            let store = InstrumentedStore::new(h.store.clone(), name);
            h.stores.insert(name.to_string(), Arc::new(store));
            let offset = Duration::from_millis(170 * i as u64);
            h.start_agents(name, offset);
        }
        h
    }

    fn start_agents(&mut self, cluster: &str, offset: Duration) {
        let now = self.clock.monotonic();
        for (j, g) in self.groups.iter().enumerate() {
            let spec = GroupSpec {
                group: g.group.clone(),
                policy: self.policy.clone(),
                bootstrap: bootstrap(&g.group, &g.owner),
                settings_from_spec: false,
            };
            let agent = GroupAgent::new(
                spec,
                self.stores[cluster].clone(),
                self.clusters[cluster].clone(),
                Arc::new(self.clock.clone()),
                self.sink.clone(),
            )
            .expect("valid agent");
            let slot = Slot {
                agent: Some(agent),
                due: now + offset + Duration::from_millis(30 * j as u64),
                last_beat: None,
            };
            let key = (cluster.to_string(), g.group.clone());
            let last_beat = self.slots.get(&key).and_then(|s| s.last_beat);
            self.slots.insert(key, Slot { last_beat, ..slot });
        }
    }

    /// Monotonic time now.
    pub fn now(&self) -> Duration {
        self.clock.monotonic()
    }

    /// The monotonic time of a wall time on the shared clock.
    pub fn mono(&self, at: DateTime<Utc>) -> Duration {
        (at - self.start_wall).to_std().unwrap_or_default()
    }

    /// One step: time moves on, every cluster's watchdog looks, every live agent whose tick is
    /// due ticks; then no CONSISTENCY group may have two clusters serving.
    pub async fn step(&mut self) {
        self.clock.advance(STEP);
        for c in self.clusters.values() {
            c.watchdog();
        }
        let now = self.now();
        for slot in self.slots.values_mut() {
            let Some(agent) = slot.agent.as_mut() else {
                continue;
            };
            if now < slot.due {
                continue;
            }
            let report = agent.tick().await;
            if report.heartbeat_seq.is_some() {
                slot.last_beat = Some(report.at);
            }
            slot.due = now + agent.next_tick_in();
        }
        for g in self.groups.iter().filter(|g| !g.overlap_allowed) {
            let overlaps = self.log.overlaps(&g.group);
            assert!(
                overlaps.is_empty(),
                "two clusters serve CONSISTENCY group {} at once: {overlaps:?}\n{}",
                g.group,
                self.timeline(&g.group)
            );
        }
    }

    /// Runs for `span` of simulated time.
    pub async fn run_for(&mut self, span: Duration) {
        let end = self.now() + span;
        while self.now() < end {
            self.step().await;
        }
    }

    /// Runs until `done` holds (checked after every step); panics with the timeline after
    /// `limit`. Returns the time it took.
    pub async fn run_until(
        &mut self,
        limit: Duration,
        what: &str,
        mut done: impl FnMut(&Harness) -> bool,
    ) -> Duration {
        let start = self.now();
        while !done(self) {
            if self.now() >= start + limit {
                let timelines: Vec<String> = self
                    .groups
                    .iter()
                    .map(|g| self.timeline(&g.group))
                    .collect();
                panic!("not within {limit:?}: {what}\n{}", timelines.join("\n"));
            }
            self.step().await;
        }
        self.now() - start
    }

    /// Stops ticking a cluster's agents (the process died; its cluster keeps running).
    pub fn kill(&mut self, cluster: &str) {
        for ((c, _), slot) in self.slots.iter_mut() {
            if c == cluster {
                slot.agent = None;
            }
        }
    }

    /// Fresh agents for a cluster (a restarted process), ticking from now.
    pub fn restart(&mut self, cluster: &str) {
        self.start_agents(cluster, Duration::ZERO);
    }

    /// Cuts a cluster off from the store (`true`) or reconnects it.
    pub fn partition(&self, cluster: &str, cut: bool) {
        self.stores[cluster].set_partitioned(cut);
    }

    /// When the cluster's agent for `group` last wrote a heartbeat successfully.
    pub fn last_beat(&self, cluster: &str, group: &GroupId) -> Option<Duration> {
        self.slots
            .get(&(cluster.to_string(), group.clone()))
            .and_then(|s| s.last_beat)
    }

    /// The role the cluster's agent last converged to.
    pub fn role(&self, cluster: &str, group: &GroupId) -> Option<Role> {
        let slot = self.slots.get(&(cluster.to_string(), group.clone()))?;
        slot.agent.as_ref()?.decision().map(|d| d.role)
    }
}
