//! Snapshot tests of `history` output: fixed records in a MemoryStore, a ManualClock, exact text.

use super::*;
use crate::clock::ManualClock;
use crate::store::memory::MemoryStore;
use crate::store::{CoordinationStore, GroupConfig, GroupId, HistoryRecord};
use chrono::{DateTime, Duration, Utc};

const OP: &str = "op";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn record(name: &str, minutes_ago: i64, status: &str, from: &str, to: &str) -> HistoryRecord {
    let start = now() - Duration::minutes(minutes_ago);
    HistoryRecord {
        failover_name: name.into(),
        source_cluster: from.into(),
        target_cluster: to.into(),
        start_time: start,
        end_time: Some(start + Duration::seconds(95)),
        status: status.into(),
        reason: "planned maintenance".into(),
        downtime: Some(12),
        duration: Some(95),
        mode: Some("CONSISTENCY".into()),
        automatic: Some(false),
        initiator: Some("alice".into()),
        drill: false,
    }
}

async fn store_with(records: &[HistoryRecord], with_config: bool) -> (MemoryStore, GroupId) {
    let store = MemoryStore::new();
    let id = GroupId::new("shop", "web").unwrap();
    if with_config {
        let config = GroupConfig::new(OP, id.clone(), "cluster-a", now());
        let _ = store.create_config(&config).await.unwrap();
    }
    for r in records {
        let _ = store.append_history(OP, &id, r).await.unwrap();
    }
    (store, id)
}

async fn render(
    store: &MemoryStore,
    id: &GroupId,
    limit: usize,
    format: OutputFormat,
) -> (String, String) {
    let clock = ManualClock::starting_at(now());
    let view = group_history(store, &clock, OP, id, limit).await.unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    render_history(&view, format, &mut out, &mut err).unwrap();
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn three() -> Vec<HistoryRecord> {
    let mut auto = record(
        "auto-1",
        3 * 24 * 60,
        "FORCED_COMPLETE",
        "cluster-b",
        "cluster-a",
    );
    auto.automatic = Some(true);
    auto.reason = "primary heartbeat stale".into();
    auto.initiator = None;
    auto.downtime = None;
    let mut rolled = record("fo-2", 30, "ROLLED_BACK", "cluster-a", "cluster-b");
    rolled.reason = String::new();
    // Oldest first, to show that the order comes from the records and not from insertion.
    vec![
        auto,
        record("fo-1", 2 * 60 + 5, "SUCCESS", "cluster-a", "cluster-b"),
        rolled,
    ]
}

#[tokio::test]
async fn history_table_is_newest_first_with_ages_and_durations() {
    let (store, id) = store_with(&three(), true).await;
    let (out, err) = render(&store, &id, 20, OutputFormat::Table).await;
    assert_eq!(
        out,
        "\
START   SOURCE      TARGET      STATUS            DURATION   DOWNTIME   REASON
30m     cluster-a   cluster-b   ROLLED_BACK       95s        12s        <none>
125m    cluster-a   cluster-b   SUCCESS           95s        12s        planned maintenance
3d      cluster-b   cluster-a   FORCED_COMPLETE   95s        <none>     primary heartbeat stale
"
    );
    assert_eq!(err, "");
}

#[tokio::test]
async fn wide_history_adds_name_mode_automatic_initiator_and_timestamps() {
    let (store, id) = store_with(&three(), true).await;
    let (out, _) = render(&store, &id, 20, OutputFormat::Wide).await;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with("START                  SOURCE"),
        "{out}"
    );
    assert!(
        lines[0].ends_with(
            "REASON                    FAILOVER-NAME   MODE          AUTOMATIC   INITIATOR   END"
        ),
        "{out}"
    );
    assert!(
        lines[1].starts_with("2026-03-01T11:30:00Z   cluster-a"),
        "{out}"
    );
    assert!(
        lines[3].ends_with(
            "auto-1          CONSISTENCY   yes         <none>      2026-02-26T12:01:35Z"
        ),
        "{out}"
    );
}

#[tokio::test]
async fn the_limit_keeps_only_the_newest_failovers() {
    let (store, id) = store_with(&three(), true).await;
    let (out, _) = render(&store, &id, 2, OutputFormat::Table).await;
    let starts: Vec<&str> = out.lines().skip(1).map(|l| &l[..4]).collect();
    assert_eq!(starts, ["30m ", "125m"]);
}

#[tokio::test]
async fn an_empty_history_says_so_on_stderr_and_prints_no_table() {
    let (store, id) = store_with(&[], true).await;
    let (out, err) = render(&store, &id, 20, OutputFormat::Table).await;
    assert_eq!(out, "");
    assert_eq!(err, "No failovers recorded for shop/web.\n");
}

#[tokio::test]
async fn history_without_config_is_shown_with_a_warning() {
    let (store, id) = store_with(&three(), false).await;
    let (out, err) = render(&store, &id, 20, OutputFormat::Table).await;
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(err.contains("shop/web has no CONFIG record"), "{err}");
}

#[tokio::test]
async fn json_and_yaml_history_carry_every_field_newest_first() {
    let (store, id) = store_with(&three(), true).await;
    let (json, _) = render(&store, &id, 20, OutputFormat::Json).await;
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["namespace"], "shop");
    assert_eq!(doc["name"], "web");
    assert_eq!(doc["configMissing"], false);
    let names: Vec<_> = doc["failovers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["failoverName"].clone())
        .collect();
    assert_eq!(names, ["fo-2", "fo-1", "auto-1"]);
    let first = &doc["failovers"][1];
    assert_eq!(first["startTime"], "2026-03-01T09:55:00Z");
    assert_eq!(first["ageSeconds"], 7500);
    assert_eq!(first["durationSeconds"], 95);
    assert_eq!(first["downtimeSeconds"], 12);
    assert_eq!(first["mode"], "CONSISTENCY");
    assert_eq!(first["automatic"], false);
    assert_eq!(first["initiator"], "alice");
    let (yaml, _) = render(&store, &id, 20, OutputFormat::Yaml).await;
    let from_yaml: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(from_yaml, doc, "{yaml}");
}

#[tokio::test]
async fn drills_get_a_drill_column_and_a_drill_field() {
    let mut drill = record("drill-west-1", 10, "SUCCESS", "cluster-a", "cluster-b");
    drill.drill = true;
    let records = vec![
        drill,
        record("fo-1", 60, "SUCCESS", "cluster-b", "cluster-a"),
    ];
    let (store, id) = store_with(&records, true).await;
    let (out, _) = render(&store, &id, 20, OutputFormat::Table).await;
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].ends_with("   DRILL"), "{out}");
    assert!(lines[1].ends_with("yes"), "{out}");
    assert!(lines[2].ends_with("no"), "{out}");
    let (json, _) = render(&store, &id, 20, OutputFormat::Json).await;
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["failovers"][0]["drill"], true);
    assert_eq!(doc["failovers"][1]["drill"], false);

    // A history without drills keeps its columns.
    let (store, id) = store_with(&three(), true).await;
    let (out, _) = render(&store, &id, 20, OutputFormat::Table).await;
    assert!(!out.contains("DRILL"), "{out}");
}
