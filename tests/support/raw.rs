//! Raw items for the DynamoDB tests: attribute-value shorthands, a store plus a raw SDK client on
//! one fresh table, records exactly as the Go operator writes them, and small record builders.

#![allow(dead_code)]

use super::moto;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use kubectl_failover::store::dynamodb::DynamoStore;
use kubectl_failover::store::*;
use std::collections::HashMap;

/// The operator ID every test uses.
pub const OP: &str = "failover-operator";
/// An item as the SDK takes and returns it.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}
/// A number attribute, as text.
pub fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
/// A map attribute.
pub fn m(pairs: &[(&str, AttributeValue)]) -> AttributeValue {
    AttributeValue::M(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}
/// An item from name/value pairs.
pub fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}
/// Group `shop/{name}`.
pub fn gid(name: &str) -> GroupId {
    GroupId::new("shop", name).unwrap()
}
/// The partition key of group `shop/{name}`, spelled out as the spec says.
pub fn pk(name: &str) -> String {
    format!("GROUP#{OP}#shop#{name}")
}
/// An RFC 3339 text as UTC.
pub fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// A store on a fresh table, and a raw client to write and read items behind its back.
pub struct Fixture {
    /// The store under test.
    pub store: DynamoStore,
    /// A plain SDK client on the same server.
    pub raw: Client,
    /// The table.
    pub table: String,
}

/// A store on a new table with the spec's schema, and a raw client.
pub async fn fixture() -> Fixture {
    let (store, table) = moto::fresh_store_named("kfo-ddb").await;
    Fixture {
        store,
        raw: moto::sdk_client().await,
        table,
    }
}

impl Fixture {
    /// Writes an item as another tool would.
    pub async fn put(&self, item: Item) {
        self.raw
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    /// Reads an item as it is stored (empty when absent).
    pub async fn get(&self, pk: &str, sk: &str) -> Item {
        let key = item(&[("PK", s(pk)), ("SK", s(sk))]);
        let out = self
            .raw
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .send()
            .await;
        out.unwrap().item.unwrap_or_default()
    }
}

/// Records as the Go operator writes them: nanosecond and offset timestamps, Go durations,
/// numbers as "7" / "60.0", "" for unset strings, and attributes this tool does not know.
pub fn go_records(name: &str) -> Vec<Item> {
    let pk = pk(name);
    let ids = |mut v: Vec<(&str, AttributeValue)>| {
        v.extend([
            ("PK", s(&pk)),
            ("operatorID", s(OP)),
            ("groupNamespace", s("shop")),
        ]);
        v.push(("groupName", s(name)));
        item(&v)
    };
    vec![
        ids(vec![
            ("SK", s("CONFIG")),
            ("GSI1PK", s(&format!("OPERATOR#{OP}"))),
            ("GSI1SK", s(&format!("GROUP#shop#{name}"))),
            ("ownerCluster", s("us-east")),
            ("previousOwner", s("eu-west")),
            ("version", n("7")),
            (
                "timeouts",
                m(&[
                    ("transitoryState", s("5m")),
                    ("unhealthyPrimary", s("1m30s")),
                    ("heartbeat", s("45s")),
                ]),
            ),
            ("heartbeatInterval", s("10s")),
            ("lastUpdated", s("2026-11-25T05:27:34.123456789+02:00")),
            (
                "lastFailover",
                m(&[
                    ("name", s("fo-9")),
                    ("namespace", s("shop")),
                    ("timestamp", s("2026-11-24T10:00:00.5Z")),
                ]),
            ),
            ("suspended", AttributeValue::Bool(false)),
            ("suspensionReason", s("")),
            ("volumeReplicationState", s("primary")),
            ("transition", m(&[("phase", s("IDLE"))])),
        ]),
        ids(vec![
            ("SK", s("CLUSTER#us-east")),
            ("GSI1PK", s("CLUSTER#us-east")),
            ("GSI1SK", s(&format!("GROUP#shop#{name}"))),
            ("clusterName", s("us-east")),
            ("health", s("DEGRADED")),
            ("state", s("PRIMARY")),
            ("lastHeartbeat", s("2026-11-25T03:27:30.999999999Z")),
            (
                "components",
                s(
                    r#"{"database":{"health":"ERROR","message":"replica lag"},"web":{"health":"OK"}}"#,
                ),
            ),
            ("region", s("us-east-1")),
        ]),
        ids(vec![
            ("SK", s("LOCK")),
            ("lockedBy", s("eu-west")),
            ("lockReason", s("planned failover")),
            ("acquiredAt", s("2026-11-25T03:27:00+00:00")),
            ("expiresAt", s("2026-11-25T03:28:04.000000001Z")),
            ("leaseToken", s("go-token")),
            ("ttl", n("1790000000")),
        ]),
        ids(vec![
            ("SK", s("HISTORY#2026-11-24T10:00:00Z")),
            ("failoverName", s("fo-9")),
            ("sourceCluster", s("eu-west")),
            ("targetCluster", s("us-east")),
            ("startTime", s("2026-11-24T11:00:00.5+01:00")),
            ("endTime", s("2026-11-24T10:01:00.25Z")),
            ("status", s("SUCCESS")),
            ("reason", s("drill")),
            ("downtime", n("12")),
            ("duration", n("60.0")),
            ("volumeSyncSeconds", n("3")),
        ]),
    ]
}

/// A heartbeat record.
pub fn cluster_status(name: &str, at: DateTime<Utc>) -> ClusterStatus {
    ClusterStatus {
        cluster_name: name.into(),
        health: Health::Ok,
        state: ClusterState::Standby,
        last_heartbeat: Some(at),
        heartbeat_seq: Some(1),
        components: Default::default(),
        ack: None,
        fenced: false,
    }
}

/// A history record starting at `at`.
pub fn history_record(name: &str, at: DateTime<Utc>) -> HistoryRecord {
    HistoryRecord {
        failover_name: name.into(),
        source_cluster: "us-east".into(),
        target_cluster: "eu-west".into(),
        start_time: at,
        end_time: None,
        status: "SUCCESS".into(),
        reason: "drill".into(),
        downtime: None,
        duration: None,
        mode: None,
        automatic: None,
        initiator: None,
        drill: false,
    }
}

/// A lock request of `holder` at `now`.
pub fn lock_request(holder: &str, now: DateTime<Utc>) -> LockRequest {
    LockRequest {
        holder: holder.into(),
        reason: format!("{holder} drives a failover"),
        lease: std::time::Duration::from_secs(10),
        now,
    }
}
