//! Fixed states for the terminal UI tests: groups, clusters and locks at a fixed instant, an
//! app that has received them from the feed, and rendering to plain text.
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use kubectl_failover::ops::status::group_view;
use kubectl_failover::store::{
    ClusterState, ClusterStatus, GroupConfig, GroupId, GroupSnapshot, Health, Lock,
};
use kubectl_failover::tui::app::{App, AppConfig, Msg};
use kubectl_failover::tui::model::{Detail, FeedMsg, Update};
use kubectl_failover::tui::ui;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::collections::BTreeMap;

pub const OP: &str = "op";

/// The fixed "now" of every fixture.
pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

pub fn config(ns: &str, name: &str, owner: &str) -> GroupConfig {
    GroupConfig::new(
        OP,
        GroupId::new(ns, name).unwrap(),
        owner,
        t0() - secs(3600),
    )
}

/// A cluster whose last heartbeat was `age` seconds before t0 (none for `None`).
pub fn cluster(name: &str, state: ClusterState, age: Option<i64>) -> ClusterStatus {
    ClusterStatus {
        cluster_name: name.into(),
        health: Health::Ok,
        state,
        last_heartbeat: age.map(|a| t0() - secs(a)),
        heartbeat_seq: Some(41),
        components: BTreeMap::new(),
        ack: None,
        fenced: false,
    }
}

pub fn lock(holder: &str, acquired_ago: i64, expires_in: i64) -> Lock {
    Lock {
        locked_by: holder.into(),
        lock_reason: "failover demo/app-1 cluster-1 -> cluster-2".into(),
        acquired_at: Some(t0() - secs(acquired_ago)),
        expires_at: t0() + secs(expires_in),
        lease_token: "secret".into(),
    }
}

/// shop/web: owner cluster-a fresh, cluster-b fresh, no lock.
pub fn healthy(ns: &str, name: &str) -> GroupSnapshot {
    GroupSnapshot {
        config: config(ns, name, "cluster-a"),
        clusters: vec![
            cluster("cluster-a", ClusterState::Primary, Some(2)),
            cluster("cluster-b", ClusterState::Standby, Some(3)),
        ],
        lock: None,
    }
}

pub fn detail(s: &GroupSnapshot) -> Detail {
    Detail {
        view: group_view(s, t0()),
        epoch: s.config.epoch,
        transition: s.config.transition.clone(),
    }
}

pub fn app_config(demo: bool) -> AppConfig {
    AppConfig {
        title: "failover watch · test".into(),
        demo,
        initiator: "tester".into(),
    }
}

/// The update a feed would send after reading `snapshots` (all of them loaded).
pub fn update_of(snapshots: &[GroupSnapshot]) -> Update {
    Update {
        listing: Some(snapshots.iter().map(|s| s.config.clone()).collect()),
        details: snapshots.iter().map(detail).collect(),
        vanished: Vec::new(),
        history: None,
        warnings: Vec::new(),
        error: None,
        at: t0(),
    }
}

/// An app at t0 that has received `snapshots`, in a `w` x `h` terminal.
pub fn app_with(snapshots: &[GroupSnapshot], w: u16, h: u16) -> App {
    let mut app = App::new(app_config(false), t0(), (w, h));
    let _ = app.update(Msg::Feed(FeedMsg::Update(Box::new(update_of(snapshots)))));
    app
}

/// The screen as text, one line per row (trailing blanks trimmed).
pub fn render(app: &App) -> String {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| ui::draw(f, app)).unwrap();
    screen(terminal.backend())
}

pub fn screen(backend: &TestBackend) -> String {
    let buffer = backend.buffer();
    let width = usize::from(buffer.area.width);
    buffer
        .content
        .chunks(width)
        .map(|row| {
            let line: String = row.iter().map(|c| c.symbol()).collect();
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The screen line containing `needle` (panics with the screen when none does).
pub fn line_with<'a>(screen: &'a str, needle: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{screen}"))
}
