//! A tiny pure simulation for the property tests: N agents feeding `step` from one simulated
//! table, executing its intents with the store's conditional semantics and its roles on their
//! own simulated cluster, under crashes, partitions, pauses (an agent simply gets no events)
//! and arbitrary interleavings of deciding and acting.
//!
//! Serving, precisely: cluster X serves at real time T when its network is on AND some `Primary`
//! decision X's agent acted on still allows service (T is before the largest `serve_until` of
//! them, on X's clock). A cluster told to deactivate whose network-off is still pending counts
//! as serving until then. The second half is the self-fencing contract: past `serve_until` the
//! agent (or, for a crashed agent, its restart or a watchdog) has turned the network off.

use super::sim_table::{Cluster, Table};
use crate::protocol::*;
use crate::store::*;
use std::time::Duration;

/// One event of a run.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// Agent i: heartbeat, read, observe, step (or hold when the store is unreachable).
    Decide(usize),
    /// Agent i: execute the pending decision's writes, then up to `n` local steps that change
    /// something (0: the cluster's API is not answering).
    Act(usize, u8),
    /// Agent i runs `k` ticks (decide, act with a full budget, 2s apart) while nobody else
    /// moves: the others are paused.
    Burst(usize, u8),
    /// Real time moves on.
    Advance(u64),
    /// Agent i's process dies (its cluster keeps its state) / starts again.
    Crash(usize),
    Restart(usize),
    /// Agent i loses / regains the store (heartbeats, reads and writes).
    Cut(usize),
    Heal(usize),
    /// Agent i's heartbeat writes fail while its reads and other writes work.
    CutHeartbeats(usize),
    /// The process that agent i had before its last crash was only paused: it wakes up and
    /// carries out the decision it had pending (writes and local steps).
    Wake(usize, u8),
    /// Agent i's cluster starts reporting `health`.
    Health(usize, Health),
    /// A person asks for a transition to cluster i.
    Promote(usize, FailoverMode, bool),
}

/// One agent and its cluster.
#[derive(Debug, Clone)]
pub struct Agent {
    pub name: String,
    pub up: bool,
    pub reachable: bool,
    pub heartbeats_ok: bool,
    /// The pending decision of the process before the last crash, if it was only paused.
    pub zombie: Option<Decision>,
    /// This host's monotonic clock reads real time plus this.
    pub clock_offset: Duration,
    pub obs: Observations,
    pub lock: Option<Lock>,
    pub progress: LocalProgress,
    pub heartbeat_sent_at: Option<Duration>,
    /// Kept across restarts: an agent must never reuse a sequence number.
    pub seq: u64,
    pub last: Option<Decision>,
    pub pending: Option<Decision>,
    /// The last decision acted on; survives a crash (the cluster keeps what it was told).
    pub acted: Option<Decision>,
    /// The largest `serve_until` of the `Primary` decisions acted on (this cluster's licence).
    pub licence: Option<Duration>,
    pub max_epoch: u64,
    pub health: Health,
    pub cluster: Cluster,
    pub ids: u64,
}

/// The whole simulated world.
#[derive(Debug, Clone)]
pub struct Sim {
    pub now: Duration,
    pub table: Table,
    pub agents: Vec<Agent>,
    pub policy: GroupPolicy,
    pub promotions: u64,
    /// Invariant 1 is checked only for CONSISTENCY-only runs (UPTIME serves twice by design).
    pub check_single_server: bool,
    pub stats: Stats,
}

/// What a run exercised, so tests can show they are not vacuous.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub flips: u64,
    pub take_overs: u64,
    pub automatic: u64,
    pub fenced: u64,
    pub refused_steps: u64,
}

impl Sim {
    /// `n` clusters named a, b, c...; a owns the group; nothing is active yet.
    pub fn new(n: usize, check_single_server: bool) -> Sim {
        let mut config = super::fixtures::config("a");
        config.version = 1;
        config.epoch = 1;
        let lease = super::fixtures::timings().lease;
        let agents = (0..n)
            .map(|i| Agent {
                name: ((b'a' + i as u8) as char).to_string(),
                up: true,
                reachable: true,
                heartbeats_ok: true,
                zombie: None,
                clock_offset: Duration::from_secs(1000 * i as u64 + 7),
                obs: Observations::default(),
                lock: None,
                progress: LocalProgress::unknown(),
                heartbeat_sent_at: None,
                seq: 0,
                last: None,
                pending: None,
                acted: None,
                licence: None,
                max_epoch: 0,
                health: Health::Ok,
                cluster: Cluster::default(),
                ids: 0,
            })
            .collect();
        Sim {
            now: Duration::ZERO,
            table: Table::new(config, lease),
            agents,
            policy: GroupPolicy::default(),
            promotions: 0,
            check_single_server,
            stats: Stats::default(),
        }
    }

    fn wall(&self) -> chrono::DateTime<chrono::Utc> {
        super::fixtures::wall(0) + self.now
    }

    fn mono(&self, i: usize) -> Duration {
        self.now + self.agents[i].clock_offset
    }

    /// Applies one event, then checks the invariants.
    pub fn apply(&mut self, e: Event) {
        // Every event takes a millisecond, so no two requests share a history sort key.
        self.now += Duration::from_millis(1);
        let n = self.agents.len();
        match e {
            Event::Decide(i) => self.decide(i % n),
            Event::Act(i, budget) => self.act(i % n, budget),
            Event::Advance(secs) => self.now += Duration::from_secs(secs),
            Event::Burst(i, k) => {
                for _ in 0..k {
                    self.decide(i % n);
                    self.act(i % n, 4);
                    self.check();
                    self.now += Duration::from_secs(2);
                }
            }
            Event::Crash(i) => {
                let a = &mut self.agents[i % n];
                a.up = false;
                a.zombie = a.pending.take();
            }
            Event::Restart(i) => {
                let a = &mut self.agents[i % n];
                if !a.up {
                    a.up = true;
                    a.obs = Observations::default();
                    a.lock = None;
                    a.progress = LocalProgress::unknown();
                    a.heartbeat_sent_at = None;
                    a.last = None;
                }
            }
            Event::Cut(i) => self.agents[i % n].reachable = false,
            Event::Heal(i) => {
                self.agents[i % n].reachable = true;
                self.agents[i % n].heartbeats_ok = true;
            }
            Event::CutHeartbeats(i) => self.agents[i % n].heartbeats_ok = false,
            Event::Wake(i, budget) => {
                if let Some(d) = self.agents[i % n].zombie.take() {
                    // The old process's memory (lock, progress) is not the new one's.
                    let lock = self.agents[i % n].lock.take();
                    let progress = self.agents[i % n].progress.clone();
                    self.carry_out(i % n, &d, budget);
                    self.agents[i % n].lock = lock;
                    self.agents[i % n].progress = progress;
                }
            }
            Event::Health(i, h) => self.agents[i % n].health = h,
            Event::Promote(i, mode, force) => self.promote(i % n, mode, force),
        }
        self.check();
    }

    fn promote(&mut self, i: usize, mode: FailoverMode, force: bool) {
        self.promotions += 1;
        let request = TransitionRequest {
            target: self.agents[i].name.clone(),
            mode,
            force,
            reason: "test".into(),
            initiator: "person".into(),
            id: format!("p{}", self.promotions),
            wall_now: self.wall(),
            has_volume_replications: false,
            automatic: false,
        };
        let snap = self.table.snapshot(false);
        if let Ok(config) = request_transition(&snap, &request) {
            let _ = self.table.cas(snap.config.version, &config);
        }
    }

    fn decide(&mut self, i: usize) {
        let (mono, wall) = (self.mono(i), self.wall());
        let a = &mut self.agents[i];
        if !a.up || a.pending.is_some() {
            return;
        }
        if !a.reachable {
            a.pending = a.last.as_ref().map(|d| d.hold(mono));
            a.last.clone_from(&a.pending);
            self.stats.fenced +=
                u64::from(a.pending.as_ref().is_some_and(|d| d.role == Role::Fenced));
            return;
        }
        a.seq += 1;
        if !a.heartbeats_ok {
            self.read_and_step(i, mono, wall);
            return;
        }
        let report = a.last.as_ref().map(|d| d.report.clone());
        if report.as_ref().is_some_and(|r| r.ack.is_some()) {
            // An acknowledgement must be true when written: this cluster is fully deactivated.
            assert!(
                a.cluster.converged(Role::Standby),
                "{} acked while {:?}",
                a.name,
                a.cluster
            );
        }
        self.table.clusters.insert(
            a.name.clone(),
            ClusterStatus {
                cluster_name: a.name.clone(),
                health: a.health,
                state: report.as_ref().map_or(ClusterState::Standby, |r| r.state),
                last_heartbeat: Some(wall),
                heartbeat_seq: Some(a.seq),
                components: Default::default(),
                ack: report.as_ref().and_then(|r| r.ack.clone()),
                fenced: report.as_ref().is_some_and(|r| r.fenced),
            },
        );
        a.heartbeat_sent_at = Some(mono);
        self.read_and_step(i, mono, wall);
    }

    fn read_and_step(&mut self, i: usize, mono: Duration, wall: chrono::DateTime<chrono::Utc>) {
        let a = &mut self.agents[i];
        let include_lock = a.last.as_ref().is_none_or(|d| d.read_lock_next);
        let snap = self.table.snapshot(include_lock);
        a.obs.observe(&snap, include_lock, mono);
        a.ids += 1;
        let facts = LocalFacts {
            me: a.name.clone(),
            now: mono,
            wall_now: wall,
            heartbeat_sent_at: a.heartbeat_sent_at,
            lock: a.lock.clone(),
            progress: a.progress.clone(),
            has_volume_replications: false,
            new_id: format!("{}-auto-{}", a.name, a.ids),
        };
        let d = step(&self.policy, &snap, &a.obs, &facts);
        assert_eq!(
            d,
            step(&self.policy, &snap, &a.obs, &facts),
            "step is deterministic"
        );
        assert!(
            d.epoch >= a.max_epoch,
            "{}: decision epoch went back",
            a.name
        );
        a.max_epoch = d.epoch;
        if d.role == Role::Fenced {
            self.stats.fenced += 1;
        }
        a.pending = Some(d.clone());
        a.last = Some(d);
    }

    fn act(&mut self, i: usize, budget: u8) {
        let Some(d) = self.agents[i].pending.take().filter(|_| self.agents[i].up) else {
            return;
        };
        if d.forget_lock {
            self.agents[i].lock = None;
        }
        self.carry_out(i, &d, budget);
    }

    /// Executes a decision's writes (stopping at the first lost race), then its local steps.
    fn carry_out(&mut self, i: usize, d: &Decision, budget: u8) {
        let (mono, wall, now) = (self.mono(i), self.wall(), self.now);
        for w in &d.writes {
            if !self.agents[i].reachable || !self.execute(i, w, now) {
                break;
            }
        }
        let a = &mut self.agents[i];
        let mut budget = budget;
        let mut complete = true;
        for action in d.role.actions() {
            let activating = d.role.is_active();
            let expired = activating && d.serve_until.is_some_and(|u| mono >= u);
            if budget == 0 || expired {
                complete = false;
                break;
            }
            let Some(changed) = a.cluster.apply(action, d.epoch) else {
                self.stats.refused_steps += 1;
                complete = false;
                break;
            };
            if changed {
                budget = budget.saturating_sub(1);
                match action {
                    crate::k8s::Action::NetworkOn => a.progress.network_on_at = Some(wall),
                    crate::k8s::Action::NetworkOff => a.progress.network_off_at = Some(wall),
                    _ => {}
                }
            }
        }
        let done = complete && a.cluster.converged(d.role);
        a.progress.epoch = d.epoch;
        a.progress.activated = done && d.role.is_active();
        a.progress.deactivated = done && !d.role.is_active();
        if a.cluster.applied_epoch <= d.epoch {
            // The cluster now does what this decision said (a refused stale one changes nothing).
            a.acted = Some(d.clone());
            if d.role.is_active() {
                let until = d.serve_until.unwrap_or(Duration::MAX);
                a.licence = Some(a.licence.map_or(until, |l| l.max(until)));
            }
        }
    }

    /// Executes one intent for agent i; false on a lost race.
    fn execute(&mut self, i: usize, w: &Intent, now: Duration) -> bool {
        let ok = self.table.execute(w, &mut self.agents[i].lock, now);
        let count = |hit: bool| u64::from(ok && hit);
        self.stats.automatic += count(matches!(w, Intent::StartTransition { .. }));
        self.stats.take_overs += count(matches!(w, Intent::TakeOverLock { .. }));
        self.stats.flips += count(matches!(w, Intent::Flip(_)));
        ok
    }

    /// Whether cluster i serves now (see the module doc).
    pub fn serving(&self, i: usize) -> bool {
        let a = &self.agents[i];
        a.cluster.network_on() && a.licence.is_some_and(|u| self.mono(i) < u)
    }

    fn check(&self) {
        self.table.check_history();
        let holders = self.agents.iter().filter(|a| {
            a.lock.is_some()
                && a.lock.as_ref().map(|l| &l.lease_token)
                    == self.table.lock.as_ref().map(|l| &l.lease_token)
        });
        assert!(holders.count() <= 1, "two agents hold the lock");
        if self.check_single_server {
            let serving: Vec<&str> = (0..self.agents.len())
                .filter(|i| self.serving(*i))
                .map(|i| self.agents[i].name.as_str())
                .collect();
            assert!(
                serving.len() <= 1,
                "two clusters serve at {:?}: {serving:?}",
                self.now
            );
        }
    }
}
