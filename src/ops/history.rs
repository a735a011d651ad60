//! The history use case: a group's failovers, newest first, as serializable views with ages from
//! an injected clock. History outlives CONFIG: records of a group whose CONFIG was deleted are
//! still shown, because they are the audit trail.

use crate::clock::Clock;
use crate::error::Error;
use crate::ops::seconds_between;
use crate::store::{CoordinationStore, GroupId, HistoryRecord};
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;

/// Most records asked for in one page: bounds one DynamoDB response even for a large `--limit`.
pub const PAGE_SIZE: usize = 100;

/// A group's failovers, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryView {
    /// Namespace of the FailoverGroup.
    pub namespace: String,
    /// Name of the FailoverGroup.
    pub name: String,
    /// The group has history but no CONFIG record any more (someone deleted it).
    pub config_missing: bool,
    /// The failovers, newest first, at most the requested number.
    pub failovers: Vec<FailoverView>,
    /// The instant every age in this view is measured from.
    pub observed_at: DateTime<Utc>,
}

/// One recorded failover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailoverView {
    /// Name of the Failover resource, or a generated name.
    pub failover_name: String,
    /// Cluster that was PRIMARY before.
    pub source_cluster: String,
    /// Cluster that was to become PRIMARY.
    pub target_cluster: String,
    /// When it started.
    pub start_time: DateTime<Utc>,
    /// Seconds since it started.
    pub age_seconds: i64,
    /// When it ended.
    pub end_time: Option<DateTime<Utc>>,
    /// SUCCESS, FAILED, ROLLED_BACK, FORCED_COMPLETE (or another tool's value, verbatim).
    pub status: String,
    /// Why it happened.
    pub reason: String,
    /// Seconds the whole transition took.
    pub duration_seconds: Option<u64>,
    /// Seconds the application was not served.
    pub downtime_seconds: Option<u64>,
    /// CONSISTENCY or UPTIME.
    pub mode: Option<String>,
    /// The controller started it on its own.
    pub automatic: Option<bool>,
    /// Who asked for it.
    pub initiator: Option<String>,
    /// A rehearsal by `kubectl failover drill`, not a real move.
    pub drill: bool,
}

impl FailoverView {
    fn new(record: HistoryRecord, now: DateTime<Utc>) -> Self {
        FailoverView {
            age_seconds: seconds_between(record.start_time, now),
            failover_name: record.failover_name,
            source_cluster: record.source_cluster,
            target_cluster: record.target_cluster,
            start_time: record.start_time,
            end_time: record.end_time,
            status: record.status,
            reason: record.reason,
            duration_seconds: record.duration,
            downtime_seconds: record.downtime,
            mode: record.mode,
            automatic: record.automatic,
            initiator: record.initiator,
            drill: record.drill,
        }
    }
}

/// Up to `limit` of a group's newest failovers, following the store's pages until enough are
/// collected. `Error::GroupNotFound` only when the group has neither CONFIG nor history.
pub async fn group_history(
    store: &dyn CoordinationStore,
    clock: &dyn Clock,
    operator_id: &str,
    group: &GroupId,
    limit: usize,
) -> Result<HistoryView, Error> {
    let (records, snapshot) = tokio::try_join!(
        collect(store, operator_id, group, limit),
        store.load_group(operator_id, group),
    )?;
    if records.is_empty() && snapshot.is_none() {
        return Err(Error::GroupNotFound {
            group: group.to_string(),
            operator_id: operator_id.to_string(),
            store: store.describe(),
        });
    }
    let now = clock.now();
    Ok(HistoryView {
        namespace: group.namespace.clone(),
        name: group.name.clone(),
        config_missing: snapshot.is_none(),
        failovers: records
            .into_iter()
            .map(|r| FailoverView::new(r, now))
            .collect(),
        // Milliseconds, like every timestamp in the table; nanoseconds would only be noise.
        observed_at: now.trunc_subsecs(3),
    })
}

async fn collect(
    store: &dyn CoordinationStore,
    operator_id: &str,
    group: &GroupId,
    limit: usize,
) -> Result<Vec<HistoryRecord>, crate::store::StoreError> {
    let mut records: Vec<HistoryRecord> = Vec::new();
    let mut page: Option<String> = None;
    while records.len() < limit {
        let want = (limit - records.len()).min(PAGE_SIZE);
        let got = store
            .history(operator_id, group, want, page.as_deref())
            .await?;
        records.extend(got.records);
        // Stop on the last page, and on a cursor that does not move (a misbehaving store would
        // otherwise loop forever).
        match got.next_page {
            Some(next) if page.as_deref() != Some(next.as_str()) => page = Some(next),
            _ => break,
        }
    }
    records.truncate(limit);
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::memory::MemoryStore;
    use crate::store::{AppendOutcome, GroupConfig};

    const OP: &str = "op";

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn record(minutes_after_t0: i64) -> HistoryRecord {
        HistoryRecord {
            failover_name: format!("fo-{minutes_after_t0}"),
            source_cluster: "a".into(),
            target_cluster: "b".into(),
            start_time: t0() + chrono::Duration::minutes(minutes_after_t0),
            end_time: None,
            status: "SUCCESS".into(),
            reason: "test".into(),
            downtime: Some(3),
            duration: Some(9),
            mode: None,
            automatic: None,
            initiator: None,
            drill: false,
        }
    }

    async fn store_with_history(n: i64, with_config: bool) -> (MemoryStore, GroupId) {
        let store = MemoryStore::new();
        let id = GroupId::new("shop", "web").unwrap();
        if with_config {
            let _ = store
                .create_config(&GroupConfig::new(OP, id.clone(), "a", t0()))
                .await
                .unwrap();
        }
        // Appended out of order on purpose: the order shown must come from the timestamps.
        for m in (0..n).rev() {
            let appended = store.append_history(OP, &id, &record(m)).await.unwrap();
            assert_eq!(appended, AppendOutcome::Appended);
        }
        (store, id)
    }

    #[tokio::test]
    async fn history_is_newest_first_and_stops_at_the_limit_across_pages() {
        let (store, id) = store_with_history(PAGE_SIZE as i64 + 30, true).await;
        let clock = ManualClock::starting_at(t0() + chrono::Duration::hours(10));
        let limit = PAGE_SIZE + 5;
        let view = group_history(&store, &clock, OP, &id, limit).await.unwrap();
        assert_eq!(view.failovers.len(), limit);
        let starts: Vec<_> = view.failovers.iter().map(|f| f.start_time).collect();
        let mut sorted = starts.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(starts, sorted);
        assert_eq!(view.failovers[0].failover_name, "fo-129");
        assert_eq!(view.failovers[0].age_seconds, 10 * 3600 - 129 * 60);
        assert!(!view.config_missing);
    }

    #[tokio::test]
    async fn a_limit_larger_than_the_history_returns_everything() {
        let (store, id) = store_with_history(3, true).await;
        let clock = ManualClock::starting_at(t0());
        let view = group_history(&store, &clock, OP, &id, 20).await.unwrap();
        let names: Vec<_> = view
            .failovers
            .iter()
            .map(|f| f.failover_name.as_str())
            .collect();
        assert_eq!(names, ["fo-2", "fo-1", "fo-0"]);
    }

    #[tokio::test]
    async fn history_without_config_is_still_shown_and_flagged() {
        let (store, id) = store_with_history(2, false).await;
        let clock = ManualClock::starting_at(t0());
        let view = group_history(&store, &clock, OP, &id, 20).await.unwrap();
        assert_eq!(view.failovers.len(), 2);
        assert!(view.config_missing);
    }

    #[tokio::test]
    async fn a_group_with_config_but_no_history_is_an_empty_view() {
        let (store, id) = store_with_history(0, true).await;
        let clock = ManualClock::starting_at(t0());
        let view = group_history(&store, &clock, OP, &id, 20).await.unwrap();
        assert!(view.failovers.is_empty());
    }

    #[tokio::test]
    async fn a_group_with_neither_config_nor_history_is_not_found() {
        let (store, id) = store_with_history(0, false).await;
        let clock = ManualClock::starting_at(t0());
        let err = group_history(&store, &clock, OP, &id, 20)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::GroupNotFound { ref group, .. } if group == "shop/web"));
    }
}
