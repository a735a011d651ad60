//! The Kubernetes kind of cluster (`src/k8s/kube/`): no serving-lease watchdog (only an agent
//! switches the network off), the fencing epoch stamped on each object
//! (`src/k8s/kube/fencing.rs`), writes conditional on the object's `resourceVersion`, and the
//! three fixes that keep invariant 1 there, each a switch so that a run can show what removing
//! it does:
//!
//! - F1, the fresh agent's fence (`src/agent/group/start.rs`): a process that has not read the
//!   group by `created + min(heartbeatInterval, serve window)` (its second tick in the model)
//!   runs the deactivation steps at epoch 0 before its store calls, and holds that FENCED
//!   decision while reads fail. Without it the process leaves the cluster as it found it.
//! - F2, every object stamped: an action writes its epoch on each object whose stamp is older,
//!   even when the object is already in the asked state (an annotation-only patch, which
//!   changes the `resourceVersion`). Without it such a step writes nothing and the old stamp
//!   stays. Either way an activation is refused by a newer stamp.
//! - F3, deactivation past any epoch: a deactivation is never refused by a stamp (a newer one is
//!   kept, never lowered). Without it a deactivation older than the object's stamp is refused,
//!   the fresh agent's fence at epoch 0 included.
//!
//! The pause between the deadline check and the write: a process converging to PRIMARY may
//! freeze after checking an activation step (serving deadline not passed, stamp not newer, the
//! object not yet on) and before its write lands (`InFlight`); the write carries the
//! `resourceVersion` read at the check, so when it lands (the frozen process wakes up) it goes
//! through only if the object has not changed since; otherwise it fails with 409 and, as
//! `Fence::change` does, the object is read, checked and patched again, now against its
//! current stamp. It lands within `Config::late_write_bound` intervals of the check (two: the
//! fence margin) or never: a frozen process is killed and replaced within the restart budget,
//! and a request it sent is answered or abandoned within its call bound. Without a bound the
//! fixes do not suffice (a run shows it): the fresh agent's fence at epoch 0 stamps nothing, so
//! a write that lands after it, past the others' takeover, switches the network on again.
//!
//! There is no process-wide memory of applied epochs: each process's own `applied` map
//! (`KubeCluster::check_applied`) refuses nothing here, because one process's decisions never
//! go back in epoch (`Breaches::decision_epoch_went_back`) and the fence at epoch 0 is a
//! deactivation, and it dies with the process.

use super::world::{Cluster, World};
use kubectl_failover::k8s::Action;
use kubectl_failover::protocol::{Decision, Report, Role};
use kubectl_failover::store::ClusterState;

/// Which of the fixes a Kubernetes cluster has (all of them in the code as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fixes {
    /// F1: a fresh agent that has not read the group by its start deadline fences the cluster.
    pub fence_at_start: bool,
    /// F2: an older stamp is replaced even on an object already in the asked state.
    pub stamp_every_object: bool,
    /// F3: a deactivation is never refused by a newer stamp.
    pub deactivate_past_newer_stamps: bool,
}

impl Fixes {
    /// The backend as the code implements it.
    pub const ALL: Fixes = Fixes {
        fence_at_start: true,
        stamp_every_object: true,
        deactivate_past_newer_stamps: true,
    };
}

/// An activation write checked by a process that froze before it landed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InFlight {
    /// The step.
    pub action: Action,
    /// Its epoch.
    pub epoch: u64,
    /// When it was checked (intervals): it lands within `Config::late_write_bound` or never.
    pub checked_at: u64,
    /// The object changed since the check (another write landed on it): the `resourceVersion`
    /// the write carries is stale, so it fails with 409 and is checked again.
    pub object_changed: bool,
}

impl Cluster {
    /// What the stamp on `a`'s object allows `a` at `epoch` (`Fence::admit` and the patch it
    /// decides): `None` when refused, else the stamp the object carries afterwards.
    pub fn admit(&self, fixes: Fixes, a: Action, epoch: u64) -> Option<u64> {
        let (i, activation) = Self::slot(a);
        let stamp = self.stamps[i];
        if stamp > epoch {
            // Newer: refuses an activation; a deactivation goes on and keeps it (F3).
            return (!activation && fixes.deactivate_past_newer_stamps).then_some(stamp);
        }
        if self.on[i] == activation && !fixes.stamp_every_object {
            // Already in the asked state: without F2 nothing is written, the old stamp stays.
            return Some(stamp);
        }
        Some(epoch)
    }

    /// `KubeCluster::apply` of one step at `epoch`: `None` when refused, else whether it
    /// changed the object's state. A write (a change, or only a newer stamp) makes any
    /// in-flight write on the same object stale.
    pub fn apply_stamped(&mut self, fixes: Fixes, a: Action, epoch: u64) -> Option<bool> {
        let Some(stamp) = self.admit(fixes, a, epoch) else {
            self.refused_stale = true;
            return None;
        };
        let (i, on) = Self::slot(a);
        let changed = self.on[i] != on;
        if changed || stamp != self.stamps[i] {
            self.on[i] = on;
            self.stamps[i] = stamp;
            if let Some(f) = &mut self.in_flight
                && Self::slot(f.action).0 == i
            {
                f.object_changed = true;
            }
        }
        Some(changed)
    }

    /// Whether an activation step at `epoch` passes its check and would switch its object on:
    /// the moment a pause may separate from its write.
    pub fn checks_and_switches_on(&self, fixes: Fixes, a: Action, epoch: u64) -> bool {
        let (i, on) = Self::slot(a);
        on && !self.on[i] && self.admit(fixes, a, epoch).is_some()
    }

    /// The in-flight write lands: as checked when its object is unchanged since the check (the
    /// `resourceVersion` matches), else read, checked and decided again (409 and retry).
    pub fn land(&mut self, fixes: Fixes) {
        let Some(f) = self.in_flight.take() else {
            return;
        };
        if f.object_changed {
            if self.apply_stamped(fixes, f.action, f.epoch).is_none() {
                self.late_write_refused = true;
            }
        } else {
            let (i, on) = Self::slot(f.action);
            self.on[i] = on;
            self.stamps[i] = f.epoch;
        }
    }
}

/// The decision of a fresh agent that has not read the group by its start deadline
/// (`group/start.rs`, `fence`): FENCED at epoch 0, reported as a fenced STANDBY.
pub fn fence_at_start() -> Decision {
    Decision {
        role: Role::Fenced,
        epoch: 0,
        serve_until: None,
        writes: Vec::new(),
        report: Report {
            state: ClusterState::Standby,
            fenced: true,
            ack: None,
        },
        notes: Vec::new(),
        read_lock_next: true,
        forget_lock: false,
    }
}

/// The object stamps of agent `i`'s cluster and its in-flight write, for a timeline.
pub fn describe(w: &World, i: usize) -> String {
    let c = &w.agents[i].cluster;
    let mut s = format!(" stamps {:?}", c.stamps);
    if let Some(f) = &c.in_flight {
        let stale = if f.object_changed {
            ", object changed"
        } else {
            ""
        };
        s.push_str(&format!(" in-flight {:?} e{}{stale}", f.action, f.epoch));
    }
    s
}
