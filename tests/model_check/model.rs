//! The stateright `Model`: which actions each state allows, what they do (`agent`), and the
//! properties: invariants 1-4 of docs/protocol.md as `always`, and `sometimes` witnesses that
//! show a run reaches the situations the invariants are about.

use super::agent::{self, Env};
use super::table::{Table, lease_intervals};
use super::world::{Agent, Breaches, Cluster, Config, Link, Stage, World, initial_config, name};
use kubectl_failover::protocol::{LocalProgress, Observations, Role};
use stateright::{Model, Property};
use std::collections::{BTreeMap, BTreeSet};

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
    /// A new process of agent i starts.
    Restart(usize),
    /// Agent i's frozen process carries out its old decision.
    Wake(usize),
    /// Agent i's link changes.
    Link(usize, Link),
}

/// A property's condition.
type Condition = fn(&FailoverModel, &World) -> bool;

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
        let config = initial_config();
        let env = Env {
            lease: lease_intervals(&config),
            self_fencing: cfg.self_fencing,
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
        if w.now < cfg.horizon && late_ok && !w.agents.iter().any(unticked) {
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
                agent::tick(&mut n);
                if let Some((target, force, late)) = promote
                    && !agent::promote(&mut n, target, force, late)
                {
                    return None;
                }
            }
            Act::Start { agent, delayed } => agent::start(&mut n, &self.env, agent, delayed),
            Act::Arrive(i) => agent::arrive(&mut n, &self.env, i),
            Act::Write(i) => agent::write(&mut n, &self.env, i, false),
            Act::WriteReplyLost(i) => agent::write(&mut n, &self.env, i, true),
            Act::Converge(i) => agent::converge(&mut n, i),
            Act::Crash(i) => agent::stop(&mut n, i, false),
            Act::Pause(i) => agent::stop(&mut n, i, true),
            Act::Restart(i) => agent::restart(&mut n, i),
            Act::Wake(i) => agent::wake(&mut n, &self.env, i),
            Act::Link(i, link) => agent::set_link(&mut n, i, link),
            Act::LandRequest => agent::land_request(&mut n),
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
        let mut ps = vec![
            Property::always(ONE_SERVER, one_server),
            Property::always(TRUE_ACKS, true_acks),
            Property::always(GROWING_VERSIONS, growing_versions),
            Property::always(ONE_LOCK_HOLDER, one_lock_holder),
            Property::always(ONE_HISTORY_RECORD, one_history_record),
        ];
        let witnesses: [(&'static str, Condition); 7] = [
            (OWNERSHIP_MOVES, ownership_moves),
            (PLANNED_COMPLETES, planned_completes),
            (AUTOMATIC_COMPLETES, automatic_completes),
            (ROLLED_BACK, rolled_back),
            (LOCK_TAKEN_OVER, lock_taken_over),
            (STALE_REFUSED, stale_refused),
            (OWNER_FENCED, owner_fenced),
        ];
        for (name, condition) in witnesses {
            if self.cfg.expect.contains(&name) {
                ps.push(Property::sometimes(name, condition));
            }
        }
        ps
    }

    fn within_boundary(&self, w: &World) -> bool {
        w.now <= self.cfg.horizon
    }
}

/// Invariant 1.
pub const ONE_SERVER: &str = "invariant 1: at most one cluster serves the group";
/// Decision 12: an acknowledgement is true when written.
pub const TRUE_ACKS: &str = "an acknowledgement is written only by a fully deactivated cluster";
/// Invariant 2.
pub const GROWING_VERSIONS: &str =
    "invariant 2: CONFIG version and epoch never decrease; ownership moves only by a grant";
/// Invariant 3.
pub const ONE_LOCK_HOLDER: &str =
    "invariant 3: one process holds the lock; take-over only after a whole unchanged lease";
/// Invariant 4.
pub const ONE_HISTORY_RECORD: &str =
    "invariant 4: every ended transition has exactly one history record, never rewritten";
/// Witness.
pub const OWNERSHIP_MOVES: &str = "ownership moves to another cluster";
/// Witness.
pub const PLANNED_COMPLETES: &str = "a planned failover completes";
/// Witness.
pub const AUTOMATIC_COMPLETES: &str = "an automatic failover completes";
/// Witness.
pub const ROLLED_BACK: &str = "a stuck transition is rolled back";
/// Witness.
pub const LOCK_TAKEN_OVER: &str = "a dead driver's lock is taken over";
/// Witness.
pub const STALE_REFUSED: &str = "a paused process's stale action is refused by its epoch";
/// Witness.
pub const OWNER_FENCED: &str = "an active cluster fences itself";

fn one_server(_: &FailoverModel, w: &World) -> bool {
    let serving = w.agents.iter().enumerate();
    let serving = serving.filter(|(i, a)| a.cluster.serving(World::mono(*i, w.now)));
    serving.count() <= 1
}

fn true_acks(_: &FailoverModel, w: &World) -> bool {
    !w.breaches.false_ack
}

fn growing_versions(_: &FailoverModel, w: &World) -> bool {
    let c = &w.table.config;
    c.version == w.max_version
        && c.epoch == w.max_epoch
        && c.epoch <= c.version
        && !w.breaches.ungranted_ownership
        && !w.breaches.decision_epoch_went_back
}

fn one_lock_holder(_: &FailoverModel, w: &World) -> bool {
    let Some(token) = w.table.lock.as_ref().map(|l| &l.lease_token) else {
        return !w.breaches.early_take_over;
    };
    let beliefs = w.agents.iter().flat_map(|a| {
        let zombie = a.zombie.as_ref().and_then(|z| z.lock.as_ref());
        [a.lock.as_ref(), zombie]
    });
    let holders = beliefs.flatten().filter(|l| l.lease_token == *token);
    holders.count() <= 1 && !w.breaches.early_take_over
}

fn one_history_record(_: &FailoverModel, w: &World) -> bool {
    let names: Vec<&String> = w.table.history.values().map(|h| &h.failover_name).collect();
    let unique: BTreeSet<&String> = names.iter().copied().collect();
    let ended: BTreeSet<&String> = w.table.ended.iter().collect();
    names.len() == unique.len()
        && unique == ended
        && w.table.history == w.history_ever
        && !w.breaches.transition_came_back
}

fn completed(w: &World, automatic: bool) -> bool {
    w.table.history.values().any(|h| {
        h.automatic == Some(automatic) && matches!(h.status.as_str(), "SUCCESS" | "FORCED_COMPLETE")
    })
}

fn ownership_moves(_: &FailoverModel, w: &World) -> bool {
    w.table.config.owner_cluster != "a"
}

fn planned_completes(_: &FailoverModel, w: &World) -> bool {
    completed(w, false)
}

fn automatic_completes(_: &FailoverModel, w: &World) -> bool {
    completed(w, true)
}

fn rolled_back(_: &FailoverModel, w: &World) -> bool {
    w.table.history.values().any(|h| h.status == "ROLLED_BACK")
}

fn lock_taken_over(_: &FailoverModel, w: &World) -> bool {
    w.table.lock_taken_over
}

fn stale_refused(_: &FailoverModel, w: &World) -> bool {
    w.agents.iter().any(|a| a.cluster.refused_stale)
}

fn owner_fenced(_: &FailoverModel, w: &World) -> bool {
    w.agents
        .iter()
        .any(|a| a.last.as_ref().is_some_and(|d| d.role == Role::Fenced))
}
