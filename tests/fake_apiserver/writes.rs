//! Writes: patches of every content type, the status and scale subresources, finalizers.

use super::*;

#[tokio::test]
async fn merge_json_and_apply_patches_change_what_they_should() {
    let server = FakeApiServer::start().await;
    let api = deployments(&server.client());
    let created = api
        .create(&PostParams::default(), &deployment("web", 1))
        .await
        .unwrap();

    let merged = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"a": "1"}}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.annotations().get("a").map(String::as_str), Some("1"));
    assert_eq!(
        merged.metadata.generation,
        Some(1),
        "metadata changes keep the generation"
    );
    assert_eq!(
        merged.labels().get("app").map(String::as_str),
        Some("web"),
        "merge keeps other fields"
    );

    let noop = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"a": "1"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        noop.resource_version(),
        merged.resource_version(),
        "a no-op write is not stored"
    );

    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/replicas", "value": 1},
        {"op": "replace", "path": "/spec/replicas", "value": 3},
    ]))
    .unwrap();
    let jsoned = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Json::<()>(ops.clone()),
        )
        .await
        .unwrap();
    assert_eq!(jsoned.spec.replicas, Some(3));
    assert_eq!(jsoned.metadata.generation, Some(2));
    let failed = api
        .patch("web", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .unwrap_err();
    assert_eq!(
        api_status(failed).0,
        422,
        "a failing JSON-patch test op is 422"
    );

    let stale = Patch::Merge(
        json!({"metadata": {"resourceVersion": created.resource_version()}, "spec": {"replicas": 7}}),
    );
    let err = api
        .patch("web", &PatchParams::default(), &stale)
        .await
        .unwrap_err();
    assert_eq!(
        api_status(err).0,
        409,
        "a resourceVersion in a patch is a precondition"
    );

    let ssa = PatchParams::apply("failover").force();
    let apply = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": 0}});
    let applied = api.patch("web", &ssa, &Patch::Apply(apply)).await.unwrap();
    assert_eq!(applied.spec.replicas, Some(0));
    assert_eq!(
        applied.annotations().get("a").map(String::as_str),
        Some("1")
    );

    let new = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "fresh"}, "spec": {"replicas": 2}});
    let created = api.patch("fresh", &ssa, &Patch::Apply(new)).await.unwrap();
    assert_eq!(
        created.spec.replicas,
        Some(2),
        "apply creates a missing object"
    );
    assert!(
        server
            .get(&format!("/apis/apps/v1/namespaces/{NS}/deployments/fresh"))
            .is_some()
    );

    let unmanaged = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Apply(json!({"metadata": {"name": "web"}})),
        )
        .await;
    assert_eq!(
        api_status(unmanaged.unwrap_err()).0,
        400,
        "apply without fieldManager is refused"
    );
}

#[tokio::test]
async fn status_subresource_is_isolated_from_the_main_resource() {
    let server = FakeApiServer::start().await;
    let api = deployments(&server.client());
    let mut with_status = deployment("web", 2);
    with_status.status = Some(serde_json::from_value(json!({"readyReplicas": 5})).unwrap());
    let created = api
        .create(&PostParams::default(), &with_status)
        .await
        .unwrap();
    assert!(created.status.is_none(), "status is dropped on create");

    let status = Patch::Merge(json!({"status": {"readyReplicas": 2}, "spec": {"replicas": 9}}));
    let patched = api
        .patch_status("web", &PatchParams::default(), &status)
        .await
        .unwrap();
    assert_eq!(patched.status.as_ref().unwrap().ready_replicas, Some(2));
    assert_eq!(patched.spec.replicas, Some(2), "/status ignores spec");

    let main = Patch::Merge(json!({"status": {"readyReplicas": 0}, "spec": {"replicas": 3}}));
    let patched = api
        .patch("web", &PatchParams::default(), &main)
        .await
        .unwrap();
    assert_eq!(
        patched.status.as_ref().unwrap().ready_replicas,
        Some(2),
        "main resource ignores status"
    );
    assert_eq!(patched.spec.replicas, Some(3));

    let mut replaced_status = api.get_status("web").await.unwrap();
    replaced_status.status.as_mut().unwrap().ready_replicas = Some(3);
    let replaced = api
        .replace_status("web", &PostParams::default(), &replaced_status)
        .await
        .unwrap();
    assert_eq!(replaced.status.unwrap().ready_replicas, Some(3));
    assert_eq!(
        replaced.metadata.generation,
        Some(2),
        "status writes keep the generation"
    );

    let cms: Api<ConfigMap> = Api::namespaced(server.client(), NS);
    cms.create(&PostParams::default(), &config_map("c"))
        .await
        .unwrap();
    let err = cms.get_status("c").await.unwrap_err();
    assert_eq!(
        api_status(err).0,
        404,
        "ConfigMaps have no status subresource"
    );
}

#[tokio::test]
async fn delete_with_a_finalizer_waits_until_the_finalizer_is_removed() {
    let server = FakeApiServer::start().await;
    let api: Api<ConfigMap> = Api::namespaced(server.client(), NS);
    let mut cm = config_map("guarded");
    cm.metadata.finalizers = Some(vec!["failover.example/cleanup".into()]);
    api.create(&PostParams::default(), &cm).await.unwrap();

    let pending = api
        .delete("guarded", &DeleteParams::default())
        .await
        .unwrap();
    let pending = pending
        .left()
        .expect("object still present while a finalizer remains");
    assert!(pending.metadata.deletion_timestamp.is_some());
    assert!(
        api.get("guarded")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );

    let err = api
        .patch(
            "guarded",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["a", "b"]}})),
        )
        .await
        .unwrap_err();
    assert_eq!(
        api_status(err).0,
        422,
        "no new finalizers on an object being deleted"
    );

    api.patch(
        "guarded",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert_eq!(api_status(api.get("guarded").await.unwrap_err()).0, 404);

    api.create(&PostParams::default(), &config_map("plain"))
        .await
        .unwrap();
    let done = api.delete("plain", &DeleteParams::default()).await.unwrap();
    assert!(done.is_right(), "an immediate delete answers a Status");
    assert!(server.objects("ConfigMap").is_empty());
}

#[tokio::test]
async fn the_scale_subresource_reads_and_writes_spec_replicas() {
    let server = FakeApiServer::start().await;
    let api = deployments(&server.client());
    api.create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();
    let scale = api.get_scale("web").await.unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(2));
    assert_eq!(scale.status.unwrap().selector.as_deref(), Some("app=web"));
    let patch = Patch::Merge(json!({"spec": {"replicas": 5}}));
    let scaled = api
        .patch_scale("web", &PatchParams::default(), &patch)
        .await
        .unwrap();
    assert_eq!(scaled.spec.unwrap().replicas, Some(5));
    let web = api.get("web").await.unwrap();
    assert_eq!(
        (web.spec.replicas, web.metadata.generation),
        (Some(5), Some(2))
    );
    let cms: Api<ConfigMap> = Api::namespaced(server.client(), NS);
    cms.create(&PostParams::default(), &config_map("c"))
        .await
        .unwrap();
    let request = http::Request::get(format!("/api/v1/namespaces/{NS}/configmaps/c/scale"))
        .body(vec![])
        .unwrap();
    let err = server.client().request::<Value>(request).await.unwrap_err();
    assert_eq!(
        api_status(err).0,
        404,
        "ConfigMaps have no scale subresource"
    );
}
