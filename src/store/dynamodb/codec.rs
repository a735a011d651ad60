//! Records <-> DynamoDB items, both directions, following `schema`. Decoding accepts what other
//! tools write (extra attributes, missing optional ones, nanosecond timestamps, "3.0" numbers) and
//! fails with `Malformed` naming the item and attribute otherwise; it never panics.

mod transition;

use super::attrs::{Item, Reader};
use super::schema::{self, cluster as cl, common, config as cf, history as hi, lock as lk};
use crate::store::{
    ClusterState, ClusterStatus, ComponentStatus, FailoverRef, GroupConfig, GroupId, Health,
    HistoryRecord, Lock, StoreError, Timeouts, defaults, history_timestamp,
};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use std::collections::{BTreeMap, HashMap};

/// Attributes to write: `Some` is set, `None` is removed (an optional field that is unset).
pub type Attrs = Vec<(&'static str, Option<AttributeValue>)>;

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// How every timestamp is written: RFC 3339, UTC, milliseconds.
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A timestamp as it reads back after being stored (milliseconds), so that what a write returns
/// equals what a later read returns.
pub fn as_stored(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(3)
}

/// The primary key of one item.
pub fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([
        (schema::PK.to_string(), s(pk)),
        (schema::SK.to_string(), s(sk)),
    ])
}

/// A full item: key plus the attributes that are set.
pub fn item(pk: String, sk: impl Into<String>, attrs: Attrs) -> Item {
    let mut item = key(pk, sk);
    item.extend(
        attrs
            .into_iter()
            .filter_map(|(name, v)| v.map(|v| (name.to_string(), v))),
    );
    item
}

fn identity(operator_id: &str, group: &GroupId) -> Attrs {
    vec![
        (common::OPERATOR_ID, Some(s(operator_id))),
        (common::GROUP_NAMESPACE, Some(s(&group.namespace))),
        (common::GROUP_NAME, Some(s(&group.name))),
    ]
}

/// Every CONFIG attribute this tool owns except `version` (whose write is conditional), with the
/// GSI1 keys that list the group under its operator.
pub fn config_attrs(c: &GroupConfig) -> Attrs {
    let mut a = identity(&c.operator_id, &c.group);
    let timeouts = HashMap::from([
        (
            cf::TRANSITORY_STATE.to_string(),
            s(c.timeouts.transitory_state.to_string()),
        ),
        (
            cf::UNHEALTHY_PRIMARY.to_string(),
            s(c.timeouts.unhealthy_primary.to_string()),
        ),
        (
            cf::HEARTBEAT.to_string(),
            s(c.timeouts.heartbeat.to_string()),
        ),
    ]);
    let last_failover = c.last_failover.as_ref().map(|f| {
        AttributeValue::M(HashMap::from([
            (cf::FAILOVER_NAME.to_string(), s(&f.name)),
            (cf::FAILOVER_NAMESPACE.to_string(), s(&f.namespace)),
            (
                cf::FAILOVER_TIMESTAMP.to_string(),
                s(time_text(f.timestamp)),
            ),
        ]))
    });
    a.extend([
        (
            schema::GSI1PK,
            Some(s(schema::gsi1pk_operator(&c.operator_id))),
        ),
        (schema::GSI1SK, Some(s(schema::gsi1sk_group(&c.group)))),
        (cf::OWNER_CLUSTER, Some(s(&c.owner_cluster))),
        (cf::PREVIOUS_OWNER, c.previous_owner.as_deref().map(s)),
        (cf::TIMEOUTS, Some(AttributeValue::M(timeouts))),
        (
            cf::HEARTBEAT_INTERVAL,
            Some(s(c.heartbeat_interval.to_string())),
        ),
        (cf::LAST_UPDATED, c.last_updated.map(|t| s(time_text(t)))),
        (cf::LAST_FAILOVER, last_failover),
        (cf::SUSPENDED, Some(AttributeValue::Bool(c.suspended))),
        (cf::SUSPENSION_REASON, c.suspension_reason.as_deref().map(s)),
        (schema::transition::EPOCH, Some(n(c.epoch))),
        (
            schema::transition::DEACTIVATION,
            Some(s(c.timeouts.deactivation.to_string())),
        ),
        (
            schema::transition::SELF_FENCING,
            Some(AttributeValue::Bool(c.self_fencing)),
        ),
        (
            schema::transition::TRANSITION,
            c.transition.as_ref().map(transition::transition_value),
        ),
        (
            schema::transition::SUPERSEDED,
            c.superseded.as_ref().map(transition::superseded_value),
        ),
        (
            schema::transition::APPLIED_SPECS,
            transition::applied_specs_value(&c.applied_specs),
        ),
    ]);
    a
}

/// The whole CONFIG item, for creating it.
pub fn config_item(c: &GroupConfig) -> Item {
    let mut attrs = config_attrs(c);
    attrs.push((cf::VERSION, Some(n(c.version))));
    item(
        schema::group_pk(&c.operator_id, &c.group),
        schema::SK_CONFIG,
        attrs,
    )
}

/// `version` as written: a number.
pub fn version_value(version: u64) -> AttributeValue {
    n(version)
}

/// The config as it reads back once stored.
pub fn config_as_stored(c: &GroupConfig) -> GroupConfig {
    let mut c = c.clone();
    c.last_updated = c.last_updated.map(as_stored);
    if let Some(f) = &mut c.last_failover {
        f.timestamp = as_stored(f.timestamp);
    }
    if let Some(t) = &mut c.transition {
        t.requested_at = as_stored(t.requested_at);
        t.source_stopped_at = t.source_stopped_at.map(as_stored);
    }
    c
}

/// Operator and group of an item, from its attributes when present (checked against the
/// partition key, which is what every operation addresses) or else from the key.
fn group_of(r: &Reader, item: &Item) -> Result<(String, GroupId), StoreError> {
    let pk = match item.get(schema::PK) {
        Some(AttributeValue::S(pk)) => pk.as_str(),
        _ => return Err(r.malformed(schema::PK, "the partition key is missing")),
    };
    let (operator_id, group) = schema::parse_group_pk(pk)
        .ok_or_else(|| r.malformed(schema::PK, "expected GROUP#{operatorID}#{namespace}#{name}"))?;
    for (attr, from_key) in [
        (common::OPERATOR_ID, &operator_id),
        (common::GROUP_NAMESPACE, &group.namespace),
        (common::GROUP_NAME, &group.name),
    ] {
        if let Some(v) = r.opt_str(attr)?
            && v != from_key
        {
            return Err(r.malformed(attr, format!("it says {v:?} but the key says {from_key:?}")));
        }
    }
    Ok((operator_id, group))
}

fn sort_key<'a>(r: &Reader, item: &'a Item) -> Result<&'a str, StoreError> {
    match item.get(schema::SK) {
        Some(AttributeValue::S(sk)) => Ok(sk.as_str()),
        _ => Err(r.malformed(schema::SK, "the sort key is missing")),
    }
}

/// Decodes a CONFIG item.
pub fn decode_config(table: &str, item: &Item) -> Result<GroupConfig, StoreError> {
    let r = Reader::new(table, item);
    let (operator_id, group) = group_of(&r, item)?;
    let deactivation = r
        .opt_duration(schema::transition::DEACTIVATION)?
        .unwrap_or(defaults::DEACTIVATION.into());
    let timeouts = match r.opt_map(cf::TIMEOUTS)? {
        None => Timeouts {
            deactivation,
            ..Timeouts::default()
        },
        Some(t) => {
            let d = Timeouts::default();
            Timeouts {
                deactivation,
                transitory_state: t
                    .opt_duration(cf::TRANSITORY_STATE)?
                    .unwrap_or(d.transitory_state),
                unhealthy_primary: t
                    .opt_duration(cf::UNHEALTHY_PRIMARY)?
                    .unwrap_or(d.unhealthy_primary),
                heartbeat: t.opt_duration(cf::HEARTBEAT)?.unwrap_or(d.heartbeat),
            }
        }
    };
    let last_failover = match r.opt_map(cf::LAST_FAILOVER)? {
        None => None,
        Some(f) => {
            let name = f.opt_str(cf::FAILOVER_NAME)?.unwrap_or_default();
            match f.opt_time(cf::FAILOVER_TIMESTAMP)? {
                // Go writes a never-set struct as empty strings and a zero time.
                None if name.is_empty() => None,
                None => return Err(f.malformed(cf::FAILOVER_TIMESTAMP, "it is missing")),
                Some(timestamp) => Some(FailoverRef {
                    name: name.to_string(),
                    namespace: f
                        .opt_str(cf::FAILOVER_NAMESPACE)?
                        .unwrap_or_default()
                        .to_string(),
                    timestamp,
                }),
            }
        }
    };
    Ok(GroupConfig {
        operator_id,
        group,
        owner_cluster: r.req_str(cf::OWNER_CLUSTER)?.to_string(),
        previous_owner: r.opt_text(cf::PREVIOUS_OWNER)?,
        version: r.opt_u64(cf::VERSION)?.unwrap_or(0),
        timeouts,
        heartbeat_interval: r
            .opt_duration(cf::HEARTBEAT_INTERVAL)?
            .unwrap_or(defaults::HEARTBEAT_INTERVAL.into()),
        last_updated: r.opt_time(cf::LAST_UPDATED)?,
        last_failover,
        suspended: r.opt_bool(cf::SUSPENDED)?.unwrap_or(false),
        suspension_reason: r.opt_text(cf::SUSPENSION_REASON)?,
        epoch: r.opt_u64(schema::transition::EPOCH)?.unwrap_or(0),
        transition: transition::decode_transition(&r)?,
        self_fencing: r
            .opt_bool(schema::transition::SELF_FENCING)?
            .unwrap_or(true),
        superseded: transition::decode_superseded(&r)?,
        applied_specs: r
            .opt_string_map(schema::transition::APPLIED_SPECS)?
            .unwrap_or_default(),
    })
}

/// Every `CLUSTER#` attribute this tool owns, with the GSI1 keys that list the group under the
/// cluster.
pub fn cluster_attrs(operator_id: &str, group: &GroupId, c: &ClusterStatus) -> Attrs {
    let components: serde_json::Map<String, serde_json::Value> = c
        .components
        .iter()
        .map(|(name, st)| {
            let v = serde_json::json!({ "health": st.health.as_str(), "message": st.message });
            (name.clone(), v)
        })
        .collect();
    let mut a = identity(operator_id, group);
    a.extend([
        (
            schema::GSI1PK,
            Some(s(schema::gsi1pk_cluster(&c.cluster_name))),
        ),
        (schema::GSI1SK, Some(s(schema::gsi1sk_group(group)))),
        (cl::CLUSTER_NAME, Some(s(&c.cluster_name))),
        (cl::HEALTH, Some(s(c.health.as_str()))),
        (cl::STATE, Some(s(c.state.as_str()))),
        (
            cl::LAST_HEARTBEAT,
            c.last_heartbeat.map(|t| s(time_text(t))),
        ),
        (
            cl::COMPONENTS,
            Some(s(serde_json::Value::Object(components).to_string())),
        ),
        (cl::HEARTBEAT_SEQ, c.heartbeat_seq.map(n)),
        (
            cl::TRANSITION_ACK,
            c.ack.as_ref().map(transition::ack_value),
        ),
        // Written only while true, so records of tools that do not know it stay as they were.
        (cl::FENCED, c.fenced.then_some(AttributeValue::Bool(true))),
    ]);
    a
}

/// Decodes a `CLUSTER#` item, with the group it belongs to.
pub fn decode_cluster(table: &str, item: &Item) -> Result<(GroupId, ClusterStatus), StoreError> {
    let r = Reader::new(table, item);
    let (_, group) = group_of(&r, item)?;
    let sk = sort_key(&r, item)?;
    let from_key = sk
        .strip_prefix(schema::SK_CLUSTER_PREFIX)
        .filter(|name| !name.is_empty())
        .ok_or_else(|| r.malformed(schema::SK, "expected CLUSTER#{clusterName}"))?;
    let cluster_name = match r.opt_str(cl::CLUSTER_NAME)? {
        Some(name) if name != from_key => {
            let problem = format!("it says {name:?} but the key says {from_key:?}");
            return Err(r.malformed(cl::CLUSTER_NAME, problem));
        }
        _ => from_key.to_string(),
    };
    let health = r.req_str(cl::HEALTH)?;
    let health: Health = health.parse().map_err(|()| {
        r.malformed(
            cl::HEALTH,
            format!("{health:?} is not one of {:?}", Health::ALLOWED),
        )
    })?;
    let state = r.req_str(cl::STATE)?;
    let state: ClusterState = state.parse().map_err(|()| {
        r.malformed(
            cl::STATE,
            format!("{state:?} is not one of {:?}", ClusterState::ALLOWED),
        )
    })?;
    let components = match r.opt_str(cl::COMPONENTS)? {
        None => BTreeMap::new(),
        Some(json) => {
            serde_json::from_str::<BTreeMap<String, ComponentStatus>>(json).map_err(|e| {
                let want = "a JSON object {name: {health, message}}";
                r.malformed(cl::COMPONENTS, format!("expected {want}: {e}"))
            })?
        }
    };
    let status = ClusterStatus {
        cluster_name,
        health,
        state,
        last_heartbeat: r.opt_time(cl::LAST_HEARTBEAT)?,
        heartbeat_seq: r.opt_u64(cl::HEARTBEAT_SEQ)?,
        components,
        ack: transition::decode_ack(&r)?,
        fenced: r.opt_bool(cl::FENCED)?.unwrap_or(false),
    };
    Ok((group, status))
}

/// The LOCK item.
pub fn lock_item(operator_id: &str, group: &GroupId, l: &Lock) -> Item {
    let mut a = identity(operator_id, group);
    a.extend([
        (lk::LOCKED_BY, Some(s(&l.locked_by))),
        (lk::LOCK_REASON, Some(s(&l.lock_reason))),
        (lk::ACQUIRED_AT, l.acquired_at.map(|t| s(time_text(t)))),
        (lk::EXPIRES_AT, Some(s(time_text(l.expires_at)))),
        (lk::LEASE_TOKEN, Some(s(&l.lease_token))),
    ]);
    item(schema::group_pk(operator_id, group), schema::SK_LOCK, a)
}

/// The lock as it reads back once stored.
pub fn lock_as_stored(l: Lock) -> Lock {
    Lock {
        acquired_at: l.acquired_at.map(as_stored),
        expires_at: as_stored(l.expires_at),
        ..l
    }
}

/// Decodes a LOCK item.
pub fn decode_lock(table: &str, item: &Item) -> Result<Lock, StoreError> {
    let r = Reader::new(table, item);
    Ok(Lock {
        locked_by: r.req_str(lk::LOCKED_BY)?.to_string(),
        lock_reason: r.opt_str(lk::LOCK_REASON)?.unwrap_or_default().to_string(),
        acquired_at: r.opt_time(lk::ACQUIRED_AT)?,
        expires_at: r.req_time(lk::EXPIRES_AT)?,
        lease_token: r.req_str(lk::LEASE_TOKEN)?.to_string(),
    })
}

/// `expiresAt` exactly as stored, for a condition that must match the stored string.
pub fn raw_expires_at(item: &Item) -> Option<&str> {
    match item.get(lk::EXPIRES_AT) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    }
}

/// A `HISTORY#` item; its sort key carries the start time with milliseconds.
pub fn history_item(operator_id: &str, group: &GroupId, h: &HistoryRecord) -> Item {
    let mut a = identity(operator_id, group);
    a.extend([
        (hi::FAILOVER_NAME, Some(s(&h.failover_name))),
        (hi::SOURCE_CLUSTER, Some(s(&h.source_cluster))),
        (hi::TARGET_CLUSTER, Some(s(&h.target_cluster))),
        (hi::START_TIME, Some(s(time_text(h.start_time)))),
        (hi::END_TIME, h.end_time.map(|t| s(time_text(t)))),
        (hi::STATUS, Some(s(&h.status))),
        (hi::REASON, Some(s(&h.reason))),
        (hi::DOWNTIME, h.downtime.map(n)),
        (hi::DURATION, h.duration.map(n)),
        (hi::MODE, h.mode.as_deref().map(s)),
        (hi::AUTOMATIC, h.automatic.map(AttributeValue::Bool)),
        (hi::INITIATOR, h.initiator.as_deref().map(s)),
        // Written only when true: the records of real failovers keep the spec's layout.
        (hi::DRILL, h.drill.then_some(AttributeValue::Bool(true))),
    ]);
    let sk = schema::history_sk(&history_timestamp(h.start_time));
    item(schema::group_pk(operator_id, group), sk, a)
}

/// Decodes a `HISTORY#` item. A missing `startTime` is taken from the sort key.
pub fn decode_history(table: &str, item: &Item) -> Result<HistoryRecord, StoreError> {
    let r = Reader::new(table, item);
    let start_time = match r.opt_time(hi::START_TIME)? {
        Some(t) => t,
        None => sort_key(&r, item)?
            .strip_prefix(schema::SK_HISTORY_PREFIX)
            .and_then(super::attrs::parse_time)
            .ok_or_else(|| r.malformed(hi::START_TIME, "it is missing"))?,
    };
    Ok(HistoryRecord {
        failover_name: r
            .opt_str(hi::FAILOVER_NAME)?
            .unwrap_or_default()
            .to_string(),
        source_cluster: r.req_str(hi::SOURCE_CLUSTER)?.to_string(),
        target_cluster: r.req_str(hi::TARGET_CLUSTER)?.to_string(),
        start_time,
        end_time: r.opt_time(hi::END_TIME)?,
        status: r.req_str(hi::STATUS)?.to_string(),
        reason: r.opt_str(hi::REASON)?.unwrap_or_default().to_string(),
        downtime: r.opt_u64(hi::DOWNTIME)?,
        duration: r.opt_u64(hi::DURATION)?,
        mode: r.opt_text(hi::MODE)?,
        automatic: r.opt_bool(hi::AUTOMATIC)?,
        initiator: r.opt_text(hi::INITIATOR)?,
        drill: r.opt_bool(hi::DRILL)?.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
