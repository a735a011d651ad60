//! Moving around: the selection in each panel, scrolling the groups list so the selection stays
//! on screen, and the filter.

use super::{App, Panel};
use crate::store::GroupId;

impl App {
    /// Recomputes the filtered rows, keeping `keep` selected when it is still shown.
    pub(super) fn refilter(&mut self, keep: Option<&GroupId>) {
        let needle = self.filter.to_lowercase();
        self.shown = (0..self.groups.len())
            .filter(|&i| {
                needle.is_empty()
                    || self.groups[i]
                        .group
                        .to_string()
                        .to_lowercase()
                        .contains(&needle)
            })
            .collect();
        let found =
            keep.and_then(|id| self.shown.iter().position(|&i| &self.groups[i].group == id));
        let before = self.selected;
        self.selected = found.unwrap_or(self.selected.min(self.shown.len().saturating_sub(1)));
        if found.is_none() && before != self.selected {
            self.selection_changed();
        }
        self.keep_selection_visible();
    }

    pub(super) fn keep_selection_visible(&mut self) {
        let rows = self.list_rows();
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + rows {
            self.offset = self.selected + 1 - rows;
        }
        // After a resize or a shorter list, fill the screen rather than leave blank rows.
        self.offset = self.offset.min(self.shown.len().saturating_sub(rows));
    }

    pub(super) fn selection_changed(&mut self) {
        self.cluster_row = 0;
        self.history_offset = 0;
    }

    pub(super) fn move_by(&mut self, delta: i64) {
        let clamp = |at: usize, len: usize| -> usize {
            let next = (at as i64).saturating_add(delta);
            next.clamp(0, len.saturating_sub(1) as i64) as usize
        };
        match self.focus {
            Panel::Groups => {
                let before = self.selected;
                self.selected = clamp(self.selected, self.shown.len());
                if before != self.selected {
                    self.selection_changed();
                }
                self.keep_selection_visible();
            }
            Panel::Clusters => {
                let len = self.selected_detail().map_or(0, |d| d.view.clusters.len());
                self.cluster_row = clamp(self.cluster_row, len);
            }
            Panel::History => {
                let len = self.current_history().map_or(0, |h| h.view.failovers.len());
                self.history_offset = clamp(self.history_offset, len);
            }
        }
    }
}
