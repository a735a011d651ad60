//! The model's state: the shared table, every agent (its process, its memory, its cluster), the
//! global clock, and the fault budgets; plus the run's configuration and the fixed timings.

use super::kube::{Fixes, InFlight};
use super::table::Table;
use chrono::{DateTime, Utc};
use kubectl_failover::k8s::Action;
use kubectl_failover::protocol::{Decision, GroupPolicy, LocalProgress, Observations, Role};
use kubectl_failover::store::{GroupConfig, GroupId, GroupSnapshot, HistoryRecord, Lock};
use std::collections::BTreeMap;
use std::time::Duration;

/// One model unit of time, in seconds: one heartbeat interval.
pub const INTERVAL: u64 = 1;
/// `timeouts.heartbeat`: the smallest value `validate_timeouts` accepts (4 intervals).
pub const HEARTBEAT: u64 = 4;
/// `timeouts.transitoryState`: the smallest value above heartbeat + 2 intervals.
pub const TRANSITORY: u64 = 7;
/// `timeouts.unhealthyPrimary`: one interval (unused: health never changes in the model).
pub const UNHEALTHY: u64 = 1;
/// The automatic-failover cool-down. The default (5 x heartbeat) is longer than any horizon the
/// checker can afford; the cool-down only prevents ping-pong, so a shorter one explores more.
pub const COOLDOWN: u64 = 4;

/// What one run explores. Every run uses the same timings; the bounds keep the state space
/// finite and the run within CI time.
#[derive(Debug, Clone)]
pub struct Config {
    /// Number of clusters (a, b, c...); a owns the group at the start.
    pub clusters: usize,
    /// Time stops at this many intervals.
    pub horizon: u64,
    /// Faults per run: crashes, pauses and cut links together (healing is free).
    pub max_faults: u8,
    /// Delays per run: delayed read replies, lost write replies, and an interval passing while
    /// a process is still writing or converging (each interval, each process).
    pub max_delays: u8,
    /// Whether processes may crash.
    pub crashes: bool,
    /// Whether processes may pause (and a paused process wake up later).
    pub pauses: bool,
    /// Whether links may be cut (store unreachable, or only heartbeat writes failing).
    pub partitions: bool,
    /// Whether a person may request a CONSISTENCY transition (at time 1, to any standby).
    pub promotions: bool,
    /// Whether a person's request may be forced.
    pub forced_promotions: bool,
    /// The deliberate bug for the test that shows the check can fail: a store whose writes
    /// check no condition (CONFIG versions, lock tokens, the current lock holder).
    pub unconditional_writes: bool,
    /// The group's `selfFencing` policy (true unless a test shows what turning it off does).
    pub self_fencing: bool,
    /// What the clusters are: the simulated cluster with a serving watchdog, or Kubernetes.
    pub kind: Kind,
    /// Kubernetes: a write checked before its process paused lands within this many intervals
    /// of the check, or never (`None`: at any later time).
    pub late_write_bound: Option<u64>,
    /// A change of `timeouts.heartbeat` (from `HEARTBEAT_BEFORE_CHANGE` to `HEARTBEAT`) at an
    /// interval boundary at time 1 or 2, and how it is written.
    pub settings_change: Option<SettingsChange>,
    /// The `sometimes` properties this run must witness (proof the run is not vacuous).
    pub expect: &'static [&'static str],
}

/// How a person lowers `timeouts.heartbeat` while the group runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SettingsChange {
    /// By editing b's FailoverGroup: b's agent writes it with `protocol::sync_spec`, which keeps
    /// the superseded settings until the owner acknowledges them.
    ThroughSpec,
    /// By writing CONFIG directly, as a tool that does not know `supersededSettings` would.
    RawEdit,
}

/// `timeouts.heartbeat` before a settings change: long enough that a cut-off owner still
/// serves (until `12 - 2` intervals after its last heartbeat) when another cluster could take
/// over after the lowered `HEARTBEAT` (its flip lands about 7 intervals after the cut).
pub const HEARTBEAT_BEFORE_CHANGE: u64 = 12;

/// The kind of every cluster of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The simulated cluster: one newest epoch applied for the whole cluster (older actions of
    /// any kind refused), and a serving-lease watchdog that takes the network off when the lease
    /// lapses.
    Watchdog,
    /// The Kubernetes backend (`src/k8s/kube/`): no watchdog, an epoch stamped on each object,
    /// the fresh agent's fence, and a pause between an activation's check and its write, with
    /// each fix switchable (`kube.rs`).
    Kube(Fixes),
}

impl Kind {
    /// The fixes of a Kubernetes cluster, `None` for the simulated one.
    pub fn fixes(self) -> Option<Fixes> {
        match self {
            Kind::Watchdog => None,
            Kind::Kube(fixes) => Some(fixes),
        }
    }
}

/// An agent's connection to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Link {
    /// Every call works.
    Up,
    /// Heartbeat writes fail; reads and other writes work.
    NoHeartbeats,
    /// Every call fails (a partition).
    Down,
}

/// The process of one agent: where it is in its tick.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Between ticks.
    Idle,
    /// The read was sent (after this tick's heartbeat attempt); its reply is delayed.
    Reading {
        /// When it was sent (intervals): it arrives in a later interval.
        sent: u64,
        /// What the table held when the read was served.
        snapshot: Box<GroupSnapshot>,
        /// Whether the read included the LOCK.
        with_lock: bool,
        /// The send time of the newest heartbeat known to have succeeded before the read was
        /// sent (`LocalFacts::heartbeat_sent_at`).
        heartbeat_sent_at: Option<Duration>,
    },
    /// Executing `decision.writes[next..]`.
    Writing {
        /// The decision.
        decision: Decision,
        /// The next write.
        next: usize,
    },
    /// Converging the cluster to `decision.role`.
    Converging {
        /// The decision.
        decision: Decision,
    },
}

/// A paused process: it still holds a decision it will carry out if it wakes up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Zombie {
    /// Its decision.
    pub decision: Decision,
    /// The next of its writes.
    pub next: usize,
    /// The lock it believes it holds.
    pub lock: Option<Lock>,
    /// The first step of the role it has not started: 0, unless it paused between the check
    /// and the write of an activation step (`Cluster::in_flight`), then the step after it.
    pub from_step: usize,
}

/// One cluster's resources for the group, as far as safety is concerned.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Cluster {
    /// The newest fencing epoch applied (older ones are refused). Simulated cluster only.
    pub applied_epoch: u64,
    /// PromoteVolumes, ScaleUp, ResumeJobs, NetworkOn applied (true) or undone (false).
    pub on: [bool; 4],
    /// The epoch stamped on each step's object (`kubectl-failover.io/epoch`, 0 when absent).
    /// Kubernetes only.
    pub stamps: [u64; 4],
    /// An activation write checked by a process that paused before it landed. Kubernetes only.
    pub in_flight: Option<InFlight>,
    /// The serving lease (`renew_serving_lease`), on this cluster's monotonic clock: the
    /// watchdog takes the network off once it has lapsed. `None`: never renewed.
    pub serve_deadline: Option<Duration>,
    /// Some action was refused for its stale epoch (a witness, never reset).
    pub refused_stale: bool,
    /// An in-flight write was refused when it landed, by a stamp newer than at its check (a
    /// witness, never reset). Kubernetes only.
    pub late_write_refused: bool,
}

impl Cluster {
    /// The object `a` acts on (its index in `on`) and the state it asks for.
    pub fn slot(a: Action) -> (usize, bool) {
        match a {
            Action::PromoteVolumes => (0, true),
            Action::ScaleUp => (1, true),
            Action::ResumeJobs => (2, true),
            Action::NetworkOn => (3, true),
            Action::DemoteVolumes => (0, false),
            Action::ScaleDown => (1, false),
            Action::SuspendJobs => (2, false),
            Action::NetworkOff => (3, false),
        }
    }

    /// Applies one action at `epoch` as `ClusterActions::apply` does: `None` when refused for
    /// an older epoch, else whether it changed anything.
    pub fn apply(&mut self, kind: Kind, a: Action, epoch: u64) -> Option<bool> {
        if let Some(fixes) = kind.fixes() {
            return self.apply_stamped(fixes, a, epoch);
        }
        if epoch < self.applied_epoch {
            self.refused_stale = true;
            return None;
        }
        self.applied_epoch = epoch;
        let (i, v) = Self::slot(a);
        let changed = self.on[i] != v;
        self.on[i] = v;
        Some(changed)
    }

    /// The watchdog: past the serving deadline the network is off.
    pub fn watchdog(&mut self, mono: Duration) {
        if self.serve_deadline.is_some_and(|d| mono >= d) {
            self.on[3] = false;
        }
    }

    /// Whether converging to `d` (its role at its epoch) would leave the cluster exactly as it
    /// is: every step in place and no write or refusal for the epoch.
    pub fn untouched_by(&self, kind: Kind, d: &Decision) -> bool {
        if !self.converged(d.role) {
            return false;
        }
        match kind.fixes() {
            None => d.epoch >= self.applied_epoch,
            Some(fixes) => d
                .role
                .actions()
                .into_iter()
                .all(|a| self.admit(fixes, a, d.epoch) == Some(self.stamps[Self::slot(a).0])),
        }
    }

    /// Whether every step of `role` is in place.
    pub fn converged(&self, role: Role) -> bool {
        self.on.iter().all(|on| *on == role.is_active())
    }

    /// Serves: network on and the serving lease (if any) not lapsed.
    pub fn serving(&self, mono: Duration) -> bool {
        self.on[3] && self.serve_deadline.is_none_or(|d| mono < d)
    }
}

/// One agent: its current process (if up), a paused older process (if any), and its cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Agent {
    /// The cluster's name.
    pub name: String,
    /// The process runs (false after a crash or pause until a restart).
    pub up: bool,
    /// The agent's connection to the store (outlives processes).
    pub link: Link,
    /// The process's stage in its tick.
    pub stage: Stage,
    /// The time (in intervals) of the last tick started: one tick per interval.
    pub ticked_at: Option<u64>,
    /// What the process has observed.
    pub obs: Observations,
    /// The lock the process believes it holds.
    pub lock: Option<Lock>,
    /// How far the cluster got, as the process knows it.
    pub progress: LocalProgress,
    /// Send time of the newest heartbeat known to have succeeded.
    pub heartbeat_ok_at: Option<Duration>,
    /// The last `heartbeatSeq` used; kept across restarts (a sequence never repeats).
    pub seq: u64,
    /// The process has not read the group since it started and one of its reads failed
    /// already: at its next tick (its start deadline) it fences the cluster (Kubernetes, F1).
    pub first_read_failed: bool,
    /// The process's last decision (its report goes into the next heartbeat).
    pub last: Option<Decision>,
    /// An older, paused process of this agent.
    pub zombie: Option<Zombie>,
    /// The cluster.
    pub cluster: Cluster,
}

impl Agent {
    /// Writing or converging: a tick under way that has not reached the cluster yet.
    pub fn is_mid_tick(&self) -> bool {
        matches!(self.stage, Stage::Writing { .. } | Stage::Converging { .. })
    }
}

/// Sticky marks of a broken invariant, set where the breach happens (never set in a sound run,
/// so they do not split the state space).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Breaches {
    /// A lock was taken over before it had been unchanged for a whole lease.
    pub early_take_over: bool,
    /// An acknowledgement was written while its cluster was not fully deactivated.
    pub false_ack: bool,
    /// Ownership changed in a write that did not record its own version as the epoch.
    pub ungranted_ownership: bool,
    /// A process decided with an older epoch than its previous decision.
    pub decision_epoch_went_back: bool,
    /// A transition id that had ended came back into CONFIG.
    pub transition_came_back: bool,
}

/// The whole model state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct World {
    /// Global time, in intervals.
    pub now: u64,
    /// The coordination table of the group.
    pub table: Table,
    /// The agents, one per cluster.
    pub agents: Vec<Agent>,
    /// A person's request read at time 1 whose compare-and-set has not landed yet: (the
    /// version read, the CONFIG to write).
    pub request: Option<(u64, GroupConfig)>,
    /// Faults so far (see `Config::max_faults`).
    pub faults: u8,
    /// Delays so far (see `Config::max_delays`).
    pub delays: u8,
    /// The largest CONFIG version and epoch ever in the table (invariant 2).
    pub max_version: u64,
    /// See `max_version`.
    pub max_epoch: u64,
    /// Every history record ever in the table, as first written (invariant 4).
    pub history_ever: BTreeMap<String, HistoryRecord>,
    /// Breaches found while applying actions.
    pub breaches: Breaches,
    /// The run's settings change has been written.
    pub settings_changed: bool,
}

impl World {
    /// Agent `i`'s monotonic clock at global time `now`: each host has its own origin, so a
    /// comparison of two hosts' clocks would show up as a wrong decision.
    pub fn mono(i: usize, now: u64) -> Duration {
        Duration::from_secs(now * INTERVAL + 1000 * i as u64 + 7)
    }

    /// Wall time for records. The CONFIG version read rides in the milliseconds, so that two
    /// transitions never share a history sort key (docs/protocol.md, Decisions 16: that needs
    /// two requests in the same millisecond, which the coarse model clock would otherwise make
    /// routine).
    pub fn wall(now: u64, version: u64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_767_225_600, 0).unwrap_or_default()
            + Duration::from_secs(now * INTERVAL)
            + Duration::from_millis(version)
    }
}

/// The group's CONFIG at the start: owned by a, version and epoch 1, the model's timeouts.
pub fn initial_config() -> GroupConfig {
    let group = GroupId::new("shop", "web").expect("valid group");
    let mut c = GroupConfig::new("op", group, "a", World::wall(0, 0));
    c.heartbeat_interval = Duration::from_secs(INTERVAL).into();
    c.timeouts.heartbeat = Duration::from_secs(HEARTBEAT).into();
    c.timeouts.transitory_state = Duration::from_secs(TRANSITORY).into();
    c.timeouts.unhealthy_primary = Duration::from_secs(UNHEALTHY).into();
    // The model's clusters stop within the step that fences them.
    c.timeouts.deactivation = Duration::ZERO.into();
    c
}

/// The initial CONFIG of a run with a settings change: the longer heartbeat timeout (and a
/// transitoryState that validates with it), and b's FailoverGroup recorded as applied.
pub fn config_before_change() -> GroupConfig {
    let mut c = initial_config();
    c.timeouts.heartbeat = Duration::from_secs(HEARTBEAT_BEFORE_CHANGE).into();
    c.timeouts.transitory_state = Duration::from_secs(HEARTBEAT_BEFORE_CHANGE + 3).into();
    c.applied_specs
        .insert("b".into(), kubectl_failover::protocol::spec_text(&c));
    c
}

/// Every agent's policy.
pub fn policy(self_fencing: bool) -> GroupPolicy {
    GroupPolicy {
        self_fencing,
        cooldown: Some(Duration::from_secs(COOLDOWN)),
        ..GroupPolicy::default()
    }
}

/// Cluster names: a, b, c...
pub fn name(i: usize) -> String {
    char::from(b'a' + u8::try_from(i).expect("few clusters")).to_string()
}
