//! Notification webhooks against local HTTP receivers on 127.0.0.1: one that records the
//! bodies (generic JSON and Slack), one that never answers, ones that answer 500 and 400; and a
//! planned failover between two in-process controllers whose notifications reach a receiver
//! from the target cluster only.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "support/controller.rs"]
mod controller_support;
#[path = "support/webhook.rs"]
mod webhook;

use chrono::Utc;
use controller_support::*;
use hyper::StatusCode;
use kube::api::{Api, PostParams};
use kubectl_failover::clock::{Clock, SystemClock};
use kubectl_failover::controller::{Controller, ControllerDeps};
use kubectl_failover::crd::{Failover, FailoverGroup};
use kubectl_failover::k8s::simulated::{ServingLog, SimulatedCluster};
use kubectl_failover::notify::config::parse;
use kubectl_failover::notify::{Delivery, Kind, Notification, Notifier, NotifyConfig};
use kubectl_failover::store::CoordinationStore;
use kubectl_failover::store::memory::MemoryStore;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;
use webhook::{Received, Receiver};

/// A receiver that accepts connections and reads, but never answers.
async fn hanging() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sink = tokio::io::sink();
                let _ = tokio::io::copy(&mut stream, &mut sink).await;
            });
        }
    });
    url
}

fn config(text: &str) -> NotifyConfig {
    parse(Path::new("test.yaml"), text).unwrap()
}

fn notification(kind: Kind, key: &str) -> Notification {
    Notification {
        kind,
        key: key.into(),
        dedup_key: format!("{key}/{kind}"),
        group: "shop/web".into(),
        cluster: "west".into(),
        source: Some("east".into()),
        target: Some("west".into()),
        mode: Some("CONSISTENCY".into()),
        automatic: Some(false),
        reason: Some("maintenance".into()),
        initiator: Some("failover/shop/move-web".into()),
        phase: None,
        outcome: (kind == Kind::FailoverEnded).then(|| "SUCCESS".into()),
        requested_at: Some(Utc::now()),
        duration_seconds: (kind == Kind::FailoverEnded).then_some(12),
        downtime_seconds: (kind == Kind::FailoverEnded).then_some(4),
        at: Utc::now(),
        summary: format!("shop/web: failover east -> west {kind}"),
    }
}

async fn until<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_slack_bodies_reach_their_receivers_with_the_idempotency_key() {
    let r = Receiver::start(StatusCode::OK).await;
    let text = format!(
        "webhooks:\n  - url: {u}/json\n  - url: {u}/slack\n    format: slack\n    events: [FailoverEnded]\n",
        u = r.url
    );
    let notifier = Notifier::start(&config(&text), Delivery::default()).unwrap();
    notifier.notify(&notification(Kind::FailoverStarted, "t-1"));
    notifier.notify(&notification(Kind::FailoverEnded, "t-1"));
    let seen = until(Duration::from_secs(10), "three requests", || {
        let s = r.seen();
        (s.len() >= 3).then_some(s)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        r.seen().len(),
        3,
        "the slack webhook only wants FailoverEnded"
    );

    let json: Vec<&Received> = seen.iter().filter(|s| s.path == "/json").collect();
    assert_eq!(json.len(), 2);
    assert_eq!(json[0].body["kind"], "FailoverStarted", "in order");
    let ended = &json[1].body;
    assert_eq!(ended["kind"], "FailoverEnded");
    assert_eq!(ended["key"], "t-1");
    assert_eq!(ended["dedupKey"], "t-1/FailoverEnded");
    assert_eq!(ended["group"], "shop/web");
    assert_eq!(ended["cluster"], "west");
    assert_eq!(ended["outcome"], "SUCCESS");
    assert_eq!(ended["durationSeconds"], 12);
    assert_eq!(ended["downtimeSeconds"], 4);
    assert_eq!(
        json[1].idempotency_key.as_deref(),
        Some("t-1/FailoverEnded")
    );

    let slack: Vec<&Received> = seen.iter().filter(|s| s.path == "/slack").collect();
    assert_eq!(slack.len(), 1);
    let text = slack[0].body["text"].as_str().unwrap();
    assert_eq!(slack[0].body.as_object().unwrap().len(), 1, "only text");
    assert!(text.contains("[kubectl-failover] shop/web"), "{text}");
    assert!(
        text.contains("FailoverEnded") && text.contains("t-1"),
        "{text}"
    );
    let stats = notifier.stats();
    assert_eq!((stats[0].delivered, stats[1].delivered), (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_is_given_up_on_and_the_callers_never_wait() {
    let url = hanging().await;
    let delivery = Delivery {
        timeout: Duration::from_millis(300),
        attempts: 2,
        backoff: Duration::from_millis(50),
        capacity: 4,
    };
    let notifier =
        Notifier::start(&config(&format!("webhooks:\n  - url: {url}/\n")), delivery).unwrap();
    notifier.notify(&notification(Kind::FailoverStarted, "t-1"));
    // Two attempts of 300 ms and a 50 ms pause: given up well within 5 s.
    until(Duration::from_secs(5), "the notification given up", || {
        (notifier.stats()[0].failed == 1).then_some(())
    })
    .await;
    assert_eq!(notifier.stats()[0].attempts, 2);
    assert_eq!(notifier.stats()[0].delivered, 0);

    // `notify` is not async: it cannot wait for the receiver. What it does when the receiver
    // is stuck is drop: one notification in flight, four queued, every other one dropped.
    for i in 0..1000 {
        notifier.notify(&notification(Kind::FailoverPhase, &format!("t-{i}")));
    }
    let dropped = notifier.stats()[0].dropped;
    assert!((990..=996).contains(&dropped), "dropped {dropped}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_does_not_delay_another_one() {
    let slow = hanging().await;
    let r = Receiver::start(StatusCode::OK).await;
    let text = format!("webhooks:\n  - url: {slow}/\n  - url: {}/ok\n", r.url);
    let notifier = Notifier::start(&config(&text), Delivery::default()).unwrap();
    let started = Instant::now();
    for i in 0..3 {
        notifier.notify(&notification(Kind::FailoverStarted, &format!("t-{i}")));
    }
    until(
        Duration::from_secs(4),
        "all three at the answering receiver",
        || (r.seen().len() == 3).then_some(()),
    )
    .await;
    assert!(
        started.elapsed() < Delivery::default().timeout,
        "delivered before the hanging receiver's first timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_is_retried_the_documented_number_of_times_then_dropped() {
    let r = Receiver::start(StatusCode::INTERNAL_SERVER_ERROR).await;
    let delivery = Delivery {
        backoff: Duration::from_millis(20),
        ..Delivery::default()
    };
    assert_eq!(
        delivery.attempts, 3,
        "docs/user-guide.md says three attempts"
    );
    let notifier = Notifier::start(
        &config(&format!("webhooks:\n  - url: {}/\n", r.url)),
        delivery,
    )
    .unwrap();
    notifier.notify(&notification(Kind::FailoverEnded, "t-1"));
    until(Duration::from_secs(10), "the notification dropped", || {
        (notifier.stats()[0].failed == 1).then_some(())
    })
    .await;
    assert_eq!(r.seen().len(), 3);
    assert!(
        r.seen()
            .iter()
            .all(|s| s.idempotency_key.as_deref() == Some("t-1/FailoverEnded")),
        "every retry carries the same key"
    );
    assert_eq!(notifier.stats()[0].delivered, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_400_is_final_and_not_retried() {
    let r = Receiver::start(StatusCode::BAD_REQUEST).await;
    let delivery = Delivery {
        backoff: Duration::from_millis(20),
        ..Delivery::default()
    };
    let notifier = Notifier::start(
        &config(&format!("webhooks:\n  - url: {}/\n", r.url)),
        delivery,
    )
    .unwrap();
    notifier.notify(&notification(Kind::ClusterFenced, "fenced/shop/web/east/x"));
    until(Duration::from_secs(10), "the notification dropped", || {
        (notifier.stats()[0].failed == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.seen().len(), 1);
    assert_eq!(notifier.stats()[0].attempts, 1);
}

/// A controller as `controller_support::start`, with notifications through `notifier`.
fn start_notifying(
    server: &apiserver::FakeApiServer,
    store: Arc<dyn CoordinationStore>,
    cluster_name: &str,
    log: &ServingLog,
    notifier: Arc<Notifier>,
) -> Running {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let cluster = Arc::new(SimulatedCluster::new(
        cluster_name,
        clock.clone(),
        log.clone(),
    ));
    let controller = Controller::new(
        settings(cluster_name),
        ControllerDeps {
            client: server.client(),
            cluster: cluster.clone(),
            resources: Arc::new(SimResources(cluster.clone())),
            store,
            clock,
        },
    )
    .with_notifier(Some(notifier));
    let health = controller.health();
    let (shutdown, rx) = watch::channel(false);
    let task = tokio::spawn(controller.run(rx));
    Running {
        cluster,
        health,
        shutdown,
        task,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_failover_is_announced_start_phases_and_end_by_the_target_only() {
    let r = Receiver::start(StatusCode::OK).await;
    let hooks = config(&format!("webhooks:\n  - url: {}/hook\n", r.url));
    let (east_api, west_api) = (api_server().await, api_server().await);
    let store: Arc<dyn CoordinationStore> = Arc::new(MemoryStore::new());
    let log = ServingLog::new(Arc::new(SystemClock::new()));
    let notifier = |c: &NotifyConfig| Arc::new(Notifier::start(c, Delivery::default()).unwrap());
    let east = start_notifying(&east_api, store.clone(), "east", &log, notifier(&hooks));
    let west = start_notifying(&west_api, store.clone(), "west", &log, notifier(&hooks));
    for server in [&east_api, &west_api] {
        let api: Api<FailoverGroup> = Api::namespaced(server.client(), NS);
        api.create(&PostParams::default(), &failover_group("web", "east"))
            .await
            .unwrap();
    }
    let gid = kubectl_failover::store::GroupId::new(NS, "web").unwrap();
    eventually(
        Duration::from_secs(30),
        "both clusters registered",
        || async {
            let s = store.load_group(OP, &gid).await.ok()??;
            (s.clusters.len() == 2).then_some(())
        },
    )
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

    until(
        Duration::from_secs(30),
        "FailoverEnded at the receiver",
        || {
            r.seen()
                .iter()
                .any(|s| s.body["kind"] == "FailoverEnded" && s.body["key"] == id.as_str())
                .then_some(())
        },
    )
    .await;
    let ours: Vec<Value> = r
        .seen()
        .into_iter()
        .map(|s| s.body)
        .filter(|b| b["key"] == id.as_str())
        .collect();
    assert!(
        ours.iter()
            .all(|b| b["cluster"] == "west" && b["group"] == "shop/web"),
        "only the target drives: {ours:#?}"
    );
    let kinds: Vec<String> = ours
        .iter()
        .map(|b| match b["phase"].as_str() {
            Some(p) => format!("{}/{p}", b["kind"].as_str().unwrap()),
            None => b["kind"].as_str().unwrap().to_string(),
        })
        .collect();
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    assert_eq!(count("FailoverStarted"), 1, "{kinds:?}");
    assert_eq!(count("FailoverPhase/SOURCE_DEACTIVATING"), 1, "{kinds:?}");
    assert_eq!(count("FailoverPhase/TARGET_ACTIVATING"), 1, "{kinds:?}");
    assert_eq!(count("FailoverEnded"), 1, "{kinds:?}");
    assert_eq!(kinds.first().map(String::as_str), Some("FailoverStarted"));
    assert_eq!(kinds.last().map(String::as_str), Some("FailoverEnded"));
    let ended = ours.last().unwrap();
    assert_eq!(ended["outcome"], "SUCCESS");
    assert_eq!(
        (ended["source"].as_str(), ended["target"].as_str()),
        (Some("east"), Some("west"))
    );
    assert!(ended["durationSeconds"].is_u64(), "{ended}");
    assert!(
        !r.seen().iter().any(|s| s.body["kind"] == "ClusterFenced"),
        "nobody fenced in a planned failover"
    );
    east.stop().await.unwrap();
    west.stop().await.unwrap();
}
