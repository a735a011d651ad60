//! The benchmark's test bed: three simulated clusters sharing one clock and timeline, one real
//! agent each on its own instrumented view of the store, one stateful group with instant
//! workloads owned by cluster-1, and the clusters' serving watchdog.

use super::{CLUSTERS, Failure, INTERVAL, OP, TIMEOUT};
use chrono::{DateTime, Utc};
use kubectl_failover::agent::{Agent, AgentError, CollectingSink, GroupSpec};
use kubectl_failover::clock::{Clock, SystemClock};
use kubectl_failover::demo::world::{bootstrap, policy};
use kubectl_failover::k8s::simulated::{EventKind, ServingLog, SimGroupSpec, SimulatedCluster};
use kubectl_failover::store::instrumented::InstrumentedStore;
use kubectl_failover::store::{CoordinationStore, GroupId};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Three clusters, one agent each, one group owned by cluster-1.
pub struct Bed {
    pub clock: Arc<dyn Clock>,
    pub log: ServingLog,
    pub store: Arc<dyn CoordinationStore>,
    pub group: GroupId,
    pub sims: Vec<Arc<SimulatedCluster>>,
    pub stores: Vec<Arc<InstrumentedStore>>,
    pub agents: Vec<Option<JoinHandle<Result<(), AgentError>>>>,
    pub sink: Arc<CollectingSink>,
    pub shutdown: watch::Sender<bool>,
    pub watchdog: JoinHandle<()>,
}

impl Bed {
    pub async fn start(store: Arc<dyn CoordinationStore>, namespace: &str) -> Result<Bed, Failure> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
        let log = ServingLog::new(clock.clone());
        let group = GroupId::new(namespace, "web")?;
        let spec = GroupSpec {
            group: group.clone(),
            policy: policy(TIMEOUT, true),
            bootstrap: bootstrap(OP, &group, CLUSTERS[0], INTERVAL, TIMEOUT, clock.now()),
            settings_from_spec: false,
        };
        let sink = Arc::new(CollectingSink::new());
        let (shutdown, rx) = watch::channel(false);
        let (mut sims, mut stores, mut agents) = (Vec::new(), Vec::new(), Vec::new());
        for name in CLUSTERS {
            let sim = Arc::new(SimulatedCluster::new(name, clock.clone(), log.clone()));
            sim.add_group(group.clone(), SimGroupSpec::web_app().instant());
            let s = Arc::new(InstrumentedStore::new(store.clone(), name));
            let agent = Agent::new(
                vec![spec.clone()],
                s.clone(),
                sim.clone(),
                clock.clone(),
                sink.clone(),
            )?;
            agents.push(Some(tokio::spawn(agent.run(rx.clone()))));
            sims.push(sim);
            stores.push(s);
        }
        let watched = sims.clone();
        let watchdog = tokio::spawn(async move {
            loop {
                watched.iter().for_each(|s| s.watchdog());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let bed = Bed {
            clock,
            log,
            store,
            group,
            sims,
            stores,
            agents,
            sink,
            shutdown,
            watchdog,
        };
        bed.until_ready().await?;
        Ok(bed)
    }

    /// Until cluster-1 serves and every cluster has written a heartbeat record.
    pub async fn until_ready(&self) -> Result<(), Failure> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let snap = self.store.load_group_with(OP, &self.group, false).await?;
            if self.sims[0].is_serving(&self.group)
                && snap.is_some_and(|s| s.clusters.len() == CLUSTERS.len())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err("the group did not come up within 20s".into())
    }

    /// Until `cluster` serves the group; returns when (its wall time from the clusters' log).
    pub async fn until_serving(
        &self,
        cluster: usize,
        limit: Duration,
    ) -> Result<DateTime<Utc>, Failure> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            let started = self.log.events().into_iter().rev().find(|e| {
                e.cluster == CLUSTERS[cluster]
                    && e.group == self.group
                    && e.kind == EventKind::ServingStarted
            });
            if let (true, Some(e)) = (self.sims[cluster].is_serving(&self.group), started) {
                return Ok(e.wall);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let events: Vec<String> = self.sink.events().iter().map(|e| e.to_string()).collect();
        Err(format!(
            "{} did not serve within {limit:?}; the agents said: {}",
            CLUSTERS[cluster],
            events.join("; ")
        )
        .into())
    }

    pub fn kill(&mut self, cluster: usize) {
        if let Some(task) = self.agents[cluster].take() {
            task.abort();
        }
    }

    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        for task in self.agents.iter_mut().filter_map(Option::take) {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        self.watchdog.abort();
    }
}

impl Bed {
    pub async fn until_any_serving_but_first(&self, limit: Duration) -> Result<usize, Failure> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(i) = (1..CLUSTERS.len()).find(|i| self.sims[*i].is_serving(&self.group)) {
                return Ok(i);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Err(format!("no standby served within {limit:?}").into())
    }
}
