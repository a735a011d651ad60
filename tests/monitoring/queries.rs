//! The PromQL of deploy/monitoring: every query of the rule and the dashboard, and the metric
//! selectors inside each (promql-parser's AST walked).

use super::*;

/// One PromQL expression and where it is (an alert, a panel's query, a variable).
pub struct Query {
    pub source: String,
    pub expr: String,
}

impl Query {
    /// The parsed expression, or an error naming the alert or panel. Grafana replaces its
    /// interval macros before Prometheus sees the query; a duration stands in for them here
    /// (`$namespace` and the like only appear inside label values, which are strings).
    pub fn parse(&self) -> Result<Expr, String> {
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
pub fn rule_queries() -> Vec<Query> {
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
pub fn panels(dashboard: &Value) -> Vec<&Value> {
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
pub fn dashboard_queries() -> Vec<Query> {
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

pub fn all_queries() -> Vec<Query> {
    let mut queries = rule_queries();
    queries.extend(dashboard_queries());
    queries
}

/// Every vector selector of `expr` (those inside range selectors, function arguments and
/// aggregation parameters included).
pub fn selectors<'a>(expr: &'a Expr, out: &mut Vec<&'a VectorSelector>) {
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
pub fn shown(vs: &VectorSelector) -> String {
    vs.name.clone().unwrap_or_else(|| vs.to_string())
}

/// The `__name__` matchers of each alternative of `vs` (one unless `{a="1" or b="2"}`).
pub fn name_matcher_sets(vs: &VectorSelector) -> Vec<Vec<&Matcher>> {
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
pub fn selects_one_of(vs: &VectorSelector, names: &BTreeSet<String>) -> bool {
    if let Some(name) = &vs.name {
        return names.contains(name);
    }
    name_matcher_sets(vs)
        .iter()
        .any(|set| !set.is_empty() && names.iter().any(|n| set.iter().all(|m| m.is_match(n))))
}

/// Whether `vs` names its metric (a name, or a `__name__` matcher in every alternative).
pub fn names_a_metric(vs: &VectorSelector) -> bool {
    vs.name.is_some() || name_matcher_sets(vs).iter().all(|set| !set.is_empty())
}
