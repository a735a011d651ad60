//! What a running controller exports: the real `kubectl-failover run` started against an
//! in-memory API server and moto, its /metrics read and compared with the metrics the alerts and
//! the dashboard select.

use super::*;
use crate::run_binary::{self, http_get};

/// The metric names a Prometheus scraping `text` stores: every sample's name, and for each
/// family (`# TYPE NAME KIND`, also printed for a family that has no series yet, as a group's
/// gauge before anything set it) the names its samples get: `NAME_total` for a counter (the
/// TYPE line has the name without `_total`), `NAME_bucket`/`_sum`/`_count` for a histogram.
pub fn exported_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        if let Some(family) = line.strip_prefix("# TYPE ") {
            let mut words = family.split_whitespace();
            let (Some(name), Some(kind)) = (words.next(), words.next()) else {
                continue;
            };
            let suffixes: &[&str] = match kind {
                "counter" if name.ends_with("_total") => &[""],
                "counter" => &["_total"],
                "histogram" | "gaugehistogram" => &["_bucket", "_sum", "_count"],
                "summary" => &["", "_sum", "_count"],
                "info" => &["_info"],
                _ => &[""],
            };
            names.extend(suffixes.iter().map(|s| format!("{name}{s}")));
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            names.insert(line[..end].to_string());
        }
    }
    names
}

/// Every (alert or panel, metric) whose metric `exported` lacks.
pub fn missing_metrics(exported: &BTreeSet<String>) -> Vec<String> {
    let mut missing = Vec::new();
    for q in all_queries() {
        let expr = q.parse().unwrap_or_else(|e| panic!("{e}"));
        let mut found = Vec::new();
        selectors(&expr, &mut found);
        for vs in found {
            if !selects_one_of(vs, exported) {
                let line = format!(
                    "{} uses {}, which a running controller does not export (renamed? update deploy/monitoring)",
                    q.source,
                    shown(vs)
                );
                if !missing.contains(&line) {
                    missing.push(line);
                }
            }
        }
    }
    missing
}

/// The real `kubectl-failover run` (in-memory API server through a kubeconfig, moto's DynamoDB)
/// with one FailoverGroup: once the group has ticked (PRIMARY in status, heartbeat ages on
/// /metrics), every metric of the alerts and the dashboard is on /metrics, as a series or, for
/// a family without series yet (no transition running, no budget wait), as its `# TYPE` line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_of_the_alerts_and_the_dashboard_is_exported_by_a_running_controller() {
    let server = api_server().await;
    // The fixture's 1 s / 4 s timings are too tight for a 20 s probe budget: the group is
    // reported in `liveness_budget_short`, which has a series only then.
    let mut run = run_binary::start(
        &server,
        "monitoring",
        &[("LIVENESS_BUDGET", "20s")],
        Stdio::null(),
    );
    let addr = run.addr.clone();

    let fgs: Api<FailoverGroup> = Api::namespaced(server.client(), NS);
    fgs.create(&PostParams::default(), &failover_group("api", "east"))
        .await
        .unwrap();
    eventually(Duration::from_secs(60), "PRIMARY in status", || async {
        let s = fgs.get("api").await.ok()?.status?;
        (s.role == Some(GroupRole::Primary)).then_some(())
    })
    .await;
    // The group's labelled series exist once its agent has ticked.
    let mut metrics = eventually(
        Duration::from_secs(20),
        "the group's heartbeat age on /metrics",
        || async {
            let response = http_get(&addr, "/metrics").await?;
            let (_, body) = response.split_once("\r\n\r\n")?;
            body.contains("kubectl_failover_heartbeat_age_seconds{")
                .then(|| body.to_string())
        },
    )
    .await;
    // A family registered late would show within a few ticks: look again before failing.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut missing = missing_metrics(&exported_names(&metrics));
    while !missing.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some(response) = http_get(&addr, "/metrics").await
            && let Some((_, body)) = response.split_once("\r\n\r\n")
        {
            metrics = body.to_string();
            missing = missing_metrics(&exported_names(&metrics));
        }
    }
    let _ = run.child.kill().await;
    assert!(
        missing.is_empty(),
        "{}\n\nthe controller exports: {}",
        missing.join("\n"),
        exported_names(&metrics)
            .into_iter()
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[test]
fn exported_names_read_samples_and_families_without_series() {
    let text = "# HELP kubectl_failover_transitions Failovers.\n\
                # TYPE kubectl_failover_transitions counter\n\
                # HELP kubectl_failover_fenced Fenced.\n\
                # TYPE kubectl_failover_fenced gauge\n\
                kubectl_failover_fenced{group=\"shop/api\"} 0\n\
                kubectl_failover_leader 1\n\
                # EOF\n";
    let names = exported_names(text);
    let want: BTreeSet<String> = [
        "kubectl_failover_transitions_total",
        "kubectl_failover_fenced",
        "kubectl_failover_leader",
    ]
    .map(String::from)
    .into();
    assert_eq!(names, want);
    let by_name = promql_parser::parser::parse(r#"{__name__=~"kubectl_failover_fen.*"}"#).unwrap();
    let mut found = Vec::new();
    selectors(&by_name, &mut found);
    assert!(selects_one_of(found[0], &names));
    let renamed =
        promql_parser::parser::parse("rate(kubectl_failover_transition_total[5m])").unwrap();
    let mut found = Vec::new();
    selectors(&renamed, &mut found);
    assert!(!selects_one_of(found[0], &names));
}
