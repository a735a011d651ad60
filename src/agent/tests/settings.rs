//! Settings changed while the group runs: an edited FailoverGroup reaches CONFIG through its
//! cluster's agent, the owner acknowledges it, and a heartbeat timeout lowered while the owner is
//! cut off does not let another cluster start while the owner still serves under the old one.

use super::*;
use crate::store::instrumented::InstrumentedStore;

/// The bootstrap with `timeouts.heartbeat` of `heartbeat` seconds (interval 1s).
fn spec_with_heartbeat(owner: &str, heartbeat: u64) -> GroupConfig {
    let mut c = bootstrap(owner);
    c.timeouts.heartbeat = Duration::from_secs(heartbeat).into();
    c
}

/// Two clusters, a and b, each with its own link to one shared table.
struct Pair {
    w: World,
    shared: Arc<MemoryStore>,
    links: [Arc<InstrumentedStore>; 2],
    clusters: [Arc<SimulatedCluster>; 2],
}

impl Pair {
    fn new() -> Pair {
        let w = World::new();
        let shared = Arc::new(MemoryStore::new());
        let link = |name| Arc::new(InstrumentedStore::new(shared.clone(), name));
        let links = [link("a"), link("b")];
        let clusters = [w.cluster("a"), w.cluster("b")];
        Pair {
            w,
            shared,
            links,
            clusters,
        }
    }

    /// The agent of cluster `i` (0: a, 1: b) whose FailoverGroup asks for `spec`.
    fn agent(&self, i: usize, spec: GroupConfig) -> GroupAgent {
        let spec = GroupSpec {
            group: gid(),
            policy: Default::default(),
            bootstrap: spec,
            settings_from_spec: true,
        };
        GroupAgent::new(
            spec,
            self.links[i].clone(),
            self.clusters[i].clone(),
            Arc::new(self.w.clock.clone()),
            self.w.sink.clone(),
        )
        .unwrap()
    }

    async fn config(&self) -> GroupConfig {
        let snap = self.shared.load_group(OP, &gid()).await.unwrap().unwrap();
        snap.config
    }

    /// Ticks both agents every 100ms of simulated time when due, for `span`.
    async fn run(&self, agents: &mut [GroupAgent; 2], span: Duration) {
        let end = self.w.clock.monotonic() + span;
        let mut due = [self.w.clock.monotonic(); 2];
        while self.w.clock.monotonic() < end {
            let now = self.w.clock.monotonic();
            for (i, agent) in agents.iter_mut().enumerate() {
                if now >= due[i] {
                    let _ = agent.tick().await;
                    due[i] = now + agent.next_tick_in();
                }
            }
            self.w.clock.advance(Duration::from_millis(100));
        }
    }
}

#[tokio::test]
async fn an_edited_failover_group_s_timings_reach_config_and_the_owner_acknowledges_them() {
    let p = Pair::new();
    let mut agents = [
        p.agent(0, spec_with_heartbeat("a", 5)),
        p.agent(1, spec_with_heartbeat("a", 5)),
    ];
    p.run(&mut agents, Duration::from_secs(3)).await;
    let cfg = p.config().await;
    assert_eq!(cfg.applied_specs.len(), 2, "{:?}", cfg.applied_specs);
    assert_eq!(cfg.superseded, None);

    // b's FailoverGroup is edited (the controller restarts its agent with the new spec).
    agents[1] = p.agent(1, spec_with_heartbeat("a", 8));
    let _ = agents[1].tick().await;
    let cfg = p.config().await;
    assert_eq!(cfg.timeouts.heartbeat.get(), Duration::from_secs(8));
    assert_eq!(
        cfg.superseded.map(|s| s.heartbeat.get()),
        Some(Duration::from_secs(5)),
        "kept until a has read the change"
    );
    // a's spec still says 5s, but it did not change: a does not undo b's edit. It is the owner:
    // it reads the change and acknowledges it.
    let _ = agents[0].tick().await;
    let cfg = p.config().await;
    assert_eq!(cfg.timeouts.heartbeat.get(), Duration::from_secs(8));
    assert_eq!(cfg.superseded, None);
    p.run(&mut agents, Duration::from_secs(3)).await;
    assert_eq!(
        p.config().await.timeouts.heartbeat.get(),
        Duration::from_secs(8)
    );
    assert!(p.clusters[0].is_serving(&gid()) && !p.clusters[1].is_serving(&gid()));
}

/// The owner a is cut off from the table; then `timeouts.heartbeat` is lowered from 10s to 4s,
/// through b's FailoverGroup (`via_spec`) or by writing CONFIG directly without the superseded
/// record, as a tool that does not know it would. Returns the serving overlaps seen.
async fn lowered_while_the_owner_is_cut_off(via_spec: bool) -> Vec<crate::k8s::simulated::Overlap> {
    let p = Pair::new();
    let mut agents = [
        p.agent(0, spec_with_heartbeat("a", 10)),
        p.agent(1, spec_with_heartbeat("a", 10)),
    ];
    p.run(&mut agents, Duration::from_secs(3)).await;
    assert!(p.clusters[0].is_serving(&gid()));
    p.links[0].set_partitioned(true);
    if via_spec {
        agents[1] = p.agent(1, spec_with_heartbeat("a", 4));
    } else {
        let cfg = p.config().await;
        let mut edited = cfg.clone();
        edited.timeouts.heartbeat = Duration::from_secs(4).into();
        let _ = p.shared.update_config(cfg.version, &edited).await.unwrap();
    }
    p.run(&mut agents, Duration::from_secs(25)).await;
    let cfg = p.config().await;
    assert_eq!(cfg.timeouts.heartbeat.get(), Duration::from_secs(4));
    assert_eq!(cfg.owner_cluster, "b", "b took over in the end");
    assert!(p.clusters[1].is_serving(&gid()));
    p.w.log.overlaps(&gid())
}

#[tokio::test]
async fn a_heartbeat_timeout_lowered_while_the_owner_is_cut_off_waits_for_the_old_window() {
    let overlaps = lowered_while_the_owner_is_cut_off(true).await;
    assert_eq!(overlaps, Vec::new());
}

#[tokio::test]
async fn without_the_superseded_record_a_lowered_timeout_lets_the_standby_start_beside_the_owner() {
    // What the superseded record prevents (and what the previous code did with any change):
    // the cut-off owner serves for 10s - 2s after its last heartbeat, b takes over after 4s.
    let overlaps = lowered_while_the_owner_is_cut_off(false).await;
    assert!(!overlaps.is_empty(), "the check above could not fail");
}
