//! The controller's group task at rest: what every group holds between its ticks.

use super::*;
use crate::agent::GroupSpec;
use crate::clock::ManualClock;
use crate::k8s::simulated::{ServingLog, SimGroupSpec, SimulatedCluster};
use crate::store::GroupConfig;
use crate::store::memory::MemoryStore;
use kube::Api;

/// Every group's task rests in its sleep between ticks for almost all of its life: at 10,000
/// groups each byte of its future is 10 kB of the controller's memory. The tick's report and
/// the snapshot it read live only while the tick runs; without that every sleeping group held
/// both, and a copy of the snapshot's records on the heap.
#[tokio::test]
async fn a_resting_group_task_holds_neither_its_last_report_nor_the_snapshot_it_read() {
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
    let task = GroupTask {
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
    };
    let (_stop_tx, stop) = watch::channel(false);
    let resting = std::mem::size_of_val(&Box::new(task).run(stop));
    let tick_data =
        std::mem::size_of::<TickReport>() + std::mem::size_of::<Option<GroupSnapshot>>();
    eprintln!("group task {resting} bytes; a tick's report and snapshot {tick_data}");
    assert!(
        resting < tick_data,
        "the resting group task is {resting} bytes: it holds the tick's report and snapshot ({tick_data} bytes) again"
    );
}
