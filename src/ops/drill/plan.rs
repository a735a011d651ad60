//! What a drill will do: which groups go from which owner to the target and back, how long it
//! holds in between, and the downtime each move must stay within to pass.

use super::{format_secs, plain_seconds, seconds};
use crate::clock::Clock;
use crate::store::{FailoverMode, GroupConfig};
use serde::Serialize;
use std::time::Duration;

/// Which way a move goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Leg {
    /// From the owner to the drill's target.
    Out,
    /// From the target back to the original owner.
    Back,
}

impl Leg {
    /// How the report names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Out => "out",
            Leg::Back => "back",
        }
    }
}

/// One group of the drill.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPlan {
    /// `namespace/name`.
    pub group: String,
    /// Its owner when the drill starts, where it goes back to.
    pub from: String,
    /// The longest downtime a move of this group may have and still pass.
    #[serde(rename = "boundSeconds", serialize_with = "plain_seconds")]
    pub bound: Duration,
}

/// The whole drill.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillPlan {
    /// The cluster every group is moved to.
    pub to: String,
    /// Always CONSISTENCY: a drill rehearses the planned failover people rely on.
    pub mode: FailoverMode,
    /// The groups, in the order given.
    pub groups: Vec<GroupPlan>,
    /// How long the groups stay on the target before failing back.
    #[serde(rename = "holdSeconds", serialize_with = "plain_seconds")]
    pub hold: Duration,
    /// How long each move may take before the drill gives up on it.
    #[serde(rename = "timeoutSeconds", serialize_with = "plain_seconds")]
    pub timeout: Duration,
}

/// The downtime bound of a group: `--max-downtime` when given, else `timeouts.heartbeat +
/// timeouts.deactivation`, the wait an unplanned failover must sit out before its target may
/// even start. A planned move that leaves the group unserved for longer than that is slower
/// than losing the owner would be: a finding the drill must report.
pub fn downtime_bound(config: &GroupConfig, max_downtime: Option<Duration>) -> Duration {
    max_downtime.unwrap_or_else(|| {
        config
            .timeouts
            .heartbeat
            .get()
            .saturating_add(config.timeouts.deactivation.get())
    })
}

/// The transition id of a drill move: like promote's, but readable as a drill in `history`.
pub fn drill_id(target: &str, clock: &dyn Clock) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "drill-{target}-{}-{}",
        clock.now().format("%Y%m%d-%H%M%S"),
        &suffix[..6]
    )
}

impl DrillPlan {
    /// `east -> west -> east`, or `each owner -> west -> back` for groups of several owners.
    pub fn route(&self) -> String {
        match self.owners().as_slice() {
            [one] => format!("{one} -> {} -> {one}", self.to),
            _ => format!("each owner -> {} -> back", self.to),
        }
    }

    /// The distinct owners the groups start on, sorted.
    pub fn owners(&self) -> Vec<&str> {
        let mut owners: Vec<&str> = self.groups.iter().map(|g| g.from.as_str()).collect();
        owners.sort_unstable();
        owners.dedup();
        owners
    }

    /// The groups as `shop/web (owner east), ...`.
    pub fn groups_text(&self) -> String {
        let names: Vec<String> = self
            .groups
            .iter()
            .map(|g| format!("{} (owner {})", g.group, g.from))
            .collect();
        names.join(", ")
    }

    /// The steps in order, for the dry run and the confirmation.
    pub fn steps(&self) -> Vec<String> {
        let names: Vec<&str> = self.groups.iter().map(|g| g.group.as_str()).collect();
        let names = names.join(", ");
        let owners = self.owners();
        let bounds: Vec<Duration> = self.groups.iter().map(|g| g.bound).collect();
        let bound = match (bounds.iter().min(), bounds.iter().max()) {
            (Some(lo), Some(hi)) if lo == hi => format_secs(seconds(*lo)),
            (Some(lo), Some(hi)) => format!(
                "{} to {} (per group)",
                format_secs(seconds(*lo)),
                format_secs(seconds(*hi))
            ),
            _ => "-".to_string(),
        };
        let to = &self.to;
        let timeout = format_secs(seconds(self.timeout));
        let mut steps = vec![
            format!(
                "check {names}: exists, automatic failover not suspended, no transition or lock in flight, {} and {to} report health OK and their heartbeats advance",
                owners.join(", ")
            ),
            format!(
                "move {names} to {to}: a planned CONSISTENCY failover marked as a drill; follow it until {to} serves (at most {timeout})"
            ),
        ];
        if !self.hold.is_zero() {
            steps.push(format!(
                "hold {} on {to} (Ctrl-C ends the hold and fails back at once)",
                format_secs(seconds(self.hold))
            ));
        }
        steps.push(format!(
            "fail back to {}: a planned failover marked as a drill; follow it until the owner serves again (at most {timeout})",
            owners.join(", ")
        ));
        steps.push(format!(
            "report every phase with its duration and the downtime each way; PASS when every move ends SUCCESS with a downtime within {bound}"
        ));
        steps
    }
}
