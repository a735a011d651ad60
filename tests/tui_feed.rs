//! The terminal UI against a real (in-memory) store through the real run loop on a
//! `TestBackend`: how many store requests a refresh makes (counted by `InstrumentedStore`), and
//! how fast a key is answered while a refresh hangs on a slow store. `relist` checks how often
//! the feed lists, on tokio's paused clock.

#[path = "tui_fixtures/mod.rs"]
mod fixtures;
#[path = "tui_feed/relist.rs"]
mod relist;

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fixtures::{OP, screen};
use kubectl_failover::clock::SystemClock;
use kubectl_failover::store::instrumented::InstrumentedStore;
use kubectl_failover::store::memory::MemoryStore;
use kubectl_failover::store::*;
use kubectl_failover::tui::app::{AppConfig, Msg};
use kubectl_failover::tui::feed::{FeedConfig, Scope};
use kubectl_failover::tui::ui::layout::group_rows;
use kubectl_failover::tui::{Setup, drive};
use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, TestBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

async fn seeded(groups: usize) -> MemoryStore {
    let store = MemoryStore::new();
    let now = Utc::now();
    for i in 0..groups {
        let id = GroupId::new("ns", &format!("g{i:04}")).unwrap();
        let _ = store
            .create_config(&GroupConfig::new(OP, id.clone(), "cluster-a", now))
            .await
            .unwrap();
        for (name, state) in [
            ("cluster-a", ClusterState::Primary),
            ("cluster-b", ClusterState::Standby),
        ] {
            let status = ClusterStatus {
                cluster_name: name.into(),
                health: Health::Ok,
                state,
                last_heartbeat: Some(now),
                heartbeat_seq: Some(1),
                components: BTreeMap::new(),
                ack: None,
                fenced: false,
            };
            store.put_cluster_status(OP, &id, &status).await.unwrap();
        }
    }
    store
}

fn setup(store: Arc<dyn CoordinationStore>, every: Duration) -> Setup {
    Setup {
        feed: FeedConfig {
            store,
            clock: Arc::new(SystemClock::new()),
            operator_id: OP.into(),
            scope: Scope::Namespace("ns".into()),
            every,
        },
        app: AppConfig {
            title: "test".into(),
            demo: false,
            initiator: "tester".into(),
        },
        demo: None,
    }
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// Waits until `what` holds, checking every 10 ms, for at most `limit`.
async fn until(limit: Duration, mut what: impl FnMut() -> bool) {
    let start = Instant::now();
    while !what() {
        assert!(start.elapsed() < limit, "timed out after {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Longer than any of these tests: after start-up, refreshes only reload the rows on screen.
const RELIST: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_between_listings_reads_each_group_on_screen_once_at_1000_groups() {
    let counted = Arc::new(InstrumentedStore::new(
        Arc::new(seeded(1000).await),
        "watch",
    ));
    let every = Duration::from_millis(700);
    let (tx, rx) = mpsc::unbounded_channel();
    let store: Arc<dyn CoordinationStore> = counted.clone();
    let ui = tokio::spawn(async move {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        drive(&mut terminal, setup(store, every), RELIST, rx)
            .await
            .unwrap();
        screen(terminal.backend())
    });
    let rows = group_rows((80, 24)) as u64;
    // Start-up: one listing, then the rows on screen and the selected group's history.
    until(Duration::from_secs(5), || {
        counted.counts().by_operation.get("history") == Some(&1)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let startup = counted.counts();
    // One refresh between listings: wait for the loads of the rows on screen.
    counted.reset_counts();
    until(Duration::from_secs(5), || {
        counted.counts().by_operation.get("load_group") == Some(&rows)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let refresh = counted.counts();
    tx.send(key('q')).unwrap();
    let last = ui.await.unwrap();
    eprintln!(
        "start-up requests: {startup:?}\none refresh between listings at 1000 groups, {rows} rows on screen: {refresh:?}"
    );
    assert_eq!(startup.listings, 1, "{startup:?}");
    // Every visible group once, plus one load by the history read of the selected group.
    assert_eq!(
        startup.by_operation.get("load_group"),
        Some(&(rows + 1)),
        "{startup:?}"
    );
    assert_eq!(refresh.listings, 0, "{refresh:?}");
    assert_eq!(
        refresh.by_operation.get("load_group"),
        Some(&rows),
        "{refresh:?}"
    );
    assert_eq!(
        refresh.by_operation.get("history"),
        None,
        "history unchanged: not re-read"
    );
    // load_group = one Query (CONFIG + CLUSTER#) + one GetItem (LOCK).
    assert_eq!(refresh.reads, 2 * rows, "{refresh:?}");
    assert!(last.contains("ns/g0000"), "{last}");
}

/// A `TestBackend` that stamps every finished frame with the time and whether the help shows.
struct Stamped {
    inner: TestBackend,
    frames: Arc<Mutex<Vec<(Instant, bool)>>>,
    last: Arc<Mutex<String>>,
}

impl Backend for Stamped {
    type Error = Infallible;
    fn draw<'a, I: Iterator<Item = (u16, u16, &'a Cell)>>(
        &mut self,
        content: I,
    ) -> Result<(), Infallible> {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Infallible> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Infallible> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Infallible> {
        self.inner.get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> Result<(), Infallible> {
        self.inner.set_cursor_position(p)
    }
    fn clear(&mut self) -> Result<(), Infallible> {
        self.inner.clear()
    }
    fn clear_region(&mut self, t: ClearType) -> Result<(), Infallible> {
        self.inner.clear_region(t)
    }
    fn size(&self) -> Result<Size, Infallible> {
        self.inner.size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Infallible> {
        self.inner.window_size()
    }
    fn flush(&mut self) -> Result<(), Infallible> {
        let text = screen(&self.inner);
        let help = text.contains("Keys (? or Esc closes)");
        self.frames.lock().unwrap().push((Instant::now(), help));
        *self.last.lock().unwrap() = text;
        self.inner.flush()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_answered_within_a_frame_while_a_refresh_hangs_on_a_slow_store() {
    // The listing hangs for 3 s, as a slow or throttled DynamoDB.
    let slow = Arc::new(InstrumentedStore::new(Arc::new(seeded(3).await), "watch"));
    slow.set_delay("list_groups", Some(Duration::from_secs(3)));
    let (tx, rx) = mpsc::unbounded_channel();
    let frames = Arc::new(Mutex::new(Vec::new()));
    let backend = Stamped {
        inner: TestBackend::new(100, 30),
        frames: frames.clone(),
        last: Arc::default(),
    };
    let store: Arc<dyn CoordinationStore> = slow;
    let started = Instant::now();
    let ui = tokio::spawn(async move {
        let mut terminal = Terminal::new(backend).unwrap();
        drive(
            &mut terminal,
            setup(store, Duration::from_secs(60)),
            RELIST,
            rx,
        )
        .await
    });
    // The first listing is now hanging for 3 s.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let sent = Instant::now();
        tx.send(key('?')).unwrap();
        until(Duration::from_secs(1), || {
            frames.lock().unwrap().last().is_some_and(|f| f.1)
        })
        .await;
        let drawn = frames
            .lock()
            .unwrap()
            .iter()
            .find(|(at, help)| *help && *at >= sent)
            .map(|f| f.0);
        latencies.push(drawn.unwrap() - sent);
        tx.send(key('?')).unwrap();
        until(Duration::from_secs(1), || {
            frames.lock().unwrap().last().is_some_and(|f| !f.1)
        })
        .await;
    }
    // Every key above was handled while the first listing was still pending.
    let hung = started.elapsed() < Duration::from_secs(3);
    tx.send(key('q')).unwrap();
    ui.await.unwrap().unwrap();
    latencies.sort();
    eprintln!("key to drawn frame while a refresh hangs: {latencies:?}");
    assert!(hung, "the measurement outlasted the hanging listing");
    // A frame at 60 Hz is 16.7 ms.
    assert!(
        latencies[latencies.len() / 2] < Duration::from_millis(17),
        "{latencies:?}"
    );
    assert!(
        latencies.iter().all(|l| *l < Duration::from_millis(50)),
        "{latencies:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_store_becomes_unreachable_the_error_shows_and_the_last_data_stays() {
    let cut = Arc::new(InstrumentedStore::new(Arc::new(seeded(3).await), "watch"));
    let (tx, rx) = mpsc::unbounded_channel();
    let last = Arc::new(Mutex::new(String::new()));
    let backend = Stamped {
        inner: TestBackend::new(100, 30),
        frames: Arc::default(),
        last: last.clone(),
    };
    let store: Arc<dyn CoordinationStore> = cut.clone();
    let ui = tokio::spawn(async move {
        let mut terminal = Terminal::new(backend).unwrap();
        drive(
            &mut terminal,
            setup(store, Duration::from_secs(60)),
            RELIST,
            rx,
        )
        .await
    });
    let shows = |needle: &str| last.lock().unwrap().contains(needle);
    until(Duration::from_secs(5), || {
        shows("│cluster-b") && shows("ns/g0002")
    })
    .await;
    cut.set_partitioned(true);
    tx.send(key('r')).unwrap();
    until(Duration::from_secs(5), || shows("✗ store error")).await;
    let screen = last.lock().unwrap().clone();
    let bar = screen.lines().last().unwrap();
    assert!(bar.contains("unreachable"), "{bar}");
    assert!(
        screen.contains("ns/g0002") && screen.contains("│cluster-b"),
        "{screen}"
    );
    // Back again: the next refresh clears the error.
    cut.set_partitioned(false);
    tx.send(key('r')).unwrap();
    until(Duration::from_secs(5), || !shows("✗ store error")).await;
    tx.send(key('q')).unwrap();
    ui.await.unwrap().unwrap();
}
