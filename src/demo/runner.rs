//! Running the demo in real time: one agent task per cluster, the script's steps at their
//! times, the clusters' serving watchdog every 50 ms, and the timeline printed as it happens;
//! at the end (or on Ctrl-C) the agents stop cleanly, releasing their locks, and the summary and
//! the self-check are printed.

use super::collect::{Incoming, StampingSink, Timeline};
use super::event::{DemoEvent, FailoverInfo, What};
use super::print::Printer;
use super::schedule::{Kill, Promote, Step, schedule};
use super::summary::{GroupEnd, RequestRate, Summary};
use super::world::World;
use super::{DemoReport, DemoSettings, StoreKind, cluster_name, group_name};
use crate::agent::{Agent, AgentError};
use crate::config::StoreArgs;
use crate::duration::GoDuration;
use crate::error::Error;
use crate::k8s::simulated::{EventKind, ServingEvent};
use crate::ops::promote::{PromoteOutcome, PromoteRequest, request_promotion};
use crate::store::FailoverMode;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

/// How often the clusters' serving watchdog runs (a lapsed serving lease takes traffic off).
const WATCHDOG_EVERY: Duration = Duration::from_millis(50);
/// How often queued timeline lines are printed.
const PRINT_EVERY: Duration = Duration::from_millis(100);
/// The built-in tour: promote app-1 to cluster-2 at this time...
const TOUR_PROMOTE_AT: Duration = Duration::from_secs(5);
/// ...and kill cluster-2's agent at this time, for an automatic failover.
const TOUR_KILL_AT: Duration = Duration::from_secs(14);

type AgentTask = JoinHandle<Result<(), AgentError>>;

/// The script to run: the flags', or the built-in tour when none was given.
pub(super) fn script(settings: &DemoSettings) -> Vec<(Duration, Step)> {
    if settings.is_tour() {
        let promote = Promote {
            group: group_name(1),
            target: cluster_name(2),
            at: TOUR_PROMOTE_AT,
        };
        let kill = Kill {
            cluster: cluster_name(2),
            at: TOUR_KILL_AT,
        };
        schedule(&[kill], &[], &[promote])
    } else {
        schedule(&settings.kills, &settings.partitions, &settings.promotes)
    }
}

/// The first line: what runs.
fn opening(world: &World) -> String {
    let s = &world.settings;
    let d = |d: Duration| GoDuration(d).to_string();
    let stateful = world
        .groups
        .first()
        .map_or(String::new(), |g| g.id.to_string());
    let store = match s.store {
        StoreKind::Memory => "the embedded store".to_string(),
        StoreKind::Dynamodb => format!("{}, namespace {}", world.store.describe(), world.namespace),
    };
    let groups = match s.groups {
        1 => format!("1 group ({stateful}, stateful)"),
        n => format!("{n} groups ({stateful} stateful, the others stateless)"),
    };
    let setup = format!(
        "{} clusters, {groups}, heartbeat {} / timeout {}, running {} on {store}",
        s.clusters,
        d(s.interval),
        d(s.heartbeat_timeout),
        d(s.duration)
    );
    if s.is_tour() {
        format!(
            "Built-in tour (no --kill/--partition/--promote given): promote {stateful} to cluster-2 at {}, kill cluster-2 at {} -> automatic failover; {setup}",
            d(TOUR_PROMOTE_AT),
            d(TOUR_KILL_AT)
        )
    } else {
        let steps: Vec<String> = script(s)
            .iter()
            .map(|(at, step)| format!("{step} at {}", d(*at)))
            .collect();
        format!("Demo script: {}; {setup}", steps.join(", "))
    }
}

/// Runs the demo to the end (or Ctrl-C) and reports whether it kept the invariant.
pub async fn run(store_args: &StoreArgs, settings: &DemoSettings) -> Result<DemoReport, Error> {
    let world = World::build(store_args, settings).await?;
    let clock = world.clock.clone();
    let group_width = world
        .groups
        .iter()
        .map(|g| g.id.to_string().len())
        .max()
        .unwrap_or(0);
    let cluster_width = world
        .clusters
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    let mut printer = Printer::new(settings.format, cluster_width, group_width);
    let mut stdout = std::io::stdout();
    printer.push(DemoEvent {
        at: clock.monotonic(),
        cluster: None,
        group: None,
        what: What::Started {
            message: opening(&world),
            tour: settings.is_tour(),
        },
    });
    printer.flush_all(&mut stdout)?;

    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut serving = world.log.subscribe();
    let sink = Arc::new(StampingSink {
        clock: clock.clone(),
        tx: tx.clone(),
    });
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut agents: BTreeMap<String, AgentTask> = BTreeMap::new();
    for c in &world.clusters {
        let agent = Agent::new(
            world.group_specs(),
            c.store.clone(),
            c.sim.clone(),
            clock.clone(),
            sink.clone(),
        )
        .map_err(|e| Error::Internal(anyhow::Error::new(e)))?;
        agents.insert(c.name.clone(), tokio::spawn(agent.run(shutdown_rx.clone())));
    }

    let mut timeline = Timeline::default();
    let mut killed: BTreeMap<String, Duration> = BTreeMap::new();
    let steps = script(settings);
    let mut next_step = 0;
    let mut watchdog = tokio::time::interval(WATCHDOG_EVERY);
    let mut print = tokio::time::interval(PRINT_EVERY);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let end = tokio::time::sleep(settings.duration.saturating_sub(clock.monotonic()));
    tokio::pin!(end);
    let mut output: std::io::Result<()> = Ok(());

    loop {
        let step_in = steps.get(next_step).map_or(Duration::MAX, |(at, _)| {
            at.saturating_sub(clock.monotonic())
        });
        tokio::select! {
            () = &mut end => break,
            _ = &mut ctrl_c => {
                printer.push(note(clock.monotonic(), "interrupted (Ctrl-C): stopping the agents, which release their locks"));
                break;
            }
            () = tokio::time::sleep(step_in), if next_step < steps.len() => {
                if let Some((at, step)) = steps.get(next_step) {
                    let lines = run_step(&world, &mut agents, &mut killed, &mut timeline, *at, step).await;
                    lines.into_iter().for_each(|l| printer.push(l));
                }
                next_step += 1;
            }
            _ = watchdog.tick() => world.clusters.iter().for_each(|c| c.sim.watchdog()),
            Some(incoming) = rx.recv() => take(&world, &mut timeline, &mut printer, incoming),
            received = serving.recv() => match received {
                Ok(e) => shown(&world, &e).into_iter().for_each(|l| printer.push(l)),
                // A lagging display misses lines, never the self-check: it reads the whole log.
                Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => {}
            },
            _ = print.tick() => {
                output = printer.flush_until(clock.monotonic(), &mut stdout);
                if output.is_err() {
                    break;
                }
            }
        }
    }
    let ended_at = clock.monotonic();

    // Clean stop: every agent finishes its tick and releases the lock it holds.
    let _ = shutdown_tx.send(true);
    for (name, task) in agents {
        let stopped =
            tokio::time::timeout(settings.interval * 3 + Duration::from_secs(5), task).await;
        if let Ok(Ok(Err(e))) = stopped {
            printer.push(note(clock.monotonic(), &format!("{name}: {e}")));
        }
    }
    world.clusters.iter().for_each(|c| c.sim.watchdog());
    drop(sink);
    drop(tx);
    while let Ok(incoming) = rx.try_recv() {
        take(&world, &mut timeline, &mut printer, incoming);
    }
    while let Ok(e) = serving.try_recv() {
        shown(&world, &e).into_iter().for_each(|l| printer.push(l));
    }
    output?;
    printer.flush_all(&mut stdout)?;
    let summary = summarize(&world, &timeline, &killed, ended_at).await;
    printer.summary(&summary, &mut stdout)?;
    Ok(DemoReport {
        verdict: summary.verdict(),
    })
}

fn note(at: Duration, text: &str) -> DemoEvent {
    DemoEvent {
        at,
        cluster: None,
        group: None,
        what: What::Note(text.to_string()),
    }
}

/// The timeline line for a change the clusters recorded; none for the vacuous "volumes
/// primary/secondary" of a group that has no volume replication.
pub(super) fn shown(world: &World, e: &ServingEvent) -> Option<DemoEvent> {
    let volumes = matches!(
        e.kind,
        EventKind::VolumesPrimary | EventKind::VolumesSecondary
    );
    let stateful = world.groups.iter().any(|g| g.id == e.group && g.stateful);
    (stateful || !volumes).then(|| DemoEvent::from_serving(e))
}

fn take(world: &World, timeline: &mut Timeline, printer: &mut Printer, incoming: Incoming) {
    match incoming {
        Incoming::Agent(at, event) => timeline
            .agent_event(at, event, &world.log)
            .into_iter()
            .for_each(|l| printer.push(l)),
        Incoming::Demo(line) => printer.push(line),
    }
}

/// Carries out one script step and returns its timeline lines.
async fn run_step(
    world: &World,
    agents: &mut BTreeMap<String, AgentTask>,
    killed: &mut BTreeMap<String, Duration>,
    timeline: &mut Timeline,
    at: Duration,
    step: &Step,
) -> Vec<DemoEvent> {
    let now = world.clock.monotonic();
    let line = |cluster: &str, what: What| DemoEvent {
        at: now,
        cluster: Some(cluster.to_string()),
        group: None,
        what,
    };
    match step {
        Step::Kill(cluster) => {
            // Aborting the agent's task drops its group tasks mid-tick, like a crashed process:
            // no lock is released, nothing is deactivated; only the cluster's watchdog acts.
            if let Some(task) = agents.remove(cluster) {
                task.abort();
                killed.insert(cluster.clone(), now);
            }
            vec![line(cluster, What::Kill)]
        }
        Step::PartitionStart(cluster) => {
            if let Some(c) = world.cluster(cluster) {
                c.store.set_partitioned(true);
            }
            let until = world
                .settings
                .partitions
                .iter()
                .find(|p| &p.cluster == cluster && p.from == at)
                .map_or(at, |p| p.until);
            vec![line(cluster, What::Partition { until })]
        }
        Step::PartitionEnd(cluster) => {
            if let Some(c) = world.cluster(cluster) {
                c.store.set_partitioned(false);
            }
            vec![line(cluster, What::Reconnect)]
        }
        Step::Promote { group, target } => promote(world, timeline, now, group, target).await,
    }
}

async fn promote(
    world: &World,
    timeline: &mut Timeline,
    now: Duration,
    group: &str,
    target: &str,
) -> Vec<DemoEvent> {
    let index = world.settings.group_index(group, &world.namespace);
    let Some(g) = index.ok().and_then(|i| world.groups.get(i as usize - 1)) else {
        return vec![note(now, &format!("promote: no group {group:?}"))];
    };
    let request = PromoteRequest {
        has_volume_replications: g.stateful,
        ..PromoteRequest::to(target, "demo", "planned failover from the demo script")
    };
    let outcome = request_promotion(
        world.store.as_ref(),
        world.clock.as_ref(),
        &world.operator_id,
        &g.id,
        &request,
    )
    .await;
    let (accepted, message) = match outcome {
        Ok(outcome) => {
            if let PromoteOutcome::Requested { transition: t, .. } = &outcome {
                let info = FailoverInfo {
                    id: t.id.clone(),
                    source: t.source.clone(),
                    target: t.target.clone(),
                    mode: FailoverMode::Consistency.to_string(),
                    automatic: false,
                };
                timeline.requested(now, &g.id, info);
            }
            (outcome.is_success(), outcome.to_string())
        }
        Err(e) => (false, e.to_string()),
    };
    vec![DemoEvent {
        at: now,
        cluster: Some(target.to_string()),
        group: Some(g.id.clone()),
        what: What::Promote {
            target: target.to_string(),
            accepted,
            message,
        },
    }]
}

pub(super) async fn summarize(
    world: &World,
    timeline: &Timeline,
    killed: &BTreeMap<String, Duration>,
    ended_at: Duration,
) -> Summary {
    let mut groups = Vec::new();
    for g in &world.groups {
        let owner = match world
            .store
            .load_group_with(&world.operator_id, &g.id, false)
            .await
        {
            Ok(Some(snap)) => Some(snap.config.owner_cluster),
            _ => None,
        };
        groups.push(GroupEnd {
            group: g.id.clone(),
            stateful: g.stateful,
            owner,
            serving: world.log.serving_now(&g.id),
            overlaps: world.log.overlaps(&g.id),
        });
    }
    let interval = world.settings.interval.as_secs_f64();
    let group_count = f64::from(world.settings.groups);
    let requests = world
        .clusters
        .iter()
        .map(|c| {
            let alive = killed.get(&c.name).copied().unwrap_or(ended_at);
            let counts = c.store.counts();
            let per = (alive.as_secs_f64() / interval).max(1.0) * group_count;
            RequestRate {
                cluster: c.name.clone(),
                alive,
                reads: counts.reads as f64 / per,
                writes: counts.writes as f64 / per,
                refused: counts.refused,
            }
        })
        .collect();
    Summary {
        at: ended_at,
        failovers: timeline.failovers(),
        groups,
        requests,
    }
}
