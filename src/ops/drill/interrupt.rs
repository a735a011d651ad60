//! What Ctrl-C does during a drill. The rule: a drill never leaves a group half-moved because
//! someone pressed a key. The first Ctrl-C before anything was written stops with nothing
//! done; later, it cuts the drill short and fails back (once a move in flight has ended: a
//! transition cannot be taken back, only followed). A second Ctrl-C stops following and says
//! exactly where each group was left and how to finish.

use crate::store::{GroupId, Transition};

/// Where the drill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Checked and confirmed, nothing written yet.
    BeforeFirstMove,
    /// The move to the target is in flight.
    FirstMove,
    /// The groups are held on the target.
    Hold,
    /// The move back is in flight.
    FailBack,
}

/// What to do about a Ctrl-C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Stop; nothing was written.
    StopNothingDone,
    /// Keep following the move in flight, then fail back (skipping the hold).
    FailBackAfterMove,
    /// End the hold and fail back now.
    FailBackNow,
    /// Keep following the fail back: it is what restores the groups.
    KeepFailingBack,
    /// Stop following; report where every group is.
    StopAndReport,
}

/// The action for the `count`-th Ctrl-C (1 for the first) received during `stage`.
pub fn on_interrupt(stage: Stage, count: usize) -> OnInterrupt {
    match (stage, count) {
        (Stage::BeforeFirstMove, _) => OnInterrupt::StopNothingDone,
        (_, n) if n >= 2 => OnInterrupt::StopAndReport,
        (Stage::FirstMove, _) => OnInterrupt::FailBackAfterMove,
        (Stage::Hold, _) => OnInterrupt::FailBackNow,
        (Stage::FailBack, _) => OnInterrupt::KeepFailingBack,
    }
}

/// What the drill says on stderr when it takes `action`.
pub fn announce(action: OnInterrupt, to: &str) -> String {
    match action {
        OnInterrupt::StopNothingDone => "Ctrl-C: stopping before the first move; nothing was written".to_string(),
        OnInterrupt::FailBackAfterMove => format!(
            "Ctrl-C: the move to {to} is in flight and cannot be taken back; the drill follows it to its end, then fails back at once (Ctrl-C again stops following and says where each group is)"
        ),
        OnInterrupt::FailBackNow => "Ctrl-C: ending the hold, failing back now (Ctrl-C again stops following and says where each group is)".to_string(),
        OnInterrupt::KeepFailingBack => "Ctrl-C: already failing back; the drill follows it to its end (Ctrl-C again stops following; the agents finish the fail back anyway)".to_string(),
        OnInterrupt::StopAndReport => "Ctrl-C again: stopping; the groups are where the lines below say".to_string(),
    }
}

/// Exactly where a group was left when the drill stopped, and the command that finishes it.
/// `original` is the owner the drill started from; `owner` and `transition` are what was read.
pub fn left_state(
    group: &GroupId,
    original: &str,
    owner: &str,
    transition: Option<&Transition>,
) -> String {
    match transition {
        Some(t) => format!(
            "{group}: owner {owner}, transition {} ({} -> {}) in phase {} still running; the agents finish it (follow it with `kubectl failover status {group}`); if {original} is not primary once it has ended, run `kubectl failover promote {group} --to {original}`",
            t.id, t.source, t.target, t.phase
        ),
        None if owner == original => {
            format!("{group}: owner {owner}, no transition running: back where the drill started")
        }
        None => format!(
            "{group}: owner {owner} (it serves there), no transition running; to finish the drill run `kubectl failover promote {group} --to {original}`"
        ),
    }
}
