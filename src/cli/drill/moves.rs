//! The drill's moves: request a planned failover of every group (marked as a drill), follow
//! it with promote's follow loop while keeping the timeline it sees, hold, fail back the same
//! way, and obey Ctrl-C as `ops::drill::interrupt` rules. Progress goes to stderr.

use super::signals::{Flags, Interrupts};
use crate::cli::color::Palette;
use crate::cli::progress::{self, Awaited, Ended, Observed};
use crate::clock::Clock;
use crate::error::{Error, ExitCode};
use crate::ops::drill::{
    DrillPlan, DrillReport, GroupPlan, Leg, MoveEnd, MoveFacts, MoveReport, OnInterrupt, Stage,
    Timeline, drill_id, format_secs, left_state, on_interrupt,
};
use crate::ops::promote::{PromoteOutcome, PromoteRequest, request_promotion_marked};
use crate::store::{CoordinationStore, GroupId, HistoryRecord};
use std::io::Write;
use std::time::{Duration, Instant};

/// What every move needs.
pub struct Ctx<'a> {
    /// The table.
    pub store: &'a dyn CoordinationStore,
    /// Our clock (transition ids, request times).
    pub clock: &'a dyn Clock,
    /// The operator whose groups these are.
    pub operator_id: &'a str,
    /// Who asks, for history.
    pub initiator: &'a str,
    /// Why, for history.
    pub reason: &'a str,
    /// Colours of stderr.
    pub palette: Palette,
    /// stderr is a terminal: the follow loop keeps a live line there.
    pub live: bool,
}

impl Ctx<'_> {
    /// One line on stderr, clearing the follow loop's live line first.
    pub(super) fn say(&self, text: &str) -> Result<(), Error> {
        let clear = if self.live { "\r\x1b[2K" } else { "" };
        writeln!(std::io::stderr(), "{clear}{text}")?;
        Ok(())
    }
}

/// Runs the drill's moves into `report`: out, hold, back. Returns early (with the groups'
/// state in `report.left`) when Ctrl-C asks it to stop.
pub async fn execute(
    ctx: &Ctx<'_>,
    report: &mut DrillReport,
    interrupts: &mut Interrupts,
) -> Result<(), Error> {
    let plan = report.plan.clone();
    let mut flags = Flags::default();
    if let Some(n) = interrupts.pending() {
        flags.take(on_interrupt(Stage::BeforeFirstMove, n), ctx, &plan.to)?;
        report.interrupted = flags.notes.pop();
        return Ok(());
    }
    let everyone: Vec<&GroupPlan> = plan.groups.iter().collect();
    let out = leg(ctx, &plan, &everyone, Leg::Out, interrupts, &mut flags).await?;
    let moved: Vec<&GroupPlan> = plan
        .groups
        .iter()
        .filter(|g| {
            out.iter()
                .any(|m| m.group == g.group && m.result == MoveEnd::Moved)
        })
        .collect();
    report.moves.extend(out);
    // Nothing to hold when no group made it to the target.
    if !flags.stopped && !moved.is_empty() {
        report.held = Some(hold(ctx, &plan, interrupts, &mut flags).await?);
    }
    for g in plan.groups.iter().filter(|g| !moved.contains(g)) {
        let why = if flags.stopped {
            "the drill was stopped before failing back"
        } else {
            "the move out did not end with the group on the target: nothing to fail back"
        };
        report.moves.push(MoveReport::new(MoveFacts {
            plan: g,
            leg: Leg::Back,
            source: &plan.to,
            target: &g.from,
            id: None,
            end: MoveEnd::Skipped(why.to_string()),
            timeline: &Timeline::default(),
            history: None,
        }));
    }
    if !flags.stopped && !moved.is_empty() {
        ctx.say(&format!("failing back: {}", plan.route()))?;
        let back = leg(ctx, &plan, &moved, Leg::Back, interrupts, &mut flags).await?;
        report.moves.extend(back);
    } else if flags.stopped {
        for g in &moved {
            report.moves.push(MoveReport::new(MoveFacts {
                plan: g,
                leg: Leg::Back,
                source: &plan.to,
                target: &g.from,
                id: None,
                end: MoveEnd::Skipped("the drill was stopped before failing back".into()),
                timeline: &Timeline::default(),
                history: None,
            }));
        }
    }
    // Out moves first, then back, each in the plan's order (skipped ones were added early).
    let position = |group: &str| plan.groups.iter().position(|g| g.group == group);
    report
        .moves
        .sort_by_key(|m| (m.leg == Leg::Back, position(&m.group)));
    if !flags.notes.is_empty() {
        report.interrupted = Some(flags.notes.join("; "));
    }
    // Anything but a clean run: say exactly where every group is and how to finish.
    if flags.stopped || report.moves.iter().any(|m| m.result != MoveEnd::Moved) {
        for g in &plan.groups {
            let line = where_left(ctx, g).await;
            ctx.say(&line)?;
            report.left.push(line);
        }
    }
    Ok(())
}

/// One group's state as read now.
async fn where_left(ctx: &Ctx<'_>, g: &GroupPlan) -> String {
    let Ok(id) = g.group.parse::<GroupId>() else {
        return format!("{}: not a group name", g.group);
    };
    match ctx.store.load_group_with(ctx.operator_id, &id, false).await {
        Ok(Some(s)) => left_state(
            &id,
            &g.from,
            &s.config.owner_cluster,
            s.config.transition.as_ref(),
        ),
        Ok(None) => format!("{id}: its CONFIG record is gone (deleted while the drill ran?)"),
        Err(e) => {
            format!("{id}: could not be read ({e}); check it with `kubectl failover status {id}`")
        }
    }
}

/// Holds for the plan's hold unless Ctrl-C came; returns how long it held.
async fn hold(
    ctx: &Ctx<'_>,
    plan: &DrillPlan,
    interrupts: &mut Interrupts,
    flags: &mut Flags,
) -> Result<Duration, Error> {
    if plan.hold.is_zero() || flags.fail_back_early {
        return Ok(Duration::ZERO);
    }
    let start = Instant::now();
    ctx.say(&format!(
        "holding on {} for {} (Ctrl-C fails back now)",
        plan.to,
        format_secs(plan.hold.as_secs_f64())
    ))?;
    tokio::select! {
        () = tokio::time::sleep(plan.hold) => {}
        n = interrupts.next() => flags.take(on_interrupt(Stage::Hold, n), ctx, &plan.to)?,
    }
    Ok(start.elapsed())
}

/// One group's move while it is being requested and followed.
struct Move<'p> {
    plan: &'p GroupPlan,
    source: &'p str,
    target: &'p str,
    id: Option<String>,
    end: Option<MoveEnd>,
}

/// Requests and follows one leg for `groups`; one report per group.
async fn leg(
    ctx: &Ctx<'_>,
    plan: &DrillPlan,
    groups: &[&GroupPlan],
    leg: Leg,
    interrupts: &mut Interrupts,
    flags: &mut Flags,
) -> Result<Vec<MoveReport>, Error> {
    let stage = match leg {
        Leg::Out => Stage::FirstMove,
        Leg::Back => Stage::FailBack,
    };
    let start = Instant::now();
    let mut moves = Vec::new();
    let mut awaited = Vec::new();
    for g in groups {
        let (source, target) = match leg {
            Leg::Out => (g.from.as_str(), plan.to.as_str()),
            Leg::Back => (plan.to.as_str(), g.from.as_str()),
        };
        let mut m = Move {
            plan: g,
            source,
            target,
            id: None,
            end: None,
        };
        // A Ctrl-C between two requests (an evacuation of many groups) stops moving more of
        // them out; the fail back goes on until a second one.
        if let Some(n) = interrupts.pending() {
            flags.take(on_interrupt(stage, n), ctx, &plan.to)?;
        }
        if flags.stopped || (leg == Leg::Out && flags.fail_back_early) {
            m.end = Some(MoveEnd::Skipped(
                "Ctrl-C came before its request: it was not moved".to_string(),
            ));
            moves.push(m);
            continue;
        }
        match request(ctx, g, leg, source, target).await {
            Ok((group, PromoteOutcome::Requested { transition, .. })) => {
                ctx.say(&format!(
                    "{}: requested drill move {source} -> {target} ({})",
                    g.group, transition.id
                ))?;
                m.id = Some(transition.id.clone());
                awaited.push((
                    moves.len(),
                    Awaited {
                        group,
                        target: target.to_string(),
                        source: transition.source,
                        id: Some(transition.id),
                    },
                ));
            }
            // A request that fails leaves the others running: they are followed and reported.
            Ok((_, other)) => m.end = Some(MoveEnd::NotRequested(other.to_string())),
            Err(e) => m.end = Some(MoveEnd::NotRequested(format!("the request failed: {e}"))),
        }
        moves.push(m);
    }
    let (index, awaited): (Vec<usize>, Vec<Awaited>) = awaited.into_iter().unzip();
    let mut ends: Vec<Option<Ended>> = vec![None; awaited.len()];
    let mut timelines = vec![Timeline::default(); awaited.len()];
    let followed = if awaited.is_empty() {
        Some(Ok(Vec::new()))
    } else {
        let mut observe = |o: Observed| {
            let at = start.elapsed();
            match o {
                Observed::Phase(i, t) => {
                    if let Some(tl) = timelines.get_mut(i) {
                        tl.saw(&t, at);
                    }
                }
                Observed::Ended(i, e) => {
                    if let Some(tl) = timelines.get_mut(i) {
                        tl.end(at);
                    }
                    if let Some(slot) = ends.get_mut(i) {
                        *slot = Some(e);
                    }
                }
            }
        };
        let mut sink = std::io::stderr();
        let follow = progress::follow(
            ctx.store,
            ctx.operator_id,
            &awaited,
            plan.timeout,
            &mut sink,
            ctx.live,
            ctx.palette,
            &mut observe,
        );
        tokio::pin!(follow);
        loop {
            tokio::select! {
                r = &mut follow => break Some(r),
                n = interrupts.next() => {
                    let action = on_interrupt(stage, n);
                    flags.take(action, ctx, &plan.to)?;
                    if action == OnInterrupt::StopAndReport {
                        break None;
                    }
                }
            }
        }
    };
    match followed {
        Some(Ok(_)) | None => {}
        // The message names the phase each move is stuck in and whose agent should act.
        Some(Err(e)) if e.exit_code() == ExitCode::Timeout => ctx.say(&e.to_string())?,
        Some(Err(e)) => {
            return Err(Error::Command {
                message: format!(
                    "{e}; the drill stopped following its moves (the agents carry them on): check each group with `kubectl failover status GROUP`"
                ),
                code: e.exit_code(),
            });
        }
    }
    let stopped = flags.stopped;
    let mut reports = Vec::new();
    for (i, m) in moves.into_iter().enumerate() {
        let k = index.iter().position(|&j| j == i);
        let timeline = k
            .and_then(|k| timelines.get(k).cloned())
            .unwrap_or_default();
        let end = m
            .end
            .unwrap_or_else(|| match k.and_then(|k| ends.get(k).cloned().flatten()) {
                Some(Ended::Moved(_)) => MoveEnd::Moved,
                Some(Ended::NotMoved(_)) => MoveEnd::NotMoved,
                None if stopped => MoveEnd::Stopped,
                None => MoveEnd::TimedOut,
            });
        let record = match (&m.id, k.is_some()) {
            (Some(id), true) => history_of(ctx, m.plan, id).await,
            _ => None,
        };
        reports.push(MoveReport::new(MoveFacts {
            plan: m.plan,
            leg,
            source: m.source,
            target: m.target,
            id: m.id,
            end,
            timeline: &timeline,
            history: record.as_ref(),
        }));
    }
    Ok(reports)
}

/// Writes one drill move's request.
async fn request(
    ctx: &Ctx<'_>,
    g: &GroupPlan,
    leg: Leg,
    source: &str,
    target: &str,
) -> Result<(GroupId, PromoteOutcome), Error> {
    let group: GroupId = g
        .group
        .parse()
        .map_err(|e: crate::store::InvalidName| Error::Usage(e.to_string()))?;
    let what = match leg {
        Leg::Out => "rehearsal move",
        Leg::Back => "fail back",
    };
    let reason = format!("{}: {what} {source} -> {target}", ctx.reason);
    let mut request = PromoteRequest::to(target, ctx.initiator, &reason);
    request.id = Some(drill_id(target, ctx.clock));
    let outcome = request_promotion_marked(
        ctx.store,
        ctx.clock,
        ctx.operator_id,
        &group,
        &request,
        true,
    )
    .await?;
    Ok((group, outcome))
}

/// The HISTORY record of a move, when it can be found among the group's newest.
async fn history_of(ctx: &Ctx<'_>, g: &GroupPlan, id: &str) -> Option<HistoryRecord> {
    let group: GroupId = g.group.parse().ok()?;
    let page = ctx
        .store
        .history(ctx.operator_id, &group, 20, None)
        .await
        .ok()?;
    page.records.into_iter().find(|r| r.failover_name == id)
}
