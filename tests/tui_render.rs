//! The terminal UI's screens for fixed states, rendered on ratatui's `TestBackend` and read back
//! as text: what an on-call engineer would see for a stale heartbeat, a held lock counting down,
//! a transition in flight, an empty table, a store error, the help and the dialogs.

#[path = "tui_fixtures/mod.rs"]
mod fixtures;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fixtures::*;
use kubectl_failover::ops::history::{FailoverView, HistoryView};
use kubectl_failover::store::{ClusterState, FailoverMode, Phase, Transition};
use kubectl_failover::tui::app::{Msg, Panel};
use kubectl_failover::tui::keys::{KEYS, Scope};
use kubectl_failover::tui::model::{FeedMsg, HistoryData, Update};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

#[test]
fn a_heartbeat_older_than_the_timeout_shows_stale_with_a_cross_and_its_age() {
    let mut s = healthy("shop", "web");
    // Default heartbeat timeout is 60s: 90s is past it, 40s is late (over half), 3s fresh.
    s.clusters = vec![
        cluster("cluster-a", ClusterState::Primary, Some(90)),
        cluster("cluster-b", ClusterState::Standby, Some(40)),
        cluster("cluster-c", ClusterState::Standby, Some(3)),
    ];
    let screen = render(&app_with(&[s], 100, 30));
    let a = line_with(&screen, "│cluster-a ");
    assert!(a.contains("✗ 1m30s STALE"), "{a}");
    assert!(
        line_with(&screen, "│cluster-b ").contains("◐ 40s"),
        "{screen}"
    );
    assert!(
        line_with(&screen, "│cluster-c ").contains("● 3s"),
        "{screen}"
    );
    // The groups row counts healthy clusters live: b (late) and c count, a does not.
    let row = line_with(&screen, "shop/web");
    assert!(row.contains("! 2/3"), "{row}");
    assert!(
        row.contains("✗ cluster-a"),
        "the owner is marked stale: {row}"
    );
}

#[test]
fn heartbeat_ages_tick_with_the_clock_without_a_new_fetch() {
    let mut app = app_with(&[healthy("shop", "web")], 100, 30);
    assert!(line_with(&render(&app), "│cluster-a ").contains("● 2s"));
    let _ = app.update(Msg::Tick(t0() + secs(61)));
    let screen = render(&app);
    assert!(
        line_with(&screen, "│cluster-a ").contains("✗ 1m03s STALE"),
        "{screen}"
    );
}

#[test]
fn a_held_lock_shows_holder_reason_and_a_lease_counting_down_then_lapsed() {
    let mut s = healthy("shop", "web");
    s.lock = Some(lock("cluster-b", 12, 18));
    let mut app = app_with(&[s], 100, 30);
    let screen = render(&app);
    assert!(
        line_with(&screen, "holder").contains("cluster-b"),
        "{screen}"
    );
    assert!(
        line_with(&screen, "acquired").contains("12s ago"),
        "{screen}"
    );
    assert!(
        line_with(&screen, "lease").contains("expires in 18s"),
        "{screen}"
    );
    assert!(
        line_with(&screen, "shop/web").contains("cluster-b"),
        "lock column"
    );
    let _ = app.update(Msg::Tick(t0() + secs(5)));
    assert!(line_with(&render(&app), "lease").contains("expires in 13s"));
    let _ = app.update(Msg::Tick(t0() + secs(30)));
    assert!(line_with(&render(&app), "lease").contains("✗ LAPSED 12s ago"));
}

#[test]
fn a_free_group_says_no_lock() {
    let screen = render(&app_with(&[healthy("shop", "web")], 100, 30));
    assert!(screen.contains("no lock"), "{screen}");
    assert!(screen.contains("no transition in flight"), "{screen}");
}

#[test]
fn a_transition_in_flight_shows_target_and_phase_in_the_list_and_the_lock_panel() {
    let mut s = healthy("shop", "web");
    s.config.transition = Some(Transition {
        id: "fo-1".into(),
        source: "cluster-a".into(),
        target: "cluster-b".into(),
        mode: FailoverMode::Consistency,
        force: false,
        automatic: true,
        reason: "owner heartbeat stale".into(),
        initiator: "cluster-b".into(),
        phase: Phase::SourceDeactivating,
        requested_at: t0() - secs(4),
        source_stopped_at: None,
        drill: false,
    });
    s.lock = Some(lock("cluster-b", 4, 26));
    let screen = render(&app_with(&[s], 120, 30));
    assert!(
        line_with(&screen, "shop/web").contains("→cluster-b source-off"),
        "{screen}"
    );
    assert!(
        screen.contains("cluster-a → cluster-b SOURCE_DEACTIVATING"),
        "{screen}"
    );
    assert!(
        screen.contains("CONSISTENCY automatic, asked 4s ago"),
        "{screen}"
    );
}

#[test]
fn an_empty_table_says_no_groups_were_found_instead_of_loading_forever() {
    let app = app_with(&[], 80, 24);
    let screen = render(&app);
    assert!(screen.contains("no groups found"), "{screen}");
    assert!(!screen.contains("loading"), "{screen}");
}

#[test]
fn a_store_error_shows_in_the_status_bar_and_the_last_good_data_stays() {
    let mut app = app_with(&[healthy("shop", "web")], 100, 30);
    let failed = Update {
        listing: None,
        details: Vec::new(),
        vanished: Vec::new(),
        history: None,
        warnings: Vec::new(),
        error: Some("DynamoDB is unreachable for Query on table \"t\"".into()),
        at: t0() + secs(20),
    };
    let _ = app.update(Msg::Feed(FeedMsg::Update(Box::new(failed))));
    let _ = app.update(Msg::Tick(t0() + secs(20)));
    let screen = render(&app);
    let bar = screen.lines().last().unwrap();
    assert!(
        bar.contains("✗ store error: DynamoDB is unreachable"),
        "{bar}"
    );
    assert!(bar.contains("showing data from 20s ago"), "{bar}");
    assert!(
        line_with(&screen, "shop/web").contains("cluster-a"),
        "{screen}"
    );
    assert!(
        line_with(&screen, "│cluster-b ").contains("STANDBY"),
        "{screen}"
    );
}

#[test]
fn every_panel_and_the_status_bar_fit_in_80_by_24() {
    let screen = render(&app_with(
        &[healthy("shop", "web"), healthy("shop", "api")],
        80,
        24,
    ));
    assert_eq!(screen.lines().count(), 24);
    for title in [
        "Groups 1/2",
        "Clusters of shop/api",
        "Lock / transition",
        "History",
    ] {
        assert!(screen.contains(title), "{title} missing:\n{screen}");
    }
    assert!(
        line_with(&screen, "shop/web").contains("cluster-a"),
        "{screen}"
    );
    assert!(screen.lines().last().unwrap().contains("? help") || screen.contains("? help"));
}

#[test]
fn the_help_overlay_lists_every_key_of_the_key_table() {
    let mut app = app_with(&[healthy("shop", "web")], 100, 30);
    let _ = app.update(key('?'));
    let screen = render(&app);
    for b in KEYS.iter().filter(|b| b.scope == Scope::Always) {
        assert!(
            screen
                .lines()
                .any(|l| l.contains(b.label) && l.contains(b.help)),
            "{} / {} missing:\n{screen}",
            b.label,
            b.help
        );
    }
    assert!(
        !screen.contains("kill / restart"),
        "demo keys shown outside the demo"
    );
}

#[test]
fn the_promote_dialog_names_group_source_target_and_mode() {
    let mut s = healthy("shop", "web");
    s.clusters
        .push(cluster("cluster-c", ClusterState::Standby, Some(1)));
    let mut app = app_with(&[s], 100, 30);
    let _ = app.update(key('p'));
    let _ = app.update(Msg::Key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE)));
    let screen = render(&app);
    assert!(
        screen.contains("Move shop/web from cluster-a to cluster-c?"),
        "{screen}"
    );
    assert!(screen.contains("cluster-b [cluster-c]"), "{screen}");
    assert!(screen.contains("mode:   CONSISTENCY"), "{screen}");
}

#[test]
fn history_is_newest_first_with_mode_kind_status_duration_downtime_and_initiator() {
    let s = healthy("shop", "web");
    let mut app = app_with(std::slice::from_ref(&s), 140, 30);
    let failover = |name: &str, ago: i64, auto: bool, status: &str| FailoverView {
        failover_name: name.into(),
        source_cluster: "cluster-a".into(),
        target_cluster: "cluster-b".into(),
        start_time: t0() - secs(ago),
        age_seconds: ago,
        end_time: Some(t0() - secs(ago - 9)),
        status: status.into(),
        reason: format!("reason of {name}"),
        duration_seconds: Some(9),
        downtime_seconds: Some(2),
        mode: Some("CONSISTENCY".into()),
        automatic: Some(auto),
        initiator: Some(if auto { "cluster-b" } else { "alice" }.into()),
        drill: false,
    };
    let history = HistoryData {
        group: s.config.group.clone(),
        version: s.config.version,
        view: HistoryView {
            namespace: "shop".into(),
            name: "web".into(),
            config_missing: false,
            failovers: vec![
                failover("new", 60, true, "SUCCESS"),
                failover("old", 7200, false, "FAILED"),
            ],
            observed_at: t0(),
        },
    };
    let mut update = update_of(&[s]);
    update.history = Some(history);
    let _ = app.update(Msg::Feed(FeedMsg::Update(Box::new(update))));
    let screen = render(&app);
    let lines: Vec<&str> = screen.lines().collect();
    let new = lines
        .iter()
        .position(|l| l.contains("reason of new"))
        .expect(&screen);
    let old = lines
        .iter()
        .position(|l| l.contains("reason of old"))
        .expect(&screen);
    assert!(new < old, "newest first:\n{screen}");
    for part in [
        "cluster-a → cluster-b",
        "CONSISTENCY",
        "auto",
        "✓ SUCCESS",
        "9s",
        "2s",
        "cluster-b",
    ] {
        assert!(
            lines[new].contains(part),
            "{part} missing in {}",
            lines[new]
        );
    }
    assert!(
        lines[old].contains("manual")
            && lines[old].contains("✗ FAILED")
            && lines[old].contains("alice")
    );
    // Scrolling the focused history panel moves the first row shown.
    app.focus = Panel::History;
    let _ = app.update(key('j'));
    assert!(!render(&app).contains("reason of new"));
}

#[test]
fn a_store_that_fails_from_the_start_is_not_shown_as_an_empty_table() {
    let mut app = kubectl_failover::tui::app::App::new(app_config(false), t0(), (80, 24));
    let failed = Update {
        listing: None,
        details: Vec::new(),
        vanished: Vec::new(),
        history: None,
        warnings: Vec::new(),
        error: Some("DynamoDB table \"t\" does not exist in region us-west-2".into()),
        at: t0(),
    };
    let _ = app.update(Msg::Feed(FeedMsg::Update(Box::new(failed))));
    let screen = render(&app);
    assert!(screen.contains("could not read the store yet"), "{screen}");
    assert!(!screen.contains("no groups found"), "{screen}");
    assert!(
        screen.lines().last().unwrap().contains("does not exist"),
        "{screen}"
    );
}
