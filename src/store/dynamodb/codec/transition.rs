//! The transition attributes this tool adds to CONFIG (`epoch`, `transition`, the settings a
//! change superseded, the specs each cluster applied) and to `CLUSTER#` records
//! (`transitionAck`, `fenced`), both directions.

use super::super::attrs::Reader;
use super::super::schema::{cluster as cl, transition as tr};
use super::{s, time_text};
use crate::store::{FailoverMode, Phase, SafetySettings, StoreError, Transition, TransitionAck};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::BTreeMap;
use std::collections::HashMap;

/// The `transition` map.
pub fn transition_value(t: &Transition) -> AttributeValue {
    let mut m = HashMap::from([
        (tr::ID.to_string(), s(&t.id)),
        (tr::SOURCE.to_string(), s(&t.source)),
        (tr::TARGET.to_string(), s(&t.target)),
        (tr::MODE.to_string(), s(t.mode.as_str())),
        (tr::FORCE.to_string(), AttributeValue::Bool(t.force)),
        (tr::AUTOMATIC.to_string(), AttributeValue::Bool(t.automatic)),
        (tr::REASON.to_string(), s(&t.reason)),
        (tr::INITIATOR.to_string(), s(&t.initiator)),
        (tr::PHASE.to_string(), s(t.phase.as_str())),
        (tr::REQUESTED_AT.to_string(), s(time_text(t.requested_at))),
    ]);
    if let Some(at) = t.source_stopped_at {
        m.insert(tr::SOURCE_STOPPED_AT.to_string(), s(time_text(at)));
    }
    // Written only when true, so the map of every other transition stays as it always was.
    if t.drill {
        m.insert(tr::DRILL.to_string(), AttributeValue::Bool(true));
    }
    AttributeValue::M(m)
}

/// Decodes the `transition` map of a CONFIG item, if present.
pub fn decode_transition(r: &Reader) -> Result<Option<Transition>, StoreError> {
    let Some(t) = r.opt_map(tr::TRANSITION)? else {
        return Ok(None);
    };
    let mode = t.req_str(tr::MODE)?;
    let mode: FailoverMode = mode.parse().map_err(|()| {
        t.malformed(
            tr::MODE,
            format!("{mode:?} is not one of {:?}", FailoverMode::ALLOWED),
        )
    })?;
    let phase = t.req_str(tr::PHASE)?;
    let phase: Phase = phase.parse().map_err(|()| {
        t.malformed(
            tr::PHASE,
            format!("{phase:?} is not one of {:?}", Phase::ALLOWED),
        )
    })?;
    Ok(Some(Transition {
        id: t.req_str(tr::ID)?.to_string(),
        source: t.req_str(tr::SOURCE)?.to_string(),
        target: t.req_str(tr::TARGET)?.to_string(),
        mode,
        force: t.opt_bool(tr::FORCE)?.unwrap_or(false),
        automatic: t.opt_bool(tr::AUTOMATIC)?.unwrap_or(false),
        reason: t.opt_text(tr::REASON)?.unwrap_or_default(),
        initiator: t.opt_text(tr::INITIATOR)?.unwrap_or_default(),
        phase,
        requested_at: t.req_time(tr::REQUESTED_AT)?,
        source_stopped_at: t.opt_time(tr::SOURCE_STOPPED_AT)?,
        drill: t.opt_bool(tr::DRILL)?.unwrap_or(false),
    }))
}

/// The `transitionAck` map.
pub fn ack_value(a: &TransitionAck) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        (cl::ACK_ID.to_string(), s(&a.id)),
        (cl::ACK_AT.to_string(), s(time_text(a.at))),
    ]))
}

/// Decodes the `transitionAck` map of a `CLUSTER#` item, if present.
pub fn decode_ack(r: &Reader) -> Result<Option<TransitionAck>, StoreError> {
    let Some(a) = r.opt_map(cl::TRANSITION_ACK)? else {
        return Ok(None);
    };
    Ok(Some(TransitionAck {
        id: a.req_str(cl::ACK_ID)?.to_string(),
        at: a.req_time(cl::ACK_AT)?,
    }))
}

/// The `supersededSettings` map.
pub fn superseded_value(p: &SafetySettings) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        (
            tr::SUPERSEDED_INTERVAL.to_string(),
            s(p.heartbeat_interval.to_string()),
        ),
        (
            tr::SUPERSEDED_HEARTBEAT.to_string(),
            s(p.heartbeat.to_string()),
        ),
        (tr::DEACTIVATION.to_string(), s(p.deactivation.to_string())),
        (
            tr::SELF_FENCING.to_string(),
            AttributeValue::Bool(p.self_fencing),
        ),
    ]))
}

/// Decodes the `supersededSettings` map of a CONFIG item, if present. Every key is required:
/// a partial record would understate the window a cut-off owner may still serve in.
pub fn decode_superseded(r: &Reader) -> Result<Option<SafetySettings>, StoreError> {
    let Some(m) = r.opt_map(tr::SUPERSEDED)? else {
        return Ok(None);
    };
    let duration = |key: &str| {
        m.opt_duration(key)?
            .ok_or_else(|| m.malformed(key, "it is missing"))
    };
    Ok(Some(SafetySettings {
        heartbeat_interval: duration(tr::SUPERSEDED_INTERVAL)?,
        heartbeat: duration(tr::SUPERSEDED_HEARTBEAT)?,
        deactivation: duration(tr::DEACTIVATION)?,
        self_fencing: m
            .opt_bool(tr::SELF_FENCING)?
            .ok_or_else(|| m.malformed(tr::SELF_FENCING, "it is missing"))?,
    }))
}

/// The `appliedSpecs` map (absent when empty).
pub fn applied_specs_value(specs: &BTreeMap<String, String>) -> Option<AttributeValue> {
    (!specs.is_empty())
        .then(|| AttributeValue::M(specs.iter().map(|(k, v)| (k.clone(), s(v))).collect()))
}
