//! Records another tool wrote into the table: wrong types, missing attributes, values that do
//! not parse, keys that disagree, unknown record types, items near DynamoDB's size limit. Each
//! case writes one valid group with the raw SDK client, spoils one attribute of one record, runs a
//! command on it, and checks that the table is exactly as before (or, for a write that succeeds,
//! that no attribute of the other tool was lost).

use super::run::{
    Cmd, Item, OP, Scrub, Target, judge, nothing_lost, same_records, short, snapshot,
};
use super::table::{Book, Category};
use crate::support::moto;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use kubectl_failover::store::dynamodb::{codec, schema};
use kubectl_failover::store::{
    ClusterState, ClusterStatus, GroupConfig, GroupId, Health, HistoryRecord, Lock,
};

/// Which record of the group a case spoils.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Config,
    Cluster,
    Lock,
    History,
}

/// How it is spoiled.
#[derive(Debug, Clone)]
enum Spoil {
    /// Sets an attribute (a `.` path goes into nested maps).
    Set(&'static str, AttributeValue),
    /// Removes an attribute.
    Remove(&'static str),
    /// Moves the record to another sort key.
    SortKey(&'static str),
    /// Also writes a copy under another sort key: a record type this tool does not know.
    Copy(&'static str),
}

struct Case {
    group: &'static str,
    record: Record,
    spoil: Vec<Spoil>,
    /// The command, with `{g}` for the group.
    command: &'static [&'static str],
    code: i32,
    phrases: &'static [&'static str],
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}
fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn m(pairs: &[(&str, AttributeValue)]) -> AttributeValue {
    AttributeValue::M(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
}

const STATUS: &[&str] = &["status", "shop/{g}"];
const HISTORY: &[&str] = &["history", "shop/{g}"];

/// A transition in flight with `phase`, without the attribute `drop`.
fn transition(phase: &str, drop: &str) -> AttributeValue {
    let mut fields = vec![
        ("id", s("t-1")),
        ("source", s("east")),
        ("target", s("west")),
        ("mode", s("CONSISTENCY")),
        ("phase", s(phase)),
        ("requestedAt", s("2026-01-01T00:00:00Z")),
    ];
    fields.retain(|(k, _)| *k != drop);
    m(&fields)
}

fn case(
    group: &'static str,
    record: Record,
    spoil: Vec<Spoil>,
    command: &'static [&'static str],
    code: i32,
    phrases: &'static [&'static str],
) -> Case {
    Case {
        group,
        record,
        spoil,
        command,
        code,
        phrases,
    }
}

#[rustfmt::skip]
fn record_cases() -> Vec<Case> {
    use Record::*;
    use Spoil::*;
    let promote: &[&str] = &["promote", "shop/{g}", "--to", "west", "--yes"];
    vec![
        case("owner-number", Config, vec![Set("ownerCluster", n("3"))], STATUS, 3, &["\"ownerCluster\"", "expected a string (S), found a number (N)"]),
        case("owner-missing", Config, vec![Remove("ownerCluster")], STATUS, 3, &["\"ownerCluster\": it is missing"]),
        case("version-text", Config, vec![Set("version", s("7"))], STATUS, 3, &["\"version\"", "expected a number (N)"]),
        case("version-negative", Config, vec![Set("version", n("-1"))], STATUS, 3, &["\"-1\" is not a whole number >= 0"]),
        case("version-fraction", Config, vec![Set("version", n("3.5"))], STATUS, 3, &["\"3.5\" is not a whole number >= 0"]),
        case("timeouts-text", Config, vec![Set("timeouts", s("5m"))], STATUS, 3, &["\"timeouts\"", "expected a map (M)"]),
        case("heartbeat-soon", Config, vec![Set("timeouts.heartbeat", s("soon"))], STATUS, 3, &["\"timeouts.heartbeat\"", "invalid duration \"soon\""]),
        case("interval-overflow", Config, vec![Set("heartbeatInterval", s("340282366920938463463374607431768211.9us"))], STATUS, 3, &["\"heartbeatInterval\"", "number too large"]),
        case("suspended-text", Config, vec![Set("suspended", s("true"))], STATUS, 3, &["\"suspended\"", "expected a boolean (BOOL)"]),
        case("updated-yesterday", Config, vec![Set("lastUpdated", s("yesterday"))], STATUS, 3, &["\"yesterday\" is not an RFC 3339 timestamp"]),
        case("phase-unknown", Config, vec![Set("transitionInFlight", transition("SIDEWAYS", ""))], STATUS, 3, &["\"transitionInFlight.phase\"", "\"SIDEWAYS\" is not one of"]),
        case("transition-no-time", Config, vec![Set("transitionInFlight", transition("REQUESTED", "requestedAt"))], STATUS, 3, &["\"transitionInFlight.requestedAt\": it is missing"]),
        case("failover-no-time", Config, vec![Set("lastFailover", m(&[("name", s("fo-1"))]))], STATUS, 3, &["\"lastFailover.timestamp\": it is missing"]),
        case("superseded-partial", Config, vec![Set("supersededSettings", m(&[("heartbeatInterval", s("5s"))]))], STATUS, 3, &["\"supersededSettings."]),
        case("name-disagrees", Config, vec![Set("groupName", s("other"))], STATUS, 3, &["\"groupName\"", "but the key says"]),
        case("owner-number-promote", Config, vec![Set("ownerCluster", n("3"))], promote, 3, &["\"ownerCluster\""]),
        case("owner-number-suspend", Config, vec![Set("ownerCluster", n("3"))], &["suspend", "shop/{g}", "--reason", "x"], 3, &["\"ownerCluster\""]),
        case("health-great", Cluster, vec![Set("health", s("GREAT"))], STATUS, 3, &["\"health\"", "\"GREAT\" is not one of"]),
        case("state-missing", Cluster, vec![Remove("state")], STATUS, 3, &["\"state\": it is missing"]),
        case("components-text", Cluster, vec![Set("components", s("db is fine"))], STATUS, 3, &["\"components\"", "expected a JSON object"]),
        case("cluster-disagrees", Cluster, vec![Set("clusterName", s("north"))], STATUS, 3, &["\"clusterName\"", "but the key says"]),
        case("seq-negative", Cluster, vec![Set("heartbeatSeq", n("-4"))], STATUS, 3, &["\"heartbeatSeq\"", "not a whole number"]),
        case("cluster-no-name", Cluster, vec![SortKey("CLUSTER#")], STATUS, 3, &["expected CLUSTER#{clusterName}"]),
        case("lock-no-expiry", Lock, vec![Remove("expiresAt")], STATUS, 3, &["\"expiresAt\": it is missing"]),
        case("lock-token-bool", Lock, vec![Set("leaseToken", AttributeValue::Bool(true))], STATUS, 3, &["\"leaseToken\"", "expected a string (S), found a boolean"]),
        case("history-no-status", History, vec![Remove("status")], HISTORY, 3, &["\"status\": it is missing"]),
        case("history-bad-start", History, vec![Set("startTime", s("last tuesday"))], HISTORY, 3, &["\"startTime\"", "not an RFC 3339 timestamp"]),
        case("history-no-start", History, vec![SortKey("HISTORY#garbage"), Remove("startTime")], HISTORY, 3, &["\"startTime\": it is missing"]),
        case("downtime-text", History, vec![Set("downtime", s("12s"))], HISTORY, 3, &["\"downtime\"", "expected a number (N)"]),
        case("unknown-type", Config, vec![Copy("AUDIT#2026-01-01")], STATUS, 0, &["Owner: east"]),
        case("unknown-attributes", Config, vec![Set("region", s("us-east-1")), Set("labels", m(&[("team", s("payments"))]))], promote, 0, &["requested"]),
    ]
}

fn t(text: &str) -> DateTime<Utc> {
    text.parse().expect("a time")
}

/// The valid records of group `shop/NAME`: CONFIG (owner east), east and west heartbeats, a lock
/// and one history record.
fn valid(operator: &str, name: &str) -> Vec<(Record, Item)> {
    let group = GroupId::new("shop", name).expect("group");
    let config = GroupConfig::new(operator, group.clone(), "east", t("2026-01-01T00:00:00Z"));
    let pk = schema::group_pk(operator, &group);
    let cluster = |name: &str, state| {
        let status = ClusterStatus {
            cluster_name: name.into(),
            health: Health::Ok,
            state,
            last_heartbeat: Some(t("2026-01-01T00:00:00Z")),
            heartbeat_seq: Some(1),
            components: Default::default(),
            ack: None,
            fenced: false,
        };
        let attrs = codec::cluster_attrs(operator, &group, &status);
        codec::item(pk.clone(), schema::cluster_sk(name), attrs)
    };
    let lock = Lock {
        locked_by: "west".into(),
        lock_reason: "drill".into(),
        acquired_at: Some(t("2026-01-01T00:00:00Z")),
        expires_at: t("2026-01-01T00:01:00Z"),
        lease_token: "token".into(),
    };
    let history = HistoryRecord {
        failover_name: "fo-1".into(),
        source_cluster: "west".into(),
        target_cluster: "east".into(),
        start_time: t("2025-12-31T00:00:00Z"),
        end_time: Some(t("2025-12-31T00:01:00Z")),
        status: "SUCCESS".into(),
        reason: "drill".into(),
        downtime: Some(5),
        duration: Some(60),
        mode: None,
        automatic: Some(false),
        initiator: None,
        drill: false,
    };
    vec![
        (Record::Config, codec::config_item(&config)),
        (Record::Cluster, cluster("east", ClusterState::Primary)),
        (Record::Cluster, cluster("west", ClusterState::Standby)),
        (Record::Lock, codec::lock_item(operator, &group, &lock)),
        (
            Record::History,
            codec::history_item(operator, &group, &history),
        ),
    ]
}

fn spoil(item: &mut Item, how: &Spoil) {
    match how {
        Spoil::Set(path, value) => match path.split_once('.') {
            Some((outer, inner)) => {
                if let Some(AttributeValue::M(map)) = item.get_mut(outer) {
                    map.insert(inner.to_string(), value.clone());
                }
            }
            None => {
                item.insert(path.to_string(), value.clone());
            }
        },
        Spoil::Remove(name) => {
            item.remove(*name);
        }
        Spoil::SortKey(sk) => {
            item.insert("SK".into(), s(sk));
        }
        Spoil::Copy(_) => {}
    }
}

pub async fn put(raw: &Client, table: &str, item: Item) {
    raw.put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put into {table}: {e:?}"));
}

/// Writes the valid records of group `shop/NAME` (no lock).
pub async fn write_valid_group(raw: &Client, table: &str, operator: &str, name: &str) {
    write_group(raw, table, operator, name, None).await;
}

/// Writes group `name` with its first record of the case's kind spoiled (the lock only when the
/// case is about it: a valid lock would make every promote wait).
async fn write_group(raw: &Client, table: &str, operator: &str, name: &str, c: Option<&Case>) {
    let mut spoiled = false;
    for (kind, mut item) in valid(operator, name) {
        if kind == Record::Lock && c.is_none_or(|c| c.record != Record::Lock) {
            continue;
        }
        if let Some(c) = c
            && c.record == kind
            && !spoiled
        {
            for how in &c.spoil {
                if let Spoil::Copy(sk) = how {
                    let mut copy = item.clone();
                    copy.insert("SK".into(), s(sk));
                    put(raw, table, copy).await;
                }
                spoil(&mut item, how);
            }
            spoiled = true;
        }
        put(raw, table, item).await;
    }
}

fn describe(c: &Case) -> String {
    let record = match c.record {
        Record::Config => "CONFIG",
        Record::Cluster => "CLUSTER#east",
        Record::Lock => "LOCK",
        Record::History => "HISTORY#…",
    };
    let spoils: Vec<String> = c
        .spoil
        .iter()
        .map(|how| match how {
            Spoil::Set(path, v) => format!("{path} = {}", short(v)),
            Spoil::Remove(name) => format!("no {name}"),
            Spoil::SortKey(sk) => format!("SK {sk}"),
            Spoil::Copy(sk) => format!("plus a copy as SK {sk}"),
        })
        .collect();
    let command = c.command.join(" ").replace("{g}", c.group);
    format!("{record} {}; {command}", spoils.join(", "))
}

pub async fn cases(book: &mut Book) {
    let (_store, table) = moto::fresh_store_named("bad-records").await;
    let raw = moto::sdk_client().await;
    let scrub = Scrub::target(&Target::on(&table));
    for c in record_cases() {
        write_group(&raw, &table, OP, c.group, Some(&c)).await;
        let target = Target::on(&table);
        let args: Vec<String> = c
            .command
            .iter()
            .map(|a| a.replace("{g}", c.group))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let before = snapshot(&raw, &table).await;
        let run = Cmd::on(&target, &args).run().await;
        let mut outcome = judge(&run, c.code, c.phrases, &scrub);
        let after = snapshot(&raw, &table).await;
        // Only a write that succeeds may change the table, and only its own attributes.
        let kept = if c.code == 0 && c.command[0] != "status" {
            nothing_lost(&before, &after)
        } else {
            same_records(&before, &after)
        };
        if let (Ok(_), Err(e)) = (&outcome, kept) {
            outcome = Err(e);
        }
        book.record(Category::Records, &describe(&c), outcome);
    }
    super::huge::cases(book).await;
}
