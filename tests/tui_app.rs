//! The terminal UI's update logic without a terminal: keys change the state, confirmations
//! stand between a key and any write, and the app asks the feed only for what is on screen.

#[path = "tui_fixtures/mod.rs"]
mod fixtures;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fixtures::*;
use kubectl_failover::store::{ClusterState, FailoverMode, GroupSnapshot};
use kubectl_failover::tui::app::{App, Command, Level, Mode, Msg, Panel};
use kubectl_failover::tui::model::{FeedMsg, Update};

fn press(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn chars(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(press(app, KeyCode::Char(c)).is_empty());
    }
}

fn three_clusters(ns: &str, name: &str) -> GroupSnapshot {
    let mut s = healthy(ns, name);
    s.clusters
        .push(cluster("cluster-c", ClusterState::Standby, Some(1)));
    s
}

fn selected(app: &App) -> String {
    app.selected_group().unwrap().group.to_string()
}

#[test]
fn j_k_and_the_arrows_move_the_selection_within_the_list() {
    let mut app = app_with(
        &[healthy("a", "x"), healthy("b", "y"), healthy("c", "z")],
        100,
        30,
    );
    assert_eq!(selected(&app), "a/x");
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Down);
    assert_eq!(selected(&app), "c/z");
    press(&mut app, KeyCode::Down);
    assert_eq!(selected(&app), "c/z", "stops at the last row");
    press(&mut app, KeyCode::Char('k'));
    assert_eq!(selected(&app), "b/y");
    press(&mut app, KeyCode::Char('g'));
    assert_eq!(selected(&app), "a/x");
}

#[test]
fn tab_cycles_the_panels_and_arrows_then_move_within_the_focused_one() {
    let mut app = app_with(
        &[three_clusters("shop", "web"), healthy("shop", "zz")],
        100,
        30,
    );
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Panel::Clusters);
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected_cluster(), Some("cluster-b"));
    assert_eq!(
        selected(&app),
        "shop/web",
        "the group selection did not move"
    );
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Panel::History);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Panel::Groups);
    press(&mut app, KeyCode::BackTab);
    assert_eq!(app.focus, Panel::History);
}

#[test]
fn slash_filters_the_groups_enter_keeps_the_filter_and_esc_clears_it() {
    let mut app = app_with(
        &[
            healthy("blog", "web"),
            healthy("shop", "api"),
            healthy("shop", "web"),
        ],
        100,
        30,
    );
    press(&mut app, KeyCode::Char('/'));
    assert_eq!(app.mode, Mode::Filter);
    chars(&mut app, "web");
    assert_eq!(app.shown.len(), 2);
    chars(&mut app, "q"); // typed into the filter, not a quit
    assert!(!app.quit);
    assert!(app.shown.is_empty());
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(app.filter, "web");
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(selected(&app), "shop/web");
    press(&mut app, KeyCode::Char('/'));
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.shown.len(), 3);
    assert_eq!(
        selected(&app),
        "shop/web",
        "clearing the filter keeps the selected group"
    );
}

#[test]
fn a_new_listing_keeps_the_selected_group_selected_even_when_rows_move() {
    let mut app = app_with(&[healthy("b", "x"), healthy("c", "x")], 100, 30);
    press(&mut app, KeyCode::Down);
    assert_eq!(selected(&app), "c/x");
    let update = update_of(&[healthy("a", "x"), healthy("b", "x"), healthy("c", "x")]);
    app.update(Msg::Feed(FeedMsg::Update(Box::new(update))));
    assert_eq!(selected(&app), "c/x");
    assert_eq!(app.selected, 2);
}

#[test]
fn q_quits_but_inside_the_help_it_only_closes_the_help() {
    let mut app = app_with(&[healthy("shop", "web")], 100, 30);
    press(&mut app, KeyCode::Char('?'));
    assert_eq!(app.mode, Mode::Help);
    press(&mut app, KeyCode::Char('q'));
    assert_eq!(app.mode, Mode::Normal);
    assert!(!app.quit);
    press(&mut app, KeyCode::Esc);
    assert!(app.quit);
    let mut app = app_with(&[], 80, 24);
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.quit, "Ctrl-C quits");
}

#[test]
fn promote_asks_first_and_cancelling_writes_nothing() {
    let mut app = app_with(&[three_clusters("shop", "web")], 100, 30);
    assert!(
        press(&mut app, KeyCode::Char('p')).is_empty(),
        "no write on the key itself"
    );
    assert!(matches!(app.mode, Mode::Confirm(_)));
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    assert!(app.status.as_ref().unwrap().text.contains("cancelled"));
}

#[test]
fn promote_to_the_cluster_selected_in_the_clusters_panel_with_the_chosen_mode() {
    let mut app = app_with(&[three_clusters("shop", "web")], 100, 30);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.selected_cluster(), Some("cluster-c"));
    press(&mut app, KeyCode::Char('p'));
    press(&mut app, KeyCode::Char('m'));
    let commands = press(&mut app, KeyCode::Char('y'));
    let [Command::Promote { group, request }] = commands.as_slice() else {
        panic!("expected one promote, got {commands:?}");
    };
    assert_eq!(group.to_string(), "shop/web");
    assert_eq!(request.target, "cluster-c");
    assert_eq!(request.mode, FailoverMode::Uptime);
    assert_eq!(request.initiator, "tester");
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("requesting promotion of shop/web to cluster-c")
    );
}

#[test]
fn promote_of_a_group_whose_clusters_are_not_loaded_yet_says_so_instead_of_guessing() {
    let s = healthy("shop", "web");
    let mut app = App::new(app_config(false), t0(), (100, 30));
    let listing_only = Update {
        details: Vec::new(),
        ..update_of(&[s])
    };
    app.update(Msg::Feed(FeedMsg::Update(Box::new(listing_only))));
    assert!(press(&mut app, KeyCode::Char('p')).is_empty());
    assert_eq!(app.mode, Mode::Normal);
    let status = app.status.clone().unwrap();
    assert_eq!(status.level, Level::Warn);
    assert!(status.text.contains("not loaded yet"), "{}", status.text);
}

#[test]
fn s_suspends_a_running_group_and_resumes_a_suspended_one_after_confirmation() {
    let mut suspended = healthy("shop", "api");
    suspended.config.suspended = true;
    let mut app = app_with(&[suspended, healthy("shop", "web")], 100, 30);
    press(&mut app, KeyCode::Char('s'));
    let commands = press(&mut app, KeyCode::Enter);
    assert!(
        matches!(
            commands.as_slice(),
            [Command::Suspend { suspend: false, .. }]
        ),
        "{commands:?}"
    );
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('s'));
    let commands = press(&mut app, KeyCode::Char('y'));
    let [
        Command::Suspend {
            group,
            suspend: true,
        },
    ] = commands.as_slice()
    else {
        panic!("{commands:?}");
    };
    assert_eq!(group.to_string(), "shop/web");
}

#[test]
fn demo_keys_act_on_the_selected_cluster_only_in_the_demo() {
    let mut app = app_with(&[three_clusters("demo", "app-1")], 100, 30);
    assert!(press(&mut app, KeyCode::Char('x')).is_empty());
    app.config.demo = true;
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(
        press(&mut app, KeyCode::Char('x')),
        [Command::ToggleAgent("cluster-b".into())]
    );
    assert_eq!(
        press(&mut app, KeyCode::Char('c')),
        [Command::TogglePartition("cluster-b".into())]
    );
}

#[test]
fn r_asks_the_feed_for_a_refresh_now() {
    let mut app = app_with(&[healthy("shop", "web")], 100, 30);
    assert_eq!(press(&mut app, KeyCode::Char('r')), [Command::Refresh]);
}

#[test]
fn the_feed_is_asked_only_for_the_rows_on_screen_and_follows_the_scrolling() {
    let groups: Vec<GroupSnapshot> = (0..1000)
        .map(|i| healthy("ns", &format!("g{i:04}")))
        .collect();
    let mut app = app_with(&groups, 80, 24);
    let rows = app.list_rows();
    let window = app.window();
    assert_eq!(window.visible.len(), rows);
    assert!(rows < 12, "80x24 shows a handful of rows, not {rows}");
    assert_eq!(window.visible[0].to_string(), "ns/g0000");
    press(&mut app, KeyCode::End);
    let window = app.window();
    assert_eq!(window.visible.len(), rows);
    assert_eq!(window.visible.last().unwrap().to_string(), "ns/g0999");
    assert_eq!(window.selected.unwrap().to_string(), "ns/g0999");
    app.update(Msg::Resize(80, 50));
    assert!(
        app.window().visible.len() > rows,
        "a taller terminal shows more rows"
    );
}
