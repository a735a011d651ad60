//! Settings shared by commands, as clap argument groups with the environment names and defaults
//! of the DynamoDB integration spec.

use clap::Args;

/// Default for `AWS_REGION`.
pub const DEFAULT_REGION: &str = "us-west-2";
/// Default for `DYNAMODB_TABLE_NAME`.
pub const DEFAULT_TABLE_NAME: &str = "failover-operator";
/// Default for `OPERATOR_ID`.
pub const DEFAULT_OPERATOR_ID: &str = "failover-operator";

/// Where the coordination table is and whose records to read.
#[derive(Debug, Clone, Args, PartialEq, Eq)]
#[command(next_help_heading = "DynamoDB")]
pub struct StoreArgs {
    /// AWS region of the DynamoDB table.
    #[arg(long, env = "AWS_REGION", default_value = DEFAULT_REGION, global = true)]
    pub region: String,

    /// Custom DynamoDB endpoint (a local DynamoDB-compatible server, e.g. http://127.0.0.1:8000).
    #[arg(long, env = "AWS_ENDPOINT", global = true)]
    pub endpoint: Option<String>,

    /// Send every call to --endpoint (AWS_USE_LOCAL_ENDPOINT); implied when --endpoint is set.
    #[arg(
        long,
        env = "AWS_USE_LOCAL_ENDPOINT",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        global = true
    )]
    pub use_local_endpoint: bool,

    /// Name of the DynamoDB table.
    #[arg(long, env = "DYNAMODB_TABLE_NAME", default_value = DEFAULT_TABLE_NAME, global = true)]
    pub table_name: String,

    /// Identifier of the operator instance whose groups to use.
    #[arg(long, env = "OPERATOR_ID", default_value = DEFAULT_OPERATOR_ID, global = true)]
    pub operator_id: String,
}

impl StoreArgs {
    /// The settings with the spec's defaults and no endpoint.
    pub fn defaults() -> Self {
        StoreArgs {
            region: DEFAULT_REGION.to_string(),
            endpoint: None,
            use_local_endpoint: false,
            table_name: DEFAULT_TABLE_NAME.to_string(),
            operator_id: DEFAULT_OPERATOR_ID.to_string(),
        }
    }

    /// The endpoint every call goes to, if not AWS's regional one. A set `AWS_ENDPOINT` is always
    /// used: silently ignoring it because AWS_USE_LOCAL_ENDPOINT was not also set would send
    /// requests to real AWS when the user meant a local server.
    pub fn effective_endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref().filter(|e| !e.trim().is_empty())
    }
}
