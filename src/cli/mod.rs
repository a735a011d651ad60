//! The command line: one file per subcommand. Each parses its flags, calls `ops` or the store,
//! and prints; nothing here decides anything about failover.

pub mod demo;
pub mod history;
pub mod output;
pub mod run;
pub mod setup_dynamodb;
pub mod status;
pub mod watch;

use crate::config::StoreArgs;
use crate::error::Error;
use crate::store::CoordinationStore;
use crate::store::dynamodb::DynamoStore;
use clap::{Parser, Subcommand};
use std::sync::Arc;

/// Fail applications over between Kubernetes clusters, coordinated through DynamoDB.
#[derive(Debug, Parser)]
#[command(name = "kubectl-failover", bin_name = "kubectl failover", version, about, long_about = None)]
pub struct Cli {
    /// More logging on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create (or check) the DynamoDB table the clusters coordinate through.
    SetupDynamodb(setup_dynamodb::SetupArgs),
    /// Show which cluster is primary for each group, every cluster's heartbeat, locks.
    Status(status::StatusArgs),
    /// Show a group's failovers, newest first.
    History(history::HistoryArgs),
    /// Run simulated clusters with real agents and fail applications over between them.
    Demo(demo::DemoArgs),
    /// Run the controller in a cluster: agents for its FailoverGroups, Failover requests, status.
    Run(Box<run::RunArgs>),
    /// Watch groups, heartbeats, locks and history live in a terminal UI; promote and suspend.
    Watch(watch::WatchArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::SetupDynamodb(args) => setup_dynamodb::run(&cli.store, args).await,
        Command::Status(args) => status::run(&cli.store, args).await,
        Command::History(args) => history::run(&cli.store, args).await,
        Command::Demo(args) => demo::run(&cli.store, args).await,
        Command::Run(args) => run::run(&cli.store, *args).await,
        Command::Watch(args) => watch::run(&cli.store, args).await,
    }
}

/// Connects to the DynamoDB table the settings name.
pub async fn open_store(settings: &StoreArgs) -> Result<Arc<dyn CoordinationStore>, Error> {
    let store = DynamoStore::connect(settings).await?;
    Ok(Arc::new(store))
}
