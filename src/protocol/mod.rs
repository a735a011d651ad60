//! The failover state machine, pure: no I/O, no clock reads, no randomness. An agent feeds it
//! what it read and observed, and gets back the role for its cluster and the conditional writes
//! to attempt. `docs/protocol.md` is the specification and the safety argument.
//!
//! How an agent uses it, per group, every `heartbeatInterval`:
//!
//! 1. Write its heartbeat (`CLUSTER#` record with the previous decision's [`Report`] and the
//!    next `heartbeatSeq`, which must never repeat a value, also across restarts: continue from
//!    the own record or seed from wall-clock milliseconds); on success remember the monotonic
//!    time the write was SENT ([`HeartbeatLog`] if heartbeats run in their own task).
//! 2. Read the group (`load_group_with(.., include_lock = previous.read_lock_next)`). On a
//!    failed read use [`Decision::hold`] on the previous decision and skip to 5.
//! 3. [`Observations::observe`] the snapshot, then [`step`] with [`LocalFacts`] (`now` read
//!    after the read returned; `heartbeat_sent_at` from 1 — see its doc for why the order
//!    matters).
//! 4. Execute [`Decision::writes`] in order; stop at the first lost race (`Conflict`, `Held`,
//!    `NotHeld`, `Cancelled`). Remember the lock an `AcquireLock`/`TakeOverLock` returns;
//!    forget it on `NotHeld`, on a `Cancelled` flip with `lock_lost`, after `ReleaseLock`, and
//!    when [`Decision::forget_lock`] says so. A store error (not a lost race) also stops the
//!    list; nothing else is needed, the next tick re-reads and decides again. (One outcome needs
//!    a person: a `Finish` cancelled only for `history_exists`, see docs/protocol.md, Decisions.)
//! 5. Converge the cluster: run [`Role::actions`] in order with [`Decision::epoch`], starting no
//!    activation step at or after [`Decision::serve_until`]; record [`LocalProgress`]. Log
//!    [`Decision::notes`] (they repeat every tick while a situation lasts: log changes). When a
//!    decision's report carries a new acknowledgement, ticking again early saves an interval.
//!
//! Glossary:
//! - *owner*: `CONFIG.ownerCluster`, the cluster CONFIG says serves the group.
//! - *transition*: a move of ownership in flight, stored in CONFIG; its *target* drives it.
//! - *flip*: the guarded write that moves ownership (lock token + CONFIG version checked).
//! - *epoch*: a number that only grows, carried by every local action; a decision uses the
//!   CONFIG version it read, and the flip records its own version as `CONFIG.epoch`.
//! - *observed*: seen by this agent, timed on its own monotonic clock.
//! - *fenced*: the owner stops serving because its heartbeats are failing; others may take
//!   over only after observing its silence for longer than it may keep serving.
//! - *stuck*: a transition whose CONFIG version did not change for `timeouts.transitoryState`.
//! - *serving*: network on; at most one cluster serves a CONSISTENCY group.
//!
//! Files: [`policy`] (local settings, validated timings), [`observe`] (observations),
//! [`facts`] (local facts), [`decision`] (role, intents, notes), [`refusal`], [`request`]
//! (asking for a transition), and the private parts of `step`: `role` (role and fencing),
//! `lock` (getting the lock), `drive` (the target's phases), `end` (ending, stuck rule),
//! `detect` (automatic failover), and [`settings`] (changing settings while the group runs).

pub mod decision;
mod detect;
mod drive;
mod end;
pub mod facts;
mod lock;
pub mod observe;
pub mod policy;
pub mod refusal;
pub mod request;
mod role;
pub mod settings;
mod step;

pub use decision::{Blocked, Decision, FailoverCause, Intent, Note, Report, Role, WaitFor};
pub use facts::{HeartbeatLog, LocalFacts, LocalProgress};
pub use observe::{Beat, Observations};
pub use policy::{GroupPolicy, InvalidTimings, Timings, validate_timeouts};
pub use refusal::Refusal;
pub use request::{TransitionRequest, request_transition};
pub use settings::{SpecSync, spec_text, sync_spec};
pub use step::step;

#[cfg(test)]
mod tests;
