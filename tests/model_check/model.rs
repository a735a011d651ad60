//! The stateright `Model`: which actions each state allows, what they do (`agent`), and its
//! properties (`properties.rs`).

use super::agent::{self, Env};
use super::faults;
use super::properties;
use super::table::{Table, lease_intervals};
use super::world::{Agent, Breaches, Cluster, Config, Kind, Link, Stage, World};
use super::world::{config_before_change, initial_config, name};
use kubectl_failover::protocol::{LocalProgress, Observations};
use stateright::{Model, Property};
use std::collections::BTreeMap;

/// One step of the model.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Act {
    /// Time moves on one interval, and a person may request a transition at that moment.
    Tick {
        /// (target, forced, lands late) of a person's CONSISTENCY request.
        promote: Option<(usize, bool, bool)>,
    },
    /// A person's late compare-and-set lands.
    LandRequest,
    /// The run's settings change is written (`Config::settings_change`).
    ChangeSettings,
    /// Agent i's tick starts: heartbeat, read, and (unless `delayed`) the reply and `step`.
    Start {
        /// The agent.
        agent: usize,
        /// The read's reply arrives in a later interval.
        delayed: bool,
    },
    /// The delayed reply to agent i's read arrives: observe + step.
    Arrive(usize),
    /// Agent i's next write.
    Write(usize),
    /// Agent i's next write is applied, but its reply is lost.
    WriteReplyLost(usize),
    /// Agent i converges its cluster.
    Converge(usize),
    /// Agent i's process crashes.
    Crash(usize),
    /// Agent i's process freezes with its pending decision.
    Pause(usize),
    /// Agent i's process (Kubernetes, converging to PRIMARY) freezes between the check and the
    /// write of activation step k; the write lands when it wakes up.
    PauseInStep(usize, usize),
    /// A new process of agent i starts.
    Restart(usize),
    /// Agent i's frozen process carries out its old decision.
    Wake(usize),
    /// Agent i's link changes.
    Link(usize, Link),
}

/// The model of one run.
pub struct FailoverModel {
    /// The run's bounds and options.
    pub cfg: Config,
    /// The state the check starts from.
    pub init: World,
    env: Env,
}

impl FailoverModel {
    /// The model, starting after one fault-free tick of every agent at time 0 (every cluster has
    /// a heartbeat record, the owner serves): a reachable state, so every path printed from it
    /// is a real run.
    pub fn new(cfg: Config) -> Self {
        let mut config = match cfg.settings_change {
            Some(_) => config_before_change(),
            None => initial_config(),
        };
        // Every agent applies CONFIG's self-fencing rule.
        config.self_fencing = cfg.self_fencing;
        let env = Env {
            lease: lease_intervals(&config),
            self_fencing: cfg.self_fencing,
            kind: cfg.kind,
            late_write_bound: cfg.late_write_bound,
        };
        let agents = (0..cfg.clusters)
            .map(|i| Agent {
                name: name(i),
                up: true,
                link: Link::Up,
                stage: Stage::Idle,
                ticked_at: None,
                obs: Observations::default(),
                lock: None,
                progress: LocalProgress::unknown(),
                heartbeat_ok_at: None,
                seq: 0,
                first_read_failed: false,
                last: None,
                zombie: None,
                cluster: Cluster::default(),
            })
            .collect();
        let mut init = World {
            now: 0,
            table: Table::new(config.clone(), cfg.unconditional_writes),
            agents,
            request: None,
            faults: 0,
            delays: 0,
            max_version: config.version,
            max_epoch: config.epoch,
            history_ever: BTreeMap::new(),
            breaches: Breaches::default(),
            settings_changed: false,
        };
        let mut model = FailoverModel {
            cfg,
            init: init.clone(),
            env,
        };
        for i in 0..model.cfg.clusters {
            for act in [
                Act::Start {
                    agent: i,
                    delayed: false,
                },
                Act::Converge(i),
            ] {
                init = model.next_state(&init, act).expect("warm-up step applies");
            }
        }
        assert!(init.agents[0].cluster.on[3], "a serves after the warm-up");
        model.init = init;
        model
    }
}

impl Model for FailoverModel {
    type State = World;
    type Action = Act;

    fn init_states(&self) -> Vec<World> {
        vec![self.init.clone()]
    }

    fn actions(&self, w: &World, out: &mut Vec<Act>) {
        let cfg = &self.cfg;
        let (faults, delays) = (w.faults < cfg.max_faults, w.delays < cfg.max_delays);
        // A live process starts a tick every interval (its calls may all fail, which is how a
        // partition looks); a process still writing or converging when the interval ends costs
        // a delay. A process that stops ticking altogether is a crash or a pause.
        let unticked = |a: &Agent| a.up && a.stage == Stage::Idle && a.ticked_at != Some(w.now);
        let late = w.agents.iter().filter(|a| a.up && a.is_mid_tick()).count();
        let late_ok = usize::from(w.delays) + late <= usize::from(cfg.max_delays);
        // On Kubernetes a delayed read reply arrives in the next interval (`agent::arrive`).
        let reading = |a: &Agent| matches!(a.stage, Stage::Reading { sent, .. } if sent < w.now);
        let bounded = cfg.kind != Kind::Watchdog && w.agents.iter().any(|a| a.up && reading(a));
        if w.now < cfg.horizon && late_ok && !bounded && !w.agents.iter().any(unticked) {
            out.push(Act::Tick { promote: None });
            let config = &w.table.config;
            // A person asks at the first interval boundary: faults can still strike at any point
            // of the transition, and asking later would mostly repeat the same runs.
            if w.now == 0 && cfg.promotions && config.transition.is_none() {
                for (i, a) in w.agents.iter().enumerate() {
                    if a.name != config.owner_cluster && w.table.clusters.contains_key(&a.name) {
                        let forced = if cfg.forced_promotions { 2 } else { 1 };
                        for force in [false, true].into_iter().take(forced) {
                            out.push(Act::Tick {
                                promote: Some((i, force, false)),
                            });
                            if delays {
                                out.push(Act::Tick {
                                    promote: Some((i, force, true)),
                                });
                            }
                        }
                    }
                }
            }
        }
        // Restarts and heals touch only their own agent, so where they fall among the other
        // agents' steps does not matter: they happen at the start of an interval.
        let interval_start = w.agents.iter().all(|a| a.ticked_at != Some(w.now));
        let interval_end = !w
            .agents
            .iter()
            .any(|a| unticked(a) || (a.up && a.stage != Stage::Idle));
        if w.request.is_some() && interval_start && w.now > 1 {
            out.push(Act::LandRequest);
        }
        if cfg.settings_change.is_some()
            && !w.settings_changed
            && interval_start
            && (1..=2).contains(&w.now)
        {
            out.push(Act::ChangeSettings);
        }
        for (i, a) in w.agents.iter().enumerate() {
            if a.up {
                match a.stage {
                    Stage::Idle if unticked(a) => {
                        out.push(Act::Start {
                            agent: i,
                            delayed: false,
                        });
                        if delays && a.link != Link::Down {
                            out.push(Act::Start {
                                agent: i,
                                delayed: true,
                            });
                        }
                    }
                    Stage::Idle => {}
                    Stage::Reading { sent, .. } => {
                        if sent < w.now {
                            out.push(Act::Arrive(i));
                        }
                    }
                    Stage::Writing { .. } => {
                        out.push(Act::Write(i));
                        if delays && a.link != Link::Down {
                            out.push(Act::WriteReplyLost(i));
                        }
                    }
                    Stage::Converging { .. } => out.push(Act::Converge(i)),
                }
                // A fault on an idle process commutes with the other agents' steps, so it
                // strikes at the start of an interval; one mid-tick may strike between any two
                // of its own steps.
                if faults && cfg.crashes && (interval_start || a.stage != Stage::Idle) {
                    out.push(Act::Crash(i));
                }
                // A pause keeps the decision being carried out: mid-tick, or (for a tick that
                // converged at once) at the end of the interval.
                let decided = a.is_mid_tick() || (interval_end && a.ticked_at == Some(w.now));
                if faults && cfg.pauses && decided && a.last.is_some() && a.zombie.is_none() {
                    out.push(Act::Pause(i));
                }
                // On Kubernetes also between an activation step's check and its write (the
                // steps whose check passes: `faults::pause_in_step`).
                let activating =
                    matches!(&a.stage, Stage::Converging { decision } if decision.role.is_active());
                if faults
                    && cfg.pauses
                    && activating
                    && a.zombie.is_none()
                    && cfg.kind != Kind::Watchdog
                {
                    out.extend((0..4).map(|step| Act::PauseInStep(i, step)));
                }
            } else if interval_start {
                out.push(Act::Restart(i));
            }
            let local_ok = interval_start || (a.up && a.stage != Stage::Idle);
            if faults && cfg.partitions && a.link == Link::Up && local_ok {
                out.push(Act::Link(i, Link::Down));
                out.push(Act::Link(i, Link::NoHeartbeats));
            }
            if a.link != Link::Up && interval_start {
                out.push(Act::Link(i, Link::Up));
            }
            if a.zombie.is_some() {
                out.push(Act::Wake(i));
            }
        }
    }

    fn next_state(&self, w: &World, act: Act) -> Option<World> {
        let mut n = w.clone();
        match act {
            Act::Tick { promote } => {
                faults::tick(&mut n, &self.env);
                if let Some((target, force, late)) = promote
                    && !faults::promote(&mut n, target, force, late)
                {
                    return None;
                }
            }
            Act::Start { agent, delayed } => agent::start(&mut n, &self.env, agent, delayed),
            Act::Arrive(i) => agent::arrive(&mut n, &self.env, i),
            Act::Write(i) => agent::write(&mut n, &self.env, i, false),
            Act::WriteReplyLost(i) => agent::write(&mut n, &self.env, i, true),
            Act::Converge(i) => agent::converge(&mut n, &self.env, i),
            Act::Crash(i) => faults::stop(&mut n, i, false),
            Act::Pause(i) => faults::stop(&mut n, i, true),
            Act::PauseInStep(i, step) => {
                if !faults::pause_in_step(&mut n, &self.env, i, step) {
                    return None;
                }
            }
            Act::Restart(i) => faults::restart(&mut n, i),
            Act::Wake(i) => faults::wake(&mut n, &self.env, i),
            Act::Link(i, link) => faults::set_link(&mut n, i, link),
            Act::LandRequest => faults::land_request(&mut n),
            Act::ChangeSettings => {
                let how = self
                    .cfg
                    .settings_change
                    .expect("offered only with a change");
                faults::change_settings(&mut n, how);
            }
        }
        // Remember the largest version and epoch and every history record ever written, so a
        // decrease or a lost or rewritten record shows in the state itself.
        n.max_version = n.max_version.max(n.table.config.version);
        n.max_epoch = n.max_epoch.max(n.table.config.epoch);
        for (k, h) in &n.table.history {
            n.history_ever.entry(k.clone()).or_insert_with(|| h.clone());
        }
        Some(n)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties::all(self.cfg.expect)
    }

    fn within_boundary(&self, w: &World) -> bool {
        w.now <= self.cfg.horizon
    }
}
