//! The fencing epoch across processes, end to end against the in-memory API server (included
//! by tests/kube_actions_roundtrip.rs): a deactivation that finds everything off still stamps
//! its epoch, so a stale activation from a fresh controller is refused; a forged or corrupt
//! stamp does not stop a deactivation and still stops an activation.

use super::*;

const EPOCH: &str = "kubectl-failover.io/epoch";

/// Every object of the group: its path in the fake.
const ALL: [&str; 7] = [DEPLOY, STS, CRON, ING, VS, VR, HR];

fn epoch_of(server: &FakeApiServer, path: &str) -> Value {
    object(server, path)["metadata"]["annotations"][EPOCH].clone()
}

/// Sets the epoch annotation of `name` as anyone allowed to annotate it could (a merge patch,
/// as `kubectl annotate --overwrite` sends).
async fn forge(server: &FakeApiServer, gvk: (&str, &str, &str, &str), name: &str, value: &str) {
    let (group, version, kind, plural) = gvk;
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    let api: Api<DynamicObject> = Api::namespaced_with(server.client(), NS, &ar);
    let patch = json!({"metadata": {"annotations": {EPOCH: value}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_deactivation_that_finds_everything_off_stamps_its_epoch_so_a_stale_activation_is_refused()
 {
    let server = serving_cluster(true).await;
    converge(&server, &actions_on(&server), Action::DEACTIVATE, 7).await;
    // Another replica decides again at 9: every object is off already, nothing else changes.
    converge(&server, &actions_on(&server), Action::DEACTIVATE, 9).await;
    server.clear_requests();

    // A replica that passed its own epoch check at 8 before stalling, now resuming: it has
    // no memory of 9, only the objects can refuse it.
    let stale = actions_on(&server);
    for action in [Action::PromoteVolumes, Action::NetworkOn] {
        let err = stale.apply(&group(), action, 8).await.unwrap_err();
        assert!(
            matches!(
                err,
                ActionError::StaleEpoch {
                    epoch: 8,
                    applied: 9,
                    ..
                }
            ),
            "{action:?}: {err:?}"
        );
    }

    let requests = server.requests();
    assert!(
        requests.iter().all(|r| r.method == "GET"),
        "nothing written: {requests:?}"
    );
    for path in ALL {
        assert_eq!(epoch_of(&server, path), "9", "{path}");
    }
    assert_eq!(object(&server, VR)["spec"]["replicationState"], "secondary");
    assert_eq!(
        object(&server, ING)["metadata"]["annotations"]["kubectl-failover.io/dns"],
        "disabled"
    );
}

#[tokio::test]
async fn a_forged_or_corrupt_epoch_does_not_stop_deactivation_but_still_stops_activation() {
    let deployment = ("apps", "v1", "Deployment", "deployments");
    let ingress = ("networking.k8s.io", "v1", "Ingress", "ingresses");
    let replication = (
        "replication.storage.openshift.io",
        "v1alpha1",
        "VolumeReplication",
        "volumereplications",
    );
    for forged in [u64::MAX.to_string(), "garbage".to_string()] {
        let server = serving_cluster(true).await;
        forge(&server, deployment, "web", &forged).await;
        forge(&server, ingress, "web", &forged).await;
        forge(&server, replication, "web-data", &forged).await;

        converge(&server, &actions_on(&server), Action::DEACTIVATE, 5).await;

        assert_eq!(object(&server, DEPLOY)["spec"]["replicas"], 0, "{forged}");
        assert_eq!(
            object(&server, ING)["metadata"]["annotations"]["kubectl-failover.io/dns"],
            "disabled",
            "{forged}"
        );
        assert_eq!(
            object(&server, VR)["status"]["state"],
            "Secondary",
            "{forged}"
        );
        // The forged stamps are kept (never lowered); the other objects carry the action's.
        for path in [DEPLOY, ING, VR] {
            assert_eq!(epoch_of(&server, path), forged.as_str(), "{path}");
        }
        for path in [STS, CRON, VS, HR] {
            assert_eq!(epoch_of(&server, path), "5", "{path}");
        }
        server.clear_requests();

        let fresh = actions_on(&server);
        for action in [Action::PromoteVolumes, Action::ScaleUp, Action::NetworkOn] {
            let err = fresh.apply(&group(), action, 6).await.unwrap_err();
            match &err {
                ActionError::StaleEpoch { applied, .. } => {
                    assert_eq!(*applied, u64::MAX, "{action:?}: {err:?}")
                }
                ActionError::Unavailable { message, .. } => {
                    assert_eq!(forged, "garbage", "{action:?}: {err:?}");
                    assert!(message.contains("\"garbage\""), "{message}");
                    assert!(
                        message.contains("remove the annotation if nothing newer acted on it"),
                        "{message}"
                    );
                }
            }
        }
        let requests = server.requests();
        assert!(
            requests.iter().all(|r| r.method == "GET"),
            "nothing written: {requests:?}"
        );
        assert_eq!(object(&server, DEPLOY)["spec"]["replicas"], 0);
    }
}
