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
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// One PromQL expression and where it is (an alert, a panel's query, a variable).
struct Query {
    source: String,
    expr: String,
}

impl Query {
    /// The parsed expression, or an error naming the alert or panel. Grafana replaces its
    /// interval macros before Prometheus sees the query; a duration stands in for them here
    /// (`$namespace` and the like only appear inside label values, which are strings).
    fn parse(&self) -> Result<Expr, String> {
        let mut expr = self.expr.clone();
        for macro_ in ["__rate_interval", "__interval", "__range"] {
            expr = expr
                .replace(&format!("${{{macro_}}}"), "5m")
                .replace(&format!("${macro_}"), "5m");
        }
        promql_parser::parser::parse(&expr)
            .map_err(|e| format!("{} does not parse: {e}\n    {}", self.source, self.expr))
    }
}

/// Every alert's (and recording rule's) expression.
fn rule_queries() -> Vec<Query> {
    let rule = yaml(RULES);
    let mut out = Vec::new();
    for group in rule["spec"]["groups"].as_array().expect("spec.groups") {
        for r in group["rules"].as_array().expect("rules") {
            let name = r["alert"].as_str().or(r["record"].as_str()).unwrap_or("?");
            let expr = r["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{RULES}: rule {name} has no expr"));
            out.push(Query {
                source: format!("alert {name}"),
                expr: expr.to_string(),
            });
        }
    }
    out
}

/// Every panel, rows' nested panels included.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            out.push(panel);
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Every panel query, and the metric selector of every `label_values(METRIC, label)` or
/// `query_result(EXPR)` variable.
fn dashboard_queries() -> Vec<Query> {
    let d = dashboard();
    let mut out = Vec::new();
    for panel in panels(&d) {
        let title = panel["title"].as_str().unwrap_or("?");
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                let reference = target["refId"].as_str().unwrap_or("?");
                out.push(Query {
                    source: format!("panel {title:?} (query {reference})"),
                    expr: expr.to_string(),
                });
            }
        }
    }
    for var in d["templating"]["list"].as_array().into_iter().flatten() {
        if var["type"] != "query" {
            continue;
        }
        let name = var["name"].as_str().unwrap_or("?");
        let query = var["query"]
            .as_str()
            .or(var["query"]["query"].as_str())
            .unwrap_or_default()
            .trim();
        let inner = query
            .strip_prefix("label_values(")
            .and_then(|q| q.strip_suffix(')'))
            .and_then(|q| q.rsplit_once(',').map(|(metric, _label)| metric))
            .or_else(|| {
                query
                    .strip_prefix("query_result(")
                    .and_then(|q| q.strip_suffix(')'))
            });
        if let Some(expr) = inner {
            out.push(Query {
                source: format!("variable ${name}"),
                expr: expr.trim().to_string(),
            });
        }
    }
    out
}

fn all_queries() -> Vec<Query> {
    let mut queries = rule_queries();
    queries.extend(dashboard_queries());
    queries
}

/// Every vector selector of `expr` (those inside range selectors, function arguments and
/// aggregation parameters included).
fn selectors<'a>(expr: &'a Expr, out: &mut Vec<&'a VectorSelector>) {
    match expr {
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(param) = &a.param {
                selectors(param, out);
            }
        }
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::Call(c) => {
            for arg in &c.args.args {
                selectors(arg, out);
            }
        }
        Expr::VectorSelector(vs) => out.push(vs),
        Expr::MatrixSelector(ms) => out.push(&ms.vs),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// What a selector selects as a metric: its name, or its `__name__` matchers as written.
fn shown(vs: &VectorSelector) -> String {
    vs.name.clone().unwrap_or_else(|| vs.to_string())
}

/// The `__name__` matchers of each alternative of `vs` (one unless `{a="1" or b="2"}`).
fn name_matcher_sets(vs: &VectorSelector) -> Vec<Vec<&Matcher>> {
    fn names(ms: &[Matcher]) -> Vec<&Matcher> {
        ms.iter().filter(|m| m.name == METRIC_NAME).collect()
    }
    let common = names(&vs.matchers.matchers);
    if vs.matchers.or_matchers.is_empty() {
        return vec![common];
    }
    vs.matchers
        .or_matchers
        .iter()
        .map(|alt| common.iter().copied().chain(names(alt)).collect())
        .collect()
}

/// Whether `vs` selects at least one metric of `names`: by its name, or by `__name__` matchers.
fn selects_one_of(vs: &VectorSelector, names: &BTreeSet<String>) -> bool {
    if let Some(name) = &vs.name {
        return names.contains(name);
    }
    name_matcher_sets(vs)
        .iter()
        .any(|set| !set.is_empty() && names.iter().any(|n| set.iter().all(|m| m.is_match(n))))
}

/// Whether `vs` names its metric (a name, or a `__name__` matcher in every alternative).
fn names_a_metric(vs: &VectorSelector) -> bool {
    vs.name.is_some() || name_matcher_sets(vs).iter().all(|set| !set.is_empty())
}

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

async fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    Some(response)
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// The metric names a Prometheus scraping `text` stores: every sample's name, and for each
/// family (`# TYPE NAME KIND`, also printed for a family that has no series yet, as a group's
/// gauge before anything set it) the names its samples get: `NAME_total` for a counter (the
/// TYPE line has the name without `_total`), `NAME_bucket`/`_sum`/`_count` for a histogram.
fn exported_names(text: &str) -> BTreeSet<String> {
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
fn missing_metrics(exported: &BTreeSet<String>) -> Vec<String> {
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
    server.put_object(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": NS},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "api"}},
            "template": {"metadata": {"labels": {"app": "api"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
        },
    }));
    let dir = std::env::temp_dir().join(format!("kfo-monitoring-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, "east").unwrap();
    let table = moto::unique_table_name("monitoring");
    let addr = free_addr();

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-failover"))
        .args(["run", "--leader-elect=false", "--metrics-addr", &addr])
        .env_clear()
        .envs(moto::binary_env())
        .env("KUBECONFIG", &kubeconfig)
        .env("CLUSTER_NAME", "east")
        .env("DYNAMODB_TABLE_NAME", &table)
        .env("KUBECTL_FAILOVER_LOG", "info")
        // The fixture's 1 s / 4 s timings are too tight for a 20 s probe budget: the group is
        // reported in `liveness_budget_short`, which has a series only then.
        .env("LIVENESS_BUDGET", "20s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start kubectl-failover run");

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
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
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
