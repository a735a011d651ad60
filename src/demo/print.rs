//! Printing the timeline as it happens. Events reach the demo from several places (agents, the
//! clusters' timeline, the script), and a serving lease that lapsed is recorded at the instant
//! it lapsed, slightly in the past; so lines are held back for a moment and printed in time
//! order.

use super::Format;
use super::event::DemoEvent;
use super::summary::Summary;
use std::io::Write;
use std::time::Duration;

/// How long a line is held back so that late-recorded events still print in order. The
/// clusters' watchdog runs every 50 ms, so lapses are recorded at most that late.
pub const REORDER_DELAY: Duration = Duration::from_millis(250);

/// The timeline printer.
#[derive(Debug)]
pub struct Printer {
    format: Format,
    cluster_width: usize,
    group_width: usize,
    pending: Vec<DemoEvent>,
}

impl Printer {
    /// A printer for `format`, with columns wide enough for the given names.
    pub fn new(format: Format, cluster_width: usize, group_width: usize) -> Self {
        Printer {
            format,
            cluster_width,
            group_width,
            pending: Vec::new(),
        }
    }

    /// Queues an event.
    pub fn push(&mut self, event: DemoEvent) {
        self.pending.push(event);
    }

    /// Prints every queued event that happened at least [`REORDER_DELAY`] before `now`.
    pub fn flush_until(&mut self, now: Duration, out: &mut dyn Write) -> std::io::Result<()> {
        self.flush_before(now.saturating_sub(REORDER_DELAY), out)
    }

    /// Prints every queued event.
    pub fn flush_all(&mut self, out: &mut dyn Write) -> std::io::Result<()> {
        self.flush_before(Duration::MAX, out)
    }

    fn flush_before(&mut self, cut: Duration, out: &mut dyn Write) -> std::io::Result<()> {
        // Stable: events stamped at the same instant keep the order they arrived in.
        self.pending.sort_by_key(|e| e.at);
        let ready = self.pending.partition_point(|e| e.at <= cut);
        for event in self.pending.drain(..ready) {
            match self.format {
                Format::Json => writeln!(out, "{}", event.to_json())?,
                Format::Text => writeln!(
                    out,
                    "{}",
                    event.to_line(self.cluster_width, self.group_width)
                )?,
            }
        }
        out.flush()
    }

    /// Prints the summary.
    pub fn summary(&self, summary: &Summary, out: &mut dyn Write) -> std::io::Result<()> {
        match self.format {
            Format::Json => writeln!(out, "{}", summary.to_json())?,
            Format::Text => summary.write_text(out)?,
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::event::What;

    fn note(ms: u64, text: &str) -> DemoEvent {
        DemoEvent {
            at: Duration::from_millis(ms),
            cluster: None,
            group: None,
            what: What::Note(text.into()),
        }
    }

    #[test]
    fn late_events_are_printed_in_time_order_once_old_enough() {
        let mut p = Printer::new(Format::Text, 9, 10);
        p.push(note(1000, "second"));
        p.push(note(900, "first (recorded late)"));
        p.push(note(1200, "third"));
        let mut out = Vec::new();
        p.flush_until(Duration::from_millis(1300), &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].ends_with("first (recorded late)") && lines[1].ends_with("second"));
        let mut rest = Vec::new();
        p.flush_all(&mut rest).unwrap();
        assert!(String::from_utf8(rest).unwrap().ends_with("third\n"));
    }

    #[test]
    fn json_lines_are_one_object_each() {
        let mut p = Printer::new(Format::Json, 9, 10);
        p.push(note(5, "hello"));
        let mut out = Vec::new();
        p.flush_all(&mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            (v["event"].as_str(), v["message"].as_str()),
            (Some("note"), Some("hello"))
        );
    }
}
