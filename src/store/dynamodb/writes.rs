//! Writes of CONFIG (create, compare-and-set on `version`), heartbeats and history. CONFIG is only
//! ever changed with UpdateItem SET/REMOVE of this tool's attributes, so attributes other tools
//! keep there survive.

use super::attrs::Item;
use super::errors::store_error;
use super::expr::Expr;
use super::{DynamoStore, codec, schema};
use crate::store::*;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_smithy_runtime_api::http::Response;

/// How often an operation retries when the item it lost a race to vanished before it could be
/// read (create vs. delete, again and again): more is a sign of something pathological.
pub(super) const RACE_RETRIES: usize = 3;

/// `Some(item as it was)` when the error is a failed condition (the item is `None` when it did
/// not exist, or the server did not return it), `None` for any other error.
pub(super) trait ConditionFailed {
    /// See the trait.
    fn condition_failed(&self) -> Option<Option<Item>>;
}

macro_rules! condition_failed {
    ($error:ident) => {
        impl ConditionFailed for SdkError<$error, Response> {
            fn condition_failed(&self) -> Option<Option<Item>> {
                match self.as_service_error() {
                    Some($error::ConditionalCheckFailedException(e)) => Some(e.item.clone()),
                    _ => None,
                }
            }
        }
    };
}
condition_failed!(PutItemError);
condition_failed!(UpdateItemError);
condition_failed!(DeleteItemError);

impl DynamoStore {
    /// The item the failed condition saw: from the error when DynamoDB returned it, else read.
    pub(super) async fn current_item(
        &self,
        returned: Option<Item>,
        pk: &str,
        sk: &str,
    ) -> Result<Option<Item>, StoreError> {
        match returned {
            Some(item) => Ok(Some(item)),
            None => self.get_consistent(pk.to_string(), sk).await,
        }
    }

    pub(super) async fn create(&self, config: &GroupConfig) -> Result<CreateOutcome, StoreError> {
        let pk = schema::group_pk(&config.operator_id, &config.group);
        let item = codec::config_item(config);
        for _ in 0..RACE_RETRIES {
            let result = self
                .client
                .put_item()
                .table_name(&self.ctx.table)
                .set_item(Some(item.clone()))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", schema::PK)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let returned = match result {
                Ok(_) => return Ok(CreateOutcome::Created(codec::config_as_stored(config))),
                Err(e) => match e.condition_failed() {
                    Some(returned) => returned,
                    None => return Err(store_error(&self.ctx, "PutItem", e)),
                },
            };
            if let Some(current) = self.current_item(returned, &pk, schema::SK_CONFIG).await? {
                let current = codec::decode_config(&self.ctx.table, &current)?;
                return Ok(CreateOutcome::AlreadyExists(current));
            }
            // It was deleted between our write and our read: the create may succeed now.
        }
        Err(self.kept_racing("PutItem", &pk, schema::SK_CONFIG))
    }

    pub(super) fn kept_racing(&self, operation: &'static str, pk: &str, sk: &str) -> StoreError {
        StoreError::Rejected {
            operation,
            table: self.ctx.table.clone(),
            message: format!(
                "item {pk} / {sk} appeared and vanished {RACE_RETRIES} times while this write raced another client; retry"
            ),
        }
    }

    /// The condition that CONFIG exists at `expected` (a record another tool wrote without a
    /// version counts as version 0).
    pub(super) fn version_condition(ex: &mut Expr, expected: u64) -> String {
        let pk = ex.name(schema::PK);
        let version = ex.name(schema::config::VERSION);
        let value = ex.value(codec::version_value(expected));
        if expected == 0 {
            format!(
                "attribute_exists({pk}) AND ({version} = {value} OR attribute_not_exists({version}))"
            )
        } else {
            format!("attribute_exists({pk}) AND {version} = {value}")
        }
    }

    /// The version after `expected`, refused when the counter is exhausted.
    pub(super) fn next_version(
        &self,
        config: &GroupConfig,
        expected: u64,
    ) -> Result<u64, StoreError> {
        expected.checked_add(1).ok_or_else(|| StoreError::Rejected {
            operation: "UpdateItem",
            table: self.ctx.table.clone(),
            message: format!(
                "CONFIG of {} is at the largest version; it cannot change",
                config.group
            ),
        })
    }

    pub(super) async fn update(
        &self,
        expected: u64,
        config: &GroupConfig,
    ) -> Result<CasOutcome, StoreError> {
        let pk = schema::group_pk(&config.operator_id, &config.group);
        let next = self.next_version(config, expected)?;
        let mut ex = Expr::new();
        let mut attrs = codec::config_attrs(config);
        attrs.push((schema::config::VERSION, Some(codec::version_value(next))));
        let update = ex.update(attrs);
        let condition = Self::version_condition(&mut ex, expected);
        let result = self
            .guarded_update(
                codec::key(pk.clone(), schema::SK_CONFIG),
                update,
                condition,
                &ex,
            )
            .send()
            .await;
        match result {
            Ok(out) => Ok(CasOutcome::Applied(match out.attributes {
                Some(item) => codec::decode_config(&self.ctx.table, &item)?,
                None => GroupConfig {
                    version: next,
                    ..codec::config_as_stored(config)
                },
            })),
            Err(e) => match e.condition_failed() {
                Some(returned) => {
                    let current = match self.current_item(returned, &pk, schema::SK_CONFIG).await? {
                        Some(item) => Some(codec::decode_config(&self.ctx.table, &item)?),
                        None => None,
                    };
                    Ok(CasOutcome::Conflict { current })
                }
                None => Err(store_error(&self.ctx, "UpdateItem", e)),
            },
        }
    }

    /// An UpdateItem of one item that applies `update` only while `condition` holds, answering
    /// the item as written, or as it was when the condition failed (so a lost race costs no
    /// second read).
    pub(super) fn guarded_update(
        &self,
        key: Item,
        update: String,
        condition: String,
        ex: &Expr,
    ) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.ctx.table)
            .set_key(Some(key))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(ex.names())
            .set_expression_attribute_values(ex.values())
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    pub(super) async fn put_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        status: &ClusterStatus,
    ) -> Result<(), StoreError> {
        let mut ex = Expr::new();
        let update = ex.update(codec::cluster_attrs(operator_id, group, status));
        let key = codec::key(
            schema::group_pk(operator_id, group),
            schema::cluster_sk(&status.cluster_name),
        );
        self.client
            .update_item()
            .table_name(&self.ctx.table)
            .set_key(Some(key))
            .update_expression(update)
            .set_expression_attribute_names(ex.names())
            .set_expression_attribute_values(ex.values())
            .send()
            .await
            .map_err(|e| store_error(&self.ctx, "UpdateItem", e))?;
        Ok(())
    }

    pub(super) async fn delete_status(
        &self,
        operator_id: &str,
        group: &GroupId,
        cluster: &str,
    ) -> Result<(), StoreError> {
        let key = codec::key(
            schema::group_pk(operator_id, group),
            schema::cluster_sk(cluster),
        );
        self.client
            .delete_item()
            .table_name(&self.ctx.table)
            .set_key(Some(key))
            .send()
            .await
            .map_err(|e| store_error(&self.ctx, "DeleteItem", e))?;
        Ok(())
    }

    pub(super) async fn append(
        &self,
        operator_id: &str,
        group: &GroupId,
        record: &HistoryRecord,
    ) -> Result<AppendOutcome, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.ctx.table)
            .set_item(Some(codec::history_item(operator_id, group, record)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", schema::PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(AppendOutcome::Appended),
            Err(e) if e.condition_failed().is_some() => Ok(AppendOutcome::AlreadyExists),
            Err(e) => Err(store_error(&self.ctx, "PutItem", e)),
        }
    }
}
