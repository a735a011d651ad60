//! What the table costs at steady state, from the sizes of the records this tool really writes
//! (encoded by the DynamoDB codec, sized by DynamoDB's rules) and the requests each agent makes
//! per heartbeat interval: one heartbeat write (plus its GSI1 copy) and one strongly consistent
//! read of the group. `setup-dynamodb --estimate` prints it; docs/cost.md explains it.

use crate::store::dynamodb::attrs::Item;
use crate::store::dynamodb::codec::{cluster_attrs, config_item, item};
use crate::store::dynamodb::schema;
use crate::store::{ClusterState, ClusterStatus, ComponentStatus, GroupConfig, GroupId, Health};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// Hours in a month as AWS bills them.
pub const HOURS_PER_MONTH: f64 = 730.0;
/// On-demand price per million write request units (us-east-1, standard table class, since the
/// November 2024 price change). Other regions differ: scale the dollar figures accordingly.
pub const USD_PER_MILLION_WRITES: f64 = 0.625;
/// On-demand price per million read request units (same region and date).
pub const USD_PER_MILLION_READS: f64 = 0.125;
/// Provisioned price per write capacity unit and hour (us-east-1).
pub const USD_PER_WCU_HOUR: f64 = 0.00065;
/// Provisioned price per read capacity unit and hour (us-east-1).
pub const USD_PER_RCU_HOUR: f64 = 0.00013;
/// Headroom over the steady rate when suggesting provisioned capacity: a failover or a restart
/// adds reads and writes for a moment.
pub const HEADROOM: f64 = 1.5;

/// The steady-state cost of one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Failover groups.
    pub groups: u64,
    /// Clusters per group.
    pub clusters: u64,
    /// Heartbeat interval.
    pub interval: Duration,
    /// Size of one heartbeat (`CLUSTER#`) item, in bytes, as DynamoDB counts it.
    pub heartbeat_bytes: u64,
    /// Size of one CONFIG item, in bytes.
    pub config_bytes: u64,
    /// Write units per heartbeat: the item (1 per started KB) and its GSI1 copy.
    pub units_per_heartbeat: u64,
    /// Read units per group read: CONFIG plus every cluster's record, strongly consistent (1 per
    /// started 4 KB of the query's total).
    pub units_per_read: u64,
    /// Write units per second, table and GSI1 together.
    pub writes_per_second: f64,
    /// Read units per second.
    pub reads_per_second: f64,
}

impl Estimate {
    /// The estimate for `groups` groups of `clusters` clusters heartbeating every `interval`.
    pub fn new(groups: u64, clusters: u64, interval: Duration) -> Estimate {
        let heartbeat_bytes = item_size(&typical_heartbeat());
        let config_bytes = item_size(&config_item(&typical_config()));
        let units_per_heartbeat = 2 * heartbeat_bytes.div_ceil(1024);
        let units_per_read = (config_bytes + clusters * heartbeat_bytes)
            .div_ceil(4096)
            .max(1);
        let ticks = (groups * clusters) as f64 / interval.as_secs_f64().max(0.001);
        Estimate {
            groups,
            clusters,
            interval,
            heartbeat_bytes,
            config_bytes,
            units_per_heartbeat,
            units_per_read,
            writes_per_second: ticks * units_per_heartbeat as f64,
            reads_per_second: ticks * units_per_read as f64,
        }
    }

    /// Request units in a month: (writes, reads).
    pub fn units_per_month(&self) -> (f64, f64) {
        let seconds = HOURS_PER_MONTH * 3600.0;
        (
            self.writes_per_second * seconds,
            self.reads_per_second * seconds,
        )
    }

    /// Dollars per month on demand.
    pub fn on_demand_usd(&self) -> f64 {
        let (w, r) = self.units_per_month();
        w / 1e6 * USD_PER_MILLION_WRITES + r / 1e6 * USD_PER_MILLION_READS
    }

    /// Suggested provisioned capacity (read, write) for `setup-dynamodb`, which gives the table
    /// and GSI1 the same figures: the heartbeat writes land on both, half of the units each.
    pub fn provisioned(&self) -> (u64, u64) {
        let read = (self.reads_per_second * HEADROOM).ceil().max(1.0) as u64;
        let write = (self.writes_per_second / 2.0 * HEADROOM).ceil().max(1.0) as u64;
        (read, write)
    }

    /// Dollars per month with [`Estimate::provisioned`] capacity on the table and GSI1.
    pub fn provisioned_usd(&self) -> f64 {
        let (read, write) = self.provisioned();
        // Table and GSI1 each carry `read` and `write`.
        2.0 * HOURS_PER_MONTH * (read as f64 * USD_PER_RCU_HOUR + write as f64 * USD_PER_WCU_HOUR)
    }
}

/// A heartbeat as an agent writes it for a typical group: every component family reported, an
/// acknowledgement-free steady state, realistic names.
fn typical_heartbeat() -> Item {
    // Invariant: a literal, valid group name.
    let group = GroupId::new("payments-production", "checkout-api").expect("a valid group id");
    let components = ["workloads", "jobs", "volumes", "network", "flux"]
        .into_iter()
        .map(|c| {
            (
                c.to_string(),
                ComponentStatus {
                    health: Health::Ok,
                    message: String::new(),
                },
            )
        })
        .collect();
    let status = ClusterStatus {
        cluster_name: "eks-prod-us-west-2".into(),
        health: Health::Ok,
        state: ClusterState::Standby,
        last_heartbeat: Some(DateTime::<Utc>::UNIX_EPOCH),
        heartbeat_seq: Some(1_767_225_600_123),
        components,
        ack: None,
        fenced: false,
    };
    item(
        schema::group_pk("failover-operator", &group),
        schema::cluster_sk(&status.cluster_name),
        cluster_attrs("failover-operator", &group, &status),
    )
}

fn typical_config() -> GroupConfig {
    // Invariant: a literal, valid group name.
    let group = GroupId::new("payments-production", "checkout-api").expect("a valid group id");
    let mut c = GroupConfig::new(
        "failover-operator",
        group,
        "eks-prod-us-west-2",
        DateTime::<Utc>::UNIX_EPOCH,
    );
    for cluster in [
        "eks-prod-us-west-2",
        "eks-prod-us-east-1",
        "eks-prod-eu-west-1",
    ] {
        c.applied_specs.insert(
            cluster.into(),
            "heartbeatInterval=15s heartbeat=1m unhealthyPrimary=1m transitoryState=5m deactivation=1m selfFencing=true".into(),
        );
    }
    c
}

/// An item's size as DynamoDB bills it: for each attribute its name's UTF-8 length plus its
/// value's size (strings their UTF-8 length, numbers about one byte per two digits plus one,
/// booleans and nulls one byte, maps and lists three bytes plus their elements, map keys
/// counted like attribute names).
pub fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

fn value_size(v: &AttributeValue) -> u64 {
    match v {
        AttributeValue::S(s) => s.len() as u64,
        AttributeValue::N(n) => {
            let digits = n.chars().filter(char::is_ascii_digit).count() as u64;
            digits.div_ceil(2) + 1
        }
        AttributeValue::B(b) => b.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, v)| k.len() as u64 + 1 + value_size(v))
                .sum::<u64>()
        }
        AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value_size(v)).sum::<u64>(),
        AttributeValue::Ss(s) => s.iter().map(|x| x.len() as u64).sum(),
        AttributeValue::Ns(n) => n.iter().map(|x| x.len() as u64).sum(),
        AttributeValue::Bs(b) => b.iter().map(|x| x.as_ref().len() as u64).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typical_heartbeat_fits_one_write_unit_and_a_group_read_one_read_unit() {
        let e = Estimate::new(1, 3, Duration::from_secs(15));
        assert!(e.heartbeat_bytes < 1024, "{} bytes", e.heartbeat_bytes);
        assert_eq!(e.units_per_heartbeat, 2, "the item and its GSI1 copy");
        assert_eq!(e.units_per_read, 1);
        assert!(
            e.config_bytes > 200 && e.config_bytes < 4096,
            "{}",
            e.config_bytes
        );
    }

    #[test]
    fn cost_grows_with_groups_and_clusters_and_falls_with_a_longer_interval() {
        let base = Estimate::new(100, 3, Duration::from_secs(15));
        // 100 groups x 3 clusters / 15 s = 20 heartbeats/s: 40 WCU/s, 20 RCU/s.
        assert!((base.writes_per_second - 40.0).abs() < 1e-9);
        assert!((base.reads_per_second - 20.0).abs() < 1e-9);
        let (w, r) = base.units_per_month();
        assert!((w - 40.0 * 730.0 * 3600.0).abs() < 1.0);
        assert!((r - 20.0 * 730.0 * 3600.0).abs() < 1.0);
        let usd = base.on_demand_usd();
        assert!((usd - (w / 1e6 * 0.625 + r / 1e6 * 0.125)).abs() < 1e-6);
        assert!(Estimate::new(1000, 3, Duration::from_secs(15)).on_demand_usd() > 9.0 * usd);
        assert!(Estimate::new(100, 3, Duration::from_secs(30)).on_demand_usd() < usd * 0.51);
        assert_eq!(base.provisioned(), (30, 30));
    }

    #[test]
    fn sizes_follow_dynamodbs_rules() {
        let item: Item = [
            ("ab".to_string(), AttributeValue::S("xyz".into())),
            ("n".to_string(), AttributeValue::N("12345".into())),
            ("b".to_string(), AttributeValue::Bool(true)),
        ]
        .into_iter()
        .collect();
        assert_eq!(item_size(&item), (2 + 3) + (1 + 4) + (1 + 1));
    }
}
