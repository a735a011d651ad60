//! The checklist as people read it, and the live progress line on stderr.

use crate::cli::color::Palette;
use crate::error::Error;
use crate::ops::doctor::{Check, Counts, Status};
use serde::Serialize;
use std::io::Write;

/// The `-o json|yaml` document.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Document<'a> {
    pub(super) contexts: &'a [String],
    pub(super) table: &'a str,
    pub(super) region: &'a str,
    pub(super) operator_id: &'a str,
    pub(super) notes: &'a [String],
    pub(super) checks: &'a [Check],
    pub(super) counts: Counts,
}

/// The checklist: one line per check, its fix under a failure or warning, then the counts.
pub(super) fn render(
    doc: &Document<'_>,
    palette: Palette,
    out: &mut dyn Write,
) -> Result<(), Error> {
    writeln!(
        out,
        "{}",
        palette.bold(&format!(
            "kubectl failover doctor: {}; table {:?} in {}, operator {:?}",
            doc.contexts.join(", "),
            doc.table,
            doc.region,
            doc.operator_id
        ))
    )?;
    for note in doc.notes {
        writeln!(out, "{}", palette.dim(&format!("note: {note}")))?;
    }
    writeln!(out)?;
    for c in doc.checks {
        // Symbols only with colour: a pipe or a log gets words that grep and diff read.
        let mark = match (palette.is_on(), c.status) {
            (true, Status::Pass) => palette.ok("✓"),
            (true, Status::Warn) => palette.warn("!"),
            (true, Status::Fail) => palette.bad("✗"),
            (true, Status::Skipped) => palette.dim("-"),
            (false, s) => format!("{:<7}", s.as_str()),
        };
        let indent = if palette.is_on() { "  " } else { "        " };
        // A detail quoted from another command can span lines: its continuation lines are
        // indented under the check, so every line that starts at column 0 is a check.
        let mut lines = c.detail.lines();
        let first = lines.next().unwrap_or_default();
        writeln!(out, "{mark} {}: {first}", palette.bold(&c.name))?;
        for line in lines {
            writeln!(out, "{indent}{line}")?;
        }
        if let Some(fix) = &c.fix {
            writeln!(out, "{indent}fix: {fix}")?;
        }
    }
    let n = doc.counts;
    writeln!(
        out,
        "\n{} checks: {} passed, {} warnings, {} failed, {} skipped",
        doc.checks.len(),
        n.pass,
        n.warn,
        n.fail,
        n.skipped
    )?;
    Ok(())
}

/// A live line on stderr while the clusters and the table are read (terminals only: logs of a
/// pipeline get the checklist and nothing else).
pub(super) struct Progress {
    tty: bool,
    open: bool,
}

impl Progress {
    pub(super) fn new(tty: bool) -> Self {
        Progress { tty, open: false }
    }

    pub(super) fn show(&mut self, text: &str) {
        if self.tty {
            // Best effort: a closed stderr must not fail the checks.
            let _ = write!(std::io::stderr(), "\r\x1b[2K{text}");
            self.open = true;
        }
    }

    pub(super) fn clear(&mut self) {
        if self.open {
            self.open = false;
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::color::ColorChoice;
    use crate::ops::doctor::{Area, counts};

    #[test]
    fn the_checklist_prints_words_without_colour_and_a_fix_under_each_failure() {
        let checks = vec![
            Check::pass(Area::Crds, "CRDs in east", "fine"),
            Check::fail(
                Area::Settings,
                "CLUSTER_NAME distinct",
                "twice",
                "rename one",
            ),
        ];
        let doc = Document {
            contexts: &["east".to_string()],
            table: "t",
            region: "r",
            operator_id: "op",
            notes: &["a note".to_string()],
            counts: counts(&checks),
            checks: &checks,
        };
        let mut out = Vec::new();
        render(&doc, Palette::PLAIN, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("PASS    CRDs in east: fine\n"), "{text}");
        assert!(
            text.contains("FAIL    CLUSTER_NAME distinct: twice\n        fix: rename one\n"),
            "{text}"
        );
        assert!(text.contains("note: a note"), "{text}");
        assert!(
            text.ends_with("2 checks: 1 passed, 0 warnings, 1 failed, 0 skipped\n"),
            "{text}"
        );
        let mut coloured = Vec::new();
        let on = ColorChoice::Always.resolve(false, false);
        render(&doc, on, &mut coloured).unwrap();
        assert!(String::from_utf8(coloured).unwrap().contains('✗'));
    }
}
