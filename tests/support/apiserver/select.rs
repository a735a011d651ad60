//! Label and field selectors of list and watch requests.
//!
//! Labels follow the real grammar (`k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`,
//! `k notin (a,b)`). Fields support only `metadata.name` and `metadata.namespace` with
//! `=`, `==` and `!=`; any other field is rejected with 400, as the real server does for
//! field labels a kind does not index.

use serde_json::Value;

use super::ApiError;

#[derive(Debug, Clone, Default)]
pub struct Selector {
    labels: Vec<LabelReq>,
    fields: Vec<(String, bool, String)>,
}

#[derive(Debug, Clone)]
enum LabelReq {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl Selector {
    pub fn parse(label: Option<&str>, field: Option<&str>) -> Result<Self, ApiError> {
        let mut sel = Selector::default();
        for term in split_terms(label.unwrap_or_default()) {
            sel.labels.push(parse_label(&term)?);
        }
        for term in split_terms(field.unwrap_or_default()) {
            let (key, negated, value) = split_op(&term).ok_or_else(|| {
                ApiError::bad_request(&format!("invalid field selector: {term:?}"))
            })?;
            if key != "metadata.name" && key != "metadata.namespace" {
                return Err(ApiError::bad_request(&format!(
                    "field label not supported: {key} (the in-memory API server knows metadata.name and metadata.namespace)"
                )));
            }
            sel.fields.push((key, negated, value));
        }
        Ok(sel)
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let meta = &obj["metadata"];
        let label = |k: &str| meta["labels"][k].as_str().map(str::to_string);
        let labels_ok = self.labels.iter().all(|req| match req {
            LabelReq::Exists(k) => label(k).is_some(),
            LabelReq::NotExists(k) => label(k).is_none(),
            LabelReq::In(k, vs) => label(k).is_some_and(|v| vs.contains(&v)),
            LabelReq::NotIn(k, vs) => label(k).is_none_or(|v| !vs.contains(&v)),
        });
        let fields_ok = self.fields.iter().all(|(key, negated, want)| {
            let have = match key.as_str() {
                "metadata.name" => meta["name"].as_str(),
                _ => meta["namespace"].as_str(),
            };
            (have.unwrap_or_default() == want) != *negated
        });
        labels_ok && fields_ok
    }
}

/// Splits on commas that are not inside a `( … )` value set.
fn split_terms(s: &str) -> Vec<String> {
    let (mut terms, mut current, mut depth) = (Vec::new(), String::new(), 0usize);
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    terms.push(current);
    terms
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// `key=value`, `key==value` or `key!=value` -> (key, negated, value).
fn split_op(term: &str) -> Option<(String, bool, String)> {
    let (key, negated, value) = if let Some((k, v)) = term.split_once("!=") {
        (k, true, v)
    } else if let Some((k, v)) = term.split_once("==") {
        (k, false, v)
    } else {
        let (k, v) = term.split_once('=')?;
        (k, false, v)
    };
    let key = key.trim();
    (!key.is_empty()).then(|| (key.to_string(), negated, value.trim().to_string()))
}

fn parse_label(term: &str) -> Result<LabelReq, ApiError> {
    let bad = || ApiError::bad_request(&format!("unable to parse requirement: {term:?}"));
    if let Some((key, negated, value)) = split_op(term) {
        return Ok(if negated {
            LabelReq::NotIn(key, vec![value])
        } else {
            LabelReq::In(key, vec![value])
        });
    }
    if let Some(key) = term.strip_prefix('!') {
        return Ok(LabelReq::NotExists(key.trim().to_string()));
    }
    let mut words = term.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or_default().to_string();
    let rest = words.next().unwrap_or_default().trim();
    if rest.is_empty() {
        return Ok(LabelReq::Exists(key));
    }
    let open = rest.find('(').ok_or_else(bad)?;
    let (op, set) = (rest[..open].trim(), &rest[open..]);
    let values: Vec<String> = set
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(bad)?
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    match op {
        "in" => Ok(LabelReq::In(key, values)),
        "notin" => Ok(LabelReq::NotIn(key, values)),
        _ => Err(bad()),
    }
}
