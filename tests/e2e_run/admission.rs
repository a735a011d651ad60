//! A planned failover while an admission webhook refuses every change to east's Ingress
//! (istiod or the ingress-nginx webhook down): east's NetworkOff keeps failing, yet east still
//! scales its workloads to zero and suspends its jobs, because a deactivation goes on past a
//! step that fails. It cannot acknowledge (its DNS record is still on), so the failover waits;
//! once the webhook accepts again, east acknowledges and west takes over. On the real control
//! plane the refusal is a ValidatingAdmissionPolicy enforced by kube-apiserver; on the in-memory
//! one, its refusal switch.

use std::time::Duration;

use serde_json::json;

use crate::e2e::cluster::Cluster;
use crate::e2e::expect;
use crate::e2e::fixtures::{self, NS, Timings};
use crate::e2e::poll::{check, holds, until};
use crate::e2e::world::World;

const LIMIT: Duration = Duration::from_secs(40);
const POLICY: &str = "e2e-freeze-ingresses";
const MESSAGE: &str = "ingress changes are frozen (e2e admission policy)";

/// The ValidatingAdmissionPolicy refusing every UPDATE of an Ingress while `refuse`.
fn policy(refuse: bool) -> serde_json::Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"],
                "operations": ["UPDATE"], "resources": ["ingresses"],
            }]},
            "validations": [{"expression": if refuse { "false" } else { "true" }, "message": MESSAGE}],
        },
    })
}

fn binding() -> serde_json::Value {
    json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY},
        "spec": {"policyName": POLICY, "validationActions": ["Deny"]},
    })
}

/// Whether an annotation change of the Ingress by a person is refused right now (kube-apiserver
/// starts enforcing a new policy a moment after it is created).
async fn refused(cluster: &Cluster) -> Result<bool, String> {
    let Some(real) = cluster.api.real() else {
        return Ok(true);
    };
    let kubectl = std::env::var("KFO_KUBECTL").unwrap_or_else(|_| "kubectl".to_string());
    let out = tokio::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(&real.plane.admin_kubeconfig)
        .args([
            "annotate",
            "ingress",
            fixtures::INGRESS,
            "-n",
            NS,
            "--overwrite",
        ])
        .arg(format!("e2e/probe={}", std::process::id()))
        .output()
        .await
        .map_err(|e| e.to_string())?;
    Ok(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains(MESSAGE))
}

fn freeze(cluster: &Cluster, on: bool) {
    match cluster.api.fake() {
        Some(fake) => fake.set_refusing(on.then_some(("PATCH", "/ingresses/", 403, MESSAGE))),
        None => {
            cluster.apply(policy(on));
            cluster.apply(binding());
        }
    }
}

/// The scenario behind `a_planned_failover_while_a_webhook_refuses_east_s_ingress_still_scales_east_to_zero`.
pub async fn refusing_webhook_during_a_planned_failover() {
    let mut world = World::new("admission", &["east", "west"], "east", &Timings::default()).await;
    world.start("east");
    world.start("west");
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    world.start_monitor();
    let east = world.cluster("east").clone();
    freeze(&east, true);
    until(LIMIT, "the admission refusal is enforced", || async {
        check(refused(&east).await?, || "not refused yet".into())
    })
    .await;

    world
        .cluster("west")
        .apply(fixtures::failover("to-west", "west"));
    until(
        LIMIT,
        "east scales to zero although its Ingress is refused",
        || {
            let v = east.view();
            async move {
                check(
                    v.web_replicas() == 0
                        && v.db_replicas() == 0
                        && v.db_pods == 0
                        && v.cronjob_suspended(),
                    || v.summary(),
                )
            }
        },
    )
    .await;
    // Its DNS record is still on, so it has not stopped serving: no acknowledgement, no flip.
    holds(
        Duration::from_secs(3),
        "east keeps the group while its DNS is on",
        || async {
            let v = east.view();
            check(v.dns_on(), || v.summary())?;
            let snap = world.snapshot().await?.ok_or("no CONFIG")?;
            check(snap.config.owner_cluster == "east", || {
                format!("owner {}", snap.config.owner_cluster)
            })
        },
    )
    .await;

    freeze(&east, false);
    expect::owner(&world, "west", LIMIT).await;
    expect::active(world.cluster("west"), LIMIT).await;
    expect::standby(&east, LIMIT).await;
    world.finish().await;
}
