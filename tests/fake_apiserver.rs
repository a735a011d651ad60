//! Tests of the in-memory Kubernetes API server (tests/support/apiserver) through real
//! clients: kube-rs `Api`, kube-runtime's watcher and reflector, and `kubectl`.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "fake_apiserver/clients.rs"]
mod clients;
#[path = "fake_apiserver/limits.rs"]
mod limits;
#[path = "fake_apiserver/watching.rs"]
mod watching;
#[path = "fake_apiserver/writes.rs"]
mod writes;

use std::time::Duration;

use apiserver::FakeApiServer;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::{reflector, watcher};
use kube::{Client, Discovery, ResourceExt};
use serde_json::{Value, json};

const NS: &str = "shop";

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
        },
    }))
    .expect("deployment")
}

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": NS}, "data": {"k": "v"}}))
        .expect("cm")
}

fn deployments(client: &Client) -> Api<Deployment> {
    Api::namespaced(client.clone(), NS)
}

/// The `Status` a kube call failed with.
fn api_status(err: kube::Error) -> (u16, String) {
    match err {
        kube::Error::Api(status) => (status.code, status.reason),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn rv_of(obj: &impl kube::Resource) -> u64 {
    obj.resource_version()
        .expect("resourceVersion")
        .parse()
        .expect("integer resourceVersion")
}

/// Polls `check` until it holds, failing after a bounded time.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for: {what}");
}

#[tokio::test]
async fn deployments_can_be_created_read_and_listed_with_resource_versions() {
    let server = FakeApiServer::start().await;
    let api = deployments(&server.client());
    let web = api
        .create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();
    let db = api
        .create(&PostParams::default(), &deployment("db", 1))
        .await
        .unwrap();
    assert!(
        rv_of(&db) > rv_of(&web),
        "resourceVersion strictly increases"
    );
    assert!(web.uid().is_some() && web.creation_timestamp().is_some());
    assert_eq!(web.metadata.generation, Some(1));

    let got = api.get("web").await.unwrap();
    assert_eq!(got.spec.replicas, Some(2));
    assert_eq!(rv_of(&got), rv_of(&web));

    let list = api.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        list.items.iter().map(|d| d.name_any()).collect::<Vec<_>>(),
        ["db", "web"]
    );
    assert_eq!(
        list.metadata.resource_version,
        Some(server.resource_version().to_string())
    );
    let by_label = api
        .list(&ListParams::default().labels("app in (web,other)"))
        .await
        .unwrap();
    assert_eq!(by_label.items.len(), 1);
    assert_eq!(by_label.items[0].name_any(), "web");
    let by_field = api
        .list(&ListParams::default().fields("metadata.name=db"))
        .await
        .unwrap();
    assert_eq!(
        by_field
            .items
            .iter()
            .map(|d| d.name_any())
            .collect::<Vec<_>>(),
        ["db"]
    );
    let elsewhere: Api<Deployment> = Api::namespaced(server.client(), "other");
    assert!(
        elsewhere
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let everywhere: Api<Deployment> = Api::all(server.client());
    assert_eq!(
        everywhere
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    // Like the real server: built-in list items carry no apiVersion/kind.
    let list_request = http::Request::get(format!("/apis/apps/v1/namespaces/{NS}/deployments"))
        .body(vec![])
        .unwrap();
    let raw: Value = server.client().request(list_request).await.unwrap();
    assert_eq!(raw["kind"], "DeploymentList");
    assert!(raw["items"][0].get("kind").is_none(), "{raw}");
}

#[tokio::test]
async fn creating_an_existing_object_is_a_409_already_exists_status() {
    let server = FakeApiServer::start().await;
    let api = deployments(&server.client());
    api.create(&PostParams::default(), &deployment("web", 1))
        .await
        .unwrap();
    let err = api
        .create(&PostParams::default(), &deployment("web", 3))
        .await
        .unwrap_err();
    assert_eq!(api_status(err), (409, "AlreadyExists".to_string()));
    let missing = api.get("nope").await.unwrap_err();
    assert_eq!(api_status(missing), (404, "NotFound".to_string()));
    assert_eq!(api.get("web").await.unwrap().spec.replicas, Some(1));
}

#[tokio::test]
async fn generate_name_creates_distinct_names_with_the_prefix() {
    let server = FakeApiServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), NS);
    let mut cm = config_map("");
    cm.metadata.name = None;
    cm.metadata.generate_name = Some("run-".into());
    let a = api.create(&PostParams::default(), &cm).await.unwrap();
    let b = api.create(&PostParams::default(), &cm).await.unwrap();
    assert!(
        a.name_any().starts_with("run-") && a.name_any().len() == 9,
        "{}",
        a.name_any()
    );
    assert_ne!(a.name_any(), b.name_any());
}

#[tokio::test]
async fn replacing_with_a_stale_resource_version_is_a_409_conflict() {
    let server = FakeApiServer::start().await;
    let api = deployments(&server.client());
    let created = api
        .create(&PostParams::default(), &deployment("web", 1))
        .await
        .unwrap();
    let mut fresh = created.clone();
    fresh.spec.replicas = Some(4);
    let replaced = api
        .replace("web", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert!(rv_of(&replaced) > rv_of(&created));
    assert_eq!(
        replaced.metadata.generation,
        Some(2),
        "a spec change bumps generation"
    );

    let mut stale = created;
    stale.spec.replicas = Some(9);
    let err = api
        .replace("web", &PostParams::default(), &stale)
        .await
        .unwrap_err();
    assert_eq!(api_status(err), (409, "Conflict".to_string()));
    assert_eq!(api.get("web").await.unwrap().spec.replicas, Some(4));

    let mut renamed = replaced;
    renamed.metadata.name = Some("other".into());
    let err = api
        .replace("web", &PostParams::default(), &renamed)
        .await
        .unwrap_err();
    assert_eq!(
        api_status(err),
        (400, "BadRequest".to_string()),
        "body name must match the path"
    );
}
