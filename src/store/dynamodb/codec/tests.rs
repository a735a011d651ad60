//! Round trips of every record through its item.

use super::*;
use chrono::TimeZone;

fn t(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).unwrap()
}

#[test]
fn every_record_reads_back_as_it_was_written() {
    let group = GroupId::new("shop", "web").unwrap();
    let mut config = GroupConfig::new("op", group.clone(), "eu-1", t(1_000_123));
    config.previous_owner = Some("us-1".into());
    config.last_failover = Some(FailoverRef {
        name: "f1".into(),
        namespace: "shop".into(),
        timestamp: t(2_000_456),
    });
    config.suspended = true;
    config.suspension_reason = Some("maintenance".into());
    config.self_fencing = false;
    config.timeouts.deactivation = std::time::Duration::from_secs(95).into();
    config.superseded = Some(crate::store::SafetySettings {
        heartbeat_interval: std::time::Duration::from_secs(20).into(),
        heartbeat: std::time::Duration::from_secs(120).into(),
        deactivation: std::time::Duration::from_secs(45).into(),
        self_fencing: true,
    });
    config
        .applied_specs
        .insert("eu-1".into(), "heartbeat=2m selfFencing=true".into());
    assert_eq!(decode_config("t", &config_item(&config)).unwrap(), config);

    // A superseded record missing a key is refused: it would understate the owner's window.
    let mut partial = config_item(&config);
    if let Some(AttributeValue::M(m)) = partial.get_mut(schema::transition::SUPERSEDED) {
        m.remove(schema::transition::SUPERSEDED_HEARTBEAT);
    }
    let err = decode_config("t", &partial).unwrap_err().to_string();
    assert!(err.contains("supersededSettings.heartbeatTimeout"), "{err}");

    // A CONFIG written by a tool that knows neither extension: the safe defaults.
    let mut foreign = config_item(&config);
    foreign.remove(schema::transition::SELF_FENCING);
    foreign.remove(schema::transition::DEACTIVATION);
    foreign.remove(schema::transition::SUPERSEDED);
    foreign.remove(schema::transition::APPLIED_SPECS);
    let read = decode_config("t", &foreign).unwrap();
    assert_eq!(read.superseded, None);
    assert!(read.applied_specs.is_empty());
    assert!(read.self_fencing, "absent selfFencing reads as true");
    assert_eq!(read.timeouts.deactivation.get(), defaults::DEACTIVATION);

    let status = ClusterStatus {
        cluster_name: "eu-1".into(),
        health: Health::Degraded,
        state: ClusterState::Standby,
        last_heartbeat: Some(t(3_000_789)),
        heartbeat_seq: Some(42),
        components: BTreeMap::from([(
            "db".to_string(),
            ComponentStatus {
                health: Health::Error,
                message: "down".into(),
            },
        )]),
        ack: None,
        fenced: false,
    };
    let pk = schema::group_pk("op", &group);
    let cluster = item(
        pk.clone(),
        schema::cluster_sk("eu-1"),
        cluster_attrs("op", &group, &status),
    );
    assert_eq!(
        decode_cluster("t", &cluster).unwrap(),
        (group.clone(), status)
    );

    let lock = Lock {
        locked_by: "eu-1".into(),
        lock_reason: "promote".into(),
        acquired_at: Some(t(4_000_000)),
        expires_at: t(4_030_000),
        lease_token: "tok".into(),
    };
    assert_eq!(
        decode_lock("t", &lock_item("op", &group, &lock)).unwrap(),
        lock
    );

    let record = HistoryRecord {
        failover_name: "f1".into(),
        source_cluster: "us-1".into(),
        target_cluster: "eu-1".into(),
        start_time: t(5_000_001),
        end_time: Some(t(5_060_000)),
        status: "SUCCESS".into(),
        reason: "drill".into(),
        downtime: Some(12),
        duration: Some(60),
        mode: Some("CONSISTENCY".into()),
        automatic: Some(false),
        initiator: Some("alice".into()),
        drill: false,
    };
    let h = history_item("op", &group, &record);
    assert_eq!(
        h[schema::SK],
        AttributeValue::S("HISTORY#1970-01-01T01:23:20.001Z".into())
    );
    assert_eq!(decode_history("t", &h).unwrap(), record);
}

#[test]
fn the_drill_mark_is_written_only_when_set_and_read_leniently() {
    use crate::store::{FailoverMode, Phase, Transition};
    let group = GroupId::new("shop", "web").unwrap();
    let mut config = GroupConfig::new("op", group.clone(), "east", t(1_000_000));
    let transition = Transition {
        id: "drill-west-1".into(),
        source: "east".into(),
        target: "west".into(),
        mode: FailoverMode::Consistency,
        force: false,
        automatic: false,
        reason: "failover drill".into(),
        initiator: "alice".into(),
        phase: Phase::Requested,
        requested_at: t(1_000_500),
        source_stopped_at: None,
        drill: true,
    };
    config.transition = Some(transition.clone());
    let item = config_item(&config);
    let Some(AttributeValue::M(map)) = item.get(schema::transition::TRANSITION) else {
        panic!("no transition map: {item:?}");
    };
    assert_eq!(
        map.get(schema::transition::DRILL),
        Some(&AttributeValue::Bool(true))
    );
    assert_eq!(decode_config("t", &item).unwrap(), config);

    // A transition that is not a drill keeps the map it always had; absent reads as false.
    config.transition = Some(Transition {
        drill: false,
        ..transition
    });
    let plain = config_item(&config);
    let Some(AttributeValue::M(map)) = plain.get(schema::transition::TRANSITION) else {
        panic!("no transition map: {plain:?}");
    };
    assert!(!map.contains_key(schema::transition::DRILL), "{map:?}");
    assert_eq!(decode_config("t", &plain).unwrap(), config);

    // The wrong type is the usual malformed error naming the attribute.
    let mut bad = plain.clone();
    if let Some(AttributeValue::M(m)) = bad.get_mut(schema::transition::TRANSITION) {
        m.insert(
            schema::transition::DRILL.into(),
            AttributeValue::S("yes".into()),
        );
    }
    let err = decode_config("t", &bad).unwrap_err().to_string();
    assert!(err.contains("transitionInFlight.drill"), "{err}");
    assert!(err.contains("BOOL"), "{err}");

    let record = HistoryRecord {
        failover_name: "drill-west-1".into(),
        source_cluster: "east".into(),
        target_cluster: "west".into(),
        start_time: t(1_000_500),
        end_time: Some(t(1_005_000)),
        status: "SUCCESS".into(),
        reason: "failover drill".into(),
        downtime: Some(3),
        duration: Some(5),
        mode: Some("CONSISTENCY".into()),
        automatic: Some(false),
        initiator: Some("alice".into()),
        drill: true,
    };
    let h = history_item("op", &group, &record);
    assert_eq!(
        h.get(schema::history::DRILL),
        Some(&AttributeValue::Bool(true))
    );
    assert_eq!(decode_history("t", &h).unwrap(), record);

    let real = HistoryRecord {
        drill: false,
        ..record
    };
    let h = history_item("op", &group, &real);
    assert!(!h.contains_key(schema::history::DRILL), "{h:?}");
    assert_eq!(decode_history("t", &h).unwrap(), real);

    let mut bad = h;
    bad.insert(schema::history::DRILL.into(), AttributeValue::N("1".into()));
    let err = decode_history("t", &bad).unwrap_err().to_string();
    assert!(err.contains("drill") && err.contains("BOOL"), "{err}");
}
