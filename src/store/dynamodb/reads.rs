//! Reads: a group in one strongly consistent pass (CONFIG + `CLUSTER#` query, LOCK get), the GSI1
//! listings, and history pages.

use super::attrs::Item;
use super::errors::store_error;
use super::{DynamoStore, LoadCost, codec, schema};
use crate::store::*;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use std::collections::HashMap;

/// A page through `ExclusiveStartKey`, `None` on the first request.
type StartKey = Option<HashMap<String, AttributeValue>>;

impl DynamoStore {
    /// One strongly consistent GetItem.
    pub(super) async fn get_consistent(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.ctx.table)
            .set_key(Some(codec::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&self.ctx, "GetItem", e))?;
        Ok(out.item)
    }

    pub(super) async fn load(
        &self,
        operator_id: &str,
        group: &GroupId,
        include_lock: bool,
    ) -> Result<Option<GroupSnapshot>, StoreError> {
        let pk = schema::group_pk(operator_id, group);
        let lock_read = async {
            if include_lock {
                self.get_lock(&pk).await
            } else {
                Ok((None, LoadCost::default()))
            }
        };
        // Both requests at once: the snapshot is only as fresh as the slower of them, and neither
        // depends on the other.
        let (records, lock) = tokio::join!(self.query_group(&pk), lock_read);
        let (records, query_cost) = records?;
        let (lock, lock_cost) = lock?;
        self.record_load_cost(LoadCost {
            requests: query_cost.requests + lock_cost.requests,
            read_capacity_units: query_cost.read_capacity_units + lock_cost.read_capacity_units,
            items_read: query_cost.items_read + lock_cost.items_read,
        });
        let mut config = None;
        let mut clusters = Vec::new();
        for item in &records {
            match item.get(schema::SK) {
                Some(AttributeValue::S(sk)) if sk == schema::SK_CONFIG => {
                    config = Some(codec::decode_config(&self.ctx.table, item)?);
                }
                Some(AttributeValue::S(sk)) if sk.starts_with(schema::SK_CLUSTER_PREFIX) => {
                    clusters.push(codec::decode_cluster(&self.ctx.table, item)?.1);
                }
                // Record kinds another tool added below HISTORY#: not ours to read.
                _ => {}
            }
        }
        let Some(config) = config else {
            return Ok(None);
        };
        clusters.sort_by(|a, b| a.cluster_name.cmp(&b.cluster_name));
        let lock = match lock {
            Some(item) => Some(codec::decode_lock(&self.ctx.table, &item)?),
            None => None,
        };
        Ok(Some(GroupSnapshot {
            config,
            clusters,
            lock,
        }))
    }

    /// A strongly consistent query of one group's partition: `key_condition` may use `#pk`,
    /// `#sk`, `:pk` (the partition) and `:history` (the `HISTORY#` sort-key prefix, the one
    /// boundary between a group's state and its history).
    fn partition_query(&self, pk: &str, key_condition: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.ctx.table)
            .key_condition_expression(key_condition)
            .expression_attribute_names("#pk", schema::PK)
            .expression_attribute_names("#sk", schema::SK)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
            .expression_attribute_values(
                ":history",
                AttributeValue::S(schema::SK_HISTORY_PREFIX.to_string()),
            )
            .consistent_read(true)
    }

    /// CONFIG and every `CLUSTER#` record: the sort keys below `HISTORY#`, so history, however
    /// long, is never read.
    async fn query_group(&self, pk: &str) -> Result<(Vec<Item>, LoadCost), StoreError> {
        let mut cost = LoadCost::default();
        let mut items = Vec::new();
        let mut start: StartKey = None;
        loop {
            let out = self
                .partition_query(pk, "#pk = :pk AND #sk < :history")
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error(&self.ctx, "Query", e))?;
            cost.requests += 1;
            cost.items_read += u32::try_from(out.scanned_count).unwrap_or(0);
            cost.read_capacity_units += out
                .consumed_capacity
                .as_ref()
                .and_then(|c| c.capacity_units)
                .unwrap_or(0.0);
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok((items, cost));
            }
        }
    }

    async fn get_lock(&self, pk: &str) -> Result<(Option<Item>, LoadCost), StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.ctx.table)
            .set_key(Some(codec::key(pk.to_string(), schema::SK_LOCK)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| store_error(&self.ctx, "GetItem", e))?;
        let cost = LoadCost {
            requests: 1,
            read_capacity_units: out
                .consumed_capacity
                .as_ref()
                .and_then(|c| c.capacity_units)
                .unwrap_or(0.0),
            items_read: u32::from(out.item.is_some()),
        };
        Ok((out.item, cost))
    }

    /// Every item of GSI1 partition `gsi1pk`, all pages.
    async fn query_gsi1(&self, gsi1pk: String) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: StartKey = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.ctx.table)
                .index_name(schema::GSI1)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", schema::GSI1PK)
                .expression_attribute_values(":pk", AttributeValue::S(gsi1pk.clone()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error(&self.ctx, "Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    pub(super) async fn list_operator_groups(
        &self,
        operator_id: &str,
    ) -> Result<Listing<GroupConfig>, StoreError> {
        let mut listing = Listing {
            items: Vec::new(),
            skipped: Vec::new(),
        };
        for item in self
            .query_gsi1(schema::gsi1pk_operator(operator_id))
            .await?
        {
            if !matches!(item.get(schema::SK), Some(AttributeValue::S(sk)) if sk == schema::SK_CONFIG)
            {
                continue;
            }
            match codec::decode_config(&self.ctx.table, &item) {
                Ok(config) => listing.items.push(config),
                Err(e) => listing.skipped.push(e.to_string()),
            }
        }
        listing.items.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(listing)
    }

    pub(super) async fn list_memberships(
        &self,
        operator_id: &str,
        cluster: &str,
    ) -> Result<Listing<ClusterMembership>, StoreError> {
        let mut listing = Listing {
            items: Vec::new(),
            skipped: Vec::new(),
        };
        let sk = schema::cluster_sk(cluster);
        for item in self.query_gsi1(schema::gsi1pk_cluster(cluster)).await? {
            // Other operators' groups share the GSI1 partition of a cluster name.
            let ours = match (item.get(schema::PK), item.get(schema::SK)) {
                (Some(AttributeValue::S(pk)), Some(AttributeValue::S(item_sk))) => {
                    *item_sk == sk
                        && schema::parse_group_pk(pk).is_some_and(|(op, _)| op == operator_id)
                }
                _ => false,
            };
            if !ours {
                continue;
            }
            match codec::decode_cluster(&self.ctx.table, &item) {
                Ok((group, status)) => listing.items.push(ClusterMembership { group, status }),
                Err(e) => listing.skipped.push(e.to_string()),
            }
        }
        listing.items.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(listing)
    }

    /// Newest first. The page token is the sort-key timestamp of the last record returned; one
    /// record more than asked is read so that the last page says it is the last.
    pub(super) async fn history_page(
        &self,
        operator_id: &str,
        group: &GroupId,
        limit: usize,
        page: Option<&str>,
    ) -> Result<HistoryPage, StoreError> {
        let limit = limit.max(1);
        let pk = schema::group_pk(operator_id, group);
        let mut start: StartKey = page.map(|p| codec::key(pk.clone(), schema::history_sk(p)));
        let mut items: Vec<Item> = Vec::new();
        while items.len() <= limit {
            let wanted = i32::try_from(limit + 1 - items.len()).unwrap_or(i32::MAX);
            let out = self
                .partition_query(&pk, "#pk = :pk AND begins_with(#sk, :history)")
                .scan_index_forward(false)
                .limit(wanted)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error(&self.ctx, "Query", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                break;
            }
        }
        let more = items.len() > limit;
        items.truncate(limit);
        let next_page = match (more, items.last().and_then(|i| i.get(schema::SK))) {
            (true, Some(AttributeValue::S(sk))) => sk
                .strip_prefix(schema::SK_HISTORY_PREFIX)
                .map(str::to_string),
            _ => None,
        };
        let records = items
            .iter()
            .map(|item| codec::decode_history(&self.ctx.table, item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HistoryPage { records, next_page })
    }
}
