//! The CRDs: installed in every context, serving this plugin's version, with this plugin's
//! schema, and the same in every cluster.
//!
//! A CRD is compared by its fingerprint: per version, its name, whether it is served and stored,
//! and a hash of its schema and subresources. Only those are hashed because the API server fills
//! in defaults elsewhere in a CRD (conversion strategy, metadata), which would make every
//! installed CRD look different from the generated one.

use super::{Area, Check};
use crate::crd::{CRD_PATH, VERSION};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What identifies one version of a CRD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionPrint {
    /// The version, e.g. `v1alpha1`.
    pub name: String,
    /// Served by the API server.
    pub served: bool,
    /// The storage version.
    pub storage: bool,
    /// 16 hex digits of the hash of its schema and subresources.
    pub hash: String,
}

/// What identifies a CRD's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrdPrint {
    /// The CRD's name, e.g. `failovergroups.kubectl-failover.io`.
    pub name: String,
    /// Its versions, in the CRD's order.
    pub versions: Vec<VersionPrint>,
}

impl CrdPrint {
    /// The hashes of every version, for messages: `v1alpha1 1a2b3c4d5e6f`.
    fn hashes(&self) -> String {
        let parts: Vec<String> = self
            .versions
            .iter()
            .map(|v| format!("{} {}", v.name, &v.hash[..12.min(v.hash.len())]))
            .collect();
        parts.join(", ")
    }

    /// Whether it serves this plugin's version.
    fn serves_ours(&self) -> bool {
        self.versions.iter().any(|v| v.name == VERSION && v.served)
    }
}

/// The fingerprint of a CRD (the generated one or one read from a cluster).
pub fn fingerprint(crd: &CustomResourceDefinition) -> CrdPrint {
    let versions = crd
        .spec
        .versions
        .iter()
        .map(|v| {
            let mut text = String::new();
            // Serializing the typed fields cannot fail; `Null` stands in if it ever did, which
            // only makes the hashes differ, never hides a difference.
            let schema = serde_json::to_value(&v.schema).unwrap_or(Value::Null);
            let subresources = serde_json::to_value(&v.subresources).unwrap_or(Value::Null);
            canonical(&schema, &mut text);
            text.push('|');
            canonical(&subresources, &mut text);
            VersionPrint {
                name: v.name.clone(),
                served: v.served,
                storage: v.storage,
                hash: format!("{:016x}", fnv1a(text.as_bytes())),
            }
        })
        .collect();
    CrdPrint {
        name: crd.metadata.name.clone().unwrap_or_default(),
        versions,
    }
}

/// JSON with object keys sorted at every level, so the same content always gives the same text
/// whatever order a server returned its fields in.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// 64-bit FNV-1a: stable across Rust releases and platforms (std's hasher is not promised to
/// be), which matters because the hashes are shown to people and compared between runs.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// What one context holds: for each CRD this plugin needs, its fingerprint, or `None` when it
/// is not installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledCrds {
    /// The kubeconfig context.
    pub context: String,
    /// By CRD name.
    pub crds: BTreeMap<String, Option<CrdPrint>>,
}

fn apply_fix(context: &str) -> String {
    format!("kubectl --context {context} apply -f {CRD_PATH} (the file of this plugin's release)")
}

/// One check per context (installed, serving this plugin's version, this plugin's schema) and,
/// with several contexts that have them all, one that the CRDs are the same in all of them.
pub fn judge_crds(expected: &[CrdPrint], installed: &[InstalledCrds]) -> Vec<Check> {
    let mut checks: Vec<Check> = installed.iter().map(|i| judge_one(expected, i)).collect();
    // A context with a CRD missing has failed already; comparing it too would say it twice.
    let complete: Vec<InstalledCrds> = installed
        .iter()
        .filter(|i| i.crds.values().all(Option::is_some))
        .cloned()
        .collect();
    if complete.len() > 1 {
        checks.push(judge_same(&complete));
    }
    checks
}

fn judge_one(expected: &[CrdPrint], installed: &InstalledCrds) -> Check {
    let context = &installed.context;
    let name = format!("CRDs in {context}");
    let missing: Vec<&str> = expected
        .iter()
        .filter(|e| !matches!(installed.crds.get(&e.name), Some(Some(_))))
        .map(|e| e.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Check::fail(
            Area::Crds,
            name,
            format!(
                "{} not installed: the controller cannot start without them",
                missing.join(" and ")
            ),
            apply_fix(context),
        );
    }
    let found: Vec<&CrdPrint> = installed.crds.values().flatten().collect();
    let not_served: Vec<String> = found
        .iter()
        .filter(|c| !c.serves_ours())
        .map(|c| {
            let served: Vec<&str> = c
                .versions
                .iter()
                .filter(|v| v.served)
                .map(|v| v.name.as_str())
                .collect();
            format!("{} serves {}", c.name, served.join(", "))
        })
        .collect();
    if !not_served.is_empty() {
        return Check::fail(
            Area::Crds,
            name,
            format!("this plugin uses {VERSION}, but {}", not_served.join("; ")),
            apply_fix(context),
        );
    }
    let differing: Vec<String> = expected
        .iter()
        .filter_map(|e| {
            let got = installed.crds.get(&e.name).cloned().flatten()?;
            (got != *e).then(|| {
                format!(
                    "{} has {} where this plugin's has {}",
                    e.name,
                    got.hashes(),
                    e.hashes()
                )
            })
        })
        .collect();
    if !differing.is_empty() {
        // A plugin of another release than the cluster's is a normal thing to run; only CRDs
        // that differ between clusters break a failover, which `judge_same` fails.
        return Check::warn(
            Area::Crds,
            name,
            format!(
                "installed CRD differs from this plugin's: {} (another release?)",
                differing.join("; ")
            ),
            apply_fix(context),
        );
    }
    let names: Vec<&str> = expected.iter().map(|e| e.name.as_str()).collect();
    Check::pass(
        Area::Crds,
        name,
        format!(
            "{} serve {VERSION}, same schema as this plugin's",
            names.join(" and ")
        ),
    )
}

fn judge_same(installed: &[InstalledCrds]) -> Check {
    let name = "CRDs the same in every cluster";
    let first = &installed[0];
    let differs: Vec<&InstalledCrds> = installed[1..]
        .iter()
        .filter(|i| i.crds != first.crds)
        .collect();
    if differs.is_empty() {
        return Check::pass(
            Area::Crds,
            name,
            format!(
                "{} have identical CRDs",
                installed
                    .iter()
                    .map(|i| i.context.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let describe = |i: &InstalledCrds| {
        let parts: Vec<String> = i
            .crds
            .iter()
            .map(|(n, p)| match p {
                Some(p) => format!("{n} {}", p.hashes()),
                None => format!("{n} missing"),
            })
            .collect();
        format!("{}: {}", i.context, parts.join(", "))
    };
    let mut lines = vec![describe(first)];
    lines.extend(differs.iter().map(|i| describe(i)));
    let fixes: Vec<String> = installed.iter().map(|i| apply_fix(&i.context)).collect();
    Check::fail(
        Area::Crds,
        name,
        format!(
            "the clusters have different CRDs, so a group may be valid in one and refused in another: {}",
            lines.join("; ")
        ),
        format!("apply the same file everywhere: {}", fixes.join("; ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::doctor::Status;

    fn ours() -> Vec<CrdPrint> {
        crate::crd::crds().iter().map(fingerprint).collect()
    }

    fn installed(context: &str, prints: &[CrdPrint]) -> InstalledCrds {
        InstalledCrds {
            context: context.into(),
            crds: prints
                .iter()
                .map(|p| (p.name.clone(), Some(p.clone())))
                .collect(),
        }
    }

    #[test]
    fn the_fingerprint_survives_a_round_trip_through_json_and_sees_a_schema_change() {
        let crds = crate::crd::crds();
        let json = serde_json::to_string(&crds[0]).unwrap();
        let back: CustomResourceDefinition = serde_json::from_str(&json).unwrap();
        assert_eq!(fingerprint(&back), fingerprint(&crds[0]));
        let mut changed = crds[0].clone();
        changed.spec.versions[0].subresources = None;
        assert_ne!(fingerprint(&changed), fingerprint(&crds[0]));
        assert_eq!(fingerprint(&crds[0]).versions[0].hash.len(), 16);
    }

    #[test]
    fn the_plugins_own_crds_in_two_contexts_pass() {
        let ours = ours();
        let checks = judge_crds(&ours, &[installed("east", &ours), installed("west", &ours)]);
        assert_eq!(checks.len(), 3);
        assert!(
            checks.iter().all(|c| c.status == Status::Pass),
            "{checks:?}"
        );
    }

    #[test]
    fn a_missing_crd_fails_naming_it_and_the_apply_command() {
        let ours = ours();
        let mut west = installed("west", &ours);
        west.crds.insert(ours[1].name.clone(), None);
        let checks = judge_crds(&ours, &[installed("east", &ours), west]);
        let c = &checks[1];
        assert_eq!(c.status, Status::Fail, "{c:?}");
        assert!(
            c.detail
                .contains("failovers.kubectl-failover.io not installed"),
            "{c:?}"
        );
        assert!(
            c.fix
                .as_ref()
                .unwrap()
                .contains("kubectl --context west apply -f deploy/crds")
        );
        // Said once: not again as a difference between the clusters.
        assert_eq!(checks.len(), 2, "{checks:?}");
    }

    #[test]
    fn another_schema_warns_in_one_context_and_fails_across_contexts() {
        let ours = ours();
        let mut old = ours.clone();
        old[0].versions[0].hash = "0000000000000000".into();
        let checks = judge_crds(&ours, &[installed("east", &ours), installed("west", &old)]);
        assert_eq!(checks[0].status, Status::Pass);
        assert_eq!(checks[1].status, Status::Warn, "{:?}", checks[1]);
        assert!(checks[1].detail.contains("differs from this plugin's"));
        assert_eq!(checks[2].status, Status::Fail, "{:?}", checks[2]);
        assert!(checks[2].detail.contains("west: "), "{:?}", checks[2]);
    }

    #[test]
    fn a_crd_that_does_not_serve_our_version_fails() {
        let ours = ours();
        let mut other = ours.clone();
        other[0].versions[0].name = "v1beta9".into();
        let checks = judge_crds(&ours, &[installed("east", &other)]);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, Status::Fail);
        assert!(
            checks[0].detail.contains("serves v1beta9"),
            "{:?}",
            checks[0]
        );
    }
}
