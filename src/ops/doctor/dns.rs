//! external-dns's `--annotation-filter` against the annotation the controller switches
//! (`k8s::kube::settings`): it must select an object of the serving cluster (`KEY=ON`) and not
//! one of a standby (`KEY=OFF`, or no annotation when OFF is empty). Otherwise either no cluster
//! publishes records or every cluster does. The filter is a Kubernetes label selector, parsed
//! and evaluated here with the same grammar external-dns uses.

use super::{Area, Check, DoctorError};
use crate::k8s::kube::DnsAnnotations;
use k8s_openapi::api::apps::v1::Deployment;
use std::collections::BTreeMap;

/// The label external-dns's chart and manifests set.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
/// external-dns's name, as label value and as Deployment name.
pub const EXTERNAL_DNS: &str = "external-dns";
const FLAG: &str = "--annotation-filter";

/// One external-dns Deployment: where it is and its containers' command lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalDns {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Every container's command and args, in order.
    pub args: Vec<String>,
}

impl ExternalDns {
    /// Reads a Deployment's command lines.
    pub fn from_deployment(d: &Deployment) -> ExternalDns {
        let containers = d
            .spec
            .template
            .spec
            .as_ref()
            .map(|p| p.containers.as_slice())
            .unwrap_or_default();
        ExternalDns {
            namespace: d.metadata.namespace.clone().unwrap_or_default(),
            name: d.metadata.name.clone().unwrap_or_default(),
            args: containers
                .iter()
                .flat_map(|c| c.command.iter().flatten().chain(c.args.iter().flatten()))
                .cloned()
                .collect(),
        }
    }
}

/// Whether a Deployment is external-dns: its name label or its name says so.
pub fn is_external_dns(d: &Deployment) -> bool {
    let labelled = d
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(NAME_LABEL))
        .is_some_and(|v| v == EXTERNAL_DNS);
    labelled || d.metadata.name.as_deref() == Some(EXTERNAL_DNS)
}

/// The value of the last `--annotation-filter` (as `--flag=value` or `--flag value`): the last
/// one wins, as in external-dns's flag parser.
pub fn annotation_filter(args: &[String]) -> Option<String> {
    let mut found = None;
    for (i, arg) in args.iter().enumerate() {
        if let Some(v) = arg.strip_prefix(FLAG).and_then(|r| r.strip_prefix('=')) {
            found = Some(v.to_string());
        } else if arg == FLAG {
            found = args.get(i + 1).cloned();
        }
    }
    found
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Exists(String),
    NotExists(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A parsed label selector: every requirement must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector(Vec<Requirement>);

/// Parses a label selector (`k`, `!k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
/// comma-separated).
pub fn parse_selector(filter: &str) -> Result<Selector, DoctorError> {
    let bad = |problem: String| DoctorError::BadSelector {
        filter: filter.to_string(),
        problem,
    };
    if filter.contains(['\'', '"']) {
        return Err(bad(
            "it contains quotes, which reach external-dns as they are: a manifest's args are not a shell command line; drop them".into(),
        ));
    }
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, ch) in filter.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&filter[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&filter[start..]);
    let mut reqs = Vec::new();
    for term in terms {
        reqs.push(parse_term(term.trim()).map_err(bad)?);
    }
    Ok(Selector(reqs))
}

fn parse_term(term: &str) -> Result<Requirement, String> {
    let key = |k: &str| {
        let k = k.trim();
        let valid = !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'));
        if valid {
            Ok(k.to_string())
        } else {
            Err(format!("{k:?} is not an annotation key"))
        }
    };
    let set = |s: &str| {
        let s = s.trim();
        let inner = s
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| format!("{s:?} should be a list in parentheses, e.g. (enabled)"))?;
        Ok::<Vec<String>, String>(inner.split(',').map(|v| v.trim().to_string()).collect())
    };
    if term.is_empty() {
        return Err("it has an empty term".into());
    }
    if let Some(k) = term.strip_prefix('!') {
        return Ok(Requirement::NotExists(key(k)?));
    }
    if let Some((k, vs)) = term.split_once(" notin ") {
        return Ok(Requirement::NotIn(key(k)?, set(vs)?));
    }
    if let Some((k, vs)) = term.split_once(" in ") {
        return Ok(Requirement::In(key(k)?, set(vs)?));
    }
    if let Some((k, v)) = term.split_once("!=") {
        return Ok(Requirement::NotEquals(key(k)?, v.trim().to_string()));
    }
    if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(Requirement::Equals(key(k)?, v.trim().to_string()));
    }
    Ok(Requirement::Exists(key(term)?))
}

impl Selector {
    /// Whether an object with these annotations is selected.
    pub fn matches(&self, annotations: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|r| match r {
            Requirement::Exists(k) => annotations.contains_key(k),
            Requirement::NotExists(k) => !annotations.contains_key(k),
            Requirement::Equals(k, v) => annotations.get(k) == Some(v),
            Requirement::NotEquals(k, v) => annotations.get(k) != Some(v),
            Requirement::In(k, vs) => annotations.get(k).is_some_and(|a| vs.contains(a)),
            Requirement::NotIn(k, vs) => annotations.get(k).is_none_or(|a| !vs.contains(a)),
        })
    }
}

/// The argument external-dns needs for these annotations.
pub fn wanted_arg(dns: &DnsAnnotations) -> String {
    format!("{FLAG}={} in ({})", dns.key, dns.on)
}

/// One check per external-dns Deployment of a context (skipped when there is none).
pub fn judge_external_dns(
    context: &str,
    dns: &Result<DnsAnnotations, String>,
    found: &Result<Vec<ExternalDns>, String>,
) -> Vec<Check> {
    let name = format!("external-dns in {context}");
    let dns = match dns {
        Ok(d) => d,
        Err(_) => {
            return vec![Check::skipped(
                Area::ExternalDns,
                name,
                "the controller's DNS annotation settings are refused (see its settings check)",
            )];
        }
    };
    let wanted = wanted_arg(dns);
    let found = match found {
        Err(e) => {
            return vec![Check::warn(
                Area::ExternalDns,
                name,
                format!("could not list Deployments to find external-dns: {e}"),
                format!(
                    "allow your user to list deployments in every namespace, or check by hand that external-dns runs with {wanted}"
                ),
            )];
        }
        Ok(f) if f.is_empty() => {
            return vec![Check::skipped(
                Area::ExternalDns,
                name,
                format!(
                    "no external-dns Deployment ({NAME_LABEL}={EXTERNAL_DNS} or named {EXTERNAL_DNS}) in any namespace: nothing to check if DNS is switched another way"
                ),
            )];
        }
        Ok(f) => f,
    };
    let on = BTreeMap::from([(dns.key.clone(), dns.on.clone())]);
    let off: BTreeMap<String, String> = dns
        .off
        .iter()
        .map(|v| (dns.key.clone(), v.clone()))
        .collect();
    let off_text = dns
        .off
        .as_ref()
        .map_or(format!("no {} annotation", dns.key), |v| {
            format!("{}={v}", dns.key)
        });
    found
        .iter()
        .map(|e| {
            let name = format!("{name} ({}/{})", e.namespace, e.name);
            let fix = format!(
                "kubectl --context {context} -n {} edit deployment {}: set the argument {wanted}",
                e.namespace, e.name
            );
            let filter = annotation_filter(&e.args).filter(|f| !f.trim().is_empty());
            let Some(filter) = filter else {
                return Check::fail(
                    Area::ExternalDns,
                    name,
                    "no --annotation-filter: it publishes the records of this cluster's objects even while it is a standby",
                    fix,
                );
            };
            let problem = match parse_selector(&filter) {
                Err(e) => Some(e.to_string()),
                Ok(s) if !s.matches(&on) => Some(format!(
                    "--annotation-filter={filter} does not select {}={}: the serving cluster's objects get no records",
                    dns.key, dns.on
                )),
                Ok(s) if s.matches(&off) => Some(format!(
                    "--annotation-filter={filter} also selects {off_text}: a standby cluster's objects would publish records too"
                )),
                Ok(_) => None,
            };
            match problem {
                Some(p) => Check::fail(Area::ExternalDns, name, p, fix),
                None => Check::pass(
                    Area::ExternalDns,
                    name,
                    format!(
                        "--annotation-filter={filter} selects {}={} and not {off_text}",
                        dns.key, dns.on
                    ),
                ),
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "dns_tests.rs"]
mod tests;
