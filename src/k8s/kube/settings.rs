//! How the Kubernetes actions write: the field manager of every patch and the DNS annotations
//! switched on Ingresses and VirtualServices, with their defaults and environment variables.

use std::collections::BTreeMap;

/// Environment variable: the field manager of every patch.
pub const ENV_FIELD_MANAGER: &str = "FIELD_MANAGER";
/// Environment variable: the annotation external-dns filters on.
pub const ENV_DNS_KEY: &str = "DNS_ANNOTATION_KEY";
/// Environment variable: its value while the cluster serves.
pub const ENV_DNS_ON: &str = "DNS_ANNOTATION_ON";
/// Environment variable: its value while the cluster does not serve; empty removes it.
pub const ENV_DNS_OFF: &str = "DNS_ANNOTATION_OFF";

/// Environment variable: the annotation key prefixes a NetworkRef's `activeAnnotations` may
/// use, comma-separated. Set by the cluster admin (the controller's Deployment), not by the
/// FailoverGroup's author.
pub const ENV_ALLOWED_PREFIXES: &str = "ALLOWED_ANNOTATION_PREFIXES";
/// The default of [`ENV_ALLOWED_PREFIXES`]: external-dns's and this project's own.
pub const DEFAULT_ALLOWED_PREFIXES: &[&str] =
    &["external-dns.alpha.kubernetes.io/", "kubectl-failover.io/"];

/// The default field manager.
pub const DEFAULT_FIELD_MANAGER: &str = "kubectl-failover";
/// The default DNS annotation: run external-dns with
/// `--annotation-filter=kubectl-failover.io/dns in (enabled)` so it publishes records only for
/// the objects of the cluster that serves.
pub const DEFAULT_DNS_KEY: &str = "kubectl-failover.io/dns";
/// The default value of [`DEFAULT_DNS_KEY`] while serving.
pub const DEFAULT_DNS_ON: &str = "enabled";
/// The default value of [`DEFAULT_DNS_KEY`] while not serving.
pub const DEFAULT_DNS_OFF: &str = "disabled";

/// The annotation that tells the DNS controller (external-dns) whether to publish an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAnnotations {
    /// Annotation key, e.g. `kubectl-failover.io/dns`.
    pub key: String,
    /// Value while this cluster serves the group.
    pub on: String,
    /// Value while it does not; `None` removes the annotation instead.
    pub off: Option<String>,
    /// Key prefixes a NetworkRef's `activeAnnotations` may use ([`ENV_ALLOWED_PREFIXES`]):
    /// without them a FailoverGroup author could have the controller write any annotation, for
    /// example an ingress-nginx `*-snippet` that policies keyed on their own identity refuse.
    pub allowed_prefixes: Vec<String>,
}

impl Default for DnsAnnotations {
    fn default() -> Self {
        DnsAnnotations {
            key: DEFAULT_DNS_KEY.to_string(),
            on: DEFAULT_DNS_ON.to_string(),
            off: Some(DEFAULT_DNS_OFF.to_string()),
            allowed_prefixes: DEFAULT_ALLOWED_PREFIXES
                .iter()
                .map(|p| p.to_string())
                .collect(),
        }
    }
}

impl DnsAnnotations {
    /// The annotations to merge for `on`: values to set, `None` to remove.
    pub fn patch(&self, on: bool) -> BTreeMap<String, Option<String>> {
        let value = if on {
            Some(self.on.clone())
        } else {
            self.off.clone()
        };
        BTreeMap::from([(self.key.clone(), value)])
    }

    /// Whether a NetworkRef may set annotation `key` (one of `allowed_prefixes`).
    pub fn allows(&self, key: &str) -> bool {
        self.allowed_prefixes.iter().any(|p| key.starts_with(p))
    }
}

/// Settings of [`super::KubeCluster`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeSettings {
    /// Field manager of every patch (default "kubectl-failover").
    pub field_manager: String,
    /// DNS annotations switched on Ingress / VirtualService (external-dns conventions).
    pub dns: DnsAnnotations,
}

impl Default for KubeSettings {
    fn default() -> Self {
        KubeSettings {
            field_manager: DEFAULT_FIELD_MANAGER.to_string(),
            dns: DnsAnnotations::default(),
        }
    }
}

/// Why a setting from the environment cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?} {problem}; {fix}")]
pub struct KubeSettingsError {
    /// The environment variable.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
    /// What to set instead.
    pub fix: String,
}

impl KubeSettings {
    /// From the environment (FIELD_MANAGER, DNS_ANNOTATION_KEY, DNS_ANNOTATION_ON,
    /// DNS_ANNOTATION_OFF), each defaulted when unset.
    pub fn from_env() -> Result<KubeSettings, KubeSettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`KubeSettings::from_env`], reading variables through `lookup`.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<KubeSettings, KubeSettingsError> {
        let mut settings = KubeSettings::default();
        if let Some(value) = lookup(ENV_FIELD_MANAGER) {
            check_field_manager(&value)?;
            settings.field_manager = value;
        }
        if let Some(value) = lookup(ENV_DNS_KEY) {
            check_annotation_key(&value)?;
            settings.dns.key = value;
        }
        if let Some(value) = lookup(ENV_DNS_ON) {
            if value.is_empty() {
                return Err(KubeSettingsError {
                    variable: ENV_DNS_ON,
                    value,
                    problem: "is empty, so a serving object could not be told apart".into(),
                    fix: format!("set the value external-dns filters on, e.g. {DEFAULT_DNS_ON}"),
                });
            }
            settings.dns.on = value;
        }
        if let Some(value) = lookup(ENV_DNS_OFF) {
            settings.dns.off = (!value.is_empty()).then_some(value);
        }
        if let Some(value) = lookup(ENV_ALLOWED_PREFIXES) {
            let prefixes: Vec<String> = value
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect();
            if let Some(bad) = prefixes.iter().find(|p| !p.ends_with('/') || p.len() < 3) {
                return Err(KubeSettingsError {
                    variable: ENV_ALLOWED_PREFIXES,
                    value: value.clone(),
                    problem: format!(
                        "has {bad:?}, which is not an annotation key prefix ending in '/'"
                    ),
                    fix: format!(
                        "list prefixes such as {}",
                        DEFAULT_ALLOWED_PREFIXES.join(",")
                    ),
                });
            }
            settings.dns.allowed_prefixes = prefixes;
        }
        if settings.dns.off.as_deref() == Some(settings.dns.on.as_str()) {
            return Err(KubeSettingsError {
                variable: ENV_DNS_OFF,
                value: settings.dns.on.clone(),
                problem: format!("equals {ENV_DNS_ON}, so switching DNS off would change nothing"),
                fix: format!(
                    "use another value (e.g. {DEFAULT_DNS_OFF}) or an empty one to remove the annotation"
                ),
            });
        }
        Ok(settings)
    }
}

fn check_field_manager(value: &str) -> Result<(), KubeSettingsError> {
    // The API server refuses managers longer than 128 characters or with control characters.
    if value.is_empty() || value.len() > 128 || value.chars().any(char::is_control) {
        return Err(KubeSettingsError {
            variable: ENV_FIELD_MANAGER,
            value: value.to_string(),
            problem: "is not a valid field manager (1-128 printable characters)".into(),
            fix: format!("unset it to use {DEFAULT_FIELD_MANAGER}"),
        });
    }
    Ok(())
}

/// Checks a Kubernetes annotation key: an optional DNS-subdomain prefix and `/`, then a name of
/// at most 63 alphanumerics, `-`, `_` or `.`, starting and ending alphanumeric.
fn check_annotation_key(value: &str) -> Result<(), KubeSettingsError> {
    let (prefix, name) = match value.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, value),
    };
    let alnum_ends = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
    };
    let name_ok = name.len() <= 63
        && alnum_ends(name)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let prefix_ok = prefix.is_none_or(|p| {
        p.len() <= 253
            && p.split('.').all(|label| {
                alnum_ends(label)
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    });
    if name_ok && prefix_ok {
        return Ok(());
    }
    Err(KubeSettingsError {
        variable: ENV_DNS_KEY,
        value: value.to_string(),
        problem: "is not a valid annotation key".into(),
        fix: format!(
            "use prefix/name with a DNS-subdomain prefix and a name of at most 63 characters, e.g. {DEFAULT_DNS_KEY}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_annotations_are_limited_to_the_admins_prefixes() {
        let d = KubeSettings::default().dns;
        assert!(d.allows("external-dns.alpha.kubernetes.io/hostname"));
        assert!(!d.allows("nginx.ingress.kubernetes.io/server-snippet"));
        let s = from(&[(ENV_ALLOWED_PREFIXES, "example.com/, kubectl-failover.io/")]).unwrap();
        assert!(s.dns.allows("example.com/weight"));
        assert!(!s.dns.allows("external-dns.alpha.kubernetes.io/hostname"));
        let e = from(&[(ENV_ALLOWED_PREFIXES, "nginx.ingress.kubernetes.io")]).unwrap_err();
        assert!(e.to_string().contains("ending in '/'"), "{e}");
    }

    fn from(vars: &[(&str, &str)]) -> Result<KubeSettings, KubeSettingsError> {
        KubeSettings::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn without_variables_the_defaults_apply() {
        assert_eq!(from(&[]).unwrap(), KubeSettings::default());
        assert_eq!(KubeSettings::default().field_manager, "kubectl-failover");
    }

    #[test]
    fn every_variable_overrides_its_setting_and_an_empty_off_value_removes_the_annotation() {
        let s = from(&[
            (ENV_FIELD_MANAGER, "fo"),
            (ENV_DNS_KEY, "external-dns.alpha.kubernetes.io/exclude"),
            (ENV_DNS_ON, "false"),
            (ENV_DNS_OFF, ""),
        ])
        .unwrap();
        assert_eq!(s.field_manager, "fo");
        assert_eq!(s.dns.key, "external-dns.alpha.kubernetes.io/exclude");
        assert_eq!(s.dns.on, "false");
        assert_eq!(s.dns.off, None);
        let off = s.dns.patch(false);
        assert_eq!(off["external-dns.alpha.kubernetes.io/exclude"], None);
    }

    #[test]
    fn a_bad_annotation_key_is_refused_naming_the_variable_and_an_example() {
        let text = from(&[(ENV_DNS_KEY, "Bad Key/x")]).unwrap_err().to_string();
        assert!(
            text.starts_with("DNS_ANNOTATION_KEY=\"Bad Key/x\""),
            "{text}"
        );
        assert!(text.contains("kubectl-failover.io/dns"), "{text}");
    }

    #[test]
    fn equal_on_and_off_values_are_refused() {
        let text = from(&[(ENV_DNS_ON, "x"), (ENV_DNS_OFF, "x")])
            .unwrap_err()
            .to_string();
        assert!(text.contains("DNS_ANNOTATION_OFF"), "{text}");
    }

    #[test]
    fn an_empty_on_value_or_field_manager_is_refused() {
        assert!(from(&[(ENV_DNS_ON, "")]).is_err());
        assert!(from(&[(ENV_FIELD_MANAGER, "")]).is_err());
    }
}
