//! The controller's group task at rest: what every group holds between its ticks.

use super::*;
use crate::agent::GroupSpec;
use crate::clock::ManualClock;
use crate::k8s::simulated::{ServingLog, SimGroupSpec, SimulatedCluster};
use crate::store::GroupConfig;
use crate::store::memory::MemoryStore;
use kube::Api;

/// A group's task as the supervisor builds it, on the memory store and a simulated cluster,
/// whose Kubernetes client has nothing behind it (these tests send nothing).
fn group_task() -> Box<GroupTask> {
    let clock = Arc::new(ManualClock::starting_at(chrono::Utc::now()));
    let group = GroupId::new("shop", "web").expect("group");
    let metrics = Arc::new(Metrics::new());
    let store = Arc::new(TappedStore::new(
        Arc::new(MemoryStore::new()),
        metrics.clone(),
    ));
    let cluster = SimulatedCluster::new("east", clock.clone(), ServingLog::new(clock.clone()))
        .with_group(group.clone(), SimGroupSpec::web_app().instant());
    let spec = GroupSpec {
        group: group.clone(),
        policy: Default::default(),
        bootstrap: GroupConfig::new("op", group.clone(), "east", clock.now()),
        settings_from_spec: false,
    };
    let agent = GroupAgent::new(
        spec,
        store.clone(),
        Arc::new(cluster),
        clock.clone(),
        Arc::new(()),
    )
    .expect("agent");
    let (service, _api) = tower_test::mock::pair::<
        http::Request<kube::client::Body>,
        http::Response<kube::client::Body>,
    >();
    let client = kube::Client::new(service, "default");
    let turns = super::super::status_patch::status_write_turns();
    Box::new(GroupTask {
        agent,
        store,
        clock: clock.clone(),
        metrics,
        writer: StatusWriter::new(Api::namespaced(client, "shop"), "web", None, turns),
        generation: Arc::new(AtomicI64::new(1)),
        interval: Duration::from_secs(15),
        self_fencing: false,
        leadership: Leadership::always(clock.clone()),
        ticks: Arc::new(TickBoard::new(clock)),
        liveness_budget: None,
        budget_reported: None,
        first_tick_delay: Duration::ZERO,
        notify: None,
    })
}

/// Every group's task rests in its sleep between ticks for almost all of its life: at 10,000
/// groups each byte of its future is 10 kB of the controller's memory. The tick's report and
/// the snapshot it read live only while the tick runs; without that every sleeping group held
/// both, and a copy of the snapshot's records on the heap.
#[tokio::test]
async fn a_resting_group_task_holds_neither_its_last_report_nor_the_snapshot_it_read() {
    let (_stop_tx, stop) = watch::channel(false);
    let resting = std::mem::size_of_val(&group_task().run(stop));
    let tick_data =
        std::mem::size_of::<TickReport>() + std::mem::size_of::<Option<GroupSnapshot>>();
    eprintln!("group task {resting} bytes; a tick's report and snapshot {tick_data}");
    assert!(
        resting < tick_data,
        "the resting group task is {resting} bytes: it holds the tick's report and snapshot ({tick_data} bytes) again"
    );
}

/// While DynamoDB or the API server does not answer, every group's task waits: in its tick for
/// the store, or with its status for a turn to write it. Each holds only that step's state
/// (before: 5,760 bytes for both together, whichever was waiting; 5.6 KiB a group, 55 MiB at
/// 10,000 groups, heaptrack in docs/benchmarks.md).
#[tokio::test]
async fn a_group_waiting_for_the_store_or_its_status_turn_holds_only_that_step() {
    let mut task = group_task();
    let tick = std::mem::size_of_val(&task.agent.tick());
    let status = crate::crd::FailoverGroupStatus::default();
    let write = std::mem::size_of_val(&task.write_status(
        &GroupId::new("shop", "web").expect("group"),
        status.clone(),
        Duration::from_secs(15),
    ));
    let turn = std::mem::size_of_val(&task.writer.write(status));
    eprintln!(
        "a tick {tick} bytes; a status write {write} bytes, and {turn} bytes waiting for its turn"
    );
    assert!(
        tick <= 1_280,
        "a tick holds {tick} bytes while it waits for the store"
    );
    assert!(
        write + turn <= 1_280,
        "a status write holds {write} + {turn} bytes while it waits for its turn"
    );
}
