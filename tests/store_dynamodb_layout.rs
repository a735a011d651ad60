//! The DynamoDB item layout and costs on a real moto server: the GSI1 keys and text formats of the
//! spec, what loading a group costs, lock takeover compared on the stored strings, and which
//! conditions a cancelled ownership flip reports.

mod support;

use chrono::{DateTime, TimeZone, Utc};
use kubectl_failover::store::*;
use support::raw::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 3, 27, 34).unwrap() + chrono::Duration::milliseconds(123)
}

#[tokio::test]
async fn loading_a_group_costs_two_requests_whatever_the_history_length() {
    let f = fixture().await;
    let g = gid("web");
    let config = GroupConfig::new(OP, g.clone(), "a", t0());
    let _ = f.store.create_config(&config).await.unwrap();
    for c in ["a", "b", "c"] {
        let status = cluster_status(c, t0());
        f.store.put_cluster_status(OP, &g, &status).await.unwrap();
    }
    let _ = f
        .store
        .acquire_lock(OP, &g, &lock_request("a", t0()))
        .await
        .unwrap();
    for i in 0..200 {
        let record = history_record(&format!("fo-{i}"), t0() + chrono::Duration::seconds(i));
        let appended = f.store.append_history(OP, &g, &record).await.unwrap();
        assert_eq!(appended, AppendOutcome::Appended);
    }
    let snap = f.store.load_group(OP, &g).await.unwrap().unwrap();
    let cost = f.store.last_load_cost();
    println!(
        "load_group, 3 clusters + lock + 200 history records: {} requests, {} RCU as moto reports them, {} items read",
        cost.requests, cost.read_capacity_units, cost.items_read
    );
    assert_eq!((snap.clusters.len(), snap.lock.is_some()), (3, true));
    assert_eq!(cost.requests, 2, "{cost:?}");
    assert!(
        cost.read_capacity_units > 0.0 && cost.read_capacity_units <= 2.0,
        "{cost:?}"
    );
    assert_eq!(
        cost.items_read, 5,
        "CONFIG, 3 clusters and LOCK, no history: {cost:?}"
    );

    // The agents' steady-state read leaves the lock out: one strongly consistent request.
    let steady = f
        .store
        .load_group_with(OP, &g, false)
        .await
        .unwrap()
        .unwrap();
    let cost = f.store.last_load_cost();
    println!(
        "load_group_with(include_lock = false): {} request, {} RCU as moto reports them, {} items read",
        cost.requests, cost.read_capacity_units, cost.items_read
    );
    assert_eq!((steady.clusters.len(), steady.lock), (3, None));
    assert_eq!((cost.requests, cost.items_read), (1, 4), "{cost:?}");
}

#[tokio::test]
async fn config_and_cluster_items_carry_exactly_the_gsi1_keys_and_formats_of_the_spec() {
    let f = fixture().await;
    let g = gid("web");
    let _ = f
        .store
        .create_config(&GroupConfig::new(OP, g.clone(), "eu-1", t0()))
        .await
        .unwrap();
    f.store
        .put_cluster_status(OP, &g, &cluster_status("eu-1", t0()))
        .await
        .unwrap();
    let _ = f
        .store
        .acquire_lock(OP, &g, &lock_request("eu-1", t0()))
        .await
        .unwrap();
    let _ = f
        .store
        .append_history(OP, &g, &history_record("fo", t0()))
        .await
        .unwrap();

    let pk = "GROUP#failover-operator#shop#web";
    let config = f.get(pk, "CONFIG").await;
    assert_eq!(config["GSI1PK"], s("OPERATOR#failover-operator"));
    assert_eq!(config["GSI1SK"], s("GROUP#shop#web"));
    assert_eq!(config["lastUpdated"], s("2026-11-25T03:27:34.123Z"));
    assert_eq!(config["version"], n("1"));
    let timeouts = [
        ("transitoryState", s("5m")),
        ("unhealthyPrimary", s("5m")),
        ("heartbeat", s("1m")),
    ];
    assert_eq!(config["timeouts"], m(&timeouts));
    assert_eq!(config["heartbeatInterval"], s("15s"));
    let cluster = f.get(pk, "CLUSTER#eu-1").await;
    assert_eq!(cluster["GSI1PK"], s("CLUSTER#eu-1"));
    assert_eq!(cluster["GSI1SK"], s("GROUP#shop#web"));
    assert_eq!(
        (&cluster["clusterName"], &cluster["components"]),
        (&s("eu-1"), &s("{}"))
    );
    let lock = f.get(pk, "LOCK").await;
    assert_eq!(lock["expiresAt"], s("2026-11-25T03:27:44.123Z"));
    let history = f.get(pk, "HISTORY#2026-11-25T03:27:34.123Z").await;
    assert_eq!(history["startTime"], s("2026-11-25T03:27:34.123Z"));
    for (what, raw) in [("LOCK", &lock), ("HISTORY", &history)] {
        assert!(
            !raw.contains_key("GSI1PK") && !raw.contains_key("GSI1SK"),
            "{what}: {raw:?}"
        );
        assert_eq!(raw["operatorID"], s(OP), "{what}");
    }
}

#[tokio::test]
async fn a_lock_another_tool_wrote_is_taken_over_only_while_unchanged_since_observed() {
    let f = fixture().await;
    let g = gid("web");
    for record in go_records("web") {
        f.put(record).await;
    }
    let observed = f
        .store
        .load_group(OP, &g)
        .await
        .unwrap()
        .unwrap()
        .lock
        .unwrap();
    // Its holder renews (same token, later expiry) after we looked: the takeover must fail.
    let mut renewed = go_records("web").remove(2);
    renewed.insert("expiresAt".into(), s("2026-11-25T03:29:04.000000001Z"));
    f.put(renewed).await;
    let later = utc("2026-11-25T03:35:00Z");
    match f
        .store
        .take_over_lock(OP, &g, &observed, &lock_request("us-east", later))
        .await
        .unwrap()
    {
        LockOutcome::Held(current) => {
            assert_eq!(current.expires_at, utc("2026-11-25T03:29:04.000000001Z"));
        }
        other => panic!("expected Held, got {other:?}"),
    }
    assert_eq!(f.get(&pk("web"), "LOCK").await["leaseToken"], s("go-token"));

    // Observed again and unchanged: taken over, although the stored expiry has nanoseconds.
    let observed = f
        .store
        .load_group(OP, &g)
        .await
        .unwrap()
        .unwrap()
        .lock
        .unwrap();
    let taken = match f
        .store
        .take_over_lock(OP, &g, &observed, &lock_request("us-east", later))
        .await
        .unwrap()
    {
        LockOutcome::Acquired(lock) => lock,
        other => panic!("expected Acquired, got {other:?}"),
    };
    let raw = f.get(&pk("web"), "LOCK").await;
    assert_eq!(
        (&raw["lockedBy"], &raw["leaseToken"]),
        (&s("us-east"), &s(&taken.lease_token))
    );
    assert_ne!(taken.lease_token, "go-token");
}

#[tokio::test]
async fn a_cancelled_flip_reports_exactly_the_conditions_that_failed() {
    let f = fixture().await;
    let conflict = |version_changed, lock_lost, history_exists| FlipConflict {
        version_changed,
        lock_lost,
        history_exists,
    };
    let cases = [
        ("version", conflict(true, false, false)),
        ("lock", conflict(false, true, false)),
        ("history", conflict(false, false, true)),
        ("all", conflict(true, true, true)),
    ];
    for (case, expected) in cases {
        let g = gid(case);
        let config = GroupConfig::new(OP, g.clone(), "us-east", t0());
        let _ = f.store.create_config(&config).await.unwrap();
        let LockOutcome::Acquired(lock) = f
            .store
            .acquire_lock(OP, &g, &lock_request("eu-west", t0()))
            .await
            .unwrap()
        else {
            panic!("{case}: lock not acquired");
        };
        if expected.version_changed {
            let bumped = GroupConfig {
                suspended: true,
                ..config.clone()
            };
            assert!(matches!(
                f.store.update_config(1, &bumped).await.unwrap(),
                CasOutcome::Applied(_)
            ));
        }
        if expected.lock_lost {
            let released = f
                .store
                .release_lock(OP, &g, &lock.lease_token)
                .await
                .unwrap();
            assert_eq!(released, LeaseOutcome::Done(None));
            let _ = f
                .store
                .acquire_lock(OP, &g, &lock_request("us-east", t0()))
                .await
                .unwrap();
        }
        if expected.history_exists {
            let _ = f
                .store
                .append_history(OP, &g, &history_record("earlier", t0()))
                .await
                .unwrap();
        }
        let request = FlipRequest {
            expected_version: 1,
            lease_token: lock.lease_token.clone(),
            new_config: GroupConfig {
                owner_cluster: "eu-west".into(),
                previous_owner: Some("us-east".into()),
                ..config.clone()
            },
            history: Some(history_record("fo", t0())),
        };
        let outcome = f.store.flip_ownership(&request).await.unwrap();
        assert_eq!(outcome, FlipOutcome::Cancelled(expected), "{case}");
        let after = f.store.load_group(OP, &g).await.unwrap().unwrap();
        assert_eq!(
            after.config.owner_cluster, "us-east",
            "{case}: nothing written"
        );
    }
}
