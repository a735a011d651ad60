//! What the drill saw of one move: its phases as the follow loop read them, and how long the
//! group was not served.

use super::opt_seconds;
use crate::store::{HistoryRecord, Phase, Transition};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// What the follow loop saw of one move, as offsets from when it was requested.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    phases: Vec<(Phase, Duration)>,
    ended: Option<Duration>,
    source_stopped_at: Option<DateTime<Utc>>,
}

impl Timeline {
    /// The transition as read `at` after the request.
    pub fn saw(&mut self, t: &Transition, at: Duration) {
        if self.phases.last().map(|(p, _)| *p) != Some(t.phase) {
            self.phases.push((t.phase, at));
        }
        if t.source_stopped_at.is_some() {
            self.source_stopped_at = t.source_stopped_at;
        }
    }

    /// The move was seen ended `at` after the request.
    pub fn end(&mut self, at: Duration) {
        self.ended.get_or_insert(at);
    }

    /// Request to end, when it ended.
    pub fn took(&self) -> Option<Duration> {
        self.ended
    }

    /// When the source switched its traffic off (its clock), as the transition said after the
    /// flip.
    pub fn source_stopped_at(&self) -> Option<DateTime<Utc>> {
        self.source_stopped_at
    }

    /// Each phase seen, lasting until the next one seen (or the end). Phases are read every
    /// half second, so one shorter than that may not appear; its time counts to the one before.
    pub fn spans(&self) -> Vec<PhaseSpan> {
        self.phases
            .iter()
            .enumerate()
            .map(|(i, (phase, from))| {
                let until = self.phases.get(i + 1).map(|(_, at)| *at).or(self.ended);
                PhaseSpan {
                    phase: *phase,
                    duration: until.map(|u| u.saturating_sub(*from)),
                }
            })
            .collect()
    }
}

/// One phase and how long it lasted (`None`: still running when the drill stopped following).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseSpan {
    /// The phase.
    pub phase: Phase,
    /// How long it lasted.
    #[serde(rename = "seconds", serialize_with = "opt_seconds")]
    pub duration: Option<Duration>,
}

/// Where a downtime figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DowntimeFrom {
    /// The HISTORY record's `downtime` (whole seconds, measured by the target's agent).
    History,
    /// The transition's `sourceStoppedAt` to the HISTORY record's `endTime`: an upper bound,
    /// the record is written just after the target switched its traffic on.
    StoppedToEnd,
}

/// How long a group was not served during one move.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Downtime {
    /// Seconds.
    pub seconds: f64,
    /// Where the figure comes from.
    pub from: DowntimeFrom,
}

/// The downtime of a move from what was read: the HISTORY record's own figure when it has one,
/// else from the source's stop (seen in the transition) to the record's end.
pub fn downtime(
    history: Option<&HistoryRecord>,
    stopped: Option<DateTime<Utc>>,
) -> Option<Downtime> {
    let h = history?;
    if let Some(s) = h.downtime {
        return Some(Downtime {
            seconds: s as f64,
            from: DowntimeFrom::History,
        });
    }
    let (off, end) = (stopped?, h.end_time?);
    let ms = (end - off).num_milliseconds().max(0);
    Some(Downtime {
        seconds: ms as f64 / 1000.0,
        from: DowntimeFrom::StoppedToEnd,
    })
}
