//! The key table: one list of bindings that drives both key handling and the `?` help overlay,
//! so the help can never disagree with what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks the app to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Leave the UI (or close the open overlay).
    Quit,
    /// Show or hide the help overlay.
    Help,
    /// Move focus to the next panel.
    NextPanel,
    /// Move focus to the previous panel.
    PrevPanel,
    /// Select the row above.
    Up,
    /// Select the row below.
    Down,
    /// Jump a page up.
    PageUp,
    /// Jump a page down.
    PageDown,
    /// Select the first row.
    Top,
    /// Select the last row.
    Bottom,
    /// Start typing a filter for the groups list.
    Filter,
    /// Fetch now instead of at the next refresh.
    Refresh,
    /// Ask to promote the selected group (to the selected cluster).
    Promote,
    /// Ask to suspend or resume automatic failover of the selected group.
    ToggleSuspend,
    /// Demo only: stop or restart the selected cluster's agent.
    DemoKill,
    /// Demo only: cut the selected cluster's agent off from the store, or reconnect it.
    DemoPartition,
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everywhere in the main view.
    Always,
    /// Only in `kubectl failover demo`.
    Demo,
}

/// One row of the key table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys, as shown in the help (`"j / Down"`).
    pub label: &'static str,
    /// The key codes that trigger it (without modifiers other than Shift).
    pub codes: &'static [KeyCode],
    /// What it does.
    pub action: Action,
    /// Where it applies.
    pub scope: Scope,
    /// One line of help.
    pub help: &'static str,
}

const fn bind(
    label: &'static str,
    codes: &'static [KeyCode],
    action: Action,
    scope: Scope,
    help: &'static str,
) -> Binding {
    Binding {
        label,
        codes,
        action,
        scope,
        help,
    }
}

/// Every binding of the main view, in the order the help shows them.
pub const KEYS: &[Binding] = &[
    bind(
        "q / Esc",
        &[KeyCode::Char('q'), KeyCode::Esc],
        Action::Quit,
        Scope::Always,
        "quit (or close the open overlay)",
    ),
    bind(
        "?",
        &[KeyCode::Char('?')],
        Action::Help,
        Scope::Always,
        "show / hide this help",
    ),
    bind(
        "Tab",
        &[KeyCode::Tab],
        Action::NextPanel,
        Scope::Always,
        "next panel: groups, clusters, history",
    ),
    bind(
        "Shift-Tab",
        &[KeyCode::BackTab],
        Action::PrevPanel,
        Scope::Always,
        "previous panel",
    ),
    bind(
        "k / Up",
        &[KeyCode::Char('k'), KeyCode::Up],
        Action::Up,
        Scope::Always,
        "select the row above",
    ),
    bind(
        "j / Down",
        &[KeyCode::Char('j'), KeyCode::Down],
        Action::Down,
        Scope::Always,
        "select the row below",
    ),
    bind(
        "PgUp",
        &[KeyCode::PageUp],
        Action::PageUp,
        Scope::Always,
        "a page up",
    ),
    bind(
        "PgDn",
        &[KeyCode::PageDown],
        Action::PageDown,
        Scope::Always,
        "a page down",
    ),
    bind(
        "g / Home",
        &[KeyCode::Char('g'), KeyCode::Home],
        Action::Top,
        Scope::Always,
        "first row",
    ),
    bind(
        "G / End",
        &[KeyCode::Char('G'), KeyCode::End],
        Action::Bottom,
        Scope::Always,
        "last row",
    ),
    bind(
        "/",
        &[KeyCode::Char('/')],
        Action::Filter,
        Scope::Always,
        "filter groups by name (Enter keeps, Esc clears)",
    ),
    bind(
        "r",
        &[KeyCode::Char('r')],
        Action::Refresh,
        Scope::Always,
        "refresh now",
    ),
    bind(
        "p",
        &[KeyCode::Char('p')],
        Action::Promote,
        Scope::Always,
        "promote the group to the selected cluster (asks first)",
    ),
    bind(
        "s",
        &[KeyCode::Char('s')],
        Action::ToggleSuspend,
        Scope::Always,
        "suspend / resume automatic failover (asks first)",
    ),
    bind(
        "x",
        &[KeyCode::Char('x')],
        Action::DemoKill,
        Scope::Demo,
        "kill / restart the selected cluster's agent",
    ),
    bind(
        "c",
        &[KeyCode::Char('c')],
        Action::DemoPartition,
        Scope::Demo,
        "cut the selected cluster off from the store / reconnect",
    ),
];

/// The action of a key in the main view; `None` for keys the table does not bind (or that
/// belong to the demo when not in it). Ctrl-C always quits: in raw mode it arrives as a key.
pub fn action_for(key: KeyEvent, demo: bool) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return (key.code == KeyCode::Char('c')).then_some(Action::Quit);
    }
    KEYS.iter()
        .filter(|b| demo || b.scope == Scope::Always)
        .find(|b| b.codes.contains(&key.code))
        .map(|b| b.action)
}

/// The help overlay's lines: `(keys, help)`.
pub fn help_lines(demo: bool) -> Vec<(&'static str, &'static str)> {
    KEYS.iter()
        .filter(|b| demo || b.scope == Scope::Always)
        .map(|b| (b.label, b.help))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn vim_keys_and_arrows_move_the_same_way() {
        assert_eq!(
            action_for(key(KeyCode::Char('j')), false),
            Some(Action::Down)
        );
        assert_eq!(action_for(key(KeyCode::Down), false), Some(Action::Down));
        assert_eq!(action_for(key(KeyCode::Char('k')), false), Some(Action::Up));
        assert_eq!(action_for(key(KeyCode::Up), false), Some(Action::Up));
    }

    #[test]
    fn ctrl_c_quits_even_though_c_alone_is_a_demo_key() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(ctrl_c, true), Some(Action::Quit));
        assert_eq!(
            action_for(key(KeyCode::Char('c')), true),
            Some(Action::DemoPartition)
        );
    }

    #[test]
    fn demo_keys_do_nothing_and_are_not_documented_outside_the_demo() {
        assert_eq!(action_for(key(KeyCode::Char('x')), false), None);
        assert!(help_lines(false).iter().all(|(k, _)| *k != "x"));
        assert!(help_lines(true).iter().any(|(k, _)| *k == "x"));
    }

    #[test]
    fn no_key_is_bound_to_two_actions() {
        let codes: Vec<KeyCode> = KEYS.iter().flat_map(|b| b.codes.iter().copied()).collect();
        for (i, c) in codes.iter().enumerate() {
            assert!(!codes[i + 1..].contains(c), "{c:?} is bound twice");
        }
    }
}
