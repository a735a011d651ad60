//! The book of bad-input cases: each case's row (id, category, input, what the user sees, exit
//! code) or why it failed, the Markdown table rendered from the rows, and the copy of that table
//! in docs/reliability.md (between the markers), which must equal it.

use std::path::{Path, PathBuf};

/// The kinds of bad input, in the order the table lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Flags and values on the command line.
    Cli,
    /// FailoverGroup and Failover resources the CRD schema would refuse, met anyway.
    Resources,
    /// Records another tool wrote into the table.
    Records,
    /// A missing or wrongly shaped table, credentials, region, endpoint, kubeconfig.
    Environment,
}

impl Category {
    fn prefix(self) -> &'static str {
        match self {
            Category::Cli => "C",
            Category::Resources => "K",
            Category::Records => "D",
            Category::Environment => "E",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Category::Cli => "CLI flags and values",
            Category::Resources => "FailoverGroup / Failover resources",
            Category::Records => "records written by other tools",
            Category::Environment => "table, credentials, endpoint, kubeconfig",
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub category: Category,
    pub input: String,
    pub sees: String,
    pub code: String,
}

/// What one case showed, once judged acceptable: the line the user reads and the exit code
/// (`None` for the controller, which keeps running).
#[derive(Debug, Clone)]
pub struct Seen {
    pub line: String,
    pub code: Option<i32>,
}

/// Every case tried, in order, and every failure.
#[derive(Debug, Default)]
pub struct Book {
    rows: Vec<Row>,
    failures: Vec<String>,
}

impl Book {
    /// Records one case: its row, or the failure (kept with the case's id and input).
    pub fn record(&mut self, category: Category, input: &str, outcome: Result<Seen, String>) {
        let n = self.rows.iter().filter(|r| r.category == category).count() + 1;
        let id = format!("{}{n:02}", category.prefix());
        let (sees, code) = match outcome {
            Ok(seen) => (
                seen.line,
                seen.code.map_or("–".to_string(), |c| c.to_string()),
            ),
            Err(why) => {
                self.failures.push(format!("{id} `{input}`: {why}"));
                ("FAILED".to_string(), "?".to_string())
            }
        };
        self.rows.push(Row {
            id,
            category,
            input: input.to_string(),
            sees,
            code,
        });
    }

    /// How many cases were tried.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Every failure, one per line (empty when none).
    pub fn failures(&self) -> String {
        self.failures.join("\n")
    }

    /// Categories that have at least one case.
    pub fn categories(&self) -> usize {
        let mut seen: Vec<Category> = Vec::new();
        for r in &self.rows {
            if !seen.contains(&r.category) {
                seen.push(r.category);
            }
        }
        seen.len()
    }

    /// The Markdown table, rows in the order tried.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "| id | category | input | what the user sees | exit |\n|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.id,
                r.category.title(),
                cell(&r.input, true),
                cell(&r.sees, false),
                r.code
            ));
        }
        out
    }
}

/// A table cell: one line, cut at 220 characters; `code` keeps it in a code span, otherwise
/// what Markdown would read as HTML or emphasis is escaped.
fn cell(text: &str, code: bool) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = one_line.chars().take(220).collect();
    if cut.len() < one_line.len() {
        cut.push('…');
    }
    if code {
        return format!("`{}`", cut.replace('`', "'").replace('|', "\\|"));
    }
    cut.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('_', "\\_")
        .replace('*', "\\*")
        .replace('|', "\\|")
}

pub const BEGIN: &str = "<!-- bad-input:begin -->";
pub const END: &str = "<!-- bad-input:end -->";

/// docs/reliability.md.
pub fn doc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reliability.md")
}

/// The text between the markers of `doc`, trimmed.
pub fn between_markers(doc: &str) -> Result<&str, String> {
    let start = doc
        .find(BEGIN)
        .ok_or_else(|| format!("docs/reliability.md has no {BEGIN} marker"))?;
    let end = doc
        .find(END)
        .ok_or_else(|| format!("docs/reliability.md has no {END} marker"))?;
    if end < start {
        return Err(format!("{END} comes before {BEGIN} in docs/reliability.md"));
    }
    Ok(doc[start + BEGIN.len()..end].trim())
}

/// `doc` with the text between the markers replaced by `table`.
pub fn with_table(doc: &str, table: &str) -> Result<String, String> {
    between_markers(doc)?;
    let start = doc.find(BEGIN).unwrap_or_default() + BEGIN.len();
    let end = doc.find(END).unwrap_or_default();
    Ok(format!(
        "{}\n{}\n{}",
        &doc[..start],
        table.trim(),
        &doc[end..]
    ))
}

/// With `KFO_UPDATE_DOCS=1`, writes `table` into docs/reliability.md; otherwise returns an error
/// unless the committed table equals it.
pub fn check_or_update_doc(table: &str) -> Result<(), String> {
    let path = doc_path();
    let doc = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if std::env::var("KFO_UPDATE_DOCS").as_deref() == Ok("1") {
        let updated = with_table(&doc, table)?;
        return std::fs::write(&path, updated)
            .map_err(|e| format!("cannot write {}: {e}", path.display()));
    }
    let committed = between_markers(&doc)?;
    if committed == table.trim() {
        return Ok(());
    }
    let first_difference = committed
        .lines()
        .zip(table.trim().lines())
        .find(|(a, b)| a != b)
        .map_or_else(
            || "the tables have a different number of rows".to_string(),
            |(a, b)| format!("committed:\n{a}\nnow:\n{b}"),
        );
    Err(format!(
        "the bad-input table in docs/reliability.md differs from what the cases show; regenerate it with KFO_UPDATE_DOCS=1 cargo test --test bad_input\n{first_difference}"
    ))
}

#[test]
fn the_doc_check_fails_on_a_changed_row_and_the_update_replaces_only_the_table() {
    let doc = format!("# T\n\nbefore\n\n{BEGIN}\n| a |\n{END}\n\nafter\n");
    assert_eq!(between_markers(&doc), Ok("| a |"));
    let updated = with_table(&doc, "| b |\n").expect("markers");
    assert_eq!(between_markers(&updated), Ok("| b |"));
    assert!(updated.starts_with("# T\n\nbefore\n\n") && updated.ends_with("\n\nafter\n"));
    assert!(between_markers("no markers").is_err());
}

#[test]
fn a_failed_case_is_kept_in_the_table_and_listed() {
    let mut book = Book::default();
    book.record(
        Category::Cli,
        "status --x | y",
        Ok(Seen {
            line: "error: <none> is_bad".into(),
            code: Some(2),
        }),
    );
    book.record(Category::Cli, "status", Err("exit 101".into()));
    assert_eq!(book.len(), 2);
    assert!(book.failures().contains("C02 `status`: exit 101"));
    let table = book.render();
    assert!(table.contains(
        "| C01 | CLI flags and values | `status --x \\| y` | error: &lt;none&gt; is\\_bad | 2 |"
    ));
    assert!(table.contains("| C02 | CLI flags and values | `status` | FAILED | ? |"));
}
