//! Pure render functions: the whole screen is drawn from an [`App`] alone (the instant to show
//! ages against is `app.now`), so a fixed state renders the same every time and tests assert it
//! on ratatui's `TestBackend`.

mod clusters;
pub mod format;
mod groups;
mod history;
pub mod layout;
mod overlay;

use super::app::{App, Level, Mode};
use crate::duration::GoDuration;
use format::span;
use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let a = layout::areas(frame.area());
    let right = refresh_state(app);
    let [left_area, right_area] = ratatui::layout::Layout::horizontal([
        ratatui::layout::Constraint::Fill(1),
        ratatui::layout::Constraint::Length(right.chars().count() as u16),
    ])
    .areas(a.title);
    let bar = Style::new().bg(Color::Blue).fg(Color::White);
    frame.render_widget(title(app).style(bar), left_area);
    frame.render_widget(Paragraph::new(right).style(bar), right_area);
    groups::draw(frame, app, a.groups);
    clusters::draw_clusters(frame, app, a.clusters);
    clusters::draw_lock(frame, app, a.lock);
    history::draw(frame, app, a.history);
    draw_status(frame, app, a.status);
    match &app.mode {
        Mode::Help => overlay::help(frame, app),
        Mode::Confirm(dialog) => overlay::dialog(frame, dialog),
        Mode::Normal | Mode::Filter => {}
    }
}

fn title(app: &App) -> Paragraph<'static> {
    Paragraph::new(Line::from(Span::styled(
        format!(" {}", app.config.title),
        Style::new().add_modifier(Modifier::BOLD),
    )))
}

/// The title bar's right end, kept whole however long the title is.
fn refresh_state(app: &App) -> String {
    let refresh = match (app.refreshing, app.last_update) {
        (true, _) => "refreshing...".to_string(),
        (false, Some(at)) => format!("updated {} ago", span((app.now - at).num_seconds())),
        (false, None) => "loading...".to_string(),
    };
    format!("  {refresh} · ? help · q quit ")
}

/// The status line: what [`status`] says on the left, how fresh the data is on the right. Key
/// hints give way to the freshness; an error or an outcome does not, and the freshness is left
/// out when they leave it no room.
fn draw_status(frame: &mut Frame, app: &App, area: ratatui::layout::Rect) {
    let (text, style, hints) = status(app);
    let fresh = freshness(app);
    let room = usize::from(area.width).saturating_sub(text.chars().count());
    let right = if fresh.is_empty() || (!hints && room < fresh.chars().count() + 3) {
        String::new()
    } else {
        format!("  {fresh} ")
    };
    let [left_area, right_area] = ratatui::layout::Layout::horizontal([
        ratatui::layout::Constraint::Fill(1),
        ratatui::layout::Constraint::Length(right.chars().count() as u16),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(text, style))),
        left_area,
    );
    let dim = Style::new().fg(Color::DarkGray);
    frame.render_widget(Paragraph::new(right).style(dim), right_area);
}

/// How old the listing and the loaded groups are, and how often the listing is read:
/// `list 12s ago (every 30s) · groups 2s ago`. Empty until something was read.
pub fn freshness(app: &App) -> String {
    let age = |at: chrono::DateTime<chrono::Utc>| span((app.now - at).num_seconds());
    let mut parts = Vec::new();
    if let Some(at) = app.listed_at {
        parts.push(match app.cadence {
            Some(c) => format!(
                "list {} ago (every {})",
                age(at),
                GoDuration(c.relist_every)
            ),
            None => format!("list {} ago", age(at)),
        });
    }
    if let Some(at) = app.last_update {
        parts.push(format!("groups {} ago", age(at)));
    }
    parts.join(" · ")
}

/// The status line's text, its style, and whether it is only the key hints.
fn status(app: &App) -> (String, Style, bool) {
    let (text, style) = if app.mode == Mode::Filter {
        (
            format!("/{}▏ (Enter keeps, Esc clears)", app.filter),
            Style::new().add_modifier(Modifier::BOLD),
        )
    } else if let Some(error) = &app.store_error {
        let shown = match app.last_update {
            Some(at) => format!(
                " (showing data from {} ago)",
                span((app.now - at).num_seconds())
            ),
            None => String::new(),
        };
        (
            format!("✗ store error: {error}{shown}"),
            Style::new().fg(Color::White).bg(Color::Red),
        )
    } else if let Some(line) = &app.status {
        let style = match line.level {
            Level::Info => Style::new(),
            Level::Warn => Style::new().fg(Color::Black).bg(Color::Yellow),
            Level::Error => Style::new().fg(Color::White).bg(Color::Red),
        };
        (line.text.clone(), style)
    } else if let Some(warning) = app.warnings.first() {
        (
            format!("! {warning}"),
            Style::new().fg(Color::Black).bg(Color::Yellow),
        )
    } else {
        return (hints(app), Style::new().fg(Color::DarkGray), true);
    };
    (text, style, false)
}

fn hints(app: &App) -> String {
    let demo = if app.config.demo {
        "  x kill/restart agent  c cut off/reconnect"
    } else {
        ""
    };
    format!("Tab panel  j/k move  / filter  p promote  s suspend/resume  r refresh{demo}")
}
