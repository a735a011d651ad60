//! The messages the app receives and the commands it returns: the vocabulary between the pure
//! state machine in [`super::app`] and the run loop that does the I/O.

use super::model::FeedMsg;
use crate::ops::promote::PromoteRequest;
use crate::store::GroupId;
use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use std::collections::BTreeMap;

/// How a status-line message reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something done.
    Info,
    /// Something refused or partly read.
    Warn,
    /// Something failed.
    Error,
}

/// The status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// What to say.
    pub text: String,
    /// How loud.
    pub level: Level,
}

/// A fault the demo injected into one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DemoFaults {
    /// Its agent is stopped.
    pub killed: bool,
    /// Its agent is cut off from the store.
    pub partitioned: bool,
}

/// Everything that can happen to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// A key was pressed.
    Key(KeyEvent),
    /// The feed reported.
    Feed(FeedMsg),
    /// Time passed (ages and countdowns tick from this instant).
    Tick(DateTime<Utc>),
    /// The terminal has a new size (columns, rows).
    Resize(u16, u16),
    /// An action finished; the text goes to the status line.
    Done(StatusLine),
    /// The demo's faults changed.
    Demo(BTreeMap<String, DemoFaults>),
}

/// What the run loop must do for the app (the only way the app causes I/O).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Fetch now.
    Refresh,
    /// Ask for a planned failover (`ops::promote::request_promotion`).
    Promote {
        /// The group.
        group: GroupId,
        /// The request.
        request: PromoteRequest,
    },
    /// Turn automatic failover off or on (`ops::suspend::set_suspended`).
    Suspend {
        /// The group.
        group: GroupId,
        /// Off (`true`) or on.
        suspend: bool,
    },
    /// Demo: stop or restart a cluster's agent.
    ToggleAgent(String),
    /// Demo: cut a cluster's agent off from the store, or reconnect it.
    TogglePartition(String),
}

/// Settings that do not change while the UI runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// The title bar's text (what is watched, where).
    pub title: String,
    /// Running inside `kubectl failover demo` (its extra keys work).
    pub demo: bool,
    /// Who promotions and suspensions are recorded as.
    pub initiator: String,
}
