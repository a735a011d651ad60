//! End to end on real Kubernetes: the scenarios that decide safety (tests/e2e_run/scenarios.rs:
//! steady state, a planned failover, the primary's controller killed, deletion in the standby
//! and in the owner; tests/e2e_run/failback.rs: a planned failover both ways;
//! tests/e2e_run/fencing.rs: self-fencing when cut off from DynamoDB; tests/e2e_run/unhealthy.rs:
//! a failing volume replication), each cluster a real control plane (etcd, kube-apiserver with
//! RBAC and the CRDs' CEL rules, kube-controller-manager, kwok nodes whose pods terminate over
//! their grace period), the controller authenticated as deploy/'s ServiceAccount through a
//! fault proxy. The same scenario code runs on the in-memory API server in tests/e2e_run.rs.

#[path = "e2e_run/admission.rs"]
mod admission;
#[path = "support/apiserver/mod.rs"]
mod apiserver;
mod e2e;
#[path = "e2e_run/failback.rs"]
mod failback;
#[path = "e2e_run/fencing.rs"]
mod fencing;
#[path = "e2e_run/leader.rs"]
mod leader;
#[path = "e2e_run/restarts.rs"]
mod restarts;
#[path = "e2e_run/scenarios.rs"]
mod scenarios;
mod support;
#[path = "e2e_run/unhealthy.rs"]
mod unhealthy;

use e2e::backend::Kube;

/// Every cluster of this binary runs a real control plane.
pub const KUBE: Kube = Kube::Real;

// Self-fencing, which only the real control plane showed failing before the deactivation
// budget: the primary's StatefulSet pods stay Terminating for their grace period (one after the
// other), so its deactivation is still at ScaleDown (volume primary) when a standby that took
// over after `timeouts.heartbeat` alone promoted its own volume. The takeover now waits
// `timeouts.heartbeat + timeouts.deactivation` (docs/protocol.md, "The fencing arithmetic").

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_cut_off_from_dynamodb_stops_serving_before_the_standby_takes_over() {
    fencing::fences_before_takeover("fence", fencing::Path::Reset).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_whose_dynamodb_calls_hang_stops_serving_before_the_standby_takes_over() {
    fencing::fences_before_takeover("fence-hang", fencing::Path::Blackhole).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_deactivation_budget_a_cut_off_primary_still_has_pods_when_the_standby_takes_over()
 {
    fencing::without_a_deactivation_budget_the_takeover_overlaps("fence-no-budget").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_cut_off_from_dynamodb_demotes_its_volume_before_the_standby_promotes_its_own() {
    fencing::demotes_its_volume_before_takeover("fence-volume").await;
}

// The same fences after a restart, a spec edit and a leader handover while cut off.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_cut_off_from_dynamodb_whose_controller_is_killed_and_restarted_stops_serving_before_the_takeover()
 {
    restarts::killed_and_restarted_while_cut_off().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_group_edited_while_its_primary_is_cut_off_still_fences_before_the_takeover() {
    restarts::spec_edit_while_cut_off().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_handover_while_the_primary_is_cut_off_still_fences_before_the_takeover() {
    restarts::leader_handover_while_cut_off().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_failover_while_a_webhook_refuses_east_s_ingress_still_scales_east_to_zero() {
    admission::refusing_webhook_during_a_planned_failover().await;
}
