//! One size's Kubernetes side: a fresh real control plane (tests/support/control_plane) with
//! deploy/'s namespace, ServiceAccount and RBAC, the controller's kubeconfig (a ServiceAccount
//! token from the TokenRequest API, as tests/e2e/backend.rs gives it), and N FailoverGroups
//! each listing its own one-replica Deployment, created many requests at a time.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use crate::control_plane::{ControlPlane, NODES, objects};
use crate::timing::{Size, go};

/// The namespace of the groups (a fresh control plane per size, so one name does).
pub const NS: &str = "scale";
/// deploy/base's namespace and ServiceAccount of the controller.
const SYSTEM_NS: &str = "kubectl-failover-system";
const SERVICE_ACCOUNT: &str = "kubectl-failover";
/// Creations in flight at once: enough to keep kube-apiserver busy without queueing in it.
const IN_FLIGHT: usize = 32;
/// How often progress is printed.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The group and Deployment name of group `i`.
pub fn group_name(i: usize) -> String {
    format!("app-{i}")
}

/// Applies deploy/base's namespace, ServiceAccount and RBAC, creates [`NS`] and waits for its
/// default ServiceAccount (until it exists the ReplicaSet controller's pods are refused, and
/// it backs off).
pub async fn prepare(plane: &ControlPlane) -> Result<(), String> {
    for file in ["namespace.yaml", "serviceaccount.yaml", "rbac.yaml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/base")
            .join(file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
            .map_err(|e| format!("parse {}: {e}", path.display()))?;
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            plane.apply(doc).await?;
        }
    }
    plane
        .apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))
        .await?;
    let sa = format!("/api/v1/namespaces/{NS}/serviceaccounts/default");
    let end = Instant::now() + Duration::from_secs(60);
    while !matches!(plane.get(&sa).await, Ok(Some(_))) {
        if Instant::now() > end {
            return Err(format!(
                "the default ServiceAccount of namespace {NS} did not appear within 60s"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Writes the controller's kubeconfig at `path`: its ServiceAccount's token straight to
/// kube-apiserver (RBAC as deploy/ grants it).
pub async fn controller_kubeconfig(plane: &ControlPlane, path: &Path) -> Result<(), String> {
    let token = plane
        .service_account_token(SYSTEM_NS, SERVICE_ACCOUNT)
        .await?;
    objects::write_kubeconfig(path, &plane.name, &plane.url, Some(&plane.ca), &token)
}

/// Group `i`'s Deployment: one replica on a simulated node (no scheduler runs: pods name their
/// node; kwok's nodes take up to a million pods each, kwok's default capacity).
fn deployment(i: usize) -> Value {
    let name = group_name(i);
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "nodeName": NODES[i % NODES.len()],
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "app", "image": "example.com/app:1.0"}],
                },
            },
        },
    })
}

/// Group `i`'s FailoverGroup: this cluster its initial primary, heartbeat every interval, and
/// the smallest timeouts the CRD's rules and the protocol accept around it (src/crd,
/// `GroupPolicy::timings`): heartbeat timeout 4 intervals, unhealthy primary 2, deactivation
/// 1, transitory state 10 (more than 4 + 1 + 2).
fn failover_group(i: usize, cluster: &str, size: Size) -> Value {
    let name = group_name(i);
    let interval = size.interval;
    json!({
        "apiVersion": "kubectl-failover.io/v1alpha1", "kind": "FailoverGroup",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "initialPrimary": cluster,
            "heartbeatInterval": go(interval),
            "timeouts": {
                "heartbeat": go(interval * 4),
                "unhealthyPrimary": go(interval * 2),
                "deactivation": go(interval),
                "transitoryState": go(interval * 10),
            },
            "workloads": [{"kind": "Deployment", "name": name}],
        },
    })
}

/// POSTs `obj` to `path`, retrying twice (an object that exists already, from an attempt whose
/// answer was lost, counts as created).
async fn create(plane: &ControlPlane, path: &str, obj: Value) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        match plane
            .send("POST", path, "application/json", Some(obj.clone()))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if e.contains("AlreadyExists") || e.contains("already exists") => {
                return Ok(());
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Creates the N Deployments and FailoverGroups, [`IN_FLIGHT`] requests at a time, printing
/// progress; how long it took.
pub async fn create_groups(
    plane: &ControlPlane,
    cluster: &str,
    size: Size,
) -> Result<Duration, String> {
    let started = Instant::now();
    let n = size.groups as usize;
    let deployments = format!("/apis/apps/v1/namespaces/{NS}/deployments");
    let groups = format!("/apis/kubectl-failover.io/v1alpha1/namespaces/{NS}/failovergroups");
    let done = AtomicUsize::new(0);
    let mut creations = futures::stream::iter(0..n)
        .map(|i| {
            let (deployments, groups, done) = (&deployments, &groups, &done);
            async move {
                create(plane, deployments, deployment(i)).await?;
                create(plane, groups, failover_group(i, cluster, size)).await?;
                done.fetch_add(1, Ordering::Relaxed);
                Ok::<(), String>(())
            }
        })
        .buffer_unordered(IN_FLIGHT);
    let mut printed = Instant::now();
    while let Some(result) = creations.next().await {
        result?;
        if printed.elapsed() >= PROGRESS_EVERY {
            printed = Instant::now();
            let k = done.load(Ordering::Relaxed);
            let rate = k as f64 / started.elapsed().as_secs_f64();
            eprintln!("  created {k}/{n} groups (Deployment + FailoverGroup), {rate:.0}/s");
        }
    }
    Ok(started.elapsed())
}

/// Pods in [`NS`] (each Deployment's one, once kube-controller-manager made it).
async fn pods(plane: &ControlPlane) -> Result<usize, String> {
    // One item and the server's count of the rest: no need to read 10,000 pods to count them.
    let first = format!("/api/v1/namespaces/{NS}/pods?limit=1");
    let list = plane.get(&first).await?.unwrap_or(Value::Null);
    let items = list["items"].as_array().map_or(0, Vec::len);
    if let Some(rest) = list["metadata"]["remainingItemCount"].as_u64() {
        return Ok(items + rest as usize);
    }
    let Some(mut token) = list["metadata"]["continue"]
        .as_str()
        .filter(|t| !t.is_empty())
        .map(String::from)
    else {
        return Ok(items);
    };
    // No count given: page through.
    let mut count = items;
    loop {
        let page = format!("/api/v1/namespaces/{NS}/pods?limit=500&continue={token}");
        let list = plane.get(&page).await?.unwrap_or(Value::Null);
        count += list["items"].as_array().map_or(0, Vec::len);
        match list["metadata"]["continue"]
            .as_str()
            .filter(|t| !t.is_empty())
        {
            Some(t) => token = t.to_string(),
            None => return Ok(count),
        }
    }
}

/// Waits until every Deployment has its pod, at most `limit`, or until no pod appeared for a
/// minute; prints progress. How many pods there were and how long it took.
pub async fn settle(plane: &ControlPlane, size: Size, limit: Duration) -> (usize, Duration) {
    let started = Instant::now();
    let n = size.groups as usize;
    let mut last = (0, Instant::now());
    let mut printed = Instant::now();
    loop {
        let count = pods(plane).await.unwrap_or(last.0);
        if count != last.0 {
            last = (count, Instant::now());
        }
        if count >= n {
            return (count, started.elapsed());
        }
        if started.elapsed() >= limit || last.1.elapsed() > Duration::from_secs(60) {
            eprintln!(
                "  starting the controller with {count}/{n} pods (waited {:.0}s; KFO_SCALE_REAL_SETTLE bounds the wait)",
                started.elapsed().as_secs_f64()
            );
            return (count, started.elapsed());
        }
        if printed.elapsed() >= PROGRESS_EVERY {
            printed = Instant::now();
            let rate = count as f64 / started.elapsed().as_secs_f64();
            eprintln!("  pods {count}/{n} ({rate:.1}/s, made by kube-controller-manager)");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// How many pods exist now (for the report; unknown as `None`).
pub async fn pods_now(plane: &ControlPlane) -> Option<usize> {
    pods(plane).await.ok()
}
