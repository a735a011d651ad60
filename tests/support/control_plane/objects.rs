//! Talking to a real control plane as its administrator: server-side apply of any object
//! (found through discovery), reads and lists by API path, ServiceAccount tokens from the
//! TokenRequest API, kubeconfigs, and the objects every cluster gets (nodes, CRDs).

use std::path::Path;

use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

use super::ControlPlane;

/// The field manager of everything the tests apply (as GitOps would).
pub const FIELD_MANAGER: &str = "e2e-gitops";

/// Writes a kubeconfig for `server` with a bearer `token`; `ca` is the CA to trust (none for
/// a plain-HTTP server such as the fault proxy).
pub fn write_kubeconfig(
    path: &Path,
    context: &str,
    server: &str,
    ca: Option<&Path>,
    token: &str,
) -> Result<(), String> {
    let ca = ca
        .map(|p| format!("    certificate-authority: {}\n", p.display()))
        .unwrap_or_default();
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}\n  cluster:\n    server: {server}\n{ca}\
         users:\n- name: {context}\n  user:\n    token: {token}\n\
         contexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n    namespace: default\n\
         current-context: {context}\n"
    );
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

/// A client from a kubeconfig file.
pub async fn client(kubeconfig: &Path) -> Result<kube::Client, String> {
    let kc = Kubeconfig::read_from(kubeconfig)
        .map_err(|e| format!("read {}: {e}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| format!("load {}: {e}", kubeconfig.display()))?;
    kube::Client::try_from(config).map_err(|e| format!("client for {}: {e}", kubeconfig.display()))
}

/// A simulated node that kwok manages.
pub fn node(name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
        },
        "spec": {},
    })
}

/// The project's CRDs exactly as deploy/crds ships them, and test-only CRDs for the kinds the
/// project acts on but does not own (csi-addons VolumeReplication, Istio VirtualService, Flux
/// HelmRelease and Kustomization), with a status subresource and an open schema.
pub fn crds() -> Result<Vec<Value>, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/crds/failover.yaml");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let mut crds: Vec<Value> =
        serde_saphyr::from_multiple(&text).map_err(|e| format!("parse {}: {e}", path.display()))?;
    crds.retain(|c| !c.is_null());
    for (group, version, kind, plural) in [
        (
            "replication.storage.openshift.io",
            "v1alpha1",
            "VolumeReplication",
            "volumereplications",
        ),
        (
            "networking.istio.io",
            "v1",
            "VirtualService",
            "virtualservices",
        ),
        (
            "helm.toolkit.fluxcd.io",
            "v2",
            "HelmRelease",
            "helmreleases",
        ),
        (
            "kustomize.toolkit.fluxcd.io",
            "v1",
            "Kustomization",
            "kustomizations",
        ),
    ] {
        crds.push(foreign_crd(group, version, kind, plural));
    }
    Ok(crds)
}

fn foreign_crd(group: &str, version: &str, kind: &str, plural: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {
                "plural": plural, "singular": kind.to_lowercase(), "kind": kind,
                "listKind": format!("{kind}List"),
            },
            "versions": [{
                "name": version, "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            }],
        },
    })
}

/// The group/version/kind of an object.
pub fn gvk_of(obj: &Value) -> Result<GroupVersionKind, String> {
    let api_version = obj["apiVersion"]
        .as_str()
        .ok_or("object without apiVersion")?;
    let kind = obj["kind"].as_str().ok_or("object without kind")?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Ok(GroupVersionKind::gvk(group, version, kind))
}

impl ControlPlane {
    /// Server-side applies `obj` (forcing ownership, as GitOps does); returns the stored object.
    pub async fn apply(&self, obj: Value) -> Result<Value, String> {
        apply_with(&self.client, &self.name, obj).await
    }

    /// The object at an API path, `None` when it does not exist.
    pub async fn get(&self, path: &str) -> Result<Option<Value>, String> {
        get_with(&self.client, &self.name, path).await
    }

    /// The items of a list at an API path.
    pub async fn list(&self, path: &str) -> Result<Vec<Value>, String> {
        let list = self.get(path).await?.unwrap_or(Value::Null);
        Ok(list["items"].as_array().cloned().unwrap_or_default())
    }

    /// Sends `method` to an API path with a JSON body (or none); the status code and body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(bytes)
            .map_err(|e| e.to_string())?;
        self.client
            .request::<Value>(req)
            .await
            .map_err(|e| format!("{method} {path} on {}: {e}", self.name))
    }

    /// A token of ServiceAccount `namespace/name` from the TokenRequest API, valid for a day.
    pub async fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<String, String> {
        let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token");
        let body = json!({
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": 86400},
        });
        let answer = self
            .send("POST", &path, "application/json", Some(body))
            .await?;
        answer["status"]["token"]
            .as_str()
            .map(String::from)
            .ok_or_else(|| {
                format!("TokenRequest for {namespace}/{name} returned no token: {answer}")
            })
    }
}

/// [`ControlPlane::apply`] with any client (`cluster` names it in messages).
pub async fn apply_with(client: &kube::Client, cluster: &str, obj: Value) -> Result<Value, String> {
    let gvk = gvk_of(&obj)?;
    let name = obj["metadata"]["name"]
        .as_str()
        .ok_or("object without a name")?
        .to_string();
    let (resource, caps) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .map_err(|e| format!("discover {gvk:?} on {cluster}: {e}"))?;
    let api: Api<DynamicObject> = match (caps.scope, obj["metadata"]["namespace"].as_str()) {
        (kube::discovery::Scope::Namespaced, Some(ns)) => {
            Api::namespaced_with(client.clone(), ns, &resource)
        }
        (kube::discovery::Scope::Namespaced, None) => {
            Api::default_namespaced_with(client.clone(), &resource)
        }
        (kube::discovery::Scope::Cluster, _) => Api::all_with(client.clone(), &resource),
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let applied = api
        .patch(&name, &params, &Patch::Apply(&obj))
        .await
        .map_err(|e| format!("apply {} {name} on {cluster}: {e}", gvk.kind))?;
    serde_json::to_value(applied).map_err(|e| e.to_string())
}

/// [`ControlPlane::get`] with any client.
pub async fn get_with(
    client: &kube::Client,
    cluster: &str,
    path: &str,
) -> Result<Option<Value>, String> {
    let req = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    match client.request::<Value>(req).await {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(format!("GET {path} on {cluster}: {e}")),
    }
}
