//! The FailoverGroup reconcile and error policy of `run`, driven by kube's
//! `Controller::for_stream` from a synthetic watch stream (against the in-memory API server, the
//! memory store and a simulated cluster): shows what each watch event makes the controller do,
//! and pins the pitfall that a stream without the initial list's `InitDone` reconciles nothing.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "support/controller.rs"]
mod controller_support;

use apiserver::FakeApiServer;
use controller_support::*;
use futures::StreamExt;
use futures::channel::mpsc;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Resource, ResourceExt};
use kubectl_failover::clock::{Clock, SystemClock};
use kubectl_failover::controller::context::Context;
use kubectl_failover::controller::events::{EventQueue, Outgoing};
use kubectl_failover::controller::leadership::Leadership;
use kubectl_failover::controller::liveness::TickBoard;
use kubectl_failover::controller::metrics::Metrics;
use kubectl_failover::controller::run::error_policy;
use kubectl_failover::controller::status_patch::status_write_turns;
use kubectl_failover::controller::supervisor::{AgentDeps, Supervisor};
use kubectl_failover::controller::tap::TappedStore;
use kubectl_failover::controller::{ControllerSettings, FINALIZER, groups};
use kubectl_failover::crd::{FailoverGroup, GroupRole};
use kubectl_failover::k8s::simulated::{ServingLog, SimulatedCluster};
use kubectl_failover::store::memory::MemoryStore;
use kubectl_failover::store::{CoordinationStore, GroupId};
use serde_json::json;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

const WAIT: Duration = Duration::from_secs(30);
const ME: &str = "east";
/// Longer than half of both heartbeat timeouts used here: every (re)start of the agent warns.
const LEASE: Duration = Duration::from_secs(15);

type WatchEvent = watcher::Event<FailoverGroup>;

/// The reconcile loop of one replica, fed by hand instead of by a watch.
struct Driven {
    events: mpsc::UnboundedSender<Result<WatchEvent, watcher::Error>>,
    ctx: Arc<Context>,
    task: JoinHandle<()>,
    store: Arc<dyn CoordinationStore>,
    fgs: Api<FailoverGroup>,
    outgoing: tokio::sync::mpsc::Receiver<Outgoing>,
}

impl Driven {
    /// `Controller::for_stream` over the real reconcile and error policy, as `run` wires them.
    fn start(server: &FakeApiServer) -> Driven {
        let store: Arc<dyn CoordinationStore> = Arc::new(MemoryStore::new());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
        let cluster = Arc::new(SimulatedCluster::new(
            ME,
            clock.clone(),
            ServingLog::new(clock.clone()),
        ));
        let metrics = Arc::new(Metrics::new());
        let tapped = Arc::new(TappedStore::new(store.clone(), metrics.clone()));
        // The Events the controller would publish are read from its queue.
        let (queue, outgoing) = EventQueue::new();
        let client = server.client();
        // No election runs: this replica always leads.
        let leadership = Leadership::always(clock.clone());
        let ctx = Arc::new(Context {
            // Only the Lease duration is read by the reconcile (LeaseTooLong); no election runs.
            settings: ControllerSettings {
                leader_election: Some(leader(ME, LEASE)),
                ..settings(ME)
            },
            client: client.clone(),
            store: tapped.clone(),
            resources: Arc::new(SimResources(cluster.clone())),
            clock: clock.clone(),
            metrics: metrics.clone(),
            events: queue.clone(),
            supervisor: tokio::sync::Mutex::new(Supervisor::new(AgentDeps {
                store: tapped,
                cluster,
                clock: clock.clone(),
                metrics,
                events: queue,
                client: client.clone(),
                leadership: leadership.clone(),
                ticks: Arc::new(TickBoard::new(clock)),
                liveness_budget: None,
                status_writes: status_write_turns(),
            })),
            reported_invalid: Mutex::new(HashSet::new()),
            leadership,
        });
        let (events, rx) = mpsc::unbounded();
        let (reader, writer) = reflector::store();
        let trigger = rx.reflect(writer).applied_objects();
        let task = tokio::spawn(
            Controller::for_stream(trigger, reader)
                .run(groups::reconcile, error_policy, ctx.clone())
                .for_each(|_| async {}),
        );
        Driven {
            events,
            ctx,
            task,
            store,
            fgs: Api::namespaced(client, NS),
            outgoing,
        }
    }

    fn send(&self, event: WatchEvent) {
        self.events.unbounded_send(Ok(event)).unwrap();
    }

    /// What a watch starts with: the initial list, here of exactly `fg`.
    fn initial_list(&self, fg: &FailoverGroup) {
        self.send(WatchEvent::Init);
        self.send(WatchEvent::InitApply(fg.clone()));
        self.send(WatchEvent::InitDone);
    }

    /// Successful FailoverGroup reconciles so far.
    fn reconciled(&self) -> u64 {
        let text = self.ctx.metrics.encode();
        let line = r#"kubectl_failover_reconciles_total{kind="FailoverGroup",result="ok"} "#;
        text.lines()
            .find_map(|l| l.strip_prefix(line))
            .map_or(0, |n| n.trim().parse::<f64>().unwrap() as u64)
    }

    /// This cluster's CLUSTER# record of `shop/web`: its heartbeat sequence, if it has one.
    async fn heartbeat(&self) -> Option<u64> {
        let group = GroupId::new(NS, "web").unwrap();
        let snapshot = self.store.load_group(OP, &group).await.unwrap()?;
        let mine = snapshot
            .clusters
            .into_iter()
            .find(|c| c.cluster_name == ME)?;
        Some(mine.heartbeat_seq.unwrap_or(0))
    }

    /// The notes of the Warnings with `reason` queued since the last call.
    fn warnings(&mut self, reason: &str) -> Vec<String> {
        let mut notes = Vec::new();
        while let Ok(o) = self.outgoing.try_recv() {
            if o.event.reason == reason {
                notes.push(o.event.note.unwrap_or_default());
            }
        }
        notes
    }

    /// Ends the reconcile loop, then stops the agents (each releases its lock), as `run` does.
    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
        self.ctx.supervisor.lock().await.stop_all().await;
    }
}

async fn created_group(server: &FakeApiServer) -> FailoverGroup {
    let fgs: Api<FailoverGroup> = Api::namespaced(server.client(), NS);
    fgs.create(&PostParams::default(), &failover_group("web", ME))
        .await
        .unwrap()
}

fn has_finalizer(fg: &FailoverGroup) -> bool {
    fg.finalizers().iter().any(|f| f == FINALIZER)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_initial_list_starts_the_agent_a_change_restarts_it_and_a_deletion_withdraws_the_cluster()
 {
    let server = api_server().await;
    let fg = created_group(&server).await;
    let mut d = Driven::start(&server);

    // Initial list: finalizer first, then the agent heartbeats and mirrors its role.
    d.initial_list(&fg);
    eventually(WAIT, "east's heartbeat in the store", || async {
        d.heartbeat().await
    })
    .await;
    eventually(WAIT, "east PRIMARY in status", || async {
        let status = d.fgs.get("web").await.ok()?.status?;
        (status.role == Some(GroupRole::Primary)).then_some(())
    })
    .await;
    assert!(has_finalizer(&d.fgs.get("web").await.unwrap()));
    let started = d.warnings("LeaseTooLong");
    assert!(
        started.len() == 1 && started[0].contains("(4s)"),
        "{started:?}"
    );

    // A changed spec arrives as Apply: the agent restarts, built from the new settings.
    let reconciled = d.reconciled();
    // A merge patch: a get-then-replace would race the agent's status writes (409).
    let edit = json!({"spec": {
        "heartbeatInterval": "5s",
        "timeouts": {"heartbeat": "20s", "unhealthyPrimary": "5s", "transitoryState": "60s"}
    }});
    let changed = d
        .fgs
        .patch("web", &PatchParams::default(), &Patch::Merge(&edit))
        .await
        .unwrap();
    d.send(WatchEvent::Apply(changed.clone()));
    eventually(WAIT, "the change reconciled", || async {
        (d.reconciled() > reconciled).then_some(())
    })
    .await;
    let restarted = d.warnings("LeaseTooLong");
    assert!(
        restarted.len() == 1 && restarted[0].contains("(20s)"),
        "{restarted:?}"
    );
    // The same object again changes nothing: no restart, no warning.
    let reconciled = d.reconciled();
    d.send(WatchEvent::Apply(changed));
    eventually(WAIT, "the repeat reconciled", || async {
        (d.reconciled() > reconciled).then_some(())
    })
    .await;
    assert_eq!(d.warnings("LeaseTooLong"), Vec::<String>::new());
    // The edited settings are brought into the group's CONFIG, which every cluster follows,
    // and the restarted agent keeps heartbeating.
    let group = GroupId::new(NS, "web").unwrap();
    let config = d
        .store
        .load_group(OP, &group)
        .await
        .unwrap()
        .unwrap()
        .config;
    assert_eq!(config.heartbeat_interval.get(), Duration::from_secs(5));
    assert_eq!(config.timeouts.heartbeat.get(), Duration::from_secs(20));
    let seq = d.heartbeat().await.unwrap();
    eventually(WAIT, "a heartbeat after the restart", || async {
        (d.heartbeat().await? > seq).then_some(())
    })
    .await;

    // Deletion: the API server keeps the object (finalizer) with a deletionTimestamp, and every
    // change of it comes back as Apply, as a watch would deliver it.
    d.fgs.delete("web", &DeleteParams::default()).await.unwrap();
    let deadline = Instant::now() + WAIT;
    let (mut sent, mut last) = (None, None);
    while let Some(fg) = d.fgs.get_opt("web").await.unwrap() {
        assert!(fg.meta().deletion_timestamp.is_some());
        if fg.resource_version() != sent {
            sent = fg.resource_version();
            last = Some(fg.clone());
            d.send(WatchEvent::Apply(fg));
        }
        assert!(Instant::now() < deadline, "the finalizer never ran");
        sleep(Duration::from_millis(100)).await;
    }
    d.send(WatchEvent::Delete(last.unwrap()));
    assert_eq!(d.heartbeat().await, None, "east's record is gone");
    sleep(Duration::from_secs(2)).await;
    assert_eq!(d.heartbeat().await, None, "no agent wrote it again");
    d.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_without_the_initial_lists_init_done_reconciles_nothing_until_it_comes() {
    let server = api_server().await;
    let fg = created_group(&server).await;
    let d = Driven::start(&server);

    // Apply alone: kube holds every reconcile until the reader's store is ready (InitDone).
    d.send(WatchEvent::Apply(fg.clone()));
    sleep(Duration::from_secs(3)).await;
    assert_eq!(d.reconciled(), 0);
    assert_eq!(d.heartbeat().await, None, "no agent ran");
    assert!(!has_finalizer(&d.fgs.get("web").await.unwrap()));

    d.initial_list(&fg);
    eventually(WAIT, "east's heartbeat in the store", || async {
        d.heartbeat().await
    })
    .await;
    assert!(has_finalizer(&d.fgs.get("web").await.unwrap()));
    d.stop().await;
}

/// A group reconciled without error waits for its next change, not for a timer: a timed
/// resync kept an entry per group in kube's scheduler (about 1.5 KiB each, 15 MiB at 10,000
/// groups, docs/benchmarks.md) and brought nothing a watch event does not (the agent runs on
/// its own; a task that ends unasked stops the process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconciled_group_waits_for_its_next_change_instead_of_a_timer() {
    let server = api_server().await;
    let fg = created_group(&server).await;
    let d = Driven::start(&server);
    let action = groups::reconcile(Arc::new(fg), d.ctx.clone())
        .await
        .unwrap();
    assert_eq!(action, Action::await_change());
    assert!(has_finalizer(&d.fgs.get("web").await.unwrap()));
    d.stop().await;
}
