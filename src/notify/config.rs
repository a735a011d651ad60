//! The notification config: a YAML (or JSON) file mounted from a Secret, because webhook URLs
//! (Slack's in particular) carry their credential in the path.
//!
//! ```yaml
//! webhooks:
//!   - url: https://hooks.slack.com/services/T000/B000/XXXX
//!     format: slack
//!     events: [FailoverStarted, FailoverEnded, ClusterFenced, FailoverStuck]
//!   - url: http://incident-bridge.ops.svc:8080/failover
//!     format: json            # the default
//! ```

use super::{Kind, NotifyError};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

/// The body a webhook gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The whole notification as a JSON object.
    Json,
    /// `{"text": "..."}`: Slack incoming webhooks and the chat tools that copy them.
    Slack,
}

/// One configured receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Where the notifications are POSTed.
    pub url: http::Uri,
    /// The body.
    pub format: Format,
    /// Only these kinds; `None`: every kind.
    pub events: Option<BTreeSet<Kind>>,
    /// The URL without path or query, for logs and messages (the path may be a secret).
    pub name: String,
}

impl Webhook {
    /// Whether this webhook wants notifications of `kind`.
    pub fn wants(&self, kind: Kind) -> bool {
        self.events.as_ref().is_none_or(|e| e.contains(&kind))
    }
}

/// Every configured receiver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyConfig {
    /// The webhooks, in file order.
    pub webhooks: Vec<Webhook>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    webhooks: Vec<RawWebhook>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: String,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    events: Option<Vec<String>>,
}

/// Reads `path`; `Ok(None)` when it does not exist (the Secret is optional).
pub fn load(path: &Path) -> Result<Option<NotifyConfig>, NotifyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(path, &text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(NotifyError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Parses the text of the file at `path` (named in messages); an empty file lists no webhook.
pub fn parse(path: &Path, text: &str) -> Result<NotifyConfig, NotifyError> {
    if text.trim().is_empty() {
        return Ok(NotifyConfig::default());
    }
    let raw: RawFile = serde_saphyr::from_str(text).map_err(|e| NotifyError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let webhooks = raw
        .webhooks
        .into_iter()
        .enumerate()
        .map(|(i, w)| webhook(path, i + 1, w))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NotifyConfig { webhooks })
}

fn webhook(path: &Path, index: usize, raw: RawWebhook) -> Result<Webhook, NotifyError> {
    let entry = |url: &str, problem: String, fix: &str| NotifyError::Entry {
        path: path.to_path_buf(),
        index,
        url: url.to_string(),
        problem,
        fix: fix.to_string(),
    };
    let url: http::Uri = raw.url.trim().parse().map_err(|e| {
        entry(
            "?",
            format!("the url is not a URL ({e})"),
            "write it as http://HOST[:PORT]/PATH or https://HOST[:PORT]/PATH",
        )
    })?;
    let name = redact(&url);
    match url.scheme_str() {
        Some("http" | "https") if url.host().is_some_and(|h| !h.is_empty()) => {}
        Some("http" | "https") => {
            return Err(entry(
                &name,
                "the url has no host".into(),
                "write it as https://HOST[:PORT]/PATH",
            ));
        }
        other => {
            return Err(entry(
                &name,
                format!(
                    "the url's scheme is {}, not http or https",
                    other.unwrap_or("missing")
                ),
                "write it as https://HOST[:PORT]/PATH (or http:// for a receiver inside the cluster)",
            ));
        }
    }
    let format = match raw.format.as_deref().map(str::trim) {
        None | Some("json") => Format::Json,
        Some("slack") => Format::Slack,
        Some(other) => {
            return Err(entry(
                &name,
                format!("format {other:?} is not json or slack"),
                "set format to json (the whole notification) or slack ({\"text\": ...})",
            ));
        }
    };
    let events = match raw.events {
        None => None,
        Some(names) => {
            let mut kinds = BTreeSet::new();
            for n in names {
                match Kind::parse(n.trim()) {
                    Some(k) => {
                        kinds.insert(k);
                    }
                    None => {
                        let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                        return Err(entry(
                            &name,
                            format!("event {n:?} is not a notification kind"),
                            &format!(
                                "use some of {} (or leave events out for all of them)",
                                all.join(", ")
                            ),
                        ));
                    }
                }
            }
            if kinds.is_empty() {
                return Err(entry(
                    &name,
                    "events is an empty list, so nothing would be sent".into(),
                    "list the kinds to send, or leave events out for all of them",
                ));
            }
            Some(kinds)
        }
    };
    Ok(Webhook {
        url,
        format,
        events,
        name,
    })
}

/// `scheme://host[:port]`: what logs and messages show of a webhook, since Slack-style URLs
/// carry their credential in the path.
pub fn redact(url: &http::Uri) -> String {
    match (url.scheme_str(), url.authority()) {
        // Userinfo (user:password@) is a credential too.
        (Some(scheme), Some(a)) => {
            let host = a.as_str().rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}")
        }
        _ => "<url>".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> NotifyConfig {
        parse(Path::new("/etc/notify/webhooks.yaml"), text).unwrap()
    }

    fn parse_err(text: &str) -> String {
        parse(Path::new("/etc/notify/webhooks.yaml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn yaml_and_json_give_the_same_webhooks_with_json_by_default() {
        let yaml = parse_ok(
            "webhooks:\n  - url: https://hooks.slack.com/services/T0/B0/SECRET\n    format: slack\n    events: [FailoverEnded, ClusterFenced]\n  - url: http://receiver.ops.svc:8080/hook\n",
        );
        let json = parse_ok(
            r#"{"webhooks": [{"url": "https://hooks.slack.com/services/T0/B0/SECRET", "format": "slack", "events": ["FailoverEnded", "ClusterFenced"]}, {"url": "http://receiver.ops.svc:8080/hook"}]}"#,
        );
        assert_eq!(yaml, json);
        assert_eq!(yaml.webhooks.len(), 2);
        let slack = &yaml.webhooks[0];
        assert_eq!(slack.format, Format::Slack);
        assert_eq!(
            slack.name, "https://hooks.slack.com",
            "no secret path in logs"
        );
        assert!(slack.wants(Kind::FailoverEnded) && !slack.wants(Kind::FailoverPhase));
        assert_eq!(yaml.webhooks[1].format, Format::Json);
        assert!(Kind::ALL.iter().all(|k| yaml.webhooks[1].wants(*k)));
    }

    #[test]
    fn an_empty_file_lists_no_webhook() {
        assert!(parse_ok("").webhooks.is_empty());
        assert!(parse_ok("webhooks: []").webhooks.is_empty());
    }

    #[test]
    fn a_bad_entry_is_named_with_the_file_its_position_and_the_fix() {
        let err = parse_err(
            "webhooks:\n  - url: https://a.example/x\n  - url: https://b.example/y\n    format: teams\n",
        );
        assert!(err.contains("/etc/notify/webhooks.yaml"), "{err}");
        assert!(err.contains("webhook 2 (https://b.example)"), "{err}");
        assert!(err.contains("json or slack"), "{err}");

        let err = parse_err("webhooks:\n  - url: ftp://a.example/x\n");
        assert!(
            err.contains("webhook 1") && err.contains("not http or https"),
            "{err}"
        );

        let err =
            parse_err("webhooks:\n  - url: https://a.example/x\n    events: [FailoverDone]\n");
        assert!(
            err.contains("FailoverDone") && err.contains("FailoverEnded"),
            "{err}"
        );

        let err = parse_err("webhooks:\n  - url: https://a.example/x\n    events: []\n");
        assert!(err.contains("empty list"), "{err}");
    }

    #[test]
    fn unknown_fields_and_broken_yaml_are_refused_with_the_expected_shape() {
        let err = parse_err("webhooks:\n  - url: https://a.example/x\n    formatt: slack\n");
        assert!(
            err.contains("/etc/notify/webhooks.yaml") && err.contains("webhooks:"),
            "{err}"
        );
        let err = parse_err("webhooks: [url: {");
        assert!(err.contains("cannot be parsed"), "{err}");
        let err = parse_err("- url: https://a.example/x\n");
        assert!(
            err.contains("cannot be parsed"),
            "a bare list is not the shape: {err}"
        );
    }

    #[test]
    fn a_missing_file_is_no_config_but_a_directory_is_an_error() {
        let missing = load(Path::new("/nonexistent/kubectl-failover/notify.yaml")).unwrap();
        assert!(missing.is_none());
        let dir = std::env::temp_dir();
        assert!(matches!(load(&dir), Err(NotifyError::Read { .. })));
    }

    #[test]
    fn the_sample_secret_holds_a_valid_config() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/samples/notify/secret.yaml"
        );
        let secret: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(secret["metadata"]["name"], "kubectl-failover-notify");
        let file = secret["stringData"]["webhooks.yaml"].as_str().unwrap();
        let config = parse(Path::new(path), file).unwrap();
        assert_eq!(config.webhooks.len(), 2);
        assert_eq!(config.webhooks[0].format, Format::Slack);
    }

    #[test]
    fn deploy_base_points_notify_config_at_the_path_whose_absence_is_quiet() {
        let deployment = include_str!("../../deploy/base/deployment.yaml");
        let value = format!("value: {}", crate::notify::DEFAULT_CONFIG_PATH);
        assert!(deployment.contains(&value), "{value} not in deploy/base");
    }

    #[test]
    fn redaction_keeps_scheme_host_and_port_only() {
        let u: http::Uri = "https://user:pw@hooks.example:8443/services/SECRET?token=x"
            .parse()
            .unwrap();
        assert_eq!(redact(&u), "https://hooks.example:8443");
    }
}
