//! `setup-dynamodb`: create (or check) the DynamoDB table the clusters coordinate through, with
//! the flags of the original setup tool. Progress goes to stderr, the result line to stdout.

use crate::config::StoreArgs;
use crate::duration::GoDuration;
use crate::error::Error;
use crate::store::dynamodb::client::build_client;
use crate::store::dynamodb::setup::{
    Billing, DEFAULT_CAPACITY, SetupProgress, TableSpec, check_table, ensure_table, error_context,
};
use clap::Args;
use clap::builder::BoolishValueParser;
use std::io::{IsTerminal, Write};

const EXAMPLES: &str = "\
Examples:
  # Create the table (on-demand billing) in us-west-2, or check that it is right
  kubectl failover setup-dynamodb

  # A custom table name and region
  kubectl failover setup-dynamodb --table-name=my-failover-table --region=eu-west-1

  # Provisioned capacity instead of pay-per-request (applies to the table and to GSI1)
  kubectl failover setup-dynamodb --pay-per-request=false --read-capacity=10 --write-capacity=10

  # Only check an existing table; change nothing
  kubectl failover setup-dynamodb --check

  # Against a local DynamoDB-compatible server
  kubectl failover setup-dynamodb --endpoint=http://127.0.0.1:8000

  # What 1000 groups of 3 clusters cost a month, and the capacity to provision (no AWS call)
  kubectl failover setup-dynamodb --estimate 1000 3";

/// Flags of `setup-dynamodb`. The table name, region and endpoint are the global
/// --table-name, --region and --endpoint.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct SetupArgs {
    /// Bill the table on demand (PAY_PER_REQUEST); --pay-per-request=false provisions
    /// capacity instead (see --read-capacity, --write-capacity).
    #[arg(
        long,
        value_name = "BOOL",
        default_value_t = true,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        value_parser = BoolishValueParser::new()
    )]
    pub pay_per_request: bool,

    /// Read capacity units of the table and of GSI1, with --pay-per-request=false [default: 5].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub read_capacity: Option<i64>,

    /// Write capacity units of the table and of GSI1, with --pay-per-request=false [default: 5].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    pub write_capacity: Option<i64>,

    /// Return once DynamoDB accepts the new table, without waiting for it to become ACTIVE
    /// (TTL is then enabled by the next run).
    #[arg(long)]
    pub no_wait: bool,

    /// How long to wait for the table and GSI1 to become ACTIVE (e.g. 90s, 10m).
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: GoDuration,

    /// Only check the existing table (schema, state, TTL, replicas); create or change nothing.
    #[arg(long, conflicts_with_all = ["read_capacity", "write_capacity", "no_wait"])]
    pub check: bool,

    /// Print the steady-state cost of GROUPS failover groups of CLUSTERS clusters each (request
    /// units, on-demand dollars, provisioned capacity to set) and exit; calls no AWS API.
    #[arg(long, num_args = 2, value_names = ["GROUPS", "CLUSTERS"], value_parser = clap::value_parser!(u64).range(1..), conflicts_with_all = ["check", "read_capacity", "write_capacity", "no_wait"])]
    pub estimate: Option<Vec<u64>>,

    /// The heartbeat interval the estimate assumes (heartbeatInterval of the groups).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "15s",
        requires = "estimate"
    )]
    pub heartbeat_interval: GoDuration,
}

impl SetupArgs {
    /// What to create, or a usage error for contradictory flags.
    pub fn table_spec(&self) -> Result<TableSpec, Error> {
        let billing = if self.pay_per_request {
            if self.read_capacity.is_some() || self.write_capacity.is_some() {
                return Err(Error::Usage(
                    "--read-capacity and --write-capacity set provisioned capacity, but --pay-per-request is true (the default); add --pay-per-request=false to provision capacity, or drop them for on-demand billing".into(),
                ));
            }
            Billing::PayPerRequest
        } else {
            Billing::Provisioned {
                read: self.read_capacity.unwrap_or(DEFAULT_CAPACITY),
                write: self.write_capacity.unwrap_or(DEFAULT_CAPACITY),
            }
        };
        Ok(TableSpec {
            billing,
            wait: (!self.no_wait).then_some(self.timeout.get()),
        })
    }
}

/// DynamoDB's rule for table names, checked here so a typo is a usage error, not a rejected call.
fn check_table_name(name: &str) -> Result<(), Error> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if (3..=255).contains(&name.len()) && valid_chars {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "invalid table name {name:?}: DynamoDB table names are 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'"
        )))
    }
}

/// The text of `--estimate`.
pub fn estimate_text(groups: u64, clusters: u64, interval: std::time::Duration) -> String {
    use crate::ops::cost::{
        Estimate, USD_PER_MILLION_READS, USD_PER_MILLION_WRITES, USD_PER_RCU_HOUR, USD_PER_WCU_HOUR,
    };
    let e = Estimate::new(groups, clusters, interval);
    let (writes, reads) = e.units_per_month();
    let (rcu, wcu) = e.provisioned();
    format!(
        "Steady-state cost of {groups} groups x {clusters} clusters, heartbeat every {} (docs/cost.md):
  per heartbeat: a {} B CLUSTER# item = {} write units with its GSI1 copy; per group read: CONFIG {} B + {clusters} records = {} read unit(s), strongly consistent
  rate:          {:.1} write units/s, {:.1} read units/s
  on demand:     {:.0} million write units + {:.0} million read units a month = ${:.2} a month (${USD_PER_MILLION_WRITES}/${USD_PER_MILLION_READS} per million, us-east-1)
  provisioned:   --pay-per-request=false --read-capacity={rcu} --write-capacity={wcu} (table and GSI1 each, {:.0}% headroom) = ${:.2} a month (${USD_PER_RCU_HOUR}/${USD_PER_WCU_HOUR} per RCU/WCU-hour, us-east-1)
  not included:  storage (a few KB per group), history records (one per failover), the CLI and watch (GSI1 listings), other regions' prices",
        GoDuration(interval),
        e.heartbeat_bytes,
        e.units_per_heartbeat,
        e.config_bytes,
        e.units_per_read,
        e.writes_per_second,
        e.reads_per_second,
        writes / 1e6,
        reads / 1e6,
        e.on_demand_usd(),
        (crate::ops::cost::HEADROOM - 1.0) * 100.0,
        e.provisioned_usd(),
    )
}

/// Runs `setup-dynamodb`.
pub async fn run(store: &StoreArgs, args: SetupArgs) -> Result<(), Error> {
    if let Some([groups, clusters]) = args.estimate.as_deref() {
        let text = estimate_text(*groups, *clusters, args.heartbeat_interval.get());
        writeln!(std::io::stdout(), "{text}")?;
        return Ok(());
    }
    let spec = args.table_spec()?;
    check_table_name(&store.table_name)?;
    let client = build_client(store).await?;
    let ctx = error_context(store);
    let mut printer = Progress::new(std::io::stderr().is_terminal());
    let result = if args.check {
        check_table(&client, &ctx).await
    } else {
        ensure_table(&client, &ctx, &spec, &mut |p| printer.show(p)).await
    };
    printer.end_line();
    let outcome = result?;
    for warning in &outcome.warnings {
        printer.line(&format!("warning: {warning}"));
    }
    writeln!(std::io::stdout(), "{}", outcome.summary())?;
    Ok(())
}

/// Progress on stderr: a line rewritten in place on a terminal, one plain line per step
/// otherwise (so logs of a pipeline are not flooded with poll lines).
struct Progress {
    tty: bool,
    /// A `\r`-rewritten line is on screen and needs a newline before anything else.
    open: bool,
    /// The non-terminal "waiting" line was printed.
    announced: bool,
}

impl Progress {
    fn new(tty: bool) -> Self {
        Progress {
            tty,
            open: false,
            announced: false,
        }
    }

    fn show(&mut self, event: SetupProgress) {
        match event {
            SetupProgress::Waiting { .. } if self.tty => {
                // Progress is best effort: a closed stderr must not fail the setup.
                let _ = write!(std::io::stderr(), "\r\x1b[2K{event}");
                self.open = true;
            }
            SetupProgress::Waiting { table, .. } => {
                if !self.announced {
                    self.announced = true;
                    self.line(&format!("waiting for table {table:?} to become ACTIVE"));
                }
            }
            other => self.line(&other.to_string()),
        }
    }

    fn line(&mut self, text: &str) {
        self.end_line();
        let _ = writeln!(std::io::stderr(), "{text}");
    }

    fn end_line(&mut self) {
        if self.open {
            self.open = false;
            let _ = writeln!(std::io::stderr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(flags: &[&str]) -> Result<SetupArgs, clap::Error> {
        let argv = ["kubectl-failover", "setup-dynamodb"].iter().chain(flags);
        match Cli::try_parse_from(argv)?.command {
            Command::SetupDynamodb(args) => Ok(args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn pay_per_request_accepts_the_go_flag_spellings() {
        assert!(parse(&[]).unwrap().pay_per_request);
        assert!(parse(&["--pay-per-request"]).unwrap().pay_per_request);
        assert!(!parse(&["--pay-per-request=false"]).unwrap().pay_per_request);
        assert!(
            !parse(&["--pay-per-request", "false"])
                .unwrap()
                .pay_per_request
        );
        assert!(parse(&["--pay-per-request=true"]).unwrap().pay_per_request);
        assert!(parse(&["--pay-per-request=maybe"]).is_err());
    }

    #[test]
    fn provisioned_capacity_defaults_to_five_and_applies_what_is_given() {
        let spec = parse(&["--pay-per-request=false"])
            .unwrap()
            .table_spec()
            .unwrap();
        assert_eq!(spec.billing, Billing::Provisioned { read: 5, write: 5 });
        let args = parse(&[
            "--pay-per-request=false",
            "--read-capacity=10",
            "--write-capacity=7",
        ]);
        let spec = args.unwrap().table_spec().unwrap();
        assert_eq!(spec.billing, Billing::Provisioned { read: 10, write: 7 });
        assert!(parse(&["--pay-per-request=false", "--read-capacity=0"]).is_err());
    }

    #[test]
    fn capacity_with_pay_per_request_is_a_usage_error_that_names_the_fix() {
        let err = parse(&["--read-capacity=10"])
            .unwrap()
            .table_spec()
            .unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
        assert!(err.to_string().contains("--pay-per-request=false"), "{err}");
    }

    #[test]
    fn the_wait_is_five_minutes_unless_changed_or_turned_off() {
        let spec = parse(&[]).unwrap().table_spec().unwrap();
        assert_eq!(spec.wait, Some(std::time::Duration::from_secs(300)));
        let spec = parse(&["--timeout", "90s"]).unwrap().table_spec().unwrap();
        assert_eq!(spec.wait, Some(std::time::Duration::from_secs(90)));
        assert_eq!(
            parse(&["--no-wait"]).unwrap().table_spec().unwrap().wait,
            None
        );
        assert!(parse(&["--timeout", "soon"]).is_err());
    }

    #[test]
    fn table_names_dynamodb_would_refuse_are_usage_errors() {
        assert!(check_table_name("failover-operator").is_ok());
        assert!(check_table_name("a.b_c-1").is_ok());
        assert!(check_table_name("ab").is_err());
        assert!(check_table_name("my table").is_err());
    }
}
