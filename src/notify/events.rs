//! The per-group [`Watcher`]: fed after every tick with what the group task saw, it returns
//! the notifications that are new. Pure: no I/O, no clock reads.
//!
//! Who sends what (so that one failover is announced once, not once per cluster):
//! - started, phase, stuck (by age): the cluster that drives the transition, which is the
//!   holder of the LOCK when the snapshot has one (the last holder seen otherwise), else its
//!   target (before the lock is taken the target is the one that will take it);
//! - ended: the cluster whose write ended the transition (its agent's `TransitionEnded`,
//!   with the history record's outcome, duration and downtime);
//! - stuck (being ended): the cluster whose agent ends a stuck transition;
//! - automatic failover decided: the cluster whose agent wrote the request;
//! - fenced and un-fenced: the cluster itself.
//!
//! Without memory (the controller restarted, the agent was restarted, another replica took
//! the lead) the first observation of a transition past `REQUESTED` sends its current phase
//! again but not `FailoverStarted`; one at `REQUESTED` sends `FailoverStarted` again.
//! Receivers de-duplicate on `dedupKey`.

use super::{Kind, Notification};
use crate::agent::{AgentEvent, AgentEventKind};
use crate::protocol::Role;
use crate::store::{GroupConfig, GroupId, Phase, Transition};
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::time::Duration;

/// What one tick of a group showed this cluster.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The role the tick converged this cluster to (`None`: no decision yet).
    pub role: Option<Role>,
    /// CONFIG as this tick read it; `None` when the read failed.
    pub config: Option<&'a GroupConfig>,
    /// Who holds the LOCK, when the read included it.
    pub lock_holder: Option<&'a str>,
    /// Wall time.
    pub now: DateTime<Utc>,
    /// The events this cluster's agent emitted since the last observation, in order.
    pub agent: &'a [AgentEvent],
}

/// Ids remembered to send each transition's stuck and ended notification once.
const REMEMBERED: usize = 16;

/// The transition in flight, as last seen.
#[derive(Debug, Clone)]
struct Tracked {
    t: Transition,
    /// The last lock holder seen while it was in flight.
    holder: Option<String>,
}

/// Turns a group's observations into new notifications (see the module doc).
#[derive(Debug, Clone)]
pub struct Watcher {
    group: GroupId,
    me: String,
    /// A CONFIG was observed since this watcher was made.
    seen_config: bool,
    role: Option<Role>,
    /// When the fencing being reported began, and its key.
    fenced: Option<String>,
    current: Option<Tracked>,
    stuck: VecDeque<String>,
    ended: VecDeque<String>,
}

impl Watcher {
    /// A watcher without memory, for `group` as seen from cluster `me`.
    pub fn new(group: GroupId, me: &str) -> Self {
        Watcher {
            group,
            me: me.to_string(),
            seen_config: false,
            role: None,
            fenced: None,
            current: None,
            stuck: VecDeque::new(),
            ended: VecDeque::new(),
        }
    }

    /// The notifications `o` makes new, in order: role, then what was read, then what the
    /// agent did after reading.
    pub fn observe(&mut self, o: &Observation<'_>) -> Vec<Notification> {
        let mut out = Vec::new();
        self.role(o, &mut out);
        if let Some(config) = o.config {
            self.config(config, o, &mut out);
        }
        for e in o.agent {
            self.agent(e, &mut out);
        }
        out
    }

    fn role(&mut self, o: &Observation<'_>, out: &mut Vec<Notification>) {
        let Some(role) = o.role else {
            return;
        };
        let was_fenced = self.role == Some(Role::Fenced);
        if role == Role::Fenced && !was_fenced {
            let key = format!(
                "fenced/{}/{}/{}",
                self.group,
                self.me,
                o.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            );
            let summary = format!(
                "{}: cluster {} fenced itself (it owns the group but may not serve)",
                self.group, self.me
            );
            out.push(self.base(Kind::ClusterFenced, &key, None, o.now, summary));
            self.fenced = Some(key);
        } else if role != Role::Fenced && was_fenced {
            let key = self.fenced.take().unwrap_or_default();
            let summary = format!(
                "{}: cluster {} is no longer fenced (now {})",
                self.group,
                self.me,
                role_name(role)
            );
            out.push(self.base(Kind::ClusterUnfenced, &key, None, o.now, summary));
        }
        self.role = Some(role);
    }

    fn config(&mut self, config: &GroupConfig, o: &Observation<'_>, out: &mut Vec<Notification>) {
        let first = !self.seen_config;
        self.seen_config = true;
        let Some(t) = config
            .transition
            .as_ref()
            .filter(|t| !self.ended.contains(&t.id))
        else {
            self.current = None;
            return;
        };
        let previous = self.current.take().filter(|c| c.t.id == t.id);
        let holder = o
            .lock_holder
            .map(str::to_string)
            .or_else(|| previous.as_ref().and_then(|p| p.holder.clone()));
        let tracked = Tracked {
            t: t.clone(),
            holder,
        };
        let driver = self.drives(&tracked);
        match &previous {
            None if driver => {
                if !first || t.phase == Phase::Requested {
                    out.push(self.started(t, o.now));
                }
                if t.phase != Phase::Requested {
                    out.push(self.phase(t, o.now));
                }
            }
            Some(p) if driver && p.t.phase != t.phase => out.push(self.phase(t, o.now)),
            _ => {}
        }
        let age = (o.now - t.requested_at).to_std().unwrap_or(Duration::ZERO);
        let limit = config.timeouts.transitory_state.get();
        if driver && age > limit && !self.stuck.contains(&t.id) {
            let summary = format!(
                "{}: failover {} -> {} has been in flight for {}s (phase {}), longer than timeouts.transitoryState ({}s)",
                self.group,
                t.source,
                t.target,
                age.as_secs(),
                t.phase,
                limit.as_secs()
            );
            let mut n = self.about(Kind::FailoverStuck, t, None, o.now, summary);
            n.phase = Some(t.phase.to_string());
            n.duration_seconds = Some(age.as_secs());
            out.push(n);
            remember(&mut self.stuck, &t.id);
        }
        self.current = Some(tracked);
    }

    fn agent(&mut self, e: &AgentEvent, out: &mut Vec<Notification>) {
        use AgentEventKind as K;
        match &e.kind {
            K::TransitionStarted {
                id,
                source,
                target,
                mode,
                force,
                automatic,
                reason,
                requested_here: true,
            } if !self.ended.contains(id) => {
                let t = Transition {
                    id: id.clone(),
                    source: source.clone(),
                    target: target.clone(),
                    mode: *mode,
                    force: *force,
                    automatic: *automatic,
                    reason: reason.clone(),
                    initiator: self.me.clone(),
                    phase: Phase::Requested,
                    requested_at: e.at,
                    source_stopped_at: None,
                    drill: false,
                };
                if *automatic {
                    let summary = format!(
                        "{}: {} decided an automatic failover {} -> {} ({})",
                        self.group, self.me, source, target, reason
                    );
                    out.push(self.about(Kind::AutomaticFailoverDecided, &t, None, e.at, summary));
                }
                if self.current.as_ref().is_none_or(|c| c.t.id != *id) {
                    let tracked = Tracked { t, holder: None };
                    if self.drives(&tracked) {
                        out.push(self.started(&tracked.t, e.at));
                    }
                    self.current = Some(tracked);
                }
            }
            K::PhaseChanged { id, to, .. } => {
                let Some(c) = self.current.as_mut().filter(|c| c.t.id == *id) else {
                    return;
                };
                if c.t.phase == *to {
                    return;
                }
                c.t.phase = *to;
                let c = c.clone();
                if self.drives(&c) {
                    out.push(self.phase(&c.t, e.at));
                }
            }
            K::TransitionEnded {
                id,
                source,
                target,
                mode,
                automatic,
                outcome,
                duration,
                downtime,
            } if !self.ended.contains(id) => {
                let known = self.current.take().filter(|c| c.t.id == *id);
                let mut summary = format!(
                    "{}: failover {} -> {} ended {}",
                    self.group, source, target, outcome
                );
                if let Some(d) = duration {
                    summary.push_str(&format!(", took {}s", d.as_secs()));
                }
                if let Some(d) = downtime {
                    summary.push_str(&format!(", downtime {}s", d.as_secs()));
                }
                let mut n = self.base(Kind::FailoverEnded, id, None, e.at, summary);
                n.source = Some(source.clone());
                n.target = Some(target.clone());
                n.mode = Some(mode.to_string());
                n.automatic = Some(*automatic);
                n.outcome = Some(outcome.to_string());
                n.duration_seconds = duration.map(|d| d.as_secs());
                n.downtime_seconds = downtime.map(|d| d.as_secs());
                if let Some(k) = known {
                    n.reason = Some(k.t.reason);
                    n.initiator = Some(k.t.initiator);
                    n.requested_at = Some(k.t.requested_at);
                }
                out.push(n);
                remember(&mut self.ended, id);
            }
            K::Stuck { id, ending } if !self.stuck.contains(id) => {
                let summary = format!(
                    "{}: failover {id} is stuck; {} is ending it as {ending}",
                    self.group, self.me
                );
                let mut n = match self.current.as_ref().filter(|c| c.t.id == *id) {
                    Some(c) => {
                        let mut n = self.about(Kind::FailoverStuck, &c.t, None, e.at, summary);
                        n.phase = Some(c.t.phase.to_string());
                        n
                    }
                    None => self.base(Kind::FailoverStuck, id, None, e.at, summary),
                };
                n.outcome = Some(ending.to_string());
                out.push(n);
                remember(&mut self.stuck, id);
            }
            _ => {}
        }
    }

    /// Whether this cluster drives `c`: it holds (or last held) the lock, or nobody has held
    /// it and it is the target.
    fn drives(&self, c: &Tracked) -> bool {
        match &c.holder {
            Some(holder) => *holder == self.me,
            None => c.t.target == self.me,
        }
    }

    fn started(&self, t: &Transition, at: DateTime<Utc>) -> Notification {
        let how = if t.automatic { "automatic" } else { "planned" };
        let summary = format!(
            "{}: {how} failover {} -> {} started ({}, reason: {}, by {})",
            self.group, t.source, t.target, t.mode, t.reason, t.initiator
        );
        self.about(Kind::FailoverStarted, t, None, at, summary)
    }

    fn phase(&self, t: &Transition, at: DateTime<Utc>) -> Notification {
        let summary = format!(
            "{}: failover {} -> {} is in phase {}",
            self.group, t.source, t.target, t.phase
        );
        self.about(Kind::FailoverPhase, t, Some(t.phase), at, summary)
    }

    /// A notification about transition `t`, with its fields (`phase`: part of the de-dup key).
    fn about(
        &self,
        kind: Kind,
        t: &Transition,
        phase: Option<Phase>,
        at: DateTime<Utc>,
        summary: String,
    ) -> Notification {
        let mut n = self.base(kind, &t.id, phase, at, summary);
        n.source = Some(t.source.clone());
        n.target = Some(t.target.clone());
        n.mode = Some(t.mode.to_string());
        n.automatic = Some(t.automatic);
        n.reason = Some(t.reason.clone());
        n.initiator = Some(t.initiator.clone());
        n.requested_at = Some(t.requested_at);
        n
    }

    fn base(
        &self,
        kind: Kind,
        key: &str,
        phase: Option<Phase>,
        at: DateTime<Utc>,
        summary: String,
    ) -> Notification {
        let dedup_key = match phase {
            Some(p) => format!("{key}/{kind}/{p}"),
            None => format!("{key}/{kind}"),
        };
        Notification {
            kind,
            key: key.to_string(),
            dedup_key,
            group: self.group.to_string(),
            cluster: self.me.clone(),
            source: None,
            target: None,
            mode: None,
            automatic: None,
            reason: None,
            initiator: None,
            phase: phase.map(|p| p.to_string()),
            outcome: None,
            requested_at: None,
            duration_seconds: None,
            downtime_seconds: None,
            at,
            summary,
        }
    }
}

fn remember(ids: &mut VecDeque<String>, id: &str) {
    if ids.len() >= REMEMBERED {
        ids.pop_front();
    }
    ids.push_back(id.to_string());
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Primary => "PRIMARY",
        Role::Standby => "STANDBY",
        Role::Fenced => "FENCED",
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
