//! Notifications: webhooks (a generic JSON body or a Slack-compatible one) for failovers
//! started, each phase, ended, automatic failovers decided, a cluster fenced and un-fenced, and
//! a transition stuck. Outside the protocol: they are derived from what each group's task
//! already sees (its tick's role and snapshot, and its agent's events), and a slow or dead
//! receiver never delays a tick.
//!
//! Files: [`events`] (pure: the per-group [`Watcher`] that turns observations into
//! [`Notification`]s, and the driving-cluster rule), [`config`] (the webhook file mounted from a
//! Secret), [`format`] (request bodies), [`webhook`] (bounded queues, timeouts and retries), and
//! here the glue a group task holds ([`GroupNotifier`], [`TeeSink`]). Delivery semantics are in
//! docs/user-guide.md, "Notifications".

pub mod config;
pub mod events;
pub mod format;
pub mod webhook;

pub use config::{Format, NotifyConfig, Webhook};
pub use events::{Observation, Watcher};
pub use webhook::{Delivery, EndpointStats, Notifier};

use crate::agent::{AgentEvent, AgentEventKind, EventSink};
use crate::protocol::Role;
use crate::store::{GroupId, GroupSnapshot};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What a notification is about; the names are those of the FailoverGroup's Kubernetes Events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Kind {
    /// A transition was seen for the first time by the cluster that drives it.
    FailoverStarted,
    /// The transition moved to another phase.
    FailoverPhase,
    /// The transition ended (outcome, duration, downtime).
    FailoverEnded,
    /// An agent decided an automatic failover (the owner was dead or unhealthy).
    AutomaticFailoverDecided,
    /// This cluster fenced itself (it owns the group but may not serve).
    ClusterFenced,
    /// This cluster is no longer fenced.
    ClusterUnfenced,
    /// A transition has been in flight for longer than `timeouts.transitoryState`, or an agent
    /// found it stuck and is ending it.
    FailoverStuck,
}

impl Kind {
    /// Every kind, in the order of the docs.
    pub const ALL: [Kind; 7] = [
        Kind::FailoverStarted,
        Kind::FailoverPhase,
        Kind::FailoverEnded,
        Kind::AutomaticFailoverDecided,
        Kind::ClusterFenced,
        Kind::ClusterUnfenced,
        Kind::FailoverStuck,
    ];

    /// The name used in bodies and in the config file's `events` filter.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FailoverStarted => "FailoverStarted",
            Kind::FailoverPhase => "FailoverPhase",
            Kind::FailoverEnded => "FailoverEnded",
            Kind::AutomaticFailoverDecided => "AutomaticFailoverDecided",
            Kind::ClusterFenced => "ClusterFenced",
            Kind::ClusterUnfenced => "ClusterUnfenced",
            Kind::FailoverStuck => "FailoverStuck",
        }
    }

    /// The kind named `s` (exactly as [`Kind::as_str`] writes it).
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One notification, as sent in the generic JSON body (camelCase, absent fields left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// What happened.
    pub kind: Kind,
    /// The idempotency key: the transition id, or `fenced/<ns>/<name>/<cluster>/<since>` for
    /// the fencing events.
    pub key: String,
    /// What receivers de-duplicate on: `key/kind`, plus `/phase` for phase events (also sent
    /// as the `Idempotency-Key` header).
    pub dedup_key: String,
    /// The group, `namespace/name`.
    pub group: String,
    /// The cluster that sent it.
    pub cluster: String,
    /// The transition's source (owner when requested).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The transition's target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// CONSISTENCY or UPTIME.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Started by an agent rather than a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automatic: Option<bool>,
    /// Why the transition was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiator: Option<String>,
    /// The phase (phase events; the phase it is stuck in for stuck ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// How it ended (SUCCESS, ROLLED_BACK, FORCED_COMPLETE, FAILED), or how a stuck transition
    /// is being ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// When the transition was requested (the requester's clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<DateTime<Utc>>,
    /// Whole seconds from the request to the end (ended), or so far (stuck).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
    /// Whole seconds the application was not served, when known (ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downtime_seconds: Option<u64>,
    /// When the sending cluster saw it happen (its clock).
    pub at: DateTime<Utc>,
    /// One readable line (the Slack body's text).
    pub summary: String,
}

/// Why notifications cannot be set up. Each message names the file or entry and the fix.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The file exists but cannot be read.
    #[error(
        "cannot read the notification config {path}: {source}; check the Secret mounted there, or unset NOTIFY_CONFIG (--notify-config) to run without notifications"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not YAML or JSON of the expected shape.
    #[error(
        "the notification config {path} cannot be parsed: {message}; expected `webhooks:` followed by a list of `{{url: https://..., format: json|slack, events: [...]}}` (docs/user-guide.md, \"Notifications\")"
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (with the line).
        message: String,
    },
    /// One webhook entry is wrong.
    #[error("the notification config {path}, webhook {index} ({url}): {problem}; {fix}")]
    Entry {
        /// The file.
        path: PathBuf,
        /// The entry's position, from 1.
        index: usize,
        /// The entry's URL without path or query (they often hold a secret).
        url: String,
        /// What is wrong.
        problem: String,
        /// What to change.
        fix: String,
    },
    /// The system's CA certificates cannot be loaded for an https webhook.
    #[error(
        "cannot load the system CA certificates for the https webhook {url}: {message}; mount them (or set SSL_CERT_FILE) or use an http:// receiver inside the cluster"
    )]
    Tls {
        /// The webhook, without path or query.
        url: String,
        /// What the loader said.
        message: String,
    },
    /// The senders need a Tokio runtime to run in.
    #[error("notifications must be started inside a Tokio runtime")]
    NoRuntime,
}

/// An agent's event sink that also keeps the events notifications are made from (transitions
/// started here, phases, ends, stuck), until the group task takes them after the tick.
pub struct TeeSink {
    inner: Arc<dyn EventSink>,
    kept: Mutex<Vec<AgentEvent>>,
}

/// At most this many agent events wait for the group task; it takes them every tick, so only
/// a task that stopped taking them would reach it.
const KEPT_EVENTS: usize = 256;

impl TeeSink {
    /// Forwards to `inner`.
    pub fn new(inner: Arc<dyn EventSink>) -> Self {
        TeeSink {
            inner,
            kept: Mutex::new(Vec::new()),
        }
    }

    /// The events kept since the last call, in order.
    pub fn take(&self) -> Vec<AgentEvent> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<AgentEvent>> {
        // A push either happened or not: still whole after a panic elsewhere.
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl EventSink for TeeSink {
    fn emit(&self, event: AgentEvent) {
        use AgentEventKind as K;
        if matches!(
            event.kind,
            K::TransitionStarted { .. }
                | K::PhaseChanged { .. }
                | K::TransitionEnded { .. }
                | K::Stuck { .. }
        ) {
            let mut kept = self.lock();
            if kept.len() >= KEPT_EVENTS {
                kept.remove(0);
            }
            kept.push(event.clone());
        }
        self.inner.emit(event);
    }
}

/// What one group task holds to notify: its watcher, its agent's kept events, the senders.
pub struct GroupNotifier {
    notifier: Arc<Notifier>,
    watcher: Watcher,
    events: Arc<TeeSink>,
}

impl GroupNotifier {
    /// Feeds one tick to the watcher and queues what is new; never waits (the queues drop
    /// rather than block). `snapshot`: the group as read by this tick, `None` when the read
    /// failed (a stale snapshot says nothing new).
    pub fn after_tick(
        &mut self,
        role: Option<Role>,
        snapshot: Option<&GroupSnapshot>,
        now: DateTime<Utc>,
    ) {
        let agent = self.events.take();
        let observation = Observation {
            role,
            config: snapshot.map(|s| &s.config),
            lock_holder: snapshot.and_then(|s| s.lock.as_ref().map(|l| l.locked_by.as_str())),
            now,
            agent: &agent,
        };
        for n in self.watcher.observe(&observation) {
            tracing::debug!(group = %n.group, kind = %n.kind, key = %n.key, "notification");
            self.notifier.notify(&n);
        }
    }
}

/// The sink a group's agent gets and, when notifications are on, what its task holds: the
/// agent's events go to `sink` either way.
pub fn for_group(
    notifier: Option<&Arc<Notifier>>,
    sink: Arc<dyn EventSink>,
    group: &GroupId,
    cluster: &str,
) -> (Arc<dyn EventSink>, Option<GroupNotifier>) {
    match notifier {
        None => (sink, None),
        Some(notifier) => {
            let tee = Arc::new(TeeSink::new(sink));
            let group_notifier = GroupNotifier {
                notifier: notifier.clone(),
                watcher: Watcher::new(group.clone(), cluster),
                events: tee.clone(),
            };
            (tee, Some(group_notifier))
        }
    }
}

/// Where deploy/base mounts the optional Secret `kubectl-failover-notify` and points
/// `NOTIFY_CONFIG`.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/kubectl-failover/notify/webhooks.yaml";

/// The notifier of `run`: `None` when no file is given, or the file is missing (the Secret is
/// optional) or lists no webhook; an error when it is unreadable or malformed. Must be called
/// inside a Tokio runtime.
pub fn from_file(path: Option<&std::path::Path>) -> Result<Option<Arc<Notifier>>, NotifyError> {
    let Some(path) = path.filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(None);
    };
    let Some(config) = config::load(path)? else {
        // deploy/base points every controller at the optional Secret's mount: its absence is the
        // normal way to run without notifications. Another path was set on purpose.
        if path == std::path::Path::new(DEFAULT_CONFIG_PATH) {
            tracing::info!(
                file = %path.display(),
                "no notification config: notifications are off (create the Secret kubectl-failover-notify to turn them on)"
            );
        } else {
            tracing::warn!(
                file = %path.display(),
                "notification config not found: notifications are off (create the file, or the Secret mounted there, to turn them on)"
            );
        }
        return Ok(None);
    };
    if config.webhooks.is_empty() {
        tracing::warn!(file = %path.display(), "the notification config lists no webhook: notifications are off");
        return Ok(None);
    }
    let notifier = Notifier::start(&config, Delivery::default())?;
    for w in &config.webhooks {
        tracing::info!(webhook = %w.name, format = ?w.format, "notifications on");
    }
    Ok(Some(Arc::new(notifier)))
}
