//! Where each panel goes for a terminal size. Shared by the renderer and the app (which needs
//! the number of visible group rows for paging and for telling the feed what to load).

use ratatui::layout::{Constraint, Layout, Rect};

/// The screen's regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// One line: what is watched, refresh state.
    pub title: Rect,
    /// The groups list.
    pub groups: Rect,
    /// The selected group's clusters.
    pub clusters: Rect,
    /// Its lock and transition.
    pub lock: Rect,
    /// Its history.
    pub history: Rect,
    /// One line: store errors, action results, key hints.
    pub status: Rect,
}

/// Splits `area` into the panels.
pub fn areas(area: Rect) -> Areas {
    use Constraint::{Fill, Length};
    let [title, groups, middle, history, status] =
        Layout::vertical([Length(1), Fill(4), Fill(3), Fill(3), Length(1)]).areas(area);
    // The lock panel needs about 30 columns; the clusters table gets the rest.
    let lock_width = if area.width >= 120 { 44 } else { 30 };
    let [clusters, lock] = Layout::horizontal([Fill(1), Length(lock_width)]).areas(middle);
    Areas {
        title,
        groups,
        clusters,
        lock,
        history,
        status,
    }
}

/// Group rows visible in a terminal of `size` (columns, rows): the panel less borders and header.
pub fn group_rows(size: (u16, u16)) -> usize {
    let a = areas(Rect::new(0, 0, size.0, size.1));
    usize::from(a.groups.height.saturating_sub(3))
}
