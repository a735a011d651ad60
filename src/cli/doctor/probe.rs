//! Reading the table for the doctor: `setup-dynamodb --check`'s verdict, one side-effect-free
//! request per IAM action the controller uses (`ops::doctor::table` says why each changes
//! nothing), every group's CONFIG and the status listing. Each step is bounded by
//! [`STEP_TIMEOUT`] on top of the SDK's own timeouts.

use crate::clock::SystemClock;
use crate::config::StoreArgs;
use crate::error::Error;
use crate::ops::doctor::table::{
    IMPOSSIBLE_CONDITION, PROBE_PK, PROBE_SK, Probe, ProbeOutcome, classify,
};
use crate::ops::status::{ListScope, StatusList, list_status};
use crate::store::dynamodb::DynamoStore;
use crate::store::dynamodb::client::{build_client, endpoint_label};
use crate::store::dynamodb::schema::{GSI1, GSI1PK, PK, SK};
use crate::store::dynamodb::setup::{SetupError, SetupOutcome, check_table, error_context};
use crate::store::{CoordinationStore, GroupConfig, StoreError};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The most one step against DynamoDB may take (the SDK retries within it).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything read from the table.
#[derive(Debug)]
pub struct TableFacts {
    /// `setup-dynamodb --check`'s verdict.
    pub check: Result<SetupOutcome, SetupError>,
    /// Each probe's outcome; empty when the table could not be reached or does not exist.
    pub probes: Vec<(Probe, ProbeOutcome)>,
    /// Every group's CONFIG, or why they could not be listed.
    pub configs: Result<Vec<GroupConfig>, String>,
    /// The status listing of every group, or why it could not be read.
    pub listing: Result<StatusList, String>,
}

async fn bounded<T>(what: &str, call: impl Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(STEP_TIMEOUT, call)
        .await
        .map_err(|_| format!("{what} got no answer within {}s", STEP_TIMEOUT.as_secs()))
}

/// Reads the table. Fails only on settings that cannot make a client (a usage error).
pub async fn table(store: &StoreArgs) -> Result<TableFacts, Error> {
    let client = build_client(store).await?;
    let ctx = error_context(store);
    let check = bounded("DescribeTable", check_table(&client, &ctx))
        .await
        .unwrap_or_else(|message| {
            Err(SetupError::Store(StoreError::Unavailable {
                operation: "DescribeTable",
                table: ctx.table.clone(),
                endpoint: ctx.endpoint.clone(),
                message,
            }))
        });
    let usable = !matches!(
        check,
        Err(SetupError::Store(
            StoreError::TableNotFound { .. }
                | StoreError::Unavailable { .. }
                | StoreError::Throttled { .. }
        ))
    );
    if !usable {
        let why = "the table could not be read (see the table check)".to_string();
        return Ok(TableFacts {
            check,
            probes: Vec::new(),
            configs: Err(why.clone()),
            listing: Err(why),
        });
    }
    let mut probes = vec![(Probe::DescribeTable, described(&check))];
    for p in Probe::ALL
        .into_iter()
        .filter(|p| *p != Probe::DescribeTable)
    {
        let outcome = bounded(p.actions(), probe(&client, &store.table_name, p))
            .await
            .unwrap_or_else(ProbeOutcome::NotProved);
        probes.push((p, outcome));
    }
    let dynamo: Arc<dyn CoordinationStore> = Arc::new(DynamoStore::from_client(
        client,
        &store.table_name,
        &store.region,
        &endpoint_label(store),
    ));
    let op = &store.operator_id;
    let configs = match bounded("listing the groups", dynamo.list_groups(op)).await {
        Ok(Ok(listing)) => Ok(listing.items),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e),
    };
    let clock = SystemClock::new();
    let listed = list_status(dynamo.clone(), &clock, op, &ListScope::AllNamespaces);
    let listing = match bounded("reading the groups' status", listed).await {
        Ok(Ok(list)) => Ok(list),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e),
    };
    Ok(TableFacts {
        check,
        probes,
        configs,
        listing,
    })
}

/// DescribeTable was the table check's own request.
fn described(check: &Result<SetupOutcome, SetupError>) -> ProbeOutcome {
    match check {
        Ok(_) | Err(SetupError::WrongSchema { .. } | SetupError::LastWriterWins { .. }) => {
            ProbeOutcome::Allowed
        }
        Err(SetupError::AccessDenied {
            operation: "DescribeTable",
            message,
            ..
        }) => classify(Some("AccessDeniedException"), message),
        Err(e) => ProbeOutcome::NotProved(e.to_string()),
    }
}

/// What an SDK answer proves.
fn outcome<O, E>(
    result: Result<O, SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> ProbeOutcome
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => ProbeOutcome::Allowed,
        Err(e) => {
            let message = e
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| DisplayErrorContext(&e).to_string());
            classify(e.code(), &message)
        }
    }
}

/// One probe on the probe key; no request can change the table (see `ops::doctor::table`).
async fn probe(client: &Client, table: &str, p: Probe) -> ProbeOutcome {
    let s = |v: &str| AttributeValue::S(v.to_string());
    let key: HashMap<String, AttributeValue> =
        HashMap::from([(PK.to_string(), s(PROBE_PK)), (SK.to_string(), s(PROBE_SK))]);
    match p {
        Probe::DescribeTable => ProbeOutcome::Allowed,
        Probe::GetItem => outcome(
            client
                .get_item()
                .table_name(table)
                .set_key(Some(key))
                .consistent_read(true)
                .send()
                .await,
        ),
        Probe::Query | Probe::QueryIndex => {
            let mut q = client
                .query()
                .table_name(table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_values(":pk", s(PROBE_PK))
                .limit(1);
            q = if p == Probe::QueryIndex {
                q.index_name(GSI1).expression_attribute_names("#pk", GSI1PK)
            } else {
                q.expression_attribute_names("#pk", PK)
            };
            outcome(q.send().await)
        }
        Probe::PutItem => outcome(
            client
                .put_item()
                .table_name(table)
                .set_item(Some(key))
                .condition_expression(IMPOSSIBLE_CONDITION)
                .expression_attribute_names("#pk", PK)
                .send()
                .await,
        ),
        Probe::UpdateItem => outcome(
            client
                .update_item()
                .table_name(table)
                .set_key(Some(key))
                .update_expression("SET #probe = :probe")
                .condition_expression(IMPOSSIBLE_CONDITION)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#probe", "doctorProbe")
                .expression_attribute_values(":probe", s("never written"))
                .send()
                .await,
        ),
        Probe::DeleteItem => outcome(
            client
                .delete_item()
                .table_name(table)
                .set_key(Some(key))
                .condition_expression(IMPOSSIBLE_CONDITION)
                .expression_attribute_names("#pk", PK)
                .send()
                .await,
        ),
        Probe::TransactWriteItems => transact(client, table, key).await,
    }
}

/// A transaction of one ConditionCheck that cannot hold: cancelled for ConditionalCheckFailed
/// when both TransactWriteItems and ConditionCheckItem are allowed.
async fn transact(
    client: &Client,
    table: &str,
    key: HashMap<String, AttributeValue>,
) -> ProbeOutcome {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression(IMPOSSIBLE_CONDITION)
        .expression_attribute_names("#pk", PK)
        .build();
    let check = match check {
        Ok(c) => c,
        Err(e) => return ProbeOutcome::NotProved(format!("could not build the request: {e}")),
    };
    let sent = client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().condition_check(check).build())
        .send()
        .await;
    // The reasons are in a typed field that the message may not repeat.
    if let Err(e) = &sent
        && let Some(TransactWriteItemsError::TransactionCanceledException(t)) = e.as_service_error()
    {
        let reasons: Vec<&str> = t
            .cancellation_reasons()
            .iter()
            .filter_map(|r| r.code())
            .collect();
        let message = format!(
            "{} [{}]",
            t.message().unwrap_or_default(),
            reasons.join(", ")
        );
        return classify(Some("TransactionCanceledException"), &message);
    }
    outcome(sent)
}
