//! A cluster without a serving watchdog, as the Kubernetes backend is: only the agent can switch
//! it off. A fresh agent that never reaches the store, a `health()` that never answers and an
//! `apply` that never answers must not keep it serving past its deadline, nor hold a tick.

use super::hung_cluster::{NoWatchdog, agent_on, bounded_tick, cut_off_until_fenced, serving};
use super::*;
use crate::k8s::Action;
use std::sync::atomic::Ordering;

// The bootstrap's heartbeat interval (tests/mod.rs) and serve window:
// `timeouts.heartbeat - 2 x heartbeatInterval` = 5s - 2s.
const INTERVAL: Duration = Duration::from_secs(1);
const WINDOW: Duration = Duration::from_secs(3);

#[tokio::test(start_paused = true)]
async fn a_primary_whose_health_never_answers_still_heartbeats_and_fences_by_its_deadline() {
    let w = World::new();
    let sim = w.cluster("a");
    let a = NoWatchdog::new(sim.clone());
    let mut agent = agent_on(&w, a.clone(), "a");
    for _ in 0..3 {
        let _ = bounded_tick(&mut agent).await;
        w.clock.advance(agent.next_tick_in());
    }
    assert!(sim.is_serving(&gid()));

    // The health read hangs: the heartbeat still goes out every tick and nothing fences.
    a.hang_health.store(true, Ordering::SeqCst);
    for _ in 0..5 {
        let r = bounded_tick(&mut agent).await;
        assert!(r.heartbeat_seq.is_some(), "{r:?}");
        assert_eq!(r.decision.as_ref().unwrap().role, Role::Primary, "{r:?}");
        assert_eq!(agent.last_tick_finished(), Some(w.clock.monotonic()));
        w.clock.advance(agent.next_tick_in());
    }
    let r = bounded_tick(&mut agent).await;
    let error = r.cluster_error.unwrap_or_default();
    assert!(error.contains("health") && error.contains("1s"), "{error}");
    assert!(sim.is_serving(&gid()));

    // Now the store is cut off too: the agent alone must switch the cluster off in time.
    let last_ok = w.clock.monotonic();
    w.store.set_partitioned(true);
    w.clock.advance(agent.next_tick_in());
    let mut fenced_at = None;
    for _ in 0..20 {
        let r = bounded_tick(&mut agent).await;
        if r.decision.as_ref().unwrap().role == Role::Fenced {
            fenced_at = Some(w.clock.monotonic());
            break;
        }
        assert!(sim.is_serving(&gid()));
        w.clock.advance(agent.next_tick_in());
    }
    let fenced_at = fenced_at.expect("the agent fenced its cluster");
    assert!(fenced_at <= last_ok + WINDOW, "{:?}", fenced_at - last_ok);
    assert!(!sim.is_serving(&gid()));
    assert!(
        a.applied().contains(&Action::NetworkOff),
        "{:?}",
        a.applied()
    );
    let stopped = w.log.serving_intervals(&gid())[0].to.unwrap();
    assert!(stopped <= last_ok + WINDOW, "{stopped:?}");
}

/// `a` serves as owner; then the store becomes unreachable and the agent is replaced (pod
/// restart, leadership moved): the fresh agent, when it was created, and how many actions the
/// cluster had seen by then.
async fn replaced_while_cut_off(
    w: &World,
    sim: &Arc<SimulatedCluster>,
    a: &Arc<NoWatchdog>,
) -> (GroupAgent, Duration, usize) {
    let mut old = agent_on(w, a.clone(), "a");
    for _ in 0..3 {
        let _ = bounded_tick(&mut old).await;
        w.clock.advance(old.next_tick_in());
    }
    assert!(sim.is_serving(&gid()));
    w.store.set_partitioned(true);
    drop(old);
    let _ = w.sink.take();
    let before = a.applied().len();
    let created = w.clock.monotonic();
    (agent_on(w, a.clone(), "a"), created, before)
}

#[tokio::test(start_paused = true)]
async fn a_fresh_agent_whose_first_tick_is_staggered_still_switches_its_cluster_off_by_its_deadline()
 {
    // Above `stagger::STAGGER_ABOVE` groups a first tick waits up to half an interval; the
    // deadline of the fresh agent's one attempt counts from its creation, not from that tick.
    let w = World::new();
    let sim = w.cluster("a");
    let a = NoWatchdog::new(sim.clone());
    let (mut fresh, created, before) = replaced_while_cut_off(&w, &sim, &a).await;
    let attempt = INTERVAL.min(WINDOW);
    let delay = crate::agent::stagger::first_tick_delay(&gid(), INTERVAL, 10_000);
    assert!(delay < INTERVAL / 2, "{delay:?}");
    // The longest wait the spread allows, whatever this group's own share is.
    w.clock.advance(INTERVAL / 2 - Duration::from_millis(1));
    let mut fenced_at = None;
    for _ in 0..20 {
        let r = bounded_tick(&mut fresh).await;
        if r.decision.as_ref().map(|d| d.role) == Some(Role::Fenced) {
            fenced_at = Some(w.clock.monotonic());
            break;
        }
        assert!(sim.is_serving(&gid()));
        w.clock.advance(fresh.next_tick_in());
    }
    assert_eq!(fenced_at, Some(created + attempt), "fenced late");
    assert!(!sim.is_serving(&gid()));
    assert_eq!(a.applied()[before..before + 4], Action::DEACTIVATE);
}

#[tokio::test(start_paused = true)]
async fn a_fresh_agent_that_never_reaches_the_store_switches_its_serving_cluster_off_after_one_bounded_attempt()
 {
    let w = World::new();
    let sim = w.cluster("a");
    let a = NoWatchdog::new(sim.clone());
    let (mut fresh, created, before) = replaced_while_cut_off(&w, &sim, &a).await;

    // Within its one bounded attempt (one interval, less than the window): nothing is known,
    // the cluster is left alone. An earlier incarnation's permission may have run out already,
    // so it does not wait for `created + window`.
    let attempt = INTERVAL.min(WINDOW);
    assert!(attempt < WINDOW);
    let mut fenced_at = None;
    for _ in 0..20 {
        let r = bounded_tick(&mut fresh).await;
        assert!(r.store_error.is_some(), "{r:?}");
        let now = w.clock.monotonic();
        if now < created + attempt {
            assert_eq!(r.decision, None, "{r:?}");
            assert!(sim.is_serving(&gid()));
            assert_eq!(a.applied().len(), before);
        } else {
            assert_eq!(r.decision.as_ref().unwrap().role, Role::Fenced, "{r:?}");
            let pending = r.pending.unwrap_or_default();
            assert!(
                pending.contains("could not reach the store since") && pending.contains("fenced"),
                "{pending}"
            );
            fenced_at = Some(now);
            break;
        }
        w.clock.advance(fresh.next_tick_in());
    }
    // It woke exactly at the deadline and deactivated in order.
    assert_eq!(fenced_at, Some(created + attempt));
    assert!(!sim.is_serving(&gid()));
    assert_eq!(a.applied()[before..before + 4], Action::DEACTIVATE);
    let events = kinds(&w.sink);
    assert!(
        events
            .iter()
            .any(|k| matches!(k, AgentEventKind::Fenced { .. })),
        "{events:?}"
    );

    // Still cut off: it stays fenced, with nothing more to do.
    w.clock.advance(fresh.next_tick_in());
    let r = bounded_tick(&mut fresh).await;
    assert_eq!(r.decision.as_ref().unwrap().role, Role::Fenced);
    assert!(r.converged && !sim.is_serving(&gid()));

    // Once a heartbeat and a read succeed, the owner serves again.
    w.store.set_partitioned(false);
    w.clock.advance(fresh.next_tick_in());
    let r = bounded_tick(&mut fresh).await;
    assert_eq!(r.decision.as_ref().unwrap().role, Role::Primary, "{r:?}");
    assert!(sim.is_serving(&gid()));
}

#[tokio::test(start_paused = true)]
async fn an_apply_that_never_answers_does_not_hold_the_tick_past_its_bound() {
    let w = World::new();
    let sim = w.cluster("a");
    let a = NoWatchdog::new(sim.clone());
    let mut agent = agent_on(&w, a.clone(), "a");

    // Activation: the first step hangs; the tick ends after one interval (the deadline is
    // further away), naming the step and the bound.
    a.hang_apply.store(true, Ordering::SeqCst);
    let started = tokio::time::Instant::now();
    let r = bounded_tick(&mut agent).await;
    let took = started.elapsed();
    assert!(took <= Duration::from_secs(1), "{took:?}");
    assert_eq!(r.decision.as_ref().unwrap().role, Role::Primary, "{r:?}");
    let error = r.cluster_error.unwrap_or_default();
    assert!(
        error.contains("PromoteVolumes") && error.contains("1s"),
        "{error}"
    );
    assert!(!r.converged);

    // Serving, then cut off from the store with the cluster's API hung: every fencing call is
    // bounded by the interval and each tick ends.
    a.hang_apply.store(false, Ordering::SeqCst);
    w.clock.advance(agent.next_tick_in());
    let _ = bounded_tick(&mut agent).await;
    assert!(sim.is_serving(&gid()));
    a.hang_apply.store(true, Ordering::SeqCst);
    w.store.set_partitioned(true);
    let mut saw_fence_attempt = false;
    for _ in 0..10 {
        w.clock.advance(agent.next_tick_in());
        let started = tokio::time::Instant::now();
        let r = bounded_tick(&mut agent).await;
        // Each of the four deactivation steps may take its bound, before the store calls and
        // again in the tick's own convergence.
        assert!(started.elapsed() <= Duration::from_secs(9), "{r:?}");
        let error = r.cluster_error.unwrap_or_default();
        if r.decision.as_ref().unwrap().role == Role::Fenced {
            assert!(error.contains("NetworkOff"), "{error}");
            saw_fence_attempt = true;
        }
    }
    assert!(saw_fence_attempt);
    // Once the API answers again the fence completes.
    a.hang_apply.store(false, Ordering::SeqCst);
    w.clock.advance(agent.next_tick_in());
    let _ = bounded_tick(&mut agent).await;
    assert!(!sim.is_serving(&gid()));
}

#[tokio::test(start_paused = true)]
async fn a_fresh_agent_whose_health_never_answers_still_writes_its_first_heartbeat() {
    let w = World::new();
    let sim = w.cluster("a");
    let a = NoWatchdog::new(sim.clone());
    a.hang_health.store(true, Ordering::SeqCst);
    let mut agent = agent_on(&w, a.clone(), "a");
    let r = bounded_tick(&mut agent).await;
    assert!(r.heartbeat_seq.is_some(), "{r:?}");
    assert_eq!(r.decision.as_ref().unwrap().role, Role::Primary);
    let snap = w.store.load_group(OP, &gid()).await.unwrap().unwrap();
    let own = snap
        .clusters
        .iter()
        .find(|c| c.cluster_name == "a")
        .unwrap();
    // Nothing answered yet: neither OK nor ERROR.
    assert_eq!(own.health, crate::store::Health::Degraded, "{own:?}");
    // The read that timed out is in the next heartbeat: the cluster's API does not answer.
    w.clock.advance(agent.next_tick_in());
    let _ = bounded_tick(&mut agent).await;
    let snap = w.store.load_group(OP, &gid()).await.unwrap().unwrap();
    let own = snap
        .clusters
        .iter()
        .find(|c| c.cluster_name == "a")
        .unwrap();
    assert_eq!(own.health, crate::store::Health::Error, "{own:?}");
}

#[tokio::test(start_paused = true)]
async fn a_fence_whose_network_step_is_refused_still_scales_down_suspends_and_demotes() {
    let w = World::new();
    let (_sim, a, mut agent) = serving(&w).await;
    // Cut off, with an admission webhook refusing the Ingress patch (istiod or ingress-nginx
    // down): the fence must still stop the workloads and demote the volumes.
    *a.refuse.lock().unwrap() = Some(Action::NetworkOff);
    let before = a.applied().len();
    let r = cut_off_until_fenced(&w, &mut agent).await;
    assert!(
        r.cluster_error
            .as_deref()
            .unwrap_or_default()
            .contains("denied"),
        "the refusal is reported: {r:?}"
    );
    assert!(
        !r.converged,
        "a deactivation past a failed step is not done"
    );
    let after: Vec<Action> = a.applied()[before..].to_vec();
    for step in [
        Action::ScaleDown,
        Action::SuspendJobs,
        Action::DemoteVolumes,
    ] {
        assert!(
            after.contains(&step),
            "{step:?} ran after the refused NetworkOff: {after:?}"
        );
    }
}
