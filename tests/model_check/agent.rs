//! What an agent does, one model action at a time, following the loop in `src/protocol/mod.rs`:
//! heartbeat then read (either may fail), the reply arrives (observe + the real `step`), the
//! writes in order (each may lose its race or have its reply lost), then converge the cluster
//! (serving lease renewed for a PRIMARY decision, activation only before `serve_until`, every
//! action carrying the decision's epoch); on a Kubernetes cluster (`kube.rs`) the fresh agent's
//! fence and reads bounded by the call budget. Faults and time are in `faults.rs`.

use super::kube;
use super::table::Outcome;
use super::world::{Cluster, Kind, Link, Stage, World, policy};
use kubectl_failover::k8s::Action;
use kubectl_failover::protocol::{Decision, Intent, LocalFacts, LocalProgress, Role, step};
use kubectl_failover::store::{ClusterState, ClusterStatus, Health};
use std::time::Duration;

/// What every agent of a run shares.
pub struct Env {
    /// `Timings::lease` in intervals.
    pub lease: u64,
    /// The group's `selfFencing` policy.
    pub self_fencing: bool,
    /// The clusters' kind.
    pub kind: Kind,
    /// See `Config::late_write_bound`.
    pub late_write_bound: Option<u64>,
}

impl Env {
    /// F1 applies: a Kubernetes cluster with the fresh agent's fence, and self-fencing on (the
    /// fence's window is the serve window, which self-fencing off does not have).
    fn fences_at_start(&self) -> bool {
        self.self_fencing && self.kind.fixes().is_some_and(|f| f.fence_at_start)
    }
}

/// Agent `i`'s tick: its heartbeat write (carrying the previous decision's report; fails
/// unless the link is up), then its read (fails when the link is down: `Decision::hold`, the
/// previous role, no writes, fenced once `serve_until` has passed). The reply arrives at once
/// (observe + `step`) or, `delayed`, in a later interval (`arrive`). F1: a process that has not
/// read the group since it started and whose first read failed fences its cluster first.
pub fn start(w: &mut World, env: &Env, i: usize, delayed: bool) {
    let (now, mono) = (w.now, World::mono(i, w.now));
    let a = &mut w.agents[i];
    a.ticked_at = Some(now);
    if a.last.is_none() && a.first_read_failed {
        // Its start deadline (`created + min(interval, serve window)`: one interval, so this
        // tick) passed without a read: the deactivation steps at epoch 0, before any store
        // call (`fence_before_the_store`); held while reads fail.
        let d = kube::fence_at_start();
        let wall = World::wall(now, 0);
        a.progress = converge_cluster(
            &mut a.cluster,
            env.kind,
            &d,
            mono,
            wall,
            a.progress.clone(),
            0,
        );
        a.last = Some(d);
        a.first_read_failed = false;
    }
    if a.link == Link::Up {
        a.seq += 1;
        let report = a.last.as_ref().map(|d| d.report.clone());
        let ack = report.as_ref().and_then(|r| r.ack.clone());
        if ack.is_some() && !a.cluster.converged(Role::Standby) {
            w.breaches.false_ack = true;
        }
        w.table.put_status(ClusterStatus {
            cluster_name: a.name.clone(),
            health: Health::Ok,
            state: report.as_ref().map_or(ClusterState::Standby, |r| r.state),
            last_heartbeat: Some(World::wall(now, 0)),
            heartbeat_seq: Some(a.seq),
            components: Default::default(),
            ack,
            fenced: report.as_ref().is_some_and(|r| r.fenced),
        });
        a.heartbeat_ok_at = Some(mono);
    }
    if a.link == Link::Down {
        if a.last.is_some() {
            hold(w, env, i);
        } else {
            a.first_read_failed = env.fences_at_start();
        }
        return;
    }
    if delayed && a.last.is_none() && env.fences_at_start() {
        // A fresh agent's calls never run past its start deadline, the next interval boundary:
        // a reply that would come later is a failed read.
        w.delays += 1;
        a.first_read_failed = true;
        return;
    }
    let with_lock = a.last.as_ref().is_none_or(|d| d.read_lock_next);
    a.stage = Stage::Reading {
        sent: now,
        snapshot: Box::new(w.table.snapshot(with_lock)),
        with_lock,
        heartbeat_sent_at: a.heartbeat_ok_at,
    };
    if delayed {
        w.delays += 1;
    } else {
        arrive(w, env, i);
    }
}

/// A failed read: `Decision::hold` of the previous decision, converged.
fn hold(w: &mut World, env: &Env, i: usize) {
    let mono = World::mono(i, w.now);
    let a = &mut w.agents[i];
    if let Some(last) = &a.last {
        let mut held = last.hold(mono);
        held.notes.clear();
        a.last = Some(held.clone());
        a.stage = Stage::Converging { decision: held };
        converge_if_noop(w, env, i);
    }
}

/// The reply to agent `i`'s read arrives: observe it and call the real `step`. On Kubernetes a
/// delayed reply arrives in the next interval (every store call is bounded by one interval,
/// `GroupAgent::call_budget`), unless the serving deadline of a PRIMARY came first: the read
/// was cut there and failed.
pub fn arrive(w: &mut World, env: &Env, i: usize) {
    let (now, mono) = (w.now, World::mono(i, w.now));
    let a = &mut w.agents[i];
    let past_deadline = a
        .last
        .as_ref()
        .is_some_and(|d| d.role.is_active() && d.serve_until.is_some_and(|u| mono >= u));
    if env.kind != Kind::Watchdog && past_deadline {
        a.stage = Stage::Idle;
        hold(w, env, i);
        return;
    }
    let Stage::Reading {
        snapshot,
        with_lock,
        heartbeat_sent_at,
        ..
    } = std::mem::replace(&mut a.stage, Stage::Idle)
    else {
        return;
    };
    a.obs.observe(&snapshot, with_lock, mono);
    let facts = LocalFacts {
        me: a.name.clone(),
        now: mono,
        wall_now: World::wall(now, snapshot.config.version),
        heartbeat_sent_at,
        lock: a.lock.clone(),
        progress: a.progress.clone(),
        has_volume_replications: false,
        // One tick per interval, so the time makes the id unique for this agent.
        new_id: format!("{}-auto-{now}", a.name),
    };
    let mut d = step(&policy(env.self_fencing), &snapshot, &a.obs, &facts);
    // Notes are for logs: nothing reads them back, and their durations would make states that
    // differ only in what a log line says.
    d.notes.clear();
    if a.last.as_ref().is_some_and(|l| d.epoch < l.epoch) {
        w.breaches.decision_epoch_went_back = true;
    }
    if d.forget_lock {
        a.lock = None;
    }
    a.last = Some(d.clone());
    a.stage = next_stage(d, 0);
    converge_if_noop(w, env, i);
}

fn next_stage(decision: Decision, next: usize) -> Stage {
    if next < decision.writes.len() {
        Stage::Writing { decision, next }
    } else {
        Stage::Converging { decision }
    }
}

/// A partial-order reduction: a converge that changes nothing on the cluster (every step already
/// in place, the epoch not stale, not past `serve_until`) touches no other agent and no
/// property, so it happens in the same model step as the decision's last write. It stays a step
/// of its own while a paused process of the agent could act on the same cluster in between.
/// (A pause between such a decision and its converge is `stop` on an idle process.)
fn converge_if_noop(w: &mut World, env: &Env, i: usize) {
    let mono = World::mono(i, w.now);
    let a = &w.agents[i];
    let Stage::Converging { decision: d } = &a.stage else {
        return;
    };
    let lapsed = d.role.is_active() && d.serve_until.is_some_and(|u| mono >= u);
    if a.zombie.is_none() && a.cluster.untouched_by(env.kind, d) && !lapsed {
        converge(w, env, i);
    }
}

/// Executes one write for a process holding `lock`; returns whether to go on with the next.
pub(super) fn execute(
    w: &mut World,
    env: &Env,
    intent: &Intent,
    lock: &mut Option<kubectl_failover::store::Lock>,
) -> bool {
    match w.table.execute(intent, w.now, env.lease, &mut w.breaches) {
        Outcome::Done(held) => {
            match intent {
                Intent::AcquireLock(_) | Intent::TakeOverLock { .. } | Intent::RenewLock { .. } => {
                    *lock = held;
                }
                Intent::ReleaseLock { .. } => *lock = None,
                _ => {}
            }
            true
        }
        Outcome::Lost { forget_lock } => {
            if forget_lock {
                *lock = None;
            }
            false
        }
    }
}

/// Agent `i` executes its next write. With `reply_lost` the table applies it but the agent
/// learns nothing (a store error), so it stops its list and keeps its old belief about the lock.
pub fn write(w: &mut World, env: &Env, i: usize, reply_lost: bool) {
    let Stage::Writing { decision, next } = std::mem::replace(&mut w.agents[i].stage, Stage::Idle)
    else {
        return;
    };
    if w.agents[i].link == Link::Down {
        // The store is unreachable: nothing is written, the list stops.
        w.agents[i].stage = Stage::Converging { decision };
        converge_if_noop(w, env, i);
        return;
    }
    if reply_lost {
        w.delays += 1;
    }
    let intent = decision.writes[next].clone();
    let mut lock = w.agents[i].lock.clone();
    let go_on = execute(w, env, &intent, &mut lock);
    if reply_lost {
        w.agents[i].stage = Stage::Converging { decision };
        return;
    }
    w.agents[i].lock = lock;
    w.agents[i].stage = if go_on {
        next_stage(decision, next + 1)
    } else {
        Stage::Converging { decision }
    };
    converge_if_noop(w, env, i);
}

/// Runs the steps `steps` of a decision's role in order with its epoch, as the converger does:
/// no activation step at or after `serve_until`, a stop at the first refused step. Returns
/// whether every one of them ran; a network change is noted in `progress`.
pub fn run_steps(
    cluster: &mut Cluster,
    kind: Kind,
    d: &Decision,
    mono: Duration,
    wall: chrono::DateTime<chrono::Utc>,
    progress: &mut LocalProgress,
    steps: std::ops::Range<usize>,
) -> bool {
    let active = d.role.is_active();
    for action in &d.role.actions()[steps] {
        if active && d.serve_until.is_some_and(|u| mono >= u) {
            return false;
        }
        match cluster.apply(kind, *action, d.epoch) {
            None => return false,
            Some(true) if *action == Action::NetworkOn => progress.network_on_at = Some(wall),
            Some(true) if *action == Action::NetworkOff => progress.network_off_at = Some(wall),
            Some(_) => {}
        }
    }
    true
}

/// Converges a cluster to a decision's role, as the agent does after its writes: renew the
/// serving lease with `serve_until` for PRIMARY (the simulated cluster's watchdog; Kubernetes
/// has none), then every step from `from` in order with the decision's epoch, starting no
/// activation step at or after `serve_until`. Returns the progress to record.
pub(super) fn converge_cluster(
    cluster: &mut Cluster,
    kind: Kind,
    d: &Decision,
    mono: Duration,
    wall: chrono::DateTime<chrono::Utc>,
    mut progress: LocalProgress,
    from: usize,
) -> LocalProgress {
    if kind == Kind::Watchdog
        && d.role == Role::Primary
        && let Some(until) = d.serve_until
    {
        // `renew_serving_lease(until - now)`: never into the past.
        cluster.serve_deadline = Some(until.max(mono));
    }
    cluster.watchdog(mono);
    let steps = from..d.role.actions().len();
    let complete = run_steps(cluster, kind, d, mono, wall, &mut progress, steps);
    let done = complete && cluster.converged(d.role);
    progress.epoch = d.epoch;
    progress.activated = done && d.role.is_active();
    progress.deactivated = done && !d.role.is_active();
    progress
}

/// Agent `i` converges its cluster and ends its tick.
pub fn converge(w: &mut World, env: &Env, i: usize) {
    let (mono, wall) = (World::mono(i, w.now), World::wall(w.now, 0));
    let a = &mut w.agents[i];
    let Stage::Converging { decision } = std::mem::replace(&mut a.stage, Stage::Idle) else {
        return;
    };
    let progress = a.progress.clone();
    a.progress = converge_cluster(&mut a.cluster, env.kind, &decision, mono, wall, progress, 0);
}
