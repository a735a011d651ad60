//! What a setup reports: how the table came to be, progress while it works, warnings, and the
//! final one-line summary.

use super::{Billing, TTL_ATTRIBUTE, TableShape, TtlOutcome};
use crate::store::dynamodb::schema::GSI1;
use std::fmt;
use std::time::Duration;

/// How the table came to be there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableAction {
    /// This call created it.
    Created,
    /// Someone else created it at the same time (CreateTable said ResourceInUse).
    CreatedElsewhere,
    /// It existed already.
    Existed,
    /// Only checked ([`check_table`](super::check_table)); nothing was changed.
    Checked,
}

/// A problem that does not stop the table from working, but that the user should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupWarning {
    /// TTL could not be put on [`TTL_ATTRIBUTE`].
    Ttl {
        /// Table name.
        table: String,
        /// What was found.
        outcome: TtlOutcome,
    },
}

impl fmt::Display for SetupWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupWarning::Ttl { table, outcome } => match outcome {
                TtlOutcome::OtherAttribute(a) => write!(
                    f,
                    "TTL of table {table:?} is enabled on attribute {a:?}, not {TTL_ATTRIBUTE:?} (DynamoDB allows one per table): history records will not expire; change it in the console if you want history retention"
                ),
                TtlOutcome::Disabling => write!(
                    f,
                    "TTL of table {table:?} is being disabled: history records will not expire; run setup-dynamodb again in an hour to enable it on {TTL_ATTRIBUTE:?}"
                ),
                TtlOutcome::Unavailable(why) => write!(
                    f,
                    "could not enable TTL on {TTL_ATTRIBUTE:?} for table {table:?} ({why}): history records will be kept forever; grant dynamodb:DescribeTimeToLive and dynamodb:UpdateTimeToLive and run setup-dynamodb again"
                ),
                other => write!(f, "table {table:?}: {other}"),
            },
        }
    }
}

/// Progress of a setup, reported as it happens (the CLI prints it on stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupProgress {
    /// CreateTable is being sent.
    Creating {
        /// Table name.
        table: String,
        /// Requested billing.
        billing: Billing,
    },
    /// Someone else is creating the table; this call waits for theirs.
    CreatedElsewhere {
        /// Table name.
        table: String,
    },
    /// The table or GSI1 is not ACTIVE yet.
    Waiting {
        /// Table name.
        table: String,
        /// e.g. `CREATING` or `ACTIVE, GSI1 CREATING`.
        state: String,
        /// Time waited so far.
        waited: Duration,
    },
}

impl fmt::Display for SetupProgress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupProgress::Creating { table, billing } => {
                write!(f, "creating table {table:?} ({billing})")
            }
            SetupProgress::CreatedElsewhere { table } => write!(
                f,
                "table {table:?} is being created by someone else; waiting for it"
            ),
            SetupProgress::Waiting {
                table,
                state,
                waited,
            } => write!(
                f,
                "waiting for table {table:?}: {state} ({}s)",
                waited.as_secs()
            ),
        }
    }
}

/// The table as setup left it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct SetupOutcome {
    /// Table name.
    pub table: String,
    /// Region.
    pub region: String,
    /// Created, found, or only checked.
    pub action: TableAction,
    /// The table as last described.
    pub shape: TableShape,
    /// TTL on [`TTL_ATTRIBUTE`].
    pub ttl: TtlOutcome,
    /// Problems worth telling (print them as warnings).
    pub warnings: Vec<SetupWarning>,
}

impl SetupOutcome {
    /// The table's billing as DescribeTable reports it.
    pub fn billing(&self) -> String {
        match (self.shape.billing_mode.as_str(), self.shape.capacity) {
            ("PROVISIONED", Some((read, write))) => {
                Billing::Provisioned { read, write }.to_string()
            }
            (mode, _) => mode.to_string(),
        }
    }

    /// One kubectl-like line, e.g. `table "x" created (PAY_PER_REQUEST) in us-west-2; GSI1
    /// ACTIVE; TTL on ttl enabled`.
    pub fn summary(&self) -> String {
        let what = match self.action {
            TableAction::Created => "created",
            TableAction::CreatedElsewhere => "was created by another setup and matches the schema",
            TableAction::Existed => "already exists and matches the schema",
            TableAction::Checked => "matches the schema",
        };
        let state = if self.shape.is_ready() {
            format!("{GSI1} ACTIVE")
        } else {
            format!("not ACTIVE yet: {}", self.shape.state_summary())
        };
        format!(
            "table {:?} {what} ({}) in {}; {state}; {}",
            self.table,
            self.billing(),
            self.region,
            self.ttl
        )
    }
}
