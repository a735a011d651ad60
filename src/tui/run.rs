//! The run loop: draws, waits for the next message (a key, a feed report, an action's outcome,
//! a tick), updates the app and carries out its commands. Nothing in the loop awaits the store:
//! the feed and the actions run in their own tasks and report over channels.
//!
//! [`drive`] takes any ratatui backend and any source of terminal messages, so tests run the
//! real loop on a `TestBackend`; [`run`] puts it on the real terminal.

use super::actions::{Actions, DemoControl};
use super::app::{App, AppConfig, Level, Msg, StatusLine};
use super::feed::{self, DEFAULT_RELIST_EVERY, FeedConfig};
use super::model::Window;
use super::ui;
use crate::error::Error;
use crossterm::event::{Event, KeyEventKind};
use ratatui::Terminal;
use ratatui::backend::Backend;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How often ages and countdowns are redrawn without any other event.
pub const TICK: Duration = Duration::from_millis(250);

/// Everything the UI needs to run.
#[derive(Clone)]
pub struct Setup {
    /// What to read, and how often.
    pub feed: FeedConfig,
    /// Title, demo mode, initiator.
    pub app: AppConfig,
    /// The demo's fault injection, when running in the demo.
    pub demo: Option<Arc<dyn DemoControl>>,
}

/// Runs the UI on the real terminal until the user quits (q, Esc, Ctrl-C) or the process gets
/// SIGINT/SIGTERM; the terminal is restored on every way out, panics included. The groups are
/// listed every [`DEFAULT_RELIST_EVERY`] (or every refresh, when refreshes are further apart).
pub async fn run(setup: Setup) -> Result<(), Error> {
    run_relisting(setup, DEFAULT_RELIST_EVERY).await
}

/// [`run`], listing every group every `relist_every` (`watch --relist-every`).
pub async fn run_relisting(setup: Setup, relist_every: Duration) -> Result<(), Error> {
    // Restores the terminal when this function returns or unwinds, also when setting it up
    // failed half-way (raw mode on, alternate screen not entered); ratatui's panic hook covers
    // a panic on another thread.
    struct Restore;
    impl Drop for Restore {
        fn drop(&mut self) {
            ratatui::restore();
        }
    }
    let _restore = Restore;
    let mut terminal = ratatui::try_init()?;
    let (tx, rx) = mpsc::unbounded_channel();
    read_terminal(tx);
    drive(&mut terminal, setup, relist_every, rx).await
}

/// Reads terminal events on a thread of its own (crossterm's reads block) until the UI is gone.
fn read_terminal(tx: mpsc::UnboundedSender<Msg>) {
    std::thread::spawn(move || {
        while !tx.is_closed() {
            match crossterm::event::poll(Duration::from_millis(100)) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(_) => return,
            }
            let msg = match crossterm::event::read() {
                Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => Msg::Key(k),
                Ok(Event::Resize(w, h)) => Msg::Resize(w, h),
                Ok(_) => continue,
                Err(_) => return,
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
}

/// The loop itself, on any backend, with terminal messages from `events`, listing every group
/// every `relist_every`. Returns when the app quits, `events` closes, or the process is
/// interrupted.
pub async fn drive<B: Backend>(
    terminal: &mut Terminal<B>,
    setup: Setup,
    relist_every: Duration,
    mut events: mpsc::UnboundedReceiver<Msg>,
) -> Result<(), Error>
where
    B::Error: Send + Sync + 'static,
{
    let clock = setup.feed.clock.clone();
    let size = terminal
        .size()
        .map_err(|e| Error::Internal(anyhow::Error::new(e)))?;
    let mut app = App::new(setup.app.clone(), clock.now(), (size.width, size.height));
    let (window_tx, window_rx) = watch::channel(Window::default());
    let (refresh_tx, refresh_rx) = mpsc::unbounded_channel();
    let (feed_tx, mut feed_rx) = mpsc::unbounded_channel();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let feed = feed::spawn(
        setup.feed.clone(),
        relist_every,
        window_rx,
        refresh_rx,
        feed_tx,
    );
    let actions = Actions {
        store: setup.feed.store.clone(),
        clock: clock.clone(),
        operator_id: setup.feed.operator_id.clone(),
        refresh: refresh_tx,
        demo: setup.demo.clone(),
        out: done_tx,
    };
    if let Some(demo) = &setup.demo {
        app.update(Msg::Demo(demo.faults()));
    }
    let mut tick = tokio::time::interval(TICK);
    let mut interrupted = std::pin::pin!(interrupted());
    let result = loop {
        if let Err(e) = terminal.draw(|f| ui::draw(f, &app)) {
            break Err(Error::Internal(anyhow::Error::new(e)));
        }
        if app.quit {
            break Ok(());
        }
        let msg = tokio::select! {
            m = events.recv() => match m {
                Some(m) => m,
                None => break Ok(()),
            },
            Some(f) = feed_rx.recv() => Msg::Feed(f),
            Some(m) = done_rx.recv() => m,
            _ = tick.tick() => Msg::Tick(clock.now()),
            () = &mut interrupted => break Ok(()),
        };
        let tick = matches!(msg, Msg::Tick(_));
        for command in app.update(msg) {
            actions.run(command);
        }
        if let (true, Some(demo)) = (tick, &setup.demo) {
            // The demo's timeline goes to the status line, newest last: what just happened.
            for line in demo.take_events() {
                app.update(Msg::Done(StatusLine {
                    text: line,
                    level: Level::Info,
                }));
            }
            app.update(Msg::Demo(demo.faults()));
        }
        let window = app.window();
        window_tx.send_if_modified(|w| {
            let changed = *w != window;
            if changed {
                *w = window;
            }
            changed
        });
    };
    feed.abort();
    result
}

/// Resolves on SIGINT (Ctrl-C from outside raw mode, `kill -INT`) or SIGTERM.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
