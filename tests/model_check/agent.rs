//! What an agent does, one model action at a time, following the loop in `src/protocol/mod.rs`:
//! heartbeat then read (either may fail), the reply arrives (observe + the real `step`), the
//! writes in order (each may lose its race or have its reply lost), then converge the cluster
//! (serving lease renewed for a PRIMARY decision, activation only before `serve_until`, every
//! action carrying the decision's epoch). Also crashes, pauses, restarts and a person's request.

use super::table::Outcome;
use super::world::{Agent, Cluster, Link, Stage, World, Zombie, name, policy};
use kubectl_failover::k8s::Action;
use kubectl_failover::protocol::{
    Decision, Intent, LocalFacts, LocalProgress, Observations, Role, TransitionRequest,
    request_transition, step,
};
use kubectl_failover::store::{ClusterState, ClusterStatus, FailoverMode, Health};
use std::time::Duration;

/// What every agent of a run shares.
pub struct Env {
    /// `Timings::lease` in intervals.
    pub lease: u64,
    /// The group's `selfFencing` policy.
    pub self_fencing: bool,
}

/// Agent `i`'s tick: its heartbeat write (carrying the previous decision's report; fails
/// unless the link is up), then its read (fails when the link is down: `Decision::hold`, the
/// previous role, no writes, fenced once `serve_until` has passed). The reply arrives at once
/// (observe + `step`) or, `delayed`, in a later interval (`arrive`).
pub fn start(w: &mut World, env: &Env, i: usize, delayed: bool) {
    let (now, mono) = (w.now, World::mono(i, w.now));
    let a = &mut w.agents[i];
    a.ticked_at = Some(now);
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
        if let Some(last) = &a.last {
            let mut held = last.hold(mono);
            held.notes.clear();
            a.last = Some(held.clone());
            a.stage = Stage::Converging { decision: held };
            converge_if_noop(w, i);
        }
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

/// The reply to agent `i`'s read arrives: observe it and call the real `step`.
pub fn arrive(w: &mut World, env: &Env, i: usize) {
    let (now, mono) = (w.now, World::mono(i, w.now));
    let a = &mut w.agents[i];
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
    converge_if_noop(w, i);
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
fn converge_if_noop(w: &mut World, i: usize) {
    let mono = World::mono(i, w.now);
    let a = &w.agents[i];
    let Stage::Converging { decision: d } = &a.stage else {
        return;
    };
    let c = &a.cluster;
    let lapsed = d.role.is_active() && d.serve_until.is_some_and(|u| mono >= u);
    if a.zombie.is_none() && c.converged(d.role) && d.epoch >= c.applied_epoch && !lapsed {
        converge(w, i);
    }
}

/// Executes one write for a process holding `lock`; returns whether to go on with the next.
fn execute(
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
        converge_if_noop(w, i);
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
    converge_if_noop(w, i);
}

/// Converges a cluster to a decision's role, as the agent does after its writes: renew the
/// serving lease with `serve_until` for PRIMARY, then every step in order with the decision's
/// epoch, starting no activation step at or after `serve_until`. Returns the progress to record.
fn converge_cluster(
    cluster: &mut Cluster,
    d: &Decision,
    mono: Duration,
    wall: chrono::DateTime<chrono::Utc>,
    mut progress: LocalProgress,
) -> LocalProgress {
    if d.role == Role::Primary
        && let Some(until) = d.serve_until
    {
        // `renew_serving_lease(until - now)`: never into the past.
        cluster.serve_deadline = Some(until.max(mono));
    }
    cluster.watchdog(mono);
    let active = d.role.is_active();
    let mut complete = true;
    for action in d.role.actions() {
        if active && d.serve_until.is_some_and(|u| mono >= u) {
            complete = false;
            break;
        }
        match cluster.apply(action, d.epoch) {
            None => {
                complete = false;
                break;
            }
            Some(true) if action == Action::NetworkOn => progress.network_on_at = Some(wall),
            Some(true) if action == Action::NetworkOff => progress.network_off_at = Some(wall),
            Some(_) => {}
        }
    }
    let done = complete && cluster.converged(d.role);
    progress.epoch = d.epoch;
    progress.activated = done && active;
    progress.deactivated = done && !active;
    progress
}

/// Agent `i` converges its cluster and ends its tick.
pub fn converge(w: &mut World, i: usize) {
    let (mono, wall) = (World::mono(i, w.now), World::wall(w.now, 0));
    let a = &mut w.agents[i];
    let Stage::Converging { decision } = std::mem::replace(&mut a.stage, Stage::Idle) else {
        return;
    };
    a.progress = converge_cluster(&mut a.cluster, &decision, mono, wall, a.progress.clone());
}

/// Agent `i`'s process stops: it crashed (all memory lost), or with `pause` it froze holding
/// its decision, which it may carry out later (`wake`) while a new process runs. Either way a
/// new process may start (`restart`); the cluster keeps running and its watchdog keeps watch.
pub fn stop(w: &mut World, i: usize, pause: bool) {
    w.faults += 1;
    let a = &mut w.agents[i];
    let stage = std::mem::replace(&mut a.stage, Stage::Idle);
    if pause {
        a.zombie = match stage {
            Stage::Writing { decision, next } => Some(Zombie {
                decision,
                next,
                lock: a.lock.clone(),
            }),
            Stage::Converging { decision } => Some(Zombie {
                next: decision.writes.len(),
                decision,
                lock: a.lock.clone(),
            }),
            // Paused after a tick that converged at once (see `converge_if_noop`): it would
            // converge again with the same decision.
            Stage::Idle => a.last.clone().map(|decision| Zombie {
                next: decision.writes.len(),
                decision,
                lock: a.lock.clone(),
            }),
            Stage::Reading { .. } => None,
        };
    }
    *a = Agent {
        up: false,
        obs: Observations::default(),
        lock: None,
        progress: LocalProgress::unknown(),
        heartbeat_ok_at: None,
        last: None,
        ..a.clone()
    };
}

/// A new process of agent `i` starts, knowing nothing (its heartbeat sequence continues).
pub fn restart(w: &mut World, i: usize) {
    w.agents[i].up = true;
}

/// Agent `i`'s paused process wakes up and carries out the rest of its old decision: its
/// writes (stopping at the first lost race), then its local steps. Then it is gone.
pub fn wake(w: &mut World, env: &Env, i: usize) {
    let Some(z) = w.agents[i].zombie.take() else {
        return;
    };
    let mut lock = z.lock.clone();
    let writes = if w.agents[i].link == Link::Down {
        &[][..]
    } else {
        &z.decision.writes[z.next..]
    };
    for intent in writes {
        if !execute(w, env, intent, &mut lock) {
            break;
        }
    }
    let (mono, wall) = (World::mono(i, w.now), World::wall(w.now, 0));
    let a = &mut w.agents[i];
    // The old process's idea of its progress dies with it.
    let _ = converge_cluster(
        &mut a.cluster,
        &z.decision,
        mono,
        wall,
        LocalProgress::unknown(),
    );
}

/// A person asks for a CONSISTENCY transition to `target`: reads the group and builds the
/// request with `request_transition`; its compare-and-set lands at once or, `late`, at a later
/// interval boundary (`land_request`). Returns false when `request_transition` refuses.
pub fn promote(w: &mut World, target: usize, force: bool, late: bool) -> bool {
    let snap = w.table.snapshot(false);
    let request = TransitionRequest {
        target: name(target),
        mode: FailoverMode::Consistency,
        force,
        reason: "planned".into(),
        initiator: "person".into(),
        id: "planned".into(),
        wall_now: World::wall(w.now, snap.config.version),
        has_volume_replications: false,
        automatic: false,
    };
    let Ok(config) = request_transition(&snap, &request) else {
        return false;
    };
    w.request = Some((snap.config.version, config));
    if late {
        w.delays += 1;
    } else {
        land_request(w);
    }
    true
}

/// The person's compare-and-set lands (and loses if CONFIG changed since the read).
pub fn land_request(w: &mut World) {
    if let Some((expected, config)) = w.request.take() {
        let _ = w.table.update_config(expected, &config, &mut w.breaches);
    }
}

/// Cuts agent `i`'s link (`Link::Down` or `Link::NoHeartbeats`), or heals it (`Link::Up`).
pub fn set_link(w: &mut World, i: usize, link: Link) {
    if link != Link::Up {
        w.faults += 1;
    }
    w.agents[i].link = link;
}

/// Time moves on one interval; a process still writing or converging costs a delay; every
/// cluster's watchdog acts.
pub fn tick(w: &mut World) {
    let late = w.agents.iter().filter(|a| a.up && a.is_mid_tick()).count();
    w.delays += u8::try_from(late).expect("few agents");
    w.now += 1;
    for (i, a) in w.agents.iter_mut().enumerate() {
        a.cluster.watchdog(World::mono(i, w.now));
    }
}
