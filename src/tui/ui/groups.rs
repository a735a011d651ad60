//! The groups panel: one row per group (owner, phase, suspension, lock, health, last failover).
//! Only the rows on screen are built, so a frame costs the same at 10 groups or 10,000.

use super::format::{Freshness, fit, group_health, span};
use crate::store::{GroupConfig, Phase};
use crate::tui::app::{App, Panel};
use crate::tui::model::Detail;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

/// Draws the groups panel into `area`.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Panel::Groups;
    let filter = if app.filter.is_empty() {
        String::new()
    } else {
        format!(" filter /{}", app.filter)
    };
    let title = format!(
        " Groups {}/{}{filter} ",
        app.shown.len().min(app.selected + 1),
        app.shown.len()
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(border(focused));
    let rows_fit = usize::from(area.height.saturating_sub(3));
    let end = (app.offset + rows_fit).min(app.shown.len());
    let start = app.offset.min(end);
    let rows: Vec<Row> = app.shown[start..end]
        .iter()
        .enumerate()
        .filter_map(|(i, &g)| app.groups.get(g).map(|config| (start + i, config)))
        .map(|(i, config)| {
            let row = row(app, config, app.details.get(&config.group));
            if i == app.selected {
                row.style(selected(focused))
            } else {
                row
            }
        })
        .collect();
    let header = Row::new([
        "GROUP",
        "OWNER",
        "PHASE",
        "SUSP",
        "LOCK",
        "HEALTH",
        "LAST FAILOVER",
    ])
    .style(Style::new().add_modifier(Modifier::BOLD));
    // Min outranks Length and Fill in ratatui's solver: the owner stays readable when narrow.
    let widths = [
        Constraint::Fill(3),
        Constraint::Min(12),
        Constraint::Fill(3),
        Constraint::Length(4),
        Constraint::Fill(2),
        Constraint::Length(7),
        Constraint::Length(13),
    ];
    let table = if app.shown.is_empty() {
        let empty = match (app.groups.is_empty(), app.last_update, &app.store_error) {
            (true, None, Some(_)) => {
                "could not read the store yet (the error is in the status bar)"
            }
            (true, None, None) => "loading...",
            (true, Some(_), _) => "no groups found (none in scope, or the table is empty)",
            (false, _, _) => "no group matches the filter (Esc in / clears it)",
        };
        Table::new(vec![Row::new([Cell::from(empty)])], [Constraint::Fill(1)])
    } else {
        Table::new(rows, widths).header(header)
    };
    frame.render_widget(table.block(block), area);
}

fn row<'a>(app: &App, config: &'a GroupConfig, detail: Option<&'a Detail>) -> Row<'a> {
    let phase = match detail
        .and_then(|d| d.transition.as_ref())
        .or(config.transition.as_ref())
    {
        Some(t) => Cell::from(Span::styled(
            format!("→{} {}", t.target, phase_word(t.phase)),
            Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        )),
        None => Cell::from("stable"),
    };
    let owner = detail.map_or(&config.owner_cluster, |d| &d.view.owner_cluster);
    let suspended = detail.map_or(config.suspended, |d| d.view.suspended);
    let susp = if suspended {
        Cell::from(Span::styled("yes", Style::new().fg(Color::Yellow)))
    } else {
        Cell::from("-")
    };
    let (lock, health) = match detail {
        Some(d) => {
            let lock = d
                .view
                .lock
                .as_ref()
                .map_or_else(|| "-".to_string(), |l| l.locked_by.clone());
            let (text, style) =
                group_health(&d.view.clusters, d.view.timeouts.heartbeat.get(), app.now);
            (Cell::from(lock), Cell::from(Span::styled(text, style)))
        }
        // Not loaded (scrolled in a moment ago): say so rather than guess.
        None => (Cell::from("…"), Cell::from("…")),
    };
    let owner_cell = match detail.and_then(|d| d.view.clusters.iter().find(|c| c.name == *owner)) {
        Some(c) => {
            let f = Freshness::of(c.last_heartbeat, d_timeout(detail), app.now);
            Cell::from(Span::styled(format!("{} {}", f.symbol(), owner), f.style()))
        }
        None => Cell::from(owner.clone()),
    };
    let last = config.last_failover.as_ref().map_or_else(
        || "never".to_string(),
        |f| format!("{} ago", span((app.now - f.timestamp).num_seconds())),
    );
    Row::new([
        Cell::from(fit(&config.group.to_string(), 40)),
        owner_cell,
        phase,
        susp,
        lock,
        health,
        Cell::from(last),
    ])
}

/// A phase in a word short enough for the list (the lock panel spells it out).
pub fn phase_word(phase: Phase) -> &'static str {
    match phase {
        Phase::Requested => "requested",
        Phase::SourceDeactivating => "source-off",
        Phase::TargetActivating => "target-on",
    }
}

fn d_timeout(detail: Option<&Detail>) -> std::time::Duration {
    detail.map_or(crate::store::defaults::HEARTBEAT_TIMEOUT, |d| {
        d.view.timeouts.heartbeat.get()
    })
}

/// The border of a panel, brighter when it has the focus.
pub fn border(focused: bool) -> Style {
    if focused {
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::DarkGray)
    }
}

/// The selected row: reversed when its panel has focus, underlined otherwise.
pub fn selected(focused: bool) -> Style {
    if focused {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new().add_modifier(Modifier::UNDERLINED)
    }
}
