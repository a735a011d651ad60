//! deploy/monitoring against the controller it watches. Every PromQL expression of the alerts
//! (prometheus-rule.yaml) and of the Grafana dashboard (grafana-dashboard.json: the panels'
//! queries and the variables' `label_values(...)`) parses with promql-parser, and every metric
//! they select is one that the real `kubectl-failover run` exports on /metrics once a group has
//! ticked. A renamed metric therefore fails this test instead of leaving an alert that never
//! fires or an empty panel.
//!
//! Also checked: each alert has a severity, a summary, a description and a runbook section in
//! docs/user-guide.md; every panel reads the templated data source; the dashboard's ConfigMap
//! embeds the JSON exactly (`KFO_UPDATE_MONITORING=1 cargo test --test monitoring` rewrites it
//! from the JSON); the PodMonitor selects the Deployment's pods and port; the kustomization
//! lists every manifest.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "support/controller.rs"]
mod controller_support;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/run_binary.rs"]
mod run_binary;

use controller_support::{NS, api_server, eventually, failover_group};
use kube::api::{Api, PostParams};
use kubectl_failover::crd::{FailoverGroup, GroupRole};
use promql_parser::label::{METRIC_NAME, Matcher};
use promql_parser::parser::{Expr, VectorSelector};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const RULES: &str = "deploy/monitoring/prometheus-rule.yaml";
const DASHBOARD: &str = "deploy/monitoring/grafana-dashboard.json";
const DASHBOARD_CONFIGMAP: &str = "deploy/monitoring/grafana-dashboard-configmap.yaml";
const POD_MONITOR: &str = "deploy/monitoring/pod-monitor.yaml";
const KUSTOMIZATION: &str = "deploy/monitoring/kustomization.yaml";
const DEPLOYMENT: &str = "deploy/base/deployment.yaml";
const GUIDE: &str = "docs/user-guide.md";
/// The key of the dashboard in the ConfigMap's `data`.
const DASHBOARD_KEY: &str = "kubectl-failover.json";
const PREFIX: &str = "kubectl_failover_";

/// The alerts the rule must keep (docs/user-guide.md documents each).
const ALERTS: [&str; 8] = [
    "KubectlFailoverHeartbeatMissing",
    "KubectlFailoverClusterFenced",
    "KubectlFailoverTransitionStuck",
    "KubectlFailoverStoreErrors",
    "KubectlFailoverNoLeader",
    "KubectlFailoverFailoverRate",
    "KubectlFailoverHeartbeatsBehind",
    "KubectlFailoverStoreBudgetBinding",
];

/// Everything of the ConfigMap but the dashboard, which follows indented under `data`.
const CONFIGMAP_HEAD: &str = r#"# Generated from grafana-dashboard.json by `KFO_UPDATE_MONITORING=1 cargo test --test monitoring`:
# edit the JSON and regenerate (the test fails while the two differ). Grafana's dashboard sidecar
# (kube-prometheus-stack: grafana.sidecar.dashboards.enabled) loads every ConfigMap labelled
# grafana_dashboard: "1" from the namespaces it searches.
apiVersion: v1
kind: ConfigMap
metadata:
  name: kubectl-failover-dashboard
  namespace: kubectl-failover-system
  labels:
    grafana_dashboard: "1"
    app.kubernetes.io/name: kubectl-failover
    app.kubernetes.io/component: monitoring
data:
  kubectl-failover.json: |
"#;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: not YAML: {e}"))
}

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: not JSON: {e}"))
}

#[path = "monitoring/queries.rs"]
mod queries;
use queries::*;

#[test]
fn every_alert_and_dashboard_query_parses_and_selects_metrics_of_the_controller() {
    let queries = all_queries();
    assert!(
        queries.len() >= ALERTS.len() + 10,
        "only {} queries found in {RULES} and {DASHBOARD}",
        queries.len()
    );
    let mut problems = Vec::new();
    for q in &queries {
        let expr = match q.parse() {
            Ok(expr) => expr,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        let mut found = Vec::new();
        selectors(&expr, &mut found);
        if found.is_empty() {
            problems.push(format!("{} selects no metric: {}", q.source, q.expr));
        }
        for vs in found {
            if !names_a_metric(vs) {
                problems.push(format!(
                    "{} selects {vs} without a metric name (name the metric, so that a rename is caught)",
                    q.source
                ));
            } else if vs.name.as_deref().is_some_and(|n| !n.starts_with(PREFIX)) {
                problems.push(format!(
                    "{} uses {}, which is not a controller metric ({PREFIX}*): the test cannot check it",
                    q.source,
                    shown(vs)
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_alert_has_a_severity_a_summary_a_description_and_a_runbook_section() {
    let rule = yaml(RULES);
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1", "{RULES}");
    assert_eq!(rule["kind"], "PrometheusRule", "{RULES}");
    let guide = read(GUIDE);
    assert!(
        guide.lines().any(|l| l == "### Alerts"),
        "{GUIDE} needs a `### Alerts` heading (anchor #alerts)"
    );
    let runbooks = format!("{}/blob/main/{GUIDE}#", env!("CARGO_PKG_REPOSITORY"));
    let mut seen = Vec::new();
    let mut problems = Vec::new();
    for group in rule["spec"]["groups"].as_array().expect("spec.groups") {
        for r in group["rules"].as_array().expect("rules") {
            let Some(alert) = r["alert"].as_str() else {
                continue;
            };
            seen.push(alert.to_string());
            let severity = r["labels"]["severity"].as_str().unwrap_or_default();
            if !["critical", "warning", "info"].contains(&severity) {
                problems.push(format!(
                    "{alert}: labels.severity {severity:?} is not critical, warning or info"
                ));
            }
            for annotation in ["summary", "description"] {
                if r["annotations"][annotation]
                    .as_str()
                    .is_none_or(|s| s.trim().is_empty())
                {
                    problems.push(format!("{alert}: no annotations.{annotation}"));
                }
            }
            let want = format!("{runbooks}{}", alert.to_lowercase());
            if r["annotations"]["runbook_url"] != want.as_str() {
                problems.push(format!(
                    "{alert}: annotations.runbook_url should be {want} (its section in {GUIDE})"
                ));
            }
            let heading = format!("#### {alert}");
            if !guide.lines().any(|l| l == heading) {
                problems.push(format!(
                    "{GUIDE} has no `#### {alert}` section (what it means, what to do)"
                ));
            }
        }
    }
    for alert in ALERTS {
        if !seen.iter().any(|s| s == alert) {
            problems.push(format!("{RULES} lacks the alert {alert}"));
        }
    }
    let unique: HashSet<_> = seen.iter().collect();
    if unique.len() != seen.len() {
        problems.push(format!("{RULES}: an alert name repeats: {seen:?}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_panel_reads_the_templated_data_source() {
    let d = dashboard();
    let vars = d["templating"]["list"].as_array().expect("templating.list");
    assert!(
        vars.iter().any(|v| v["type"] == "datasource"
            && v["name"] == "datasource"
            && v["query"] == "prometheus"),
        "{DASHBOARD}: no `datasource` variable of type datasource for Prometheus"
    );
    let templated = json!({"type": "prometheus", "uid": "${datasource}"});
    let mut ids = HashSet::new();
    let mut problems = Vec::new();
    for panel in panels(&d) {
        let title = panel["title"].as_str().unwrap_or("?");
        if !ids.insert(panel["id"].as_i64()) {
            problems.push(format!("panel {title:?}: id {} repeats", panel["id"]));
        }
        if panel["type"] == "row" {
            continue;
        }
        if panel["datasource"] != templated {
            problems.push(format!("panel {title:?}: datasource is not {templated}"));
        }
        for target in panel["targets"].as_array().into_iter().flatten() {
            if target["datasource"] != templated {
                problems.push(format!(
                    "panel {title:?} query {}: datasource is not {templated}",
                    target["refId"]
                ));
            }
        }
    }
    for var in vars.iter().filter(|v| v["type"] == "query") {
        if var["datasource"] != templated {
            problems.push(format!(
                "variable {}: datasource is not {templated}",
                var["name"]
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The ConfigMap for `json`, the dashboard file's text.
fn dashboard_configmap(json: &str) -> String {
    let mut out = CONFIGMAP_HEAD.to_string();
    for line in json.lines() {
        if !line.is_empty() {
            out.push_str("    ");
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_dashboard_configmap_embeds_exactly_the_dashboard_json() {
    let json = read(DASHBOARD);
    let generated = dashboard_configmap(&json);
    let path = Path::new(ROOT).join(DASHBOARD_CONFIGMAP);
    if std::env::var_os("KFO_UPDATE_MONITORING").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("rewrote {DASHBOARD_CONFIGMAP}");
        return;
    }
    let configmap = yaml(DASHBOARD_CONFIGMAP);
    assert_eq!(configmap["kind"], "ConfigMap", "{DASHBOARD_CONFIGMAP}");
    assert_eq!(
        configmap["metadata"]["labels"]["grafana_dashboard"], "1",
        "{DASHBOARD_CONFIGMAP}: Grafana's sidecar loads only ConfigMaps labelled grafana_dashboard: \"1\""
    );
    let regenerate =
        "regenerate it with `KFO_UPDATE_MONITORING=1 cargo test --test monitoring` and commit both";
    assert!(
        configmap["data"][DASHBOARD_KEY].as_str() == Some(json.as_str()),
        "{DASHBOARD_CONFIGMAP}: data.{DASHBOARD_KEY} is not exactly {DASHBOARD}; {regenerate}"
    );
    assert!(
        read(DASHBOARD_CONFIGMAP) == generated,
        "{DASHBOARD_CONFIGMAP} is not what {DASHBOARD} generates; {regenerate}"
    );
}

#[test]
fn the_pod_monitor_scrapes_the_metrics_port_of_the_controller_pods() {
    let monitor = yaml(POD_MONITOR);
    assert_eq!(monitor["kind"], "PodMonitor", "{POD_MONITOR}");
    let deployment = yaml(DEPLOYMENT);
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let selector = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("spec.selector.matchLabels");
    assert!(!selector.is_empty(), "{POD_MONITOR}: empty selector");
    for (key, value) in selector {
        assert_eq!(
            &pod_labels[key], value,
            "{POD_MONITOR} selects {key}={value}, which the pods of {DEPLOYMENT} do not carry"
        );
    }
    let ports: Vec<&Value> = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .map(|p| &p["name"])
        .collect();
    let endpoints = monitor["spec"]["podMetricsEndpoints"]
        .as_array()
        .expect("spec.podMetricsEndpoints");
    assert!(!endpoints.is_empty(), "{POD_MONITOR}: no endpoint");
    for endpoint in endpoints {
        assert!(
            ports.contains(&&endpoint["port"]),
            "{POD_MONITOR} scrapes port {}, which {DEPLOYMENT} does not name (it has {ports:?})",
            endpoint["port"]
        );
        assert_eq!(endpoint["path"], "/metrics", "{POD_MONITOR}");
    }
}

#[test]
fn the_kustomization_lists_every_manifest_of_deploy_monitoring() {
    let k = yaml(KUSTOMIZATION);
    let listed: BTreeSet<String> = k["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().expect("a path").to_string())
        .collect();
    let dir = Path::new(ROOT).join("deploy/monitoring");
    let present: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    assert_eq!(
        listed, present,
        "{KUSTOMIZATION}: resources vs the files beside it"
    );
}

#[path = "monitoring/exported.rs"]
mod exported;

#[path = "monitoring/promtool.rs"]
mod promtool;
