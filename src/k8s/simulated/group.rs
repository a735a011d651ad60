//! One group's simulated resources in one cluster, and how each action moves them. Time is only
//! ever passed in (`now`, from the cluster's monotonic clock): states that take time to reach
//! (ready replicas, volume roles) are computed from when they were asked for, so a ManualClock
//! drives them deterministically.

use super::log::EventKind;
use super::spec::{SimGroupSpec, WorkloadKind};
use crate::k8s::{Action, Progress};
use crate::store::Health;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The replication role of a simulated VolumeReplication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VolumeRole {
    /// Writable, replicating to the other clusters.
    Primary,
    /// Read-only replica.
    Secondary,
}

impl fmt::Display for VolumeRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // csi-addons' spelling of `spec.replicationState` / `status.state`.
        f.write_str(match self {
            VolumeRole::Primary => "primary",
            VolumeRole::Secondary => "secondary",
        })
    }
}

/// A workload as a test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimWorkloadState {
    /// Deployment or StatefulSet.
    pub kind: WorkloadKind,
    /// Object name.
    pub name: String,
    /// `spec.replicas`.
    pub replicas: u32,
    /// `status.readyReplicas`.
    pub ready: u32,
    /// The replica count to restore on scale-up (the real controller's annotation).
    pub remembered: u32,
}

/// A VolumeReplication as a test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimVolumeState {
    /// Object name.
    pub name: String,
    /// The asked role (`spec.replicationState`).
    pub desired: VolumeRole,
    /// The reached role (`status.state`).
    pub state: VolumeRole,
    /// Whether a fault keeps it from ever reaching the asked role.
    pub stuck: bool,
}

/// Everything about one group in one simulated cluster, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimGroupState {
    /// Workloads in spec order.
    pub workloads: Vec<SimWorkloadState>,
    /// Whether the CronJobs are suspended.
    pub cronjobs_suspended: bool,
    /// Whether the Flux resources are suspended.
    pub flux_suspended: bool,
    /// How many Flux reconciles were requested (one per Flux resource resumed).
    pub flux_reconcile_requests: u64,
    /// Whether the DNS/traffic annotations are on, i.e. the cluster serves the group.
    pub network_on: bool,
    /// Volume replications in spec order.
    pub volumes: Vec<SimVolumeState>,
    /// The newest fencing epoch applied to the group (0 before any action).
    pub applied_epoch: u64,
}

#[derive(Debug)]
pub(super) struct WorkloadSim {
    pub(super) kind: WorkloadKind,
    pub(super) name: String,
    pub(super) replicas: u32,
    remembered: u32,
    scaled_at: Duration,
    /// Replicas already ready at `scaled_at` (kept across a rescale of a running workload).
    ready_from: u32,
}

impl WorkloadSim {
    /// Ready replicas at `now`: the missing ones come up one by one, evenly over `delay` after
    /// the last scale; surplus ones go at once.
    pub(super) fn ready(&self, now: Duration, delay: Duration) -> u32 {
        let elapsed = now.saturating_sub(self.scaled_at);
        if self.ready_from >= self.replicas || elapsed >= delay {
            return self.replicas;
        }
        let missing = u128::from(self.replicas - self.ready_from);
        let ramp = missing * elapsed.as_nanos() / delay.as_nanos();
        let ready = u128::from(self.ready_from) + ramp;
        u32::try_from(ready).map_or(self.replicas, |r| r.min(self.replicas))
    }

    /// Sets `spec.replicas`, keeping the replicas that are ready now.
    fn scale(&mut self, replicas: u32, now: Duration, delay: Duration) {
        self.ready_from = self.ready(now, delay).min(replicas);
        self.replicas = replicas;
        self.scaled_at = now;
    }
}

#[derive(Debug)]
pub(super) struct VolumeSim {
    pub(super) name: String,
    pub(super) desired: VolumeRole,
    pub(super) state: VolumeRole,
    asked_at: Duration,
    pub(super) stuck: bool,
}

impl VolumeSim {
    /// Moves `state` to `desired` once `delay` has passed since it was asked. Evaluating lazily
    /// is exact: the outcome depends only on `asked_at`, not on when someone looks.
    fn settle(&mut self, now: Duration, delay: Duration) {
        if !self.stuck && self.state != self.desired && now >= self.asked_at + delay {
            self.state = self.desired;
        }
    }

    fn ask(&mut self, role: VolumeRole, now: Duration) {
        // Re-asking for the role already asked keeps the original time, so a Pending promotion
        // re-applied every tick still finishes on schedule.
        if self.desired != role {
            self.desired = role;
            self.asked_at = now;
        }
    }

    pub(super) fn transition(&self) -> String {
        format!("volume {}: {} -> {}", self.name, self.state, self.desired)
    }
}

/// The live state of one group.
#[derive(Debug)]
pub(super) struct GroupSim {
    pub(super) spec: SimGroupSpec,
    pub(super) workloads: Vec<WorkloadSim>,
    cronjobs_suspended: bool,
    flux_suspended: bool,
    flux_reconcile_requests: u64,
    pub(super) network_on: bool,
    pub(super) volumes: Vec<VolumeSim>,
    pub(super) applied_epoch: u64,
    pub(super) overrides: BTreeMap<String, Health>,
    /// Until when the watchdog lets the network stay on (`None`: not armed).
    pub(super) serving_deadline: Option<Duration>,
    /// Per step family, whether the timeline last said it was activated, so each completed
    /// change is logged once however often the agent re-applies it.
    announced: [bool; 4],
}

/// Index of the network step family in `GroupSim::announced`.
const NETWORK_FAMILY: usize = 3;

impl GroupSim {
    /// A fully deactivated group: replicas 0 (the spec's counts remembered), jobs suspended,
    /// network off, volumes secondary. The agent activates whichever cluster CONFIG names.
    pub(super) fn new(spec: SimGroupSpec) -> Self {
        let workloads = spec
            .workloads
            .iter()
            .map(|w| WorkloadSim {
                kind: w.kind,
                name: w.name.clone(),
                replicas: 0,
                remembered: w.replicas,
                scaled_at: Duration::ZERO,
                ready_from: 0,
            })
            .collect();
        let volumes = spec
            .volume_replications
            .iter()
            .map(|name| VolumeSim {
                name: name.clone(),
                desired: VolumeRole::Secondary,
                state: VolumeRole::Secondary,
                asked_at: Duration::ZERO,
                stuck: false,
            })
            .collect();
        GroupSim {
            spec,
            workloads,
            cronjobs_suspended: true,
            flux_suspended: true,
            flux_reconcile_requests: 0,
            network_on: false,
            volumes,
            applied_epoch: 0,
            overrides: BTreeMap::new(),
            serving_deadline: None,
            announced: [false; 4],
        }
    }

    /// The watchdog: once the serving lease has lapsed, the network goes off by itself. Returns
    /// the instant it lapsed when this call is the one that switched the network off.
    pub(super) fn expire_serving_lease(&mut self, now: Duration) -> Option<Duration> {
        let deadline = self.serving_deadline?;
        if !self.network_on || now < deadline {
            return None;
        }
        self.network_on = false;
        // The network family is no longer "activated" on the timeline, so the next NetworkOn is
        // announced again and a later NetworkOff is not announced twice.
        self.announced[NETWORK_FAMILY] = false;
        Some(deadline)
    }

    /// Brings time-dependent states up to `now`; called before every read or change.
    pub(super) fn settle(&mut self, now: Duration) {
        let delay = self.spec.promote_delay;
        self.volumes.iter_mut().for_each(|v| v.settle(now, delay));
    }

    /// Carries out `action` (idempotently) and says how far it got, plus the timeline event
    /// when this call is the one that completes a change.
    pub(super) fn apply(&mut self, action: Action, now: Duration) -> (Progress, Option<EventKind>) {
        self.settle(now);
        let progress = match action {
            Action::PromoteVolumes => self.volumes_to(VolumeRole::Primary, now),
            Action::DemoteVolumes => self.volumes_to(VolumeRole::Secondary, now),
            Action::ScaleUp => self.scale_up(now),
            Action::ScaleDown => self.scale_down(now),
            Action::ResumeJobs => {
                if self.flux_suspended {
                    // Resuming requests a reconcile (`reconcile.fluxcd.io/requestedAt`) once per
                    // resource; re-applying to a resumed group must not trigger more.
                    self.flux_reconcile_requests += self.spec.flux.len() as u64;
                }
                self.cronjobs_suspended = false;
                self.flux_suspended = false;
                Progress::Done
            }
            Action::SuspendJobs => {
                self.cronjobs_suspended = true;
                self.flux_suspended = true;
                Progress::Done
            }
            Action::NetworkOn => {
                self.network_on = true;
                Progress::Done
            }
            Action::NetworkOff => {
                self.network_on = false;
                Progress::Done
            }
        };
        let event = match progress {
            Progress::Done => self.announce(action),
            Progress::Pending(_) => None,
        };
        (progress, event)
    }

    fn volumes_to(&mut self, role: VolumeRole, now: Duration) -> Progress {
        let delay = self.spec.promote_delay;
        for v in &mut self.volumes {
            v.ask(role, now);
            // A zero delay completes within this very call.
            v.settle(now, delay);
        }
        let pending: Vec<String> = self
            .volumes
            .iter()
            .filter(|v| v.state != role)
            .map(VolumeSim::transition)
            .collect();
        pending_or_done(pending)
    }

    fn scale_up(&mut self, now: Duration) -> Progress {
        let delay = self.spec.ready_delay;
        for w in &mut self.workloads {
            // Only a real change restarts readiness, so re-applying while Pending converges.
            if w.replicas != w.remembered {
                w.scale(w.remembered, now, delay);
            }
        }
        let pending: Vec<String> = self
            .workloads
            .iter()
            .filter_map(|w| {
                let ready = w.ready(now, delay);
                (ready < w.replicas)
                    .then(|| format!("{}/{}: {ready}/{} ready", w.kind, w.name, w.replicas))
            })
            .collect();
        pending_or_done(pending)
    }

    fn scale_down(&mut self, now: Duration) -> Progress {
        let delay = self.spec.ready_delay;
        for w in &mut self.workloads {
            if w.replicas > 0 {
                // Like the real annotation: remember what to restore, then scale to 0. Pods
                // stop being ready at once, so there is nothing to wait for.
                w.remembered = w.replicas;
                w.scale(0, now, delay);
            }
        }
        Progress::Done
    }

    /// Sets one workload's replicas as `kubectl scale` (or an autoscaler) would; a scaled-down
    /// workload only has its remembered count changed, as editing the annotation would.
    pub(super) fn set_replicas(&mut self, workload: &str, replicas: u32, now: Duration) -> bool {
        let delay = self.spec.ready_delay;
        let Some(w) = self.workloads.iter_mut().find(|w| w.name == workload) else {
            return false;
        };
        if w.replicas == 0 {
            w.remembered = replicas;
        } else if w.replicas != replicas {
            w.scale(replicas, now, delay);
        }
        true
    }

    fn announce(&mut self, action: Action) -> Option<EventKind> {
        let (family, active, kind) = match action {
            Action::PromoteVolumes => (0, true, EventKind::VolumesPrimary),
            Action::DemoteVolumes => (0, false, EventKind::VolumesSecondary),
            Action::ScaleUp => (1, true, EventKind::ScaledUp),
            Action::ScaleDown => (1, false, EventKind::ScaledDown),
            Action::ResumeJobs => (2, true, EventKind::JobsResumed),
            Action::SuspendJobs => (2, false, EventKind::JobsSuspended),
            Action::NetworkOn => (NETWORK_FAMILY, true, EventKind::ServingStarted),
            Action::NetworkOff => (NETWORK_FAMILY, false, EventKind::ServingStopped),
        };
        // The network family changes within the call that asks for it, so its announcements
        // are exactly the serving changes the overlap check needs.
        (self.announced[family] != active).then(|| {
            self.announced[family] = active;
            kind
        })
    }

    /// The state for assertions, brought up to `now`.
    pub(super) fn snapshot(&mut self, now: Duration) -> SimGroupState {
        self.settle(now);
        let delay = self.spec.ready_delay;
        SimGroupState {
            workloads: self
                .workloads
                .iter()
                .map(|w| SimWorkloadState {
                    kind: w.kind,
                    name: w.name.clone(),
                    replicas: w.replicas,
                    ready: w.ready(now, delay),
                    remembered: w.remembered,
                })
                .collect(),
            cronjobs_suspended: self.cronjobs_suspended,
            flux_suspended: self.flux_suspended,
            flux_reconcile_requests: self.flux_reconcile_requests,
            network_on: self.network_on,
            volumes: self
                .volumes
                .iter()
                .map(|v| SimVolumeState {
                    name: v.name.clone(),
                    desired: v.desired,
                    state: v.state,
                    stuck: v.stuck,
                })
                .collect(),
            applied_epoch: self.applied_epoch,
        }
    }
}

fn pending_or_done(pending: Vec<String>) -> Progress {
    if pending.is_empty() {
        Progress::Done
    } else {
        Progress::Pending(pending.join(", "))
    }
}
