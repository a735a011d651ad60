//! Creating and checking the coordination table: the `setup-dynamodb` command and `run`'s
//! start-up both call [`ensure_table`]; [`check_table`] diagnoses without changing anything.
//!
//! The table must match the spec exactly (PK/SK strings; GSI1 on GSI1PK/GSI1SK strings with
//! projection ALL), because every cluster and every other tool reads it with those names. An
//! existing table of another shape is never altered: the user is told each difference.

mod error;
mod report;
mod shape;
mod ttl;
mod wait;

pub use error::SetupError;
pub use report::{SetupOutcome, SetupProgress, SetupWarning, TableAction};
pub use shape::{
    Attr, IndexShape, KeyPart, KeySlot, SchemaDifference, TableShape,
    eventually_consistent_replicas, schema_differences,
};
pub use ttl::TtlOutcome;

use super::client::{MAX_ATTEMPTS, endpoint_label};
use super::errors::{ErrorContext, store_error};
use super::schema::{GSI1, GSI1PK, GSI1SK, PK, SK};
use crate::config::StoreArgs;
use crate::store::StoreError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType,
};
use std::fmt;
use std::time::Duration;

/// Time-to-live attribute of history retention (an extension attribute, Number, epoch seconds).
/// History records with this attribute are deleted by DynamoDB after that time; records
/// without it are kept forever.
pub const TTL_ATTRIBUTE: &str = "ttl";
/// Read and write capacity units of a provisioned table and of GSI1 when none are given (the
/// original setup tool's defaults).
pub const DEFAULT_CAPACITY: i64 = 5;
/// How long to wait for a new table to become ACTIVE by default.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5 * 60);

/// How the table is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    /// On-demand.
    PayPerRequest,
    /// Provisioned capacity, applied to the table and to GSI1.
    Provisioned {
        /// Read capacity units.
        read: i64,
        /// Write capacity units.
        write: i64,
    },
}

impl fmt::Display for Billing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Billing::PayPerRequest => write!(f, "PAY_PER_REQUEST"),
            Billing::Provisioned { read, write } => {
                write!(f, "PROVISIONED, {read} RCU / {write} WCU")
            }
        }
    }
}

/// What to create when the table is missing, and how long to wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// Billing of a new table (an existing table's billing is left as it is).
    pub billing: Billing,
    /// Wait at most this long for the table and GSI1 to be ACTIVE; `None`: do not wait.
    pub wait: Option<Duration>,
}

/// What messages need to name, for the table the settings point at.
pub fn error_context(args: &StoreArgs) -> ErrorContext {
    ErrorContext {
        table: args.table_name.clone(),
        region: args.region.trim().to_string(),
        endpoint: endpoint_label(args),
        max_attempts: MAX_ATTEMPTS,
    }
}

/// Creates the table `ctx.table` when it is missing, checks its schema when it exists, waits
/// for it to be ACTIVE (per `spec.wait`), enables TTL on [`TTL_ATTRIBUTE`], and reports.
///
/// Idempotent and safe to run from several places at once: a concurrent creation is waited
/// for. A table of another shape is never changed; it fails with `WrongSchema`.
pub async fn ensure_table(
    client: &Client,
    ctx: &ErrorContext,
    spec: &TableSpec,
    progress: &mut dyn FnMut(SetupProgress),
) -> Result<SetupOutcome, SetupError> {
    let (action, shape) = match describe(client, ctx).await? {
        Some(shape) => (TableAction::Existed, shape),
        None => create(client, ctx, spec.billing, progress).await?,
    };
    validate(ctx, &shape)?;
    let shape = match spec.wait {
        Some(timeout) if !shape.is_ready() => {
            wait::until_ready(&ctx.table, timeout, || describe(client, ctx), progress).await?
        }
        _ => shape,
    };
    // UpdateTimeToLive needs an ACTIVE table; with --no-wait a later run enables it.
    let ttl = if shape.status == "ACTIVE" {
        ttl::ensure(client, ctx).await?
    } else {
        TtlOutcome::NotYet
    };
    Ok(outcome(ctx, action, shape, ttl))
}

/// Checks the existing table without changing anything: its schema, state, TTL and replicas.
/// A missing table is `Store(TableNotFound)` (exit 4).
pub async fn check_table(client: &Client, ctx: &ErrorContext) -> Result<SetupOutcome, SetupError> {
    let shape = describe(client, ctx).await?.ok_or_else(|| {
        SetupError::Store(StoreError::TableNotFound {
            table: ctx.table.clone(),
            region: ctx.region.clone(),
        })
    })?;
    validate(ctx, &shape)?;
    let ttl = ttl::read(client, ctx).await?;
    Ok(outcome(ctx, TableAction::Checked, shape, ttl))
}

/// Refuses a table that is going away, unusable, or of another shape.
fn validate(ctx: &ErrorContext, shape: &TableShape) -> Result<(), SetupError> {
    let table = ctx.table.clone();
    match shape.status.as_str() {
        "DELETING" => return Err(SetupError::Deleting { table }),
        "ARCHIVING" | "ARCHIVED" | "INACCESSIBLE_ENCRYPTION_CREDENTIALS" => {
            let status = shape.status.clone();
            return Err(SetupError::Unusable { table, status });
        }
        _ => {}
    }
    let differences = schema_differences(shape);
    if !differences.is_empty() {
        return Err(SetupError::WrongSchema { table, differences });
    }
    let regions = eventually_consistent_replicas(shape);
    if regions.is_empty() {
        Ok(())
    } else {
        Err(SetupError::LastWriterWins { table, regions })
    }
}

fn outcome(
    ctx: &ErrorContext,
    action: TableAction,
    shape: TableShape,
    ttl: TtlOutcome,
) -> SetupOutcome {
    let mut warnings = Vec::new();
    if matches!(
        ttl,
        TtlOutcome::OtherAttribute(_) | TtlOutcome::Disabling | TtlOutcome::Unavailable(_)
    ) {
        let table = ctx.table.clone();
        let outcome = ttl.clone();
        warnings.push(SetupWarning::Ttl { table, outcome });
    }
    SetupOutcome {
        table: ctx.table.clone(),
        region: ctx.region.clone(),
        action,
        shape,
        ttl,
        warnings,
    }
}

/// DescribeTable; `None` when the table does not exist.
async fn describe(client: &Client, ctx: &ErrorContext) -> Result<Option<TableShape>, SetupError> {
    match client.describe_table().table_name(&ctx.table).send().await {
        Ok(out) => Ok(out.table().map(TableShape::from_description)),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(SetupError::from_store(
            ctx,
            store_error(ctx, "DescribeTable", e),
        )),
    }
}

/// CreateTable with the spec's schema; a concurrent creation is adopted, not an error.
async fn create(
    client: &Client,
    ctx: &ErrorContext,
    billing: Billing,
    progress: &mut dyn FnMut(SetupProgress),
) -> Result<(TableAction, TableShape), SetupError> {
    let table = ctx.table.clone();
    progress(SetupProgress::Creating {
        table: table.clone(),
        billing,
    });
    let bug = |e: aws_sdk_dynamodb::error::BuildError| SetupError::Internal {
        table: table.clone(),
        message: format!("could not build the CreateTable request: {e}"),
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
    };
    let throughput = match billing {
        Billing::PayPerRequest => None,
        Billing::Provisioned { read, write } => Some(
            ProvisionedThroughput::builder()
                .read_capacity_units(read)
                .write_capacity_units(write)
                .build()
                .map_err(bug)?,
        ),
    };
    let gsi1 = GlobalSecondaryIndex::builder()
        .index_name(GSI1)
        .key_schema(key(GSI1PK, KeyType::Hash).map_err(bug)?)
        .key_schema(key(GSI1SK, KeyType::Range).map_err(bug)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .set_provisioned_throughput(throughput.clone())
        .build()
        .map_err(bug)?;
    let mut request = client
        .create_table()
        .table_name(&table)
        .key_schema(key(PK, KeyType::Hash).map_err(bug)?)
        .key_schema(key(SK, KeyType::Range).map_err(bug)?)
        .global_secondary_indexes(gsi1)
        .set_provisioned_throughput(throughput)
        .billing_mode(match billing {
            Billing::PayPerRequest => BillingMode::PayPerRequest,
            Billing::Provisioned { .. } => BillingMode::Provisioned,
        });
    for name in [PK, SK, GSI1PK, GSI1SK] {
        request = request.attribute_definitions(attr(name).map_err(bug)?);
    }
    match request.send().await {
        Ok(out) => match out.table_description() {
            Some(d) => Ok((TableAction::Created, TableShape::from_description(d))),
            None => {
                let shape = describe(client, ctx).await?;
                let shape = shape.ok_or_else(|| SetupError::Vanished {
                    table: table.clone(),
                })?;
                Ok((TableAction::Created, shape))
            }
        },
        // Another setup (or a starting controller) created it between our DescribeTable and
        // our CreateTable: adopt theirs, after checking its schema like any existing table.
        Err(e) if e.code() == Some("ResourceInUseException") => {
            progress(SetupProgress::CreatedElsewhere {
                table: table.clone(),
            });
            let shape = describe(client, ctx).await?;
            let shape = shape.ok_or_else(|| SetupError::Vanished {
                table: table.clone(),
            })?;
            Ok((TableAction::CreatedElsewhere, shape))
        }
        Err(e) => Err(SetupError::from_store(
            ctx,
            store_error(ctx, "CreateTable", e),
        )),
    }
}

#[cfg(test)]
mod tests;
