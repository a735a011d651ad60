//! deploy/base/admission-policy.yaml on the real kube-apiserver: the controller's ServiceAccount
//! (impersonated) may scale, suspend and switch its annotations, and nothing else; the CRDs'
//! CEL rules refuse activeAnnotations outside the allowed prefixes and a Failover that lists a
//! group twice. Each would pass on a server without them.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::control_plane::ControlPlane;

const NS: &str = "shop";
const SA: &str = "--as=system:serviceaccount:kubectl-failover-system:kubectl-failover";

async fn start(test: &str) -> ControlPlane {
    ControlPlane::for_test(test).await
}

/// `kubectl ARGS` as the controller's ServiceAccount.
fn as_controller(plane: &ControlPlane, args: &[&str]) -> (bool, String) {
    let mut all = vec![SA, "-n", NS];
    all.extend_from_slice(args);
    plane.kubectl(&all)
}

fn allowed(plane: &ControlPlane, what: &str, args: &[&str]) {
    let (ok, out) = as_controller(plane, args);
    assert!(ok, "{what} should be allowed: {out}");
}

fn refused(plane: &ControlPlane, what: &str, args: &[&str], message: &str) {
    let (ok, out) = as_controller(plane, args);
    assert!(!ok, "{what} should be refused: {out}");
    assert!(out.contains(message), "{what}: {out}");
}

async fn objects(plane: &ControlPlane, ns: &str) {
    let labels = json!({"app": "api"});
    for obj in [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "api", "image": "example.com/api:1"}]}}}}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "report", "namespace": ns},
            "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "r", "image": "example.com/r:1"}]}}}}}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"defaultBackend": {"service": {"name": "api", "port": {"number": 80}}}}}),
    ] {
        plane.apply(obj).await.expect("object");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controllers_service_account_may_change_only_what_failing_over_needs() {
    let plane = start("vap").await;
    let (ok, out) = plane.kubectl(&[
        "apply",
        "--server-side",
        "-f",
        "deploy/base/namespace.yaml",
        "-f",
        "deploy/base/serviceaccount.yaml",
        "-f",
        "deploy/base/rbac.yaml",
        "-f",
        "deploy/base/admission-policy.yaml",
    ]);
    assert!(ok, "{out}");
    objects(&plane, NS).await;
    objects(&plane, "kube-system").await;

    // The policy is enforced once the API server has loaded it.
    let image = r#"{"spec":{"template":{"spec":{"containers":[{"name":"api","image":"example.com/evil:1"}]}}}}"#;
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let (ok, out) = as_controller(
            &plane,
            &[
                "patch",
                "deploy/api",
                "--type=merge",
                "-p",
                image,
                "--dry-run=server",
            ],
        );
        if !ok && out.contains("may change only spec.replicas") {
            break;
        }
        assert!(
            Instant::now() < end,
            "the policy never refused a new image: {out}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    allowed(
        &plane,
        "scaling to 0",
        &[
            "patch",
            "deploy/api",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":0}}"#,
        ],
    );
    allowed(
        &plane,
        "the epoch annotation",
        &["annotate", "deploy/api", "kubectl-failover.io/epoch=7"],
    );
    allowed(
        &plane,
        "suspending a CronJob",
        &[
            "patch",
            "cronjob/report",
            "--type=merge",
            "-p",
            r#"{"spec":{"suspend":true}}"#,
        ],
    );
    allowed(
        &plane,
        "the DNS switch",
        &["annotate", "ingress/web", "kubectl-failover.io/dns=enabled"],
    );
    allowed(
        &plane,
        "an external-dns hostname",
        &[
            "annotate",
            "ingress/web",
            "external-dns.alpha.kubernetes.io/hostname=shop.example.com",
        ],
    );

    refused(
        &plane,
        "a new image",
        &["patch", "deploy/api", "--type=merge", "-p", image],
        "may change only spec.replicas",
    );
    refused(
        &plane,
        "a label",
        &["label", "deploy/api", "team=evil"],
        "may not change labels",
    );
    refused(
        &plane,
        "a CronJob's schedule",
        &[
            "patch",
            "cronjob/report",
            "--type=merge",
            "-p",
            r#"{"spec":{"schedule":"* * * * *"}}"#,
        ],
        "may change only spec.suspend",
    );
    refused(
        &plane,
        "an nginx snippet",
        &[
            "annotate",
            "ingress/web",
            "nginx.ingress.kubernetes.io/server-snippet=return 200;",
        ],
        "may change only annotations under",
    );
    refused(
        &plane,
        "an Ingress's rules",
        &[
            "patch",
            "ingress/web",
            "--type=merge",
            "-p",
            r#"{"spec":{"defaultBackend":{"service":{"name":"evil","port":{"number":80}}}}}"#,
        ],
        "may change only annotations",
    );
    refused(
        &plane,
        "deleting a workload",
        &["delete", "deploy/api"],
        "forbidden",
    );
    let (ok, out) = plane.kubectl(&[
        SA,
        "-n",
        "kube-system",
        "patch",
        "deploy/api",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":0}}"#,
    ]);
    assert!(
        !ok && out.contains("may not change anything in kube-system"),
        "{out}"
    );

    // The policy binds only the controller: an administrator still changes the image.
    let (ok, out) = plane.kubectl(&["-n", NS, "patch", "deploy/api", "--type=merge", "-p", image]);
    assert!(ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crds_refuse_unlisted_annotation_prefixes_and_a_group_listed_twice() {
    let plane = start("cel-security").await;
    plane.kubectl(&["create", "namespace", NS]);
    let group = json!({
        "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "FailoverGroup",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"initialPrimary": "east",
            "networkResources": [{"kind": "Ingress", "name": "web",
                "activeAnnotations": {"nginx.ingress.kubernetes.io/server-snippet": "return 200;"}}]},
    });
    let refused = plane.apply(group).await.expect_err("an nginx snippet");
    assert!(
        refused.contains("activeAnnotations keys must start with"),
        "{refused}"
    );
    let twice = json!({
        "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "Failover",
        "metadata": {"name": "move", "namespace": NS},
        "spec": {"targetCluster": "west", "failoverGroups": [{"name": "web"}, {"name": "web"}]},
    });
    let refused = plane.apply(twice).await.expect_err("a group twice");
    assert!(refused.contains("lists a FailoverGroup twice"), "{refused}");
    // What the controller's own check prevents: a status with one group twice is invalid on a
    // real server (a list-map keyed by group), so it could never be written.
    let once = json!({
        "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "Failover",
        "metadata": {"name": "move", "namespace": NS},
        "spec": {"targetCluster": "west", "failoverGroups": [{"name": "web"}]},
    });
    plane.apply(once).await.expect("a Failover");
    let group = json!({"group": "shop/web", "status": "PENDING", "message": ""});
    let path = format!("/apis/kubectl-failover.io/v1alpha1/namespaces/{NS}/failovers/move/status");
    let refused = plane
        .send(
            "PATCH",
            &path,
            "application/merge-patch+json",
            Some(json!({"status": {"groups": [group.clone(), group]}})),
        )
        .await
        .expect_err("a status with a group twice");
    assert!(refused.contains("Duplicate value"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_namespaced_install_grants_rights_in_the_watched_namespace_only() {
    let plane = start("namespaced").await;
    plane.kubectl(&["create", "namespace", NS]);
    plane.kubectl(&["create", "namespace", "other"]);
    let (ok, out) = plane.kubectl(&[
        "apply",
        "--server-side",
        "-k",
        "deploy/overlays/example-namespaced",
    ]);
    assert!(ok, "{out}");
    let can = |verb: &str, resource: &str, ns: &str| {
        let (_, out) = plane.kubectl(&["auth", "can-i", SA, verb, resource, "-n", ns]);
        out.trim().to_string()
    };
    assert_eq!(can("patch", "deployments", NS), "yes");
    assert_eq!(
        can("watch", "failovergroups.kubectl-failover.io", NS),
        "yes"
    );
    assert_eq!(can("patch", "deployments", "other"), "no");
    assert_eq!(can("patch", "deployments", "kube-system"), "no");
    assert_eq!(
        can("list", "failovergroups.kubectl-failover.io", "other"),
        "no"
    );
    let (_, out) = plane.kubectl(&[
        "get",
        "configmap",
        "-n",
        "kubectl-failover-system",
        "kubectl-failover-config",
        "-o",
        "jsonpath={.data.WATCH_NAMESPACE}",
    ]);
    assert_eq!(out.trim(), NS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_api_server_refuses_the_limits_the_in_memory_one_copies() {
    // tests/fake_apiserver/limits.rs makes the in-memory server refuse these; here the real
    // kube-apiserver shows that it does (the duplicate Failover status is in the test above).
    let plane = start("limits").await;
    plane.kubectl(&["create", "namespace", NS]);
    let event = |instance: &str| {
        json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": format!("web.{}", instance.len()), "namespace": NS},
            "eventTime": "2026-12-06T00:00:00.000000Z", "reportingController": "kubectl-failover",
            "reportingInstance": instance, "action": "Failover", "reason": "RoleChanged", "type": "Normal",
            "regarding": {"kind": "FailoverGroup", "namespace": NS, "name": "web"},
        })
    };
    plane
        .apply(event(&"i".repeat(128)))
        .await
        .expect("128 characters are fine");
    let refused = plane
        .apply(event(&"i".repeat(129)))
        .await
        .expect_err("129 characters");
    assert!(refused.contains("reportingInstance"), "{refused}");
    let long = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a".repeat(254), "namespace": NS}});
    let refused = plane.apply(long).await.expect_err("a 254-character name");
    assert!(refused.contains("253"), "{refused}");
}
