//! Behaviour of `SimulatedCluster` on a ManualClock: action semantics and timing, fencing,
//! outages, health, and the serving timeline of several clusters.

use super::*;
use crate::clock::ManualClock;
use crate::k8s::simulated::{Overlap, ServingInterval, SimWorkload, VolumeRole};
use chrono::{DateTime, Utc};
use std::time::Duration;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn group() -> GroupId {
    GroupId::new("shop", "web").unwrap()
}

fn clock_and_log() -> (ManualClock, ServingLog) {
    let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let clock = ManualClock::starting_at(start);
    let log = ServingLog::new(Arc::new(clock.clone()));
    (clock, log)
}

fn cluster(
    name: &str,
    clock: &ManualClock,
    log: &ServingLog,
    spec: SimGroupSpec,
) -> SimulatedCluster {
    SimulatedCluster::new(name, Arc::new(clock.clone()), log.clone()).with_group(group(), spec)
}

/// Applies each action once and returns what each reported.
async fn run(c: &SimulatedCluster, actions: &[Action], epoch: u64) -> Vec<Progress> {
    let mut out = Vec::new();
    for a in actions {
        out.push(c.apply(&group(), *a, epoch).await.unwrap());
    }
    out
}

fn pending(s: &str) -> Progress {
    Progress::Pending(s.to_string())
}

/// The health of one component of the test group.
async fn component(c: &SimulatedCluster, name: &str) -> Health {
    c.health(&group()).await.unwrap().components[name].health
}

fn kinds(log: &ServingLog) -> Vec<(String, EventKind)> {
    log.events()
        .into_iter()
        .map(|e| (e.cluster, e.kind))
        .collect()
}

#[tokio::test]
async fn activation_in_order_serves_only_after_volumes_are_primary_and_replicas_are_ready() {
    let (clock, log) = clock_and_log();
    let a = cluster("a", &clock, &log, SimGroupSpec::web_app()); // ready 3 s, promote 2 s
    let g = group();
    assert_eq!(
        a.apply(&g, Action::PromoteVolumes, 1).await,
        Ok(pending("volume web-data: secondary -> primary"))
    );
    clock.advance(secs(1));
    assert_eq!(
        a.apply(&g, Action::PromoteVolumes, 1).await,
        Ok(pending("volume web-data: secondary -> primary"))
    );
    clock.advance(secs(1));
    assert_eq!(
        a.apply(&g, Action::PromoteVolumes, 1).await,
        Ok(Progress::Done)
    );
    assert_eq!(
        a.apply(&g, Action::ScaleUp, 1).await,
        Ok(pending("deployment/web: 0/3 ready"))
    );
    clock.advance(secs(1));
    assert_eq!(
        a.apply(&g, Action::ScaleUp, 1).await,
        Ok(pending("deployment/web: 1/3 ready"))
    );
    clock.advance(secs(2));
    assert_eq!(a.apply(&g, Action::ScaleUp, 1).await, Ok(Progress::Done));
    assert!(
        log.serving_now(&g).is_empty(),
        "nothing serves before NetworkOn"
    );
    let rest = run(&a, &[Action::ResumeJobs, Action::NetworkOn], 1).await;
    assert_eq!(rest, vec![Progress::Done, Progress::Done]);

    assert_eq!(log.serving_now(&g), vec!["a".to_string()]);
    let timeline: Vec<(Duration, EventKind)> =
        log.events().iter().map(|e| (e.at, e.kind)).collect();
    let want = vec![
        (secs(2), EventKind::VolumesPrimary),
        (secs(5), EventKind::ScaledUp),
        (secs(5), EventKind::JobsResumed),
        (secs(5), EventKind::ServingStarted),
    ];
    assert_eq!(timeline, want);
    let s = a.snapshot(&g).unwrap();
    assert_eq!((s.workloads[0].replicas, s.workloads[0].ready), (3, 3));
    assert_eq!(s.volumes[0].state, VolumeRole::Primary);
    assert!(!s.cronjobs_suspended && !s.flux_suspended && s.network_on);
    assert_eq!((s.flux_reconcile_requests, s.applied_epoch), (1, 1));
}

#[tokio::test]
async fn a_new_group_starts_fully_deactivated() {
    let (clock, log) = clock_and_log();
    let a = cluster("a", &clock, &log, SimGroupSpec::web_app());
    let s = a.snapshot(&group()).unwrap();
    assert_eq!((s.workloads[0].replicas, s.workloads[0].remembered), (0, 3));
    assert!(s.cronjobs_suspended && s.flux_suspended && !s.network_on);
    assert_eq!(s.volumes[0].state, VolumeRole::Secondary);
    assert_eq!(s.applied_epoch, 0);
    // Deactivating an already deactivated group is done at once and logs nothing.
    let got = run(&a, &Action::DEACTIVATE, 1).await;
    assert!(got.iter().all(|p| *p == Progress::Done));
    assert!(log.events().is_empty());
}

#[tokio::test]
async fn deactivation_remembers_and_restores_the_replica_count() {
    let (clock, log) = clock_and_log();
    let spec = SimGroupSpec {
        workloads: vec![SimWorkload::stateful_set("db", 3)],
        ..SimGroupSpec::web_app()
    };
    let a = cluster("a", &clock, &log, spec.instant());
    let g = group();
    let _ = run(&a, &Action::ACTIVATE, 1).await;
    // Someone scaled the running StatefulSet: that count, not the spec's, must come back.
    assert_eq!(a.set_workload_replicas(&g, "db", 5), Ok(true));
    let got = run(&a, &Action::DEACTIVATE, 1).await;
    assert!(got.iter().all(|p| *p == Progress::Done));
    let s = a.snapshot(&g).unwrap();
    let db = &s.workloads[0];
    assert_eq!((db.replicas, db.ready, db.remembered), (0, 0, 5));
    assert!(s.cronjobs_suspended && s.flux_suspended && !s.network_on);
    assert_eq!(s.volumes[0].state, VolumeRole::Secondary);

    let got = run(&a, &Action::ACTIVATE, 1).await;
    assert!(got.iter().all(|p| *p == Progress::Done));
    let db = &a.snapshot(&g).unwrap().workloads[0];
    assert_eq!((db.replicas, db.ready), (5, 5));
}

#[tokio::test]
async fn re_applying_actions_is_idempotent_and_does_not_restart_pending_work() {
    let (clock, log) = clock_and_log();
    let a = cluster("a", &clock, &log, SimGroupSpec::web_app());
    let g = group();
    // Re-applied every second like an agent's tick: each finishes on its original schedule.
    for _ in 0..2 {
        assert!(matches!(
            run(&a, &[Action::PromoteVolumes], 1).await[0],
            Progress::Pending(_)
        ));
        clock.advance(secs(1));
    }
    assert_eq!(
        run(&a, &[Action::PromoteVolumes], 1).await,
        vec![Progress::Done]
    );
    for _ in 0..3 {
        assert!(matches!(
            run(&a, &[Action::ScaleUp], 1).await[0],
            Progress::Pending(_)
        ));
        clock.advance(secs(1));
    }
    assert_eq!(run(&a, &[Action::ScaleUp], 1).await, vec![Progress::Done]);
    let _ = run(&a, &Action::ACTIVATE, 1).await;
    let (before, events) = (a.snapshot(&g), log.events().len());
    let again = run(&a, &Action::ACTIVATE, 1).await;
    assert!(again.iter().all(|p| *p == Progress::Done));
    assert_eq!(a.snapshot(&g), before);
    assert_eq!(log.events().len(), events, "a repeated step is logged once");
    assert_eq!(a.snapshot(&g).unwrap().flux_reconcile_requests, 1);
}

#[tokio::test]
async fn an_older_epoch_is_refused_and_changes_nothing() {
    let (clock, log) = clock_and_log();
    let a = cluster("a", &clock, &log, SimGroupSpec::web_app().instant());
    let g = group();
    let _ = run(&a, &Action::ACTIVATE, 5).await;
    let before = a.snapshot(&g);
    let got = a.apply(&g, Action::NetworkOff, 4).await;
    let want = ActionError::StaleEpoch {
        group: "shop/web".into(),
        action: Action::NetworkOff,
        epoch: 4,
        applied: 5,
    };
    assert_eq!(got, Err(want));
    assert_eq!(a.snapshot(&g), before);
    assert_eq!(log.serving_now(&g), vec!["a".to_string()]);
    let last = log.events().pop().unwrap().kind;
    assert!(matches!(
        last,
        EventKind::StaleEpochRefused {
            epoch: 4,
            applied: 5,
            ..
        }
    ));
    // The same epoch is accepted, a newer one is accepted and becomes the floor.
    assert_eq!(a.apply(&g, Action::NetworkOn, 5).await, Ok(Progress::Done));
    assert_eq!(a.apply(&g, Action::NetworkOff, 7).await, Ok(Progress::Done));
    assert_eq!(a.snapshot(&g).unwrap().applied_epoch, 7);
    assert!(a.apply(&g, Action::NetworkOn, 6).await.is_err());
    assert!(!a.is_serving(&g));
}

#[tokio::test]
async fn an_unreachable_api_refuses_everything_while_the_cluster_keeps_serving() {
    let (clock, log) = clock_and_log();
    let a = cluster("a", &clock, &log, SimGroupSpec::web_app());
    let g = group();
    let _ = run(&a, &[Action::PromoteVolumes], 1).await;
    clock.advance(secs(2));
    let _ = run(&a, &Action::ACTIVATE, 1).await; // ScaleUp now pending
    a.set_api_available(false);
    let got = a.apply(&g, Action::NetworkOff, 2).await;
    assert!(matches!(
        got,
        Err(ActionError::Unavailable {
            action: Some(Action::NetworkOff),
            ..
        })
    ));
    let got = a.health(&g).await;
    assert!(matches!(
        got,
        Err(ActionError::Unavailable { action: None, .. })
    ));
    assert!(a.has_volume_replications(&g).await.is_err());
    clock.advance(secs(3));
    assert_eq!(log.serving_now(&g), vec!["a".to_string()]);
    let s = a.snapshot(&g).unwrap();
    assert_eq!(
        s.workloads[0].ready, 3,
        "pods keep starting without the controller"
    );
    assert_eq!(s.applied_epoch, 1, "the refused epoch was not recorded");
    a.set_api_available(true);
    assert_eq!(a.apply(&g, Action::NetworkOff, 2).await, Ok(Progress::Done));
    assert!(log.serving_now(&g).is_empty());
}

#[tokio::test]
async fn health_follows_readiness_volume_roles_and_injected_overrides() {
    let (clock, log) = clock_and_log();
    let a = cluster("a", &clock, &log, SimGroupSpec::web_app()); // ready 3 s, promote 2 s
    let g = group();
    assert_eq!(
        a.health(&g).await.unwrap().overall(),
        Health::Ok,
        "a standby is healthy"
    );
    let _ = run(&a, &[Action::PromoteVolumes], 1).await;
    assert_eq!(component(&a, "volumes").await, Health::Degraded);
    clock.advance(secs(2));
    let _ = run(&a, &[Action::PromoteVolumes, Action::ScaleUp], 1).await;
    assert_eq!(component(&a, "volumes").await, Health::Ok);
    assert_eq!(component(&a, "workloads").await, Health::Error);
    clock.advance(secs(1));
    assert_eq!(component(&a, "workloads").await, Health::Degraded);
    clock.advance(secs(2));
    assert_eq!(a.health(&g).await.unwrap().overall(), Health::Ok);

    a.set_component_health_override(&g, "workloads", Some(Health::Error))
        .unwrap();
    let report = a.health(&g).await.unwrap();
    assert_eq!(report.overall(), Health::Error);
    assert!(report.components["workloads"].message.contains("injected"));
    a.set_component_health_override(&g, "workloads", None)
        .unwrap();
    assert_eq!(a.health(&g).await.unwrap().overall(), Health::Ok);
    let other = GroupId::new("shop", "other").unwrap();
    assert!(
        a.set_component_health_override(&other, "workloads", None)
            .is_err()
    );
}

#[tokio::test]
async fn a_volume_not_primary_under_running_workloads_or_stuck_is_an_error() {
    let (clock, log) = clock_and_log();
    let a = cluster("a", &clock, &log, SimGroupSpec::web_app().instant());
    let g = group();
    // Scaling up before promoting (the wrong order) runs workloads on a secondary volume.
    let _ = run(&a, &[Action::ScaleUp], 1).await;
    assert_eq!(
        a.health(&g).await.unwrap().components["volumes"].health,
        Health::Error
    );
    let _ = run(&a, &[Action::ScaleDown], 1).await;
    a.set_volume_stuck(&g, "web-data", true).unwrap();
    clock.advance(secs(60));
    let got = run(&a, &[Action::PromoteVolumes], 1).await;
    assert_eq!(got, vec![pending("volume web-data: secondary -> primary")]);
    let report = a.health(&g).await.unwrap();
    assert_eq!(report.components["volumes"].health, Health::Error);
    a.set_volume_stuck(&g, "web-data", false).unwrap();
    assert_eq!(
        run(&a, &[Action::PromoteVolumes], 1).await,
        vec![Progress::Done]
    );
}

#[tokio::test]
async fn has_volume_replications_follows_the_spec_and_refuses_unknown_groups() {
    let (clock, log) = clock_and_log();
    let a = cluster("a", &clock, &log, SimGroupSpec::web_app());
    let b = cluster("b", &clock, &log, SimGroupSpec::stateless());
    assert_eq!(a.has_volume_replications(&group()).await, Ok(true));
    assert_eq!(b.has_volume_replications(&group()).await, Ok(false));
    let other = GroupId::new("shop", "other").unwrap();
    assert!(a.has_volume_replications(&other).await.is_err());
    assert!(a.apply(&other, Action::ScaleUp, 1).await.is_err());
    assert_eq!(a.snapshot(&other), None);
}

#[tokio::test]
async fn two_clusters_serving_at_once_show_as_an_overlap() {
    let (clock, log) = clock_and_log();
    let a = cluster("a", &clock, &log, SimGroupSpec::web_app().instant());
    let b = cluster("b", &clock, &log, SimGroupSpec::web_app().instant());
    let _ = run(&a, &Action::ACTIVATE, 1).await;
    clock.advance(secs(2));
    let _ = run(&b, &Action::ACTIVATE, 2).await;
    clock.advance(secs(1));
    let _ = run(&a, &Action::DEACTIVATE, 2).await;
    let want = vec![Overlap {
        clusters: ("a".into(), "b".into()),
        from: secs(2),
        to: Some(secs(3)),
    }];
    assert_eq!(log.overlaps(&group()), want);
}

#[tokio::test]
async fn a_back_to_back_hand_over_has_no_overlap_and_correct_intervals() {
    let (clock, log) = clock_and_log();
    let a = cluster("a", &clock, &log, SimGroupSpec::web_app().instant());
    let b = cluster("b", &clock, &log, SimGroupSpec::web_app().instant());
    let _ = run(&a, &Action::ACTIVATE, 1).await;
    let _ = run(&b, &Action::DEACTIVATE, 1).await;
    clock.advance(secs(10));
    let _ = run(&a, &Action::DEACTIVATE, 2).await;
    let _ = run(&b, &Action::ACTIVATE, 2).await;
    let g = group();
    assert_eq!(log.overlaps(&g), Vec::new());
    let want = vec![
        ServingInterval {
            cluster: "a".into(),
            from: secs(0),
            to: Some(secs(10)),
        },
        ServingInterval {
            cluster: "b".into(),
            from: secs(10),
            to: None,
        },
    ];
    assert_eq!(log.serving_intervals(&g), want);
    let b_events: Vec<EventKind> = kinds(&log)
        .into_iter()
        .filter(|(c, _)| c == "b")
        .map(|(_, k)| k)
        .collect();
    assert_eq!(b_events.first(), Some(&EventKind::VolumesPrimary));
    assert_eq!(b_events.last(), Some(&EventKind::ServingStarted));
}

#[tokio::test]
async fn a_lapsed_serving_lease_takes_the_traffic_off_at_the_instant_it_lapsed() {
    let (clock, log) = clock_and_log();
    let c = cluster("a", &clock, &log, SimGroupSpec::stateless().instant());
    assert!(c.renew_serving_lease(&group(), secs(3)).await.unwrap());
    run(&c, &Action::ACTIVATE, 1).await;
    assert!(c.is_serving(&group()));
    // Renewed in time: still serving past the first deadline.
    clock.advance(secs(2));
    c.renew_serving_lease(&group(), secs(3)).await.unwrap();
    clock.advance(secs(2));
    assert!(c.is_serving(&group()), "renewed at 2s until 5s");
    // The agent dies: nobody renews, and nobody looks until long after the deadline.
    clock.advance(secs(10));
    c.watchdog();
    assert!(!c.is_serving(&group()));
    let intervals = log.serving_intervals(&group());
    assert_eq!(
        intervals,
        vec![ServingInterval {
            cluster: "a".into(),
            from: Duration::ZERO,
            to: Some(secs(5))
        }],
        "stamped when the lease lapsed, not when the watchdog looked"
    );
}

#[tokio::test]
async fn a_cluster_whose_api_is_unreachable_cannot_renew_and_stops_serving() {
    let (clock, log) = clock_and_log();
    let c = cluster("a", &clock, &log, SimGroupSpec::stateless().instant());
    c.renew_serving_lease(&group(), secs(3)).await.unwrap();
    run(&c, &Action::ACTIVATE, 1).await;
    c.set_api_available(false);
    assert!(c.renew_serving_lease(&group(), secs(3)).await.is_err());
    clock.advance(secs(4));
    assert!(!c.is_serving(&group()));
}

#[tokio::test]
async fn without_a_lease_the_watchdog_leaves_a_serving_cluster_alone() {
    let (clock, log) = clock_and_log();
    let c = cluster("a", &clock, &log, SimGroupSpec::stateless().instant());
    run(&c, &Action::ACTIVATE, 1).await;
    clock.advance(secs(3600));
    c.watchdog();
    assert!(c.is_serving(&group()));
    // Serving again after a lapse is announced again, and the stop after it only once.
    c.renew_serving_lease(&group(), secs(1)).await.unwrap();
    clock.advance(secs(2));
    c.watchdog();
    c.renew_serving_lease(&group(), secs(5)).await.unwrap();
    run(&c, &[Action::NetworkOn], 1).await;
    run(&c, &[Action::NetworkOff, Action::NetworkOff], 1).await;
    let serving: Vec<_> = kinds(&log)
        .into_iter()
        .filter(|(_, k)| matches!(k, EventKind::ServingStarted | EventKind::ServingStopped))
        .map(|(_, k)| k)
        .collect();
    assert_eq!(
        serving,
        [
            EventKind::ServingStarted,
            EventKind::ServingStopped,
            EventKind::ServingStarted,
            EventKind::ServingStopped
        ]
    );
}

#[tokio::test]
async fn a_lease_shortened_and_lapsed_while_only_another_group_is_touched_still_stops_at_its_deadline()
 {
    // The watchdog skips its sweep until the earliest deadline it knows of; a lease renewed for
    // less than before must move that moment earlier, or a lapse goes unnoticed.
    let (clock, log) = clock_and_log();
    let other = GroupId::new("shop", "other").unwrap();
    let c = cluster("a", &clock, &log, SimGroupSpec::stateless().instant());
    c.add_group(other.clone(), SimGroupSpec::stateless().instant());
    for g in [group(), other.clone()] {
        c.renew_serving_lease(&g, secs(60)).await.unwrap();
        for a in Action::ACTIVATE {
            let _progress = c.apply(&g, a, 1).await.unwrap();
        }
    }
    c.watchdog();
    c.renew_serving_lease(&group(), secs(2)).await.unwrap();
    clock.advance(secs(3));
    c.health(&other).await.unwrap();
    assert_eq!(
        log.serving_intervals(&group()),
        vec![ServingInterval {
            cluster: "a".into(),
            from: Duration::ZERO,
            to: Some(secs(2))
        }],
        "a call on another group must still stop this one at its deadline"
    );
}
