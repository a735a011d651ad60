//! Unit tests of the agent: one or two agents on the memory store, simulated clusters and a
//! manual clock. `single`: one agent (bootstrap, heartbeats, outages, cost); `pair`: two agents
//! and `Agent::run`.

mod hung_cluster;
mod no_watchdog;
mod pair;
mod settings;
mod single;
mod slow_api;

use super::*;
use crate::clock::{Clock, ManualClock};
use crate::k8s::simulated::{EventKind, ServingLog, SimGroupSpec, SimulatedCluster};
use crate::protocol::Role;
use crate::store::instrumented::InstrumentedStore;
use crate::store::memory::MemoryStore;
use crate::store::{CoordinationStore, GroupConfig, GroupId};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

const OP: &str = "op";

fn gid() -> GroupId {
    GroupId::new("shop", "web").unwrap()
}

fn bootstrap(owner: &str) -> GroupConfig {
    let mut c = GroupConfig::new(OP, gid(), owner, DateTime::<Utc>::UNIX_EPOCH);
    c.heartbeat_interval = Duration::from_secs(1).into();
    c.timeouts.heartbeat = Duration::from_secs(5).into();
    c.timeouts.transitory_state = Duration::from_secs(30).into();
    c.timeouts.unhealthy_primary = Duration::from_secs(3).into();
    // The simulated cluster stops at once.
    c.timeouts.deactivation = Duration::ZERO.into();
    c
}

struct World {
    clock: ManualClock,
    log: ServingLog,
    store: Arc<InstrumentedStore>,
    sink: Arc<CollectingSink>,
}

impl World {
    fn new() -> World {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = ManualClock::starting_at(start);
        let log = ServingLog::new(Arc::new(clock.clone()));
        let store = Arc::new(InstrumentedStore::new(Arc::new(MemoryStore::new()), "a"));
        World {
            clock,
            log,
            store,
            sink: Arc::new(CollectingSink::new()),
        }
    }

    fn cluster(&self, name: &str) -> Arc<SimulatedCluster> {
        let c = SimulatedCluster::new(name, Arc::new(self.clock.clone()), self.log.clone());
        Arc::new(c.with_group(gid(), SimGroupSpec::web_app().instant()))
    }

    fn agent(&self, cluster: &Arc<SimulatedCluster>, owner: &str) -> GroupAgent {
        self.agent_on(cluster.clone(), owner)
    }

    /// An agent of `owner`'s group on any cluster (a fake that hangs or refuses).
    fn agent_on(&self, cluster: Arc<dyn crate::k8s::ClusterActions>, owner: &str) -> GroupAgent {
        let spec = GroupSpec {
            group: gid(),
            policy: Default::default(),
            bootstrap: bootstrap(owner),
            settings_from_spec: false,
        };
        GroupAgent::new(
            spec,
            self.store.clone(),
            cluster,
            Arc::new(self.clock.clone()),
            self.sink.clone(),
        )
        .unwrap()
    }

    /// Ticks `agent` every time it asks to, for `span` of simulated time.
    async fn run(&self, agent: &mut GroupAgent, span: Duration) -> Vec<TickReport> {
        let end = self.clock.monotonic() + span;
        let mut reports = Vec::new();
        while self.clock.monotonic() < end {
            reports.push(agent.tick().await);
            self.clock.advance(agent.next_tick_in());
        }
        reports
    }

    async fn own_seq(&self, cluster: &str) -> u64 {
        let snap = self.store.load_group(OP, &gid()).await.unwrap().unwrap();
        let record = snap.clusters.iter().find(|c| c.cluster_name == cluster);
        record.and_then(|c| c.heartbeat_seq).unwrap()
    }
}

fn kinds(sink: &CollectingSink) -> Vec<AgentEventKind> {
    sink.take().into_iter().map(|e| e.kind).collect()
}

/// Every group's task rests in its sleep between ticks for almost all of its life: at 10,000
/// groups each byte of its future is 10 kB of the controller's memory. The tick's state is
/// allocated only while it runs (boxed); without that the task held it all the time.
#[test]
fn a_resting_group_task_does_not_hold_the_state_of_its_tick() {
    let w = World::new();
    let cluster = w.cluster("east");
    let mut agent = w.agent(&cluster, "east");
    let tick = std::mem::size_of_val(&agent.tick());
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let state = std::mem::size_of::<GroupAgent>();
    let task = std::mem::size_of_val(&super::run::run_group(
        Box::new(agent),
        stop,
        Duration::ZERO,
    ));
    eprintln!("agent {state} bytes, tick future {tick}, group task {task}");
    assert!(
        task < 1024 && task < tick.min(state),
        "the group task is {task} bytes (agent {state}, tick {tick}): the agent or the tick is held inline again"
    );
}
