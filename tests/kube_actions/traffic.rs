//! Ingress and VirtualService DNS annotations.

use super::*;

const ING: &str = "/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web";
const VS: &str = "/apis/networking.istio.io/v1/namespaces/shop/virtualservices/web-vs";

fn ingress(rv: &str, annotations: Value) -> Value {
    object(
        "networking.k8s.io/v1",
        "Ingress",
        "web",
        rv,
        annotations,
        json!({"spec": {"rules": [{"host": "web.example.com"}]}}),
    )
}

fn virtual_service(rv: &str, annotations: Value) -> Value {
    object(
        "networking.istio.io/v1",
        "VirtualService",
        "web-vs",
        rv,
        annotations,
        json!({"spec": {"hosts": ["web.example.com"]}}),
    )
}

fn network_spec() -> Value {
    spec(
        Value::Null,
        json!([
            {"kind": "Ingress", "name": "web"},
            {"kind": "VirtualService", "name": "web-vs", "activeAnnotations": {"external-dns.alpha.kubernetes.io/hostname": "web.example.com"}},
        ]),
        Value::Null,
    )
}

#[tokio::test]
async fn network_on_sets_the_dns_annotation_and_a_refs_own_active_annotations() {
    let (cluster, mock) = cluster(
        network_spec(),
        vec![
            (
                200,
                ingress("5", json!({"kubectl-failover.io/dns": "disabled"})),
            ),
            (200, virtual_service("6", Value::Null)),
            (
                200,
                ingress("7", json!({"kubectl-failover.io/dns": "enabled"})),
            ),
            (
                200,
                virtual_service(
                    "8",
                    json!({"external-dns.alpha.kubernetes.io/hostname": "web.example.com"}),
                ),
            ),
        ],
    );

    assert_eq!(
        apply(&cluster, Action::NetworkOn, 3).await.unwrap(),
        Progress::Done
    );

    let seen = mock.seen();
    assert_eq!(seen.len(), 4, "{seen:?}");
    seen[0].assert_get(ING);
    seen[1].assert_get(VS);
    seen[2].assert_merge_patch(
        ING,
        json!({"metadata": {"resourceVersion": "5", "annotations": {"kubectl-failover.io/dns": "enabled", "kubectl-failover.io/epoch": "3"}}}),
    );
    seen[3].assert_merge_patch(
        VS,
        json!({"metadata": {"resourceVersion": "6", "annotations": {"external-dns.alpha.kubernetes.io/hostname": "web.example.com", "kubectl-failover.io/epoch": "3"}}}),
    );
}

#[tokio::test]
async fn network_off_switches_the_dns_annotation_off_and_removes_active_annotations() {
    let (cluster, mock) = cluster(
        network_spec(),
        vec![
            (
                200,
                ingress("5", json!({"kubectl-failover.io/dns": "enabled"})),
            ),
            (
                200,
                virtual_service(
                    "6",
                    json!({"external-dns.alpha.kubernetes.io/hostname": "web.example.com"}),
                ),
            ),
            (
                200,
                ingress("7", json!({"kubectl-failover.io/dns": "disabled"})),
            ),
            (200, virtual_service("8", Value::Null)),
        ],
    );

    assert_eq!(
        apply(&cluster, Action::NetworkOff, 3).await.unwrap(),
        Progress::Done
    );

    let seen = mock.seen();
    seen[2].assert_merge_patch(
        ING,
        json!({"metadata": {"resourceVersion": "5", "annotations": {"kubectl-failover.io/dns": "disabled", "kubectl-failover.io/epoch": "3"}}}),
    );
    seen[3].assert_merge_patch(
        VS,
        json!({"metadata": {"resourceVersion": "6", "annotations": {"external-dns.alpha.kubernetes.io/hostname": null, "kubectl-failover.io/epoch": "3"}}}),
    );
}

#[tokio::test]
async fn network_off_on_objects_already_off_under_its_epoch_sends_no_patch() {
    let (cluster, mock) = cluster(
        network_spec(),
        vec![
            (
                200,
                ingress(
                    "5",
                    json!({"kubectl-failover.io/dns": "disabled", "kubectl-failover.io/epoch": "3"}),
                ),
            ),
            (200, stamped(virtual_service("6", Value::Null), "3")),
        ],
    );
    assert_eq!(
        apply(&cluster, Action::NetworkOff, 3).await.unwrap(),
        Progress::Done
    );
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn an_active_annotation_outside_the_allowed_prefixes_is_never_written() {
    // A FailoverGroup written before the CRD's rule existed (or with it bypassed): the
    // controller refuses the key itself, names it and the fix, and patches nothing.
    let spec = spec(
        Value::Null,
        json!([{"kind": "Ingress", "name": "web", "activeAnnotations": {"nginx.ingress.kubernetes.io/server-snippet": "return 200;"}}]),
        Value::Null,
    );
    let (cluster, mock) = cluster(spec, vec![(200, ingress("5", Value::Null))]);
    let err = apply(&cluster, Action::NetworkOn, 3)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nginx.ingress.kubernetes.io/server-snippet"),
        "{err}"
    );
    assert!(err.contains("ALLOWED_ANNOTATION_PREFIXES"), "{err}");
    assert!(
        mock.seen().iter().all(|r| r.method != "PATCH"),
        "{:?}",
        mock.seen()
    );
}
