//! Tests of the FailoverGroup -> protocol conversion: every refusal names the resource, the
//! field, the value and the fix.

use super::*;
use crate::crd::failover_group::{GroupTimeouts, WorkloadKind, WorkloadRef};
use std::time::Duration;

fn spec() -> FailoverGroupSpec {
    FailoverGroupSpec {
        operator_id: None,
        initial_primary: "east".into(),
        suspended: false,
        suspension_reason: None,
        timeouts: GroupTimeouts::default(),
        heartbeat_interval: "15s".into(),
        workloads: vec![WorkloadRef {
            kind: WorkloadKind::Deployment,
            name: "web".into(),
            volume_replications: vec!["web-data".into()],
        }],
        network_resources: Vec::new(),
        flux_resources: Vec::new(),
        cluster_preference: vec!["east".into(), "west".into()],
        self_fencing: true,
        failover_cooldown: None,
        default_failover_mode: FailoverMode::Consistency,
    }
}

fn group() -> GroupId {
    GroupId::new("shop", "web").unwrap()
}

fn refusal(spec: &FailoverGroupSpec) -> String {
    spec.settings(group(), "ops", DateTime::<Utc>::UNIX_EPOCH)
        .unwrap_err()
        .to_string()
}

#[test]
fn a_valid_spec_becomes_a_policy_and_a_bootstrap_config_owned_by_the_initial_primary() {
    let mut s = spec();
    s.failover_cooldown = Some("10m".into());
    s.suspended = true;
    s.suspension_reason = Some("maintenance".into());
    let got = s
        .settings(group(), "ops", DateTime::<Utc>::UNIX_EPOCH)
        .unwrap();
    assert_eq!(got.operator_id, "ops");
    assert_eq!(got.bootstrap.owner_cluster, "east");
    assert_eq!(got.bootstrap.operator_id, "ops");
    assert_eq!(got.bootstrap.version, 1);
    assert_eq!(
        got.bootstrap.heartbeat_interval.get(),
        Duration::from_secs(15)
    );
    assert_eq!(got.bootstrap.timeouts, crate::store::Timeouts::default());
    assert!(got.bootstrap.suspended);
    assert_eq!(
        got.bootstrap.suspension_reason.as_deref(),
        Some("maintenance")
    );
    assert_eq!(got.policy.preference, ["east", "west"]);
    assert_eq!(got.policy.cooldown, Some(Duration::from_secs(600)));
    assert!(got.policy.self_fencing);
    assert!(got.has_volume_replications);
}

#[test]
fn the_spec_defaults_satisfy_the_protocols_timing_rules() {
    // The schema's defaults come from store::model::defaults; if those ever broke the
    // 4 x interval rule, every FailoverGroup that relies on them would be refused.
    let got = spec().settings(group(), "ops", DateTime::<Utc>::UNIX_EPOCH);
    assert!(got.is_ok(), "{got:?}");
}

#[test]
fn the_spec_operator_id_wins_over_the_controllers() {
    let mut s = spec();
    s.operator_id = Some("team-a".into());
    let got = s
        .settings(group(), "ops", DateTime::<Utc>::UNIX_EPOCH)
        .unwrap();
    assert_eq!(got.operator_id, "team-a");
    assert_eq!(got.bootstrap.operator_id, "team-a");
}

#[test]
fn a_heartbeat_shorter_than_four_intervals_is_refused_naming_the_field_and_the_fix() {
    let mut s = spec();
    s.heartbeat_interval = "30s".into();
    s.timeouts.heartbeat = "1m".into();
    let text = refusal(&s);
    assert!(text.starts_with("FailoverGroup shop/web: "), "{text}");
    assert!(
        !text.contains("group shop/web"),
        "names the group twice: {text}"
    );
    assert!(text.contains("timeouts.heartbeat 1m"), "{text}");
    assert!(
        text.contains("raise timeouts.heartbeat to at least 2m"),
        "{text}"
    );
    assert!(
        text.contains("lower heartbeatInterval to at most 15s"),
        "{text}"
    );
}

#[test]
fn an_unparsable_duration_is_refused_with_its_field_path_value_and_an_example() {
    let mut s = spec();
    s.timeouts.unhealthy_primary = "5 minutes".into();
    let text = refusal(&s);
    assert!(
        text.starts_with("FailoverGroup shop/web: spec.timeouts.unhealthyPrimary \"5 minutes\""),
        "{text}"
    );
    assert!(text.contains("use a Go duration such as"), "{text}");

    let mut s = spec();
    s.failover_cooldown = Some("soon".into());
    assert!(refusal(&s).contains("spec.failoverCooldown \"soon\""));
}

#[test]
fn a_transitory_state_within_heartbeat_plus_deactivation_plus_two_intervals_is_refused() {
    let mut s = spec();
    // 1m + 1m (the default deactivation budget) + 2 x 15s = 2m30s: not longer.
    s.timeouts.transitory_state = "2m30s".into();
    let text = refusal(&s);
    assert!(text.contains("timeouts.transitoryState 2m30s"), "{text}");
    assert!(
        text.contains("raise timeouts.transitoryState above 2m30s"),
        "{text}"
    );
    assert!(text.contains("lower timeouts.deactivation"), "{text}");
    // Workloads that stop within 20s leave room for it.
    s.timeouts.deactivation = "20s".into();
    assert!(
        s.settings(group(), "ops", DateTime::<Utc>::UNIX_EPOCH)
            .is_ok()
    );
}

#[test]
fn a_cluster_name_unusable_as_a_table_key_is_refused() {
    let mut s = spec();
    s.initial_primary = "east#1".into();
    let text = refusal(&s);
    assert!(text.contains("spec.initialPrimary \"east#1\""), "{text}");
    assert!(text.contains("CLUSTER_NAME"), "{text}");

    let mut s = spec();
    s.cluster_preference = vec!["west".into(), "west".into()];
    let text = refusal(&s);
    assert!(
        text.contains("spec.clusterPreference[1] \"west\" is listed twice"),
        "{text}"
    );
}

#[test]
fn uptime_as_the_default_mode_of_a_group_with_volumes_is_refused() {
    let mut s = spec();
    s.default_failover_mode = FailoverMode::Uptime;
    let text = refusal(&s);
    assert!(
        text.contains("spec.defaultFailoverMode \"UPTIME\""),
        "{text}"
    );
    assert!(text.contains("use CONSISTENCY"), "{text}");

    s.workloads[0].volume_replications.clear();
    assert!(
        s.settings(group(), "ops", DateTime::<Utc>::UNIX_EPOCH)
            .is_ok()
    );
}

#[test]
fn a_group_that_lists_no_resource_is_refused() {
    let mut s = spec();
    s.workloads.clear();
    let text = refusal(&s);
    assert!(text.contains("list at least one resource"), "{text}");
}

#[test]
fn a_failover_group_without_a_namespace_is_refused_naming_it() {
    let fg = FailoverGroup::new("web", spec());
    let text = fg
        .settings("ops", DateTime::<Utc>::UNIX_EPOCH)
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("FailoverGroup /web: metadata: invalid namespace"),
        "{text}"
    );
}
