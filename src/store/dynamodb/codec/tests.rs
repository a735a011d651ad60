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
    };
    let h = history_item("op", &group, &record);
    assert_eq!(
        h[schema::SK],
        AttributeValue::S("HISTORY#1970-01-01T01:23:20.001Z".into())
    );
    assert_eq!(decode_history("t", &h).unwrap(), record);
}
