//! Tests of `run`'s flags and settings.

use super::*;
use crate::cli::{Cli, Command};
use clap::Parser;

fn parse(flags: &[&str]) -> RunArgs {
    let argv = ["kubectl-failover", "run"].iter().chain(flags);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Run(args) => *args,
        other => panic!("parsed as {other:?}"),
    }
}

#[test]
fn leader_election_is_on_by_default_and_can_be_switched_off_like_the_go_flag() {
    assert!(parse(&[]).leader_elect);
    assert!(!parse(&["--leader-elect=false"]).leader_elect);
    assert_eq!(
        parse(&[]).metrics_addr,
        "[::]:8080",
        "IPv6 and IPv4 by default"
    );
    assert_eq!(parse(&[]).lease_duration.get(), Duration::from_secs(15));
    assert_eq!(parse(&[]).liveness_budget, None);
    let budget = parse(&["--liveness-budget", "20s"]).liveness_budget;
    assert_eq!(budget.map(|b| b.get()), Some(Duration::from_secs(20)));
}

#[test]
fn the_store_budget_defaults_to_64_in_flight_and_no_ceiling_and_refuses_zero_in_flight() {
    let args = parse(&[]);
    assert_eq!(
        (args.store_max_in_flight, args.store_max_requests_per_second),
        (64, 0)
    );
    let args = parse(&[
        "--store-max-in-flight",
        "8",
        "--store-max-requests-per-second",
        "40",
    ]);
    let limits =
        StoreLimits::new(args.store_max_in_flight, args.store_max_requests_per_second).unwrap();
    assert_eq!(
        (limits.max_in_flight(), limits.max_per_second()),
        (8, Some(40))
    );
    let argv = ["kubectl-failover", "run", "--store-max-in-flight", "0"];
    let err = Cli::try_parse_from(argv).unwrap_err().to_string();
    assert!(err.contains("--store-max-in-flight"), "{err}");
    let argv = [
        "kubectl-failover",
        "run",
        "--store-max-requests-per-second",
        "ten",
    ];
    let err = Cli::try_parse_from(argv).unwrap_err().to_string();
    assert!(err.contains("--store-max-requests-per-second"), "{err}");
}

#[test]
fn the_cluster_actions_client_times_out_and_does_not_retry_for_minutes() {
    let config = actions_config(kube::Config::new(
        "https://k8s.example:6443".parse().unwrap(),
    ));
    assert_eq!(config.read_timeout, Some(ACTIONS_READ_TIMEOUT));
    assert!(
        config.reset_reader_on_write,
        "counted from the request, not from the pooled connection's idle time"
    );
    assert!(config.connect_timeout.is_some() && config.write_timeout.is_some());
    assert!(!config.default_retry);
}

#[tokio::test]
async fn a_missing_cluster_name_is_a_usage_error_naming_the_variable() {
    let mut args = parse(&[]);
    args.cluster_name = None;
    let err = run(&StoreArgs::defaults(), &KubeArgs::default(), args)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
    assert!(err.to_string().contains("CLUSTER_NAME"), "{err}");
}
