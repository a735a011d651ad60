//! The promote use case, shared by the CLI `promote`, the terminal UI and the demo: ask for a
//! planned transition of a group to a cluster by writing the request into CONFIG with a
//! compare-and-set. The target's agent then drives it; this only asks.

use crate::clock::Clock;
use crate::error::{Error, ExitCode};
use crate::protocol::{Refusal, TransitionRequest, request_transition};
use crate::store::{CasOutcome, CoordinationStore, FailoverMode, GroupId, Phase, Transition};
use serde::Serialize;

/// How many times a lost compare-and-set is retried (re-read, decide again) before giving up.
/// CONFIG changes only at transitions and settings changes (heartbeats live in their own
/// records), so losing more than a couple of races in a row means something else is busy with
/// the group and a person should look.
pub const MAX_ATTEMPTS: u32 = 5;

/// What a person asks for with `promote`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoteRequest {
    /// The cluster to become PRIMARY.
    pub target: String,
    /// CONSISTENCY (data first) or UPTIME (availability first).
    pub mode: FailoverMode,
    /// Do not wait for the source's acknowledgement once its heartbeat has lapsed.
    pub force: bool,
    /// Why, for history.
    pub reason: String,
    /// Who asks (user name, `demo`, a Failover resource).
    pub initiator: String,
    /// The transition id (history's `failoverName`); generated when `None`.
    pub id: Option<String>,
    /// Whether the caller knows the group has volume replications (UPTIME is then refused
    /// unless forced). When unsure say `false`: the target's agent checks again before it
    /// activates anything and fails the transition (docs/protocol.md, Decisions 8).
    pub has_volume_replications: bool,
}

impl PromoteRequest {
    /// A CONSISTENCY, unforced request to move the group to `target`.
    pub fn to(target: &str, initiator: &str, reason: &str) -> Self {
        PromoteRequest {
            target: target.to_string(),
            mode: FailoverMode::Consistency,
            force: false,
            reason: reason.to_string(),
            initiator: initiator.to_string(),
            id: None,
            has_volume_replications: false,
        }
    }
}

/// What came of a promote request. Only `Requested` and `AlreadyPrimary` are successes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
#[must_use]
pub enum PromoteOutcome {
    /// The transition was written into CONFIG; the target's agent drives it from here.
    Requested {
        /// The transition as stored.
        transition: Transition,
        /// CONFIG's version after the request.
        version: u64,
    },
    /// The target already owns the group: nothing to do.
    AlreadyPrimary {
        /// The group.
        group: GroupId,
        /// The owner.
        cluster: String,
    },
    /// The target has no `CLUSTER#` record in the group.
    UnknownTarget {
        /// The group.
        group: GroupId,
        /// The name asked for.
        target: String,
        /// The clusters that are part of the group.
        known: Vec<String>,
    },
    /// Another transition is in flight.
    TransitionInFlight {
        /// The group.
        group: GroupId,
        /// Its id.
        id: String,
        /// Its source.
        source: String,
        /// Its target.
        target: String,
        /// Its phase.
        phase: Phase,
    },
    /// UPTIME asked for a group with volume replications, without force.
    UptimeWithVolumes {
        /// The group.
        group: GroupId,
    },
    /// Any other refusal (timeouts that cannot keep the protocol safe, ...).
    Refused {
        /// The protocol's reason, for the message.
        #[serde(serialize_with = "as_text")]
        refusal: Refusal,
    },
    /// Every attempt lost its compare-and-set to another writer.
    Contended {
        /// The group.
        group: GroupId,
        /// Attempts made.
        attempts: u32,
    },
}

fn as_text<S: serde::Serializer>(r: &Refusal, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(r)
}

impl PromoteOutcome {
    fn from_refusal(refusal: Refusal) -> Self {
        match refusal {
            Refusal::AlreadyPrimary { group, cluster } => {
                PromoteOutcome::AlreadyPrimary { group, cluster }
            }
            Refusal::UnknownTarget {
                group,
                target,
                known,
            } => PromoteOutcome::UnknownTarget {
                group,
                target,
                known,
            },
            Refusal::TransitionInFlight {
                group,
                id,
                from,
                to,
                phase,
            } => PromoteOutcome::TransitionInFlight {
                group,
                id,
                source: from,
                target: to,
                phase,
            },
            Refusal::UptimeWithVolumes { group } => PromoteOutcome::UptimeWithVolumes { group },
            other => PromoteOutcome::Refused { refusal: other },
        }
    }

    /// True when the group is (or is about to be) where it was asked to go.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            PromoteOutcome::Requested { .. } | PromoteOutcome::AlreadyPrimary { .. }
        )
    }

    /// The exit code a command reports for this outcome (README "Exit codes").
    pub fn exit_code(&self) -> ExitCode {
        match self {
            PromoteOutcome::Requested { .. } | PromoteOutcome::AlreadyPrimary { .. } => {
                ExitCode::Ok
            }
            // A refusal like the others (exit 3), as `promote` documents: the group exists,
            // the request names a cluster that is not part of it.
            PromoteOutcome::UnknownTarget { .. }
            | PromoteOutcome::TransitionInFlight { .. }
            | PromoteOutcome::UptimeWithVolumes { .. }
            | PromoteOutcome::Refused { .. }
            | PromoteOutcome::Contended { .. } => ExitCode::Conflict,
        }
    }
}

impl std::fmt::Display for PromoteOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PromoteOutcome::Requested {
                transition: t,
                version,
            } => write!(
                f,
                "requested {} failover {} -> {} ({}, CONFIG version {version}); {}'s agent drives it now",
                t.mode, t.source, t.target, t.id, t.target
            ),
            PromoteOutcome::AlreadyPrimary { group, cluster } => Refusal::AlreadyPrimary {
                group: group.clone(),
                cluster: cluster.clone(),
            }
            .fmt(f),
            PromoteOutcome::UnknownTarget {
                group,
                target,
                known,
            } => Refusal::UnknownTarget {
                group: group.clone(),
                target: target.clone(),
                known: known.clone(),
            }
            .fmt(f),
            PromoteOutcome::TransitionInFlight {
                group,
                id,
                source,
                target,
                phase,
            } => Refusal::TransitionInFlight {
                group: group.clone(),
                id: id.clone(),
                from: source.clone(),
                to: target.clone(),
                phase: *phase,
            }
            .fmt(f),
            PromoteOutcome::UptimeWithVolumes { group } => Refusal::UptimeWithVolumes {
                group: group.clone(),
            }
            .fmt(f),
            PromoteOutcome::Refused { refusal } => refusal.fmt(f),
            PromoteOutcome::Contended { group, attempts } => write!(
                f,
                "CONFIG of {group} changed under every one of {attempts} attempts to request the failover; something else is changing the group, check `kubectl failover status {group}` and try again"
            ),
        }
    }
}

/// A transition id for a request that did not name one: readable in `history`, unique enough
/// (milliseconds plus a random suffix) that two people promoting at once never share one.
pub fn generate_id(target: &str, clock: &dyn Clock) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "promote-{target}-{}-{}",
        clock.now().format("%Y%m%d-%H%M%S"),
        &suffix[..6]
    )
}

/// Asks for a planned transition of `group` to `request.target`: reads the group, lets the
/// protocol check the request, and writes it with a compare-and-set on CONFIG's version. A lost
/// race is retried (up to [`MAX_ATTEMPTS`]) against a fresh read. Refusals are outcomes, not
/// errors; errors are only the store failing or the group not existing.
pub async fn request_promotion(
    store: &dyn CoordinationStore,
    clock: &dyn Clock,
    operator_id: &str,
    group: &GroupId,
    request: &PromoteRequest,
) -> Result<PromoteOutcome, Error> {
    request_promotion_marked(store, clock, operator_id, group, request, false).await
}

/// [`request_promotion`], with the transition marked as a rehearsal when `drill` is set (the
/// `drill` extension key, copied into its HISTORY record). The mark changes nothing in how the
/// agents carry the transition out: a drill is a real planned failover.
pub async fn request_promotion_marked(
    store: &dyn CoordinationStore,
    clock: &dyn Clock,
    operator_id: &str,
    group: &GroupId,
    request: &PromoteRequest,
    drill: bool,
) -> Result<PromoteOutcome, Error> {
    let id = request
        .id
        .clone()
        .unwrap_or_else(|| generate_id(&request.target, clock));
    for _ in 0..MAX_ATTEMPTS {
        // The lock is irrelevant to a request (only "no transition in flight" is), so it is
        // not read: one strongly consistent request instead of two.
        let Some(snapshot) = store.load_group_with(operator_id, group, false).await? else {
            return Err(Error::GroupNotFound {
                group: group.to_string(),
                operator_id: operator_id.to_string(),
                store: store.describe(),
            });
        };
        let asked = TransitionRequest {
            target: request.target.clone(),
            mode: request.mode,
            force: request.force,
            reason: request.reason.clone(),
            initiator: request.initiator.clone(),
            id: id.clone(),
            wall_now: clock.now(),
            has_volume_replications: request.has_volume_replications,
            automatic: false,
        };
        let mut next = match request_transition(&snapshot, &asked) {
            Ok(next) => next,
            Err(refusal) => return Ok(PromoteOutcome::from_refusal(refusal)),
        };
        if let Some(t) = next.transition.as_mut() {
            t.drill = drill;
        }
        match store.update_config(snapshot.config.version, &next).await? {
            CasOutcome::Applied(written) => {
                // The written record always carries the transition just put in; fall back to
                // what was sent in case a backend returns it without (it cannot be absent).
                let transition = written
                    .transition
                    .or(next.transition)
                    .ok_or_else(|| anyhow::anyhow!("CONFIG written without the transition"))?;
                return Ok(PromoteOutcome::Requested {
                    transition,
                    version: written.version,
                });
            }
            CasOutcome::Conflict { .. } => continue,
        }
    }
    Ok(PromoteOutcome::Contended {
        group: group.clone(),
        attempts: MAX_ATTEMPTS,
    })
}

#[cfg(test)]
mod tests;
