//! The interactive demo (`kubectl failover demo` in a terminal): the same world as the headless
//! run (simulated clusters, one real agent each, one store), shown in the `watch` UI, with keys
//! that kill and restart a cluster's agent or cut it off from the store, so the failover the
//! protocol makes happens live in front of the user. The run ends when the UI is left; the
//! closing summary and the self-check are the headless run's.

use super::collect::{Incoming, StampingSink, Timeline};
use super::event::FailoverInfo;
use super::print::Printer;
use super::runner::{script, shown, summarize};
use super::schedule::Step;
use super::world::World;
use super::{DemoReport, DemoSettings};
use crate::agent::{Agent, AgentError};
use crate::config::StoreArgs;
use crate::error::Error;
use crate::ops::promote::{PromoteOutcome, PromoteRequest, request_promotion};
use crate::tui::actions::DemoControl;
use crate::tui::app::{AppConfig, DemoFaults};
use crate::tui::feed::{FeedConfig, Scope};
use async_trait::async_trait;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

/// How often the clusters' serving watchdog runs (as in the headless run).
const WATCHDOG_EVERY: Duration = Duration::from_millis(50);
/// Timeline lines kept for the UI between two ticks.
const RECENT_LINES: usize = 32;

type AgentTask = JoinHandle<Result<(), AgentError>>;

/// The demo's fault injection behind the UI's keys.
struct Control {
    world: Arc<World>,
    sink: Arc<StampingSink>,
    shutdown: watch::Receiver<bool>,
    agents: Mutex<BTreeMap<String, AgentTask>>,
    killed: Mutex<BTreeMap<String, Duration>>,
    recent: Arc<Mutex<VecDeque<String>>>,
}

/// Locks a mutex whose data stays whole even if a holder panicked (plain maps, one statement
/// per change).
fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Control {
    fn running(&self, cluster: &str) -> bool {
        locked(&self.agents).contains_key(cluster)
    }

    fn start(&self, cluster: &str) -> Result<(), Error> {
        let c = self
            .world
            .cluster(cluster)
            .ok_or_else(|| unknown(cluster))?;
        let agent = Agent::new(
            self.world.group_specs(),
            c.store.clone(),
            c.sim.clone(),
            self.world.clock.clone(),
            self.sink.clone(),
        )
        .map_err(|e| Error::Internal(anyhow::Error::new(e)))?;
        let task = tokio::spawn(agent.run(self.shutdown.clone()));
        locked(&self.agents).insert(cluster.to_string(), task);
        Ok(())
    }
}

fn unknown(cluster: &str) -> Error {
    Error::Usage(format!("there is no cluster {cluster:?} in this demo"))
}

#[async_trait]
impl DemoControl for Control {
    async fn toggle_agent(&self, cluster: &str) -> Result<String, String> {
        let running = locked(&self.agents).remove(cluster);
        if let Some(task) = running {
            // Aborting drops the agent mid-tick, like a crashed process: no lock released,
            // nothing deactivated; only the cluster's own watchdog acts.
            task.abort();
            locked(&self.killed).insert(cluster.to_string(), self.world.clock.monotonic());
            return Ok(format!(
                "{cluster}: agent killed; its heartbeats stop, and once they are older than the heartbeat timeout another cluster takes over what it owned (x again restarts it)"
            ));
        }
        self.start(cluster).map_err(|e| e.to_string())?;
        locked(&self.killed).remove(cluster);
        Ok(format!(
            "{cluster}: agent restarted; it rejoins as STANDBY where another cluster took over"
        ))
    }

    async fn toggle_partition(&self, cluster: &str) -> Result<String, String> {
        let c = self
            .world
            .cluster(cluster)
            .ok_or_else(|| unknown(cluster).to_string())?;
        let cut = !c.store.is_partitioned();
        c.store.set_partitioned(cut);
        Ok(if cut {
            format!(
                "{cluster}: cut off from the store; an owner fences itself before others may take over (c again reconnects)"
            )
        } else {
            format!("{cluster}: reconnected to the store")
        })
    }

    fn faults(&self) -> BTreeMap<String, DemoFaults> {
        let agents = locked(&self.agents);
        self.world
            .clusters
            .iter()
            .map(|c| {
                let faults = DemoFaults {
                    killed: !agents.contains_key(&c.name),
                    partitioned: c.store.is_partitioned(),
                };
                (c.name.clone(), faults)
            })
            .collect()
    }

    fn take_events(&self) -> Vec<String> {
        locked(&self.recent).drain(..).collect()
    }
}

/// Turns agent events and serving changes into timeline lines for the UI, keeping the timeline
/// for the closing summary; ends when every agent's sink is gone.
async fn collect(
    world: Arc<World>,
    mut rx: mpsc::UnboundedReceiver<Incoming>,
    recent: Arc<Mutex<VecDeque<String>>>,
    timeline: Arc<Mutex<Timeline>>,
) {
    let mut serving = world.log.subscribe();
    loop {
        let lines = tokio::select! {
            incoming = rx.recv() => match incoming {
                Some(Incoming::Agent(at, event)) => {
                    locked(&timeline).agent_event(at, event, &world.log)
                }
                Some(Incoming::Demo(line)) => vec![line],
                None => break,
            },
            received = serving.recv() => match received {
                Ok(e) => shown(&world, &e).into_iter().collect(),
                Err(broadcast::error::RecvError::Lagged(_)) => Vec::new(),
                Err(broadcast::error::RecvError::Closed) => Vec::new(),
            },
        };
        lines
            .iter()
            .for_each(|l| remember(&recent, l.to_line(0, 0)));
    }
}

fn remember(recent: &Mutex<VecDeque<String>>, line: String) {
    let mut recent = locked(recent);
    recent.push_back(line);
    if recent.len() > RECENT_LINES {
        recent.pop_front();
    }
}

/// Plays the script (the flags', or the built-in tour) at its times, through the same fault
/// injection as the keys, so the user can watch it and still step in.
async fn play(control: Arc<Control>, timeline: Arc<Mutex<Timeline>>) {
    let world = control.world.clone();
    for (at, step) in script(&world.settings) {
        tokio::time::sleep(at.saturating_sub(world.clock.monotonic())).await;
        let now = world.clock.monotonic();
        let said = match &step {
            Step::Kill(cluster) if control.running(cluster) => control.toggle_agent(cluster).await,
            Step::Kill(cluster) => Ok(format!("{cluster}: agent already stopped")),
            Step::PartitionStart(cluster) | Step::PartitionEnd(cluster) => {
                let cut = matches!(step, Step::PartitionStart(_));
                match world.cluster(cluster) {
                    Some(c) if c.store.is_partitioned() != cut => {
                        control.toggle_partition(cluster).await
                    }
                    _ => Ok(format!("{cluster}: {step} (already so)")),
                }
            }
            Step::Promote { group, target } => {
                Ok(promote(&world, &timeline, now, group, target).await)
            }
        };
        let text = said.unwrap_or_else(|e| e);
        remember(
            &control.recent,
            format!("{:>7.2}s  script: {text}", now.as_secs_f64()),
        );
    }
}

/// A scripted promotion, through the same use case as `promote` and the UI's dialog.
async fn promote(
    world: &World,
    timeline: &Mutex<Timeline>,
    now: Duration,
    group: &str,
    target: &str,
) -> String {
    let index = world.settings.group_index(group, &world.namespace);
    let Some(g) = index.ok().and_then(|i| world.groups.get(i as usize - 1)) else {
        return format!("promote: no group {group:?}");
    };
    let request = PromoteRequest {
        has_volume_replications: g.stateful,
        ..PromoteRequest::to(target, "demo", "planned failover from the demo script")
    };
    match request_promotion(
        world.store.as_ref(),
        world.clock.as_ref(),
        &world.operator_id,
        &g.id,
        &request,
    )
    .await
    {
        Ok(outcome) => {
            if let PromoteOutcome::Requested { transition: t, .. } = &outcome {
                let info = FailoverInfo {
                    id: t.id.clone(),
                    source: t.source.clone(),
                    target: t.target.clone(),
                    mode: t.mode.to_string(),
                    automatic: false,
                };
                locked(timeline).requested(now, &g.id, info);
            }
            format!("promote {} to {target}: {outcome}", g.id)
        }
        Err(e) => format!("promote {} to {target} failed: {e}", g.id),
    }
}

/// Runs the demo in the terminal UI until the user leaves it, then prints the summary.
pub async fn run(store_args: &StoreArgs, settings: &DemoSettings) -> Result<DemoReport, Error> {
    let world = Arc::new(World::build(store_args, settings).await?);
    let clock = world.clock.clone();
    let (tx, rx) = mpsc::unbounded_channel();
    let sink = Arc::new(StampingSink {
        clock: clock.clone(),
        tx,
    });
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let recent = Arc::new(Mutex::new(VecDeque::new()));
    let control = Arc::new(Control {
        world: world.clone(),
        sink: sink.clone(),
        shutdown: shutdown_rx,
        agents: Mutex::new(BTreeMap::new()),
        killed: Mutex::new(BTreeMap::new()),
        recent: recent.clone(),
    });
    for c in &world.clusters {
        control.start(&c.name)?;
    }
    let timeline = Arc::new(Mutex::new(Timeline::default()));
    let collector = tokio::spawn(collect(world.clone(), rx, recent, timeline.clone()));
    let player = tokio::spawn(play(control.clone(), timeline.clone()));
    let watchdog = {
        let world = world.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(WATCHDOG_EVERY);
            loop {
                every.tick().await;
                world.clusters.iter().for_each(|c| c.sim.watchdog());
            }
        })
    };
    let setup = crate::tui::Setup {
        feed: FeedConfig {
            store: world.store.clone(),
            clock: clock.clone(),
            operator_id: world.operator_id.clone(),
            scope: Scope::Namespace(world.namespace.clone()),
            // Refresh at the agents' pace: faster shows nothing new, slower hides phases.
            every: settings.interval.max(crate::cli::watch::MIN_REFRESH),
        },
        app: AppConfig {
            title: format!(
                "failover demo · {} clusters · namespace {} · {}",
                settings.clusters,
                world.namespace,
                world.store.describe()
            ),
            demo: true,
            initiator: "demo user".to_string(),
        },
        demo: Some(control.clone()),
    };
    let ui = crate::tui::run(setup).await;

    let ended_at = clock.monotonic();
    let _ = shutdown_tx.send(true);
    let agents = std::mem::take(&mut *locked(&control.agents));
    for (_, task) in agents {
        let _ = tokio::time::timeout(settings.interval * 3 + Duration::from_secs(5), task).await;
    }
    watchdog.abort();
    player.abort();
    let _ = player.await;
    world.clusters.iter().for_each(|c| c.sim.watchdog());
    let killed = locked(&control.killed).clone();
    // The collector ends once every sender is gone: the agents' (stopped), ours and the
    // control's.
    drop(control);
    drop(sink);
    collector
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("the demo's collector failed: {e}")))?;
    ui?;
    let timeline = std::mem::take(&mut *locked(&timeline));
    let summary = summarize(&world, &timeline, &killed, ended_at).await;
    let printer = Printer::new(settings.format, 0, 0);
    printer.summary(&summary, &mut std::io::stdout())?;
    Ok(DemoReport {
        verdict: summary.verdict(),
    })
}
