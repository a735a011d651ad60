//! `watch`: the live terminal UI of groups, heartbeats, locks and history, with promote and
//! suspend/resume behind confirmation dialogs. Parsing and checking the flags is here;
//! `crate::tui` runs the UI.

use crate::cli::open_store;
use crate::cli::status::{DEFAULT_NAMESPACE, resolve_group};
use crate::clock::{Clock, SystemClock};
use crate::config::StoreArgs;
use crate::duration::GoDuration;
use crate::error::Error;
use crate::tui::app::AppConfig;
use crate::tui::feed::{DEFAULT_RELIST_EVERY, FeedConfig, Scope};
use crate::tui::{Setup, run_relisting};
use clap::Args;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

/// The shortest refresh interval: faster only costs reads (and money) without showing more.
pub const MIN_REFRESH: Duration = Duration::from_millis(200);

const EXAMPLES: &str = "\
Examples:
  # Every group in the default namespace, refreshed every 2s
  kubectl failover watch

  # One group, or all namespaces, refreshed every 5s
  kubectl failover watch shop/web
  kubectl failover watch -A --refresh 5s

  # Thousands of groups: reload the rows on screen every 2s, list them all every 2m
  kubectl failover watch -A --relist-every 2m

Keys: ? shows them all; q or Esc quits. Needs a terminal; for scripts use `status -o json`.";

/// Flags of `watch`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct WatchArgs {
    /// The group, as NAMESPACE/NAME (or NAME with -n). Without it: every group in the namespace.
    #[arg(value_name = "GROUP")]
    pub group: Option<String>,

    /// Namespace of the group(s) [default: default].
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,

    /// Every group of the operator, in every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Time between refreshes (at least 200ms). Each one reloads the groups on screen.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub refresh: GoDuration,

    /// Time between listings of every group, which show groups created or deleted since (at
    /// least --refresh; `r` lists at once). One listing of 10,000 groups is megabytes, so it is
    /// not repeated every refresh [default: 30s, or --refresh when longer].
    #[arg(long, value_name = "DURATION")]
    pub relist_every: Option<GoDuration>,
}

impl WatchArgs {
    /// Resolves GROUP, `-n` and `-A` into what to watch, refusing contradictions.
    pub fn scope(&self) -> Result<Scope, Error> {
        match (&self.group, self.all_namespaces) {
            (Some(group), true) => Err(Error::Usage(format!(
                "watch takes either a group or -A/--all-namespaces, not both; run `kubectl failover watch {group}` for one group or `kubectl failover watch -A` for all"
            ))),
            (Some(group), false) => {
                resolve_group(group, self.namespace.as_deref()).map(Scope::Group)
            }
            (None, true) => Ok(Scope::All),
            (None, false) => {
                let ns = self.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
                crate::store::validate_name("namespace", ns)
                    .map_err(|e| Error::Usage(e.to_string()))?;
                Ok(Scope::Namespace(ns.to_string()))
            }
        }
    }

    /// The refresh interval, checked.
    pub fn every(&self) -> Result<Duration, Error> {
        let every = self.refresh.get();
        if every < MIN_REFRESH {
            return Err(Error::Usage(format!(
                "--refresh {} is too short; use 200ms or more (each refresh reads every group on screen)",
                self.refresh
            )));
        }
        Ok(every)
    }

    /// The listing interval, checked against the refresh interval.
    pub fn relist_every(&self) -> Result<Duration, Error> {
        let every = self.refresh.get();
        match self.relist_every {
            None => Ok(DEFAULT_RELIST_EVERY.max(every)),
            Some(relist) if relist.get() < every => Err(Error::Usage(format!(
                "--relist-every {relist} is shorter than --refresh {}; the listing cannot be read more often than the groups on screen: set --relist-every to {} or more, or lower --refresh",
                self.refresh, self.refresh
            ))),
            Some(relist) => Ok(relist.get()),
        }
    }
}

/// What the title bar says is watched.
pub fn scope_label(scope: &Scope) -> String {
    match scope {
        Scope::Group(g) => g.to_string(),
        Scope::Namespace(ns) => format!("namespace {ns}"),
        Scope::All => "all namespaces".to_string(),
    }
}

/// Who promotions and suspensions from the UI are recorded as.
pub fn initiator() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown user".to_string());
    format!("{user} (kubectl failover watch)")
}

/// Runs `watch`.
pub async fn run(store_args: &StoreArgs, args: WatchArgs) -> Result<(), Error> {
    let scope = args.scope()?;
    let every = args.every()?;
    let relist_every = args.relist_every()?;
    if !std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "watch draws a terminal UI but stdout is not a terminal; run it in a terminal, or use `kubectl failover status -o json` in scripts".to_string(),
        ));
    }
    let store = open_store(store_args).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let title = format!(
        "failover watch · {} · operator {} · {}",
        scope_label(&scope),
        store_args.operator_id,
        store.describe()
    );
    let setup = Setup {
        feed: FeedConfig {
            store,
            clock,
            operator_id: store_args.operator_id.clone(),
            scope,
            every,
        },
        app: AppConfig {
            title,
            demo: false,
            initiator: initiator(),
        },
        demo: None,
    };
    run_relisting(setup, relist_every).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: WatchArgs,
    }

    fn parse(args: &[&str]) -> WatchArgs {
        Cli::parse_from(std::iter::once("watch").chain(args.iter().copied())).args
    }

    #[test]
    fn a_group_with_all_namespaces_is_refused_naming_both_ways_out() {
        let e = parse(&["shop/web", "-A"]).scope().unwrap_err().to_string();
        assert!(
            e.contains("watch shop/web") && e.contains("watch -A"),
            "{e}"
        );
    }

    #[test]
    fn without_arguments_the_default_namespace_is_watched() {
        assert_eq!(
            parse(&[]).scope().unwrap(),
            Scope::Namespace("default".into())
        );
        assert_eq!(
            parse(&["-n", "shop", "web"]).scope().unwrap().clone(),
            Scope::Group(crate::store::GroupId::new("shop", "web").unwrap())
        );
    }

    #[test]
    fn a_refresh_below_200ms_is_refused_and_2s_is_the_default() {
        assert_eq!(parse(&[]).every().unwrap(), Duration::from_secs(2));
        let e = parse(&["--refresh", "50ms"])
            .every()
            .unwrap_err()
            .to_string();
        assert!(e.contains("--refresh 50ms") && e.contains("200ms"), "{e}");
    }

    #[test]
    fn relist_every_defaults_to_30s_and_a_value_below_the_refresh_is_refused() {
        assert_eq!(parse(&[]).relist_every().unwrap(), Duration::from_secs(30));
        // An unset flag follows a slower refresh instead of failing on it.
        let slow = parse(&["--refresh", "1m"]);
        assert_eq!(slow.relist_every().unwrap(), Duration::from_secs(60));
        let ok = parse(&["--refresh", "5s", "--relist-every", "5s"]);
        assert_eq!(ok.relist_every().unwrap(), Duration::from_secs(5));
        let e = parse(&["--refresh", "5s", "--relist-every", "2s"])
            .relist_every()
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--relist-every 2s is shorter than --refresh 5s")
                && e.contains("set --relist-every to 5s or more"),
            "{e}"
        );
    }
}
