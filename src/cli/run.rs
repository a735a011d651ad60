//! `run`: the in-cluster controller. Checks its settings, the Kubernetes API and the DynamoDB
//! table (creating it when missing and allowed), serves `/healthz`, `/readyz` and `/metrics`,
//! and runs the controller until SIGTERM or SIGINT.

use crate::cli::kubeconfig::KubeArgs;
use crate::clock::SystemClock;
use crate::config::StoreArgs;
use crate::controller::http::serve;
use crate::controller::{
    Controller, ControllerDeps, ControllerError, ControllerSettings, LeaderSettings,
};
use crate::duration::GoDuration;
use crate::error::Error;
use crate::k8s::kube::{KubeCluster, KubeSettings};
use crate::store::StoreError;
use crate::store::dynamodb::DynamoStore;
use crate::store::dynamodb::client::build_client;
use crate::store::dynamodb::setup::{
    Billing, SetupError, TableSpec, check_table, ensure_table, error_context,
};
use clap::Args;
use clap::builder::BoolishValueParser;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

const EXAMPLES: &str = "\
Examples:
  # In a cluster: the Deployment in deploy/ sets every flag from its ConfigMap
  kubectl apply -k deploy/overlays/example-east

  # On a workstation against a kubeconfig context and a local DynamoDB-compatible server,
  # one replica (no leader election)
  CLUSTER_NAME=east AWS_ENDPOINT=http://127.0.0.1:8000 \\
    kubectl-failover run --context east --leader-elect=false --metrics-addr 127.0.0.1:8080

The controller exits 0 on SIGTERM (locks released, heartbeats stopped); docs/controller.md
lists every setting, metric and event.";

/// Flags of `run`; each can also be set through the environment variable named in its help.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXAMPLES)]
pub struct RunArgs {
    /// This cluster's name in the table (required), e.g. east.
    #[arg(long, env = "CLUSTER_NAME", value_name = "NAME")]
    pub cluster_name: Option<String>,

    /// Watch FailoverGroups and Failovers in this namespace only (unset or empty: every
    /// namespace).
    #[arg(long, env = "WATCH_NAMESPACE", value_name = "NAMESPACE")]
    pub watch_namespace: Option<String>,

    /// Address of the /healthz, /readyz and /metrics server.
    #[arg(
        long,
        env = "METRICS_ADDR",
        default_value = "0.0.0.0:8080",
        value_name = "HOST:PORT"
    )]
    pub metrics_addr: String,

    /// Elect one acting replica through a coordination.k8s.io Lease (false: this replica always
    /// acts; run only one).
    #[arg(
        long,
        env = "LEADER_ELECT",
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        value_parser = BoolishValueParser::new()
    )]
    pub leader_elect: bool,

    /// Name of the leader Lease.
    #[arg(long, env = "LEASE_NAME", default_value = "kubectl-failover-leader")]
    pub lease_name: String,

    /// How long the leader Lease lasts without renewal (the leader stops acting after 2/3 of it).
    #[arg(
        long,
        env = "LEASE_DURATION",
        default_value = "15s",
        value_name = "DURATION"
    )]
    pub lease_duration: GoDuration,

    /// This replica's identity in the Lease (default: the host name with a random suffix).
    #[arg(long, env = "POD_NAME")]
    pub pod_name: Option<String>,

    /// Namespace of the Lease (default: the namespace of the kubeconfig context or pod).
    #[arg(long, env = "POD_NAMESPACE")]
    pub pod_namespace: Option<String>,

    /// Create the DynamoDB table (on-demand billing) when it is missing; false only checks it.
    #[arg(
        long,
        env = "CREATE_TABLE",
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        value_parser = BoolishValueParser::new()
    )]
    pub create_table: bool,

    /// How often a Failover in progress is checked.
    #[arg(
        long,
        env = "FAILOVER_POLL",
        default_value = "2s",
        value_name = "DURATION"
    )]
    pub failover_poll: GoDuration,
}

/// Runs `run` until SIGTERM/SIGINT.
pub async fn run(store: &StoreArgs, kube: &KubeArgs, args: RunArgs) -> Result<(), Error> {
    let cluster_name = args
        .cluster_name
        .clone()
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| {
            Error::Usage(
                "CLUSTER_NAME is not set: set the CLUSTER_NAME environment variable (or --cluster-name) to this cluster's name in the table, e.g. CLUSTER_NAME=east".into(),
            )
        })?;
    let kube_settings = KubeSettings::from_env().map_err(|e| Error::Usage(e.to_string()))?;
    let (client, api_url) = kube_client(kube).await?;
    let leader_election = if args.leader_elect {
        // Two processes on one host share a host name: without POD_NAME each gets a random
        // suffix, so they never both believe they hold the Lease.
        let identity = args
            .pod_name
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                let host = std::env::var("HOSTNAME").unwrap_or_else(|_| cluster_name.clone());
                let suffix = uuid::Uuid::new_v4().simple().to_string();
                format!("{host}-{}", &suffix[..8])
            });
        let namespace = args
            .pod_namespace
            .clone()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| client.default_namespace().to_string());
        Some(LeaderSettings::with_duration(
            &identity,
            &namespace,
            &args.lease_name,
            args.lease_duration.get(),
        ))
    } else {
        None
    };
    let settings = ControllerSettings {
        cluster_name: cluster_name.clone(),
        operator_id: store.operator_id.clone(),
        namespace: args.watch_namespace.clone().filter(|n| !n.is_empty()),
        leader_election,
        failover_poll: args.failover_poll.get(),
        resync: Duration::from_secs(300),
    };

    let cluster = Arc::new(KubeCluster::new(
        client.clone(),
        &cluster_name,
        kube_settings,
    ));
    prepare_table(store, args.create_table).await?;
    let dynamo = Arc::new(DynamoStore::connect(store).await?);
    let controller = Controller::new(
        settings,
        ControllerDeps {
            client,
            cluster: cluster.clone(),
            resources: cluster,
            store: dynamo,
            clock: Arc::new(SystemClock::new()),
        },
    );
    controller.check_api().await.map_err(|e| match e {
        // The client's own message rarely says where it went: name the server tried.
        ControllerError::NoCluster { message } => ControllerError::NoCluster {
            message: format!("API server {api_url}: {message}"),
        },
        other => other,
    })?;

    let listener = tokio::net::TcpListener::bind(&args.metrics_addr)
        .await
        .map_err(|e| {
            Error::Usage(format!(
                "cannot listen on {} for /healthz, /readyz and /metrics: {e}; choose another address with --metrics-addr (METRICS_ADDR)",
                args.metrics_addr
            ))
        })?;
    tracing::info!(addr = %args.metrics_addr, "serving /healthz, /readyz and /metrics");
    let (shutdown_tx, shutdown) = watch::channel(false);
    let server = tokio::spawn(serve(listener, controller.health(), shutdown.clone()));
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: stopping agents and releasing locks");
        let _ = shutdown_tx.send(true);
    });
    let result = controller.run(shutdown).await;
    signals.abort();
    server.abort();
    result.map_err(Error::from)
}

/// The Kubernetes client from the global --kubeconfig/--context, KUBECONFIG, or the in-cluster
/// account.
async fn kube_client(args: &KubeArgs) -> Result<(kube::Client, String), Error> {
    let options = kube::config::KubeConfigOptions {
        context: args.context.clone(),
        ..Default::default()
    };
    let config = match &args.kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path).map_err(|e| {
                Error::Usage(format!(
                    "cannot read the kubeconfig {}: {e}",
                    path.display()
                ))
            })?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| no_cluster(e.to_string()))?
        }
        None if args.context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| no_cluster(e.to_string()))?,
        None => kube::Config::infer()
            .await
            .map_err(|e| no_cluster(e.to_string()))?,
    };
    let url = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(|e| no_cluster(e.to_string()))?;
    Ok((client, url))
}

fn no_cluster(message: String) -> Error {
    Error::from(ControllerError::NoCluster { message })
}

/// Creates the table when missing and allowed, else checks it; says what to run when it cannot.
async fn prepare_table(store: &StoreArgs, create: bool) -> Result<(), Error> {
    let client = build_client(store).await?;
    let ctx = error_context(store);
    let setup_hint = format!(
        "kubectl failover setup-dynamodb --table-name {} --region {}",
        store.table_name,
        store.region.trim()
    );
    let result = if create {
        let spec = TableSpec {
            billing: Billing::PayPerRequest,
            wait: Some(Duration::from_secs(300)),
        };
        ensure_table(&client, &ctx, &spec, &mut |p| tracing::info!("{p}")).await
    } else {
        check_table(&client, &ctx).await
    };
    match result {
        Ok(outcome) => {
            for warning in &outcome.warnings {
                tracing::warn!("{warning}");
            }
            tracing::info!("{}", outcome.summary());
            Ok(())
        }
        Err(SetupError::AccessDenied {
            operation, message, ..
        }) => {
            // Setting the table up is optional for an existing table: a role without CreateTable
            // or UpdateTimeToLive still runs against a table that is already right.
            if let Ok(outcome) = check_table(&client, &ctx).await {
                tracing::warn!(
                    "DynamoDB refused {operation} ({message}); the table exists, continuing: {}",
                    outcome.summary()
                );
                return Ok(());
            }
            Err(Error::Usage(format!(
                "DynamoDB table {:?} is missing or unusable and this controller may not set it up (DynamoDB refused {operation}: {message}); create it once with: {setup_hint}",
                store.table_name
            )))
        }
        Err(SetupError::Store(StoreError::TableNotFound { .. })) => Err(Error::Usage(format!(
            "DynamoDB table {:?} does not exist in region {} and table creation is off (--create-table=false); create it with: {setup_hint}",
            store.table_name,
            store.region.trim()
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Resolves on SIGTERM (Kubernetes stopping the pod) or SIGINT (Ctrl-C).
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); stopping on SIGINT only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(parse(&[]).metrics_addr, "0.0.0.0:8080");
        assert_eq!(parse(&[]).lease_duration.get(), Duration::from_secs(15));
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
}
