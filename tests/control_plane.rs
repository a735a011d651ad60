//! The real Kubernetes control plane the tests run against (tests/support/control_plane): it
//! starts, its simulated nodes run pods the way a kubelet does (Running and Ready; a deleted
//! pod Terminating for its grace period), it enforces what the in-memory server cannot (the
//! CRDs' CEL rules, RBAC for the controller's ServiceAccount, server-side dry-run of every
//! manifest in deploy/), and it leaves no process behind.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::control_plane::{ControlPlane, NODES};

const NS: &str = "shop";
const SYSTEM_NS: &str = "kubectl-failover-system";

async fn start(test: &str) -> ControlPlane {
    ControlPlane::for_test(test).await
}

/// kubectl against `plane` as its administrator.
fn kubectl(plane: &ControlPlane, args: &[&str]) -> (bool, String) {
    plane.kubectl(args)
}

async fn wait_for<F, Fut>(limit: Duration, what: &str, mut probe: F) -> Value
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Value, String>>,
{
    let end = Instant::now() + limit;
    loop {
        let last = probe().await;
        match last {
            Ok(v) => return v,
            Err(e) if Instant::now() > end => panic!("{what} not within {limit:?}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

async fn namespace(plane: &ControlPlane, name: &str) {
    plane
        .apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
        .await
        .expect("namespace");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_of_a_deployment_run_on_simulated_nodes_and_a_deleted_pod_terminates_for_its_grace_period()
 {
    let plane = start("pods").await;
    namespace(&plane, NS).await;
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "nodeName": NODES[0],
                    "terminationGracePeriodSeconds": 4,
                    "containers": [{"name": "web", "image": "example.com/web:1"}],
                },
            },
        },
    });
    plane.apply(deployment).await.expect("deployment");
    let path = format!("/apis/apps/v1/namespaces/{NS}/deployments/web");
    wait_for(Duration::from_secs(60), "2 ready replicas", || async {
        let d = plane.get(&path).await?.ok_or("no deployment")?;
        (d["status"]["readyReplicas"] == 2)
            .then_some(d.clone())
            .ok_or(d["status"].to_string())
    })
    .await;
    let pods = plane
        .list(&format!("/api/v1/namespaces/{NS}/pods"))
        .await
        .expect("pods");
    assert_eq!(pods.len(), 2);
    for pod in &pods {
        assert_eq!(pod["status"]["phase"], "Running", "{pod}");
    }

    // Scaled to 0: the Deployment's status says 0 at once (Kubernetes before 1.35 does not count
    // terminating pods), yet the pods stay Terminating for their grace period.
    let scaled_at = Instant::now();
    plane
        .send(
            "PATCH",
            &path,
            "application/merge-patch+json",
            Some(json!({"spec": {"replicas": 0}})),
        )
        .await
        .expect("scale to 0");
    let status = wait_for(Duration::from_secs(20), "status.replicas 0", || async {
        let d = plane.get(&path).await?.ok_or("no deployment")?;
        (d["status"]["replicas"].as_i64().unwrap_or(0) == 0)
            .then(|| d["status"].clone())
            .ok_or(d["status"].to_string())
    })
    .await;
    let pods = plane
        .list(&format!("/api/v1/namespaces/{NS}/pods"))
        .await
        .expect("pods");
    assert_eq!(
        pods.len(),
        2,
        "pods must still be terminating when the status says {status}"
    );
    assert!(
        pods.iter()
            .all(|p| p["metadata"]["deletionTimestamp"].is_string()),
        "{pods:?}"
    );
    wait_for(Duration::from_secs(20), "pods gone", || async {
        let pods = plane.list(&format!("/api/v1/namespaces/{NS}/pods")).await?;
        pods.is_empty()
            .then_some(Value::Null)
            .ok_or(format!("{} left", pods.len()))
    })
    .await;
    let took = scaled_at.elapsed();
    assert!(
        took >= Duration::from_secs(3),
        "pods with a 4 s grace period were gone after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_control_plane_leaves_no_process_behind_even_when_the_test_panics() {
    let plane = start("teardown").await;
    let pids = plane.pids();
    assert_eq!(
        pids.len(),
        4,
        "etcd, kube-apiserver, kube-controller-manager, kwok"
    );
    let (mem, total): (Vec<String>, u64) = {
        let rss = plane.rss_kib();
        let total = rss.iter().map(|(_, k)| k).sum();
        (
            rss.iter()
                .map(|(n, k)| format!("{n} {} MiB", k / 1024))
                .collect(),
            total,
        )
    };
    eprintln!(
        "control plane started in {:?}; resident memory {} MiB ({})",
        plane.started_in,
        total / 1024,
        mem.join(", ")
    );
    let unwound = std::panic::AssertUnwindSafe(async move {
        let _plane = plane;
        panic!("a failing assertion in a test");
    });
    let result = futures::FutureExt::catch_unwind(unwound).await;
    assert!(result.is_err());
    for pid in pids {
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false);
        assert!(!alive, "process {pid} outlived its control plane");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_manifest_in_deploy_passes_a_server_side_dry_run_on_the_real_api_server() {
    let plane = start("deploy").await;
    // Objects of a dry run are not stored, so the namespaces they go into must exist.
    namespace(&plane, SYSTEM_NS).await;
    namespace(&plane, NS).await;
    let overlays = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/overlays"))
        .expect("deploy/overlays")
        .map(|e| e.expect("entry").path())
        .collect::<Vec<_>>();
    assert!(!overlays.is_empty());
    let mut targets: Vec<Vec<String>> = vec![
        vec!["-k".into(), "deploy/crds".into()],
        vec!["-k".into(), "deploy/base".into()],
        vec!["-f".into(), "deploy/samples/".into()],
    ];
    for overlay in overlays {
        targets.push(vec!["-k".into(), overlay.display().to_string()]);
    }
    for target in targets {
        let mut args = vec![
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=kubectl-failover-ci",
        ];
        args.extend(target.iter().map(String::as_str));
        let (ok, out) = kubectl(&plane, &args);
        assert!(ok, "kubectl {args:?} refused by kube-apiserver:\n{out}");
        assert!(out.contains("(server dry run)"), "{out}");
    }
}

/// Polls `kubectl args` until it succeeds (or, with `gone`, until it fails with NotFound).
async fn until_kubectl(plane: &ControlPlane, args: &[&str], gone: bool, what: &str) -> String {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let (ok, out) = kubectl(plane, args);
        let done = if gone {
            !ok && out.contains("NotFound")
        } else {
            ok
        };
        if done {
            return out;
        }
        assert!(
            Instant::now() < end,
            "{what} within 60s: kubectl {args:?}: {out}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overlay_installs_for_real_and_uninstalls_as_deploy_readme_says() {
    // deploy/README.md, "4. Install" and "Uninstall", on the real API server and controllers.
    let plane = start("install").await;
    let overlay = "deploy/overlays/example-east";
    let (ok, out) = kubectl(&plane, &["apply", "--server-side", "-k", overlay]);
    assert!(ok, "kubectl apply -k {overlay}:\n{out}");
    for crd in ["failovergroups", "failovers"] {
        let name = format!("crd/{crd}.kubectl-failover.io");
        let condition = "--for=condition=Established";
        let (ok, out) = kubectl(&plane, &["wait", condition, &name, "--timeout=60s"]);
        assert!(ok, "{name} established: {out}");
    }
    let (ok, out) = kubectl(
        &plane,
        &[
            "-n",
            SYSTEM_NS,
            "get",
            "deploy/kubectl-failover",
            "-o",
            "json",
        ],
    );
    assert!(ok, "{out}");
    let deployment: Value = serde_json::from_str(&out).expect("json");
    let image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .expect("image");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        image,
        format!("ghcr.io/kubectl-failover/kubectl-failover:v{version}")
    );
    // Works on first apply: no placeholder IRSA role for EKS's webhook to inject (the
    // controller would crash-loop on AccessDenied), and a PDB that lets unready replicas go
    // (during a DynamoDB outage both are unready, and drains would block).
    let (ok, out) = kubectl(
        &plane,
        &["-n", SYSTEM_NS, "get", "sa/kubectl-failover", "-o", "json"],
    );
    assert!(ok, "{out}");
    let sa: Value = serde_json::from_str(&out).expect("json");
    assert!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_null(),
        "{sa}"
    );
    let (ok, out) = kubectl(
        &plane,
        &["-n", SYSTEM_NS, "get", "pdb/kubectl-failover", "-o", "json"],
    );
    assert!(ok, "{out}");
    let pdb: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(pdb["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow");
    namespace(&plane, NS).await;
    let (ok, out) = kubectl(&plane, &["apply", "--server-side", "-f", "deploy/samples/"]);
    assert!(ok, "samples: {out}");

    // Uninstall: the FailoverGroups first (no controller runs here, so no finalizer holds them),
    // then the overlay, which takes the CRDs, every Failover and the namespace with it.
    let (ok, out) = kubectl(&plane, &["delete", "fg", "--all", "-A", "--wait=true"]);
    assert!(ok, "{out}");
    let (ok, out) = kubectl(&plane, &["delete", "-k", overlay, "--wait=true"]);
    assert!(ok, "kubectl delete -k {overlay}: {out}");
    until_kubectl(
        &plane,
        &["get", "crd", "failovers.kubectl-failover.io"],
        true,
        "the CRD gone",
    )
    .await;
    until_kubectl(
        &plane,
        &["get", "ns", SYSTEM_NS],
        true,
        "the system namespace gone",
    )
    .await;
    let (ok, out) = kubectl(&plane, &["get", "clusterrole", "kubectl-failover"]);
    assert!(
        !ok && out.contains("NotFound"),
        "the ClusterRole stays behind: {out}"
    );
    // The application's namespace and objects are the user's: untouched.
    let (ok, out) = kubectl(&plane, &["get", "ns", NS]);
    assert!(ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_api_server_enforces_the_crds_cel_rules() {
    let plane = start("cel").await;
    namespace(&plane, NS).await;
    let (ok, out) = kubectl(
        &plane,
        &[
            "apply",
            "--server-side",
            "-f",
            "deploy/samples/failover.yaml",
        ],
    );
    assert!(ok, "{out}");
    let path = format!("/apis/kubectl-failover.io/v1alpha1/namespaces/{NS}/failovers/shop-to-west");
    for (field, value) in [
        ("targetCluster", json!("east")),
        ("force", json!(true)),
        ("failoverMode", json!("UPTIME")),
        ("reason", json!("changed my mind")),
        ("failoverGroups", json!([{"name": "other"}])),
    ] {
        let refused = plane
            .send(
                "PATCH",
                &path,
                "application/merge-patch+json",
                Some(json!({"spec": {field: value}})),
            )
            .await
            .expect_err("a Failover is immutable");
        assert!(
            refused.contains(&format!("{field} is immutable")),
            "{field}: {refused}"
        );
    }
    // A FailoverGroup that lists nothing to fail over is refused with the CRD's message.
    let empty = json!({
        "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "FailoverGroup",
        "metadata": {"name": "empty", "namespace": NS},
        "spec": {"initialPrimary": "east"},
    });
    let refused = plane.apply(empty).await.expect_err("nothing to fail over");
    assert!(
        refused.contains("list at least one resource to fail over"),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controllers_service_account_has_exactly_the_rights_deploy_grants_it() {
    let plane = start("rbac").await;
    let (ok, out) = kubectl(
        &plane,
        &[
            "apply",
            "--server-side",
            "-f",
            "deploy/base/namespace.yaml",
            "-f",
            "deploy/base/serviceaccount.yaml",
            "-f",
            "deploy/base/rbac.yaml",
        ],
    );
    assert!(ok, "{out}");
    namespace(&plane, NS).await;
    let token = plane
        .service_account_token(SYSTEM_NS, "kubectl-failover")
        .await
        .expect("token");
    let can = |verb: &str, resource: &str, ns: &str| {
        let (_, out) = kubectl(
            &plane,
            &["auth", "can-i", verb, resource, "-n", ns, "--token", &token],
        );
        out.trim().to_string()
    };
    assert_eq!(can("patch", "deployments.apps", NS), "yes");
    assert_eq!(
        can(
            "patch",
            "volumereplications.replication.storage.openshift.io",
            NS
        ),
        "yes"
    );
    assert_eq!(
        can("patch", "failovergroups.kubectl-failover.io/status", NS),
        "yes"
    );
    // Pods are listed (is a workload stopped?), never read one by one, changed or deleted.
    assert_eq!(can("list", "pods", NS), "yes");
    assert_eq!(can("get", "pods", NS), "no");
    assert_eq!(can("delete", "pods", NS), "no");
    assert_eq!(can("delete", "deployments.apps", NS), "no");
    assert_eq!(can("create", "deployments.apps", NS), "no");
    assert_eq!(can("get", "secrets", NS), "no");
    assert_eq!(
        can(
            "update",
            "leases.coordination.k8s.io/kubectl-failover-leader",
            SYSTEM_NS
        ),
        "yes"
    );
    assert_eq!(
        can("update", "leases.coordination.k8s.io/other", SYSTEM_NS),
        "no"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_proxy_forwards_a_token_client_and_hangs_refuses_or_answers_errors_on_request() {
    use support::kube_fault_proxy::{KubeFault, KubeFaultProxy, Rule};
    let plane = start("proxy").await;
    namespace(&plane, NS).await;
    let proxy = KubeFaultProxy::start(&plane.url, Some(&plane.ca), &plane.dir)
        .await
        .expect("proxy");
    // As the controller reaches it: plain HTTP on loopback with a bearer token (kubectl 1.37
    // sends no token over plain HTTP, kube-rs does), no retries, a read timeout.
    let mut config = kube::Config::new(proxy.url.parse().expect("url"));
    config.auth_info.token = Some(plane.admin_token().to_string().into());
    config.default_retry = false;
    config.read_timeout = Some(Duration::from_secs(2));
    let client = kube::Client::try_from(config).expect("client");
    let get = |path: &'static str| {
        let client = client.clone();
        async move {
            let req = http::Request::get(path).body(Vec::new()).expect("request");
            client.request::<Value>(req).await
        }
    };
    let ns = get("/api/v1/namespaces/shop").await.expect("forwarded");
    assert_eq!(ns["metadata"]["name"], "shop");

    for code in [409u16, 429, 503] {
        proxy.set_rules(vec![Rule::path("/namespaces/", KubeFault::Status(code))]);
        match get("/api/v1/namespaces/shop").await {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, code);
                assert!(
                    status.message.contains("injected by the test fault proxy"),
                    "{status:?}"
                );
            }
            other => panic!("{code}: {other:?}"),
        }
    }
    // Other paths are untouched by a rule for one path.
    get("/api/v1/nodes").await.expect("not matched");

    proxy.set_rules(vec![Rule::path("/namespaces/", KubeFault::Hang)]);
    let started = Instant::now();
    let hung = get("/api/v1/namespaces/shop").await;
    assert!(hung.is_err(), "{hung:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    proxy.set_rules(vec![Rule::path("/namespaces/", KubeFault::Refuse)]);
    assert!(get("/api/v1/namespaces/shop").await.is_err());

    proxy.set_rules(vec![Rule::path(
        "/namespaces/",
        KubeFault::Slow(Duration::from_millis(700)),
    )]);
    let started = Instant::now();
    get("/api/v1/namespaces/shop")
        .await
        .expect("slow but answered");
    assert!(started.elapsed() >= Duration::from_millis(700));

    proxy.clear();
    get("/api/v1/namespaces/shop")
        .await
        .expect("forwarded again");
    assert_eq!(
        proxy.faulted(),
        6,
        "three statuses, a hang, a refusal, a delay"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_limited_so_that_every_event_about_a_group_fits_the_api_servers_name_limit() {
    let plane = start("names").await;
    namespace(&plane, NS).await;
    let max = kubectl_failover::crd::MAX_NAME_LENGTH;
    // The controller names an Event as kube's Recorder does, `{object name}.{nanoseconds in hex}`:
    // 16 digits today (src/controller/event_series.rs).
    let event = |object: &str| {
        json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": format!("{object}.{:x}", 1_796_000_000_000_000_000u64), "namespace": NS},
            "eventTime": "2026-12-06T00:00:00.000000Z",
            "reportingController": "kubectl-failover.io/controller",
            "reportingInstance": "test",
            "action": "Reconcile", "reason": "Test", "type": "Normal",
            "regarding": {"kind": "FailoverGroup", "namespace": NS, "name": object},
        })
    };
    let fits = "a".repeat(max);
    let too_long = "a".repeat(max + 1);
    plane
        .apply(event(&fits))
        .await
        .expect("an Event about a name at the limit");
    let refused = plane
        .apply(event(&too_long))
        .await
        .expect_err("a longer one is refused");
    assert!(
        refused.contains("must be no more than 253 characters"),
        "{refused}"
    );

    let group = |name: &str| {
        let mut g: Value = serde_saphyr::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/deploy/samples/failovergroup.yaml"
            ))
            .expect("sample"),
        )
        .expect("yaml");
        g["metadata"]["name"] = json!(name);
        g["metadata"]["namespace"] = json!(NS);
        g
    };
    plane
        .apply(group(&fits))
        .await
        .expect("a FailoverGroup name at the limit");
    let refused = plane
        .apply(group(&too_long))
        .await
        .expect_err("too long for its Events");
    assert!(
        refused.contains(&format!("at most {max} characters")),
        "{refused}"
    );
}

/// The controller's own Event publisher against a real API server: a repeat is counted into
/// the first Event's series (one Event, count 2, as kube's `Recorder` does, whose copies of every
/// Event it kept were most of the controller's memory per group), another action is a new Event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_event_is_counted_into_its_series_and_a_new_action_is_a_new_event() {
    use k8s_openapi::api::core::v1::ObjectReference;
    use kube::runtime::events::{Event, EventType};
    use kubectl_failover::controller::event_series::EventPublisher;
    let plane = start("events").await;
    namespace(&plane, NS).await;
    let mut publisher =
        EventPublisher::new(plane.client(), "kubectl-failover.io/controller", "east");
    let regarding = ObjectReference {
        api_version: Some("kubectl-failover.io/v1alpha1".into()),
        kind: Some("FailoverGroup".into()),
        namespace: Some(NS.into()),
        name: Some("web".into()),
        uid: Some("b1d7c3a0-0000-4000-8000-000000000001".into()),
        ..ObjectReference::default()
    };
    let event = |action: &str| Event {
        type_: EventType::Warning,
        reason: "Fenced".into(),
        note: Some(format!("fenced ({action})")),
        action: action.into(),
        secondary: None,
    };
    for e in [event("Failover"), event("Failover"), event("BecomeFenced")] {
        publisher
            .publish(&e, &regarding)
            .await
            .expect("the API server takes the Event");
    }
    let path = format!("/apis/events.k8s.io/v1/namespaces/{NS}/events");
    let mut events = plane.list(&path).await.expect("list Events");
    events.sort_by_key(|e| e["action"].as_str().unwrap_or_default().to_string());
    let seen: Vec<(String, Value)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["series"]["count"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("BecomeFenced".to_string(), Value::Null),
            ("Failover".to_string(), json!(2)),
        ],
        "{events:#?}"
    );
    let first = events
        .iter()
        .find(|e| e["action"] == "Failover")
        .expect("the series");
    assert_eq!(first["note"], "fenced (Failover)");
    assert_eq!(
        first["reportingController"],
        "kubectl-failover.io/controller"
    );
    assert_eq!(first["regarding"]["name"], "web");
    assert!(first["series"]["lastObservedTime"].is_string(), "{first:#}");
}
