//! Events from what changed: the agent remembers what it last knew (owner, transition and phase,
//! role, refusals, errors) and turns each difference into one `AgentEventKind`, so a situation
//! that lasts for many ticks is reported once.

use super::events::AgentEventKind as Kind;
use crate::protocol::{Blocked, Decision, Note, Refusal, Role};
use crate::store::{FlipRequest, GroupConfig, HistoryStatus, Phase};
use chrono::{DateTime, SubsecRound, Utc};
use std::time::Duration;

/// A write ending a transition whose answer did not come back: it may have landed. What its
/// CONFIG looks like if it did, and the end to announce then.
#[derive(Debug, Clone)]
struct UnconfirmedEnd {
    version: u64,
    owner: String,
    epoch: u64,
    /// Written by this agent's clock, to the millisecond (as the table keeps it): another
    /// agent ending the same transition writes its own.
    last_updated: Option<DateTime<Utc>>,
    end: Kind,
}

/// What the agent last knew, to report changes only.
#[derive(Debug, Clone, Default)]
pub(super) struct Changes {
    owner: Option<(String, u64)>,
    transition: Option<(String, Phase)>,
    role: Option<Role>,
    refusals: Vec<Refusal>,
    blocked: Option<&'static str>,
    stuck: Option<String>,
    store_error: Option<String>,
    cluster_error: Option<String>,
    /// Boxed: rare, and the agent of every group carries this struct.
    unconfirmed_end: Option<Box<UnconfirmedEnd>>,
}

impl Changes {
    /// CONFIG as read or as written by this agent (`requested_here`: this agent's own
    /// transition request). The first CONFIG seen is the baseline for ownership.
    pub(super) fn config(&mut self, cfg: &GroupConfig, requested_here: bool, out: &mut Vec<Kind>) {
        let owner = (cfg.owner_cluster.clone(), cfg.epoch);
        if let Some((old, _)) = &self.owner
            && *old != owner.0
        {
            out.push(Kind::OwnershipFlipped {
                source: old.clone(),
                target: owner.0.clone(),
                epoch: owner.1,
            });
        }
        self.owner = Some(owner);
        let seen = cfg.transition.as_ref().map(|t| (t.id.clone(), t.phase));
        match (&self.transition, &cfg.transition) {
            (Some((id, phase)), Some(t)) if *id == t.id => {
                if *phase != t.phase {
                    out.push(Kind::PhaseChanged {
                        id: t.id.clone(),
                        from: Some(*phase),
                        to: t.phase,
                    });
                }
            }
            (_, Some(t)) => out.push(Kind::TransitionStarted {
                id: t.id.clone(),
                source: t.source.clone(),
                target: t.target.clone(),
                mode: t.mode,
                force: t.force,
                automatic: t.automatic,
                reason: t.reason.clone(),
                requested_here,
            }),
            // Ended: the `TransitionEnded` event comes only from the agent whose write ended it
            // (only it knows the outcome without reading history), here if its answer was lost.
            (_, None) => {}
        }
        self.transition = seen;
        if let Some(pending) = self.unconfirmed_end.take() {
            let ms = |t: Option<DateTime<Utc>>| t.map(|t| t.trunc_subsecs(3));
            let landed = cfg.transition.is_none()
                && cfg.version == pending.version
                && cfg.owner_cluster == pending.owner
                && cfg.epoch == pending.epoch
                && ms(cfg.last_updated) == ms(pending.last_updated);
            if landed {
                out.push(pending.end);
            } else if cfg.version < pending.version {
                // Not yet decided (a CONFIG older than the write): keep waiting for it.
                self.unconfirmed_end = Some(pending);
            }
        }
    }

    /// A write ending a transition (`Intent::Finish`) about to be sent, whose answer may not
    /// come: announced by [`Changes::config`] once a read shows that it landed, dropped once
    /// one shows it did not, or when its answer says so ([`Changes::ended`],
    /// [`Changes::end_refused`]).
    pub(super) fn end_unconfirmed(&mut self, request: &FlipRequest) {
        self.unconfirmed_end = end_of(request).map(|end| {
            Box::new(UnconfirmedEnd {
                version: request.expected_version + 1,
                owner: request.new_config.owner_cluster.clone(),
                epoch: request.new_config.epoch,
                last_updated: request.new_config.last_updated,
                end,
            })
        });
    }

    /// A write ending a transition that certainly did not land (cancelled by its condition,
    /// or refused before it was sent).
    pub(super) fn end_refused(&mut self) {
        self.unconfirmed_end = None;
    }

    /// A committed write that ended a transition (`Intent::Finish`).
    pub(super) fn ended(&mut self, request: &FlipRequest, out: &mut Vec<Kind>) {
        self.unconfirmed_end = None;
        self.config(&request.new_config, false, out);
        out.extend(end_of(request));
    }

    /// The tick's decision (`held`: made without a read, so its notes say nothing new).
    pub(super) fn decision(&mut self, d: &Decision, held: bool, out: &mut Vec<Kind>) {
        let from = self.role;
        if from != Some(d.role) {
            out.push(Kind::RoleChanged {
                from,
                to: d.role,
                epoch: d.epoch,
            });
            if d.role == Role::Fenced {
                let (silent_for, limit) = d
                    .notes
                    .iter()
                    .find_map(|n| match n {
                        Note::Fenced { silent_for, limit } => Some((*silent_for, *limit)),
                        _ => None,
                    })
                    .unwrap_or((None, Duration::ZERO));
                out.push(Kind::Fenced { silent_for, limit });
            } else if from == Some(Role::Fenced) {
                out.push(Kind::Unfenced);
            }
        }
        self.role = Some(d.role);
        if held {
            return;
        }

        let refusals: Vec<Refusal> = d
            .notes
            .iter()
            .filter_map(|n| match n {
                Note::Refused(r) => Some(r.clone()),
                _ => None,
            })
            .collect();
        for r in refusals.iter().filter(|r| !self.refusals.contains(r)) {
            out.push(Kind::Refused { refusal: r.clone() });
        }
        self.refusals = refusals;

        // The blocked note carries durations that change every tick: report the kind of block.
        let blocked = d.notes.iter().find_map(|n| match n {
            Note::FailoverBlocked { blocked, .. } => Some((blocked_kind(blocked), n)),
            _ => None,
        });
        if let Some((kind, note)) = blocked
            && self.blocked != Some(kind)
        {
            out.push(Kind::FailoverBlocked {
                message: note.to_string(),
            });
        }
        self.blocked = blocked.map(|(kind, _)| kind);

        let stuck = d.notes.iter().find_map(|n| match n {
            Note::Stuck { id, ending, .. } => Some((id.clone(), *ending)),
            _ => None,
        });
        if let Some((id, ending)) = &stuck
            && self.stuck.as_ref() != Some(id)
        {
            out.push(Kind::Stuck {
                id: id.clone(),
                ending: *ending,
            });
        }
        if let Some((id, _)) = stuck {
            self.stuck = Some(id);
        }
    }

    /// The tick's first store and cluster errors (`None`: that side answered).
    pub(super) fn errors(
        &mut self,
        store: Option<&str>,
        cluster: Option<&str>,
        out: &mut Vec<Kind>,
    ) {
        fn one(
            last: &mut Option<String>,
            now: Option<&str>,
            failed: impl Fn(String) -> Kind,
            recovered: Kind,
            out: &mut Vec<Kind>,
        ) {
            match (last.as_deref(), now) {
                (Some(a), Some(b)) if a == b => {}
                (_, Some(b)) => out.push(failed(b.to_string())),
                (Some(_), None) => out.push(recovered),
                (None, None) => {}
            }
            *last = now.map(str::to_string);
        }
        one(
            &mut self.store_error,
            store,
            |message| Kind::StoreError { message },
            Kind::StoreRecovered,
            out,
        );
        one(
            &mut self.cluster_error,
            cluster,
            |message| Kind::ClusterError { message },
            Kind::ClusterRecovered,
            out,
        );
    }
}

fn blocked_kind(b: &Blocked) -> &'static str {
    match b {
        Blocked::Suspended { .. } => "suspended",
        Blocked::Cooldown { .. } => "cooldown",
        Blocked::NoEligibleTarget => "no-target",
    }
}

/// The `TransitionEnded` a write ending a transition announces (none without its history).
fn end_of(request: &FlipRequest) -> Option<Kind> {
    let h = request.history.as_ref()?;
    Some(Kind::TransitionEnded {
        id: h.failover_name.clone(),
        source: h.source_cluster.clone(),
        target: h.target_cluster.clone(),
        mode: h.mode.as_deref()?.parse().ok()?,
        automatic: h.automatic.unwrap_or(false),
        outcome: h.status.parse::<HistoryStatus>().ok()?,
        duration: h.duration.map(Duration::from_secs),
        downtime: h.downtime.map(Duration::from_secs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{GroupId, HistoryRecord};

    fn request(writer_clock: DateTime<Utc>) -> FlipRequest {
        let group = GroupId::new("shop", "web").unwrap();
        let mut new_config = GroupConfig::new("op", group, "west", writer_clock);
        new_config.epoch = 2;
        FlipRequest {
            expected_version: 6,
            lease_token: "t".into(),
            new_config,
            history: Some(HistoryRecord {
                failover_name: "p1".into(),
                source_cluster: "east".into(),
                target_cluster: "west".into(),
                start_time: writer_clock,
                end_time: Some(writer_clock),
                status: "SUCCESS".into(),
                reason: "test".into(),
                downtime: Some(1),
                duration: Some(2),
                mode: Some("CONSISTENCY".into()),
                automatic: Some(false),
                initiator: None,
                drill: false,
            }),
        }
    }

    fn read(version: u64, last_updated: DateTime<Utc>) -> GroupConfig {
        let mut c = request(last_updated).new_config;
        c.version = version;
        c
    }

    fn ends(out: &[Kind]) -> usize {
        out.iter()
            .filter(|k| matches!(k, Kind::TransitionEnded { .. }))
            .count()
    }

    /// Announced once when a read shows this agent's write (to the millisecond the table keeps);
    /// a read from before the write keeps it waiting.
    #[test]
    fn an_unconfirmed_end_is_announced_once_its_write_is_read_back() {
        let ours = Utc::now();
        let mut changes = Changes::default();
        changes.end_unconfirmed(&request(ours));
        let mut out = Vec::new();
        changes.config(&read(6, ours), false, &mut out);
        assert_eq!(ends(&out), 0, "a CONFIG from before the write");
        changes.config(&read(7, ours.trunc_subsecs(3)), false, &mut out);
        assert_eq!(ends(&out), 1);
        changes.config(&read(7, ours), false, &mut out);
        assert_eq!(ends(&out), 1, "announced twice");
    }

    /// Another agent's write at the same version (it ended the transition after ours failed):
    /// that agent announces it, this one forgets its own.
    #[test]
    fn an_unconfirmed_end_is_dropped_when_another_write_took_its_place() {
        let ours = Utc::now();
        let mut changes = Changes::default();
        changes.end_unconfirmed(&request(ours));
        let mut out = Vec::new();
        changes.config(
            &read(7, ours + chrono::Duration::milliseconds(40)),
            false,
            &mut out,
        );
        changes.config(&read(7, ours), false, &mut out);
        assert_eq!(ends(&out), 0);
    }

    /// A write refused before it was sent (this replica lost the lead) or cancelled by its
    /// condition did not land: even a read that looks like it announces nothing.
    #[test]
    fn an_end_refused_is_never_announced() {
        let ours = Utc::now();
        let mut changes = Changes::default();
        changes.end_unconfirmed(&request(ours));
        changes.end_refused();
        let mut out = Vec::new();
        changes.config(&read(7, ours), false, &mut out);
        assert_eq!(ends(&out), 0);
    }
}
