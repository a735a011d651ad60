//! Snapshot tests of `status` output: fixed records in a MemoryStore, a ManualClock, exact text.

use super::*;
use crate::clock::ManualClock;
use crate::ops::status::{ListScope, group_status, list_status};
use crate::store::memory::MemoryStore;
use crate::store::{
    ClusterState, ClusterStatus, ComponentStatus, CoordinationStore, FailoverRef, GroupConfig,
    GroupId, Health, LockOutcome, LockRequest,
};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

const OP: &str = "op";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn ago(seconds: i64) -> DateTime<Utc> {
    now() - Duration::seconds(seconds)
}

fn cluster(name: &str, health: Health, state: ClusterState, age: i64, seq: u64) -> ClusterStatus {
    ClusterStatus {
        cluster_name: name.into(),
        health,
        state,
        last_heartbeat: Some(ago(age)),
        heartbeat_seq: Some(seq),
        components: BTreeMap::new(),
        ack: None,
        fenced: false,
    }
}

/// shop/web: owner cluster-a, cluster-c stale and claiming PRIMARY, cluster-b holding the lock
/// with 12s left.
async fn shop_web(store: &MemoryStore) -> GroupId {
    let id = GroupId::new("shop", "web").unwrap();
    let mut config = GroupConfig::new(OP, id.clone(), "cluster-a", ago(600));
    config.previous_owner = Some("cluster-b".into());
    config.version = 7;
    config.last_failover = Some(FailoverRef {
        name: "fo-20260301".into(),
        namespace: "shop".into(),
        timestamp: ago(2 * 3600 + 5 * 60),
    });
    let _ = store.create_config(&config).await.unwrap();
    let mut b = cluster("cluster-b", Health::Degraded, ClusterState::Standby, 12, 40);
    b.components.insert(
        "volrep/data".into(),
        ComponentStatus {
            health: Health::Degraded,
            message: "resyncing".into(),
        },
    );
    b.components.insert(
        "deploy/web".into(),
        ComponentStatus {
            health: Health::Ok,
            message: String::new(),
        },
    );
    for c in [
        cluster("cluster-a", Health::Ok, ClusterState::Primary, 5, 120),
        b,
        cluster("cluster-c", Health::Ok, ClusterState::Primary, 95, 77),
    ] {
        store.put_cluster_status(OP, &id, &c).await.unwrap();
    }
    let request = LockRequest {
        holder: "cluster-b".into(),
        reason: "promote cluster-b".into(),
        lease: std::time::Duration::from_secs(30),
        now: ago(18),
    };
    let taken = store.acquire_lock(OP, &id, &request).await.unwrap();
    assert!(matches!(taken, LockOutcome::Acquired(_)));
    id
}

/// blog/api: suspended, one healthy cluster, a lock whose lease lapsed 30s ago.
async fn blog_api(store: &MemoryStore) -> GroupId {
    let id = GroupId::new("blog", "api").unwrap();
    let mut config = GroupConfig::new(OP, id.clone(), "cluster-b", ago(60));
    config.suspended = true;
    config.suspension_reason = Some("maintenance window".into());
    let _ = store.create_config(&config).await.unwrap();
    let b = cluster("cluster-b", Health::Ok, ClusterState::Primary, 3, 9);
    store.put_cluster_status(OP, &id, &b).await.unwrap();
    let request = LockRequest {
        holder: "cluster-a".into(),
        reason: String::new(),
        lease: std::time::Duration::from_secs(30),
        now: ago(60),
    };
    let _ = store.acquire_lock(OP, &id, &request).await.unwrap();
    id
}

async fn render_one(store: &MemoryStore, id: &GroupId, format: OutputFormat) -> String {
    let clock = ManualClock::starting_at(now());
    let view = group_status(store, &clock, OP, id).await.unwrap();
    let mut out = Vec::new();
    render_group(&view, format, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

async fn render_many(store: MemoryStore, format: OutputFormat) -> (String, bool) {
    let clock = ManualClock::starting_at(now());
    let store: Arc<dyn CoordinationStore> = Arc::new(store);
    let list = list_status(store, &clock, OP, &ListScope::AllNamespaces)
        .await
        .unwrap();
    let mut out = Vec::new();
    let empty = render_list(&list, format, &mut out).unwrap();
    (String::from_utf8(out).unwrap(), empty)
}

#[tokio::test]
async fn one_group_table_shows_owner_roles_stale_heartbeat_and_lock_countdown() {
    let store = MemoryStore::new();
    let id = shop_web(&store).await;
    assert_eq!(
        render_one(&store, &id, OutputFormat::Table).await,
        "\
Group: shop/web   Owner: cluster-a   Previous owner: cluster-b   Version: 7
Suspended: no   Last failover: fo-20260301 (125m ago)

CLUSTER     ROLE                        HEALTH     HEARTBEAT
cluster-a   PRIMARY                     OK         5s
cluster-b   STANDBY                     DEGRADED   12s
cluster-c   STANDBY (reports PRIMARY)   OK         95s (stale)

Lock: held by cluster-b (promote cluster-b), expires in 12s
"
    );
}

#[tokio::test]
async fn one_group_wide_table_adds_timeouts_sequence_and_components() {
    let store = MemoryStore::new();
    let id = shop_web(&store).await;
    assert_eq!(
        render_one(&store, &id, OutputFormat::Wide).await,
        "\
Group: shop/web   Owner: cluster-a   Previous owner: cluster-b   Version: 7
Suspended: no   Last failover: fo-20260301 (125m ago)
Timeouts: heartbeat 1m, unhealthy primary 5m, transitory state 5m   Heartbeat interval: 15s
Operator: op   Epoch: 1   Last updated: 2026-03-01T11:50:00Z

CLUSTER     ROLE                        HEALTH     HEARTBEAT     SEQ   LAST-HEARTBEAT         COMPONENTS
cluster-a   PRIMARY                     OK         5s            120   2026-03-01T11:59:55Z   <none>
cluster-b   STANDBY                     DEGRADED   12s           40    2026-03-01T11:59:48Z   deploy/web=OK,volrep/data=DEGRADED
cluster-c   STANDBY (reports PRIMARY)   OK         95s (stale)   77    2026-03-01T11:58:25Z   <none>

Lock: held by cluster-b (promote cluster-b), expires in 12s (acquired 2026-03-01T11:59:42Z, expires 2026-03-01T12:00:12Z)
"
    );
}

#[tokio::test]
async fn a_suspended_group_with_a_lapsed_lease_and_a_silent_owner_says_so() {
    let store = MemoryStore::new();
    let id = blog_api(&store).await;
    // Make the owner someone who never wrote a record, to see the synthetic row.
    let mut snapshot = store.load_group(OP, &id).await.unwrap().unwrap();
    snapshot.config.owner_cluster = "cluster-z".into();
    let view = crate::ops::status::group_view(&snapshot, now());
    let mut out = Vec::new();
    render_group(&view, OutputFormat::Table, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "\
Group: blog/api   Owner: cluster-z   Previous owner: <none>   Version: 1
Suspended: yes (maintenance window)   Last failover: <none>

CLUSTER     ROLE                        HEALTH    HEARTBEAT
cluster-b   STANDBY (reports PRIMARY)   OK        3s
cluster-z   PRIMARY (no record)         UNKNOWN   never

Lock: held by cluster-a, lease lapsed 30s ago
"
    );
}

#[tokio::test]
async fn many_groups_table_has_one_row_per_group_sorted_by_namespace() {
    let store = MemoryStore::new();
    shop_web(&store).await;
    blog_api(&store).await;
    let (text, empty) = render_many(store, OutputFormat::Table).await;
    assert!(!empty);
    assert_eq!(
        text,
        "\
NAMESPACE   NAME   OWNER       CLUSTERS   LOCK                 SUSPENDED   VERSION   LAST-FAILOVER
blog        api    cluster-b   1/1        cluster-a (lapsed)   yes         1         <none>
shop        web    cluster-a   1/3        cluster-b            no          7         125m
"
    );
}

#[tokio::test]
async fn many_groups_wide_table_names_unhealthy_clusters_epoch_phase_and_lock_countdown() {
    let store = MemoryStore::new();
    shop_web(&store).await;
    let (text, _) = render_many(store, OutputFormat::Wide).await;
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].ends_with(
            "PREVIOUS-OWNER   NOT-HEALTHY           HEARTBEAT-TIMEOUT   INTERVAL   EPOCH   PHASE    LOCK-EXPIRES"
        ),
        "{text}"
    );
    assert!(
        lines[1].ends_with(
            "cluster-b        cluster-b,cluster-c   1m                  15s        1       <none>   in 12s"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn an_empty_listing_writes_no_table_but_json_still_writes_a_document() {
    let (text, empty) = render_many(MemoryStore::new(), OutputFormat::Table).await;
    assert!(empty);
    assert!(text.is_empty());
    let (json, empty) = render_many(MemoryStore::new(), OutputFormat::Json).await;
    assert!(!empty);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc, serde_json::json!({"groups": []}));
}

#[tokio::test]
async fn one_group_json_is_the_full_view_with_camel_case_keys_and_numeric_ages() {
    let store = MemoryStore::new();
    let id = shop_web(&store).await;
    let doc: serde_json::Value =
        serde_json::from_str(&render_one(&store, &id, OutputFormat::Json).await).unwrap();
    assert_eq!(doc["namespace"], "shop");
    assert_eq!(doc["name"], "web");
    assert_eq!(doc["ownerCluster"], "cluster-a");
    assert_eq!(doc["previousOwner"], "cluster-b");
    assert_eq!(doc["version"], 7);
    assert_eq!(doc["suspended"], false);
    assert_eq!(doc["timeouts"]["heartbeat"], "1m");
    assert_eq!(doc["heartbeatInterval"], "15s");
    assert_eq!(doc["lastFailover"]["ageSeconds"], 7500);
    assert_eq!(doc["lastFailover"]["timestamp"], "2026-03-01T09:55:00Z");
    assert_eq!(doc["observedAt"], "2026-03-01T12:00:00Z");
    assert_eq!(doc["healthyClusters"], 1);
    let c = &doc["clusters"][2];
    assert_eq!(c["name"], "cluster-c");
    assert_eq!(c["role"], "STANDBY");
    assert_eq!(c["reportedState"], "PRIMARY");
    assert_eq!(c["stateMismatch"], true);
    assert_eq!(c["heartbeatAgeSeconds"], 95);
    assert_eq!(c["heartbeatStale"], true);
    assert_eq!(c["heartbeatSeq"], 77);
    assert_eq!(
        doc["clusters"][1]["components"]["volrep/data"]["message"],
        "resyncing"
    );
    assert_eq!(doc["lock"]["lockedBy"], "cluster-b");
    assert_eq!(doc["lock"]["expiresInSeconds"], 12);
    assert_eq!(doc["lock"]["lapsed"], false);
    assert!(doc["lock"].get("leaseToken").is_none());
}

#[tokio::test]
async fn yaml_output_parses_back_to_the_same_document_as_json() {
    let store = MemoryStore::new();
    let id = shop_web(&store).await;
    blog_api(&store).await;
    let yaml = render_one(&store, &id, OutputFormat::Yaml).await;
    let json = render_one(&store, &id, OutputFormat::Json).await;
    let from_yaml: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    let from_json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(from_yaml, from_json, "{yaml}");
    assert!(yaml.contains("ownerCluster: cluster-a"), "{yaml}");

    let (many, _) = render_many(store, OutputFormat::Yaml).await;
    let doc: serde_json::Value = serde_saphyr::from_str(&many).unwrap();
    let names: Vec<_> = doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].clone())
        .collect();
    assert_eq!(names, ["api", "web"]);
    assert_eq!(doc["groups"][0]["suspensionReason"], "maintenance window");
    assert_eq!(doc["groups"][0]["lock"]["expiresInSeconds"], -30);
}

#[tokio::test]
async fn a_transition_in_flight_shows_its_phase_in_one_group_and_in_the_wide_listing() {
    let store = MemoryStore::new();
    let id = shop_web(&store).await;
    let snapshot = store.load_group(OP, &id).await.unwrap().unwrap();
    let mut next = snapshot.config.clone();
    next.transition = Some(crate::store::Transition {
        id: "promote-b-1".into(),
        source: "cluster-a".into(),
        target: "cluster-b".into(),
        mode: crate::store::FailoverMode::Consistency,
        force: false,
        automatic: false,
        reason: "drill".into(),
        initiator: "alice".into(),
        phase: crate::store::Phase::SourceDeactivating,
        requested_at: ago(20),
        source_stopped_at: None,
        drill: false,
    });
    let _ = store.update_config(next.version, &next).await.unwrap();
    let text = render_one(&store, &id, OutputFormat::Table).await;
    assert!(
        text.contains(
            "Transition: promote-b-1 cluster-a -> cluster-b (CONSISTENCY), phase SOURCE_DEACTIVATING"
        ),
        "{text}"
    );
    let (wide, _) = render_many(store, OutputFormat::Wide).await;
    assert!(
        wide.lines()
            .nth(1)
            .unwrap()
            .contains("   SOURCE_DEACTIVATING   in 12s"),
        "{wide}"
    );
}

#[tokio::test]
async fn the_all_namespaces_summary_counts_health_suspension_locks_and_owners() {
    let store = MemoryStore::new();
    shop_web(&store).await;
    blog_api(&store).await;
    let store: Arc<dyn CoordinationStore> = Arc::new(store);
    let clock = ManualClock::starting_at(now());
    let list = list_status(store, &clock, OP, &ListScope::AllNamespaces)
        .await
        .unwrap();
    assert_eq!(
        summary_line(&list),
        "2 groups: 1 all healthy, 1 not, 1 suspended, 0 in transition, 2 locked; primary: cluster-a 1, cluster-b 1"
    );
}
