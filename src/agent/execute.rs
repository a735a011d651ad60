//! Carrying out a decision's store writes in order: stop at the first lost race (someone else
//! moved first; the next tick re-reads and decides again) or store error, and keep the agent's
//! memory of its lock as the protocol asks (remember what an acquisition returns, forget it on
//! `NotHeld`, on a flip cancelled with `lock_lost`, and after a release).

use super::changes::Changes;
use super::events::AgentEventKind as Kind;
use super::report::{WriteOutcome, WriteReport};
use crate::protocol::Intent;
use crate::store::{
    CasOutcome, CoordinationStore, FlipConflict, FlipOutcome, GroupId, LeaseOutcome, Lock,
    LockOutcome, StoreError,
};

/// What executing a decision's writes needs from the agent.
pub(super) struct Writer<'a> {
    pub(super) store: &'a dyn CoordinationStore,
    pub(super) operator_id: &'a str,
    pub(super) group: &'a GroupId,
    pub(super) lock: &'a mut Option<Lock>,
    pub(super) changes: &'a mut Changes,
    pub(super) events: &'a mut Vec<Kind>,
}

impl Writer<'_> {
    /// Executes `writes` in order; returns one report per write attempted and the store error
    /// that stopped the list, if any.
    pub(super) async fn run(&mut self, writes: &[Intent]) -> (Vec<WriteReport>, Option<String>) {
        let mut reports = Vec::new();
        for intent in writes {
            let outcome = match self.one(intent).await {
                Ok(outcome) => outcome,
                Err(e) => {
                    let message = e.to_string();
                    reports.push(WriteReport {
                        intent: intent.name(),
                        outcome: WriteOutcome::Failed(message.clone()),
                    });
                    return (reports, Some(message));
                }
            };
            let stop = !matches!(outcome, WriteOutcome::Applied);
            reports.push(WriteReport {
                intent: intent.name(),
                outcome,
            });
            if stop {
                break;
            }
        }
        (reports, None)
    }

    async fn one(&mut self, intent: &Intent) -> Result<WriteOutcome, StoreError> {
        let (store, op, group) = (self.store, self.operator_id, self.group);
        Ok(match intent {
            Intent::StartTransition {
                expected_version,
                config,
            }
            | Intent::AcknowledgeSettings {
                expected_version,
                config,
            } => match store.update_config(*expected_version, config).await? {
                CasOutcome::Applied(written) => {
                    self.changes.config(&written, true, self.events);
                    WriteOutcome::Applied
                }
                CasOutcome::Conflict { current } => WriteOutcome::LostRace(format!(
                    "CONFIG changed since version {expected_version} was read (now {})",
                    current.map_or("gone".to_string(), |c| format!("version {}", c.version))
                )),
            },
            Intent::AcquireLock(request) => {
                let outcome = store.acquire_lock(op, group, request).await?;
                self.locked(outcome, false)
            }
            Intent::TakeOverLock { observed, request } => {
                let outcome = store.take_over_lock(op, group, observed, request).await?;
                self.locked(outcome, true)
            }
            Intent::RenewLock {
                lease_token,
                lease,
                now,
            } => match store
                .renew_lock(op, group, lease_token, *lease, *now)
                .await?
            {
                LeaseOutcome::Done(renewed) => {
                    if let Some(l) = renewed {
                        *self.lock = Some(l);
                    }
                    WriteOutcome::Applied
                }
                LeaseOutcome::NotHeld { current } => {
                    self.lost_lock();
                    WriteOutcome::LostRace(format!(
                        "the lock is no longer ours (now {})",
                        holder(current.as_ref())
                    ))
                }
            },
            Intent::AdvancePhase(request) | Intent::Flip(request) | Intent::Finish(request) => {
                let finish = matches!(intent, Intent::Finish(_));
                if finish {
                    // Remembered before it is sent: the tick's bound on its writes may drop
                    // this call with no answer at all, and the write may still have landed.
                    // Its end is then announced once a read shows that it did.
                    self.changes.end_unconfirmed(request);
                }
                let result = store.flip_ownership(request).await;
                if finish && matches!(result, Err(StoreError::NotLeading { .. })) {
                    // Refused before it was sent: it cannot have landed.
                    self.changes.end_refused();
                }
                match result? {
                    FlipOutcome::Committed(written) => {
                        if finish {
                            self.changes.ended(request, self.events);
                        } else {
                            self.changes.config(&written, false, self.events);
                        }
                        WriteOutcome::Applied
                    }
                    FlipOutcome::Cancelled(conflict) => {
                        if finish {
                            self.changes.end_refused();
                        }
                        if conflict.lock_lost {
                            self.lost_lock();
                        }
                        WriteOutcome::LostRace(cancelled(intent, conflict))
                    }
                }
            }
            Intent::ReleaseLock { lease_token } => {
                // Forgotten whatever the outcome: a release that did not reach the table leaves
                // a lock with nothing to drive, which the next driver takes over after a lease.
                let had = self.lock.take().is_some();
                match store.release_lock(op, group, lease_token).await? {
                    LeaseOutcome::Done(_) => {
                        if had {
                            self.events.push(Kind::LockReleased);
                        }
                        WriteOutcome::Applied
                    }
                    LeaseOutcome::NotHeld { .. } => WriteOutcome::Applied,
                }
            }
        })
    }

    fn locked(&mut self, outcome: LockOutcome, took_over: bool) -> WriteOutcome {
        match outcome {
            LockOutcome::Acquired(lock) => {
                *self.lock = Some(lock);
                self.events.push(Kind::LockAcquired { took_over });
                WriteOutcome::Applied
            }
            LockOutcome::Held(current) => {
                WriteOutcome::LostRace(format!("the lock is {}", holder(Some(&current))))
            }
        }
    }

    fn lost_lock(&mut self) {
        if self.lock.take().is_some() {
            self.events.push(Kind::LockLost);
        }
    }
}

fn holder(lock: Option<&Lock>) -> String {
    lock.map_or("free".to_string(), |l| format!("held by {}", l.locked_by))
}

fn cancelled(intent: &Intent, c: FlipConflict) -> String {
    let mut why = Vec::new();
    if c.version_changed {
        why.push("CONFIG changed");
    }
    if c.lock_lost {
        why.push("the lock is no longer ours");
    }
    if c.history_exists {
        why.push("a history record with the same start time exists");
    }
    let only_history = c.history_exists && !c.version_changed && !c.lock_lost;
    if matches!(intent, Intent::Finish(_)) && only_history {
        // The one outcome no re-read fixes (docs/protocol.md, Decisions 16): say so loudly.
        tracing::error!(
            "the transition cannot end: its history sort key is taken by another record; a person must end it by hand"
        );
    }
    format!("{} cancelled: {}", intent.name(), why.join(", "))
}
