//! FailoverGroups and Failovers that the CRD schema (and its CEL rules) would refuse, stored
//! anyway (an object older than the CRD, a CRD installed without its schema, another API server):
//! the controller must say what is wrong on the object itself, act on none of it, and keep
//! serving every valid group of the cluster.
//!
//! One controller (in-memory API server, memory store, simulated cluster) meets them all next
//! to one valid group, `shop/good`, which it must keep serving.

use super::table::{Book, Category, Seen};
use crate::apiserver::FakeApiServer;
use crate::controller_support::{NS, OP, api_server, eventually, settings, start};
use kubectl_failover::clock::SystemClock;
use kubectl_failover::k8s::simulated::ServingLog;
use kubectl_failover::store::memory::MemoryStore;
use kubectl_failover::store::{CoordinationStore, GroupId};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// A valid FailoverGroup `shop/NAME` served first by east, as JSON.
fn group(name: &str) -> Value {
    json!({
        "apiVersion": "kubectl-failover.io/v1alpha1",
        "kind": "FailoverGroup",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "initialPrimary": "east",
            "heartbeatInterval": "1s",
            "timeouts": {"heartbeat": "4s", "transitoryState": "30s", "unhealthyPrimary": "2s", "deactivation": "2s"},
            "workloads": [{"kind": "Deployment", "name": "api"}],
        },
    })
}

/// A Failover `shop/NAME` moving `shop/good` to west, as JSON.
fn failover(name: &str) -> Value {
    json!({
        "apiVersion": "kubectl-failover.io/v1alpha1",
        "kind": "Failover",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"targetCluster": "west", "failoverGroups": [{"name": "good"}]},
    })
}

/// Sets `value` at a `/`-separated path of object keys under `spec` (creating maps on the way);
/// `None` removes the key.
fn set(obj: &mut Value, path: &str, value: Option<Value>) {
    let mut at = &mut obj["spec"];
    let keys: Vec<&str> = path.split('/').collect();
    let (last, parents) = keys.split_last().expect("a path");
    for k in parents {
        at = &mut at[*k];
    }
    match value {
        Some(v) => at[*last] = v,
        None => {
            if let Some(m) = at.as_object_mut() {
                m.remove(*last);
            }
        }
    }
}

/// One malformed object: its name, the field changed under `spec` (`/` between keys), the new
/// value (`None`: removed) and the phrase its report must hold.
struct Case {
    name: &'static str,
    path: &'static str,
    value: Option<Value>,
    phrase: &'static str,
}

impl Case {
    fn shown(&self, kind: &str) -> String {
        let field = self.path.replace('/', ".");
        match &self.value {
            Some(v) => format!("{kind} spec.{field}: {v}"),
            None => format!("{kind} without spec.{field}"),
        }
    }
}

fn case(
    name: &'static str,
    path: &'static str,
    value: Option<Value>,
    phrase: &'static str,
) -> Case {
    Case {
        name,
        path,
        value,
        phrase,
    }
}

#[rustfmt::skip]
fn group_cases() -> Vec<Case> {
    vec![
        case("bad-interval", "heartbeatInterval", Some(json!("soon")), "spec.heartbeatInterval \"soon\" is not a duration"),
        case("zero-interval", "heartbeatInterval", Some(json!("0s")), "heartbeatInterval"),
        case("short-heartbeat", "timeouts/heartbeat", Some(json!("2s")), "timeouts.heartbeat"),
        case("huge-timeout", "timeouts/transitoryState", Some(json!("340282366920938463463374607431768211.9us")), "number too large"),
        case("bad-primary", "initialPrimary", Some(json!("we#st")), "spec.initialPrimary \"we#st\" is not a valid cluster name"),
        case("no-primary", "initialPrimary", Some(json!("")), "spec.initialPrimary"),
        case("twice-preferred", "clusterPreference", Some(json!(["east", "east"])), "is listed twice"),
        case("no-resources", "workloads", Some(json!([])), "list at least one resource"),
        // With defaultFailoverMode UPTIME (set below).
        case("uptime-volumes", "workloads", Some(json!([{"kind": "StatefulSet", "name": "db", "volumeReplications": ["db-data"]}])), "defaultFailoverMode"),
        case("bad-cooldown", "failoverCooldown", Some(json!("-5m")), "spec.failoverCooldown"),
        // Past the schema's types: the object cannot even be read as a FailoverGroup.
        case("workloads-text", "workloads", Some(json!("api")), "cannot be read: invalid type: string \"api\", expected a sequence"),
        case("unknown-kind", "workloads", Some(json!([{"kind": "Pod", "name": "api"}])), "unknown variant `Pod`"),
        case("fencing-text", "selfFencing", Some(json!("yes")), "expected a boolean"),
        case("no-initial-primary", "initialPrimary", None, "missing field `initialPrimary`"),
    ]
}

#[rustfmt::skip]
fn failover_cases() -> Vec<Case> {
    vec![
        case("bad-target", "targetCluster", Some(json!("we#st")), "spec.targetCluster \"we#st\""),
        case("unknown-target", "targetCluster", Some(json!("north")), "north"),
        case("missing-group", "failoverGroups", Some(json!([{"name": "nope"}])), "FailoverGroup shop/nope does not exist"),
        case("bad-group-name", "failoverGroups", Some(json!([{"name": "we/b"}])), "failoverGroups[0]"),
        // Created in namespace blog (below): a group of another namespace.
        case("other-namespace", "failoverGroups", Some(json!([{"name": "good", "namespace": NS}])), "another namespace"),
        // Past the schema's types: the object cannot even be read as a Failover.
        case("force-text", "force", Some(json!("yes")), "cannot be read: invalid type: string \"yes\", expected a boolean"),
        case("mode-unknown", "failoverMode", Some(json!("SOMETIMES")), "unknown variant `SOMETIMES`"),
        case("no-target", "targetCluster", None, "missing field `targetCluster`"),
    ]
}

/// The namespace of a Failover case.
fn namespace_of(c: &Case) -> &'static str {
    if c.name == "other-namespace" {
        "blog"
    } else {
        NS
    }
}

/// The first line a user reads on a FailoverGroup: its Ready condition.
fn ready_line(obj: &Value) -> Option<(String, String)> {
    let ready = obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?;
    let line = format!(
        "Ready={} {}: {}",
        ready["status"].as_str()?,
        ready["reason"].as_str()?,
        ready["message"].as_str()?
    );
    Some((ready["status"].as_str()?.to_string(), line))
}

fn warned(server: &FakeApiServer, name: &str, reason: &str) -> bool {
    server
        .objects("Event")
        .iter()
        .any(|e| e["reason"] == reason && e["type"] == "Warning" && e["regarding"]["name"] == name)
}

async fn registered(store: &dyn CoordinationStore, name: &str) -> bool {
    let id = GroupId::new(NS, name).expect("group id");
    matches!(store.load_group(OP, &id).await, Ok(Some(_)))
}

fn path(namespace: &str, kind: &str, name: &str) -> String {
    format!("/apis/kubectl-failover.io/v1alpha1/namespaces/{namespace}/{kind}/{name}")
}

/// Waits for `name`'s Ready=False report and checks it: the phrase, a Warning Event, nothing in
/// the store.
async fn judge_group(
    server: &FakeApiServer,
    store: &dyn CoordinationStore,
    c: &Case,
) -> Result<Seen, String> {
    // Events are published from a queue: the condition may come first.
    let deadline = tokio::time::Instant::now() + WAIT;
    let line = loop {
        let obj = server.get(&path(NS, "failovergroups", c.name));
        let ready = obj.as_ref().and_then(ready_line);
        let event = warned(server, c.name, "InvalidSpec");
        if let Some((status, line)) = &ready
            && status == "False"
            && event
        {
            break line.clone();
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "no Ready=False condition and InvalidSpec Warning within {WAIT:?}: {ready:?}, event: {event}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if !line.contains(c.phrase) {
        return Err(format!("the condition lacks {:?}: {line}", c.phrase));
    }
    if registered(store, c.name).await {
        return Err("the malformed group was registered in the table".into());
    }
    Ok(Seen { line, code: None })
}

/// The first line a user reads on a Failover: its phase and each group's message, or the
/// Complete condition when it could not be read.
fn failover_line(obj: &Value) -> Option<String> {
    let status = &obj["status"];
    let phase = status["phase"].as_str()?;
    let Some(groups) = status["groups"].as_array() else {
        let complete = status["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == "Complete")?;
        return Some(format!(
            "phase {phase}; Complete={} {}: {}",
            complete["status"].as_str()?,
            complete["reason"].as_str()?,
            complete["message"].as_str()?
        ));
    };
    let groups: Vec<String> = groups
        .iter()
        .map(|g| {
            format!(
                "{} {}: {}",
                g["group"].as_str().unwrap_or("?"),
                g["status"].as_str().unwrap_or("?"),
                g["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    Some(format!("phase {phase}; {}", groups.join("; ")))
}

async fn judge_failover(server: &FakeApiServer, c: &Case) -> Result<Seen, String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let obj = server.get(&path(namespace_of(c), "failovers", c.name));
        if let Some(line) = obj.as_ref().and_then(failover_line)
            && line.starts_with("phase FAILED")
        {
            if !line.contains(c.phrase) {
                return Err(format!("the status lacks {:?}: {line}", c.phrase));
            }
            return Ok(Seen { line, code: None });
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("not FAILED within {WAIT:?}: {obj:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs every resource case against one controller, next to the valid group `shop/good`.
pub async fn cases(book: &mut Book) {
    let server = api_server().await;
    let store: Arc<dyn CoordinationStore> = Arc::new(MemoryStore::new());
    let log = ServingLog::new(Arc::new(SystemClock::new()));
    let east = start(&server, store.clone(), settings("east"), &log);
    let (groups, failovers) = (group_cases(), failover_cases());
    for c in &groups {
        let mut obj = group(c.name);
        set(&mut obj, c.path, c.value.clone());
        if c.name == "uptime-volumes" {
            set(&mut obj, "defaultFailoverMode", Some(json!("UPTIME")));
        }
        server.put_object(obj);
    }
    server.put_object(group("good"));
    for c in &failovers {
        let mut obj = failover(c.name);
        obj["metadata"]["namespace"] = json!(namespace_of(c));
        set(&mut obj, c.path, c.value.clone());
        server.put_object(obj);
    }
    for c in &groups {
        let outcome = judge_group(&server, store.as_ref(), c).await;
        book.record(Category::Resources, &c.shown("FailoverGroup"), outcome);
    }
    for c in &failovers {
        let outcome = judge_failover(&server, c).await;
        book.record(Category::Resources, &c.shown("Failover"), outcome);
    }

    // The valid group next to them was registered and is served by east: nothing blocked it,
    // and no malformed Failover moved it.
    let good = GroupId::new(NS, "good").expect("group id");
    eventually(WAIT, "shop/good served by east", || async {
        (registered(store.as_ref(), "good").await && east.cluster.is_serving(&good)).then_some(())
    })
    .await;
    let snapshot = store.load_group(OP, &good).await.expect("load");
    let config = snapshot.expect("shop/good registered").config;
    assert!(
        config.owner_cluster == "east" && config.transition.is_none(),
        "no malformed Failover may move shop/good: {config:?}"
    );
    east.stop().await.expect("the controller stops cleanly");
}
