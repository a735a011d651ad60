//! Output shared by the read commands: the `-o table|wide|json|yaml` flag, a kubectl-style column
//! printer, JSON/YAML documents, and kubectl's compact ages (`45s`, `3m12s`, `2h5m`, `3d`).
//! Everything writes to a `&mut dyn Write` so tests render into a buffer.

use crate::error::Error;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::io::Write;

/// What stands in for an absent value in a table, as kubectl prints it.
pub const NONE: &str = "<none>";

/// Column separator: kubectl's printer pads columns with three spaces.
const GAP: &str = "   ";

/// The `-o/--output` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    /// Columns for people.
    #[default]
    Table,
    /// More columns.
    Wide,
    /// The full view as a JSON document.
    Json,
    /// The full view as a YAML document.
    Yaml,
}

impl OutputFormat {
    /// True for `wide`.
    pub fn is_wide(self) -> bool {
        self == OutputFormat::Wide
    }
}

/// A table printed like kubectl's: upper-case headers, columns padded to the widest cell and
/// separated by three spaces, no borders, no trailing spaces.
#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headers (upper-cased).
    pub fn new<S: AsRef<str>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table {
            headers: headers
                .into_iter()
                .map(|h| h.as_ref().to_uppercase())
                .collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells are cleaned of control characters (a tab or newline in a record
    /// written by another tool would break the columns).
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows
            .push(cells.into_iter().map(|c| clean(c.as_ref())).collect());
    }

    /// Writes the header and the rows.
    pub fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for line in std::iter::once(&self.headers).chain(&self.rows) {
            for (i, cell) in line.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        for line in std::iter::once(&self.headers).chain(&self.rows) {
            let mut text = String::new();
            for (i, cell) in line.iter().enumerate() {
                if i > 0 {
                    text.push_str(GAP);
                }
                text.push_str(cell);
                let pad = widths[i] - cell.chars().count();
                text.extend(std::iter::repeat_n(' ', pad));
            }
            writeln!(out, "{}", text.trim_end())?;
        }
        Ok(())
    }
}

fn clean(cell: &str) -> String {
    cell.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Writes `value` as pretty JSON followed by a newline.
pub fn write_json<T: Serialize>(out: &mut dyn Write, value: &T) -> Result<(), Error> {
    // Serialize to memory first: a half-written document is worse than none when the value
    // cannot be serialized (serde_json would otherwise report an io error as data error).
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Internal(anyhow::anyhow!("could not encode JSON: {e}")))?;
    writeln!(out, "{text}")?;
    Ok(())
}

/// Writes `value` as a YAML document.
pub fn write_yaml<T: Serialize>(out: &mut dyn Write, value: &T) -> Result<(), Error> {
    let text = serde_saphyr::to_string(value)
        .map_err(|e| Error::Internal(anyhow::anyhow!("could not encode YAML: {e}")))?;
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(())
}

/// Writes `value` as JSON or YAML; `false` (nothing written) for the table formats, which each
/// command renders itself.
pub fn write_document<T: Serialize>(
    format: OutputFormat,
    out: &mut dyn Write,
    value: &T,
) -> Result<bool, Error> {
    match format {
        OutputFormat::Json => write_json(out, value).map(|()| true),
        OutputFormat::Yaml => write_yaml(out, value).map(|()| true),
        OutputFormat::Table | OutputFormat::Wide => Ok(false),
    }
}

/// kubectl's compact age (k8s.io/apimachinery `HumanDuration`): exact seconds below two
/// minutes, then two units while the second one still matters, then one.
pub fn format_age(seconds: u64) -> String {
    let (minutes, hours) = (seconds / 60, seconds / 3600);
    let days = hours / 24;
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit}{small}{small_unit}")
        }
    };
    if seconds < 120 {
        format!("{seconds}s")
    } else if minutes < 10 {
        two(minutes, "m", seconds % 60, "s")
    } else if minutes < 180 {
        format!("{minutes}m")
    } else if hours < 8 {
        two(hours, "h", minutes % 60, "m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        two(days, "d", hours % 24, "h")
    } else if days < 365 * 2 {
        format!("{days}d")
    } else if days < 365 * 8 {
        two(days / 365, "y", days % 365, "d")
    } else {
        format!("{}y", days / 365)
    }
}

/// An age in seconds that may be negative (the other machine's clock runs ahead of ours): shown
/// as `0s`, because "in the future" would suggest a meaning it does not have.
pub fn format_signed_age(seconds: i64) -> String {
    format_age(u64::try_from(seconds).unwrap_or(0))
}

/// An optional count of seconds as an age, or `<none>`.
pub fn format_seconds(seconds: Option<u64>) -> String {
    seconds.map_or_else(|| NONE.to_string(), format_age)
}

/// A timestamp as RFC 3339 UTC with whole seconds (`2026-03-01T12:00:00Z`).
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Writes one warning line per message, kubectl style (`Warning: ...`).
pub fn write_warnings(err: &mut dyn Write, warnings: &[String]) -> Result<(), Error> {
    for w in warnings {
        writeln!(err, "Warning: {w}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_match_kubectl_at_every_boundary() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (119, "119s"),
            (120, "2m"),
            (192, "3m12s"),
            (599, "9m59s"),
            (600, "10m"),
            (179 * 60 + 59, "179m"),
            (3 * 3600, "3h"),
            (2 * 3600 + 300, "125m"),
            (3 * 3600 + 300, "3h5m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (3 * 86400, "3d"),
            (3 * 86400 + 7200, "3d2h"),
            (8 * 86400, "8d"),
            (800 * 86400, "2y70d"),
            (3000 * 86400, "8y"),
        ];
        for (secs, want) in cases {
            assert_eq!(format_age(secs), want, "{secs}s");
        }
    }

    #[test]
    fn a_negative_age_from_a_fast_clock_shows_as_zero() {
        assert_eq!(format_signed_age(-5), "0s");
        assert_eq!(format_signed_age(61), "61s");
    }

    #[test]
    fn table_columns_are_padded_with_three_spaces_and_lines_have_no_trailing_space() {
        let mut t = Table::new(["name", "owner", "version"]);
        t.row(["web", "cluster-a", "7"]);
        t.row(["api-gateway", "b", "12"]);
        let mut out = Vec::new();
        t.write_to(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NAME          OWNER       VERSION\n\
             web           cluster-a   7\n\
             api-gateway   b           12\n"
        );
    }

    #[test]
    fn control_characters_in_cells_cannot_break_the_columns() {
        let mut t = Table::new(["a", "b"]);
        t.row(["x\ty", "line1\nline2"]);
        let mut out = Vec::new();
        t.write_to(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "A     B\nx y   line1 line2\n"
        );
    }

    #[test]
    fn json_and_yaml_documents_parse_back_to_the_same_value() {
        let value = serde_json::json!({"groups": [{"name": "web", "version": 7, "lock": null}]});
        let mut json = Vec::new();
        assert!(write_document(OutputFormat::Json, &mut json, &value).unwrap());
        let back: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, value);
        let mut yaml = Vec::new();
        assert!(write_document(OutputFormat::Yaml, &mut yaml, &value).unwrap());
        let text = String::from_utf8(yaml).unwrap();
        let back: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back, value, "{text}");
        let mut nothing = Vec::new();
        assert!(!write_document(OutputFormat::Wide, &mut nothing, &value).unwrap());
        assert!(nothing.is_empty());
    }
}
