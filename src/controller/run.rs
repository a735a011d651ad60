//! Wiring and lifetime of the controller: the one place that spawns its long-lived tasks (event
//! publisher, leader election), runs the FailoverGroup and Failover reconcile loops while this
//! replica leads, stops every agent at once when leadership is lost, and on shutdown stops the
//! agents (each releases its lock), then gives up the Lease.

use super::context::{Context, ReconcileError};
use super::event_series::EventPublisher;
use super::events::{EVENT_QUEUE_CAPACITY, EventQueue, publish_events};
use super::http::Health;
use super::leadership::Leadership;
use super::lease::LeaderElector;
use super::liveness::TickBoard;
use super::metrics::Metrics;
use super::supervisor::{AgentDeps, Supervisor};
use super::tap::TappedStore;
use super::{
    CONTROLLER_NAME, ControllerError, ControllerSettings, groups, unreadable, watch_cache,
};
use crate::clock::Clock;
use crate::crd::{Failover, FailoverGroup};
use crate::k8s::{ClusterActions, GroupResources};
use crate::store::CoordinationStore;
use crate::store::budget::{BudgetedStore, StoreLimits};
use futures::StreamExt;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::runtime::controller::{Action, Config as ControllerConfig};
use kube::runtime::watcher;
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How often a standby replica checks that the store answers (for `/readyz`).
const STANDBY_PROBE: Duration = Duration::from_secs(15);

/// The store as the controller uses it, and the health server that reports on it. The budget
/// sits inside the tap so that every agent, the probes and the Failover handling share one
/// budget, and the tap's counts and reachability describe the calls that were actually sent.
fn tap_store(
    deps: &ControllerDeps,
    limits: StoreLimits,
    metrics: &Arc<Metrics>,
    ticks: &Arc<TickBoard>,
) -> (Arc<TappedStore>, Arc<Health>) {
    let budgeted = BudgetedStore::new(deps.store.clone(), limits, metrics.clone());
    let store = Arc::new(TappedStore::new(Arc::new(budgeted), metrics.clone()));
    let health = Arc::new(Health {
        metrics: metrics.clone(),
        store: store.clone(),
        initialized: AtomicBool::new(false),
        ticks: ticks.clone(),
    });
    (store, health)
}

/// What the controller acts through; tests plug in the simulated cluster and the memory store.
#[derive(Clone)]
pub struct ControllerDeps {
    /// The Kubernetes client (FailoverGroups, Failovers, Events, the Lease).
    pub client: kube::Client,
    /// This cluster's actions.
    pub cluster: Arc<dyn ClusterActions>,
    /// Where the resources of each group are told to the cluster side.
    pub resources: Arc<dyn GroupResources>,
    /// The coordination store.
    pub store: Arc<dyn CoordinationStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// Reconciles of each kind (FailoverGroup, Failover) running at once.
const RECONCILE_CONCURRENCY: u16 = 16;

/// One replica of the controller.
pub struct Controller {
    settings: ControllerSettings,
    deps: ControllerDeps,
    metrics: Arc<Metrics>,
    store: Arc<TappedStore>,
    health: Arc<Health>,
    ticks: Arc<TickBoard>,
    liveness_budget: Option<Duration>,
    /// The notification webhooks (`NOTIFY_CONFIG`); `None`: off.
    notifier: Option<Arc<crate::notify::Notifier>>,
    /// The client of the group tasks' status writes, when not `deps.client`.
    status_client: Option<kube::Client>,
}

impl Controller {
    /// A controller whose store calls keep within the default [`StoreLimits`]; nothing runs
    /// until [`Controller::run`].
    pub fn new(settings: ControllerSettings, deps: ControllerDeps) -> Self {
        let metrics = Arc::new(Metrics::new());
        let ticks = Arc::new(TickBoard::new(deps.clock.clone()));
        let (store, health) = tap_store(&deps, StoreLimits::default(), &metrics, &ticks);
        Controller {
            settings,
            deps,
            metrics,
            store,
            health,
            ticks,
            liveness_budget: None,
            notifier: None,
            status_client: None,
        }
    }

    /// The client the group tasks write FailoverGroup status with: `run` gives them one that
    /// keeps a bounded number of requests in flight, so that thousands of groups writing at once
    /// hold neither thousands of connections nor the Lease's renewals, which keep `deps.client`.
    pub fn with_status_client(mut self, client: kube::Client) -> Self {
        self.status_client = Some(client);
        self
    }

    /// Where the group agents' notifications go (docs/user-guide.md, "Notifications");
    /// `None` (the default): no notifications.
    pub fn with_notifier(mut self, notifier: Option<Arc<crate::notify::Notifier>>) -> Self {
        self.notifier = notifier;
        self
    }

    /// The liveness probe budget (`LIVENESS_BUDGET`: how long from `/healthz` failing until the
    /// restarted process heartbeats again); each group whose timings it cannot honour is
    /// reported. `None` (the default): not checked.
    pub fn with_liveness_budget(mut self, budget: Option<Duration>) -> Self {
        self.liveness_budget = budget;
        self
    }

    /// The request budget of every store call of this replica (`STORE_MAX_IN_FLIGHT`,
    /// `STORE_MAX_REQUESTS_PER_SECOND`). Call it before [`Controller::health`] and
    /// [`Controller::store`]: it replaces the store both hand out.
    pub fn with_store_limits(mut self, limits: StoreLimits) -> Self {
        let (store, health) = tap_store(&self.deps, limits, &self.metrics, &self.ticks);
        self.store = store;
        self.health = health;
        self
    }

    /// What `/healthz`, `/readyz` and `/metrics` serve.
    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    /// The store as the agents use it (counted, with the last snapshots).
    pub fn store(&self) -> Arc<TappedStore> {
        self.store.clone()
    }

    /// Checks that the API server answers and serves both CRDs.
    pub async fn check_api(&self) -> Result<(), ControllerError> {
        let client = self.deps.client.clone();
        if let Err(e) = client.apiserver_version().await {
            return Err(ControllerError::NoCluster {
                message: e.to_string(),
            });
        }
        let probe = ListParams::default().limit(1);
        let fgs: Api<FailoverGroup> = self.api();
        if let Err(e) = fgs.list_metadata(&probe).await {
            return Err(ControllerError::MissingCrd {
                resource: "failovergroups.kubectl-failover.io",
                message: e.to_string(),
            });
        }
        let fos: Api<Failover> = self.api();
        if let Err(e) = fos.list_metadata(&probe).await {
            return Err(ControllerError::MissingCrd {
                resource: "failovers.kubectl-failover.io",
                message: e.to_string(),
            });
        }
        Ok(())
    }

    fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
    {
        match &self.settings.namespace {
            Some(ns) => Api::namespaced(self.deps.client.clone(), ns),
            None => Api::all(self.deps.client.clone()),
        }
    }

    /// Runs until `shutdown` turns true; then stops every agent (locks released), gives up the
    /// Lease and returns. An error means a vital task stopped: exit non-zero to be restarted.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) -> Result<(), ControllerError> {
        let d = &self.deps;
        let (queue, events_rx) =
            EventQueue::with_capacity(EVENT_QUEUE_CAPACITY, self.metrics.events_dropped.clone());
        let instance = self.settings.leader_election.as_ref().map_or_else(
            || self.settings.cluster_name.clone(),
            |l| l.identity.clone(),
        );
        let publisher = EventPublisher::new(d.client.clone(), CONTROLLER_NAME, &instance);
        let publisher = tokio::spawn(publish_events(events_rx, publisher));

        let (lead_tx, mut leading) = watch::channel(self.settings.leader_election.is_none());
        let (elector_stop, elector_stop_rx) = watch::channel(false);
        // Without election the sender is kept here, so `leading` stays true and never closes.
        let mut lead_tx = Some(lead_tx);
        let mut leadership = Leadership::always(d.clock.clone());
        let elector = match (self.settings.leader_election.clone(), lead_tx.take()) {
            (Some(le), Some(tx)) => {
                let e =
                    LeaderElector::new(d.client.clone(), le, d.clock.clone(), self.metrics.clone());
                leadership = e.leadership();
                Some(tokio::spawn(e.run(tx, elector_stop_rx)))
            }
            (_, tx) => {
                lead_tx = tx;
                None
            }
        };
        if elector.is_none() {
            self.metrics.leader.set(1);
        }

        let ctx = Arc::new(Context {
            settings: self.settings.clone(),
            client: d.client.clone(),
            store: self.store.clone(),
            resources: d.resources.clone(),
            clock: d.clock.clone(),
            metrics: self.metrics.clone(),
            events: queue.clone(),
            supervisor: tokio::sync::Mutex::new(
                Supervisor::new(AgentDeps {
                    // Their store writes stop at the leadership deadline too (module doc of tap).
                    store: Arc::new(self.store.for_leader(leadership.clone())),
                    cluster: d.cluster.clone(),
                    clock: d.clock.clone(),
                    metrics: self.metrics.clone(),
                    events: queue,
                    client: self
                        .status_client
                        .clone()
                        .unwrap_or_else(|| d.client.clone()),
                    leadership: leadership.clone(),
                    ticks: self.ticks.clone(),
                    liveness_budget: self.liveness_budget,
                    status_writes: super::status_patch::status_write_turns(),
                })
                .with_notifier(self.notifier.clone()),
            ),
            reported_invalid: Mutex::new(HashSet::new()),
            leadership,
        });
        // No store call before leader election and the agents: with DynamoDB unreachable one
        // takes until the SDK gives up, and a restarted controller is what must switch a serving
        // cluster off by its agents' start deadline (chaos pass 5, seed 240). A standby probes
        // in its wait for leadership (`lead_loop`); a leader's agents call the store anyway.
        self.health.set_initialized();
        tracing::info!(cluster = %self.settings.cluster_name, "controller started");

        let result = self
            .lead_loop(&ctx, &mut leading, &mut shutdown, elector.as_ref())
            .await;
        ctx.supervisor.lock().await.stop_all().await;
        let _ = elector_stop.send(true);
        if let Some(elector) = elector {
            let _ = elector.await;
        }
        drop(ctx);
        drop(lead_tx);
        // The queue's senders are gone: the publisher ends once it has sent what is queued.
        let _ = tokio::time::timeout(Duration::from_secs(5), publisher).await;
        tracing::info!(cluster = %self.settings.cluster_name, "controller stopped");
        result
    }

    /// One cheap request (the operator's group listing), so `/readyz` tells whether the store
    /// answers even on a standby replica, whose agents make no requests.
    async fn probe_store(&self) {
        if let Err(e) = self.store.list_groups(&self.settings.operator_id).await {
            tracing::warn!(store = %self.store.describe(), "the store does not answer: {e}");
        }
    }

    /// Acts while leading; stops acting at once when leadership is lost; returns on shutdown.
    async fn lead_loop(
        &self,
        ctx: &Arc<Context>,
        leading: &mut watch::Receiver<bool>,
        shutdown: &mut watch::Receiver<bool>,
        elector: Option<&tokio::task::JoinHandle<()>>,
    ) -> Result<(), ControllerError> {
        let mut check = tokio::time::interval(Duration::from_secs(1));
        let mut probe = tokio::time::interval(STANDBY_PROBE);
        loop {
            // Standby: wait for leadership.
            while !*leading.borrow_and_update() {
                tokio::select! {
                    changed = leading.changed() => if changed.is_err() {
                        return Err(failed("leader election", "the election ended"));
                    },
                    _ = shutdown.changed() => return Ok(()),
                    _ = check.tick() => if elector.is_some_and(|e| e.is_finished()) {
                        return Err(failed("leader election", "the election task ended"));
                    },
                    // The probe must not hold up the wait: with DynamoDB unreachable it takes
                    // up to the SDK's operation timeout (30 s), and a replica handed the Lease
                    // meanwhile would start no agents, leaving its cluster unfenced.
                    _ = probe.tick() => tokio::select! {
                        _ = self.probe_store() => {}
                        _ = leading.changed() => {}
                        _ = shutdown.changed() => return Ok(()),
                    },
                }
                if *shutdown.borrow() {
                    return Ok(());
                }
            }
            if *shutdown.borrow() {
                return Ok(());
            }
            tracing::info!(cluster = %self.settings.cluster_name, "leading: watching FailoverGroups and Failovers");
            // The reconcile futures are dropped before any agent is stopped: one of them may hold
            // the supervisor's lock, and it is not polled any more once the loop has ended.
            let outcome = {
                let acting = self.act(ctx.clone());
                tokio::pin!(acting);
                loop {
                    tokio::select! {
                        _ = &mut acting => break Err(failed("reconcile", "the watch streams ended")),
                        changed = leading.changed() => if changed.is_err() || !*leading.borrow() {
                            break Ok(false);
                        },
                        _ = shutdown.changed() => break Ok(true),
                        _ = check.tick() => {
                            // try_lock: awaiting the lock here would stop polling the reconcile
                            // that holds it.
                            let failed_group = ctx.supervisor.try_lock().ok().and_then(|s| s.failed());
                            if let Some(group) = failed_group {
                                break Err(failed("group agent", &format!("the agent of {group} ended")));
                            }
                            if elector.is_some_and(|e| e.is_finished()) {
                                break Err(failed("leader election", "the election task ended"));
                            }
                        }
                    }
                }
            };
            match outcome {
                Ok(false) => {
                    tracing::warn!(cluster = %self.settings.cluster_name, "lost the leader Lease: stopping every agent");
                    ctx.supervisor.lock().await.stop_all().await;
                }
                Ok(true) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    /// The untyped API of `ar`, in the watched namespace or all of them.
    fn untyped_api(&self, ar: &ApiResource) -> Api<DynamicObject> {
        match &self.settings.namespace {
            Some(ns) => Api::namespaced_with(self.deps.client.clone(), ns, ar),
            None => Api::all_with(self.deps.client.clone(), ar),
        }
    }

    /// Both reconcile loops; runs until dropped (or the watches end). The objects are watched
    /// untyped and read one by one (`unreadable`), so one that breaks the schema stops no other.
    async fn act(&self, ctx: Arc<Context>) {
        let config = watcher::Config::default();
        let (group_ar, failover_ar) = (
            unreadable::api_resource::<FailoverGroup>(),
            unreadable::api_resource::<Failover>(),
        );
        // kube runs every due reconcile at once by default: at start-up that is one finalizer
        // patch per group, a thousand connections to the API server at 1,000 groups.
        let reconciles = || ControllerConfig::default().concurrency(RECONCILE_CONCURRENCY);
        let groups =
            watch_cache::slim_controller(self.untyped_api(&group_ar), config.clone(), group_ar)
                .with_config(reconciles())
                .run(unreadable::reconcile_group, error_policy, ctx.clone())
                .for_each(|r| async move { log_result("FailoverGroup", r) });
        let failovers =
            watch_cache::slim_controller(self.untyped_api(&failover_ar), config, failover_ar)
                .with_config(reconciles())
                .run(unreadable::reconcile_failover, error_policy, ctx)
                .for_each(|r| async move { log_result("Failover", r) });
        futures::future::join(groups, failovers).await;
    }
}

fn failed(task: &'static str, message: &str) -> ControllerError {
    ControllerError::TaskFailed {
        task,
        message: message.to_string(),
    }
}

fn log_result<T: std::fmt::Debug, E: std::fmt::Display>(kind: &str, r: Result<T, E>) {
    match r {
        Ok(obj) => tracing::trace!(kind, object = ?obj, "reconciled"),
        Err(e) => tracing::debug!(kind, "reconcile: {e}"),
    }
}

/// Retries: a refused withdrawal after [`groups::WITHDRAWAL_RETRY`], anything else after 5s.
pub fn error_policy<K>(obj: Arc<K>, err: &ReconcileError, _ctx: Arc<Context>) -> Action
where
    K: kube::ResourceExt,
{
    tracing::warn!(object = %obj.name_any(), "reconcile failed: {err}");
    match err {
        ReconcileError::Withdrawal(_) => Action::requeue(groups::WITHDRAWAL_RETRY),
        _ => Action::requeue(Duration::from_secs(5)),
    }
}
