//! The pods a workload still has: "scaled down" means none left, not `status.replicas == 0`.
//! Before Kubernetes 1.35 a Deployment's status leaves terminating pods out
//! (`terminatingReplicas` is alpha and off by default in 1.33 and 1.34), and a pod may run its
//! preStop hook and keep writing for its whole grace period; a StatefulSet with OrderedReady
//! stops one pod after the other. Volumes are demoted, and the target may start, only once the
//! workload's selector matches no running or terminating pod.

use super::errors::KubeError;
use super::objects::ObjectRef;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

/// The label selector of a workload (`spec.selector`) in the API's query syntax, or why it
/// has none that can be used.
pub fn selector(object: &ObjectRef<'_>, obj: &DynamicObject) -> Result<String, KubeError> {
    let sel = &obj.data["spec"]["selector"];
    let mut terms = Vec::new();
    if let Some(labels) = sel["matchLabels"].as_object() {
        for (k, v) in labels {
            terms.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let key = e["key"].as_str().unwrap_or_default();
        let values = || {
            e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        };
        terms.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values()),
            "NotIn" => format!("{key} notin ({})", values()),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            other => {
                return Err(unusable(
                    object,
                    &format!("has an unknown operator {other:?}"),
                ));
            }
        });
    }
    if terms.is_empty() {
        // An empty selector matches every pod of the namespace: never "none left".
        return Err(unusable(object, "is empty"));
    }
    Ok(terms.join(","))
}

fn unusable(object: &ObjectRef<'_>, problem: &str) -> KubeError {
    KubeError::BadValue {
        object: object.to_string(),
        field: "spec.selector".into(),
        value: String::new(),
        problem: format!("{problem}, so whether its pods are gone cannot be told"),
        fix: "give the workload a selector of matchLabels or matchExpressions".into(),
    }
}

/// Pods matching `selector` in `namespace` that still run or terminate (finished pods do not
/// count): `(total, terminating)`.
pub async fn left(
    client: &Client,
    object: &ObjectRef<'_>,
    selector: &str,
) -> Result<(usize, usize), KubeError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), object.namespace);
    let pods = api
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| forbidden_fix(object, e))?;
    let mut total = 0;
    let mut terminating = 0;
    for pod in pods.items {
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if matches!(phase, Some("Succeeded" | "Failed")) {
            continue;
        }
        total += 1;
        if pod.metadata.deletion_timestamp.is_some() {
            terminating += 1;
        }
    }
    Ok((total, terminating))
}

fn forbidden_fix(object: &ObjectRef<'_>, err: kube::Error) -> KubeError {
    let forbidden = matches!(&err, kube::Error::Api(s) if s.code == 403);
    let message = match &err {
        kube::Error::Api(s) => format!(
            "listing its pods: the API server answered {}: {}",
            s.code, s.message
        ),
        other => format!("listing its pods: the API server could not be reached: {other}"),
    };
    KubeError::Api {
        object: object.to_string(),
        message: if forbidden {
            format!(
                "{message}; grant the controller's ServiceAccount list on pods (deploy/base/rbac.yaml)"
            )
        } else {
            message
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::kube::objects::DEPLOYMENT;
    use serde_json::json;

    fn workload(selector: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"selector": selector},
        }))
        .unwrap()
    }

    fn object() -> ObjectRef<'static> {
        ObjectRef {
            kind: &DEPLOYMENT,
            namespace: "shop",
            name: "web",
        }
    }

    #[test]
    fn a_selector_becomes_the_api_query_with_every_operator() {
        let obj = workload(json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "canary", "operator": "NotIn", "values": ["true"]},
                {"key": "team", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"},
            ],
        }));
        assert_eq!(
            selector(&object(), &obj).unwrap(),
            "app=web,tier in (a,b),canary notin (true),team,!legacy"
        );
    }

    #[test]
    fn an_empty_or_unknown_selector_is_refused_naming_the_workload() {
        for sel in [
            json!({}),
            json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}),
        ] {
            let text = selector(&object(), &workload(sel)).unwrap_err().to_string();
            assert!(text.contains("deployment/web in shop"), "{text}");
            assert!(text.contains("spec.selector"), "{text}");
        }
    }
}
