//! The closing summary of a demo run: every failover with its timings, who serves each group
//! and who owns it, what each cluster's agent cost the store, and the self-check (no two
//! clusters ever served a stateful group at once).

use super::Verdict;
use super::event::FailoverInfo;
use crate::k8s::simulated::Overlap;
use crate::store::GroupId;
use serde_json::{Value, json};
use std::io::Write;
use std::time::Duration;

/// One failover seen during the run.
#[derive(Debug, Clone, PartialEq)]
pub struct FailoverSummary {
    /// The group.
    pub group: GroupId,
    /// Who, where, how.
    pub info: FailoverInfo,
    /// When the request was first seen (since the demo started).
    pub requested_at: Duration,
    /// When its history record was written, if it ended during the run.
    pub ended_at: Option<Duration>,
    /// The history status, if it ended.
    pub outcome: Option<String>,
    /// Source network off to target network on, from the clusters' timeline.
    pub downtime: Option<Duration>,
}

/// A group at the end of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupEnd {
    /// The group.
    pub group: GroupId,
    /// Whether it has a volume replication (CONSISTENCY matters for data).
    pub stateful: bool,
    /// CONFIG's owner when the run ended (`None` when it could not be read).
    pub owner: Option<String>,
    /// The clusters serving it when the run ended.
    pub serving: Vec<String>,
    /// Every stretch during which two clusters served it.
    pub overlaps: Vec<Overlap>,
}

/// What one cluster's agent asked of the store.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRate {
    /// The cluster.
    pub cluster: String,
    /// How long its agent ran (until the end or its kill).
    pub alive: Duration,
    /// Strongly consistent reads per group per heartbeat interval.
    pub reads: f64,
    /// Writes per group per heartbeat interval.
    pub writes: f64,
    /// Requests refused while it was partitioned.
    pub refused: u64,
}

/// Everything the summary shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// When the run ended (since the start).
    pub at: Duration,
    /// Failovers in the order they were requested.
    pub failovers: Vec<FailoverSummary>,
    /// Every group.
    pub groups: Vec<GroupEnd>,
    /// Every cluster's store usage.
    pub requests: Vec<RequestRate>,
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn fmt_overlap(group: &GroupId, o: &Overlap) -> String {
    let to = o.to.map_or("the end of the run".to_string(), |t| {
        format!("{:.3}s", t.as_secs_f64())
    });
    format!(
        "{} and {} both served {group} from {:.3}s to {to}",
        o.clusters.0,
        o.clusters.1,
        o.from.as_secs_f64()
    )
}

impl Summary {
    /// The self-check: an overlap on a stateful group fails the run.
    pub fn verdict(&self) -> Verdict {
        let broken: Vec<String> = self
            .groups
            .iter()
            .filter(|g| g.stateful)
            .flat_map(|g| g.overlaps.iter().map(|o| fmt_overlap(&g.group, o)))
            .collect();
        if broken.is_empty() {
            Verdict::Consistent
        } else {
            Verdict::Overlap(format!(
                "invariant broken, two clusters served a stateful group at once: {}",
                broken.join("; ")
            ))
        }
    }

    /// The summary as one JSON object (`event: "summary"`).
    pub fn to_json(&self) -> Value {
        let failovers: Vec<Value> = self
            .failovers
            .iter()
            .map(|f| {
                json!({
                    "group": f.group.to_string(), "id": f.info.id, "source": f.info.source,
                    "target": f.info.target, "mode": f.info.mode, "automatic": f.info.automatic,
                    "requestedAt": secs(f.requested_at), "endedAt": f.ended_at.map(secs),
                    "duration": f.ended_at.map(|e| secs(e.saturating_sub(f.requested_at))),
                    "downtime": f.downtime.map(secs), "outcome": f.outcome,
                })
            })
            .collect();
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|g| {
                let overlaps: Vec<String> = g
                    .overlaps
                    .iter()
                    .map(|o| fmt_overlap(&g.group, o))
                    .collect();
                json!({
                    "group": g.group.to_string(), "stateful": g.stateful, "owner": g.owner,
                    "serving": g.serving, "overlaps": overlaps,
                })
            })
            .collect();
        let requests: Vec<Value> = self
            .requests
            .iter()
            .map(|r| {
                json!({
                    "cluster": r.cluster, "alive": secs(r.alive),
                    "readsPerGroupPerInterval": round2(r.reads),
                    "writesPerGroupPerInterval": round2(r.writes), "refused": r.refused,
                })
            })
            .collect();
        let verdict = match self.verdict() {
            Verdict::Consistent => Value::from("consistent"),
            Verdict::Overlap(text) => Value::from(text),
        };
        json!({
            "at": secs(self.at), "cluster": null, "event": "summary", "group": null,
            "failovers": failovers, "groups": groups, "requests": requests, "verdict": verdict,
        })
    }

    /// The summary for people.
    pub fn write_text(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out)?;
        writeln!(out, "Summary after {:.1}s", self.at.as_secs_f64())?;
        if self.failovers.is_empty() {
            writeln!(out, "  failovers: none")?;
        } else {
            writeln!(out, "  failovers:")?;
        }
        for f in &self.failovers {
            let kind = if f.info.automatic {
                "automatic"
            } else {
                "planned"
            };
            let end = match (&f.outcome, f.ended_at) {
                (Some(outcome), Some(end)) => format!(
                    "{outcome}, took {:.2}s, downtime {}",
                    end.saturating_sub(f.requested_at).as_secs_f64(),
                    f.downtime.map_or("unknown".to_string(), |d| format!(
                        "{:.2}s",
                        d.as_secs_f64()
                    ))
                ),
                _ => "still in flight when the run ended".to_string(),
            };
            writeln!(
                out,
                "    {} {kind} {} {} -> {} at {:.2}s: {end}",
                f.group,
                f.info.mode,
                f.info.source,
                f.info.target,
                f.requested_at.as_secs_f64()
            )?;
        }
        writeln!(out, "  groups:")?;
        for g in &self.groups {
            let serving = if g.serving.is_empty() {
                "nobody".to_string()
            } else {
                g.serving.join(", ")
            };
            let kind = if g.stateful { "stateful" } else { "stateless" };
            let owner = g.owner.as_deref().unwrap_or("unknown");
            writeln!(
                out,
                "    {} ({kind}): owner {owner}, served by {serving}",
                g.group
            )?;
            for o in &g.overlaps {
                writeln!(out, "      OVERLAP: {}", fmt_overlap(&g.group, o))?;
            }
        }
        writeln!(
            out,
            "  store requests per group per cluster per heartbeat interval (run average, failovers included):"
        )?;
        for r in &self.requests {
            writeln!(
                out,
                "    {}: {:.2} reads, {:.2} writes over {:.1}s{}",
                r.cluster,
                r.reads,
                r.writes,
                r.alive.as_secs_f64(),
                if r.refused > 0 {
                    format!(" ({} refused while partitioned)", r.refused)
                } else {
                    String::new()
                }
            )?;
        }
        match self.verdict() {
            Verdict::Consistent => writeln!(
                out,
                "  check: at most one cluster served each stateful group at every moment"
            ),
            Verdict::Overlap(text) => writeln!(out, "  check FAILED: {text}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(overlap_on_stateful: bool) -> Summary {
        let g = |n: &str| GroupId::new("demo", n).unwrap();
        let overlap = Overlap {
            clusters: ("cluster-1".into(), "cluster-2".into()),
            from: Duration::from_secs(4),
            to: Some(Duration::from_secs(5)),
        };
        Summary {
            at: Duration::from_secs(15),
            failovers: vec![FailoverSummary {
                group: g("app-1"),
                info: FailoverInfo {
                    id: "t1".into(),
                    source: "cluster-1".into(),
                    target: "cluster-2".into(),
                    mode: "CONSISTENCY".into(),
                    automatic: true,
                },
                requested_at: Duration::from_millis(5500),
                ended_at: Some(Duration::from_millis(8000)),
                outcome: Some("FORCED_COMPLETE".into()),
                downtime: Some(Duration::from_millis(1500)),
            }],
            groups: vec![
                GroupEnd {
                    group: g("app-1"),
                    stateful: true,
                    owner: Some("cluster-2".into()),
                    serving: vec!["cluster-2".into()],
                    overlaps: if overlap_on_stateful {
                        vec![overlap.clone()]
                    } else {
                        vec![]
                    },
                },
                GroupEnd {
                    group: g("app-2"),
                    stateful: false,
                    owner: Some("cluster-1".into()),
                    serving: vec!["cluster-1".into()],
                    overlaps: vec![overlap],
                },
            ],
            requests: vec![RequestRate {
                cluster: "cluster-1".into(),
                alive: Duration::from_secs(3),
                reads: 1.0,
                writes: 1.0,
                refused: 0,
            }],
        }
    }

    #[test]
    fn only_an_overlap_on_a_stateful_group_fails_the_check() {
        assert_eq!(summary(false).verdict(), Verdict::Consistent);
        let Verdict::Overlap(text) = summary(true).verdict() else {
            panic!("overlap not found");
        };
        assert!(
            text.contains("cluster-1 and cluster-2 both served demo/app-1 from 4.000s to 5.000s"),
            "{text}"
        );
    }

    #[test]
    fn the_text_summary_shows_failover_timings_serving_clusters_and_request_rates() {
        let mut out = Vec::new();
        summary(false).write_text(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for want in [
            "demo/app-1 automatic CONSISTENCY cluster-1 -> cluster-2 at 5.50s: FORCED_COMPLETE, took 2.50s, downtime 1.50s",
            "demo/app-1 (stateful): owner cluster-2, served by cluster-2",
            "cluster-1: 1.00 reads, 1.00 writes over 3.0s",
            "check: at most one cluster served",
        ] {
            assert!(text.contains(want), "{want:?} missing from:\n{text}");
        }
        let j = summary(false).to_json();
        assert_eq!(j["event"], "summary");
        assert_eq!(j["failovers"][0]["duration"].as_f64(), Some(2.5));
        assert_eq!(j["verdict"], "consistent");
    }
}
