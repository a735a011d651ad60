//! A Kubernetes API server that answers, but slowly (a loaded control plane): the steps of a
//! fence share one heartbeat interval, so a slow step may use what the quick ones left, and the
//! fence completes in the tick that starts it instead of retrying the slow step forever.

use super::hung_cluster::{cut_off_until_fenced, serving};
use super::*;
use crate::k8s::Action;
use std::sync::atomic::Ordering;

const INTERVAL: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn a_fence_whose_scale_down_takes_longer_than_a_quarter_interval_still_completes() {
    let w = World::new();
    let (sim, a, mut agent) = serving(&w).await;

    // Scaling down answers after 400ms of the 1s interval (CI on bd9e9db: a loaded real
    // control plane took longer than a quarter interval to patch a Deployment); the other
    // steps answer at once. Then the store is cut off and the agent must fence.
    *a.slow.lock().unwrap() = Some((Action::ScaleDown, Duration::from_millis(400)));
    let r = cut_off_until_fenced(&w, &mut agent).await;
    assert_eq!(r.cluster_error, None, "no step ran out of time: {r:?}");
    assert!(r.converged, "the fence completed in its first tick: {r:?}");
    let state = sim.snapshot(&gid()).unwrap();
    assert!(!state.network_on, "{state:?}");
    assert!(
        state.workloads.iter().all(|w| w.replicas == 0),
        "every workload scaled to 0 in the tick that fenced: {state:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_fence_whose_every_step_hangs_gives_each_step_its_quarter_and_ends_within_the_interval() {
    let w = World::new();
    let (_sim, a, mut agent) = serving(&w).await;

    // Cut off while the API hangs: a hung NetworkOff must not take the time of the steps
    // after it, and the deactivation must not take longer than the interval.
    a.hang_apply.store(true, Ordering::SeqCst);
    let cut = a.attempts().len();
    let _ = cut_off_until_fenced(&w, &mut agent).await;
    let attempts = a.attempts()[cut..].to_vec();
    let first = attempts
        .iter()
        .position(|(action, _)| *action == Action::NetworkOff)
        .expect("the fence tried NetworkOff");
    let fence = &attempts[first..first + 4];
    let steps: Vec<Action> = fence.iter().map(|(action, _)| *action).collect();
    assert_eq!(steps, Action::DEACTIVATE, "{attempts:?}");
    let quarter = INTERVAL / 4;
    for pair in fence.windows(2) {
        let took = pair[1].1 - pair[0].1;
        assert_eq!(took, quarter, "{:?} was given {took:?}", pair[0].0);
    }
    let last = fence[3].1;
    let ended = attempts
        .get(first + 4)
        .map(|(_, at)| *at)
        .expect("the next deactivation started after this one ended");
    assert!(
        ended - last >= quarter,
        "DemoteVolumes was given {:?}",
        ended - last
    );
}
