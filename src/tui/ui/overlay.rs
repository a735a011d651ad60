//! Overlays drawn over the panels: the `?` help (generated from the key table) and the
//! confirmation dialogs.

use crate::tui::app::App;
use crate::tui::dialog::Dialog;
use crate::tui::keys::help_lines;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// The help overlay.
pub fn help(frame: &mut Frame, app: &App) {
    let keys = help_lines(app.config.demo);
    let key_width = keys.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut lines: Vec<Line> = keys
        .iter()
        .map(|(k, h)| {
            Line::from(vec![
                Span::styled(
                    format!("{k:<key_width$}  "),
                    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
                ),
                Span::raw(*h),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(
        "Heartbeat: ● fresh  ◐ late (over half the timeout)  ✗ stale  ? none",
    ));
    let area = centered(frame.area(), 76, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Keys (? or Esc closes) "),
        ),
        area,
    );
}

/// A confirmation dialog.
pub fn dialog(frame: &mut Frame, dialog: &Dialog) {
    let lines: Vec<Line> = dialog.lines().into_iter().map(Line::from).collect();
    let area = centered(frame.area(), 70, lines.len() as u16 + 2);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::new().fg(Color::Yellow))
                .title(format!(" {} ", dialog.title())),
        ),
        area,
    );
}
