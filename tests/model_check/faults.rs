//! What happens to an agent's process from outside its tick: crashes, pauses (on Kubernetes
//! also between an activation step's check and its write), restarts, wake-ups of paused
//! processes, cut and healed links, time passing, and a person's request.

use super::agent::{Env, converge_cluster, execute, run_steps};
use super::kube::InFlight;
use super::world::{Agent, HEARTBEAT, Kind, Link, SettingsChange, Stage, World, Zombie, name};
use kubectl_failover::protocol::{
    LocalProgress, Observations, SpecSync, TransitionRequest, request_transition, sync_spec,
};
use kubectl_failover::store::FailoverMode;

/// Agent `i`'s process stops: it crashed (all memory lost), or with `pause` it froze holding
/// its decision, which it may carry out later (`wake`) while a new process runs. Either way a
/// new process may start (`restart`); the cluster keeps running, and a simulated one's watchdog
/// keeps watch (a Kubernetes one has none: its next process must fence it).
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
                from_step: 0,
            }),
            Stage::Converging { decision } => Some(Zombie {
                next: decision.writes.len(),
                decision,
                lock: a.lock.clone(),
                from_step: 0,
            }),
            // Paused after a tick that converged at once (see `converge_if_noop`): it would
            // converge again with the same decision.
            Stage::Idle => a.last.clone().map(|decision| Zombie {
                next: decision.writes.len(),
                decision,
                lock: a.lock.clone(),
                from_step: 0,
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
        first_read_failed: false,
        ..a.clone()
    };
}

/// Agent `i`'s process, converging to PRIMARY on a Kubernetes cluster, runs the activation
/// steps before `step` and checks `step` (serving deadline not passed, stamp not newer, object
/// off), then freezes before that write lands: the write stays in flight with the
/// `resourceVersion` read at the check (`Cluster::in_flight`), and lands when the process wakes
/// up, which then goes on with the steps after it. False when the check does not pass there.
pub fn pause_in_step(w: &mut World, env: &Env, i: usize, step: usize) -> bool {
    let (mono, wall) = (World::mono(i, w.now), World::wall(w.now, 0));
    let Some(fixes) = env.kind.fixes() else {
        return false;
    };
    let a = &mut w.agents[i];
    let Stage::Converging { decision: d } = &a.stage else {
        return false;
    };
    // The deadline is checked before every activation step, this one's included.
    if !d.role.is_active() || d.serve_until.is_some_and(|u| mono >= u) {
        return false;
    }
    let d = d.clone();
    let mut progress = a.progress.clone();
    if !run_steps(
        &mut a.cluster,
        env.kind,
        &d,
        mono,
        wall,
        &mut progress,
        0..step,
    ) {
        return false;
    }
    let action = d.role.actions()[step];
    if !a.cluster.checks_and_switches_on(fixes, action, d.epoch) {
        return false;
    }
    a.cluster.in_flight = Some(InFlight {
        action,
        epoch: d.epoch,
        checked_at: w.now,
        object_changed: false,
    });
    stop(w, i, true);
    if let Some(z) = &mut w.agents[i].zombie {
        z.from_step = step + 1;
    }
    true
}

/// A new process of agent `i` starts, knowing nothing (its heartbeat sequence continues).
pub fn restart(w: &mut World, i: usize) {
    w.agents[i].up = true;
}

/// Agent `i`'s paused process wakes up and carries out the rest of its old decision: its
/// writes (stopping at the first lost race), its in-flight write (Kubernetes), then its local
/// steps from where it froze. Then it is gone.
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
    if let Some(fixes) = env.kind.fixes() {
        a.cluster.land(fixes);
    }
    // The old process's idea of its progress dies with it.
    let _ = converge_cluster(
        &mut a.cluster,
        env.kind,
        &z.decision,
        mono,
        wall,
        LocalProgress::unknown(),
        z.from_step,
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

/// A person lowers `timeouts.heartbeat` to `HEARTBEAT`: through b's FailoverGroup (b's agent
/// writes it with `sync_spec`, keeping the superseded settings) or by writing CONFIG directly.
pub fn change_settings(w: &mut World, how: SettingsChange) {
    w.settings_changed = true;
    let table = w.table.config.clone();
    let mut spec = table.clone();
    spec.timeouts.heartbeat = std::time::Duration::from_secs(HEARTBEAT).into();
    let next = match how {
        SettingsChange::RawEdit => spec,
        SettingsChange::ThroughSpec => {
            match sync_spec(&table, &spec, "b", World::wall(w.now, table.version)) {
                SpecSync::Write { config, .. } => *config,
                // A transition in flight: b tries again after it; the model does not.
                SpecSync::AfterTransition | SpecSync::InSync => return,
            }
        }
    };
    let _ = w.table.update_config(table.version, &next, &mut w.breaches);
}

/// Cuts agent `i`'s link (`Link::Down` or `Link::NoHeartbeats`), or heals it (`Link::Up`).
pub fn set_link(w: &mut World, i: usize, link: Link) {
    if link != Link::Up {
        w.faults += 1;
    }
    w.agents[i].link = link;
}

/// Time moves on one interval; a process still writing or converging costs a delay; every
/// cluster's watchdog acts. On Kubernetes, whose clusters have no watchdog, a process that is
/// down (crashed, or paused) has been replaced by the next interval boundary: the kubelet
/// restarts a crashed container at once, and the fencing arithmetic budgets for the restart;
/// and a write in flight past `Config::late_write_bound` never lands: its paused process is
/// gone.
pub fn tick(w: &mut World, env: &Env) {
    let late = w.agents.iter().filter(|a| a.up && a.is_mid_tick()).count();
    w.delays += u8::try_from(late).expect("few agents");
    w.now += 1;
    let now = w.now;
    for (i, a) in w.agents.iter_mut().enumerate() {
        a.cluster.watchdog(World::mono(i, now));
        if env.kind != Kind::Watchdog {
            a.up = true;
        }
        let expired = |f: &InFlight| env.late_write_bound.is_some_and(|b| now > f.checked_at + b);
        if a.cluster.in_flight.as_ref().is_some_and(expired) {
            a.cluster.in_flight = None;
            a.zombie = None;
        }
    }
}
