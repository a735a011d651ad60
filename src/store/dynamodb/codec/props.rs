//! Property test: every decode entry point of the codec, fed arbitrary attribute maps, returns a
//! value or an error and never panics; a value it returns can be encoded again.
//!
//! Two generators: maps built from scratch (keys drawn from the attribute names the codec reads
//! and from random text, values of every `AttributeValue` variant, nested), and valid records of
//! each kind with one to four attributes removed, retyped or corrupted (nested maps included).
//! Strings and numbers come from random text and from edge values (boundary durations, huge
//! numbers, leap seconds, Go's zero time).
//!
//! Cases per test: `KFO_CODEC_CASES` (default [`DEFAULT_CASES`]); the campaign runs a million:
//! `KFO_CODEC_CASES=1000000 cargo test --release --lib store::dynamodb::codec::props`.

use super::super::schema::{
    self, cluster as cl, common, config as cf, history as hi, lock as lk, transition as tr,
};
use super::*;
use crate::store::{FailoverMode, Phase, SafetySettings, Transition, TransitionAck};
use chrono::TimeZone;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Cases per property when `KFO_CODEC_CASES` is not set: a few seconds in a debug build.
pub const DEFAULT_CASES: u32 = 4096;

fn cases() -> u32 {
    match std::env::var("KFO_CODEC_CASES") {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("KFO_CODEC_CASES={v:?} is not a whole number")),
        Err(_) => DEFAULT_CASES,
    }
}

fn config() -> Config {
    Config {
        cases: cases(),
        // A failure becomes a named regression test below, not a file in the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Every attribute name the codec reads, at the top level or inside a nested map.
const NAMES: &[&str] = &[
    schema::PK,
    schema::SK,
    schema::GSI1PK,
    schema::GSI1SK,
    common::OPERATOR_ID,
    common::GROUP_NAMESPACE,
    common::GROUP_NAME,
    cf::OWNER_CLUSTER,
    cf::PREVIOUS_OWNER,
    cf::VERSION,
    cf::TIMEOUTS,
    cf::TRANSITORY_STATE,
    cf::UNHEALTHY_PRIMARY,
    cf::HEARTBEAT,
    cf::HEARTBEAT_INTERVAL,
    cf::LAST_UPDATED,
    cf::LAST_FAILOVER,
    cf::FAILOVER_NAME,
    cf::FAILOVER_NAMESPACE,
    cf::FAILOVER_TIMESTAMP,
    cf::SUSPENDED,
    cf::SUSPENSION_REASON,
    cl::CLUSTER_NAME,
    cl::HEALTH,
    cl::STATE,
    cl::LAST_HEARTBEAT,
    cl::COMPONENTS,
    cl::HEARTBEAT_SEQ,
    cl::TRANSITION_ACK,
    cl::ACK_ID,
    cl::ACK_AT,
    cl::FENCED,
    tr::EPOCH,
    tr::DEACTIVATION,
    tr::SELF_FENCING,
    tr::TRANSITION,
    tr::SUPERSEDED,
    tr::SUPERSEDED_INTERVAL,
    tr::SUPERSEDED_HEARTBEAT,
    tr::APPLIED_SPECS,
    tr::ID,
    tr::SOURCE,
    tr::TARGET,
    tr::MODE,
    tr::FORCE,
    tr::AUTOMATIC,
    tr::REASON,
    tr::INITIATOR,
    tr::PHASE,
    tr::REQUESTED_AT,
    tr::SOURCE_STOPPED_AT,
    lk::LOCKED_BY,
    lk::LOCK_REASON,
    lk::ACQUIRED_AT,
    lk::EXPIRES_AT,
    lk::LEASE_TOKEN,
    hi::FAILOVER_NAME,
    hi::SOURCE_CLUSTER,
    hi::TARGET_CLUSTER,
    hi::START_TIME,
    hi::END_TIME,
    hi::STATUS,
    hi::REASON,
    hi::DOWNTIME,
    hi::DURATION,
    hi::MODE,
    hi::AUTOMATIC,
    hi::INITIATOR,
];

/// Strings at the edges of what the codec parses.
const EDGE_STRINGS: &[&str] = &[
    "",
    " ",
    "0",
    "30s",
    "1h30m",
    "+5s",
    "-1s",
    "5µs",
    ".s",
    "1.s",
    "s",
    "1e3s",
    "99999999999999999999999999999999999999999h",
    "340282366920938463463374607431768211455ns",
    "340282366920938463463374607431768211.9us",
    "340282366920938463463374607431768.9ms",
    "340282366920938463463374607.9s",
    "5671372782015641057722910123863.9m",
    "94522879700260684295381835397.9h",
    "18446744073709551615s",
    "18446744073709551616s",
    "0001-01-01T00:00:00Z",
    "2026-11-25T03:27:34.123Z",
    "2026-11-25T05:27:34.123456789+02:00",
    "2026-12-31T23:59:60Z",
    "2026-12-31T23:59:60.999999999Z",
    "9999-12-31T23:59:59.999999999-23:59",
    "0000-01-01T00:00:00+23:59",
    "2026-02-30T00:00:00Z",
    "GROUP#failover-operator#shop#web",
    "GROUP####",
    "GROUP#a#b",
    "GROUP#op#ns#name#extra",
    "CONFIG",
    "LOCK",
    "CLUSTER#",
    "CLUSTER#east",
    "HISTORY#",
    "HISTORY#2026-11-24T10:00:00Z",
    "HISTORY#yesterday",
    "OK",
    "DEGRADED",
    "PRIMARY",
    "STANDBY",
    "CONSISTENCY",
    "UPTIME",
    "REQUESTED",
    "IDLE",
    "{}",
    "[]",
    "null",
    r#"{"db":{"health":"OK","message":"up"}}"#,
    r#"{"db":{"health":"BAD"}}"#,
    r#"{"db":"OK"}"#,
    "\u{0}",
    "é",
];

/// Numbers at the edges of what `opt_u64` accepts.
const EDGE_NUMBERS: &[&str] = &[
    "0",
    "3",
    "3.0",
    "3.000",
    "3e0",
    "30E-1",
    "-0",
    "-1",
    "3.5",
    "1e400",
    "-1e400",
    "1e-400",
    "NaN",
    "inf",
    "Infinity",
    "18446744073709551615",
    "18446744073709551616",
    "9007199254740992",
    "9007199254740993",
    "9007199254740992.0e0",
    "99999999999999999999999999999999999999",
    "1.",
    ".5",
    "",
    "e",
    " 7 ",
];

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::sample::select(NAMES).prop_map(str::to_string),
        1 => "[a-zA-Z#.]{0,12}",
    ]
    .boxed()
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::sample::select(EDGE_STRINGS).prop_map(str::to_string),
        1 => proptest::sample::select(Health::ALLOWED).prop_map(str::to_string),
        1 => proptest::sample::select(Phase::ALLOWED).prop_map(str::to_string),
        2 => "([0-9]{0,40}(\\.[0-9]{0,12})?(ns|us|µs|ms|s|m|h|d|)){1,3}",
        2 => "[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}T[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]{0,12})?(Z|[+-][0-9]{2}:[0-9]{2})?",
        2 => "(GROUP|CLUSTER|HISTORY|LOCK|CONFIG)?(#[a-z#]{0,6}){0,4}",
        2 => any::<String>(),
    ]
    .boxed()
}

fn number() -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::sample::select(EDGE_NUMBERS).prop_map(str::to_string),
        2 => "-?[0-9]{1,30}",
        2 => "-?[0-9]{0,8}(\\.[0-9]{0,8})?([eE][-+]?[0-9]{1,4})?",
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|f| f.to_string()),
        1 => "[ -~]{0,12}",
    ]
    .boxed()
}

/// Any attribute value, maps and lists nested up to a few levels.
fn value() -> BoxedStrategy<AttributeValue> {
    let leaf = prop_oneof![
        4 => text().prop_map(AttributeValue::S),
        3 => number().prop_map(AttributeValue::N),
        2 => any::<bool>().prop_map(AttributeValue::Bool),
        1 => any::<bool>().prop_map(AttributeValue::Null),
        1 => proptest::collection::vec(any::<u8>(), 0..16)
            .prop_map(|b| AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(b))),
        1 => proptest::collection::vec(text(), 0..4).prop_map(AttributeValue::Ss),
        1 => proptest::collection::vec(number(), 0..4).prop_map(AttributeValue::Ns),
        1 => proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..4), 0..3).prop_map(
            |v| AttributeValue::Bs(v.into_iter().map(aws_sdk_dynamodb::primitives::Blob::new).collect())
        ),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            3 => proptest::collection::hash_map(key(), inner.clone(), 0..6).prop_map(AttributeValue::M),
            1 => proptest::collection::vec(inner, 0..4).prop_map(AttributeValue::L),
        ]
    })
    .boxed()
}

/// A map from scratch; often with a well-formed key, so decoding gets past the key checks.
fn arbitrary_item() -> impl Strategy<Value = Item> {
    let sk = prop_oneof![
        Just("CONFIG".to_string()),
        Just("LOCK".to_string()),
        "CLUSTER#[a-z#]{0,6}",
        Just("HISTORY#2026-11-24T10:00:00.000Z".to_string()),
        text(),
    ];
    (
        proptest::collection::hash_map(key(), value(), 0..24),
        proptest::option::of(sk),
        any::<bool>(),
    )
        .prop_map(|(mut item, sk, good_pk)| {
            if good_pk {
                let pk = "GROUP#failover-operator#shop#web";
                item.insert(schema::PK.to_string(), AttributeValue::S(pk.into()));
            }
            if let Some(sk) = sk {
                item.insert(schema::SK.to_string(), AttributeValue::S(sk));
            }
            item
        })
}

fn t(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().expect("a valid time")
}

/// One valid record of each kind, every optional attribute set.
fn valid_records() -> Vec<Item> {
    let group = GroupId::new("shop", "web").expect("group");
    let mut config = GroupConfig::new("failover-operator", group.clone(), "east", t(1_000));
    config.previous_owner = Some("west".into());
    config.last_failover = Some(FailoverRef {
        name: "f1".into(),
        namespace: "shop".into(),
        timestamp: t(2_000),
    });
    config.suspension_reason = Some("maintenance".into());
    config.transition = Some(Transition {
        id: "promote-west-1".into(),
        source: "east".into(),
        target: "west".into(),
        mode: FailoverMode::ALLOWED[0].parse().expect("mode"),
        force: true,
        automatic: false,
        reason: "drill".into(),
        initiator: "alice".into(),
        phase: Phase::ALLOWED[1].parse().expect("phase"),
        requested_at: t(3_000),
        source_stopped_at: Some(t(4_000)),
        drill: false,
    });
    config.superseded = Some(SafetySettings {
        heartbeat_interval: std::time::Duration::from_secs(20).into(),
        heartbeat: std::time::Duration::from_secs(120).into(),
        deactivation: std::time::Duration::from_secs(45).into(),
        self_fencing: true,
    });
    config.applied_specs.insert("east".into(), "spec".into());
    let status = ClusterStatus {
        cluster_name: "east".into(),
        health: Health::Degraded,
        state: ClusterState::Primary,
        last_heartbeat: Some(t(5_000)),
        heartbeat_seq: Some(42),
        components: BTreeMap::from([(
            "db".to_string(),
            ComponentStatus {
                health: Health::Error,
                message: "lag".into(),
            },
        )]),
        ack: Some(TransitionAck {
            id: "promote-west-1".into(),
            at: t(6_000),
        }),
        fenced: true,
    };
    let lock = Lock {
        locked_by: "west".into(),
        lock_reason: "failover".into(),
        acquired_at: Some(t(7_000)),
        expires_at: t(8_000),
        lease_token: "token".into(),
    };
    let history = HistoryRecord {
        failover_name: "promote-west-1".into(),
        source_cluster: "east".into(),
        target_cluster: "west".into(),
        start_time: t(9_000),
        end_time: Some(t(10_000)),
        status: "SUCCESS".into(),
        reason: "drill".into(),
        downtime: Some(3),
        duration: Some(9),
        mode: Some("CONSISTENCY".into()),
        automatic: Some(false),
        initiator: Some("alice".into()),
        drill: false,
    };
    let pk = schema::group_pk("failover-operator", &group);
    vec![
        config_item(&config),
        item(
            pk,
            schema::cluster_sk("east"),
            cluster_attrs("failover-operator", &group, &status),
        ),
        lock_item("failover-operator", &group, &lock),
        history_item("failover-operator", &group, &history),
    ]
}

/// One change to a record: at a path of attribute names (into nested maps), remove the
/// attribute, or put another value there (retyped or corrupted).
#[derive(Debug, Clone)]
enum Change {
    Remove(Vec<prop::sample::Index>),
    Replace(Vec<prop::sample::Index>, AttributeValue),
}

fn change() -> impl Strategy<Value = Change> {
    let path = proptest::collection::vec(any::<prop::sample::Index>(), 1..3);
    let replacement = prop_oneof![
        2 => text().prop_map(AttributeValue::S),
        2 => number().prop_map(AttributeValue::N),
        1 => value(),
    ];
    prop_oneof![
        1 => path.clone().prop_map(Change::Remove),
        3 => (path, replacement).prop_map(|(p, v)| Change::Replace(p, v)),
    ]
}

/// Applies `change` to `item`, descending into a nested map while the path allows it.
fn apply(item: &mut Item, path: &[prop::sample::Index], change: &Change) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let mut names: Vec<String> = item.keys().cloned().collect();
    if names.is_empty() {
        return;
    }
    names.sort();
    let name = first.get(&names).clone();
    if let (false, Some(AttributeValue::M(inner))) = (rest.is_empty(), item.get_mut(&name))
        && !inner.is_empty()
    {
        return apply(inner, rest, change);
    }
    match change {
        Change::Remove(_) => {
            item.remove(&name);
        }
        Change::Replace(_, v) => {
            item.insert(name, v.clone());
        }
    }
}

fn mutated_record() -> impl Strategy<Value = Item> {
    (
        proptest::sample::select(valid_records()),
        proptest::collection::vec(change(), 1..5),
    )
        .prop_map(|(mut item, changes)| {
            for c in &changes {
                let path = match c {
                    Change::Remove(p) | Change::Replace(p, _) => p.clone(),
                };
                apply(&mut item, &path, c);
            }
            item
        })
}

/// Runs `f`, returning the panic message if it panicked.
fn no_panic(f: impl FnOnce()) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".to_string())
    })
}

/// Runs every decoder on `item`; a value is encoded again and an error rendered, as the store
/// and the CLI do with them. Returns the panic message if anything panicked.
fn decode_everything(item: &Item) -> Result<(), String> {
    let other = GroupId {
        namespace: "a".into(),
        name: "b".into(),
    };
    no_panic(|| {
        if let Ok(c) = decode_config("t", item) {
            let _ = config_item(&c);
            let _ = config_as_stored(&c);
        }
        if let Ok((g, c)) = decode_cluster("t", item) {
            let _ = item_for_cluster(&g, &c);
        }
        if let Ok(l) = decode_lock("t", item) {
            let _ = lock_item("o", &other, &lock_as_stored(l));
        }
        if let Ok(h) = decode_history("t", item) {
            let _ = history_item("o", &other, &h);
        }
        let errors = [
            decode_config("t", item).err(),
            decode_cluster("t", item).err(),
            decode_lock("t", item).err(),
            decode_history("t", item).err(),
        ];
        for e in errors.into_iter().flatten() {
            let _ = e.to_string();
        }
        let _ = raw_expires_at(item);
    })
}

fn item_for_cluster(group: &GroupId, c: &ClusterStatus) -> Item {
    let pk = schema::group_pk("o", group);
    item(
        pk,
        schema::cluster_sk(&c.cluster_name),
        cluster_attrs("o", group, c),
    )
}

fn check(strategy: impl Strategy<Value = Item>) {
    let mut runner = TestRunner::new(config());
    let result = runner.run(&strategy, |item| {
        decode_everything(&item)
            .map_err(|why| TestCaseError::fail(format!("decoding panicked: {why}\nitem: {item:?}")))
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn arbitrary_attribute_maps_decode_to_a_value_or_an_error_never_a_panic() {
    check(arbitrary_item());
}

#[test]
fn valid_records_with_attributes_removed_retyped_or_corrupted_never_panic_the_decoders() {
    check(mutated_record());
}

#[test]
fn every_valid_record_decodes_as_what_it_is() {
    let records = valid_records();
    assert!(decode_config("t", &records[0]).is_ok());
    assert!(decode_cluster("t", &records[1]).is_ok());
    assert!(decode_lock("t", &records[2]).is_ok());
    assert!(decode_history("t", &records[3]).is_ok());
}

#[test]
fn a_panic_inside_a_decoder_is_caught_and_reported_with_its_message() {
    assert_eq!(no_panic(|| {}), Ok(()));
    let planted = no_panic(|| panic!("planted at {}", 7));
    assert_eq!(planted, Err("planted at 7".to_string()));
}

/// Found by the property test's edge values: `GoDuration` added a fraction to a number already
/// at the u128 limit without a check (a panic in debug builds, a wrapped tiny duration in
/// release builds).
#[test]
fn a_duration_at_the_u128_limit_with_a_fraction_is_refused_naming_the_attribute() {
    let mut config = valid_records().remove(0);
    let huge = "340282366920938463463374607431768211.9us";
    config.insert(
        cf::HEARTBEAT_INTERVAL.into(),
        AttributeValue::S(huge.into()),
    );
    let outcome = std::panic::catch_unwind(|| decode_config("t", &config));
    let err = outcome
        .expect("decoding must not panic")
        .expect_err("a duration beyond u64 seconds is refused")
        .to_string();
    assert!(err.contains("heartbeatInterval"), "{err}");
    assert!(err.contains("number too large"), "{err}");
}
