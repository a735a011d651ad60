//! The feed's cadence on tokio's paused clock (so N refreshes take no real time and every tick
//! lands exactly): the groups on screen are loaded every refresh, the listing only at start,
//! every `relist_every` and when asked for; and the status line says how old each is.

use super::fixtures::{app_config, healthy, render, secs, t0, update_of};
use super::seeded;
use kubectl_failover::clock::SystemClock;
use kubectl_failover::store::instrumented::InstrumentedStore;
use kubectl_failover::store::*;
use kubectl_failover::tui::app::{App, Msg};
use kubectl_failover::tui::feed::{self, FeedConfig, Scope};
use kubectl_failover::tui::model::{Cadence, FeedMsg, Update, Window};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

const EVERY: Duration = Duration::from_secs(2);
/// Five refreshes.
const RELIST: Duration = Duration::from_secs(10);

fn id(i: usize) -> GroupId {
    GroupId::new("ns", &format!("g{i:04}")).unwrap()
}

/// A feed over `groups` seeded groups with the first `visible` on screen.
struct Feed {
    store: Arc<InstrumentedStore>,
    refresh: mpsc::UnboundedSender<()>,
    out: mpsc::UnboundedReceiver<FeedMsg>,
    _window: watch::Sender<Window>,
}

impl Feed {
    async fn start(groups: usize, visible: usize, selected: Option<GroupId>) -> Feed {
        let store = Arc::new(InstrumentedStore::new(
            Arc::new(seeded(groups).await),
            "watch",
        ));
        let window = Window {
            visible: (0..visible).map(id).collect(),
            selected_version: selected.as_ref().map(|_| 1),
            selected,
        };
        let (window_tx, window_rx) = watch::channel(window);
        let (refresh, refresh_rx) = mpsc::unbounded_channel();
        let (out_tx, out) = mpsc::unbounded_channel();
        let config = FeedConfig {
            store: store.clone(),
            clock: Arc::new(SystemClock::new()),
            operator_id: super::fixtures::OP.into(),
            scope: Scope::Namespace("ns".into()),
            every: EVERY,
        };
        feed::spawn(config, RELIST, window_rx, refresh_rx, out_tx);
        Feed {
            store,
            refresh,
            out,
            _window: window_tx,
        }
    }

    /// The next refresh's update (skipping `Started`; the first `Cadence` is checked).
    async fn next(&mut self) -> Update {
        loop {
            match self.out.recv().await.expect("the feed stopped") {
                FeedMsg::Update(update) => return *update,
                FeedMsg::Started => {}
                FeedMsg::Cadence(c) => assert_eq!(
                    c,
                    Cadence {
                        every: EVERY,
                        relist_every: RELIST
                    }
                ),
            }
        }
    }

    fn loads(&self) -> u64 {
        let counts = self.store.counts();
        counts.by_operation.get("load_group").copied().unwrap_or(0)
    }
}

#[tokio::test(start_paused = true)]
async fn over_n_refreshes_the_listing_is_read_every_fifth_and_the_rows_on_screen_every_time() {
    const N: usize = 12;
    const VISIBLE: usize = 3;
    let mut feed = Feed::start(20, VISIBLE, None).await;
    let started = tokio::time::Instant::now();
    let mut listed = Vec::new();
    for _ in 0..N {
        let update = feed.next().await;
        assert_eq!(update.error, None);
        assert_eq!(
            update.details.len(),
            VISIBLE,
            "every row on screen, every refresh"
        );
        listed.push(update.listing.is_some());
    }
    let counts = feed.store.counts();
    eprintln!(
        "{N} refreshes every {EVERY:?}, listing every {RELIST:?}, {VISIBLE} rows on screen \
         (of 20 groups): {counts:?}"
    );
    assert_eq!(
        started.elapsed(),
        EVERY * (N as u32 - 1),
        "one refresh per tick"
    );
    let at = |i| i % 5 == 0;
    assert_eq!(listed, (0..N).map(at).collect::<Vec<_>>());
    assert_eq!(counts.listings, N.div_ceil(5) as u64, "{counts:?}");
    assert_eq!(feed.loads(), (N * VISIBLE) as u64, "{counts:?}");
    assert_eq!(counts.by_operation.get("history"), None, "nothing selected");
    // load_group = one Query (CONFIG + CLUSTER#) + one GetItem (LOCK).
    assert_eq!(counts.reads, 2 * (N * VISIBLE) as u64, "{counts:?}");
}

#[tokio::test(start_paused = true)]
async fn a_refresh_asked_for_lists_at_once_and_shows_a_group_created_since() {
    let mut feed = Feed::start(5, 3, None).await;
    assert!(feed.next().await.listing.is_some(), "start-up lists");
    // Created after the listing: a plain refresh reloads only the rows on screen.
    let created = GroupConfig::new(super::fixtures::OP, id(99), "cluster-a", chrono::Utc::now());
    let outcome = feed.store.create_config(&created).await.unwrap();
    assert!(matches!(outcome, CreateOutcome::Created(_)), "{outcome:?}");
    let reload = feed.next().await;
    assert_eq!(reload.listing, None);
    assert_eq!(feed.store.counts().listings, 1);
    // r: the listing is read now, 0 s after the last tick, not at the next one.
    let asked = tokio::time::Instant::now();
    feed.refresh.send(()).unwrap();
    let update = feed.next().await;
    assert_eq!(asked.elapsed(), Duration::ZERO, "answered at once");
    let listing = update.listing.expect("a refresh asked for lists");
    assert!(listing.iter().any(|g| g.group == id(99)), "{listing:?}");
    assert_eq!(feed.store.counts().listings, 2);
    // The next listing is due RELIST after the one asked for: four plain refreshes first.
    let mut listed = Vec::new();
    for _ in 0..5 {
        listed.push(feed.next().await.listing.is_some());
    }
    assert_eq!(listed, [false, false, false, false, true]);
    assert_eq!(feed.store.counts().listings, 3);
}

#[tokio::test(start_paused = true)]
async fn between_listings_the_selected_groups_history_is_reread_when_its_version_moves() {
    let mut feed = Feed::start(5, 3, Some(id(1))).await;
    feed.next().await;
    feed.next().await;
    let history = |f: &Feed| f.store.counts().by_operation.get("history").copied();
    assert_eq!(
        history(&feed),
        Some(1),
        "read at start, not again while unchanged"
    );
    // Suspending writes CONFIG: a new version, so a new history entry may exist.
    let snapshot = feed.store.load_group(super::fixtures::OP, &id(1)).await;
    let mut config = snapshot.unwrap().unwrap().config;
    let version = config.version;
    config.suspended = true;
    let outcome = feed.store.update_config(version, &config).await.unwrap();
    assert!(matches!(outcome, CasOutcome::Applied(_)), "{outcome:?}");
    let update = feed.next().await;
    assert_eq!(update.listing, None, "not a listing refresh");
    assert_eq!(update.history.map(|h| h.version), Some(version + 1));
    assert_eq!(history(&feed), Some(2));
}

#[test]
fn the_status_line_shows_how_old_the_listing_and_the_groups_are_and_the_listing_interval() {
    for (w, h) in [(100, 30), (80, 24)] {
        let mut app = App::new(app_config(false), t0(), (w, h));
        let cadence = Cadence {
            every: EVERY,
            relist_every: Duration::from_secs(30),
        };
        let _ = app.update(Msg::Feed(FeedMsg::Cadence(cadence)));
        let snapshots = [healthy("ns", "g0000")];
        let _ = app.update(Msg::Feed(FeedMsg::Update(Box::new(update_of(&snapshots)))));
        // Ten seconds later a refresh that did not list.
        let mut reload = update_of(&snapshots);
        reload.listing = None;
        reload.at = t0() + secs(10);
        let _ = app.update(Msg::Feed(FeedMsg::Update(Box::new(reload))));
        let _ = app.update(Msg::Tick(t0() + secs(12)));
        let screen = render(&app);
        let bar = screen.lines().last().unwrap();
        assert!(
            bar.ends_with("list 12s ago (every 30s) · groups 2s ago"),
            "{w}x{h}: {bar}"
        );
        // The key hints make room; they start the line still.
        assert!(bar.starts_with("Tab panel"), "{bar}");
        // Another listing resets the list's age.
        let mut listed = update_of(&snapshots);
        listed.at = t0() + secs(12);
        let _ = app.update(Msg::Feed(FeedMsg::Update(Box::new(listed))));
        let screen = render(&app);
        let bar = screen.lines().last().unwrap();
        assert!(
            bar.ends_with("list 0s ago (every 30s) · groups 0s ago"),
            "{bar}"
        );
    }
}
