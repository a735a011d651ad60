//! The checks `promote` runs before asking anything: each group is read (with its lock) and the
//! request is put to the protocol's own `request_transition` without writing, so a dry run and
//! a real run refuse exactly the same things. A lock still within its lease is refused too,
//! naming its holder, reason and expiry.

use super::cluster::read_group_spec;
use super::plan::{PlanInput, render};
use crate::cli::color::Palette;
use crate::cli::kubeconfig::KubeArgs;
use crate::cli::output::{format_signed_age, format_time};
use crate::clock::Clock;
use crate::error::Error;
use crate::protocol::{Refusal, TransitionRequest, request_transition};
use crate::store::{CoordinationStore, FailoverMode, GroupId, GroupSnapshot, Lock};
use chrono::{DateTime, Utc};
use std::io::Write;

/// What is asked of every group.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    /// The cluster to become PRIMARY.
    pub target: &'a str,
    /// CONSISTENCY or UPTIME.
    pub mode: FailoverMode,
    /// Skip the source's acknowledgement.
    pub force: bool,
    /// The kubeconfig, when it has a usable context (FailoverGroups are read from it).
    pub kube: Option<&'a KubeArgs>,
}

/// The verdict for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The request can be written.
    Go,
    /// The target owns the group already.
    AlreadyPrimary,
    /// The protocol refuses the request.
    Refused(Refusal),
    /// An agent holds the group's lock.
    LockHeld {
        /// The group.
        group: GroupId,
        /// The lock.
        lock: Lock,
        /// Seconds left on its lease (by our clock).
        expires_in: i64,
    },
}

impl Verdict {
    /// True when the whole command must stop.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Verdict::Refused(_) | Verdict::LockHeld { .. })
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Go => write!(f, "can be requested"),
            Verdict::AlreadyPrimary => write!(f, "already primary"),
            Verdict::Refused(r) => r.fmt(f),
            Verdict::LockHeld {
                group,
                lock,
                expires_in,
            } => write!(
                f,
                "{group} is locked by {} ({}), lease expires {} (in {}); a transition is being driven: wait for it, then check `kubectl failover status {group}`",
                lock.locked_by,
                if lock.lock_reason.is_empty() {
                    "no reason given"
                } else {
                    &lock.lock_reason
                },
                format_time(lock.expires_at),
                format_signed_age(*expires_in)
            ),
        }
    }
}

/// One group, read and judged.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The group.
    pub group: GroupId,
    /// Its owner now.
    pub owner: String,
    /// What may happen.
    pub verdict: Verdict,
    /// What was read.
    pub snapshot: GroupSnapshot,
    /// The FailoverGroup spec from the context, when readable.
    pub spec: Option<crate::crd::FailoverGroupSpec>,
    /// Whether the group has volume replications (false when unknown: the agent checks).
    pub has_volume_replications: bool,
}

/// Reads and judges every group; a group that does not exist is an error (exit 4).
pub async fn check_all(
    store: &dyn CoordinationStore,
    clock: &dyn Clock,
    operator_id: &str,
    groups: &[GroupId],
    ask: &Ask<'_>,
) -> Result<Vec<Checked>, Error> {
    let mut checked = Vec::new();
    // After one failed cluster read the others would fail the same way, each after a timeout.
    let mut kube = ask.kube;
    for group in groups {
        let Some(snapshot) = store.load_group(operator_id, group).await? else {
            return Err(Error::GroupNotFound {
                group: group.to_string(),
                operator_id: operator_id.to_string(),
                store: store.describe(),
            });
        };
        let spec = match kube {
            Some(k) => match read_group_spec(k, group).await {
                Ok(spec) => Some(spec),
                Err(why) => {
                    tracing::info!(group = %group, "plan without resource names: {why}");
                    if !why.contains("does not exist") {
                        kube = None;
                    }
                    None
                }
            },
            None => None,
        };
        let has_volume_replications = spec
            .as_ref()
            .is_some_and(crate::crd::FailoverGroupSpec::has_volume_replications);
        let verdict = judge(&snapshot, ask, has_volume_replications, clock.now());
        checked.push(Checked {
            group: group.clone(),
            owner: snapshot.config.owner_cluster.clone(),
            verdict,
            snapshot,
            spec,
            has_volume_replications,
        });
    }
    Ok(checked)
}

/// The verdict for one snapshot at `now`.
pub fn judge(
    snapshot: &GroupSnapshot,
    ask: &Ask<'_>,
    has_volume_replications: bool,
    now: DateTime<Utc>,
) -> Verdict {
    let request = TransitionRequest {
        target: ask.target.to_string(),
        mode: ask.mode,
        force: ask.force,
        reason: String::new(),
        initiator: String::new(),
        id: "check".to_string(),
        wall_now: now,
        has_volume_replications,
        automatic: false,
    };
    match request_transition(snapshot, &request) {
        Err(Refusal::AlreadyPrimary { .. }) => Verdict::AlreadyPrimary,
        Err(refusal) => Verdict::Refused(refusal),
        Ok(_) => match &snapshot.config.transition {
            None => match &snapshot.lock {
                // Advisory only (the protocol does not decide on another host's timestamps):
                // a lock still in its lease means an agent is busy with the group.
                Some(lock) if lock.expires_at > now => Verdict::LockHeld {
                    group: snapshot.config.group.clone(),
                    lock: lock.clone(),
                    expires_in: (lock.expires_at - now).num_seconds(),
                },
                _ => Verdict::Go,
            },
            Some(_) => Verdict::Go,
        },
    }
}

/// Prints a group's topology and plan, or why nothing will happen.
pub fn print(
    c: &Checked,
    target: &str,
    mode: FailoverMode,
    force: bool,
    now: DateTime<Utc>,
    palette: Palette,
    out: &mut dyn Write,
) -> Result<(), Error> {
    match &c.verdict {
        Verdict::Go => {
            let input = PlanInput {
                snapshot: &c.snapshot,
                target,
                mode,
                force,
                spec: c.spec.as_ref(),
            };
            write!(out, "{}", render(&input, now, palette))?;
        }
        Verdict::AlreadyPrimary => {
            writeln!(
                out,
                "{}: {target} is already primary; nothing to do",
                palette.bold(&c.group.to_string())
            )?;
        }
        refused => {
            let view = crate::ops::status::group_view(&c.snapshot, now);
            write!(out, "{}", super::plan::topology(&view, palette))?;
            writeln!(out, "  {} {refused}", palette.bad("refused:"))?;
        }
    }
    writeln!(out)?;
    Ok(())
}

/// The checks as one JSON document (`-o json` with a refusal or a dry run).
pub fn write_json(checks: &[Checked], dry_run: bool, out: &mut dyn Write) -> Result<(), Error> {
    let groups: Vec<serde_json::Value> = checks
        .iter()
        .map(|c| {
            let verdict = match &c.verdict {
                Verdict::Go => "planned",
                Verdict::AlreadyPrimary => "alreadyPrimary",
                Verdict::Refused(_) => "refused",
                Verdict::LockHeld { .. } => "locked",
            };
            serde_json::json!({
                "group": c.group.to_string(),
                "owner": c.owner,
                "verdict": verdict,
                "message": c.verdict.to_string(),
            })
        })
        .collect();
    crate::cli::output::write_json(
        out,
        &serde_json::json!({"dryRun": dry_run, "groups": groups}),
    )
}
