//! The parts of a tick that talk to the outside: the heartbeat write, the read (with the
//! bootstrap of a missing CONFIG), the local facts for `step`, and logging and emitting events.

use super::super::events::{AgentEvent, AgentEventKind};
use super::super::report::TickReport;
use super::super::{beat, converge};
use super::GroupAgent;
use crate::protocol::{LocalFacts, SpecSync, spec_text, sync_spec, validate_timeouts};
use crate::store::{CasOutcome, CreateOutcome, GroupSnapshot, StoreError};
use std::future::Future;
use std::time::Duration;

/// Runs one store call for at most `budget`; an error or a call still unanswered by then is
/// the same thing to a tick: a failed call, described for the report.
async fn bounded<T>(
    budget: Duration,
    what: &str,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, String> {
    match tokio::time::timeout(budget, call).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "the store did not answer in time to {what} (allowed {budget:?}: {}); treated as a failed call and tried again at the next tick",
            converge::CALL_BOUND
        )),
    }
}

/// What a read leads to before it can return.
enum AfterRead {
    /// Bring an edited FailoverGroup's settings into CONFIG, then read again if it changed.
    Sync(Box<GroupSnapshot>),
    /// Create the missing CONFIG, then read again.
    Create,
}

impl GroupAgent {
    /// Writes this tick's heartbeat, with the cluster's last health answer (it is never
    /// waited for here); on success remembers when it was sent.
    pub(super) async fn heartbeat(&mut self, report: &mut TickReport) {
        let seq = self.heartbeats.next_seq();
        let wall = self.clock.now();
        let not_yet = Ok(beat::not_judged_yet());
        let status = beat::status(
            &self.me,
            self.previous.as_ref().map(|d| &d.report),
            self.health.as_ref().unwrap_or(&not_yet),
            seq,
            wall,
        );
        let sent_at = self.clock.monotonic();
        let budget = self.call_budget();
        let result = bounded(
            budget,
            "write the heartbeat",
            self.store.put_cluster_status(
                &self.spec.bootstrap.operator_id,
                &self.spec.group,
                &status,
            ),
        )
        .await;
        match result {
            Ok(()) => {
                let ok_at = self.clock.monotonic();
                self.heartbeats.log.record(sent_at, ok_at);
                report.heartbeat_seq = Some(seq);
            }
            Err(e) => report.store_error = Some(e),
        }
    }

    /// Reads the group, creating its CONFIG from the bootstrap first when the table has none.
    pub(super) async fn read(
        &mut self,
        include_lock: bool,
        report: &mut TickReport,
    ) -> Option<GroupSnapshot> {
        let mut created = false;
        let mut synced = !self.spec.settings_from_spec;
        loop {
            // The answer lives only in this block: the rare steps after it (boxed) are awaited
            // with nothing but a box held, so a read waiting for the store stays small.
            let next = {
                let (op, group) = (&self.spec.bootstrap.operator_id, &self.spec.group);
                let budget = self.call_budget();
                let read = self.store.load_group_with(op, group, include_lock);
                match bounded(budget, "read the group", read).await {
                    Ok(Some(snap)) => {
                        self.note_read(&snap, report);
                        if synced {
                            return Some(snap);
                        }
                        synced = true;
                        AfterRead::Sync(Box::new(snap))
                    }
                    Ok(None) if !created => AfterRead::Create,
                    Ok(None) => {
                        let message = format!(
                            "group {group} has no CONFIG in {} even after creating it",
                            self.store.describe()
                        );
                        report.store_error.get_or_insert(message);
                        return None;
                    }
                    Err(e) => {
                        report.store_error.get_or_insert(e);
                        return None;
                    }
                }
            };
            match next {
                AfterRead::Sync(snap) => {
                    if !Box::pin(self.sync_spec(&snap, report)).await {
                        return Some(*snap);
                    }
                }
                AfterRead::Create => {
                    if let Err(e) = Box::pin(self.create_config()).await {
                        report.store_error.get_or_insert(e);
                        return None;
                    }
                    created = true;
                }
            }
        }
    }

    /// What a successful read tells the agent at once: CONFIG's version, phase and interval.
    fn note_read(&mut self, snap: &GroupSnapshot, report: &mut TickReport) {
        report.version = Some(snap.config.version);
        self.version = Some(snap.config.version);
        self.phase = snap.config.transition.as_ref().map(|t| t.phase);
        // Timeouts the protocol refuses (an interval of 0s, say) must not set the pace: keep
        // ticking at the bootstrap's validated interval meanwhile.
        self.interval = match validate_timeouts(&snap.config) {
            Ok(()) => snap.config.heartbeat_interval.get(),
            Err(_) => self.spec.bootstrap.heartbeat_interval.get(),
        };
    }

    /// Creates the group's CONFIG from the bootstrap (another cluster's, created first, is as
    /// good).
    async fn create_config(&self) -> Result<(), String> {
        let mut config = self.spec.bootstrap.clone();
        config.last_updated = Some(self.clock.now());
        if self.spec.settings_from_spec {
            let text = spec_text(&self.spec.bootstrap);
            config.applied_specs.insert(self.me.clone(), text);
        }
        let budget = self.call_budget();
        let create = self.store.create_config(&config);
        match bounded(budget, "create the group's CONFIG", create).await? {
            CreateOutcome::Created(_) => {
                tracing::info!(group = %self.spec.group, cluster = %self.me, owner = %config.owner_cluster, "created the group's CONFIG from the bootstrap");
            }
            // As good: another cluster bootstrapped it first; its CONFIG wins.
            CreateOutcome::AlreadyExists(_) => {}
        }
        Ok(())
    }

    /// Brings an edited FailoverGroup's settings into CONFIG, or records the spec as seen
    /// (`protocol::sync_spec`). True when CONFIG changed (read it again).
    async fn sync_spec(&self, snap: &GroupSnapshot, report: &mut TickReport) -> bool {
        let group = &self.spec.group;
        let config = match sync_spec(
            &snap.config,
            &self.spec.bootstrap,
            &self.me,
            self.clock.now(),
        ) {
            SpecSync::InSync => return false,
            SpecSync::AfterTransition => {
                tracing::debug!(group = %group, cluster = %self.me, "the FailoverGroup's settings changed; they go into CONFIG once the transition in flight has ended");
                return false;
            }
            SpecSync::Write { config, changed } => {
                if changed {
                    tracing::info!(group = %group, cluster = %self.me, settings = %spec_text(&config), "bringing the edited FailoverGroup's settings into CONFIG; takeovers use the longer of the old and new windows until the owner has read them");
                }
                config
            }
        };
        let budget = self.call_budget();
        let update = self.store.update_config(snap.config.version, &config);
        match bounded(budget, "record the FailoverGroup's settings", update).await {
            Ok(CasOutcome::Applied(_)) => true,
            // Someone else changed CONFIG first: read it again, try again next tick.
            Ok(CasOutcome::Conflict { .. }) => true,
            Err(e) => {
                report.store_error.get_or_insert(e);
                false
            }
        }
    }

    /// What `step` needs to know about this agent, for a read sent at `read_sent_at`.
    pub(super) async fn facts(
        &mut self,
        snap: &GroupSnapshot,
        now: Duration,
        read_sent_at: Duration,
        report: &mut TickReport,
    ) -> LocalFacts {
        // Only the target of a transition needs to know (it refuses an unforced UPTIME when
        // its cluster has volume replications): ask the cluster then, and once at start.
        // Unknown counts as "has volumes", which fails an unforced UPTIME rather than risk
        // splitting the data.
        let target = snap
            .config
            .transition
            .as_ref()
            .is_some_and(|t| t.target == self.me);
        if self.volumes.is_none() || target {
            let (budget, group) = (self.call_budget(), &self.spec.group);
            let call = self.cluster.has_volume_replications(group);
            let what = "tell whether there are volume replications";
            let bound = (budget, converge::CALL_BOUND);
            match converge::bounded(bound, &self.me, group, what, call).await {
                Ok(Ok(v)) => self.volumes = Some(v),
                Ok(Err(e)) => {
                    report.cluster_error.get_or_insert(e.to_string());
                }
                Err(timed_out) => {
                    report.cluster_error.get_or_insert(timed_out);
                }
            }
        }
        let wall_now = self.clock.now();
        LocalFacts {
            me: self.me.clone(),
            now,
            wall_now,
            heartbeat_sent_at: self.heartbeats.log.sent_at_before(read_sent_at),
            lock: self.lock.clone(),
            progress: self.progress.clone(),
            has_volume_replications: self.volumes.unwrap_or(true),
            new_id: format!("auto-{}-{}", self.me, wall_now.timestamp_millis()),
        }
    }

    /// Emits the tick's events (errors last) and logs the tick.
    pub(super) fn finish(&mut self, report: &mut TickReport, mut events: Vec<AgentEventKind>) {
        self.changes.errors(
            report.store_error.as_deref(),
            report.cluster_error.as_deref(),
            &mut events,
        );
        for kind in events {
            self.emit(kind);
        }
        let d = report.decision.as_ref();
        tracing::debug!(
            group = %self.spec.group,
            cluster = %self.me,
            epoch = d.map(|d| d.epoch),
            version = report.version,
            phase = self.phase.map(|p| p.as_str()),
            role = ?d.map(|d| d.role),
            held = report.held,
            converged = report.converged,
            pending = report.pending.as_deref(),
            writes = report.writes.len(),
            "tick"
        );
    }

    /// Logs one event with the standard fields and hands it to the sink.
    pub(super) fn emit(&self, kind: AgentEventKind) {
        let d = self.previous.as_ref();
        tracing::info!(
            group = %self.spec.group,
            cluster = %self.me,
            epoch = d.map(|d| d.epoch),
            phase = self.phase.map(|p| p.as_str()),
            version = self.version,
            "{kind}"
        );
        self.sink.emit(AgentEvent {
            at: self.clock.now(),
            cluster: self.me.clone(),
            group: self.spec.group.clone(),
            kind,
        });
    }
}
