//! `run`: the in-cluster controller. Checks its settings, binds `/healthz`, `/readyz` and
//! `/metrics` before anything slow, checks the Kubernetes API, waits for the DynamoDB table
//! (creating it when missing and allowed; store errors are retried inside the process), and
//! runs the controller until SIGTERM or SIGINT.

use crate::cli::kubeconfig::KubeArgs;
use crate::clock::SystemClock;
use crate::config::StoreArgs;
use crate::controller::http::{Startup, bind, serve_starting};
use crate::controller::startup::run_when_table_allows;
use crate::controller::status_patch::STATUS_WRITES_IN_FLIGHT;
use crate::controller::{
    Controller, ControllerDeps, ControllerError, ControllerSettings, LeaderSettings,
};
use crate::duration::GoDuration;
use crate::error::Error;
use crate::k8s::kube::{KubeCluster, KubeSettings};
use crate::store::budget::{DEFAULT_MAX_IN_FLIGHT, StoreLimits};
use crate::store::dynamodb::DynamoStore;
use clap::Args;
use clap::builder::BoolishValueParser;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Default of `--kube-max-in-flight`.
pub const DEFAULT_KUBE_MAX_IN_FLIGHT: u32 = 64;

/// The Kubernetes client of the cluster actions waits this long for an answer: an API server
/// that stops answering must not hold an agent's tick (kube's default waits forever).
pub const ACTIONS_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// ... and this long for a connection or for sending a request.
pub const ACTIONS_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

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

    /// Kubernetes API requests of the cluster actions (health reads, scaling, traffic,
    /// volumes) in flight at once, across all groups; the others wait their turn.
    #[arg(
        long,
        env = "KUBE_MAX_IN_FLIGHT",
        default_value_t = DEFAULT_KUBE_MAX_IN_FLIGHT,
        value_parser = clap::value_parser!(u32).range(1..),
        value_name = "N"
    )]
    pub kube_max_in_flight: u32,

    /// Address of the /healthz, /readyz and /metrics server ([::] takes IPv4 and IPv6).
    #[arg(
        long,
        env = "METRICS_ADDR",
        default_value = "[::]:8080",
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

    /// The liveness probe budget: from /healthz failing until the restarted process heartbeats
    /// again (periodSeconds x failureThreshold + timeoutSeconds + termination grace + restart
    /// and start-up). Each group whose timings it cannot honour is reported; unset: not checked.
    #[arg(long, env = "LIVENESS_BUDGET", value_name = "DURATION")]
    pub liveness_budget: Option<GoDuration>,

    /// DynamoDB calls this replica has in flight at most (all groups together); more wait
    /// their turn, first come first served.
    #[arg(
        long,
        env = "STORE_MAX_IN_FLIGHT",
        value_name = "N",
        default_value_t = DEFAULT_MAX_IN_FLIGHT,
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub store_max_in_flight: u32,

    /// DynamoDB requests this replica starts per second at most, in bursts of as many
    /// (0: no ceiling). Size it to about groups x 2 / heartbeat interval, with headroom.
    #[arg(
        long,
        env = "STORE_MAX_REQUESTS_PER_SECOND",
        value_name = "N",
        default_value_t = 0
    )]
    pub store_max_requests_per_second: u32,

    /// A YAML or JSON file listing the notification webhooks (mount it from a Secret: the URLs
    /// are credentials); see docs/user-guide.md, "Notifications". Unset, or a file that does
    /// not exist: no notifications. A malformed file stops the controller at start-up.
    #[arg(long, env = "NOTIFY_CONFIG", value_name = "FILE")]
    pub notify_config: Option<std::path::PathBuf>,
}

/// Runs `run` until SIGTERM/SIGINT.
pub async fn run(store: &StoreArgs, kube: &KubeArgs, args: RunArgs) -> Result<(), Error> {
    // Settings first: a wrong one exits at once with its message, before anything is bound.
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
    let store_limits =
        StoreLimits::new(args.store_max_in_flight, args.store_max_requests_per_second)
            .map_err(|e| Error::Usage(e.to_string()))?;
    let notifier = crate::notify::from_file(args.notify_config.as_deref())
        .map_err(|e| Error::Usage(e.to_string()))?;
    let dynamo = Arc::new(DynamoStore::connect(store).await?);

    // Then the health server, so probes are answered during everything slow below.
    let listeners = bind(&args.metrics_addr).await.map_err(|e| {
        Error::Usage(format!(
            "cannot listen on {} for /healthz, /readyz and /metrics: {e}; choose another address with --metrics-addr (METRICS_ADDR)",
            args.metrics_addr
        ))
    })?;
    tracing::info!(addr = %args.metrics_addr, "serving /healthz, /readyz and /metrics");
    let (shutdown_tx, mut shutdown) = watch::channel(false);
    let startup = Startup::new();
    let servers: Vec<_> = listeners
        .into_iter()
        .map(|l| tokio::spawn(serve_starting(l, startup.clone(), shutdown.clone())))
        .collect();
    let signals = tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: stopping agents and releasing locks");
        let _ = shutdown_tx.send(true);
    });
    let checked = Checked {
        cluster_name,
        kube_settings,
        store_limits,
        dynamo,
        notifier,
    };
    let result = start_and_run(store, kube, args, checked, &startup, &mut shutdown).await;
    signals.abort();
    for server in servers {
        server.abort();
    }
    result
}

/// The settings checked before the health server is bound.
struct Checked {
    cluster_name: String,
    kube_settings: KubeSettings,
    store_limits: StoreLimits,
    dynamo: Arc<DynamoStore>,
    notifier: Option<Arc<crate::notify::Notifier>>,
}

/// Everything after the health server is up: the API check, the table, the controller.
async fn start_and_run(
    store: &StoreArgs,
    kube: &KubeArgs,
    args: RunArgs,
    checked: Checked,
    startup: &Startup,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), Error> {
    let Checked {
        cluster_name,
        kube_settings,
        store_limits,
        dynamo,
        notifier,
    } = checked;
    startup.set_phase("checking the Kubernetes API");
    let (config, api_url) = kube_config(kube).await?;
    // Watches keep kube's defaults (a long poll must not time out); the cluster actions get a
    // read timeout and no retry loop of their own: an agent tries again every tick anyway.
    let client = kube::Client::try_from(config.clone()).map_err(|e| no_cluster(e.to_string()))?;
    // Every group task calls the API server each tick: without a bound, thousands of groups
    // open a connection each (1,000 to 1,800 at 1,000 groups, about 150 MiB of buffers; see
    // docs/benchmarks.md) and swamp the API server. The cluster actions and the status writes
    // get budgets of their own, so that status writes never queue a fence's calls.
    let actions_client = limited_client(actions_config(config.clone()), args.kube_max_in_flight)?;
    let status_client = limited_client(config, STATUS_WRITES_IN_FLIGHT as u32)?;
    let leader_election = args.leader_elect.then(|| {
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
        LeaderSettings::with_duration(
            &identity,
            &namespace,
            &args.lease_name,
            args.lease_duration.get(),
        )
    });
    let settings = ControllerSettings {
        cluster_name: cluster_name.clone(),
        operator_id: store.operator_id.clone(),
        namespace: args.watch_namespace.clone().filter(|n| !n.is_empty()),
        leader_election,
        failover_poll: args.failover_poll.get(),
    };
    let cluster = Arc::new(KubeCluster::new(
        actions_client,
        &cluster_name,
        kube_settings,
    ));
    let controller = Controller::new(
        settings,
        ControllerDeps {
            client,
            cluster: cluster.clone(),
            resources: cluster,
            store: dynamo,
            clock: Arc::new(SystemClock::new()),
        },
    )
    .with_liveness_budget(args.liveness_budget.map(|b| b.get()))
    .with_notifier(notifier)
    .with_status_client(status_client)
    .with_store_limits(store_limits);
    controller.check_api().await.map_err(|e| match e {
        // The client's own message rarely says where it went: name the server tried.
        ControllerError::NoCluster { message } => ControllerError::NoCluster {
            message: format!("API server {api_url}: {message}"),
        },
        other => other,
    })?;
    let run_shutdown = shutdown.clone();
    run_when_table_allows(store, args.create_table, startup, shutdown, move || {
        startup.started(controller.health());
        async move { controller.run(run_shutdown).await.map_err(Error::from) }
    })
    .await
}

/// A client that keeps at most `max` requests in flight (the others wait their turn; a watch
/// holds its place only until its response starts).
fn limited_client(config: kube::Config, max: u32) -> Result<kube::Client, Error> {
    let limit = tower::limit::GlobalConcurrencyLimitLayer::new(max as usize);
    Ok(kube::client::ClientBuilder::try_from(config)
        .map_err(|e| no_cluster(e.to_string()))?
        .with_layer(&limit)
        .build())
}

/// The configuration of the cluster actions' client: answers within [`ACTIONS_READ_TIMEOUT`]
/// of each request (counted from the request, not from when its pooled connection went idle),
/// and no retries inside the client (kube's default retries 429/503/504 for minutes).
pub fn actions_config(mut config: kube::Config) -> kube::Config {
    config.read_timeout = Some(ACTIONS_READ_TIMEOUT);
    config.reset_reader_on_write = true;
    config.write_timeout = Some(ACTIONS_READ_TIMEOUT);
    config.connect_timeout = Some(ACTIONS_CONNECT_TIMEOUT);
    config.default_retry = false;
    config
}

/// The Kubernetes configuration from the global --kubeconfig/--context, KUBECONFIG, or the
/// in-cluster account, and the API server's URL (for messages).
async fn kube_config(args: &KubeArgs) -> Result<(kube::Config, String), Error> {
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
    Ok((config, url))
}

fn no_cluster(message: String) -> Error {
    Error::from(ControllerError::NoCluster { message })
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
#[path = "run_tests.rs"]
mod tests;
