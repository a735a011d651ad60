//! Model check of the coordination protocol with stateright: the REAL `protocol::step`, run by
//! 2 or 3 agents against a model of the table, explored breadth-first over every interleaving
//! and fault up to a time horizon, checking invariants 1-4 of docs/protocol.md in every state.
//! The clusters are of one of two kinds: simulated, with a serving-lease watchdog (the in-memory
//! backend), or Kubernetes, with none (`src/k8s/kube/`).
//!
//! Modelled (files under `tests/model_check/`):
//! - the table (`table.rs`): CONFIG, `CLUSTER#` records (heartbeatSeq, report, ack, fenced),
//!   LOCK, HISTORY, with each store operation's conditional semantics (`src/store/mod.rs`;
//!   `memory.rs` is the reference): CAS on version; lock acquired only when free, taken over
//!   only while it is exactly the observed lease, renewed and released by token; the guarded
//!   write checks version, token and history key, all or nothing; history is never overwritten.
//! - each agent (`agent.rs`), as the loop in `src/protocol/mod.rs` describes it: heartbeat (the
//!   previous decision's report, a sequence never reused), read (the LOCK when the previous
//!   decision says so), `Observations::observe`, `step` with `heartbeat_sent_at` = the last
//!   heartbeat known to have succeeded before the read was sent, the writes in order (stop at
//!   the first lost race; remember/forget the lock as the outcomes say), then converge: renew the
//!   serving lease with `serve_until` for PRIMARY, every action with the decision's epoch, no
//!   activation step at or after `serve_until`; `Decision::hold` when the read fails.
//! - each simulated cluster (`world.rs`): its four steps, the newest epoch applied (older
//!   actions are refused), and the watchdog that takes traffic off when the serving lease lapses
//!   (`ClusterActions::renew_serving_lease`).
//! - each Kubernetes cluster (`kube.rs`): no watchdog, so only an agent switches it off; the
//!   epoch stamped on each step's object (`kubectl-failover.io/epoch`), writes conditional on
//!   the object's `resourceVersion`, no memory of applied epochs outliving a process; and the
//!   three fixes of `src/agent/group/start.rs` and `src/k8s/kube/fencing.rs`, each a switch:
//!   F1, a restarted agent that has not read the group by `created + min(heartbeatInterval,
//!   serve window)` (its second tick) fences the cluster (the deactivation steps at epoch 0,
//!   held while reads fail); F2, every action stamps its epoch on each object whose stamp is
//!   older, also one already in the asked state (annotation only); F3, a deactivation is never
//!   refused by a newer stamp (kept). An activation is refused by a newer stamp.
//! - faults (`faults.rs`): crash (memory lost; a restart observes afresh), pause (the frozen process later
//!   carries out its old decision, possibly after a new process started: the fencing epoch must
//!   stop it), link cut (every store call fails, or only heartbeat writes), heal, delayed read
//!   replies (arriving intervals later), lost write replies (applied; the agent does not learn),
//!   writes or converges running into the next interval, lock and heartbeat leases lapsing as
//!   time passes, and a person's CONSISTENCY request (forced or not) via `request_transition`,
//!   read at time 1, whose compare-and-set lands at once or (a delay) at a later interval
//!   boundary, as a `promote` waiting at its confirmation prompt would. With `settings_change`
//!   (`settings_change.rs`), `timeouts.heartbeat` lowered from 12 to 4 intervals at time 1 or
//!   2, through a FailoverGroup (`sync_spec`, which keeps the superseded settings until the
//!   owner acknowledges) or written into CONFIG directly (which the check must catch). On Kubernetes a pause
//!   may also fall between an activation step's check (serving deadline not passed, stamp not
//!   newer, object off) and its write, which stays in flight with the `resourceVersion` read at
//!   the check and lands when the process wakes up: as checked if the object has not changed,
//!   else (409) read, checked and decided again against its current stamp.
//!
//! Abstracted away (so the numbers are finite and a run fits in CI time):
//! - time is whole heartbeat intervals: interval 1s, `timeouts.heartbeat` 4s, transitoryState
//!   7s (the smallest values `validate_timeouts` accepts: lease 3s, fence margin 2s), cool-down
//!   4s; each host's monotonic clock is the global clock plus its own origin (no rate drift);
//!   wall time in records is the global time plus the CONFIG version read in milliseconds, so
//!   history sort keys never collide (the known limit in Decisions 16 is not explored);
//! - a live process starts one tick per interval; workloads take no time (a converge is one
//!   step; the network is the last activation and the first deactivation step, which is what
//!   serving depends on); the cluster API always answers; health stays OK (no unhealthy-primary
//!   failover); no volume replications; UPTIME is not modelled (it serves twice by design);
//! - a person reads at time 1 only; fault and delay budgets per run; the check starts from the
//!   state after one fault-free tick of every agent at time 0 (every cluster has a record, a
//!   serves), so every path printed is a real run;
//! - partial-order reductions that drop no behaviour: restarts, heals and faults on an idle
//!   process happen at interval boundaries (they commute with the other agents' steps), and a
//!   converge that changes nothing happens in the step of its decision (`agent.rs`);
//! - Kubernetes only, what the fencing arithmetic assumes there: a process that is down
//!   (crashed, or paused) has been replaced by the next interval boundary (the kubelet restarts
//!   a crashed or stuck container within the restart budget, docs/controller.md; a process that
//!   never comes back cannot fence, and then invariant 1 cannot hold); every store call is
//!   bounded by one interval and the serving deadline (Decision 18), so a delayed read reply
//!   arrives in the next interval, or the read fails at the deadline, and a fresh agent's reply
//!   comes before its start deadline or not at all; a write in flight lands within two intervals
//!   of its check (the fence margin) or never; one object per step; the fresh agent's fence runs
//!   in the model step of the tick it starts.
//!
//! Properties (`properties.rs`): `always` invariants 1-4 plus "an ack is true when written";
//! `sometimes` witnesses per run (a planned and an automatic failover complete, a rollback, a
//! lock take-over, a stale action refused by its epoch, self-fencing, the fresh agent's fence,
//! a write in flight refused by a newer stamp), so no run is vacuous. Runs that must fail show
//! that the invariants can: a store without conditional writes, a group without self-fencing,
//! and on Kubernetes (`kubernetes.rs`), in the configuration of a run that holds with all fixes:
//! - without F1 (crash, then the link cut: `restart_cut_off`): the restarted agent never reads
//!   the group and leaves its cluster serving while the other takes over;
//! - without F2 (a pause between the check and the write of the network step, two delays,
//!   a planned failover: `paused_write`): the new process deactivates at the newer epoch, finds
//!   the network off and leaves its old stamp; the write checked before lands after the flip,
//!   next to the new owner;
//! - without F3 (`restart_cut_off`): the fresh agent's fence at epoch 0 is refused by the
//!   stamps of the decision that activated the cluster, which keeps serving;
//! - a write in flight for ever (no bound, all fixes): the paused process's network write lands
//!   after its successor, cut off from the store, fenced at epoch 0 (which stamps nothing it
//!   could be refused by) and after the other cluster took over; so the bound is needed.
//!
//! Each test prints the states explored and every property's result. `cargo test --release
//! --test model_check` runs the full bounds: about three and a half minutes on 2 cores (the
//! largest test a minute); the Kubernetes runs use smaller bounds than the simulated ones (2
//! clusters, 6-10 intervals, 1-2 faults) and run in release builds only. Debug builds (plain
//! `cargo test`, about 2.5 minutes) skip them and run the two largest simulated configurations
//! one interval shorter.

#[path = "model_check/agent.rs"]
mod agent;
#[path = "model_check/faults.rs"]
mod faults;
#[path = "model_check/kube.rs"]
mod kube;
#[path = "model_check/kubernetes.rs"]
mod kubernetes;
#[path = "model_check/model.rs"]
mod model;
#[path = "model_check/properties.rs"]
mod properties;
#[path = "model_check/run.rs"]
mod run;
#[path = "model_check/settings_change.rs"]
mod settings_change;
#[path = "model_check/table.rs"]
mod table;
#[path = "model_check/world.rs"]
mod world;

use properties::*;
use world::{Config, Kind};

/// A run with every fault kind enabled and no budget: each test sets its bounds.
fn config(clusters: usize, horizon: u64) -> Config {
    Config {
        clusters,
        horizon,
        max_faults: 0,
        max_delays: 0,
        crashes: true,
        pauses: true,
        partitions: true,
        promotions: true,
        forced_promotions: true,
        unconditional_writes: false,
        self_fencing: true,
        kind: Kind::Watchdog,
        late_write_bound: Some(2),
        settings_change: None,
        expect: &[],
    }
}

/// `release` in optimized builds, `debug` in debug builds (about 20 times slower), which run
/// smaller horizons and so witness fewer situations.
fn pick<T>(release: T, debug: T) -> T {
    if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}

#[test]
fn two_clusters_never_serve_together_through_crashes_pauses_partitions_and_delays() {
    let cfg = Config {
        max_faults: 1,
        max_delays: 1,
        expect: &[
            PLANNED_COMPLETES,
            LOCK_TAKEN_OVER,
            STALE_REFUSED,
            OWNER_FENCED,
        ],
        ..config(2, pick(7, 6))
    };
    let run = run::check("2 clusters, 1 fault, 1 delay", cfg);
    run.checker.assert_properties();
}

#[test]
fn two_clusters_fail_over_automatically_and_roll_back_through_two_crashes() {
    let cfg = Config {
        max_faults: 2,
        pauses: false,
        partitions: false,
        expect: &[AUTOMATIC_COMPLETES, ROLLED_BACK, LOCK_TAKEN_OVER],
        ..config(2, 10)
    };
    let run = run::check("2 clusters, 2 crashes", cfg);
    run.checker.assert_properties();
}

#[test]
fn three_clusters_fail_over_automatically_through_a_crash_or_a_cut_link() {
    let cfg = Config {
        max_faults: 1,
        pauses: false,
        promotions: false,
        expect: &[AUTOMATIC_COMPLETES, OWNER_FENCED],
        ..config(3, 9)
    };
    let run = run::check("3 clusters, automatic, 1 crash or cut link", cfg);
    run.checker.assert_properties();
}

#[test]
fn three_clusters_complete_a_planned_failover_through_a_crash() {
    let cfg = Config {
        max_faults: 1,
        pauses: false,
        partitions: false,
        // Completion takes 6 intervals: the debug horizon shows the flip only.
        expect: pick(
            &[PLANNED_COMPLETES, LOCK_TAKEN_OVER],
            &[OWNERSHIP_MOVES, LOCK_TAKEN_OVER],
        ),
        ..config(3, pick(6, 5))
    };
    let run = run::check("3 clusters, planned, 1 crash", cfg);
    run.checker.assert_properties();
}

#[test]
fn three_clusters_keep_every_invariant_through_racing_reads_and_writes() {
    let cfg = Config {
        expect: &[PLANNED_COMPLETES],
        ..config(3, 10)
    };
    let run = run::check("3 clusters, no faults", cfg);
    run.checker.assert_properties();
}

/// The check can fail: with a store whose writes check no condition, a person's request read
/// before an automatic failover lands after it, hands ownership back to the old owner, and the
/// old owner serves next to the new one. (With the real store that compare-and-set loses.)
#[test]
fn a_store_without_conditional_writes_lets_two_clusters_serve() {
    let cfg = Config {
        max_faults: 1,
        max_delays: 1,
        crashes: false,
        pauses: false,
        forced_promotions: false,
        unconditional_writes: true,
        ..config(2, 10)
    };
    let run = run::find("2 clusters, store without conditions", cfg, ONE_SERVER);
    let path = run.checker.discovery_text(ONE_SERVER);
    assert!(path.is_some(), "no two clusters served with a broken store");
}

/// The check can fail on the protocol's side too: a group with `selfFencing: false` (allowed
/// for stateless applications) keeps a cut-off owner serving while a forced failover activates
/// its successor, exactly as docs/protocol.md warns.
#[test]
fn an_owner_that_does_not_fence_itself_serves_next_to_its_successor() {
    let cfg = Config {
        max_faults: 1,
        crashes: false,
        pauses: false,
        promotions: false,
        self_fencing: false,
        ..config(2, 10)
    };
    let run = run::find("2 clusters, self-fencing off", cfg, ONE_SERVER);
    let path = run.checker.discovery_text(ONE_SERVER);
    assert!(
        path.is_some(),
        "no two clusters served without self-fencing"
    );
}
