//! Which resources the fake API server knows, and the discovery documents derived from them.
//!
//! Built-in kinds are the ones the project touches; any other resource exists only once a
//! CustomResourceDefinition declaring it has been written (as on a real cluster, where an
//! optional CRD such as Istio's may simply be absent).

use serde_json::{Value, json};

use super::ApiError;

/// One served group/version/resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    /// Has a `/status` subresource: main-resource writes then leave `.status` alone.
    pub status: bool,
    /// Whether `metadata.generation` is maintained (real ConfigMaps, Leases, Events and
    /// Namespaces have none).
    pub generation: bool,
    /// Built-in (typed) kinds: list items carry no apiVersion/kind, unconditional PUT is allowed.
    pub builtin: bool,
    pub short_names: Vec<String>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The `/scale` subresource (only the built-in workloads here; CRD scale is not served).
    pub fn has_scale(&self) -> bool {
        self.builtin && self.group == "apps"
    }

    /// Storage is per group and resource, not per version: every served version of a CRD
    /// sees the same objects (no conversion, see the module docs).
    pub fn storage(&self) -> (String, String) {
        (self.group.clone(), self.plural.clone())
    }
}

/// (group, version, plural, kind, namespaced, status subresource, generation, short names)
#[rustfmt::skip]
type Builtin = (&'static str, &'static str, &'static str, &'static str, bool, bool, bool, &'static [&'static str]);

#[rustfmt::skip]
const BUILTINS: &[Builtin] = &[
    ("", "v1", "namespaces", "Namespace", false, true, false, &["ns"]),
    ("", "v1", "configmaps", "ConfigMap", true, false, false, &["cm"]),
    ("", "v1", "pods", "Pod", true, true, false, &["po"]),
    ("", "v1", "events", "Event", true, false, false, &["ev"]),
    ("apps", "v1", "deployments", "Deployment", true, true, true, &["deploy"]),
    ("apps", "v1", "statefulsets", "StatefulSet", true, true, true, &["sts"]),
    ("batch", "v1", "cronjobs", "CronJob", true, true, true, &["cj"]),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", true, true, true, &["ing"]),
    ("coordination.k8s.io", "v1", "leases", "Lease", true, false, false, &[]),
    ("events.k8s.io", "v1", "events", "Event", true, false, false, &["ev"]),
    ("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false, true, true, &["crd", "crds"]),
];

/// Every served resource, built-ins first, then CRD-declared ones in registration order.
#[derive(Debug)]
pub struct Registry {
    types: Vec<ResourceType>,
}

impl Registry {
    pub fn new() -> Self {
        let types = BUILTINS
            .iter()
            .map(
                |&(group, version, plural, kind, namespaced, status, generation, short)| {
                    ResourceType {
                        group: group.into(),
                        version: version.into(),
                        plural: plural.into(),
                        singular: kind.to_lowercase(),
                        kind: kind.into(),
                        namespaced,
                        status,
                        generation,
                        builtin: true,
                        short_names: short.iter().map(|s| s.to_string()).collect(),
                    }
                },
            )
            .collect();
        Registry { types }
    }

    pub fn all(&self) -> &[ResourceType] {
        &self.types
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
    }

    /// Lookup by `apiVersion` and `kind`, as needed for seeding whole objects.
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<&ResourceType> {
        self.types
            .iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
    }

    /// (Re)registers the resources a CRD declares, replacing any earlier declaration of the
    /// same group and plural (a CRD update may add versions or the status subresource).
    pub fn register_crd(&mut self, crd: &Value) -> Result<(), ApiError> {
        let spec = &crd["spec"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let group = text(&spec["group"]);
        let names = &spec["names"];
        let plural = text(&names["plural"]);
        let kind = text(&names["kind"]);
        let name = text(&crd["metadata"]["name"]);
        if group.is_empty() || plural.is_empty() || kind.is_empty() {
            return Err(ApiError::invalid(
                "spec.group, spec.names.plural and spec.names.kind are required",
            ));
        }
        if name != format!("{plural}.{group}") {
            return Err(ApiError::invalid(&format!(
                "metadata.name: Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"
            )));
        }
        let namespaced = match spec["scope"].as_str() {
            Some("Namespaced") => true,
            Some("Cluster") => false,
            _ => {
                return Err(ApiError::invalid(
                    "spec.scope: must be Namespaced or Cluster",
                ));
            }
        };
        let singular = names["singular"]
            .as_str()
            .map_or_else(|| kind.to_lowercase(), str::to_string);
        let short_names: Vec<String> = names["shortNames"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let versions = spec["versions"].as_array().cloned().unwrap_or_default();
        let served: Vec<ResourceType> = versions
            .iter()
            .filter(|v| v["served"].as_bool().unwrap_or(true))
            .filter_map(|v| {
                Some(ResourceType {
                    group: group.clone(),
                    version: v["name"].as_str()?.to_string(),
                    plural: plural.clone(),
                    singular: singular.clone(),
                    kind: kind.clone(),
                    namespaced,
                    status: v["subresources"]["status"].is_object(),
                    generation: true,
                    builtin: false,
                    short_names: short_names.clone(),
                })
            })
            .collect();
        if served.is_empty() {
            return Err(ApiError::invalid(
                "spec.versions: must have at least one served version",
            ));
        }
        self.unregister_crd(&group, &plural);
        self.types.extend(served);
        Ok(())
    }

    pub fn unregister_crd(&mut self, group: &str, plural: &str) {
        self.types
            .retain(|t| t.builtin || t.group != group || t.plural != plural);
    }

    /// Named groups in first-registration order, each with its versions.
    fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for t in self.types.iter().filter(|t| !t.group.is_empty()) {
            match groups.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) if !versions.contains(&t.version) => {
                    versions.push(t.version.clone())
                }
                Some(_) => {}
                None => groups.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        groups
    }

    /// `GET /apis` (legacy, non-aggregated discovery: clients fall back to it).
    pub fn group_list(&self) -> Value {
        let groups: Vec<Value> = self
            .groups()
            .iter()
            .map(|(g, vs)| group_doc(g, vs))
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    /// `GET /apis/{group}`.
    pub fn group(&self, group: &str) -> Option<Value> {
        let mut doc = self
            .groups()
            .into_iter()
            .find(|(g, _)| g == group)
            .map(|(g, vs)| group_doc(&g, &vs))?;
        doc["kind"] = json!("APIGroup");
        doc["apiVersion"] = json!("v1");
        Some(doc)
    }

    /// `GET /api/v1` or `GET /apis/{group}/{version}`; None when nothing is served there.
    pub fn resource_list(&self, group: &str, version: &str) -> Option<Value> {
        let mut resources = Vec::new();
        for t in self
            .types
            .iter()
            .filter(|t| t.group == group && t.version == version)
        {
            let verbs = [
                "create", "delete", "get", "list", "patch", "update", "watch",
            ];
            let mut main = json!({
                "name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
                "kind": t.kind, "verbs": verbs,
            });
            if !t.short_names.is_empty() {
                main["shortNames"] = json!(t.short_names);
            }
            resources.push(main);
            if t.status {
                resources.push(json!({
                    "name": format!("{}/status", t.plural), "singularName": "", "namespaced": t.namespaced,
                    "kind": t.kind, "verbs": ["get", "patch", "update"],
                }));
            }
            if t.has_scale() {
                resources.push(json!({
                    "name": format!("{}/scale", t.plural), "singularName": "", "namespaced": t.namespaced,
                    "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"],
                }));
            }
        }
        if resources.is_empty() {
            return None;
        }
        let group_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        Some(
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
        )
    }
}

fn group_doc(group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": versions, "preferredVersion": versions[0]})
}
