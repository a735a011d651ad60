//! Changing a group's settings while it runs: a cluster brings an edited FailoverGroup into
//! CONFIG (`sync_spec`), and the owner acknowledges changed safety settings (`acknowledge`).
//!
//! Why the acknowledgement: an owner cut off from the table keeps serving for the window of the
//! settings it last read. If `timeouts.heartbeat` were lowered meanwhile, the others would take
//! over after the new, shorter silence while it still serves. So a change keeps the settings it
//! replaced in `supersededSettings`, every takeover waits for the longer of both windows
//! (`Timings::takeover_silence`), and only once the owner has read the change (it clears the
//! record in a compare-and-set) do the new settings alone count. An owner that never reads it is
//! silent, and is taken over after the longer window, which covers both.

use super::decision::Intent;
use crate::store::{GroupConfig, SafetySettings};
use chrono::{DateTime, Utc};

/// What a cluster's FailoverGroup spec means for CONFIG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecSync {
    /// CONFIG already records this spec as applied by this cluster: nothing to write.
    InSync,
    /// Write this CONFIG: it records the spec as seen (the spec is CONFIG's already, or this
    /// cluster sees the group for the first time, when CONFIG wins), or it brings the edited
    /// spec's settings in.
    Write {
        /// The new CONFIG (same version; the compare-and-set adds one).
        config: Box<GroupConfig>,
        /// Whether settings changed (not only the record of the spec).
        changed: bool,
    },
    /// The spec was edited but a transition is in flight: its timings must not change under
    /// it. Try again once it has ended.
    AfterTransition,
}

/// The settings of a spec that CONFIG stores, as one line of text: what `appliedSpecs`
/// records per cluster, so that a change is seen as a change also after a restart.
pub fn spec_text(spec: &GroupConfig) -> String {
    let t = &spec.timeouts;
    format!(
        "heartbeatInterval={} heartbeat={} unhealthyPrimary={} transitoryState={} deactivation={} selfFencing={}",
        spec.heartbeat_interval,
        t.heartbeat,
        t.unhealthy_primary,
        t.transitory_state,
        t.deactivation,
        spec.self_fencing
    )
}

/// Decides what cluster `me`, whose FailoverGroup asks for `spec`'s settings, writes into
/// `table`. A cluster brings its spec in only when the spec changed since it last did (or
/// accepted CONFIG's): clusters whose specs differ do not undo each other, and on first sight
/// the table wins (the first cluster to create the group set it). The caller has validated the
/// spec's timings.
pub fn sync_spec(
    table: &GroupConfig,
    spec: &GroupConfig,
    me: &str,
    wall_now: DateTime<Utc>,
) -> SpecSync {
    let text = spec_text(spec);
    let recorded = table.applied_specs.get(me);
    if recorded == Some(&text) {
        return SpecSync::InSync;
    }
    let mut next = table.clone();
    next.applied_specs.insert(me.to_string(), text.clone());
    next.last_updated = Some(wall_now);
    let first_sight = recorded.is_none();
    if first_sight || spec_text(table) == text {
        return SpecSync::Write {
            config: Box::new(next),
            changed: false,
        };
    }
    if table.transition.is_some() {
        return SpecSync::AfterTransition;
    }
    next.heartbeat_interval = spec.heartbeat_interval;
    next.timeouts = spec.timeouts;
    next.self_fencing = spec.self_fencing;
    next.superseded = superseded(table, &next.safety());
    SpecSync::Write {
        config: Box::new(next),
        changed: true,
    }
}

/// What `supersededSettings` must hold once `table`'s settings become `new`: nothing when the
/// safety settings stay the same (beyond what is pending already), else the settings an owner
/// that has not read the change may still run with. With an earlier change still
/// unacknowledged the owner runs with either of two, so the record keeps the longer takeover
/// silence and fencing only if both fence.
fn superseded(table: &GroupConfig, new: &SafetySettings) -> Option<SafetySettings> {
    let current = table.safety();
    if current == *new {
        return table.superseded;
    }
    let Some(pending) = table.superseded else {
        return Some(current);
    };
    let longer = if pending.takeover_silence() >= current.takeover_silence() {
        pending
    } else {
        current
    };
    Some(SafetySettings {
        self_fencing: pending.self_fencing && current.self_fencing,
        ..longer
    })
}

/// The owner's acknowledgement of changed safety settings: CONFIG without
/// `supersededSettings`, written by the owner once it has read the change and serves under it
/// (`fresh`: its heartbeats are current, so it is not fenced). Not during a transition, whose
/// guarded writes it would only make retry.
pub(crate) fn acknowledge(
    cfg: &GroupConfig,
    me: &str,
    fresh: bool,
    wall_now: DateTime<Utc>,
) -> Option<Intent> {
    if cfg.superseded.is_none() || cfg.owner_cluster != me || !fresh || cfg.transition.is_some() {
        return None;
    }
    let mut next = cfg.clone();
    next.superseded = None;
    next.last_updated = Some(wall_now);
    Some(Intent::AcknowledgeSettings {
        expected_version: cfg.version,
        config: next,
    })
}
