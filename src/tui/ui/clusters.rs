//! The selected group's clusters (role, health, live heartbeat age judged against the group's
//! heartbeat timeout, sequence, components) and its lock and transition (holder, reason, lease
//! countdown).

use super::format::{Freshness, ago, fit, health, span};
use super::groups::{border, selected};
use crate::ops::status::Role;
use crate::tui::app::{App, Panel};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

/// Draws the clusters panel.
pub fn draw_clusters(frame: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Panel::Clusters;
    let detail = app.selected_detail();
    let title = match (app.selected_group(), detail) {
        (Some(_), Some(d)) => format!(
            " Clusters of {}/{} · epoch {} · v{} ",
            d.view.namespace, d.view.name, d.epoch, d.view.version
        ),
        (Some(g), None) => format!(" Clusters of {} ", g.group),
        (None, _) => " Clusters ".to_string(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(border(focused));
    let Some(detail) = detail else {
        let text = if app.selected_group().is_some() {
            "loading..."
        } else {
            "no group selected"
        };
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    };
    let timeout = detail.view.timeouts.heartbeat.get();
    let mut name_width = 7;
    // Scrolled so the selected cluster stays on screen (more clusters than rows at 80x24).
    let fit_rows = usize::from(area.height.saturating_sub(3)).max(1);
    let skip = app.cluster_row.saturating_sub(fit_rows - 1);
    let rows: Vec<Row> = detail
        .view
        .clusters
        .iter()
        .enumerate()
        .skip(skip)
        .take(fit_rows)
        .map(|(i, c)| {
            let faults = app.demo_faults.get(&c.name).copied().unwrap_or_default();
            let mut name = c.name.clone();
            if faults.killed {
                name.push_str(" [killed]");
            }
            if faults.partitioned {
                name.push_str(" [cut off]");
            }
            name_width = name_width.max(name.chars().count());
            let role = match c.role {
                Role::Primary => Span::styled("PRIMARY", Style::new().add_modifier(Modifier::BOLD)),
                Role::Standby => Span::raw("STANDBY"),
            };
            let state = match c.reported_state {
                Some(s) if c.state_mismatch => {
                    Span::styled(format!("!{s}"), Style::new().fg(Color::Magenta))
                }
                Some(s) => Span::raw(s.to_string()),
                None => Span::styled("-", Style::new().fg(Color::Red)),
            };
            let (h, h_style) = health(c.health);
            let fresh = Freshness::of(c.last_heartbeat, timeout, app.now);
            let beat = match c.last_heartbeat {
                Some(t) => format!("{} {}", fresh.symbol(), span((app.now - t).num_seconds())),
                None => format!("{} never", fresh.symbol()),
            };
            let beat = if fresh == Freshness::Stale {
                format!("{beat} STALE")
            } else {
                beat
            };
            let seq = c.heartbeat_seq.map_or("-".to_string(), |s| s.to_string());
            let components: Vec<String> = c
                .components
                .iter()
                .map(|(k, v)| format!("{k}:{}", v.health))
                .collect();
            // Most telling first: on a narrow terminal the last columns are the ones cut.
            let row = Row::new([
                Cell::from(name),
                Cell::from(role),
                Cell::from(Span::styled(h, h_style)),
                Cell::from(Span::styled(beat, fresh.style())),
                Cell::from(seq),
                Cell::from(state),
                Cell::from(components.join(" ")),
            ]);
            if i == app.cluster_row {
                row.style(selected(focused))
            } else {
                row
            }
        })
        .collect();
    let header = Row::new([
        "CLUSTER",
        "ROLE",
        "HEALTH",
        "HEARTBEAT",
        "SEQ",
        "STATE",
        "COMPONENTS",
    ])
    .style(Style::new().add_modifier(Modifier::BOLD));
    // Min outranks Length in ratatui's solver: when narrow, SEQ and STATE give way first.
    let widths = [
        Constraint::Min(name_width as u16),
        Constraint::Min(7),
        Constraint::Min(10),
        Constraint::Min(14),
        Constraint::Length(5),
        Constraint::Length(9),
        Constraint::Fill(1),
    ];
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

/// Draws the lock and transition panel.
pub fn draw_lock(frame: &mut Frame, app: &App, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Lock / transition ")
        .border_style(border(false));
    let Some(detail) = app.selected_detail() else {
        frame.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let width = usize::from(area.width.saturating_sub(11));
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let mut lines: Vec<Line> = Vec::new();
    match &detail.view.lock {
        None => lines.push(Line::from(Span::styled(
            "no lock",
            Style::new().fg(Color::Green),
        ))),
        Some(lock) => {
            let left = (lock.expires_at - app.now).num_seconds();
            let lease = if lock.expires_at <= app.now {
                Span::styled(
                    format!("✗ LAPSED {} ago", span(-left)),
                    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
                )
            } else {
                Span::styled(
                    format!("expires in {}", span(left)),
                    Style::new().fg(Color::Yellow),
                )
            };
            lines.push(Line::from(vec![
                Span::styled("holder   ", bold),
                Span::raw(lock.locked_by.clone()),
            ]));
            lines.push(Line::from(vec![
                Span::styled("reason   ", bold),
                Span::raw(fit(&lock.lock_reason, width)),
            ]));
            let acquired = lock
                .acquired_at
                .map_or("-".to_string(), |t| ago(t, app.now));
            lines.push(Line::from(vec![
                Span::styled("acquired ", bold),
                Span::raw(acquired),
            ]));
            lines.push(Line::from(vec![Span::styled("lease    ", bold), lease]));
        }
    }
    match &detail.transition {
        None => lines.push(Line::from("no transition in flight")),
        Some(t) => {
            let kind = match (t.drill, t.automatic) {
                (true, _) => "drill",
                (false, true) => "automatic",
                (false, false) => "manual",
            };
            lines.push(Line::from(Span::styled(
                format!("{} → {} {}", t.source, t.target, t.phase),
                Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            )));
            lines.push(Line::from(format!(
                "{} {kind}, asked {}",
                t.mode,
                ago(t.requested_at, app.now)
            )));
        }
    }
    if detail.view.suspended {
        let why = detail
            .view
            .suspension_reason
            .as_deref()
            .unwrap_or("no reason given");
        lines.push(Line::from(Span::styled(
            format!("SUSPENDED: {}", fit(why, width)),
            Style::new().fg(Color::Yellow),
        )));
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        area,
    );
}
