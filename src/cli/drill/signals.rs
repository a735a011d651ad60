//! Ctrl-C during a drill: presses are counted from the moment the drill starts listening (after
//! the question), and each one is turned into what `ops::drill::interrupt` rules for the stage.

use super::moves::Ctx;
use crate::error::Error;
use crate::ops::drill::OnInterrupt;
use crate::ops::drill::interrupt::announce;
use tokio::sync::mpsc;

/// Ctrl-C presses, counted from the moment the drill started listening.
pub struct Interrupts {
    rx: mpsc::UnboundedReceiver<()>,
    count: usize,
}

impl Interrupts {
    /// Starts listening: from now on Ctrl-C no longer ends the process, the drill decides.
    pub async fn listen() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                if tx.send(()).is_err() {
                    break;
                }
            }
        });
        // Let the listener register its handler before the first write.
        tokio::task::yield_now().await;
        Interrupts { rx, count: 0 }
    }

    /// The press count, if a press arrived since the last look.
    pub(super) fn pending(&mut self) -> Option<usize> {
        self.rx.try_recv().ok().map(|()| {
            self.count += 1;
            self.count
        })
    }

    /// Waits for the next press; returns the count so far. Never returns when no listener
    /// could be set up (Ctrl-C then ends the process as usual).
    pub(super) async fn next(&mut self) -> usize {
        match self.rx.recv().await {
            Some(()) => {
                self.count += 1;
                self.count
            }
            None => std::future::pending().await,
        }
    }
}

/// What Ctrl-C changed, across the stages.
#[derive(Debug, Default)]
pub(super) struct Flags {
    /// Fail back without (the rest of) the hold.
    pub(super) fail_back_early: bool,
    /// Stop following and report where the groups are.
    pub(super) stopped: bool,
    /// What each press did, for the report.
    pub(super) notes: Vec<String>,
}

impl Flags {
    /// Says what `action` does and remembers it.
    pub(super) fn take(
        &mut self,
        action: OnInterrupt,
        ctx: &Ctx<'_>,
        to: &str,
    ) -> Result<(), Error> {
        ctx.say(&announce(action, to))?;
        let note = match action {
            OnInterrupt::StopNothingDone => "Ctrl-C before the first move: nothing was written",
            OnInterrupt::FailBackAfterMove => {
                self.fail_back_early = true;
                "Ctrl-C during the move out: it was followed to its end, then failed back without the hold"
            }
            OnInterrupt::FailBackNow => {
                self.fail_back_early = true;
                "Ctrl-C during the hold: the hold was cut short and the groups failed back"
            }
            OnInterrupt::KeepFailingBack => {
                "Ctrl-C during the fail back: it was followed to its end"
            }
            OnInterrupt::StopAndReport => {
                self.stopped = true;
                "a second Ctrl-C: the drill stopped following; the groups were left as listed"
            }
        };
        self.notes.push(note.to_string());
        Ok(())
    }
}
