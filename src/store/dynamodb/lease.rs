//! The LOCK record: a lease with a random token, taken with `attribute_not_exists`, taken over only
//! when it is exactly as observed, renewed and released only under its token.

use super::attrs::Item;
use super::errors::store_error;
use super::expr::Expr;
use super::writes::{ConditionFailed, RACE_RETRIES};
use super::{DynamoStore, codec, schema};
use crate::store::*;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use schema::lock as lk;

fn new_lock(request: &LockRequest) -> Lock {
    codec::lock_as_stored(Lock {
        locked_by: request.holder.clone(),
        lock_reason: request.reason.clone(),
        acquired_at: Some(request.now),
        expires_at: lease_until(request.now, request.lease),
        lease_token: new_lease_token(),
    })
}

impl DynamoStore {
    /// Puts a fresh lock if `condition` holds; on failure, the lock that made it fail.
    async fn put_lock(
        &self,
        operator_id: &str,
        group: &GroupId,
        lock: &Lock,
        condition: String,
        ex: Expr,
    ) -> Result<Result<(), Option<(Lock, Item)>>, StoreError> {
        let pk = schema::group_pk(operator_id, group);
        let result = self
            .client
            .put_item()
            .table_name(&self.ctx.table)
            .set_item(Some(codec::lock_item(operator_id, group, lock)))
            .condition_expression(condition)
            .set_expression_attribute_names(ex.names())
            .set_expression_attribute_values(ex.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(e) => match e.condition_failed() {
                Some(returned) => match self.current_item(returned, &pk, schema::SK_LOCK).await? {
                    Some(item) => Ok(Err(Some((
                        codec::decode_lock(&self.ctx.table, &item)?,
                        item,
                    )))),
                    None => Ok(Err(None)),
                },
                None => Err(store_error(&self.ctx, "PutItem", e)),
            },
        }
    }

    pub(super) async fn acquire(
        &self,
        operator_id: &str,
        group: &GroupId,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        for _ in 0..RACE_RETRIES {
            let lock = new_lock(request);
            let mut ex = Expr::new();
            let condition = format!("attribute_not_exists({})", ex.name(schema::PK));
            match self
                .put_lock(operator_id, group, &lock, condition, ex)
                .await?
            {
                Ok(()) => return Ok(LockOutcome::Acquired(lock)),
                Err(Some((held, _))) => return Ok(LockOutcome::Held(held)),
                // Released between our write and our read: try again.
                Err(None) => {}
            }
        }
        Err(self.kept_racing(
            "PutItem",
            &schema::group_pk(operator_id, group),
            schema::SK_LOCK,
        ))
    }

    pub(super) async fn take_over(
        &self,
        operator_id: &str,
        group: &GroupId,
        observed: &Lock,
        request: &LockRequest,
    ) -> Result<LockOutcome, StoreError> {
        // The condition compares stored strings. A lock this tool wrote stores exactly this text;
        // one another tool wrote (nanoseconds, an offset) is retried below with its raw text.
        let mut expires_text = codec::time_text(observed.expires_at);
        for _ in 0..RACE_RETRIES {
            let lock = new_lock(request);
            let mut ex = Expr::new();
            let condition = format!(
                "attribute_not_exists({}) OR ({} = {} AND {} = {})",
                ex.name(schema::PK),
                ex.name(lk::LEASE_TOKEN),
                ex.value(AttributeValue::S(observed.lease_token.clone())),
                ex.name(lk::EXPIRES_AT),
                ex.value(AttributeValue::S(expires_text.clone())),
            );
            match self
                .put_lock(operator_id, group, &lock, condition, ex)
                .await?
            {
                Ok(()) => return Ok(LockOutcome::Acquired(lock)),
                Err(None) => {}
                Err(Some((held, item))) => {
                    let same = held.lease_token == observed.lease_token
                        && held.expires_at == observed.expires_at;
                    match codec::raw_expires_at(&item) {
                        Some(text) if same && text != expires_text => {
                            expires_text = text.to_string()
                        }
                        _ => return Ok(LockOutcome::Held(held)),
                    }
                }
            }
        }
        Err(self.kept_racing(
            "PutItem",
            &schema::group_pk(operator_id, group),
            schema::SK_LOCK,
        ))
    }

    pub(super) async fn renew(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
        lease: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<LeaseOutcome, StoreError> {
        let pk = schema::group_pk(operator_id, group);
        let mut ex = Expr::new();
        let expires = codec::time_text(lease_until(now, lease));
        let update = ex.update(vec![(lk::EXPIRES_AT, Some(AttributeValue::S(expires)))]);
        let condition = held_with(&mut ex, lease_token);
        let result = self
            .guarded_update(
                codec::key(pk.clone(), schema::SK_LOCK),
                update,
                condition,
                &ex,
            )
            .send()
            .await;
        match result {
            Ok(out) => {
                let item = self
                    .current_item(out.attributes, &pk, schema::SK_LOCK)
                    .await?;
                let lock = match item {
                    Some(item) => Some(codec::decode_lock(&self.ctx.table, &item)?),
                    None => None,
                };
                Ok(LeaseOutcome::Done(lock))
            }
            Err(e) => match e.condition_failed() {
                Some(returned) => self.not_held(returned, &pk).await,
                None => Err(store_error(&self.ctx, "UpdateItem", e)),
            },
        }
    }

    async fn not_held(&self, returned: Option<Item>, pk: &str) -> Result<LeaseOutcome, StoreError> {
        let current = match self.current_item(returned, pk, schema::SK_LOCK).await? {
            Some(item) => Some(codec::decode_lock(&self.ctx.table, &item)?),
            None => None,
        };
        Ok(LeaseOutcome::NotHeld { current })
    }

    pub(super) async fn release(
        &self,
        operator_id: &str,
        group: &GroupId,
        lease_token: &str,
    ) -> Result<LeaseOutcome, StoreError> {
        let pk = schema::group_pk(operator_id, group);
        let mut ex = Expr::new();
        let condition = held_with(&mut ex, lease_token);
        let result = self
            .client
            .delete_item()
            .table_name(&self.ctx.table)
            .set_key(Some(codec::key(pk.clone(), schema::SK_LOCK)))
            .condition_expression(condition)
            .set_expression_attribute_names(ex.names())
            .set_expression_attribute_values(ex.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(LeaseOutcome::Done(None)),
            Err(e) => match e.condition_failed() {
                Some(returned) => self.not_held(returned, &pk).await,
                None => Err(store_error(&self.ctx, "DeleteItem", e)),
            },
        }
    }
}

/// The condition "the LOCK is still held with `lease_token`": renewing or releasing a lease
/// someone else has since taken over must fail.
fn held_with(ex: &mut Expr, lease_token: &str) -> String {
    format!(
        "{} = {}",
        ex.name(lk::LEASE_TOKEN),
        ex.value(AttributeValue::S(lease_token.to_string()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absurd_lease_ends_at_the_last_instant_a_timestamp_can_spell() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let until = lease_until(now, std::time::Duration::MAX);
        assert_eq!(codec::time_text(until), "9999-12-31T23:59:59.000Z");
        assert!(super::super::attrs::parse_time(&codec::time_text(until)).is_some());
    }
}
