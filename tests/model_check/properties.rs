//! The properties of every run: invariants 1-4 of docs/protocol.md (and a true
//! acknowledgement) as `always`, and the `sometimes` witnesses that show a run reaches the
//! situations the invariants are about.

use super::model::FailoverModel;
use super::world::World;
use kubectl_failover::protocol::Role;
use stateright::Property;
use std::collections::BTreeSet;

/// A property's condition.
type Condition = fn(&FailoverModel, &World) -> bool;

/// The `always` properties, and the witnesses among `expect`.
pub fn all(expect: &[&str]) -> Vec<Property<FailoverModel>> {
    let mut ps = vec![
        Property::always(ONE_SERVER, one_server),
        Property::always(TRUE_ACKS, true_acks),
        Property::always(GROWING_VERSIONS, growing_versions),
        Property::always(ONE_LOCK_HOLDER, one_lock_holder),
        Property::always(ONE_HISTORY_RECORD, one_history_record),
    ];
    let witnesses: [(&'static str, Condition); 10] = [
        (OWNERSHIP_MOVES, ownership_moves),
        (PLANNED_COMPLETES, planned_completes),
        (AUTOMATIC_COMPLETES, automatic_completes),
        (ROLLED_BACK, rolled_back),
        (LOCK_TAKEN_OVER, lock_taken_over),
        (STALE_REFUSED, stale_refused),
        (OWNER_FENCED, owner_fenced),
        (FENCED_AT_START, fenced_at_start),
        (LATE_WRITE_REFUSED, late_write_refused),
        (SETTINGS_ACKNOWLEDGED, settings_acknowledged),
    ];
    for (name, condition) in witnesses {
        if expect.contains(&name) {
            ps.push(Property::sometimes(name, condition));
        }
    }
    ps
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
/// Witness (Kubernetes).
pub const FENCED_AT_START: &str =
    "a restarted agent that has not read the group by its start deadline fences its cluster";
/// Witness: a lowered heartbeat timeout was acknowledged by the owner.
pub const SETTINGS_ACKNOWLEDGED: &str = "the owner acknowledges changed safety settings";
/// Witness (Kubernetes).
pub const LATE_WRITE_REFUSED: &str =
    "an activation checked before a pause is refused when it lands, by a newer stamp";

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

fn fenced_at_start(_: &FailoverModel, w: &World) -> bool {
    w.agents.iter().any(|a| {
        a.last
            .as_ref()
            .is_some_and(|d| d.role == Role::Fenced && d.epoch == 0)
    })
}

fn settings_acknowledged(_: &FailoverModel, w: &World) -> bool {
    w.settings_changed
        && w.table.config.superseded.is_none()
        && w.table.config.timeouts.heartbeat.get().as_secs() == super::world::HEARTBEAT
}

fn late_write_refused(_: &FailoverModel, w: &World) -> bool {
    w.agents.iter().any(|a| a.cluster.late_write_refused)
}
