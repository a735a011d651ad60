//! One schedule, start to end: three clusters (in-memory API servers with pods, each with two
//! controller replicas under leader election, reaching moto through its own fault proxy), two
//! groups, the schedule's faults, the kubelet's liveness probe throughout; then the checker's
//! judgement of the journals, CONFIG samples and HISTORY.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kubectl_failover::store::{CoordinationStore, GroupId};
use serde_json::json;

use super::checker::{Frame, Recorded, Verdict, judge};
use super::faults::Rig;
use super::report;
use super::sampler::ConfigSampler;
use super::schedule::{API, CLUSTERS, REPLICAS, Schedule, WEB};
use super::timeline::{JOURNALED, Shape, steps};
use crate::e2e::fixtures::{self, DNS_ANNOTATION, NS, Timings};
use crate::e2e::proxy::CutProxy;
use crate::e2e::world::{OPERATOR, World};
use crate::support::moto;

/// The groups' timings: 1 s interval, 4 s heartbeat timeout, 4 s deactivation budget.
pub fn timings() -> Timings {
    Timings {
        interval: "1s",
        heartbeat: "4s",
        unhealthy: "3s",
        transitory: "20s",
        cooldown: "5s",
        deactivation: "4s",
    }
}

/// Served by exactly one cluster within this after the last fault: the longest heartbeat
/// timeout a spec edit may set (5 s) + the deactivation budget (4 s, which every takeover
/// after silence waits for since issue 12) + 3 heartbeat intervals + 2 s for the workloads to
/// start and the liveness probe to restart a stuck controller.
pub const BOUND: Duration = Duration::from_secs(5 + 4 + 3 + 2);

/// How long the run goes on after the bound, to see that the group stays served.
const SETTLE: Duration = Duration::from_secs(3);

/// The CONSISTENCY group of every cluster (tests/e2e/fixtures.rs).
pub const WEB_SHAPE: Shape = Shape {
    group: WEB,
    consistency: true,
    deployments: &[fixtures::DEPLOYMENT],
    statefulsets: &[fixtures::STATEFULSET],
    pod_apps: &[fixtures::DEPLOYMENT, fixtures::STATEFULSET],
    ingress: fixtures::INGRESS,
    annotation: DNS_ANNOTATION,
    host: fixtures::DNS_HOST,
    volume: Some(fixtures::VOLUME),
};

const API_HOST: &str = "api.example.com";

/// The UPTIME group.
pub const API_SHAPE: Shape = Shape {
    group: API,
    consistency: false,
    deployments: &[API],
    statefulsets: &[],
    pod_apps: &[API],
    ingress: API,
    annotation: DNS_ANNOTATION,
    host: API_HOST,
    volume: None,
};

/// What one schedule came to.
pub struct Outcome {
    pub schedule: Schedule,
    /// Per group.
    pub verdicts: BTreeMap<&'static str, Verdict>,
    /// Problems of the run itself (a panic, a setup that never converged).
    pub problems: Vec<String>,
    /// The readable timeline, for a failing schedule.
    pub timeline: String,
    /// Where the logs are.
    pub dir: String,
}

impl Outcome {
    /// Every violation and problem.
    pub fn failures(&self) -> Vec<String> {
        self.problems
            .iter()
            .cloned()
            .chain(self.verdicts.values().flat_map(|v| v.violations.clone()))
            .collect()
    }

    /// The slowest group's time to be served again after the last fault.
    pub fn recovered_after(&self) -> Option<Duration> {
        self.verdicts
            .values()
            .map(|v| v.recovered_after)
            .collect::<Option<Vec<_>>>()
            .and_then(|all| all.into_iter().max())
    }
}

fn api_objects(primary: &str, t: &Timings) -> Vec<serde_json::Value> {
    vec![
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": API, "namespace": NS, "labels": {"app": API}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": API}},
                "template": {
                    "metadata": {"labels": {"app": API}},
                    "spec": {
                        "terminationGracePeriodSeconds": 1,
                        "containers": [{"name": API, "image": "example.com/api:1.0"}],
                    },
                },
            },
        }),
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": API, "namespace": NS},
            "spec": {"rules": [{"host": API_HOST}]},
        }),
        json!({
            "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "FailoverGroup",
            "metadata": {"name": API, "namespace": NS},
            "spec": {
                "initialPrimary": primary,
                "heartbeatInterval": t.interval,
                "timeouts": {
                    "heartbeat": t.heartbeat, "unhealthyPrimary": t.unhealthy,
                    "transitoryState": t.transitory, "deactivation": t.deactivation,
                },
                "failoverCooldown": t.cooldown,
                "selfFencing": true,
                "defaultFailoverMode": "UPTIME",
                "workloads": [{"kind": "Deployment", "name": API}],
                "networkResources": [{
                    "kind": "Ingress", "name": API,
                    "activeAnnotations": {DNS_ANNOTATION: API_HOST},
                }],
            },
        }),
    ]
}

/// Each group served by exactly one cluster and running nowhere else, from the journals so
/// far (what the checker will judge, not what the controllers report).
fn settled(world: &World) -> bool {
    let journals: Vec<(&String, Vec<crate::apiserver::Written>)> = world
        .clusters
        .iter()
        .map(|(name, c)| (name, c.api.fake().map(|f| f.writes()).unwrap_or_default()))
        .collect();
    [&WEB_SHAPE, &API_SHAPE].iter().all(|shape| {
        let roles: Vec<_> = journals
            .iter()
            .filter_map(|(name, j)| steps(shape, name, j).pop().map(|s| s.role))
            .collect();
        roles.iter().filter(|r| r.served).count() == 1
            && roles.iter().filter(|r| r.running).count() == 1
    })
}

/// Runs schedule `seed`.
pub async fn run(seed: u64) -> Outcome {
    run_schedule(Schedule::generate(seed), &timings()).await
}

/// Runs `schedule` with the groups' `timings`.
pub async fn run_schedule(schedule: Schedule, timings: &Timings) -> Outcome {
    let seed = schedule.seed;
    let world = World::new(&format!("chaos-{seed}"), &CLUSTERS, "east", timings).await;
    let dir = world.dir.display().to_string();
    for c in world.clusters.values() {
        c.apply(fixtures::statefulset(schedule.db_grace));
        for obj in api_objects("west", timings) {
            c.apply(obj);
        }
        if let Some(fake) = c.api.fake() {
            fake.journal_writes(&JOURNALED);
        }
    }
    let samplers: Vec<(&'static str, ConfigSampler)> = [WEB, API]
        .iter()
        .map(|g| {
            let gid = GroupId::new(NS, g).expect("valid group id");
            (*g, ConfigSampler::start(&world.store, &world.table, gid))
        })
        .collect();
    let mut proxies = BTreeMap::new();
    for c in CLUSTERS {
        proxies.insert(c, CutProxy::start(&moto::endpoint()).await);
    }
    let mut rig = Rig::new(world, proxies);
    for c in CLUSTERS {
        for r in REPLICAS {
            rig.start(c, r);
        }
    }
    let mut problems = Vec::new();
    let converge_by = tokio::time::Instant::now() + Duration::from_secs(40);
    while !settled(&rig.world) {
        if tokio::time::Instant::now() > converge_by {
            problems.push("the clusters did not converge within 40 s of starting".to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let converged = Utc::now();
    let start = tokio::time::Instant::now();
    let mut events: Vec<(Duration, bool, usize)> = Vec::new();
    for (i, p) in schedule.faults.iter().enumerate() {
        events.push((p.start, true, i));
        if !p.span.is_zero() {
            events.push((p.end(), false, i));
        }
    }
    events.sort();
    let mut next_probe = start + Rig::probe_period();
    for (at, begin, i) in events {
        while start.elapsed() < at {
            if tokio::time::Instant::now() >= next_probe {
                rig.probe_all().await;
                next_probe += Rig::probe_period();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let fault = schedule.faults[i].fault.clone();
        if begin {
            rig.begin(i, &fault).await;
        } else {
            rig.end(i, &fault).await;
        }
    }
    rig.heal().await;
    let quiet = Utc::now();
    let quiet_at = tokio::time::Instant::now();
    // Watch until the bound has passed and the groups stayed settled for a while (or give up
    // at the bound plus the settling time).
    // The run ends at the moment of the journals the runner last judged: a write committed
    // after that moment (while the runner was still deciding) belongs to no judged run.
    let mut settled_since: Option<tokio::time::Instant> = None;
    let end = loop {
        let now = tokio::time::Instant::now();
        if now >= next_probe {
            rig.probe_all().await;
            next_probe += Rig::probe_period();
        }
        let observed = Utc::now();
        settled_since = match (settled(&rig.world), settled_since) {
            (true, None) => Some(now),
            (true, since) => since,
            (false, _) => None,
        };
        let stable = settled_since.is_some_and(|s| now - s >= SETTLE);
        if stable || now - quiet_at >= BOUND + SETTLE {
            break observed;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let frame = Frame {
        converged,
        quiet,
        end,
        bound: BOUND,
    };
    if let Some(p) = rig.world.panicked() {
        problems.push(p);
    }
    let mut verdicts = BTreeMap::new();
    let mut all_steps = Vec::new();
    for ((group, sampler), shape) in samplers.iter().zip([&WEB_SHAPE, &API_SHAPE]) {
        let mut group_steps = Vec::new();
        for (name, c) in &rig.world.clusters {
            let journal = c.api.fake().map(|f| f.writes()).unwrap_or_default();
            group_steps.extend(steps(shape, name, &journal));
        }
        let gid = GroupId::new(NS, group).expect("valid group id");
        let history = match rig.world.store.history(OPERATOR, &gid, 100, None).await {
            Ok(page) => page.records,
            Err(e) => {
                problems.push(format!("{group}: reading HISTORY after the run: {e}"));
                Vec::new()
            }
        };
        let recorded = Recorded {
            shape,
            steps: group_steps.clone(),
            configs: sampler.samples(),
            history,
        };
        if sampler.errors() > 0 {
            rig.log.push((
                end,
                format!(
                    "{group}: {} CONFIG samples failed to read",
                    sampler.errors()
                ),
            ));
        }
        verdicts.insert(*group, judge(&recorded, &frame));
        all_steps.extend(group_steps);
    }
    rig.world.kill_all().await;
    // moto keeps every table in memory and slows down as they pile up over a campaign.
    let _ = rig
        .world
        .store
        .client()
        .delete_table()
        .table_name(&rig.world.table)
        .send()
        .await;
    let timeline = report::timeline(&schedule, &frame, &all_steps, &rig.log);
    let _ = std::fs::write(format!("{dir}/timeline.txt"), &timeline);
    let outcome = Outcome {
        schedule,
        verdicts,
        problems,
        timeline,
        dir,
    };
    if !outcome.failures().is_empty() {
        // A failing schedule's controller logs are what its report points to.
        rig.world.keep_dir();
    }
    outcome
}

/// When a run's moments happened, relative to its convergence.
pub fn since(frame: &Frame, at: DateTime<Utc>) -> f64 {
    (at - frame.converged).num_milliseconds() as f64 / 1000.0
}
