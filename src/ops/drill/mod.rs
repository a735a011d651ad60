//! The `drill` use case, pure: a rehearsal moves groups to a cluster with a planned failover
//! and back again, and reports every phase, the downtime each way and a verdict. This module
//! plans it, judges the pre-checks and the moves, decides what Ctrl-C does at each stage and
//! renders the report (table, JSON, Markdown); `cli::drill` does the reading, writing and
//! waiting. Every duration in here was measured by the caller and handed in, so the whole
//! report is reproducible in tests.

pub mod checks;
pub mod interrupt;
pub mod moves;
pub mod plan;
pub mod render;
pub mod report;
pub mod timeline;

pub use checks::{Check, PromoteCheck, advanced, assess, heartbeat_check};
pub use interrupt::{OnInterrupt, Stage, announce, left_state, on_interrupt};
pub use moves::{MoveEnd, MoveFacts, MoveReport};
pub use plan::{DrillPlan, GroupPlan, Leg, downtime_bound, drill_id};
pub use report::{DrillReport, Outcome, Verdict};
pub use timeline::{Downtime, DowntimeFrom, PhaseSpan, Timeline, downtime};

use std::time::Duration;

/// Why a drill cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrillError {
    /// No group to rehearse with.
    #[error(
        "a drill needs groups: give NAMESPACE/NAME ... or --all-from CLUSTER; e.g. kubectl failover drill shop/web --to west"
    )]
    NoGroups,
    /// The target owns one of the groups already.
    #[error(
        "{group} is already served by {to}: a drill moves a group away from its owner and back; choose another --to (see `kubectl failover status {group}`)"
    )]
    AlreadyOnTarget {
        /// `namespace/name`.
        group: String,
        /// The target.
        to: String,
    },
}

/// Seconds of a duration as a float, for the JSON report.
pub(crate) fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Serializes a duration as seconds (a float).
pub(crate) fn plain_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(seconds(*d))
}

/// Serializes an optional duration as seconds, or null.
pub(crate) fn opt_seconds<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&seconds(*d)),
        None => s.serialize_none(),
    }
}

/// A duration for people: tenths below ten seconds (phases are that short), whole seconds
/// below two minutes, then minutes and seconds. Whole values print without a fraction, so a
/// downtime recorded in whole seconds does not look more precise than it is.
pub fn format_secs(secs: f64) -> String {
    let secs = secs.max(0.0);
    if secs < 10.0 {
        if secs.fract() == 0.0 {
            format!("{secs:.0}s")
        } else {
            format!("{secs:.1}s")
        }
    } else if secs < 120.0 {
        format!("{:.0}s", secs.round())
    } else {
        let whole = secs.round() as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod tests;
