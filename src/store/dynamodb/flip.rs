//! The guarded CONFIG write: one TransactWriteItems of CONFIG compare-and-set, LOCK token check
//! and (when the write ends a transition) HISTORY append, so ownership never moves without the
//! lock and a transition never ends without its history record.

use super::errors::store_error;
use super::expr::Expr;
use super::writes::RACE_RETRIES;
use super::{DynamoStore, codec, schema};
use crate::store::*;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use std::time::Duration;

/// Positions of the three writes in the transaction; cancellation reasons come in this order.
const CONFIG_INDEX: usize = 0;
const LOCK_INDEX: usize = 1;
const HISTORY_INDEX: usize = 2;

/// The code DynamoDB gives a cancellation reason whose condition failed.
const CONDITION_FAILED: &str = "ConditionalCheckFailed";

impl DynamoStore {
    fn flip_items(
        &self,
        request: &FlipRequest,
        pk: &str,
        next: u64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let cfg = &request.new_config;
        let table = &self.ctx.table;
        let built = |e: aws_smithy_types::error::operation::BuildError| StoreError::Rejected {
            operation: "TransactWriteItems",
            table: table.clone(),
            message: e.to_string(),
        };

        let mut ex = Expr::new();
        let mut attrs = codec::config_attrs(cfg);
        attrs.push((schema::config::VERSION, Some(codec::version_value(next))));
        let update_expression = ex.update(attrs);
        let condition = Self::version_condition(&mut ex, request.expected_version);
        let update = Update::builder()
            .table_name(table)
            .set_key(Some(codec::key(pk.to_string(), schema::SK_CONFIG)))
            .update_expression(update_expression)
            .condition_expression(condition)
            .set_expression_attribute_names(ex.names())
            .set_expression_attribute_values(ex.values())
            .build()
            .map_err(built)?;

        let mut ex = Expr::new();
        let condition = format!(
            "{} = {}",
            ex.name(schema::lock::LEASE_TOKEN),
            ex.value(AttributeValue::S(request.lease_token.clone()))
        );
        let check = ConditionCheck::builder()
            .table_name(table)
            .set_key(Some(codec::key(pk.to_string(), schema::SK_LOCK)))
            .condition_expression(condition)
            .set_expression_attribute_names(ex.names())
            .set_expression_attribute_values(ex.values())
            .build()
            .map_err(built)?;

        let mut items = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder().condition_check(check).build(),
        ];
        if let Some(history) = &request.history {
            let put = Put::builder()
                .table_name(table)
                .set_item(Some(codec::history_item(
                    &cfg.operator_id,
                    &cfg.group,
                    history,
                )))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", schema::PK)
                .build()
                .map_err(built)?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
        Ok(items)
    }

    pub(super) async fn flip(&self, request: &FlipRequest) -> Result<FlipOutcome, StoreError> {
        let cfg = &request.new_config;
        let pk = schema::group_pk(&cfg.operator_id, &cfg.group);
        let next = self.next_version(cfg, request.expected_version)?;
        let items = self.flip_items(request, &pk, next)?;
        let mut last_reasons = Vec::new();
        for attempt in 0..RACE_RETRIES {
            // The token makes the SDK's own retries of this attempt idempotent: a retry after a
            // lost answer reports success instead of failing on the version it just wrote.
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(uuid::Uuid::new_v4().to_string())
                .send()
                .await;
            let error = match result {
                Ok(_) => {
                    let committed = GroupConfig {
                        version: next,
                        ..codec::config_as_stored(cfg)
                    };
                    return Ok(FlipOutcome::Committed(Box::new(committed)));
                }
                Err(e) => e,
            };
            let reasons = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    c.cancellation_reasons().to_vec()
                }
                _ => return Err(store_error(&self.ctx, "TransactWriteItems", error)),
            };
            let failed = |i: usize| reasons.get(i).and_then(|r| r.code()) == Some(CONDITION_FAILED);
            let mut conflict = FlipConflict {
                version_changed: failed(CONFIG_INDEX),
                lock_lost: failed(LOCK_INDEX),
                history_exists: failed(HISTORY_INDEX),
            };
            if reasons.is_empty() {
                // Cancelled without saying why: look rather than guess.
                conflict = self.flip_conflict_by_reading(request, &pk).await?;
            }
            if conflict != FlipConflict::default() {
                return Ok(FlipOutcome::Cancelled(conflict));
            }
            // A request DynamoDB refuses will be refused again: report it, do not retry.
            if let Some(invalid) = reasons.iter().find(|r| r.code() == Some("ValidationError")) {
                return Err(StoreError::Rejected {
                    operation: "TransactWriteItems",
                    table: self.ctx.table.clone(),
                    message: invalid.message().unwrap_or("ValidationError").to_string(),
                });
            }
            // Every condition held but the transaction was cancelled anyway (another transaction
            // on the same items, or an item throttled): nothing was written, so try again.
            last_reasons = reasons
                .iter()
                .filter_map(|r| r.code().filter(|c| *c != "None").map(str::to_string))
                .collect();
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        let throttled = last_reasons
            .iter()
            .any(|c| c.contains("Throttl") || c.contains("ProvisionedThroughputExceeded"));
        Err(if throttled {
            StoreError::Throttled {
                operation: "TransactWriteItems",
                table: self.ctx.table.clone(),
                attempts: RACE_RETRIES as u32,
            }
        } else {
            StoreError::Unavailable {
                operation: "TransactWriteItems",
                table: self.ctx.table.clone(),
                endpoint: self.ctx.endpoint.clone(),
                message: format!(
                    "the ownership flip was cancelled {RACE_RETRIES} times with every condition met ({}); retry",
                    last_reasons.join(", ")
                ),
            }
        })
    }

    /// Which flip conditions fail now, read with strong consistency.
    async fn flip_conflict_by_reading(
        &self,
        request: &FlipRequest,
        pk: &str,
    ) -> Result<FlipConflict, StoreError> {
        let history_sk = request
            .history
            .as_ref()
            .map(|h| schema::history_sk(&history_timestamp(h.start_time)));
        let history_read = async {
            match &history_sk {
                Some(sk) => self.get_consistent(pk.to_string(), sk).await,
                None => Ok(None),
            }
        };
        let (config, lock, history) = tokio::join!(
            self.get_consistent(pk.to_string(), schema::SK_CONFIG),
            self.get_consistent(pk.to_string(), schema::SK_LOCK),
            history_read,
        );
        let version_changed = match config? {
            Some(item) => {
                let current = codec::decode_config(&self.ctx.table, &item)?;
                current.version != request.expected_version
            }
            None => true,
        };
        let lock_lost = match lock? {
            Some(item) => {
                codec::decode_lock(&self.ctx.table, &item)?.lease_token != request.lease_token
            }
            None => true,
        };
        Ok(FlipConflict {
            version_changed,
            lock_lost,
            history_exists: history?.is_some(),
        })
    }
}
