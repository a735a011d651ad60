//! The selected group's failovers, newest first, scrolled from `app.history_offset`.

use super::format::{fit, span};
use super::groups::{border, selected};
use crate::tui::app::{App, Panel};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

/// Draws the history panel.
pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Panel::History;
    let history = app.current_history();
    let count = history.map_or(0, |h| h.view.failovers.len());
    let title = if count > 0 {
        format!(
            " History {}/{count} (newest first) ",
            app.history_offset + 1
        )
    } else {
        " History ".to_string()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(border(focused));
    let Some(history) = history else {
        let text = if app.selected_group().is_some() {
            "loading..."
        } else {
            ""
        };
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    };
    if history.view.failovers.is_empty() {
        frame.render_widget(Paragraph::new("no failovers recorded").block(block), area);
        return;
    }
    let fit_rows = usize::from(area.height.saturating_sub(3));
    let start = app.history_offset.min(count.saturating_sub(1));
    let rows: Vec<Row> = history.view.failovers[start..(start + fit_rows).min(count)]
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let status = match f.status.as_str() {
                "SUCCESS" => Span::styled(format!("✓ {}", f.status), Style::new().fg(Color::Green)),
                "FAILED" => Span::styled(format!("✗ {}", f.status), Style::new().fg(Color::Red)),
                _ => Span::styled(format!("! {}", f.status), Style::new().fg(Color::Yellow)),
            };
            let secs = |s: Option<u64>| s.map_or("-".to_string(), |s| span(s as i64));
            // A drill is a planned move too; the mark matters more than "manual".
            let kind = match f.automatic {
                _ if f.drill => "drill",
                Some(true) => "auto",
                Some(false) => "manual",
                None => "-",
            };
            let row = Row::new([
                Cell::from(f.start_time.format("%m-%d %H:%M").to_string()),
                Cell::from(format!("{} → {}", f.source_cluster, f.target_cluster)),
                Cell::from(f.mode.clone().unwrap_or_else(|| "-".into())),
                Cell::from(kind),
                Cell::from(status),
                Cell::from(format!(
                    "{}/{}",
                    secs(f.duration_seconds),
                    secs(f.downtime_seconds)
                )),
                Cell::from(fit(&f.reason, 60)),
                Cell::from(f.initiator.clone().unwrap_or_else(|| "-".into())),
            ]);
            if focused && i == 0 {
                row.style(selected(true))
            } else {
                row
            }
        })
        .collect();
    let header = Row::new([
        "TIME",
        "FAILOVER",
        "MODE",
        "KIND",
        "STATUS",
        "TOOK/DOWN",
        "REASON",
        "BY",
    ])
    .style(Style::new().add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Length(11),
        Constraint::Length(21),
        Constraint::Length(11),
        Constraint::Length(6),
        Constraint::Length(13),
        Constraint::Length(9),
        Constraint::Fill(2),
        Constraint::Fill(1),
    ];
    // The top row's reason and initiator in full on the bottom border: the columns are
    // narrow on an 80- or 100-column terminal.
    let top = &history.view.failovers[start];
    let full = format!(
        " {}: {} · by {} ",
        top.failover_name,
        top.reason,
        top.initiator.as_deref().unwrap_or("-")
    );
    let block = block.title_bottom(fit(&full, usize::from(area.width.saturating_sub(4))));
    frame.render_widget(Table::new(rows, widths).header(header).block(block), area);
}
