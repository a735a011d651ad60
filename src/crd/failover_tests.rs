//! Tests of the Failover helpers: group ids, transition ids, modes, target checks.

use super::*;
use crate::crd::failover_group::{GroupTimeouts, WorkloadKind, WorkloadRef};

fn failover(uid: Option<&str>) -> Failover {
    let mut f = Failover::new(
        "to-west",
        FailoverSpec {
            target_cluster: "west".into(),
            failover_mode: None,
            force: false,
            reason: None,
            failover_groups: vec![
                GroupRef {
                    name: "web".into(),
                    namespace: None,
                },
                GroupRef {
                    name: "db".into(),
                    namespace: Some("data".into()),
                },
            ],
        },
    );
    f.metadata.namespace = Some("shop".into());
    f.metadata.uid = uid.map(str::to_string);
    f
}

#[test]
fn groups_without_a_namespace_are_taken_from_the_failovers_namespace() {
    let ids: Vec<String> = failover(None)
        .group_ids()
        .unwrap()
        .iter()
        .map(|g| g.to_string())
        .collect();
    assert_eq!(ids, ["shop/web", "data/db"]);
}

#[test]
fn a_group_listed_twice_is_refused_also_when_one_entry_names_the_namespace() {
    let mut f = failover(None);
    f.spec.failover_groups.push(GroupRef {
        name: "web".into(),
        namespace: Some("shop".into()),
    });
    let text = f.group_ids().unwrap_err().to_string();
    assert!(
        text.contains("failoverGroups[2]") && text.contains("shop/web"),
        "{text}"
    );
    assert!(
        text.contains("lists a FailoverGroup that an earlier entry lists already"),
        "{text}"
    );
}

#[test]
fn a_recreated_failover_of_the_same_name_gets_another_transition_id() {
    let first = failover(Some("0a1b2c3d-0000-4000-8000-000000000001"));
    let again = failover(Some("9f8e7d6c-0000-4000-8000-000000000002"));
    assert_eq!(first.transition_id().unwrap(), "to-west-0a1b2c3d");
    assert_ne!(
        first.transition_id().unwrap(),
        again.transition_id().unwrap()
    );
    let text = failover(None).transition_id().unwrap_err().to_string();
    assert!(text.contains("no metadata.uid"), "{text}");
}

#[test]
fn an_unset_mode_falls_back_to_the_groups_default_mode() {
    let mut group = FailoverGroupSpec {
        operator_id: None,
        initial_primary: "east".into(),
        suspended: false,
        suspension_reason: None,
        timeouts: GroupTimeouts::default(),
        heartbeat_interval: "15s".into(),
        workloads: vec![WorkloadRef {
            kind: WorkloadKind::Deployment,
            name: "web".into(),
            volume_replications: Vec::new(),
        }],
        network_resources: Vec::new(),
        flux_resources: Vec::new(),
        cluster_preference: Vec::new(),
        self_fencing: false,
        failover_cooldown: None,
        default_failover_mode: FailoverMode::Uptime,
    };
    let mut f = failover(None);
    assert_eq!(f.spec.mode_for(&group), FailoverMode::Uptime);
    f.spec.failover_mode = Some(FailoverMode::Consistency);
    assert_eq!(f.spec.mode_for(&group), FailoverMode::Consistency);
    group.default_failover_mode = FailoverMode::Consistency;
    assert_eq!(f.spec.mode_for(&group), FailoverMode::Consistency);
}

#[test]
fn a_target_unusable_as_a_table_key_is_refused_naming_the_failover_and_field() {
    let mut f = failover(None);
    f.spec.target_cluster = "west/1".into();
    let text = f.target().unwrap_err().to_string();
    assert!(
        text.starts_with("Failover shop/to-west: spec.targetCluster \"west/1\""),
        "{text}"
    );
}
