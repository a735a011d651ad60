//! The background fetcher: a task that reads the store beside the draw loop and sends what it
//! read as messages, so the UI never waits on the network. Per refresh it makes one listing and
//! one load per group on screen; the selected group's history is read again only when its CONFIG
//! version moved (the only way history grows). Scrolling new rows into view loads just those.

use super::model::{Detail, FeedMsg, HistoryData, Update, Window};
use crate::clock::Clock;
use crate::error::Error;
use crate::ops::history::group_history;
use crate::ops::status::{LOAD_CONCURRENCY, group_view};
use crate::store::{CoordinationStore, GroupConfig, GroupId, StoreError};
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// How many failovers the history panel holds.
pub const HISTORY_LIMIT: usize = 50;

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

/// Starts the feed. It stops when `out` or `window` is closed (the UI has gone).
pub fn spawn(
    config: FeedConfig,
    window: watch::Receiver<Window>,
    refresh: mpsc::UnboundedReceiver<()>,
    out: mpsc::UnboundedSender<FeedMsg>,
) -> JoinHandle<()> {
    tokio::spawn(run(config, window, refresh, out))
}

async fn run(
    config: FeedConfig,
    mut window: watch::Receiver<Window>,
    mut refresh: mpsc::UnboundedReceiver<()>,
    out: mpsc::UnboundedSender<FeedMsg>,
) {
    let mut ticker = tokio::time::interval(config.every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut fetcher = Fetcher {
        config,
        loaded: HashSet::new(),
        history_of: None,
    };
    loop {
        let full = tokio::select! {
            _ = ticker.tick() => true,
            asked = refresh.recv() => {
                if asked.is_none() {
                    return;
                }
                ticker.reset();
                true
            }
            changed = window.changed() => {
                if changed.is_err() {
                    return;
                }
                false
            }
        };
        let shown = window.borrow_and_update().clone();
        let update = if full {
            if out.send(FeedMsg::Started).is_err() {
                return;
            }
            Some(fetcher.full(&shown).await)
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
    /// Groups loaded since the last listing: scrolling back to them costs nothing.
    loaded: HashSet<GroupId>,
    /// The group and CONFIG version whose history was read last.
    history_of: Option<(GroupId, u64)>,
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

    /// One listing, then the groups on screen, then the selected group's history if it moved.
    async fn full(&mut self, shown: &Window) -> Update {
        let mut update = self.empty();
        let c = &self.config;
        let listing = match c.store.list_groups(&c.operator_id).await {
            Ok(listing) => listing,
            Err(e) => {
                update.error = Some(e.to_string());
                return update;
            }
        };
        update.warnings = listing.skipped;
        let groups: Vec<GroupConfig> = listing
            .items
            .into_iter()
            .filter(|g| c.scope.covers(&g.group))
            .collect();
        let listed: HashSet<&GroupId> = groups.iter().map(|g| &g.group).collect();
        let wanted: Vec<GroupId> = shown
            .visible
            .iter()
            .filter(|g| listed.contains(g))
            .cloned()
            .collect();
        let selected_version = shown
            .selected
            .as_ref()
            .and_then(|s| groups.iter().find(|g| &g.group == s).map(|g| g.version));
        self.loaded.clear();
        self.load(&wanted, &mut update).await;
        if update.error.is_none() {
            self.history(shown.selected.as_ref(), selected_version, &mut update)
                .await;
        }
        update.listing = Some(groups);
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
        let history_due = match (&shown.selected, shown.selected_version) {
            (Some(g), Some(v)) => self.history_of != Some((g.clone(), v)),
            _ => false,
        };
        if wanted.is_empty() && !history_due {
            return None;
        }
        let mut update = self.empty();
        self.load(&wanted, &mut update).await;
        if update.error.is_none() {
            self.history(shown.selected.as_ref(), shown.selected_version, &mut update)
                .await;
        }
        update.at = self.config.clock.now();
        Some(update)
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
                    self.loaded.insert(id);
                    update.details.push(Detail {
                        view: group_view(&snapshot, now),
                        epoch: snapshot.config.epoch,
                        transition: snapshot.config.transition.clone(),
                    });
                }
                Ok(None) => update.vanished.push(id),
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
