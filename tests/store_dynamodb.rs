//! DynamoDB-specific behaviour on a real moto server: records other tools wrote load (extra
//! attributes ignored, optional ones defaulted) or fail as `Malformed` naming item and attribute,
//! and our writes leave other tools' attributes alone. Shared semantics: `store_contract.rs`;
//! layout, cost, lock and flip: `store_dynamodb_layout.rs`; faults: `store_dynamodb_faults.rs`.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use kubectl_failover::store::*;
use std::time::Duration;
use support::raw::*;

#[tokio::test]
async fn records_written_by_the_go_operator_load_with_their_extra_attributes_ignored() {
    let f = fixture().await;
    for record in go_records("web") {
        f.put(record).await;
    }
    let snap = f.store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    let c = &snap.config;
    assert_eq!(
        (c.owner_cluster.as_str(), c.previous_owner.as_deref()),
        ("us-east", Some("eu-west"))
    );
    assert_eq!(c.version, 7);
    assert_eq!(c.timeouts.transitory_state.get(), Duration::from_secs(300));
    assert_eq!(c.timeouts.unhealthy_primary.get(), Duration::from_secs(90));
    assert_eq!(c.timeouts.heartbeat.get(), Duration::from_secs(45));
    assert_eq!(c.heartbeat_interval.get(), Duration::from_secs(10));
    assert_eq!(c.last_updated, Some(utc("2026-11-25T03:27:34.123456789Z")));
    let last = c.last_failover.as_ref().unwrap();
    assert_eq!(
        (last.name.as_str(), last.timestamp),
        ("fo-9", utc("2026-11-24T10:00:00.5Z"))
    );
    assert_eq!((c.suspended, c.suspension_reason.as_deref()), (false, None));

    let us = &snap.clusters[0];
    assert_eq!(
        (us.cluster_name.as_str(), us.health, us.state),
        ("us-east", Health::Degraded, ClusterState::Primary)
    );
    assert_eq!(
        us.last_heartbeat,
        Some(utc("2026-11-25T03:27:30.999999999Z"))
    );
    assert_eq!(us.heartbeat_seq, None);
    assert_eq!(us.components["database"].message, "replica lag");
    assert_eq!(us.components["web"].health, Health::Ok);

    let lock = snap.lock.unwrap();
    assert_eq!(
        (lock.locked_by.as_str(), lock.lease_token.as_str()),
        ("eu-west", "go-token")
    );
    assert_eq!(lock.expires_at, utc("2026-11-25T03:28:04.000000001Z"));

    let page = f.store.history(OP, &gid("web"), 10, None).await.unwrap();
    let h = &page.records[0];
    assert_eq!(
        (h.start_time, h.end_time),
        (
            utc("2026-11-24T10:00:00.5Z"),
            Some(utc("2026-11-24T10:01:00.25Z"))
        )
    );
    assert_eq!(
        (h.downtime, h.duration, h.mode.as_deref()),
        (Some(12), Some(60), None)
    );
}

#[tokio::test]
async fn records_missing_every_optional_attribute_load_with_the_defaults() {
    let f = fixture().await;
    f.put(item(&[
        ("PK", s(&pk("bare"))),
        ("SK", s("CONFIG")),
        ("ownerCluster", s("a")),
    ]))
    .await;
    f.put(item(&[
        ("PK", s(&pk("bare"))),
        ("SK", s("CLUSTER#b")),
        ("health", s("OK")),
        ("state", s("STANDBY")),
    ]))
    .await;
    let snap = f.store.load_group(OP, &gid("bare")).await.unwrap().unwrap();
    let expected = GroupConfig {
        version: 0,
        epoch: 0,
        last_updated: None,
        ..GroupConfig::new(OP, gid("bare"), "a", Utc::now())
    };
    assert_eq!(snap.config, expected);
    let b = &snap.clusters[0];
    assert_eq!(
        (
            b.cluster_name.as_str(),
            b.last_heartbeat,
            b.components.len()
        ),
        ("b", None, 0)
    );
}

/// A valid record of each kind with one attribute removed or replaced.
async fn load_with(
    f: &Fixture,
    case: usize,
    sk_prefix: &str,
    attr: &str,
    value: Option<AttributeValue>,
) -> StoreError {
    let name = format!("case-{case}");
    for mut record in go_records(&name) {
        let sk = record["SK"].as_s().unwrap().clone();
        if sk.starts_with(sk_prefix) {
            record.remove(attr);
            if let Some(v) = &value {
                record.insert(attr.to_string(), v.clone());
            }
        }
        f.put(record).await;
    }
    let loaded = f.store.load_group(OP, &gid(&name)).await;
    match loaded {
        Err(e) => e,
        Ok(_) => f
            .store
            .history(OP, &gid(&name), 10, None)
            .await
            .expect_err("a malformed record"),
    }
}

fn assert_malformed(err: StoreError, want_item: &str, want_attribute: &str, want_problem: &str) {
    let text = err.to_string();
    match err {
        StoreError::Malformed {
            item,
            attribute,
            problem,
            ..
        } => {
            assert_eq!(
                (item.as_str(), attribute.as_str()),
                (want_item, want_attribute),
                "{text}"
            );
            assert!(problem.contains(want_problem), "{text}");
        }
        other => panic!("expected Malformed for {want_attribute}, got {other:?}"),
    }
}

#[tokio::test]
async fn each_missing_required_attribute_is_malformed_naming_the_item_and_attribute() {
    let f = fixture().await;
    let cases = [
        ("CONFIG", "ownerCluster"),
        ("CLUSTER#", "health"),
        ("CLUSTER#", "state"),
        ("LOCK", "lockedBy"),
        ("LOCK", "leaseToken"),
        ("LOCK", "expiresAt"),
        ("HISTORY#", "sourceCluster"),
        ("HISTORY#", "targetCluster"),
        ("HISTORY#", "status"),
    ];
    for (i, (sk, attr)) in cases.into_iter().enumerate() {
        let err = load_with(&f, i, sk, attr, None).await;
        let full_sk = match sk {
            "CLUSTER#" => "CLUSTER#us-east",
            "HISTORY#" => "HISTORY#2026-11-24T10:00:00Z",
            other => other,
        };
        assert_malformed(
            err,
            &format!("{} / {full_sk}", pk(&format!("case-{i}"))),
            attr,
            "missing",
        );
    }
}

#[tokio::test]
async fn wrong_types_and_unparsable_values_are_malformed_never_defaulted() {
    let f = fixture().await;
    let cases: [(&str, &str, AttributeValue, &str, &str); 7] = [
        (
            "CONFIG",
            "ownerCluster",
            n("3"),
            "ownerCluster",
            "expected a string (S), found a number (N)",
        ),
        (
            "CONFIG",
            "version",
            s("7"),
            "version",
            "expected a number (N)",
        ),
        (
            "CONFIG",
            "lastUpdated",
            s("yesterday"),
            "lastUpdated",
            "RFC 3339",
        ),
        (
            "CONFIG",
            "timeouts",
            m(&[("heartbeat", s("5 minutes"))]),
            "timeouts.heartbeat",
            "invalid duration",
        ),
        (
            "CLUSTER#",
            "health",
            s("GREEN"),
            "health",
            "\"GREEN\" is not one of",
        ),
        (
            "CLUSTER#",
            "components",
            s("database=ok"),
            "components",
            "JSON",
        ),
        ("HISTORY#", "downtime", n("1.5"), "downtime", "whole number"),
    ];
    for (i, (sk, attr, value, attribute, problem)) in cases.into_iter().enumerate() {
        let err = load_with(&f, 100 + i, sk, attr, Some(value)).await;
        let name = format!("case-{}", 100 + i);
        let full_sk = match sk {
            "CLUSTER#" => "CLUSTER#us-east",
            "HISTORY#" => "HISTORY#2026-11-24T10:00:00Z",
            other => other,
        };
        assert_malformed(
            err,
            &format!("{} / {full_sk}", pk(&name)),
            attribute,
            problem,
        );
    }
}

#[tokio::test]
async fn listing_skips_an_unreadable_group_and_names_it() {
    let f = fixture().await;
    let good = GroupConfig::new(OP, gid("good"), "a", Utc::now());
    let _ = f.store.create_config(&good).await.unwrap();
    let mut bad = go_records("bad").remove(0);
    bad.insert("heartbeatInterval".into(), s("often"));
    f.put(bad).await;
    let listing = f.store.list_groups(OP).await.unwrap();
    let names: Vec<_> = listing
        .items
        .iter()
        .map(|c| c.group.name.as_str())
        .collect();
    assert_eq!(names, ["good"]);
    assert_eq!(listing.skipped.len(), 1);
    assert!(
        listing.skipped[0].contains(&format!("{} / CONFIG", pk("bad"))),
        "{:?}",
        listing.skipped
    );
    assert!(
        listing.skipped[0].contains("heartbeatInterval"),
        "{:?}",
        listing.skipped
    );
}

#[tokio::test]
async fn updates_keep_attributes_other_tools_added_and_remove_only_unset_ones() {
    let f = fixture().await;
    let mut config = go_records("web").remove(0);
    config.remove("version");
    f.put(config).await;
    let loaded = f
        .store
        .load_group(OP, &gid("web"))
        .await
        .unwrap()
        .unwrap()
        .config;
    assert_eq!(loaded.version, 0);
    let next = GroupConfig {
        owner_cluster: "eu-west".into(),
        previous_owner: None,
        ..loaded
    };
    let applied = match f.store.update_config(0, &next).await.unwrap() {
        CasOutcome::Applied(c) => c,
        other => panic!("expected Applied, got {other:?}"),
    };
    assert_eq!(
        (applied.version, applied.owner_cluster.as_str()),
        (1, "eu-west")
    );
    let raw = f.get(&pk("web"), "CONFIG").await;
    assert_eq!(raw["volumeReplicationState"], s("primary"));
    assert_eq!(raw["transition"], m(&[("phase", s("IDLE"))]));
    assert_eq!(raw["version"], n("1"));
    assert!(!raw.contains_key("previousOwner"), "{raw:?}");

    let mut cluster = go_records("web").remove(1);
    cluster.insert("state".into(), s("STANDBY"));
    f.put(cluster).await;
    let status = f
        .store
        .load_group(OP, &gid("web"))
        .await
        .unwrap()
        .unwrap()
        .clusters
        .remove(0);
    f.store
        .put_cluster_status(
            OP,
            &gid("web"),
            &ClusterStatus {
                heartbeat_seq: Some(1),
                ..status
            },
        )
        .await
        .unwrap();
    let raw = f.get(&pk("web"), "CLUSTER#us-east").await;
    assert_eq!(
        (raw.get("region"), raw.get("heartbeatSeq")),
        (Some(&s("us-east-1")), Some(&n("1")))
    );
}
