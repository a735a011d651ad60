//! Building the demo's world: one clock and one timeline shared by every simulated cluster, the
//! coordination store (embedded, or a DynamoDB table created when missing), one instrumented
//! view of the store per cluster (request counts, partitions), and the groups' settings.

use super::{DemoSettings, NAMESPACE, StoreKind, cluster_name};
use crate::agent::GroupSpec;
use crate::clock::{Clock, SystemClock};
use crate::config::StoreArgs;
use crate::error::Error;
use crate::k8s::simulated::{ServingLog, SimGroupSpec, SimulatedCluster};
use crate::protocol::GroupPolicy;
use crate::store::dynamodb::DynamoStore;
use crate::store::dynamodb::setup::{self, Billing, TableSpec};
use crate::store::instrumented::InstrumentedStore;
use crate::store::memory::MemoryStore;
use crate::store::{CoordinationStore, GroupConfig, GroupId};
use std::sync::Arc;
use std::time::Duration;

/// The stateful group's readiness and volume delays. Shorter than `SimGroupSpec::web_app()`'s
/// (3 s, 2 s) so that a planned failover and an automatic one both fit in the default 30 s run,
/// still long enough to watch the phases go by.
const STATEFUL_READY_DELAY: Duration = Duration::from_millis(1500);
const STATEFUL_PROMOTE_DELAY: Duration = Duration::from_secs(1);
/// Floor of `timeouts.transitoryState`: the slowest phase (target activation: volume promotion,
/// replicas becoming ready, a couple of ticks) must never look stuck.
const MIN_TRANSITORY: Duration = Duration::from_secs(15);

/// One of the demo's groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoGroup {
    /// Its id.
    pub id: GroupId,
    /// Whether it has a volume replication (`app-1`).
    pub stateful: bool,
}

/// One simulated cluster and its agent's view of the store.
#[derive(Debug, Clone)]
pub struct DemoCluster {
    /// `cluster-N`.
    pub name: String,
    /// The simulated cluster (keeps running when its agent is killed).
    pub sim: Arc<SimulatedCluster>,
    /// The store as this cluster's agent reaches it: counted, and cut off during partitions.
    pub store: Arc<InstrumentedStore>,
}

/// Everything a run shares.
#[derive(Debug)]
pub struct World {
    /// The one clock (real time); its monotonic origin is the demo's start.
    pub clock: Arc<dyn Clock>,
    /// The clusters' shared timeline.
    pub log: ServingLog,
    /// The store itself, for the script's promotions and the summary (not instrumented).
    pub store: Arc<dyn CoordinationStore>,
    /// The operator whose records the demo writes.
    pub operator_id: String,
    /// The groups' namespace (`demo`, or `demo-<unix seconds>` on DynamoDB).
    pub namespace: String,
    /// The groups.
    pub groups: Vec<DemoGroup>,
    /// The clusters.
    pub clusters: Vec<DemoCluster>,
    /// The settings.
    pub settings: DemoSettings,
}

/// Opens the store the settings ask for; for DynamoDB also creates the table when missing.
pub async fn open_store(
    store_args: &StoreArgs,
    kind: StoreKind,
) -> Result<Arc<dyn CoordinationStore>, Error> {
    match kind {
        StoreKind::Memory => Ok(Arc::new(MemoryStore::new())),
        StoreKind::Dynamodb => {
            let store = DynamoStore::connect(store_args).await?;
            let spec = TableSpec {
                billing: Billing::PayPerRequest,
                wait: Some(setup::DEFAULT_WAIT),
            };
            let ctx = setup::error_context(store_args);
            let _ = setup::ensure_table(store.client(), &ctx, &spec, &mut |_| {}).await?;
            Ok(Arc::new(store))
        }
    }
}

impl World {
    /// Builds the clusters (each holding every group, fully deactivated) and their stores.
    pub async fn build(store_args: &StoreArgs, settings: &DemoSettings) -> Result<World, Error> {
        let store = open_store(store_args, settings.store).await?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
        let namespace = match settings.store {
            StoreKind::Memory => NAMESPACE.to_string(),
            StoreKind::Dynamodb => format!("{NAMESPACE}-{}", clock.now().timestamp()),
        };
        let groups = (1..=settings.groups)
            .map(|i| {
                Ok(DemoGroup {
                    id: DemoSettings::group_id(&namespace, i)?,
                    stateful: i == 1,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let log = ServingLog::new(clock.clone());
        let clusters = (1..=settings.clusters)
            .map(|i| {
                let name = cluster_name(i);
                let sim = SimulatedCluster::new(&name, clock.clone(), log.clone());
                for g in &groups {
                    sim.add_group(g.id.clone(), sim_spec(g.stateful));
                }
                DemoCluster {
                    store: Arc::new(InstrumentedStore::new(store.clone(), &name)),
                    sim: Arc::new(sim),
                    name,
                }
            })
            .collect();
        Ok(World {
            clock,
            log,
            store,
            operator_id: store_args.operator_id.clone(),
            namespace,
            groups,
            clusters,
            settings: settings.clone(),
        })
    }

    /// The CONFIG every agent bootstraps a group with: cluster-1 owns it, the demo's timings.
    pub fn bootstrap(&self, group: &GroupId) -> GroupConfig {
        let mut config = bootstrap(
            &self.operator_id,
            group,
            &cluster_name(1),
            self.settings.interval,
            self.settings.heartbeat_timeout,
            self.clock.now(),
        );
        config.self_fencing = self.settings.self_fencing;
        config
    }

    /// The groups as every agent runs them.
    pub fn group_specs(&self) -> Vec<GroupSpec> {
        self.groups
            .iter()
            .map(|g| GroupSpec {
                group: g.id.clone(),
                policy: policy(self.settings.heartbeat_timeout, self.settings.self_fencing),
                bootstrap: self.bootstrap(&g.id),
                settings_from_spec: false,
            })
            .collect()
    }

    /// The cluster named `name`.
    pub fn cluster(&self, name: &str) -> Option<&DemoCluster> {
        self.clusters.iter().find(|c| c.name == name)
    }
}

/// What a demo group is made of in every cluster.
pub fn sim_spec(stateful: bool) -> SimGroupSpec {
    if stateful {
        SimGroupSpec::web_app().with_delays(STATEFUL_READY_DELAY, STATEFUL_PROMOTE_DELAY)
    } else {
        SimGroupSpec::stateless()
    }
}

/// The demo's local policy: the default, except that the automatic-failover cool-down is one
/// heartbeat timeout instead of five, so that one run can show a planned failover followed by
/// an automatic one, and that self-fencing can be switched off (`--no-self-fencing`).
pub fn policy(heartbeat_timeout: Duration, self_fencing: bool) -> GroupPolicy {
    GroupPolicy {
        cooldown: Some(heartbeat_timeout),
        self_fencing,
        ..GroupPolicy::default()
    }
}

/// A group's first CONFIG with the given timings; `timeouts.transitoryState` is three heartbeat
/// timeouts (at least 15 s) and `timeouts.unhealthyPrimary` one, which the protocol accepts
/// whenever the heartbeat timeout is at least four intervals.
pub fn bootstrap(
    operator_id: &str,
    group: &GroupId,
    owner: &str,
    interval: Duration,
    heartbeat_timeout: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> GroupConfig {
    let mut config = GroupConfig::new(operator_id, group.clone(), owner, now);
    config.heartbeat_interval = interval.into();
    config.timeouts.heartbeat = heartbeat_timeout.into();
    config.timeouts.transitory_state = heartbeat_timeout
        .saturating_mul(3)
        .max(MIN_TRANSITORY)
        .into();
    config.timeouts.unhealthy_primary = heartbeat_timeout.into();
    // The simulated clusters stop serving within one tick.
    config.timeouts.deactivation = interval.into();
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::validate_timeouts;

    #[test]
    fn the_bootstrap_config_is_valid_for_every_accepted_timing() {
        let group = GroupId::new("demo", "app-1").unwrap();
        for (interval_ms, timeout_ms) in [(1000, 5000), (500, 2000), (100, 400), (5000, 20000)] {
            let c = bootstrap(
                "op",
                &group,
                "cluster-1",
                Duration::from_millis(interval_ms),
                Duration::from_millis(timeout_ms),
                chrono::Utc::now(),
            );
            assert!(
                validate_timeouts(&c).is_ok(),
                "{interval_ms}ms/{timeout_ms}ms"
            );
            assert_eq!(c.owner_cluster, "cluster-1");
        }
    }
}
