//! The data the feed hands the app: the group listing, the loaded details of the visible groups,
//! the selected group's history, and what the app tells the feed it shows.

use crate::ops::history::HistoryView;
use crate::ops::status::GroupView;
use crate::store::{GroupConfig, GroupId, Transition};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// One group's loaded status: the shared status view plus what only CONFIG holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// The status view (`kubectl failover status` shows the same).
    pub view: GroupView,
    /// CONFIG's fencing epoch.
    pub epoch: u64,
    /// The transition in flight, if any.
    pub transition: Option<Transition>,
}

/// The selected group's history, with the CONFIG version it was read at (a new version is the
/// only way history can have grown, so the feed reads it again only then).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryData {
    /// The group.
    pub group: GroupId,
    /// CONFIG version when it was read.
    pub version: u64,
    /// The failovers, newest first.
    pub view: HistoryView,
}

/// What one fetch produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// A fresh listing of the groups in scope (absent when only details were fetched).
    pub listing: Option<Vec<GroupConfig>>,
    /// Details of the groups that were loaded.
    pub details: Vec<Detail>,
    /// Groups that were asked for but have no CONFIG any more.
    pub vanished: Vec<GroupId>,
    /// The selected group's history, when it was (re)read.
    pub history: Option<HistoryData>,
    /// Records that could not be read; the rest is still shown.
    pub warnings: Vec<String>,
    /// The store failed part-way: what was loaded before is in this update, the rest stays as
    /// it was on screen.
    pub error: Option<String>,
    /// When the fetch finished.
    pub at: DateTime<Utc>,
}

/// How often the feed reads: the groups on screen every refresh, the whole listing less often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// Time between refreshes (`--refresh`).
    pub every: Duration,
    /// Time between listings of every group (`--relist-every`, never below `every`).
    pub relist_every: Duration,
}

/// A message from the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedMsg {
    /// The feed's cadence, sent once before its first fetch (the status line shows it).
    Cadence(Cadence),
    /// A fetch started (the UI shows that a refresh is in flight).
    Started,
    /// A fetch ended.
    Update(Box<Update>),
}

/// What the app shows, so the feed loads only that: at most one load per visible group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    /// The groups whose rows are on screen.
    pub visible: Vec<GroupId>,
    /// The selected group (its history is shown).
    pub selected: Option<GroupId>,
    /// The selected group's CONFIG version as last listed (history is re-read when it moves).
    pub selected_version: Option<u64>,
}
