//! csi-addons VolumeReplications: the asked role in the spec, done only on `status.state`.

use super::*;

const VR: &str =
    "/apis/replication.storage.openshift.io/v1alpha1/namespaces/shop/volumereplications/web-data";

fn replication(rv: &str, asked: &str, state: Option<&str>, conditions: Value) -> Value {
    let mut status = json!({"conditions": conditions});
    if let Some(state) = state {
        status["state"] = json!(state);
    }
    object(
        "replication.storage.openshift.io/v1alpha1",
        "VolumeReplication",
        "web-data",
        rv,
        Value::Null,
        json!({"spec": {"replicationState": asked, "volumeReplicationClass": "rbd", "dataSource": {"kind": "PersistentVolumeClaim", "name": "data"}}, "status": status}),
    )
}

pub fn volume_spec() -> Value {
    spec(
        json!([{"kind": "Deployment", "name": "web", "volumeReplications": ["web-data"]}]),
        Value::Null,
        Value::Null,
    )
}

#[tokio::test]
async fn promote_asks_for_primary_and_waits_for_status_state_not_the_spec() {
    let (cluster, mock) = cluster(
        volume_spec(),
        vec![
            (
                200,
                replication("90", "secondary", Some("Secondary"), json!([])),
            ),
            // The spec says primary at once; the status has not caught up.
            (
                200,
                stamped(
                    replication("91", "primary", Some("Secondary"), json!([])),
                    "6",
                ),
            ),
            (
                200,
                stamped(
                    replication(
                        "92",
                        "primary",
                        Some("Primary"),
                        json!([{"type": "Completed", "status": "True", "reason": "Promoted"}]),
                    ),
                    "6",
                ),
            ),
        ],
    );

    let first = apply(&cluster, Action::PromoteVolumes, 6).await.unwrap();
    assert_eq!(
        first,
        Progress::Pending(
            "volumereplication/web-data in shop: state Secondary (asked primary)".into()
        )
    );
    assert_eq!(
        apply(&cluster, Action::PromoteVolumes, 6).await.unwrap(),
        Progress::Done
    );

    let seen = mock.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    seen[0].assert_get(VR);
    seen[1].assert_merge_patch(
        VR,
        json!({"metadata": {"resourceVersion": "90", "annotations": {"kubectl-failover.io/epoch": "6"}}, "spec": {"replicationState": "primary"}}),
    );
    seen[2].assert_get(VR);
}

#[tokio::test]
async fn demote_asks_for_secondary_and_a_failed_demotion_is_named_while_pending() {
    let failed = json!([{"type": "Completed", "status": "False", "reason": "FailedToDemote", "message": "volume is in use"}]);
    let (cluster, mock) = cluster(
        volume_spec(),
        vec![
            (
                200,
                replication("90", "primary", Some("Primary"), json!([])),
            ),
            (200, replication("91", "secondary", Some("Primary"), failed)),
        ],
    );
    let progress = apply(&cluster, Action::DemoteVolumes, 6).await.unwrap();
    let Progress::Pending(what) = progress else {
        panic!("{progress:?}")
    };
    assert!(what.contains("state Primary (asked secondary)"), "{what}");
    assert!(
        what.contains("Completed=False (FailedToDemote): volume is in use"),
        "{what}"
    );
    mock.seen()[1].assert_merge_patch(
        VR,
        json!({"metadata": {"resourceVersion": "90", "annotations": {"kubectl-failover.io/epoch": "6"}}, "spec": {"replicationState": "secondary"}}),
    );
}
