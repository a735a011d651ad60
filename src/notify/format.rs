//! Request bodies: the generic JSON object (every field of the notification) and the
//! Slack-compatible `{"text": "..."}` with one readable line.

use super::config::Format;
use super::{Kind, Notification};

/// The body of `n` for a webhook of `format`.
pub fn body(format: Format, n: &Notification) -> Vec<u8> {
    let value = match format {
        Format::Json => serde_json::to_value(n),
        Format::Slack => Ok(serde_json::json!({ "text": slack_text(n) })),
    };
    // Plain strings, numbers and times: serialising them cannot fail; an empty object is sent
    // rather than nothing if it ever did.
    value
        .and_then(|v| serde_json::to_vec(&v))
        .unwrap_or_else(|_| b"{}".to_vec())
}

/// One line for people: a marker for what kind of news it is, the summary, the cluster that
/// sent it and the key to find it in logs and history.
pub fn slack_text(n: &Notification) -> String {
    let marker = match n.kind {
        Kind::FailoverStarted | Kind::FailoverPhase => ":arrows_counterclockwise:",
        Kind::FailoverEnded if n.outcome.as_deref() == Some("SUCCESS") => ":white_check_mark:",
        Kind::FailoverEnded | Kind::FailoverStuck | Kind::ClusterFenced => ":warning:",
        Kind::AutomaticFailoverDecided => ":rotating_light:",
        Kind::ClusterUnfenced => ":white_check_mark:",
    };
    let line = format!(
        "{marker} [kubectl-failover] {} (from {}, {})",
        n.summary, n.cluster, n.key
    );
    // A reason typed by a person may hold line breaks: one line reads best in a channel.
    line.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ended() -> Notification {
        Notification {
            kind: Kind::FailoverEnded,
            key: "t-1".into(),
            dedup_key: "t-1/FailoverEnded".into(),
            group: "shop/web".into(),
            cluster: "west".into(),
            source: Some("east".into()),
            target: Some("west".into()),
            mode: Some("CONSISTENCY".into()),
            automatic: Some(false),
            reason: Some("maintenance".into()),
            initiator: None,
            phase: None,
            outcome: Some("SUCCESS".into()),
            requested_at: None,
            duration_seconds: Some(12),
            downtime_seconds: Some(4),
            at: chrono::Utc.with_ymd_and_hms(2025, 3, 1, 10, 0, 12).unwrap(),
            summary: "shop/web: failover east -> west ended SUCCESS, took 12s, downtime 4s".into(),
        }
    }

    #[test]
    fn the_json_body_has_every_known_field_in_camel_case_and_leaves_out_the_unknown() {
        let v: serde_json::Value = serde_json::from_slice(&body(Format::Json, &ended())).unwrap();
        assert_eq!(v["kind"], "FailoverEnded");
        assert_eq!(v["key"], "t-1");
        assert_eq!(v["dedupKey"], "t-1/FailoverEnded");
        assert_eq!(v["durationSeconds"], 12);
        assert_eq!(v["downtimeSeconds"], 4);
        assert_eq!(v["at"], "2025-03-01T10:00:12Z");
        assert!(
            v.get("initiator").is_none() && v.get("phase").is_none(),
            "{v}"
        );
    }

    #[test]
    fn the_slack_body_is_one_line_of_text() {
        let v: serde_json::Value = serde_json::from_slice(&body(Format::Slack, &ended())).unwrap();
        let text = v["text"].as_str().unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1);
        assert!(!text.contains('\n'));
        assert!(
            text.starts_with(":white_check_mark: [kubectl-failover] shop/web"),
            "{text}"
        );
        assert!(text.ends_with("(from west, t-1)"), "{text}");
    }
}
