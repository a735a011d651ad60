//! `demo`: simulated clusters with one real agent each, failing applications over between them
//! on a script of kills, partitions and promotions, shown live in the `watch` UI (in a terminal)
//! or printed as a timeline (`--headless`, or when stdout is not a terminal). Parsing and checking
//! the flags is here; `crate::demo` runs it.

use crate::config::StoreArgs;
use crate::demo::schedule::{Kill, Partition, Promote};
use crate::demo::{DemoSettings, Format, StoreKind, Verdict};
use crate::duration::GoDuration;
use crate::error::Error;
use crate::protocol::policy::MIN_HEARTBEAT_INTERVALS;
use clap::Args;
use std::io::{IsTerminal, Write};
use std::time::Duration;

const EXAMPLES: &str = "\
Examples:
  # The built-in tour in the live UI: a planned promotion, then an automatic failover after a
  # kill; keys x (kill/restart an agent) and c (cut it off from the store) inject your own faults
  kubectl failover demo

  # Kill the primary at 3s and watch the automatic failover, as JSON lines
  kubectl failover demo --headless -o json --kill cluster-1@3s --duration 15s

  # Cut cluster-1 off from the store for 10s (it fences itself), promote app-2 meanwhile
  kubectl failover demo --partition cluster-1@4s..14s --promote app-2:cluster-3@6s

  # Why self-fencing matters: without it a partitioned owner keeps serving (exit code 3)
  kubectl failover demo --partition cluster-1@4s..20s --no-self-fencing --duration 20s

  # The same against a DynamoDB table (created when missing) instead of the embedded store
  kubectl failover demo --store dynamodb --endpoint http://127.0.0.1:8000

Exit codes: 0 the run kept every invariant; 2 bad flags; 3 two clusters served a stateful group
at once (the overlap is printed); 5 the store could not be reached.";

/// Flags of `demo`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DemoArgs {
    /// Number of simulated clusters, named cluster-1..N (cluster-1 starts as the owner).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(2..=9))]
    pub clusters: u32,

    /// Number of groups: app-1 is stateful (a volume replication), the others stateless.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub groups: u32,

    /// How often every agent writes its heartbeat and decides (heartbeatInterval).
    #[arg(long, value_name = "DURATION", default_value = "1s")]
    pub heartbeat_interval: GoDuration,

    /// Observed silence after which an owner is presumed dead (timeouts.heartbeat); at least 4
    /// heartbeat intervals.
    #[arg(long, value_name = "DURATION", default_value = "5s")]
    pub heartbeat_timeout: GoDuration,

    /// Stop CLUSTER's agent at time T (its cluster keeps running); repeatable.
    #[arg(long = "kill", value_name = "CLUSTER@T")]
    pub kills: Vec<Kill>,

    /// Cut CLUSTER's agent off from the store from T1 until T2; repeatable.
    #[arg(long = "partition", value_name = "CLUSTER@T1..T2")]
    pub partitions: Vec<Partition>,

    /// Ask for a planned failover of GROUP (app-1 or NAMESPACE/app-1) to CLUSTER at T; repeatable.
    #[arg(long = "promote", value_name = "GROUP:CLUSTER@T")]
    pub promotes: Vec<Promote>,

    /// How long the headless demo runs (the live UI runs until you quit it).
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub duration: GoDuration,

    /// Switch self-fencing off for every group, to show why it exists: an owner cut off from
    /// the store keeps serving while another cluster takes over, and the run fails its check.
    #[arg(long)]
    pub no_self_fencing: bool,

    /// Print the timeline only (no terminal UI); for scripts and CI. Implied when stdout is not
    /// a terminal.
    #[arg(long)]
    pub headless: bool,

    /// Output format: a readable timeline, or one JSON object per line.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Text)]
    pub output: Format,

    /// Coordination store: the embedded in-memory one, or the DynamoDB table of --table-name,
    /// --endpoint and --region (created when missing; every run uses its own namespace).
    #[arg(long, value_enum, default_value_t = StoreKind::Memory)]
    pub store: StoreKind,
}

impl DemoArgs {
    /// Checks the flags against each other and turns them into the demo's settings.
    pub fn settings(&self) -> Result<DemoSettings, Error> {
        let interval = self.heartbeat_interval.get();
        let timeout = self.heartbeat_timeout.get();
        if interval.is_zero() {
            return Err(Error::Usage(
                "--heartbeat-interval must be positive, e.g. 1s".to_string(),
            ));
        }
        let min = interval.saturating_mul(MIN_HEARTBEAT_INTERVALS);
        if timeout < min {
            return Err(Error::Usage(format!(
                "--heartbeat-timeout {} is shorter than 4 x --heartbeat-interval ({}): the owner fences itself two intervals before others may take over and needs room for a heartbeat in between; use --heartbeat-timeout {} or more, or a shorter --heartbeat-interval",
                self.heartbeat_timeout,
                self.heartbeat_interval,
                GoDuration(min)
            )));
        }
        if self.duration.get() < Duration::from_secs(1) {
            return Err(Error::Usage(format!(
                "--duration {} is too short to show anything; use 1s or more",
                self.duration
            )));
        }
        let settings = DemoSettings {
            clusters: self.clusters,
            groups: self.groups,
            interval,
            heartbeat_timeout: timeout,
            kills: self.kills.clone(),
            partitions: self.partitions.clone(),
            promotes: self.promotes.clone(),
            duration: self.duration.get(),
            headless: self.headless,
            format: self.output,
            store: self.store,
            self_fencing: !self.no_self_fencing,
        };
        settings.check_script()?;
        Ok(settings)
    }
}

/// Runs `demo`.
pub async fn run(store_args: &StoreArgs, args: DemoArgs) -> Result<(), Error> {
    let mut settings = args.settings()?;
    if !settings.headless && !std::io::stdout().is_terminal() {
        // A UI drawn into a pipe or a file would be noise, and waiting for keys there would
        // hang a script: print the timeline instead, and say why.
        eprintln!(
            "kubectl failover demo: stdout is not a terminal, so the demo runs headless (the timeline below); run it in a terminal for the live UI, or pass --headless to silence this note"
        );
        settings.headless = true;
    }
    let report = if settings.headless {
        crate::demo::run(store_args, &settings).await?
    } else {
        crate::demo::interactive::run(store_args, &settings).await?
    };
    if let Verdict::Overlap(text) = &report.verdict {
        // The demo checks itself: two clusters serving a stateful group at once is the one
        // thing the protocol promises never happens, so the run fails (exit code 3).
        std::io::stdout().lock().flush()?;
        return Err(Error::Invariant(text.clone()));
    }
    Ok(())
}
