//! One move of a drill as reported, and what makes it fail the drill.

use super::plan::{GroupPlan, Leg};
use super::timeline::{Downtime, PhaseSpan, Timeline, downtime};
use super::{format_secs, opt_seconds, plain_seconds, seconds};
use crate::store::{HistoryRecord, HistoryStatus};
use serde::{Serialize, Serializer};
use std::time::Duration;

/// How a move ended, as far as the drill knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveEnd {
    /// The target owns the group.
    Moved,
    /// The transition ended without moving the group (rolled back, failed).
    NotMoved,
    /// It had not ended when the drill's timeout ran out.
    TimedOut,
    /// The drill stopped following it (a second Ctrl-C).
    Stopped,
    /// The request was refused; promote's message.
    NotRequested(String),
    /// Never attempted; why.
    Skipped(String),
}

impl MoveEnd {
    /// The name in the JSON report.
    pub fn as_str(&self) -> &'static str {
        match self {
            MoveEnd::Moved => "moved",
            MoveEnd::NotMoved => "notMoved",
            MoveEnd::TimedOut => "timedOut",
            MoveEnd::Stopped => "stopped",
            MoveEnd::NotRequested(_) => "notRequested",
            MoveEnd::Skipped(_) => "skipped",
        }
    }
}

impl Serialize for MoveEnd {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What is known of one move when it is reported.
#[derive(Debug, Clone)]
pub struct MoveFacts<'a> {
    /// The group's plan.
    pub plan: &'a GroupPlan,
    /// Out or back.
    pub leg: Leg,
    /// From.
    pub source: &'a str,
    /// To.
    pub target: &'a str,
    /// The transition's id, when requested.
    pub id: Option<String>,
    /// How it ended.
    pub end: MoveEnd,
    /// What the follow loop saw.
    pub timeline: &'a Timeline,
    /// Its HISTORY record, when found.
    pub history: Option<&'a HistoryRecord>,
}

/// One move in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveReport {
    /// `namespace/name`.
    pub group: String,
    /// Out or back.
    pub leg: Leg,
    /// From.
    pub source: String,
    /// To.
    pub target: String,
    /// The transition (HISTORY's `failoverName`).
    pub id: Option<String>,
    /// How it ended.
    pub result: MoveEnd,
    /// The HISTORY record's status.
    pub status: Option<String>,
    /// The phases seen, in order.
    pub phases: Vec<PhaseSpan>,
    /// Request to end, as seen by the drill.
    #[serde(rename = "tookSeconds", serialize_with = "opt_seconds")]
    pub took: Option<Duration>,
    /// How long the group was not served.
    pub downtime: Option<Downtime>,
    /// The most downtime that passes.
    #[serde(rename = "boundSeconds", serialize_with = "plain_seconds")]
    pub bound: Duration,
}

impl MoveReport {
    /// The report of a move from what was seen of it.
    pub fn new(f: MoveFacts<'_>) -> Self {
        MoveReport {
            group: f.plan.group.clone(),
            leg: f.leg,
            source: f.source.to_string(),
            target: f.target.to_string(),
            id: f.id,
            status: f.history.map(|h| h.status.clone()),
            phases: f.timeline.spans(),
            took: f.timeline.took(),
            downtime: downtime(f.history, f.timeline.source_stopped_at()),
            bound: f.plan.bound,
            result: f.end,
        }
    }

    /// `east -> west`.
    pub fn route(&self) -> String {
        format!("{} -> {}", self.source, self.target)
    }

    /// Why this move fails the drill, or `None` when it passes.
    pub fn problem(&self) -> Option<String> {
        let at = format!("{} {}", self.group, self.route());
        let status = self.status.as_deref();
        let why = match &self.result {
            MoveEnd::NotRequested(why) => format!("not requested: {why}"),
            MoveEnd::Skipped(why) => format!("not run: {why}"),
            MoveEnd::Stopped => "no longer followed (stopped by a second Ctrl-C)".to_string(),
            MoveEnd::TimedOut => format!(
                "had not ended when the drill's timeout ran out (last phase seen: {})",
                self.phases
                    .last()
                    .map_or("none".to_string(), |p| p.phase.to_string())
            ),
            MoveEnd::NotMoved => format!(
                "ended {} without moving the group; {} still owns it (`kubectl failover history {}` says why)",
                status.unwrap_or("early"),
                self.source,
                self.group
            ),
            MoveEnd::Moved => match status {
                None => format!(
                    "no HISTORY record found for {}; the outcome cannot be judged",
                    self.id.as_deref().unwrap_or("the transition")
                ),
                Some(s) if s == HistoryStatus::ForcedComplete.as_str() => format!(
                    "ended FORCED_COMPLETE: {} never acknowledged its stop, so {} waited out its silence; check the controller of {}",
                    self.source, self.target, self.source
                ),
                Some(s) if s != HistoryStatus::Success.as_str() => format!("ended {s}"),
                Some(_) => match self.downtime {
                    None => "downtime unknown: the HISTORY record has none and the source's stop was not seen".to_string(),
                    Some(d) if d.seconds > seconds(self.bound) => format!(
                        "unserved for {}, longer than the bound {} (timeouts.heartbeat + timeouts.deactivation, or --max-downtime)",
                        format_secs(d.seconds),
                        format_secs(seconds(self.bound))
                    ),
                    Some(_) => return None,
                },
            },
        };
        Some(format!("{at}: {why}"))
    }
}
