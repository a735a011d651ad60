//! The `run` controller against the in-memory Kubernetes API server (one per cluster), the
//! memory store and simulated clusters: FailoverGroups become agents whose state shows in
//! status, Failovers become transition requests, deletion withdraws the cluster cleanly.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "support/controller.rs"]
mod controller_support;

use controller_support::*;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kubectl_failover::clock::SystemClock;
use kubectl_failover::crd::{
    Failover, FailoverGroup, FailoverPhase, GroupFailoverStatus, GroupRole,
};
use kubectl_failover::k8s::simulated::ServingLog;
use kubectl_failover::store::memory::MemoryStore;
use kubectl_failover::store::{ClusterState, CoordinationStore, GroupId};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn gid(name: &str) -> GroupId {
    GroupId::new(NS, name).unwrap()
}

async fn role_of(api: &Api<FailoverGroup>, name: &str) -> Option<GroupRole> {
    api.get(name).await.ok()?.status?.role
}

async fn cluster_names(store: &dyn CoordinationStore, name: &str) -> Vec<String> {
    match store.load_group(OP, &gid(name)).await {
        Ok(Some(s)) => s.clusters.into_iter().map(|c| c.cluster_name).collect(),
        _ => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_failover_group_gets_heartbeats_in_the_store_and_its_role_in_status() {
    let (east_api, west_api) = (api_server().await, api_server().await);
    let store: Arc<dyn CoordinationStore> = Arc::new(MemoryStore::new());
    let log = ServingLog::new(Arc::new(SystemClock::new()));
    let east = start(&east_api, store.clone(), settings("east"), &log);
    let west = start(&west_api, store.clone(), settings("west"), &log);
    let east_fgs: Api<FailoverGroup> = Api::namespaced(east_api.client(), NS);
    let west_fgs: Api<FailoverGroup> = Api::namespaced(west_api.client(), NS);
    for api in [&east_fgs, &west_fgs] {
        api.create(&PostParams::default(), &failover_group("web", "east"))
            .await
            .unwrap();
    }

    eventually(WAIT, "both heartbeats in the store", || async {
        let mut names = cluster_names(store.as_ref(), "web").await;
        names.sort();
        (names == ["east", "west"]).then_some(())
    })
    .await;
    eventually(WAIT, "east PRIMARY in status", || async {
        (role_of(&east_fgs, "web").await == Some(GroupRole::Primary)).then_some(())
    })
    .await;
    eventually(WAIT, "west STANDBY in status", || async {
        (role_of(&west_fgs, "web").await == Some(GroupRole::Standby)).then_some(())
    })
    .await;

    let fg = east_fgs.get("web").await.unwrap();
    assert!(
        fg.metadata
            .finalizers
            .unwrap_or_default()
            .contains(&"kubectl-failover.io/cleanup".to_string()),
        "the finalizer is set before the agent acts"
    );
    let status = fg.status.unwrap();
    assert_eq!(status.active_cluster.as_deref(), Some("east"));
    let ready = eventually(WAIT, "Ready=True on east", || async {
        let s = east_fgs.get("web").await.ok()?.status?;
        s.conditions.into_iter().find(|c| {
            c.type_ == "Ready" && c.status == kubectl_failover::crd::ConditionStatus::True
        })
    })
    .await;
    assert_eq!(ready.reason, "Converged");
    assert!(east.cluster.is_serving(&gid("web")));
    // Every patch of the FailoverGroup (finalizer, status) names the controller's field
    // manager, so managedFields say which fields it owns.
    let patches: Vec<_> = east_api
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.contains("/failovergroups/"))
        .collect();
    assert!(patches.len() >= 2, "{patches:?}");
    for p in &patches {
        assert_eq!(
            p.param("fieldManager").as_deref(),
            Some("kubectl-failover"),
            "{} {}",
            p.path,
            p.query
        );
    }
    assert!(!west.cluster.is_serving(&gid("web")));
    let metrics = east.metrics();
    assert!(metrics.contains("kubectl_failover_groups 1"), "{metrics}");
    assert!(
        metrics.contains(r#"store_requests_total{operation="put_cluster_status",result="ok"}"#),
        "{metrics}"
    );

    // A steady group does not rewrite its status every heartbeat.
    eventually(WAIT, "both clusters settled in east's status", || async {
        let s = east_fgs.get("web").await.ok()?.status?;
        let roles: Vec<_> = s.clusters.iter().map(|c| c.role).collect();
        (roles == [ClusterState::Primary, ClusterState::Standby]).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = east_fgs.get("web").await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = east_fgs.get("web").await.unwrap();
    assert_eq!(
        before.metadata.resource_version, after.metadata.resource_version,
        "status rewritten while nothing changed: {:#?} -> {:#?}",
        before.status, after.status
    );

    east.stop().await.unwrap();
    west.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_resource_moves_the_group_and_its_status_follows_to_success() {
    let (east_api, west_api) = (api_server().await, api_server().await);
    let store: Arc<dyn CoordinationStore> = Arc::new(MemoryStore::new());
    let log = ServingLog::new(Arc::new(SystemClock::new()));
    let east = start(&east_api, store.clone(), settings("east"), &log);
    let west = start(&west_api, store.clone(), settings("west"), &log);
    for server in [&east_api, &west_api] {
        let api: Api<FailoverGroup> = Api::namespaced(server.client(), NS);
        api.create(&PostParams::default(), &failover_group("web", "east"))
            .await
            .unwrap();
    }
    eventually(WAIT, "both clusters registered", || async {
        (cluster_names(store.as_ref(), "web").await.len() == 2).then_some(())
    })
    .await;

    let failover: Failover = serde_json::from_value(json!({
        "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "Failover",
        "metadata": {"name": "move-web", "namespace": NS},
        "spec": {"targetCluster": "west", "failoverGroups": [{"name": "web"}], "reason": "maintenance"},
    }))
    .unwrap();
    let failovers: Api<Failover> = Api::namespaced(east_api.client(), NS);
    let created = failovers
        .create(&PostParams::default(), &failover)
        .await
        .unwrap();
    let id = created.transition_id().unwrap();

    let status = eventually(WAIT, "the Failover to succeed", || async {
        let s = failovers.get("move-web").await.ok()?.status?;
        (s.phase == Some(FailoverPhase::Succeeded)).then_some(s)
    })
    .await;
    let group = &status.groups[0];
    assert_eq!(group.group, "shop/web");
    assert_eq!(group.status, GroupFailoverStatus::Success);
    assert!(
        group.duration.is_some() && group.downtime.is_some(),
        "{group:?}"
    );
    assert!(status.conditions.iter().any(|c| c.type_ == "Complete"));

    let snapshot = store.load_group(OP, &gid("web")).await.unwrap().unwrap();
    assert_eq!(snapshot.config.owner_cluster, "west");
    let history = store.history(OP, &gid("web"), 10, None).await.unwrap();
    let ours: Vec<_> = history
        .records
        .iter()
        .filter(|r| r.failover_name == id)
        .collect();
    assert_eq!(ours.len(), 1, "asked exactly once: {history:?}");
    assert_eq!(ours[0].initiator.as_deref(), Some("failover/shop/move-web"));

    let west_fgs: Api<FailoverGroup> = Api::namespaced(west_api.client(), NS);
    eventually(WAIT, "west PRIMARY in status", || async {
        (role_of(&west_fgs, "web").await == Some(GroupRole::Primary)).then_some(())
    })
    .await;
    let east_events = east_api.objects("Event");
    assert!(
        east_events
            .iter()
            .any(|e| e["reason"] == "RoleChanged" && e["regarding"]["name"] == "web"),
        "a RoleChanged event on the FailoverGroup: {east_events:?}"
    );
    assert!(
        east.metrics()
            .contains("kubectl_failover_reconciles_total{kind=\"Failover\",result=\"ok\"}")
    );
    east.stop().await.unwrap();
    west.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_failover_group_withdraws_the_standby_but_the_owner_waits_for_the_others() {
    let (east_api, west_api) = (api_server().await, api_server().await);
    let store: Arc<dyn CoordinationStore> = Arc::new(MemoryStore::new());
    let log = ServingLog::new(Arc::new(SystemClock::new()));
    let east = start(&east_api, store.clone(), settings("east"), &log);
    let west = start(&west_api, store.clone(), settings("west"), &log);
    let east_fgs: Api<FailoverGroup> = Api::namespaced(east_api.client(), NS);
    let west_fgs: Api<FailoverGroup> = Api::namespaced(west_api.client(), NS);
    for api in [&east_fgs, &west_fgs] {
        api.create(&PostParams::default(), &failover_group("web", "east"))
            .await
            .unwrap();
    }
    eventually(WAIT, "both clusters registered", || async {
        (cluster_names(store.as_ref(), "web").await.len() == 2).then_some(())
    })
    .await;

    // The owner first: it keeps the group (and its finalizer) while west could take over.
    east_fgs
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    eventually(WAIT, "a WithdrawalBlocked warning in east", || async {
        east_api
            .objects("Event")
            .into_iter()
            .find(|e| e["reason"] == "WithdrawalBlocked")
    })
    .await;
    let still = east_fgs.get("web").await.unwrap();
    assert!(still.metadata.deletion_timestamp.is_some());
    assert!(
        cluster_names(store.as_ref(), "web")
            .await
            .contains(&"east".to_string())
    );
    assert!(
        east.cluster.is_serving(&gid("web")),
        "the owner keeps serving"
    );

    // The standby leaves at once: record deleted, finalizer removed, object gone.
    west_fgs
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    eventually(WAIT, "west's FailoverGroup gone", || async {
        west_fgs
            .get_opt("web")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    let names = cluster_names(store.as_ref(), "web").await;
    assert!(!names.contains(&"west".to_string()), "{names:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let names = cluster_names(store.as_ref(), "web").await;
    assert!(
        !names.contains(&"west".to_string()),
        "resurrected: {names:?}"
    );

    // Now the owner is the last cluster: its retry lets it go.
    eventually(
        Duration::from_secs(45),
        "east's FailoverGroup gone",
        || async {
            east_fgs
                .get_opt("web")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        },
    )
    .await;
    assert!(cluster_names(store.as_ref(), "web").await.is_empty());
    east.stop().await.unwrap();
    west.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_failover_group_gets_ready_false_and_a_warning_and_nothing_acts() {
    let server = api_server().await;
    let store: Arc<dyn CoordinationStore> = Arc::new(MemoryStore::new());
    let log = ServingLog::new(Arc::new(SystemClock::new()));
    let east = start(&server, store.clone(), settings("east"), &log);
    let mut fg = failover_group("bad", "east");
    fg.spec.heartbeat_interval = "10s".into();
    let api: Api<FailoverGroup> = Api::namespaced(server.client(), NS);
    api.create(&PostParams::default(), &fg).await.unwrap();
    let ready = eventually(WAIT, "Ready=False", || async {
        let s = api.get("bad").await.ok()?.status?;
        s.conditions.into_iter().find(|c| c.type_ == "Ready")
    })
    .await;
    assert_eq!(ready.reason, "InvalidSpec");
    assert!(
        ready.message.contains("timeouts.heartbeat"),
        "{}",
        ready.message
    );
    assert!(
        server
            .objects("Event")
            .iter()
            .any(|e| e["reason"] == "InvalidSpec" && e["type"] == "Warning")
    );
    assert!(store.load_group(OP, &gid("bad")).await.unwrap().is_none());
    east.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_running_group_s_timeouts_in_one_failover_group_changes_them_for_every_cluster() {
    let (east_api, west_api) = (api_server().await, api_server().await);
    let store: Arc<dyn CoordinationStore> = Arc::new(MemoryStore::new());
    let log = ServingLog::new(Arc::new(SystemClock::new()));
    let east = start(&east_api, store.clone(), settings("east"), &log);
    let west = start(&west_api, store.clone(), settings("west"), &log);
    let east_fgs: Api<FailoverGroup> = Api::namespaced(east_api.client(), NS);
    let west_fgs: Api<FailoverGroup> = Api::namespaced(west_api.client(), NS);
    for api in [&east_fgs, &west_fgs] {
        api.create(&PostParams::default(), &failover_group("web", "east"))
            .await
            .unwrap();
    }
    let config = || async { store.load_group(OP, &gid("web")).await.ok()??.config.into() };
    eventually(WAIT, "both clusters recorded their spec", || async {
        let c: Option<kubectl_failover::store::GroupConfig> = config().await;
        (c?.applied_specs.len() == 2).then_some(())
    })
    .await;

    // An operator raises the heartbeat timeout in west's FailoverGroup only. A merge patch, as
    // `kubectl edit` sends: a get-then-replace would race the controller's status writes (409).
    west_fgs
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"timeouts": {"heartbeat": "6s"}}})),
        )
        .await
        .unwrap();
    let changed = eventually(
        WAIT,
        "the new timeout in CONFIG, acknowledged by east",
        || async {
            let c: kubectl_failover::store::GroupConfig = config().await?;
            (c.timeouts.heartbeat.to_string() == "6s" && c.superseded.is_none()).then_some(c)
        },
    )
    .await;
    assert_eq!(changed.owner_cluster, "east");
    // East's spec still says 4s: it reports the difference but does not undo the edit.
    let differs = eventually(WAIT, "east reports that its spec differs", || async {
        let s = east_fgs.get("web").await.ok()?.status?;
        s.conditions.into_iter().find(|c| {
            c.message
                .contains("timeouts.heartbeat is 4s in the spec but 6s in the table")
        })
    })
    .await;
    assert_eq!(differs.reason, "SpecNotInTable", "{differs:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c: kubectl_failover::store::GroupConfig = config().await.unwrap();
    assert_eq!(c.timeouts.heartbeat.to_string(), "6s");
    assert!(east.cluster.is_serving(&gid("web")));

    east.stop().await.unwrap();
    west.stop().await.unwrap();
}
