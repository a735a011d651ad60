//! Leader election of the `run` controller on a coordination.k8s.io/v1 Lease: two replicas of
//! one cluster on one API server, only the holder of the Lease runs agents; the other takes
//! over when the first stops (at once after a graceful stop, after the Lease's duration after a
//! crash), and a leader whose Lease calls stop answering stops acting by the renew deadline.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "support/controller.rs"]
mod controller_support;

use controller_support::*;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use kubectl_failover::clock::SystemClock;
use kubectl_failover::crd::{FailoverGroup, GroupRole};
use kubectl_failover::k8s::simulated::ServingLog;
use kubectl_failover::store::memory::MemoryStore;
use kubectl_failover::store::{CoordinationStore, GroupId};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);
const LEASE: Duration = Duration::from_secs(3);

fn replica(identity: &str) -> kubectl_failover::controller::ControllerSettings {
    let mut s = settings("east");
    s.leader_election = Some(leader(identity, LEASE));
    s
}

fn is_leader(r: &Running) -> bool {
    r.metrics()
        .lines()
        .any(|l| l == "kubectl_failover_leader 1")
}

fn runs_group(r: &Running) -> bool {
    r.metrics()
        .lines()
        .any(|l| l == "kubectl_failover_groups 1")
}

async fn holder(server: &apiserver::FakeApiServer) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(server.client(), "kube-system");
    leases
        .get_opt("kubectl-failover-leader")
        .await
        .ok()??
        .spec?
        .holder_identity
}

async fn setup() -> (
    apiserver::FakeApiServer,
    Arc<dyn CoordinationStore>,
    ServingLog,
) {
    let server = api_server().await;
    let fgs: Api<FailoverGroup> = Api::namespaced(server.client(), NS);
    fgs.create(&PostParams::default(), &failover_group("web", "east"))
        .await
        .unwrap();
    let store: Arc<dyn CoordinationStore> = Arc::new(MemoryStore::new());
    (server, store, ServingLog::new(Arc::new(SystemClock::new())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lease_holder_acts_and_the_other_replica_takes_over_after_a_graceful_stop() {
    let (server, store, log) = setup().await;
    let a = start(&server, store.clone(), replica("pod-a"), &log);
    eventually(WAIT, "pod-a to lead", || async {
        (holder(&server).await.as_deref() == Some("pod-a") && runs_group(&a)).then_some(())
    })
    .await;
    let b = start(&server, store.clone(), replica("pod-b"), &log);
    // pod-b follows: it never acts while pod-a renews.
    tokio::time::sleep(LEASE * 2).await;
    assert!(is_leader(&a) && runs_group(&a));
    assert!(!is_leader(&b), "{}", b.metrics());
    assert!(!runs_group(&b), "{}", b.metrics());
    assert!(
        b.health.store.reachable(),
        "a standby checks the store too, so it is ready"
    );
    assert_eq!(
        b.health.liveness(),
        Ok(()),
        "a standby runs no agents: always live"
    );
    assert_eq!(
        a.health.liveness(),
        Ok(()),
        "the leader's agents keep ticking"
    );
    assert_eq!(holder(&server).await.as_deref(), Some("pod-a"));

    let stopped_at = Instant::now();
    a.stop().await.unwrap();
    let after_stop = holder(&server).await;
    assert_ne!(
        after_stop.as_deref(),
        Some("pod-a"),
        "a graceful stop releases the Lease (pod-b may have taken it already)"
    );
    eventually(WAIT, "pod-b to lead and run the group", || async {
        (holder(&server).await.as_deref() == Some("pod-b") && runs_group(&b)).then_some(())
    })
    .await;
    assert!(
        stopped_at.elapsed() < LEASE,
        "a released Lease is taken without waiting its duration ({:?})",
        stopped_at.elapsed()
    );
    let fgs: Api<FailoverGroup> = Api::namespaced(server.client(), NS);
    eventually(WAIT, "PRIMARY kept in status under pod-b", || async {
        let s = fgs.get("web").await.ok()?.status?;
        (s.role == Some(GroupRole::Primary)).then_some(())
    })
    .await;
    let snapshot = store
        .load_group(OP, &GroupId::new(NS, "web").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.config.owner_cluster, "east");
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_leader_is_replaced_only_after_its_lease_lapsed() {
    let (server, store, log) = setup().await;
    // pod-a runs on its own runtime, so that a crash can drop every one of its tasks at once.
    let config = server.config();
    let (a_store, a_log) = (store.clone(), log.clone());
    let (kill, killed) = std::sync::mpsc::channel::<()>();
    let pod_a = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let _running = rt.block_on(async move {
            let client = kube::Client::try_from(config).unwrap();
            start_with_client(client, a_store, replica("pod-a"), &a_log)
        });
        let _ = killed.recv();
        rt.shutdown_background();
    });
    eventually(WAIT, "pod-a to lead", || async {
        (holder(&server).await.as_deref() == Some("pod-a")).then_some(())
    })
    .await;
    let b = start(&server, store.clone(), replica("pod-b"), &log);
    tokio::time::sleep(LEASE).await;
    assert!(!is_leader(&b));

    // A crash: every task of pod-a is dropped, nothing is released.
    kill.send(()).unwrap();
    pod_a.join().unwrap();
    let crashed_at = Instant::now();
    eventually(WAIT, "pod-b to take the Lease over", || async {
        (holder(&server).await.as_deref() == Some("pod-b")).then_some(())
    })
    .await;
    assert!(
        crashed_at.elapsed() >= LEASE - Duration::from_millis(700),
        "taken over after {:?}, before the Lease's duration",
        crashed_at.elapsed()
    );
    eventually(WAIT, "pod-b to run the group", || async {
        runs_group(&b).then_some(())
    })
    .await;
    b.stop().await.unwrap();
}

/// A client for `server` whose requests to a path containing `/leases/` are never answered
/// while the returned switch is on (a stuck API server connection, as a partition leaves it);
/// every other request is forwarded to a plain client.
fn client_with_hanging_leases(
    server: &apiserver::FakeApiServer,
) -> (kube::Client, Arc<AtomicBool>) {
    use http::{Request, Response};
    use kube::client::Body;
    let hang = Arc::new(AtomicBool::new(false));
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let inner = server.client();
    let switch = hang.clone();
    tokio::spawn(async move {
        // Unanswered requests are kept (a dropped responder would answer with an error).
        let mut hung = Vec::new();
        while let Some((request, respond)) = handle.next_request().await {
            if switch.load(Ordering::SeqCst) && request.uri().path().contains("/leases/") {
                hung.push(respond);
                continue;
            }
            let inner = inner.clone();
            tokio::spawn(async move {
                match inner.send(request).await {
                    Ok(response) => respond.send_response(response),
                    Err(e) => respond.send_error(e),
                }
            });
        }
    });
    (kube::Client::new(service, "default"), hang)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_lease_calls_never_answer_stops_leading_by_the_renew_deadline() {
    let (server, store, log) = setup().await;
    let (client, hang) = client_with_hanging_leases(&server);
    let a = start_with_client(client, store.clone(), replica("pod-a"), &log);
    eventually(WAIT, "pod-a to lead and run the group", || async {
        (is_leader(&a) && runs_group(&a)).then_some(())
    })
    .await;

    hang.store(true, Ordering::SeqCst);
    let hung_at = Instant::now();
    let renew_deadline = LEASE * 2 / 3;
    eventually(renew_deadline * 3, "pod-a to stop leading", || async {
        (!is_leader(&a)).then_some(())
    })
    .await;
    assert!(
        hung_at.elapsed() <= renew_deadline + Duration::from_millis(300),
        "leadership ended {:?} after the Lease calls hung; the renew deadline is {renew_deadline:?}",
        hung_at.elapsed()
    );
    eventually(WAIT, "pod-a to stop its agents", || async {
        (!runs_group(&a)).then_some(())
    })
    .await;

    // The other replica takes the Lease once it lapsed, and pod-a never acts again meanwhile.
    let b = start(&server, store.clone(), replica("pod-b"), &log);
    eventually(WAIT, "pod-b to lead and run the group", || async {
        (holder(&server).await.as_deref() == Some("pod-b") && runs_group(&b)).then_some(())
    })
    .await;
    assert!(!is_leader(&a) && !runs_group(&a), "{}", a.metrics());
    // A stop with its Lease calls still hanging ends too (the release is bounded).
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_starts_while_the_store_does_not_answer_leads_and_runs_its_groups_at_once() {
    // Found by the chaos campaign (pass 5, seed 240): both of east's replicas were killed while
    // its path to DynamoDB reset connections; the restarted one sent a store probe before it
    // started leader election or any agent, and waited 1.5 s for it (until the SDK gave up).
    // Its agents fenced east that much later, after north had taken the group over: two
    // volumes primary. A restarted controller is the one thing that can switch a serving
    // cluster off; nothing may stand between its start and its agents' start deadline.
    let (server, store, log) = setup().await;
    let a_store = Arc::new(
        kubectl_failover::store::instrumented::InstrumentedStore::new(store.clone(), "pod-a"),
    );
    // Every call of pod-a's is accepted and never answered (a blackholed path), from its start.
    a_store.set_hanging(true);
    let started = Instant::now();
    let a = start(&server, a_store.clone(), replica("pod-a"), &log);
    eventually(LEASE * 2, "pod-a to lead and run the group", || async {
        (holder(&server).await.as_deref() == Some("pod-a") && runs_group(&a)).then_some(())
    })
    .await;
    assert!(
        started.elapsed() < LEASE,
        "pod-a started its agents {:?} after its own start",
        started.elapsed()
    );
    let _ = a.shutdown.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_replica_whose_store_probe_hangs_still_leads_at_once_when_the_lease_is_handed_over()
 {
    // Found by the chaos campaign (seed 254): the standby's periodic store probe ran inside the
    // loop that waits for leadership, so while DynamoDB did not answer (up to the SDK's 30 s)
    // a replica that had taken the Lease started no agents, and nobody finished fencing the
    // cluster its predecessor had begun to fence.
    let (server, store, log) = setup().await;
    let a = start(&server, store.clone(), replica("pod-a"), &log);
    eventually(WAIT, "pod-a to lead", || async {
        (holder(&server).await.as_deref() == Some("pod-a") && runs_group(&a)).then_some(())
    })
    .await;
    let b_store = Arc::new(
        kubectl_failover::store::instrumented::InstrumentedStore::new(store.clone(), "pod-b"),
    );
    let b = start(&server, b_store.clone(), replica("pod-b"), &log);
    tokio::time::sleep(LEASE * 2).await;
    assert!(!is_leader(&b), "{}", b.metrics());
    // From now on every call of pod-b's is accepted and never answered (a blackholed path);
    // its next store probe (every 15 s on a standby) hangs.
    b_store.set_hanging(true);
    tokio::time::sleep(Duration::from_secs(16)).await;
    let stopped_at = Instant::now();
    a.stop().await.unwrap();
    eventually(LEASE * 2, "pod-b to lead and run the group", || async {
        (holder(&server).await.as_deref() == Some("pod-b") && runs_group(&b)).then_some(())
    })
    .await;
    assert!(
        stopped_at.elapsed() < LEASE * 2,
        "pod-b started its agents {:?} after the handover",
        stopped_at.elapsed()
    );
    let _ = b.shutdown.send(true);
}
