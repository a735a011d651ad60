//! The top-level error every command returns, and the exit-code table documented in the README.

use crate::store::StoreError;
use crate::store::dynamodb::client::ClientConfigError;
use crate::store::dynamodb::setup::SetupError;

/// Process exit codes (README "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    /// Success, including "nothing to do".
    Ok = 0,
    /// A bug or an unexpected failure.
    Internal = 1,
    /// Invalid flags or arguments.
    Usage = 2,
    /// A precondition failed: a conflict, a held lock, a table of the wrong shape, a bad record.
    Conflict = 3,
    /// The table or the group does not exist.
    NotFound = 4,
    /// DynamoDB (or a cluster) could not be reached, refused the credentials, or throttled.
    Unavailable = 5,
    /// A wait ran out of time.
    Timeout = 6,
}

impl ExitCode {
    /// The exit code for a store failure, shared by every command that reads or writes the table.
    pub fn for_store(e: &StoreError) -> ExitCode {
        match e {
            StoreError::TableNotFound { .. } => ExitCode::NotFound,
            StoreError::AccessDenied { .. }
            | StoreError::Throttled { .. }
            | StoreError::Unavailable { .. } => ExitCode::Unavailable,
            StoreError::Malformed { .. }
            | StoreError::WrongShape { .. }
            | StoreError::TooLarge { .. } => ExitCode::Conflict,
            StoreError::Rejected { .. } => ExitCode::Internal,
            StoreError::NotLeading { .. } => ExitCode::Unavailable,
        }
    }
}

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store settings are inconsistent.
    #[error(transparent)]
    ClientConfig(#[from] ClientConfigError),
    /// Creating or checking the table failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// Bad arguments that clap could not catch.
    #[error("{0}")]
    Usage(String),
    /// The group has no CONFIG record in the table.
    #[error(
        "FailoverGroup {group} of operator {operator_id:?} was not found in {store}; check the name, -n/--namespace and OPERATOR_ID, or list groups with: kubectl failover status -A"
    )]
    GroupNotFound {
        /// `namespace/name`.
        group: String,
        /// The operator ID searched.
        operator_id: String,
        /// Where it was searched.
        store: String,
    },
    /// A safety invariant was observed broken (the demo's self-check: two clusters served one
    /// CONSISTENCY group at once).
    #[error("invariant broken: {0}")]
    Invariant(String),
    /// A command's own refusal or failure, with the exit code it documents (a promote refused
    /// by the protocol, a wait that timed out, a cluster that could not be reached).
    #[error("{message}")]
    Command {
        /// What happened and what to do next.
        message: String,
        /// The exit code.
        code: ExitCode,
    },
    /// Writing output failed (e.g. a closed pipe).
    #[error("could not write output: {0}")]
    Output(#[from] std::io::Error),
    /// The `run` controller could not start or a vital task stopped.
    #[error(transparent)]
    Controller(#[from] crate::controller::ControllerError),
    /// Anything else.
    #[error("{0:#}")]
    Internal(#[from] anyhow::Error),
}

impl Error {
    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Store(e) => ExitCode::for_store(e),
            Error::ClientConfig(_) => ExitCode::Usage,
            Error::Setup(e) => e.exit_code(),
            Error::Usage(_) => ExitCode::Usage,
            Error::GroupNotFound { .. } => ExitCode::NotFound,
            Error::Invariant(_) => ExitCode::Conflict,
            Error::Controller(e) => e.exit_code(),
            Error::Command { code, .. } => *code,
            Error::Output(_) | Error::Internal(_) => ExitCode::Internal,
        }
    }
}
