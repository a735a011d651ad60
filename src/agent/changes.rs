//! Events from what changed: the agent remembers what it last knew (owner, transition and phase,
//! role, refusals, errors) and turns each difference into one `AgentEventKind`, so a situation
//! that lasts for many ticks is reported once.

use super::events::AgentEventKind as Kind;
use crate::protocol::{Blocked, Decision, Note, Refusal, Role};
use crate::store::{FlipRequest, GroupConfig, HistoryStatus, Phase};
use std::time::Duration;

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
            // (only it knows the outcome without reading history).
            (_, None) => {}
        }
        self.transition = seen;
    }

    /// A committed write that ended a transition (`Intent::Finish`).
    pub(super) fn ended(&mut self, request: &FlipRequest, out: &mut Vec<Kind>) {
        self.config(&request.new_config, false, out);
        let Some(h) = &request.history else {
            return;
        };
        let mode = h.mode.as_deref().and_then(|m| m.parse().ok());
        let outcome = h.status.parse::<HistoryStatus>().ok();
        if let (Some(mode), Some(outcome)) = (mode, outcome) {
            out.push(Kind::TransitionEnded {
                id: h.failover_name.clone(),
                source: h.source_cluster.clone(),
                target: h.target_cluster.clone(),
                mode,
                automatic: h.automatic.unwrap_or(false),
                outcome,
                duration: h.duration.map(Duration::from_secs),
                downtime: h.downtime.map(Duration::from_secs),
            });
        }
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
