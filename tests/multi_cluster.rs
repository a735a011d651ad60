//! The failover scenarios a user would run into, with several clusters in one process: simulated
//! clusters, one agent per cluster and group, one shared store (in memory, and moto's DynamoDB
//! server), time driven in 50 ms steps. The harness asserts after every step that no two
//! clusters serve a CONSISTENCY group at once; each test asserts who serves, CONFIG, the one
//! history record, and the timings against the timeouts.

mod support;

#[path = "multi_cluster/dead_owner.rs"]
mod dead_owner;
#[path = "multi_cluster/planned.rs"]
mod planned;
#[path = "multi_cluster/steady.rs"]
mod steady;
#[path = "multi_cluster/stuck.rs"]
mod stuck;

use kubectl_failover::agent::AgentEventKind;
use kubectl_failover::clock::Clock;
use kubectl_failover::protocol::{Refusal, Role};
use kubectl_failover::store::memory::MemoryStore;
use kubectl_failover::store::*;
use std::sync::Arc;
use std::time::Duration;
use support::harness::*;

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A world with `clusters`, group `web` (stateful, owned by the first cluster), warmed up until
/// the owner serves and every cluster has written heartbeats.
pub async fn world(store: Arc<dyn CoordinationStore>, clusters: &[&str]) -> Harness {
    let mut h = Harness::new(
        store,
        clusters,
        vec![GroupSetup::new("web", stateful(), clusters[0])],
    );
    let owner = clusters[0].to_string();
    h.run_until(secs(5.0), "the owner serves", |h| {
        h.serving_now(&gid("web")) == vec![owner.clone()]
    })
    .await;
    h.run_for(secs(2.0)).await;
    h
}

/// The only history record of a group.
pub async fn only_record(h: &Harness, group: &GroupId) -> HistoryRecord {
    let records = h.history(group).await;
    assert_eq!(
        records.len(),
        1,
        "exactly one history record: {records:#?}\n{}",
        h.timeline(group)
    );
    records.into_iter().next().expect("one record")
}

use dead_owner::*;
use planned::*;
use steady::*;
use stuck::*;

macro_rules! scenarios {
    ($($case:ident),+ $(,)?) => {
        mod memory {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(Arc::new(MemoryStore::new())).await;
                }
            )+
        }
        mod dynamodb {
            use super::*;
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(Arc::new(support::moto::fresh_store().await)).await;
                }
            )+
        }
    };
}

scenarios!(
    a_planned_consistency_failover_stops_the_source_first_and_moves_serving_to_the_target,
    a_planned_uptime_failover_of_a_stateless_group_serves_on_the_target_before_the_source_stops,
    an_uptime_failover_of_a_group_with_volumes_is_refused_unless_forced,
    a_forced_failover_with_the_source_agent_dead_waits_for_its_heartbeat_timeout_then_completes,
    an_automatic_failover_follows_a_dead_owner_within_the_heartbeat_timeout_and_an_interval,
    an_owner_whose_agent_restarts_within_the_heartbeat_timeout_keeps_serving_without_a_failover,
    a_partitioned_owner_fences_itself_before_the_new_owner_serves_and_stays_standby_after,
    a_transition_whose_target_died_after_taking_the_lock_is_rolled_back_after_one_heartbeat_timeout,
    a_transition_stuck_on_the_source_volume_is_rolled_back_by_its_driver,
    a_suspended_group_is_not_failed_over_automatically_but_a_person_can_still_promote,
    the_cool_down_prevents_an_automatic_failover_back_right_after_one,
    a_restarted_old_owner_does_not_fail_the_group_straight_back,
    the_steady_state_costs_at_most_one_write_and_one_read_per_group_per_interval,
);
