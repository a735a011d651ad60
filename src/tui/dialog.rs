//! The confirmation dialogs: nothing that changes the table happens on one key press; the dialog
//! says exactly what will be written and waits for `y`/`Enter` (or `n`/`Esc`).

use super::app::Command;
use crate::ops::promote::PromoteRequest;
use crate::store::{FailoverMode, GroupId};
use crossterm::event::{KeyCode, KeyEvent};

/// An open confirmation dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    /// Promote a group to one of its other clusters.
    Promote {
        /// The group.
        group: GroupId,
        /// Its owner now.
        owner: String,
        /// The clusters it can move to.
        targets: Vec<String>,
        /// The chosen one (index into `targets`).
        choice: usize,
        /// CONSISTENCY or UPTIME.
        mode: FailoverMode,
    },
    /// Suspend or resume automatic failover.
    Suspend {
        /// The group.
        group: GroupId,
        /// Suspend (`true`) or resume.
        suspend: bool,
    },
}

/// What a key did to a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogKey {
    /// Still open (maybe changed).
    Stay,
    /// Closed without doing anything.
    Cancel,
    /// Closed; do it.
    Confirm,
}

impl Dialog {
    /// A promotion dialog with `choice` preselected.
    pub fn promote(group: GroupId, owner: String, targets: Vec<String>, choice: usize) -> Self {
        Dialog::Promote {
            group,
            owner,
            choice: choice.min(targets.len().saturating_sub(1)),
            targets,
            mode: FailoverMode::Consistency,
        }
    }

    /// Applies a key.
    pub fn key(&mut self, key: KeyEvent) -> DialogKey {
        match key.code {
            KeyCode::Char('y') | KeyCode::Enter => return DialogKey::Confirm,
            KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => return DialogKey::Cancel,
            _ => {}
        }
        if let Dialog::Promote {
            targets,
            choice,
            mode,
            ..
        } = self
        {
            let n = targets.len().max(1);
            match key.code {
                KeyCode::Left | KeyCode::Char('h') | KeyCode::Up | KeyCode::Char('k') => {
                    *choice = (*choice + n - 1) % n
                }
                KeyCode::Right
                | KeyCode::Char('l')
                | KeyCode::Down
                | KeyCode::Char('j')
                | KeyCode::Tab => *choice = (*choice + 1) % n,
                KeyCode::Char('m') => {
                    *mode = match mode {
                        FailoverMode::Consistency => FailoverMode::Uptime,
                        FailoverMode::Uptime => FailoverMode::Consistency,
                    }
                }
                _ => {}
            }
        }
        DialogKey::Stay
    }

    /// The dialog's title.
    pub fn title(&self) -> &'static str {
        match self {
            Dialog::Promote { .. } => "Promote",
            Dialog::Suspend { suspend: true, .. } => "Suspend automatic failover",
            Dialog::Suspend { suspend: false, .. } => "Resume automatic failover",
        }
    }

    /// The dialog's text lines: what will be written, then the keys.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Dialog::Promote {
                group,
                owner,
                targets,
                choice,
                mode,
            } => {
                let target = targets.get(*choice).map_or("?", String::as_str);
                let picks: Vec<String> = targets
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        if i == *choice {
                            format!("[{t}]")
                        } else {
                            t.clone()
                        }
                    })
                    .collect();
                vec![
                    format!("Move {group} from {owner} to {target}?"),
                    format!("target: {}   (<-/-> to choose)", picks.join(" ")),
                    format!("mode:   {mode}   (m to switch)"),
                    "The target's agent drives the failover once it is requested.".to_string(),
                    "y / Enter: request it    n / Esc: cancel".to_string(),
                ]
            }
            Dialog::Suspend { group, suspend } => {
                let what = if *suspend {
                    format!("Suspend automatic failover of {group}?")
                } else {
                    format!("Resume automatic failover of {group}?")
                };
                let why = if *suspend {
                    "Clusters will no longer fail over on their own; promote still works."
                } else {
                    "Clusters will fail over on their own again when the owner dies."
                };
                vec![
                    what,
                    why.to_string(),
                    "y / Enter: do it    n / Esc: cancel".to_string(),
                ]
            }
        }
    }

    /// What the status line says while the command runs.
    pub fn doing(&self) -> String {
        match self {
            Dialog::Promote {
                group,
                targets,
                choice,
                ..
            } => format!(
                "requesting promotion of {group} to {}",
                targets.get(*choice).map_or("?", String::as_str)
            ),
            Dialog::Suspend { group, suspend } => format!(
                "{} automatic failover of {group}",
                if *suspend { "suspending" } else { "resuming" }
            ),
        }
    }

    /// The command a confirmed dialog runs, recorded as done by `initiator`.
    pub fn command(&self, initiator: &str) -> Command {
        match self {
            Dialog::Promote {
                group,
                targets,
                choice,
                mode,
                ..
            } => {
                let target = targets.get(*choice).cloned().unwrap_or_default();
                let request = PromoteRequest {
                    mode: *mode,
                    ..PromoteRequest::to(
                        &target,
                        initiator,
                        "requested from kubectl failover watch",
                    )
                };
                Command::Promote {
                    group: group.clone(),
                    request,
                }
            }
            Dialog::Suspend { group, suspend } => Command::Suspend {
                group: group.clone(),
                suspend: *suspend,
            },
        }
    }
}
