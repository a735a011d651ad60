//! The fencing epoch beyond "newer refuses": a step that changes nothing still stamps a newer
//! epoch (an annotation-only patch), and a forged or unreadable stamp never stops a step that
//! turns things off (the stamp is kept) while it still stops one that turns things on.

use super::*;

const DEPLOY: &str = "/apis/apps/v1/namespaces/shop/deployments/web";
const ING: &str = "/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web";
const VR: &str =
    "/apis/replication.storage.openshift.io/v1alpha1/namespaces/shop/volumereplications/web-data";

fn replication(rv: &str, epoch: &str, asked: &str, state: &str) -> Value {
    object(
        "replication.storage.openshift.io/v1alpha1",
        "VolumeReplication",
        "web-data",
        rv,
        json!({"kubectl-failover.io/epoch": epoch}),
        json!({"spec": {"replicationState": asked}, "status": {"state": state}}),
    )
}

#[tokio::test]
async fn a_step_that_changes_nothing_stamps_a_newer_epoch_with_an_annotation_only_patch() {
    let at_zero = |rv: &str, epoch: &str| {
        object(
            "apps/v1",
            "Deployment",
            "web",
            rv,
            json!({"kubectl-failover.io/replicas": "3", "kubectl-failover.io/epoch": epoch}),
            json!({"spec": {"replicas": 0}, "status": {"observedGeneration": 1}}),
        )
    };
    let (cluster, mock) = cluster(
        spec(
            json!([{"kind": "Deployment", "name": "web"}]),
            Value::Null,
            Value::Null,
        ),
        vec![(200, at_zero("50", "7")), (200, at_zero("51", "9"))],
    );

    assert_eq!(
        apply(&cluster, Action::ScaleDown, 9).await.unwrap(),
        Progress::Done
    );

    let seen = mock.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    seen[0].assert_get(DEPLOY);
    seen[1].assert_merge_patch(
        DEPLOY,
        json!({"metadata": {"resourceVersion": "50", "annotations": {"kubectl-failover.io/epoch": "9"}}}),
    );
}

#[tokio::test]
async fn network_off_switches_an_ingress_with_a_forged_newer_epoch_and_keeps_that_epoch() {
    let forged = u64::MAX.to_string();
    let ingress = |rv: &str, dns: &str| {
        object(
            "networking.k8s.io/v1",
            "Ingress",
            "web",
            rv,
            json!({"kubectl-failover.io/dns": dns, "kubectl-failover.io/epoch": forged}),
            json!({}),
        )
    };
    let (cluster, mock) = cluster(
        spec(
            Value::Null,
            json!([{"kind": "Ingress", "name": "web"}]),
            Value::Null,
        ),
        vec![
            (200, ingress("30", "enabled")),
            (200, ingress("31", "disabled")),
        ],
    );

    assert_eq!(
        apply(&cluster, Action::NetworkOff, 5).await.unwrap(),
        Progress::Done
    );

    let seen = mock.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    // No epoch in the patch: the higher stamp stays, so a stale activation is still refused.
    seen[1].assert_merge_patch(
        ING,
        json!({"metadata": {"resourceVersion": "30", "annotations": {"kubectl-failover.io/dns": "disabled"}}}),
    );
}

#[tokio::test]
async fn demote_goes_on_past_an_unreadable_epoch_and_promote_is_refused_by_it_with_the_fix() {
    let (cluster, mock) = cluster(
        super::volumes::volume_spec(),
        vec![
            (200, replication("20", "garbage", "primary", "Primary")),
            (200, replication("21", "garbage", "secondary", "Secondary")),
            (200, replication("22", "garbage", "secondary", "Secondary")),
        ],
    );

    assert_eq!(
        apply(&cluster, Action::DemoteVolumes, 5).await.unwrap(),
        Progress::Done
    );
    let message = unavailable(apply(&cluster, Action::PromoteVolumes, 6).await);

    let seen = mock.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    seen[1].assert_merge_patch(
        VR,
        json!({"metadata": {"resourceVersion": "20"}, "spec": {"replicationState": "secondary"}}),
    );
    seen[2].assert_get(VR);
    for part in [
        "volumereplication/web-data in shop",
        "annotation kubectl-failover.io/epoch",
        "\"garbage\"",
        "remove the annotation if nothing newer acted on it",
        "kubectl annotate volumereplication web-data kubectl-failover.io/epoch-",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
}

#[tokio::test]
async fn removing_a_forged_epoch_is_enough_to_lift_the_refusal_of_an_activation() {
    let ingress = |rv: &str, annotations: Value| {
        object(
            "networking.k8s.io/v1",
            "Ingress",
            "web",
            rv,
            annotations,
            json!({}),
        )
    };
    let (cluster, mock) = cluster(
        spec(
            Value::Null,
            json!([{"kind": "Ingress", "name": "web"}]),
            Value::Null,
        ),
        vec![
            (
                200,
                ingress(
                    "40",
                    json!({"kubectl-failover.io/dns": "disabled", "kubectl-failover.io/epoch": u64::MAX.to_string()}),
                ),
            ),
            // A person removed the annotation, as the refusal says.
            (
                200,
                ingress("41", json!({"kubectl-failover.io/dns": "disabled"})),
            ),
            (
                200,
                ingress(
                    "42",
                    json!({"kubectl-failover.io/dns": "enabled", "kubectl-failover.io/epoch": "6"}),
                ),
            ),
        ],
    );

    let refused = apply(&cluster, Action::NetworkOn, 6).await.unwrap_err();
    assert!(
        matches!(
            refused,
            ActionError::StaleEpoch {
                applied: u64::MAX,
                ..
            }
        ),
        "{refused:?}"
    );
    // The forged epoch is not remembered by the process.
    assert_eq!(
        apply(&cluster, Action::NetworkOn, 6).await.unwrap(),
        Progress::Done
    );

    let seen = mock.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    seen[2].assert_merge_patch(
        ING,
        json!({"metadata": {"resourceVersion": "41", "annotations": {"kubectl-failover.io/dns": "enabled", "kubectl-failover.io/epoch": "6"}}}),
    );
}
