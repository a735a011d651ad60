//! The safety settings of a group: the values the fencing arithmetic depends on, as one type
//! (what a settings change supersedes until the owner has read it).

use crate::duration::GoDuration;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What the fencing arithmetic depends on: an owner cut off from the table serves for
/// `heartbeat - 2 x heartbeatInterval` after its last heartbeat (if it fences at all) and then
/// needs `deactivation` to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SafetySettings {
    /// `heartbeatInterval`.
    pub heartbeat_interval: GoDuration,
    /// `timeouts.heartbeat`.
    pub heartbeat: GoDuration,
    /// `timeouts.deactivation`.
    pub deactivation: GoDuration,
    /// `selfFencing`.
    pub self_fencing: bool,
}

impl SafetySettings {
    /// The silence after which others may take over from an owner running with these
    /// settings: `heartbeat + deactivation`.
    pub fn takeover_silence(&self) -> Duration {
        self.heartbeat.get().saturating_add(self.deactivation.get())
    }
}
