//! The drill's report: the plan, the checks, the moves, and the verdict over all of it.

use super::checks::Check;
use super::moves::{MoveEnd, MoveReport};
use super::plan::{DrillPlan, Leg};
use super::{format_secs, opt_seconds};
use crate::error::ExitCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// The drill's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// Every move succeeded within its bound.
    Pass,
    /// Something went wrong; the reasons say what.
    Fail,
    /// A pre-check failed; nothing was written.
    Refused,
    /// A dry run whose checks passed; nothing was written.
    Planned,
}

impl Outcome {
    /// How the report prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Refused => "REFUSED",
            Outcome::Planned => "PLANNED",
        }
    }
}

/// The verdict and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The result.
    pub result: Outcome,
    /// One line for people.
    pub summary: String,
    /// Every reason it did not pass.
    pub reasons: Vec<String>,
}

/// The whole drill, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DrillReport {
    /// What was planned.
    pub plan: DrillPlan,
    /// Nothing was to be written.
    pub dry_run: bool,
    /// The plan's steps, in order.
    pub steps: Vec<String>,
    /// When the drill started (our clock).
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// What was checked before anything was written.
    pub checks: Vec<Check>,
    /// The moves, out then back.
    pub moves: Vec<MoveReport>,
    /// How long the groups were held on the target.
    #[serde(rename = "heldSeconds", serialize_with = "opt_seconds")]
    pub held: Option<Duration>,
    /// What Ctrl-C did, when it was pressed.
    pub interrupted: Option<String>,
    /// Where each group was left when the drill stopped early.
    pub left: Vec<String>,
    /// The verdict.
    pub verdict: Verdict,
}

impl DrillReport {
    /// A report of `plan` with nothing done yet.
    pub fn new(plan: DrillPlan, dry_run: bool, started_at: DateTime<Utc>) -> Self {
        DrillReport {
            steps: plan.steps(),
            plan,
            dry_run,
            started_at,
            ended_at: None,
            checks: Vec::new(),
            moves: Vec::new(),
            held: None,
            interrupted: None,
            left: Vec::new(),
            verdict: Verdict {
                result: Outcome::Planned,
                summary: String::new(),
                reasons: Vec::new(),
            },
        }
    }

    /// Whether every check so far passed.
    pub fn checks_passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// Ends the report at `ended_at` and judges it.
    pub fn finish(&mut self, ended_at: DateTime<Utc>) {
        self.ended_at = Some(ended_at);
        self.verdict = self.judge();
    }

    fn judge(&self) -> Verdict {
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{} {}: {}", c.group, c.check, c.detail))
            .collect();
        if !failed.is_empty() {
            return Verdict {
                result: Outcome::Refused,
                summary: format!("{} check(s) failed; nothing was written", failed.len()),
                reasons: failed,
            };
        }
        if self.dry_run {
            return Verdict {
                result: Outcome::Planned,
                summary: "dry run: every check passed; nothing was written".to_string(),
                reasons: Vec::new(),
            };
        }
        if self.moves.is_empty()
            && let Some(what) = &self.interrupted
        {
            return Verdict {
                result: Outcome::Fail,
                summary: "interrupted before the first move; nothing was written".to_string(),
                reasons: vec![format!("interrupted: {what}")],
            };
        }
        let mut reasons: Vec<String> = self.moves.iter().filter_map(MoveReport::problem).collect();
        for g in &self.plan.groups {
            for leg in [Leg::Out, Leg::Back] {
                if !self
                    .moves
                    .iter()
                    .any(|m| m.group == g.group && m.leg == leg)
                {
                    reasons.push(format!("{}: no {} move was made", g.group, leg.as_str()));
                }
            }
        }
        if let Some(what) = &self.interrupted {
            reasons.push(format!("interrupted: {what}"));
        }
        if !reasons.is_empty() {
            return Verdict {
                result: Outcome::Fail,
                summary: format!("{} problem(s); see the reasons", reasons.len()),
                reasons,
            };
        }
        let worst = |leg: Leg| {
            self.moves
                .iter()
                .filter(|m| m.leg == leg)
                .filter_map(|m| m.downtime.map(|d| d.seconds))
                .fold(0.0_f64, f64::max)
        };
        Verdict {
            result: Outcome::Pass,
            summary: format!(
                "{} group(s) moved to {} and back, every move SUCCESS; longest downtime {} out, {} back, within the bound",
                self.plan.groups.len(),
                self.plan.to,
                format_secs(worst(Leg::Out)),
                format_secs(worst(Leg::Back))
            ),
            reasons: Vec::new(),
        }
    }

    /// The exit code: 0 PASS (and a dry run that passed its checks), 3 REFUSED or FAIL, 6 when
    /// a move had not ended in time (the README's exit codes).
    pub fn exit_code(&self) -> ExitCode {
        match self.verdict.result {
            Outcome::Pass | Outcome::Planned => ExitCode::Ok,
            Outcome::Refused => ExitCode::Conflict,
            Outcome::Fail if self.moves.iter().any(|m| m.result == MoveEnd::TimedOut) => {
                ExitCode::Timeout
            }
            Outcome::Fail => ExitCode::Conflict,
        }
    }
}
