//! Limits the real kube-apiserver enforces and the project could run into, refused the same way
//! here (422 Invalid): an object name over 253 characters, an Event whose reportingInstance is
//! over 128, and a Failover status listing one group twice (its `groups` is a list-map keyed by
//! `group`). tests/control_plane.rs and tests/admission_policy.rs show the real server's side.

use super::*;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

async fn with_crds() -> FakeApiServer {
    let server = FakeApiServer::start().await;
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    for crd in kubectl_failover::crd::crds() {
        crds.create(&PostParams::default(), &crd)
            .await
            .expect("crd");
    }
    server
}

fn dynamic(
    server: &FakeApiServer,
    group: &str,
    version: &str,
    kind: &str,
    ns: &str,
) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    Api::namespaced_with(server.client(), ns, &ar)
}

#[tokio::test]
async fn a_name_over_253_characters_is_invalid() {
    let server = FakeApiServer::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), NS);
    let err = cms
        .create(&PostParams::default(), &config_map(&"a".repeat(254)))
        .await
        .unwrap_err();
    assert_eq!(api_status(err), (422, "Invalid".into()));
}

#[tokio::test]
async fn an_event_whose_reporting_instance_is_over_128_characters_is_invalid() {
    let server = FakeApiServer::start().await;
    let events = dynamic(&server, "events.k8s.io", "v1", "Event", NS);
    let event = |instance: &str| -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": format!("web.{}", instance.len()), "namespace": NS},
            "eventTime": "2026-12-06T00:00:00.000000Z", "reportingController": "kubectl-failover",
            "reportingInstance": instance, "action": "Failover", "reason": "RoleChanged", "type": "Normal",
        }))
        .unwrap()
    };
    events
        .create(&PostParams::default(), &event(&"i".repeat(128)))
        .await
        .expect("128 is fine");
    let err = events
        .create(&PostParams::default(), &event(&"i".repeat(129)))
        .await
        .unwrap_err();
    assert_eq!(api_status(err), (422, "Invalid".into()));
}

#[tokio::test]
async fn a_failover_status_listing_a_group_twice_is_invalid() {
    let server = with_crds().await;
    let fos = dynamic(&server, "kubectl-failover.io", "v1alpha1", "Failover", NS);
    let fo: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "Failover",
        "metadata": {"name": "move", "namespace": NS},
        "spec": {"targetCluster": "west", "failoverGroups": [{"name": "web"}]},
    }))
    .unwrap();
    fos.create(&PostParams::default(), &fo)
        .await
        .expect("failover");
    let group = json!({"group": "shop/web", "status": "PENDING", "message": ""});
    let once = json!({"status": {"groups": [group.clone()]}});
    fos.patch_status("move", &PatchParams::default(), &Patch::Merge(&once))
        .await
        .expect("once");
    let twice = json!({"status": {"groups": [group.clone(), group]}});
    let err = fos
        .patch_status("move", &PatchParams::default(), &Patch::Merge(&twice))
        .await
        .unwrap_err();
    assert_eq!(api_status(err), (422, "Invalid".into()));
}
