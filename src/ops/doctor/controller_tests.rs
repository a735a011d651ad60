//! Tests of `controller` (Deployment, Lease, environment) and `settings` (across clusters).

use super::Status;
use super::controller::*;
use super::settings::*;
use crate::config::StoreArgs;
use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn deployment(replicas: i32, ready: i32) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": DEFAULT_NAME, "namespace": DEFAULT_NAMESPACE},
        "spec": {"replicas": replicas, "selector": {}, "template": {"spec": {"containers": [{
            "name": "controller", "args": ["run"],
            "envFrom": [
                {"configMapRef": {"name": "kubectl-failover-config"}},
                {"secretRef": {"name": "aws-credentials", "optional": true}},
                {"configMapRef": {"name": "extra", "optional": true}, "prefix": "X_"}
            ],
            "env": [
                {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "LIVENESS_BUDGET", "value": "20s"},
                {"name": "OPERATOR_ID", "valueFrom": {"configMapKeyRef": {"name": "ops", "key": "op"}}}
            ]
        }]}}},
        "status": {"readyReplicas": ready}
    }))
    .unwrap()
}

fn data(pairs: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn lease(holder: Option<&str>, renewed: &str) -> Lease {
    serde_json::from_value(json!({
        "metadata": {"name": DEFAULT_LEASE_NAME, "namespace": DEFAULT_NAMESPACE},
        "spec": {"holderIdentity": holder, "renewTime": renewed, "leaseDurationSeconds": 15}
    }))
    .unwrap()
}

const WHERE: (&str, &str) = (DEFAULT_NAMESPACE, DEFAULT_NAME);

#[test]
fn a_deployment_with_every_replica_ready_passes_fewer_warn_none_fails() {
    let judge = |d: &Deployment| {
        judge_deployment(
            "east",
            WHERE,
            &Ok(Some(DeploymentFacts::from_deployment(d))),
        )
    };
    assert_eq!(judge(&deployment(2, 2)).status, Status::Pass);
    assert_eq!(judge(&deployment(2, 1)).status, Status::Warn);
    let none = judge(&deployment(2, 0));
    assert_eq!(none.status, Status::Fail);
    assert!(none.detail.contains("0 of 2 replicas ready"), "{none:?}");
    assert!(
        none.fix
            .unwrap()
            .contains("logs deployment/kubectl-failover")
    );
    let missing = judge_deployment("east", WHERE, &Ok(None));
    assert_eq!(missing.status, Status::Fail);
    assert!(
        missing
            .detail
            .contains("no Deployment kubectl-failover-system/kubectl-failover")
    );
    assert!(missing.fix.unwrap().contains("--controller-namespace"));
    let refused = judge_deployment("east", WHERE, &Err("403 forbidden".into()));
    assert_eq!(refused.status, Status::Fail);
}

#[test]
fn a_lease_renewed_within_its_duration_passes_and_a_stale_or_empty_one_fails() {
    let now = at("2026-03-01T12:00:20Z");
    let judge = |l: &Lease| {
        let facts = Ok(Some(LeaseFacts::from_lease(l)));
        judge_lease("east", true, WHERE, &facts, now)
    };
    let fresh = judge(&lease(Some("pod-a"), "2026-03-01T12:00:10.000000Z"));
    assert_eq!(fresh.status, Status::Pass, "{fresh:?}");
    assert!(
        fresh.detail.contains("pod-a leads (renewed 10s ago"),
        "{fresh:?}"
    );
    let stale = judge(&lease(Some("pod-a"), "2026-03-01T11:59:00.000000Z"));
    assert_eq!(stale.status, Status::Fail);
    assert!(
        stale.detail.contains("last renewed it 80s ago"),
        "{stale:?}"
    );
    let empty = judge(&lease(None, "2026-03-01T12:00:10.000000Z"));
    assert_eq!(empty.status, Status::Fail);
    assert!(empty.detail.contains("has no holder"), "{empty:?}");
    let missing = judge_lease("east", true, WHERE, &Ok(None), now);
    assert!(
        missing.detail.contains("no replica has campaigned"),
        "{missing:?}"
    );
    let off = judge_lease("east", false, WHERE, &Ok(None), now);
    assert_eq!(off.status, Status::Skipped);
}

#[test]
fn the_environment_is_resolved_like_the_kubelet_does_without_reading_secrets() {
    let d = deployment(2, 2);
    assert_eq!(
        configmap_names(Some(&d)),
        ["extra", "kubectl-failover-config", "ops"]
    );
    assert_eq!(configmap_names(None), [DEFAULT_CONFIGMAP]);
    let maps = BTreeMap::from([
        (
            "kubectl-failover-config".to_string(),
            data(&[("CLUSTER_NAME", "east"), ("OPERATOR_ID", "from-cm")]),
        ),
        ("extra".to_string(), None),
        ("ops".to_string(), data(&[("op", "from-key")])),
    ]);
    let env = controller_env(Some(&d), &maps);
    assert_eq!(env.vars["CLUSTER_NAME"], "east");
    // `env` wins over `envFrom`.
    assert_eq!(env.vars["OPERATOR_ID"], "from-key");
    assert_eq!(env.vars["POD_NAMESPACE"], DEFAULT_NAMESPACE);
    assert_eq!(env.vars["LIVENESS_BUDGET"], "20s");
    assert!(!env.vars.contains_key("POD_NAME"));
    assert!(env.problems.is_empty(), "{:?}", env.problems);
    let missing = controller_env(Some(&d), &BTreeMap::new());
    assert!(missing.problems[0].contains("kubectl-failover-config (envFrom) does not exist"));
    let fallback = BTreeMap::from([(DEFAULT_CONFIGMAP.to_string(), data(&[("A", "1")]))]);
    assert_eq!(controller_env(None, &fallback).vars["A"], "1");
}

fn settings(context: &str, pairs: &[(&str, &str)]) -> ClusterSettings {
    let env = ControllerEnv {
        vars: data(pairs).unwrap(),
        problems: vec![],
    };
    ClusterSettings::from_env(context, WHERE, DEFAULT_CONFIGMAP, &env)
}

#[test]
fn settings_take_run_s_defaults_and_report_values_run_would_refuse() {
    let s = settings("east", &[("CLUSTER_NAME", "east"), ("AWS_ENDPOINT", "")]);
    assert_eq!(s.cluster_name.as_deref(), Some("east"));
    assert_eq!(
        (s.table.as_str(), s.region.as_str()),
        ("failover-operator", "us-west-2")
    );
    assert_eq!(s.endpoint, None);
    assert!(s.leader_elect);
    assert_eq!(s.lease_name, DEFAULT_LEASE_NAME);
    assert_eq!(s.lease_namespace, DEFAULT_NAMESPACE);
    assert_eq!(s.lease_duration, Duration::from_secs(15));
    assert!(s.dns.is_ok() && s.problems.is_empty());
    let bad = settings(
        "east",
        &[
            ("LEASE_DURATION", "soon"),
            ("LEADER_ELECT", "false"),
            ("DNS_ANNOTATION_ON", ""),
        ],
    );
    assert!(!bad.leader_elect);
    assert!(
        bad.problems[0].starts_with("LEASE_DURATION"),
        "{:?}",
        bad.problems
    );
    let checks = judge_settings(&[bad], &StoreArgs::defaults());
    assert_eq!(checks[0].status, Status::Fail, "{checks:?}");
    assert!(checks[0].detail.contains("DNS_ANNOTATION_ON"), "{checks:?}");
}

#[test]
fn distinct_cluster_names_and_one_table_pass() {
    let all = [
        settings("east", &[("CLUSTER_NAME", "east")]),
        settings("west", &[("CLUSTER_NAME", "west")]),
    ];
    let checks = judge_settings(&all, &StoreArgs::defaults());
    assert!(
        checks.iter().all(|c| c.status == Status::Pass),
        "{checks:?}"
    );
    assert_eq!(checks.len(), 4);
}

#[test]
fn two_clusters_with_one_cluster_name_fail_naming_both_contexts() {
    let all = [
        settings("east", &[("CLUSTER_NAME", "east")]),
        settings("west", &[("CLUSTER_NAME", "east")]),
    ];
    let checks = judge_settings(&all, &StoreArgs::defaults());
    let c = checks
        .iter()
        .find(|c| c.name == "CLUSTER_NAME distinct")
        .unwrap();
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.detail
            .contains("east and west all have CLUSTER_NAME=east"),
        "{c:?}"
    );
    assert!(c.fix.as_ref().unwrap().contains("--context west"), "{c:?}");
    let unset = [settings("east", &[])];
    let c = &judge_settings(&unset, &StoreArgs::defaults())[1];
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.detail.contains("CLUSTER_NAME is not set in east"),
        "{c:?}"
    );
}

#[test]
fn different_tables_fail_and_a_doctor_on_another_table_warns() {
    let all = [
        settings(
            "east",
            &[("CLUSTER_NAME", "east"), ("DYNAMODB_TABLE_NAME", "a")],
        ),
        settings(
            "west",
            &[("CLUSTER_NAME", "west"), ("DYNAMODB_TABLE_NAME", "b")],
        ),
    ];
    let checks = judge_settings(&all, &StoreArgs::defaults());
    let c = checks.last().unwrap();
    assert_eq!(c.status, Status::Fail, "{c:?}");
    assert!(c.detail.contains("east: table \"a\"") && c.detail.contains("west: table \"b\""));
    let same = [settings(
        "east",
        &[("CLUSTER_NAME", "east"), ("DYNAMODB_TABLE_NAME", "a")],
    )];
    let c = judge_settings(&same, &StoreArgs::defaults()).pop().unwrap();
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(c.fix.unwrap().contains("--table-name a"));
}
