//! Request contracts of the Lease writes, against a tower-test mock API service.

use super::*;
use crate::clock::ManualClock;
use http::{Request, Response};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::{Value, json};

type Seen = (String, String, Value);

/// An elector as `pod-b` whose API answers each request with the next `(code, body)`.
fn elector(script: Vec<(u16, Value)>) -> (LeaderElector, tokio::task::JoinHandle<Vec<Seen>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let log = tokio::spawn(async move {
        let mut seen = Vec::new();
        for (code, answer) in script {
            let Some((request, send)) = handle.next_request().await else {
                break;
            };
            let (parts, body) = request.into_parts();
            let bytes = body.collect().await.unwrap().to_bytes();
            seen.push((
                parts.method.to_string(),
                parts.uri.path().to_string(),
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            ));
            let response = Response::builder()
                .status(code)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&answer).unwrap()))
                .unwrap();
            send.send_response(response);
        }
        seen
    });
    let client = kube::Client::new(service, "default");
    let settings = LeaderSettings::with_duration("pod-b", "ops", "leader", Duration::from_secs(15));
    let clock = Arc::new(ManualClock::starting_at(chrono::Utc::now()));
    let e = LeaderElector::new(client, settings, clock, Arc::new(Metrics::new()));
    (e, log)
}

fn lease(holder: &str, rv: &str) -> Lease {
    serde_json::from_value(json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "leader", "namespace": "ops", "resourceVersion": rv},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "leaseTransitions": 2},
    }))
    .unwrap()
}

#[tokio::test]
async fn a_missing_lease_is_created_with_this_replica_as_holder() {
    let created = serde_json::to_value(lease("pod-b", "1")).unwrap();
    let (e, log) = elector(vec![(201, created)]);
    assert!(e.write(LeaseAction::Create, None).await.unwrap());
    drop(e);
    let seen = log.await.unwrap();
    let (method, path, body) = &seen[0];
    assert_eq!(method, "POST");
    assert_eq!(path, "/apis/coordination.k8s.io/v1/namespaces/ops/leases");
    assert_eq!(body["spec"]["holderIdentity"], "pod-b");
    assert_eq!(body["spec"]["leaseDurationSeconds"], 15);
}

#[tokio::test]
async fn a_takeover_replaces_the_lease_it_read_and_counts_a_transition() {
    let (e, log) = elector(vec![(
        200,
        serde_json::to_value(lease("pod-b", "8")).unwrap(),
    )]);
    let action = LeaseAction::Acquire {
        from: Some("pod-a".into()),
    };
    assert!(e.write(action, Some(lease("pod-a", "7"))).await.unwrap());
    drop(e);
    let seen = log.await.unwrap();
    let (method, path, body) = &seen[0];
    assert_eq!(method, "PUT");
    assert_eq!(
        path,
        "/apis/coordination.k8s.io/v1/namespaces/ops/leases/leader"
    );
    assert_eq!(
        body["metadata"]["resourceVersion"], "7",
        "conditional on the version read"
    );
    assert_eq!(body["spec"]["holderIdentity"], "pod-b");
    assert_eq!(body["spec"]["leaseTransitions"], 3);
}

#[tokio::test]
async fn a_lost_write_race_is_not_leadership_and_not_an_error() {
    let conflict = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
        "message": "the object has been modified", "reason": "Conflict", "code": 409});
    let (e, _log) = elector(vec![(409, conflict)]);
    let won = e.write(LeaseAction::Renew, Some(lease("pod-b", "7"))).await;
    assert!(!won.unwrap());
}

/// Monotonic time from tokio's clock, so that paused test time moves it too.
#[derive(Debug)]
struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
    fn monotonic(&self) -> Duration {
        self.0.elapsed()
    }
}

#[tokio::test(start_paused = true)]
async fn a_lease_call_that_never_answers_ends_leadership_at_the_renew_deadline() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    // The first read and renewal are answered; every later call hangs (kept unanswered).
    tokio::spawn(async move {
        let mut hung = Vec::new();
        let mut answered = 0;
        while let Some((_request, send)) = handle.next_request().await {
            if answered < 2 {
                answered += 1;
                let body = serde_json::to_vec(&lease("pod-b", &answered.to_string())).unwrap();
                let response = Response::builder()
                    .status(200)
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap();
                send.send_response(response);
            } else {
                hung.push(send);
            }
        }
    });
    let client = kube::Client::new(service, "default");
    let settings = LeaderSettings::with_duration("pod-b", "ops", "leader", Duration::from_secs(15));
    let start = tokio::time::Instant::now();
    let clock = Arc::new(TokioClock(start));
    let e = LeaderElector::new(client, settings.clone(), clock, Arc::new(Metrics::new()));
    let leadership = e.leadership();
    let (tx, mut leading) = watch::channel(false);
    let (_stop, stop_rx) = watch::channel(false);
    tokio::spawn(e.run(tx, stop_rx));

    let wait = Duration::from_secs(60);
    tokio::time::timeout(wait, leading.wait_for(|l| *l))
        .await
        .expect("leads after the first renewal")
        .unwrap();
    assert!(leadership.check().is_ok());
    tokio::time::timeout(wait, leading.wait_for(|l| !*l))
        .await
        .expect("stops leading although no Lease call ever returns")
        .unwrap();
    // The renewal was sent at 0s: leadership ends exactly at the renew deadline.
    assert_eq!(start.elapsed(), settings.renew_deadline);
    assert!(
        leadership.check().is_err(),
        "writes are refused from then on"
    );
}
