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
    frame.render_widget(status(app), a.status);
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

fn status(app: &App) -> Paragraph<'static> {
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
        (hints(app), Style::new().fg(Color::DarkGray))
    };
    Paragraph::new(Line::from(Span::styled(text, style)))
}

fn hints(app: &App) -> String {
    let demo = if app.config.demo {
        "  x kill/restart agent  c cut off/reconnect"
    } else {
        ""
    };
    format!("Tab panel  j/k move  / filter  p promote  s suspend/resume  r refresh{demo}")
}
