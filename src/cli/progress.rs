//! `--wait`: follows requested transitions in the store until each has ended, printing every
//! phase change (and, on a terminal, a live line with the elapsed time). A wait that runs out
//! of time says which phase each unfinished group is stuck in and whose agent should move it.

use crate::cli::color::Palette;
use crate::cli::output::format_age;
use crate::error::{Error, ExitCode};
use crate::store::{CoordinationStore, GroupId, Phase, Transition};
use std::io::Write;
use std::time::{Duration, Instant};

/// How often the store is read while waiting.
pub const POLL: Duration = Duration::from_millis(500);

/// One transition being waited for.
#[derive(Debug, Clone)]
pub struct Awaited {
    /// The group.
    pub group: GroupId,
    /// The cluster it is to move to.
    pub target: String,
    /// The cluster it moves from.
    pub source: String,
    /// The transition's id, when known (unknown when a Failover resource asked).
    pub id: Option<String>,
}

/// How one awaited transition ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The target owns the group; the history status (SUCCESS, FORCED_COMPLETE) when found.
    Moved(Option<String>),
    /// The transition ended without moving the group (rolled back or failed).
    NotMoved(Option<String>),
}

/// What the follow loop saw, for a caller that keeps its own timeline (`drill`): the index
/// is the awaited transition's position in the slice given to [`follow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// The transition was read in a phase it was not in at the previous read.
    Phase(usize, Transition),
    /// The transition has ended.
    Ended(usize, Ended),
}

#[derive(Debug, Default)]
struct Track {
    seen: bool,
    phase: Option<Phase>,
    phase_since: Option<Instant>,
    ended: Option<Ended>,
    /// The transition as read at a phase change, until `follow` has passed it on.
    changed: Option<Transition>,
}

/// Waits until every transition has ended or `timeout` has passed. Progress lines go to `out`;
/// `live` adds an in-place elapsed-time line (terminals only). Errors: exit 6 on timeout naming
/// the stuck phases, exit 3 when a transition ended without moving its group.
pub async fn wait(
    store: &dyn CoordinationStore,
    operator_id: &str,
    awaited: &[Awaited],
    timeout: Duration,
    out: &mut dyn Write,
    live: bool,
    palette: Palette,
) -> Result<Vec<Ended>, Error> {
    let ended = follow(
        store,
        operator_id,
        awaited,
        timeout,
        out,
        live,
        palette,
        &mut |_| {},
    )
    .await?;
    let failed: Vec<String> = awaited
        .iter()
        .zip(&ended)
        .filter_map(|(a, e)| match e {
            Ended::NotMoved(status) => Some(format!(
                "{} did not move to {} ({})",
                a.group,
                a.target,
                status.as_deref().unwrap_or("ended without moving")
            )),
            Ended::Moved(_) => None,
        })
        .collect();
    if !failed.is_empty() {
        return Err(Error::Command {
            message: format!(
                "{}; see `kubectl failover history GROUP` for the reason",
                failed.join("; ")
            ),
            code: ExitCode::Conflict,
        });
    }
    Ok(ended)
}

/// [`wait`] without judging the endings: returns how each transition ended (a rolled-back one
/// is not an error here) and tells `observe` every phase change and ending as it is seen.
/// Errors: exit 6 on timeout naming the stuck phases, and the store's.
#[allow(clippy::too_many_arguments)]
pub async fn follow(
    store: &dyn CoordinationStore,
    operator_id: &str,
    awaited: &[Awaited],
    timeout: Duration,
    out: &mut dyn Write,
    live: bool,
    palette: Palette,
    observe: &mut dyn FnMut(Observed),
) -> Result<Vec<Ended>, Error> {
    let start = Instant::now();
    // A direct request is in CONFIG already; a Failover resource's request appears later.
    let mut tracks: Vec<Track> = awaited
        .iter()
        .map(|a| Track {
            seen: a.id.is_some(),
            ..Track::default()
        })
        .collect();
    loop {
        for (i, (a, t)) in awaited.iter().zip(tracks.iter_mut()).enumerate() {
            if t.ended.is_none() {
                poll_one(store, operator_id, a, t, out, live, palette, start).await?;
                if let Some(tr) = t.changed.take() {
                    observe(Observed::Phase(i, tr));
                }
                if let Some(ended) = &t.ended {
                    observe(Observed::Ended(i, ended.clone()));
                }
            }
        }
        if tracks.iter().all(|t| t.ended.is_some()) {
            break;
        }
        if start.elapsed() >= timeout {
            if live {
                write!(out, "\r\x1b[2K")?;
            }
            return Err(timed_out(awaited, &tracks, timeout));
        }
        if live {
            let pending: Vec<String> = awaited
                .iter()
                .zip(&tracks)
                .filter(|(_, t)| t.ended.is_none())
                .map(|(a, t)| {
                    format!(
                        "{} {}",
                        a.group,
                        t.phase.map_or("waiting".to_string(), |p| p.to_string())
                    )
                })
                .collect();
            write!(
                out,
                "\r\x1b[2K{} {}",
                palette.dim(&format!("[{}]", format_age(start.elapsed().as_secs()))),
                pending.join(", ")
            )?;
            out.flush()?;
        }
        tokio::time::sleep(POLL).await;
    }
    if live {
        write!(out, "\r\x1b[2K")?;
    }
    Ok(tracks.into_iter().filter_map(|t| t.ended).collect())
}

#[allow(clippy::too_many_arguments)]
async fn poll_one(
    store: &dyn CoordinationStore,
    operator_id: &str,
    a: &Awaited,
    t: &mut Track,
    out: &mut dyn Write,
    live: bool,
    palette: Palette,
    start: Instant,
) -> Result<(), Error> {
    let Some(snapshot) = store.load_group_with(operator_id, &a.group, false).await? else {
        return Err(Error::GroupNotFound {
            group: a.group.to_string(),
            operator_id: operator_id.to_string(),
            store: store.describe(),
        });
    };
    let config = snapshot.config;
    let clear = if live { "\r\x1b[2K" } else { "" };
    let elapsed = format_age(start.elapsed().as_secs());
    let ours = config
        .transition
        .as_ref()
        .filter(|tr| a.id.as_ref().is_none_or(|id| *id == tr.id) && tr.target == a.target);
    if let Some(tr) = ours {
        t.seen = true;
        if t.phase != Some(tr.phase) {
            t.phase = Some(tr.phase);
            t.phase_since = Some(Instant::now());
            t.changed = Some(tr.clone());
            writeln!(
                out,
                "{clear}{} {}: {}",
                palette.dim(&format!("[{elapsed}]")),
                a.group,
                palette.warn(&tr.phase.to_string())
            )?;
        }
        return Ok(());
    }
    if config.owner_cluster == a.target {
        let status = history_status(store, operator_id, a).await;
        writeln!(
            out,
            "{clear}{} {}: {} is primary{}",
            palette.dim(&format!("[{elapsed}]")),
            a.group,
            a.target,
            status
                .as_deref()
                .map_or(String::new(), |s| format!(" ({})", palette.ok(s)))
        )?;
        t.ended = Some(Ended::Moved(status));
    } else if t.seen && config.transition.is_none() {
        let status = history_status(store, operator_id, a).await;
        writeln!(
            out,
            "{clear}{} {}: {}, {} is still primary",
            palette.dim(&format!("[{elapsed}]")),
            a.group,
            palette.bad(status.as_deref().unwrap_or("ended")),
            config.owner_cluster
        )?;
        t.ended = Some(Ended::NotMoved(status));
    }
    Ok(())
}

/// The history status of the awaited transition (by id, else the newest record to the target).
async fn history_status(
    store: &dyn CoordinationStore,
    operator_id: &str,
    a: &Awaited,
) -> Option<String> {
    let page = store.history(operator_id, &a.group, 10, None).await.ok()?;
    page.records
        .into_iter()
        .find(|r| match &a.id {
            Some(id) => r.failover_name == *id,
            None => r.target_cluster == a.target,
        })
        .map(|r| r.status)
}

fn timed_out(awaited: &[Awaited], tracks: &[Track], timeout: Duration) -> Error {
    let stuck: Vec<String> = awaited
        .iter()
        .zip(tracks)
        .filter(|(_, t)| t.ended.is_none())
        .map(|(a, t)| {
            let since = t
                .phase_since
                .map_or(String::new(), |s| format!(" for {}", format_age(s.elapsed().as_secs())));
            match t.phase {
                None => format!(
                    "{}: the request has not reached DynamoDB yet (is the controller of the context running?)",
                    a.group
                ),
                Some(Phase::Requested) => format!(
                    "{}: stuck in phase REQUESTED{since}: {}'s agent has not taken it up (is it running and can it reach DynamoDB?)",
                    a.group, a.target
                ),
                Some(Phase::SourceDeactivating) => format!(
                    "{}: stuck in phase SOURCE_DEACTIVATING{since}: waiting for {} to stop and acknowledge (if it is down, promote with --force)",
                    a.group, a.source
                ),
                Some(Phase::TargetActivating) => format!(
                    "{}: stuck in phase TARGET_ACTIVATING{since}: {} is starting the workloads (check their readiness there)",
                    a.group, a.target
                ),
            }
        })
        .collect();
    Error::Command {
        message: format!(
            "not completed within {}s: {}; the agents keep going (a transition without progress is ended after timeouts.transitoryState): follow it with `kubectl failover status GROUP`",
            timeout.as_secs(),
            stuck.join("; ")
        ),
        code: ExitCode::Timeout,
    }
}
