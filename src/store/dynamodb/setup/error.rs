//! `SetupError`: every way setup can fail, each message naming the table, the cause and the fix,
//! with its exit code.

use super::SchemaDifference;
use crate::error::ExitCode;
use crate::store::StoreError;
use crate::store::dynamodb::errors::ErrorContext;
use std::time::Duration;

/// Why the table could not be created or is not usable.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The table exists with another schema.
    #[error(
        "table {table:?} exists but does not match the schema kubectl-failover needs:{list}\nuse another table (--table-name NAME; setup-dynamodb creates it), or recreate this one with partition key PK (S), sort key SK (S) and GSI1 on GSI1PK (S) / GSI1SK (S) with projection ALL",
        list = bullets(differences)
    )]
    WrongSchema {
        /// Table name.
        table: String,
        /// Every difference.
        differences: Vec<SchemaDifference>,
    },
    /// The table is being deleted.
    #[error(
        "table {table:?} is being deleted; wait until it is gone and run setup-dynamodb again, or use another table with --table-name"
    )]
    Deleting {
        /// Table name.
        table: String,
    },
    /// The table is in a state that cannot serve requests (archived, lost its KMS key, ...).
    #[error(
        "table {table:?} is {status} and cannot be used; restore it in the AWS console, or use another table with --table-name"
    )]
    Unusable {
        /// Table name.
        table: String,
        /// Its status.
        status: String,
    },
    /// A global table in multi-Region eventual consistency (MREC) mode: each replica evaluates
    /// conditions on its own copy and concurrent writes resolve last-writer-wins, so the
    /// compare-and-set that keeps two clusters from owning a group at once does not hold.
    #[error(
        "table {table:?} is a global table with replicas in {} in multi-Region eventual consistency (MREC) mode: each replica evaluates conditional writes on its own copy and concurrent writes resolve last-writer-wins, so two clusters could both become primary; kubectl-failover refuses it. Use a single-Region table that every cluster reaches (setup-dynamodb --table-name NEW creates one), or a global table in multi-Region strong consistency (MRSC) mode (docs/dynamodb-table.md, \"Table layouts\")",
        regions.join(", ")
    )]
    LastWriterWins {
        /// Table name.
        table: String,
        /// The replicas' Regions.
        regions: Vec<String>,
    },
    /// The table disappeared while setup was working on it.
    #[error(
        "table {table:?} disappeared while setup-dynamodb was waiting for it (deleted by someone else?); run setup-dynamodb again"
    )]
    Vanished {
        /// Table name.
        table: String,
    },
    /// The table or GSI1 did not become ACTIVE in time.
    #[error(
        "table {table:?} was not ACTIVE after {}s (state: {state}); check it in the AWS console and run setup-dynamodb again, or wait longer with --timeout",
        waited.as_secs()
    )]
    Timeout {
        /// Table name.
        table: String,
        /// The last state seen, e.g. `ACTIVE, GSI1 CREATING`.
        state: String,
        /// How long it waited.
        waited: Duration,
    },
    /// The credentials were refused or lack a permission setup needs.
    #[error(
        "DynamoDB refused {operation} on table {table:?}: {message}; setup-dynamodb needs dynamodb:DescribeTable and dynamodb:CreateTable (and dynamodb:DescribeTimeToLive, dynamodb:UpdateTimeToLive for history retention) on arn:aws:dynamodb:{region}:<account>:table/{table}; check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, or the pod's IRSA role)"
    )]
    AccessDenied {
        /// The DynamoDB operation.
        operation: &'static str,
        /// Table name.
        table: String,
        /// Region.
        region: String,
        /// What DynamoDB said.
        message: String,
    },
    /// Any other store failure (unreachable, throttled, rejected).
    #[error(transparent)]
    Store(StoreError),
    /// A request could not be built (a bug).
    #[error("could not set up table {table:?}: {message}")]
    Internal {
        /// Table name.
        table: String,
        /// What went wrong.
        message: String,
    },
}

fn bullets(differences: &[SchemaDifference]) -> String {
    differences.iter().map(|d| format!("\n  - {d}")).collect()
}

impl SetupError {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            SetupError::WrongSchema { .. }
            | SetupError::LastWriterWins { .. }
            | SetupError::Deleting { .. }
            | SetupError::Unusable { .. } => ExitCode::Conflict,
            SetupError::Vanished { .. } => ExitCode::NotFound,
            SetupError::Timeout { .. } => ExitCode::Timeout,
            SetupError::AccessDenied { .. } => ExitCode::Unavailable,
            SetupError::Internal { .. } => ExitCode::Internal,
            SetupError::Store(e) => ExitCode::for_store(e),
        }
    }

    /// Wraps a store error, giving a refused permission the hint about setup's IAM actions.
    pub(super) fn from_store(ctx: &ErrorContext, err: StoreError) -> SetupError {
        match err {
            StoreError::AccessDenied {
                operation,
                table,
                message,
            } => SetupError::AccessDenied {
                operation,
                table,
                region: ctx.region.clone(),
                message,
            },
            other => SetupError::Store(other),
        }
    }
}
