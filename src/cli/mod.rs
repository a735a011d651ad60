//! The command line: one file per subcommand. Each parses its flags, calls `ops` or the store,
//! and prints; nothing here decides anything about failover.

pub mod color;
pub mod completion;
pub mod demo;
pub mod discovery;
pub mod doctor;
pub mod drill;
pub mod history;
pub mod kubeconfig;
pub mod output;
pub mod progress;
pub mod promote;
pub mod run;
pub mod setup_dynamodb;
pub mod status;
pub mod suspend;
pub mod version;
pub mod watch;

use crate::config::StoreArgs;
use crate::error::Error;
use crate::store::CoordinationStore;
use crate::store::dynamodb::DynamoStore;
use clap::{Parser, Subcommand};
use std::sync::Arc;

/// Examples and exit codes under the top-level help.
const TOP_EXAMPLES: &str = "Examples:
  kubectl failover status -A                      # every group: owner, health, locks
  kubectl failover promote shop/web --to west     # plan, confirm, request a planned failover
  kubectl failover suspend shop/web --reason \"db migration\"
  kubectl failover history shop/web

Store settings not given by flag or environment are read from the operator's ConfigMap
(kubectl-failover-system/kubectl-failover-config) in the kubeconfig context; -v says where each
came from.

Exit codes: 0 ok, 1 internal error, 2 usage, 3 conflict or refused, 4 not found,
5 DynamoDB or cluster unavailable, 6 wait timed out.";

/// Examples under `history --help`.
const HISTORY_EXAMPLES: &str = "Examples:
  kubectl failover history shop/web
  kubectl failover history -n shop web --limit 5 -o wide
  kubectl failover history shop/web -o json";

/// Fail applications over between Kubernetes clusters, coordinated through DynamoDB.
#[derive(Debug, Parser)]
#[command(name = "kubectl-failover", bin_name = "kubectl failover", version, about, long_about = None, after_help = TOP_EXAMPLES)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Colour the output: auto (a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t = color::ColorChoice::Auto, global = true)]
    pub color: color::ColorChoice,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub kube: kubeconfig::KubeArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create (or check) the DynamoDB table the clusters coordinate through.
    SetupDynamodb(setup_dynamodb::SetupArgs),
    /// Check that clusters and table are ready to fail over: a checklist with fixes.
    Doctor(doctor::DoctorArgs),
    /// Show which cluster is primary for each group, every cluster's heartbeat, locks.
    Status(status::StatusArgs),
    /// Show a group's failovers, newest first.
    #[command(after_help = HISTORY_EXAMPLES)]
    History(history::HistoryArgs),
    /// Run simulated clusters with real agents and fail applications over between them.
    Demo(demo::DemoArgs),
    /// Run the controller in a cluster: agents for its FailoverGroups, Failover requests, status.
    Run(Box<run::RunArgs>),
    /// Watch groups, heartbeats, locks and history live in a terminal UI; promote and suspend.
    Watch(watch::WatchArgs),
    /// Move groups to another cluster (planned failover): plan, confirm, request, follow.
    Promote(promote::PromoteArgs),
    /// Rehearse a failover: there and back again, with a timed report and a verdict.
    Drill(drill::DrillArgs),
    /// Turn a group's automatic failover off (a person can still promote).
    Suspend(suspend::SuspendArgs),
    /// Turn a group's automatic failover back on.
    Resume(suspend::ResumeArgs),
    /// Print a shell completion script (bash, zsh, fish).
    Completion(completion::CompletionArgs),
    /// Print the plugin's version.
    Version(version::VersionArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Error> {
    let reads_table = matches!(
        cli.command,
        Command::Status(_)
            | Command::History(_)
            | Command::Promote(_)
            | Command::Drill(_)
            | Command::Suspend(_)
            | Command::Resume(_)
            | Command::Watch(_)
            | Command::Doctor(_)
    );
    // kubectl refuses a --context its kubeconfig does not have; so does the plugin, rather than
    // silently falling back to other settings than that context's.
    let uses_context = reads_table || matches!(cli.command, Command::Run(_));
    if uses_context
        && cli.kube.context.is_some()
        && let Err(e @ kubeconfig::KubeError::UnknownContext { .. }) = cli.kube.context()
    {
        return Err(Error::Usage(e.to_string()));
    }
    let store = if reads_table {
        store_from_context(&cli.store, &cli.kube).await
    } else {
        cli.store.clone()
    };
    match cli.command {
        Command::SetupDynamodb(args) => setup_dynamodb::run(&cli.store, args).await,
        Command::Doctor(args) => doctor::run(&store, &cli.kube, cli.color, args).await,
        Command::Status(args) => status::run(&store, &cli.kube, cli.color, args).await,
        Command::History(args) => history::run(&store, &cli.kube, args).await,
        Command::Demo(args) => demo::run(&cli.store, args).await,
        Command::Run(args) => run::run(&cli.store, &cli.kube, *args).await,
        Command::Watch(args) => watch::run(&store, args).await,
        Command::Promote(args) => promote::run(&store, &cli.kube, cli.color, args).await,
        Command::Drill(args) => drill::run(&store, &cli.kube, cli.color, args).await,
        Command::Suspend(args) => suspend::run_suspend(&store, &cli.kube, cli.color, args).await,
        Command::Resume(args) => suspend::run_resume(&store, &cli.kube, cli.color, args).await,
        Command::Completion(args) => completion::run(args),
        Command::Version(args) => version::run(args),
    }
}

/// The store settings with those not given by flag or environment read from the operator's
/// ConfigMap in the kubeconfig context (see [`discovery`]). The command line is matched again
/// only to learn which settings were given: parsing already succeeded on it.
pub async fn store_from_context(store: &StoreArgs, kube: &kubeconfig::KubeArgs) -> StoreArgs {
    use clap::CommandFactory;
    let given = match Cli::command().try_get_matches_from(std::env::args_os()) {
        Ok(matches) => discovery::Given::from_matches(&matches),
        // Cannot happen (the same argv parsed before); keep what was parsed as is.
        Err(_) => discovery::Given::all(),
    };
    discovery::resolve_store(store, &given, kube).await
}

/// Connects to the DynamoDB table the settings name.
pub async fn open_store(settings: &StoreArgs) -> Result<Arc<dyn CoordinationStore>, Error> {
    let store = DynamoStore::connect(settings).await?;
    Ok(Arc::new(store))
}
