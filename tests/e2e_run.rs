//! End to end: real `kubectl-failover run` processes, one per simulated cluster (an in-memory
//! Kubernetes API server each), coordinating through moto's DynamoDB server. Each scenario
//! asserts what a person would see: the objects in each cluster, the FailoverGroup and Failover
//! status, and the records in the table. A monitor checks throughout that no two clusters serve
//! the group at once.

#[path = "e2e_run/admission.rs"]
mod admission;
#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "e2e_run/dead_target.rs"]
mod dead_target;
mod e2e;
#[path = "e2e_run/failback.rs"]
mod failback;
#[path = "e2e_run/failures.rs"]
mod failures;
#[path = "e2e_run/fencing.rs"]
mod fencing;
#[path = "e2e_run/leader.rs"]
mod leader;
#[path = "e2e_run/operations.rs"]
mod operations;
#[path = "e2e_run/restarts.rs"]
mod restarts;
#[path = "e2e_run/scenarios.rs"]
mod scenarios;
#[path = "e2e_run/secrets.rs"]
mod secrets;
mod support;
#[path = "e2e_run/unhealthy.rs"]
mod unhealthy;

use e2e::backend::Kube;

/// Every cluster of this binary runs the in-memory API server.
pub const KUBE: Kube = Kube::InMemory;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_cut_off_while_its_ingress_patches_hang_still_stops_its_workloads_and_volume_first()
 {
    fencing::fences_past_a_hanging_ingress("fence-ingress-hang").await;
}

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
async fn a_failover_whose_target_dies_before_the_flip_is_rolled_back_at_once() {
    dead_target::target_dies_before_the_flip().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_whose_target_dies_after_the_flip_fails_over_again_at_once() {
    dead_target::target_dies_after_the_flip().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_failover_while_a_webhook_refuses_east_s_ingress_still_scales_east_to_zero() {
    admission::refusing_webhook_during_a_planned_failover().await;
}
