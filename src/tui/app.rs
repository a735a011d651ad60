//! The app state and its update function (Elm-style): every key, feed message and timer tick
//! goes through [`App::update`], which changes the state and returns commands for the run loop
//! to carry out. No I/O and no clock reads here (the time arrives as `Msg::Tick`), so all of it
//! is tested without a terminal.

mod nav;

pub use super::event::{AppConfig, Command, DemoFaults, Level, Msg, StatusLine};

use super::dialog::{Dialog, DialogKey};
use super::keys::{Action, action_for};
use super::model::{Cadence, Detail, FeedMsg, HistoryData, Update, Window};
use crate::store::{GroupConfig, GroupId};
use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};

/// The panels that take focus, in `Tab` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// The groups list.
    Groups,
    /// The selected group's clusters.
    Clusters,
    /// The selected group's history.
    History,
}

/// What has the keyboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The panels.
    Normal,
    /// The `?` overlay.
    Help,
    /// Typing the groups filter.
    Filter,
    /// A confirmation dialog.
    Confirm(Dialog),
}

/// The whole UI state.
#[derive(Debug, Clone)]
pub struct App {
    /// Fixed settings.
    pub config: AppConfig,
    /// The instant ages are shown against.
    pub now: DateTime<Utc>,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// Every listed group, sorted by namespace and name.
    pub groups: Vec<GroupConfig>,
    /// Indices into `groups` that pass the filter.
    pub shown: Vec<usize>,
    /// Loaded details, by group.
    pub details: HashMap<GroupId, Detail>,
    /// The selected group's history, when read.
    pub history: Option<HistoryData>,
    /// Selected row of `shown`.
    pub selected: usize,
    /// First row of `shown` on screen.
    pub offset: usize,
    /// Selected row of the clusters panel.
    pub cluster_row: usize,
    /// First history row on screen.
    pub history_offset: usize,
    /// The focused panel.
    pub focus: Panel,
    /// What has the keyboard.
    pub mode: Mode,
    /// The groups filter (substring of `namespace/name`).
    pub filter: String,
    /// The last action's outcome.
    pub status: Option<StatusLine>,
    /// The store's last error, while it lasts (the last good data stays on screen).
    pub store_error: Option<String>,
    /// Records the last fetch could not read.
    pub warnings: Vec<String>,
    /// When the last complete fetch ended (the groups on screen are that fresh).
    pub last_update: Option<DateTime<Utc>>,
    /// When the last fetch that read the listing ended (the set of groups is that fresh).
    pub listed_at: Option<DateTime<Utc>>,
    /// How often the feed reads, once it has said.
    pub cadence: Option<Cadence>,
    /// A fetch is in flight.
    pub refreshing: bool,
    /// Faults the demo injected, by cluster.
    pub demo_faults: BTreeMap<String, DemoFaults>,
    /// The user asked to leave.
    pub quit: bool,
}

impl App {
    /// A fresh app with nothing loaded yet.
    pub fn new(config: AppConfig, now: DateTime<Utc>, size: (u16, u16)) -> Self {
        App {
            config,
            now,
            size,
            groups: Vec::new(),
            shown: Vec::new(),
            details: HashMap::new(),
            history: None,
            selected: 0,
            offset: 0,
            cluster_row: 0,
            history_offset: 0,
            focus: Panel::Groups,
            mode: Mode::Normal,
            filter: String::new(),
            status: None,
            store_error: None,
            warnings: Vec::new(),
            last_update: None,
            listed_at: None,
            cadence: None,
            refreshing: false,
            demo_faults: BTreeMap::new(),
            quit: false,
        }
    }

    /// The selected group's CONFIG as listed.
    pub fn selected_group(&self) -> Option<&GroupConfig> {
        self.shown
            .get(self.selected)
            .and_then(|&i| self.groups.get(i))
    }

    /// The selected group's loaded details.
    pub fn selected_detail(&self) -> Option<&Detail> {
        self.selected_group()
            .and_then(|g| self.details.get(&g.group))
    }

    /// The selected cluster's name in the clusters panel.
    pub fn selected_cluster(&self) -> Option<&str> {
        let detail = self.selected_detail()?;
        detail
            .view
            .clusters
            .get(self.cluster_row)
            .map(|c| c.name.as_str())
    }

    /// How many group rows fit on screen.
    pub fn list_rows(&self) -> usize {
        super::ui::layout::group_rows(self.size).max(1)
    }

    /// What the feed should load for this screen.
    pub fn window(&self) -> Window {
        let end = (self.offset + self.list_rows()).min(self.shown.len());
        let visible = self.shown[self.offset.min(end)..end]
            .iter()
            .filter_map(|&i| self.groups.get(i).map(|g| g.group.clone()))
            .collect();
        let selected = self.selected_group();
        Window {
            visible,
            selected: selected.map(|g| g.group.clone()),
            selected_version: selected.map(|g| g.version),
        }
    }

    /// Applies one message; returns what the run loop must do.
    pub fn update(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Key(key) => return self.key(key),
            Msg::Feed(FeedMsg::Cadence(cadence)) => self.cadence = Some(cadence),
            Msg::Feed(FeedMsg::Started) => self.refreshing = true,
            Msg::Feed(FeedMsg::Update(update)) => self.apply(*update),
            Msg::Tick(now) => self.now = now,
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.keep_selection_visible();
            }
            Msg::Done(line) => self.status = Some(line),
            Msg::Demo(faults) => self.demo_faults = faults,
        }
        Vec::new()
    }

    fn apply(&mut self, update: Update) {
        self.refreshing = false;
        if let Some(listing) = update.listing {
            let keep = self.selected_group().map(|g| g.group.clone());
            self.listed_at = Some(update.at);
            self.groups = listing;
            self.groups.sort_by(|a, b| a.group.cmp(&b.group));
            let listed: std::collections::HashSet<&GroupId> =
                self.groups.iter().map(|g| &g.group).collect();
            self.details.retain(|id, _| listed.contains(id));
            self.refilter(keep.as_ref());
        }
        for id in &update.vanished {
            self.details.remove(id);
        }
        for detail in update.details {
            let id = GroupId {
                namespace: detail.view.namespace.clone(),
                name: detail.view.name.clone(),
            };
            self.details.insert(id, detail);
        }
        if let Some(history) = update.history {
            self.history = Some(history);
        }
        self.warnings = update.warnings;
        match update.error {
            Some(e) => self.store_error = Some(e),
            None => {
                self.store_error = None;
                self.last_update = Some(update.at);
            }
        }
        let clusters = self.selected_detail().map_or(0, |d| d.view.clusters.len());
        self.cluster_row = self.cluster_row.min(clusters.saturating_sub(1));
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Command> {
        match &self.mode {
            Mode::Help => {
                if matches!(
                    action_for(key, self.config.demo),
                    Some(Action::Quit | Action::Help)
                ) {
                    self.mode = Mode::Normal;
                }
                Vec::new()
            }
            Mode::Filter => {
                self.filter_key(key);
                Vec::new()
            }
            Mode::Confirm(dialog) => {
                let mut dialog = dialog.clone();
                match dialog.key(key) {
                    DialogKey::Stay => {
                        self.mode = Mode::Confirm(dialog);
                        Vec::new()
                    }
                    DialogKey::Cancel => {
                        self.mode = Mode::Normal;
                        self.say(Level::Info, "cancelled; nothing was changed");
                        Vec::new()
                    }
                    DialogKey::Confirm => {
                        self.mode = Mode::Normal;
                        let command = dialog.command(&self.config.initiator);
                        self.say(Level::Info, &format!("{}...", dialog.doing()));
                        vec![command]
                    }
                }
            }
            Mode::Normal => match action_for(key, self.config.demo) {
                Some(action) => self.act(action),
                None => Vec::new(),
            },
        }
    }

    fn filter_key(&mut self, key: KeyEvent) {
        let keep = self.selected_group().map(|g| g.group.clone());
        match key.code {
            KeyCode::Enter => self.mode = Mode::Normal,
            KeyCode::Esc => {
                self.filter.clear();
                self.mode = Mode::Normal;
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.filter.push(c)
            }
            _ => return,
        }
        self.refilter(keep.as_ref());
    }

    fn say(&mut self, level: Level, text: &str) {
        self.status = Some(StatusLine {
            text: text.to_string(),
            level,
        });
    }

    fn act(&mut self, action: Action) -> Vec<Command> {
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.mode = Mode::Help,
            Action::NextPanel | Action::PrevPanel => {
                let order = [Panel::Groups, Panel::Clusters, Panel::History];
                let at = order.iter().position(|p| *p == self.focus).unwrap_or(0);
                let step = if action == Action::NextPanel { 1 } else { 2 };
                self.focus = order[(at + step) % 3];
            }
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-(self.list_rows() as i64)),
            Action::PageDown => self.move_by(self.list_rows() as i64),
            Action::Top => self.move_by(i64::MIN / 2),
            Action::Bottom => self.move_by(i64::MAX / 2),
            Action::Filter => {
                self.focus = Panel::Groups;
                self.mode = Mode::Filter;
            }
            // The title bar says "refreshing..." until the feed answers; a refresh asked for
            // also re-lists, so groups created since the last listing show.
            Action::Refresh => return vec![Command::Refresh],
            Action::Promote => self.ask_promote(),
            Action::ToggleSuspend => self.ask_suspend(),
            Action::DemoKill | Action::DemoPartition => {
                let Some(cluster) = self.selected_cluster().map(str::to_string) else {
                    self.say(
                        Level::Warn,
                        "select a cluster first (Tab to the clusters panel)",
                    );
                    return Vec::new();
                };
                return vec![if action == Action::DemoKill {
                    Command::ToggleAgent(cluster)
                } else {
                    Command::TogglePartition(cluster)
                }];
            }
        }
        Vec::new()
    }

    /// The history on record for the selected group (none while another group's is held).
    pub fn current_history(&self) -> Option<&HistoryData> {
        let selected = self.selected_group()?;
        self.history.as_ref().filter(|h| h.group == selected.group)
    }

    fn ask_promote(&mut self) {
        let Some(group) = self.selected_group().map(|g| g.group.clone()) else {
            return self.say(Level::Warn, "no group selected");
        };
        let Some(detail) = self.selected_detail() else {
            return self.say(
                Level::Warn,
                &format!("the clusters of {group} are not loaded yet; wait a moment or press r"),
            );
        };
        let owner = detail.view.owner_cluster.clone();
        let targets: Vec<String> = detail
            .view
            .clusters
            .iter()
            .map(|c| c.name.clone())
            .filter(|c| *c != owner)
            .collect();
        if targets.is_empty() {
            return self.say(
                Level::Warn,
                &format!("{group} has no cluster besides its owner {owner} to promote"),
            );
        }
        let choice = self
            .selected_cluster()
            .and_then(|c| targets.iter().position(|t| t == c))
            .unwrap_or(0);
        self.mode = Mode::Confirm(Dialog::promote(group, owner, targets, choice));
    }

    fn ask_suspend(&mut self) {
        let Some(g) = self.selected_group() else {
            return self.say(Level::Warn, "no group selected");
        };
        // The loaded CONFIG is read strongly consistent; the listing may lag behind it.
        let suspended = self
            .selected_detail()
            .map_or(g.suspended, |d| d.view.suspended);
        let dialog = Dialog::Suspend {
            group: g.group.clone(),
            suspend: !suspended,
        };
        self.mode = Mode::Confirm(dialog);
    }
}
