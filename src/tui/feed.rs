//! The background fetcher: a task that reads the store beside the draw loop and sends what it
//! read as messages, so the UI never waits on the network. Every refresh loads each group on
//! screen; the listing of every group (one GSI1 Query, megabytes at 10,000 groups) is read only
//! at start, on a manual refresh, and once per `relist_every`. The selected group's history is
//! read again only when its CONFIG version moved (the only way history grows). Scrolling new
//! rows into view loads just those.

use super::model::{Cadence, Detail, FeedMsg, HistoryData, Update, Window};
use crate::clock::Clock;
use crate::error::Error;
use crate::ops::history::group_history;
use crate::ops::status::{LOAD_CONCURRENCY, group_view};
use crate::store::{CoordinationStore, GroupConfig, GroupId, StoreError};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// How many failovers the history panel holds.
pub const HISTORY_LIMIT: usize = 50;

/// Time between listings when `--relist-every` is not given (or the refresh interval when that
/// is longer): new and deleted groups show within 30 s, at one listing per 15 default refreshes.
pub const DEFAULT_RELIST_EVERY: Duration = Duration::from_secs(30);

/// Which groups are watched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One group.
    Group(GroupId),
    /// The groups of one namespace.
    Namespace(String),
    /// Every group of the operator.
    All,
}

impl Scope {
    fn covers(&self, group: &GroupId) -> bool {
        match self {
            Scope::Group(g) => g == group,
            Scope::Namespace(ns) => &group.namespace == ns,
            Scope::All => true,
        }
    }
}

/// What the feed reads, and how often.
#[derive(Clone)]
pub struct FeedConfig {
    /// The store.
    pub store: Arc<dyn CoordinationStore>,
    /// The clock ages are computed against.
    pub clock: Arc<dyn Clock>,
    /// The operator whose groups are read.
    pub operator_id: String,
    /// Which groups.
    pub scope: Scope,
    /// Time between refreshes.
    pub every: Duration,
}

/// Starts the feed, listing every group every `relist_every` (raised to `config.every` when
/// shorter). It stops when `out` or `window` is closed (the UI has gone).
pub fn spawn(
    config: FeedConfig,
    relist_every: Duration,
    window: watch::Receiver<Window>,
    refresh: mpsc::UnboundedReceiver<()>,
    out: mpsc::UnboundedSender<FeedMsg>,
) -> JoinHandle<()> {
    let cadence = Cadence {
        every: config.every,
        relist_every: relist_every.max(config.every),
    };
    tokio::spawn(run(config, cadence, window, refresh, out))
}

async fn run(
    config: FeedConfig,
    cadence: Cadence,
    mut window: watch::Receiver<Window>,
    mut refresh: mpsc::UnboundedReceiver<()>,
    out: mpsc::UnboundedSender<FeedMsg>,
) {
    if out.send(FeedMsg::Cadence(cadence)).is_err() {
        return;
    }
    let mut ticker = tokio::time::interval(cadence.every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fetcher = Fetcher {
        config,
        loaded: HashSet::new(),
        versions: HashMap::new(),
        history_of: None,
        listed_at: None,
    };
    loop {
        // `Some(relist)` for a refresh, `None` when only the window moved.
        let refresh_kind = tokio::select! {
            _ = ticker.tick() => Some(fetcher.relist_due(cadence)),
            asked = refresh.recv() => {
                if asked.is_none() {
                    return;
                }
                ticker.reset();
                // Pressing r is how a user asks for groups created since the last listing.
                Some(true)
            }
            changed = window.changed() => {
                if changed.is_err() {
                    return;
                }
                None
            }
        };
        let shown = window.borrow_and_update().clone();
        let update = if let Some(relist) = refresh_kind {
            if out.send(FeedMsg::Started).is_err() {
                return;
            }
            Some(fetcher.refresh(&shown, relist).await)
        } else {
            fetcher.missing(&shown).await
        };
        if let Some(update) = update
            && out.send(FeedMsg::Update(Box::new(update))).is_err()
        {
            return;
        }
    }
}

struct Fetcher {
    config: FeedConfig,
    /// Groups loaded since the last refresh: scrolling back to them costs nothing.
    loaded: HashSet<GroupId>,
    /// CONFIG versions of the groups loaded, read strongly consistent: fresher than the listing,
    /// which is eventually consistent and, between listings, up to `relist_every` old.
    versions: HashMap<GroupId, u64>,
    /// The group and CONFIG version whose history was read last.
    history_of: Option<(GroupId, u64)>,
    /// When the last listing that succeeded was asked for.
    listed_at: Option<Instant>,
}

impl Fetcher {
    fn empty(&self) -> Update {
        Update {
            listing: None,
            details: Vec::new(),
            vanished: Vec::new(),
            history: None,
            warnings: Vec::new(),
            error: None,
            at: self.config.clock.now(),
        }
    }

    /// Whether this refresh lists: at start, after a failed listing, and on the refresh nearest
    /// `relist_every` after the last listing (half a refresh of slack, so a tick a hair early
    /// does not push the listing a whole refresh later).
    fn relist_due(&self, cadence: Cadence) -> bool {
        self.listed_at
            .is_none_or(|at| at.elapsed() + cadence.every / 2 >= cadence.relist_every)
    }

    /// One refresh: the listing when `relist`, then the groups on screen, then the selected
    /// group's history if its version moved.
    async fn refresh(&mut self, shown: &Window, relist: bool) -> Update {
        let mut update = self.empty();
        let mut listed_version = shown.selected_version;
        let wanted: Vec<GroupId> = if relist {
            let c = &self.config;
            let asked = Instant::now();
            let listing = match c.store.list_groups(&c.operator_id).await {
                Ok(listing) => listing,
                Err(e) => {
                    update.error = Some(e.to_string());
                    return update;
                }
            };
            self.listed_at = Some(asked);
            update.warnings = listing.skipped;
            let groups: Vec<GroupConfig> = listing
                .items
                .into_iter()
                .filter(|g| c.scope.covers(&g.group))
                .collect();
            let listed: HashSet<&GroupId> = groups.iter().map(|g| &g.group).collect();
            self.versions.retain(|id, _| listed.contains(id));
            listed_version = shown
                .selected
                .as_ref()
                .and_then(|s| groups.iter().find(|g| &g.group == s).map(|g| g.version));
            let wanted = shown
                .visible
                .iter()
                .filter(|g| listed.contains(g))
                .cloned()
                .collect();
            update.listing = Some(groups);
            wanted
        } else {
            // Between listings the rows on screen are as listed; a group deleted since comes
            // back as vanished from its load.
            shown.visible.clone()
        };
        self.loaded.clear();
        self.load(&wanted, &mut update).await;
        if update.error.is_none() {
            let version = self.version_of(shown.selected.as_ref(), listed_version);
            self.history(shown.selected.as_ref(), version, &mut update)
                .await;
        }
        update.at = self.config.clock.now();
        update
    }

    /// Only what came into view since the last fetch; `None` when nothing did.
    async fn missing(&mut self, shown: &Window) -> Option<Update> {
        let wanted: Vec<GroupId> = shown
            .visible
            .iter()
            .filter(|g| !self.loaded.contains(*g))
            .cloned()
            .collect();
        let history_due = match shown.selected.as_ref() {
            Some(g) => self
                .version_of(Some(g), shown.selected_version)
                .is_some_and(|v| self.history_of != Some((g.clone(), v))),
            None => false,
        };
        if wanted.is_empty() && !history_due {
            return None;
        }
        let mut update = self.empty();
        self.load(&wanted, &mut update).await;
        if update.error.is_none() {
            let version = self.version_of(shown.selected.as_ref(), shown.selected_version);
            self.history(shown.selected.as_ref(), version, &mut update)
                .await;
        }
        update.at = self.config.clock.now();
        Some(update)
    }

    /// The selected group's CONFIG version: as last loaded, else as listed.
    fn version_of(&self, group: Option<&GroupId>, listed: Option<u64>) -> Option<u64> {
        group.and_then(|g| self.versions.get(g).copied()).or(listed)
    }

    /// Loads `groups` a few at a time into `update`.
    async fn load(&mut self, groups: &[GroupId], update: &mut Update) {
        let c = &self.config;
        let results: Vec<_> = futures::stream::iter(groups.iter().cloned())
            .map(|id| {
                let store = Arc::clone(&c.store);
                let op = c.operator_id.clone();
                async move {
                    let loaded = store.load_group(&op, &id).await;
                    (id, loaded)
                }
            })
            .buffered(LOAD_CONCURRENCY)
            .collect()
            .await;
        let now = c.clock.now();
        for (id, loaded) in results {
            match loaded {
                Ok(Some(snapshot)) => {
                    self.versions.insert(id.clone(), snapshot.config.version);
                    self.loaded.insert(id);
                    update.details.push(Detail {
                        view: group_view(&snapshot, now),
                        epoch: snapshot.config.epoch,
                        transition: snapshot.config.transition.clone(),
                    });
                }
                Ok(None) => {
                    self.versions.remove(&id);
                    update.vanished.push(id);
                }
                Err(e @ StoreError::Malformed { .. }) => update
                    .warnings
                    .push(format!("FailoverGroup {id} skipped: {e}")),
                Err(e) => {
                    update.error.get_or_insert(e.to_string());
                }
            }
        }
    }

    async fn history(
        &mut self,
        group: Option<&GroupId>,
        version: Option<u64>,
        update: &mut Update,
    ) {
        let (Some(group), Some(version)) = (group, version) else {
            return;
        };
        // Just found deleted: no history to read until the next listing drops the row.
        if update.vanished.contains(group) {
            return;
        }
        if self.history_of.as_ref() == Some(&(group.clone(), version)) {
            return;
        }
        let c = &self.config;
        match group_history(
            c.store.as_ref(),
            c.clock.as_ref(),
            &c.operator_id,
            group,
            HISTORY_LIMIT,
        )
        .await
        {
            Ok(view) => {
                self.history_of = Some((group.clone(), version));
                update.history = Some(HistoryData {
                    group: group.clone(),
                    version,
                    view,
                });
            }
            // Deleted between the listing and now: the next listing drops it.
            Err(Error::GroupNotFound { .. }) => {}
            Err(e) => update.error = Some(e.to_string()),
        }
    }
}
