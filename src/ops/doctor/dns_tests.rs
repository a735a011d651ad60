use super::*;
use crate::ops::doctor::Status;
use serde_json::json;

fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn external_dns(args: &[&str]) -> ExternalDns {
    ExternalDns {
        namespace: "dns".into(),
        name: "external-dns".into(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

fn judge(args: &[&str]) -> Check {
    let checks = judge_external_dns(
        "east",
        &Ok(DnsAnnotations::default()),
        &Ok(vec![external_dns(args)]),
    );
    assert_eq!(checks.len(), 1);
    checks.into_iter().next().unwrap()
}

#[test]
fn every_selector_form_is_parsed_and_evaluated_like_a_label_selector() {
    let on = annotations(&[("kubectl-failover.io/dns", "enabled")]);
    let off = annotations(&[("kubectl-failover.io/dns", "disabled")]);
    let none = annotations(&[]);
    let cases = [
        ("kubectl-failover.io/dns in (enabled)", [true, false, false]),
        (
            "kubectl-failover.io/dns in (enabled, yes)",
            [true, false, false],
        ),
        ("kubectl-failover.io/dns=enabled", [true, false, false]),
        ("kubectl-failover.io/dns==enabled", [true, false, false]),
        ("kubectl-failover.io/dns!=disabled", [true, false, true]),
        (
            "kubectl-failover.io/dns notin (disabled)",
            [true, false, true],
        ),
        ("kubectl-failover.io/dns", [true, true, false]),
        ("!kubectl-failover.io/dns", [false, false, true]),
        (
            "kubectl-failover.io/dns,kubectl-failover.io/dns!=disabled",
            [true, false, false],
        ),
    ];
    for (filter, want) in cases {
        let s = parse_selector(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(
            [s.matches(&on), s.matches(&off), s.matches(&none)],
            want,
            "{filter}"
        );
    }
}

#[test]
fn quoted_or_malformed_filters_are_refused_with_the_reason() {
    let quoted = parse_selector("'kubectl-failover.io/dns in (enabled)'").unwrap_err();
    assert!(quoted.to_string().contains("quotes"), "{quoted}");
    assert!(parse_selector("a in enabled").is_err());
    assert!(parse_selector("a=b,").is_err());
}

#[test]
fn the_filter_is_found_in_either_spelling_and_the_last_one_wins() {
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        annotation_filter(&args(&["--source=ingress", "--annotation-filter=a=b"])),
        Some("a=b".into())
    );
    assert_eq!(
        annotation_filter(&args(&[
            "--annotation-filter",
            "a in (b)",
            "--annotation-filter=c"
        ])),
        Some("c".into())
    );
    assert_eq!(annotation_filter(&args(&["--source=ingress"])), None);
}

#[test]
fn the_recommended_filter_passes() {
    let c = judge(&[
        "--source=ingress",
        "--annotation-filter=kubectl-failover.io/dns in (enabled)",
    ]);
    assert_eq!(c.status, Status::Pass, "{c:?}");
}

#[test]
fn no_filter_fails_with_the_exact_argument_to_set() {
    let c = judge(&["--source=ingress"]);
    assert_eq!(c.status, Status::Fail);
    assert!(c.detail.contains("no --annotation-filter"), "{c:?}");
    let fix = c.fix.unwrap();
    assert!(
        fix.contains("--annotation-filter=kubectl-failover.io/dns in (enabled)")
            && fix.contains("--context east -n dns edit deployment external-dns"),
        "{fix}"
    );
}

#[test]
fn a_filter_on_another_key_or_one_that_selects_standbys_fails() {
    let c = judge(&["--annotation-filter=example.com/publish=true"]);
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.detail
            .contains("does not select kubectl-failover.io/dns=enabled"),
        "{c:?}"
    );
    let c = judge(&["--annotation-filter=kubectl-failover.io/dns"]);
    assert_eq!(c.status, Status::Fail);
    assert!(
        c.detail
            .contains("also selects kubectl-failover.io/dns=disabled"),
        "{c:?}"
    );
}

#[test]
fn without_external_dns_the_check_is_skipped_and_a_listing_error_warns() {
    let dns = Ok(DnsAnnotations::default());
    let skipped = judge_external_dns("west", &dns, &Ok(vec![]));
    assert_eq!(skipped[0].status, Status::Skipped);
    assert!(skipped[0].detail.contains("no external-dns"), "{skipped:?}");
    let warned = judge_external_dns("west", &dns, &Err("forbidden".into()));
    assert_eq!(warned[0].status, Status::Warn);
}

#[test]
fn external_dns_is_recognised_by_label_or_name_and_its_args_are_read() {
    let d: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "dns-public", "namespace": "dns", "labels": {"app.kubernetes.io/name": "external-dns"}},
        "spec": {"selector": {}, "template": {"spec": {"containers": [
            {"name": "c", "command": ["/external-dns"], "args": ["--annotation-filter=a=b"]}
        ]}}}
    }))
    .unwrap();
    assert!(is_external_dns(&d));
    let e = ExternalDns::from_deployment(&d);
    assert_eq!(e.args, ["/external-dns", "--annotation-filter=a=b"]);
    let mut other = d.clone();
    other.metadata.labels = None;
    assert!(!is_external_dns(&other));
    other.metadata.name = Some(EXTERNAL_DNS.into());
    assert!(is_external_dns(&other));
}
