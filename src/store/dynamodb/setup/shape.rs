//! The table as plain data (`TableShape`) and the pure comparison of it against the schema the
//! spec requires, so every difference can be named exactly and the comparison tested without a
//! server.

use crate::store::dynamodb::schema::{GSI1, GSI1PK, GSI1SK, PK, SK};
use aws_sdk_dynamodb::types::{BillingMode, TableDescription};
use std::collections::BTreeMap;
use std::fmt;

/// DynamoDB's name for the partition key role in a key schema.
pub const HASH: &str = "HASH";
/// DynamoDB's name for the sort key role in a key schema.
pub const RANGE: &str = "RANGE";
/// The only key attribute type the spec uses (string).
const STRING: &str = "S";
/// The projection GSI1 needs: listings read whole records from the index.
const PROJECTION_ALL: &str = "ALL";

/// One element of a key schema: attribute name and role (`HASH` or `RANGE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPart {
    /// Attribute name.
    pub name: String,
    /// `HASH` or `RANGE`.
    pub role: String,
}

/// A global secondary index as DescribeTable shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexShape {
    /// Index name.
    pub name: String,
    /// Its key schema.
    pub key_schema: Vec<KeyPart>,
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`; `None` when not reported.
    pub projection: Option<String>,
    /// `ACTIVE`, `CREATING`, ...; `None` when not reported.
    pub status: Option<String>,
    /// Provisioned read/write capacity units (0/0 or `None` for on-demand).
    pub capacity: Option<(i64, i64)>,
}

/// What DescribeTable says about a table, reduced to what setup needs to judge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableShape {
    /// Table name.
    pub name: String,
    /// `ACTIVE`, `CREATING`, `DELETING`, ...
    pub status: String,
    /// Attribute name -> type (`S`, `N`, `B`) from the attribute definitions.
    pub attribute_types: BTreeMap<String, String>,
    /// The table's key schema.
    pub key_schema: Vec<KeyPart>,
    /// Global secondary indexes.
    pub indexes: Vec<IndexShape>,
    /// `PAY_PER_REQUEST` or `PROVISIONED`.
    pub billing_mode: String,
    /// Provisioned read/write capacity units of the table.
    pub capacity: Option<(i64, i64)>,
    /// Regions of the table's replicas (empty unless it is a global table).
    pub replica_regions: Vec<String>,
    /// `EVENTUAL` or `STRONG` for a global table; `None` when not reported.
    pub multi_region_consistency: Option<String>,
}

impl TableShape {
    /// Reduces the SDK's description to plain data.
    pub fn from_description(d: &TableDescription) -> TableShape {
        let keys = |ks: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
            ks.iter()
                .map(|k| KeyPart {
                    name: k.attribute_name().to_string(),
                    role: k.key_type().as_str().to_string(),
                })
                .collect::<Vec<_>>()
        };
        let capacity = |p: Option<&aws_sdk_dynamodb::types::ProvisionedThroughputDescription>| {
            p.map(|p| {
                (
                    p.read_capacity_units().unwrap_or_default(),
                    p.write_capacity_units().unwrap_or_default(),
                )
            })
        };
        TableShape {
            name: d.table_name().unwrap_or_default().to_string(),
            status: d
                .table_status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            attribute_types: d
                .attribute_definitions()
                .iter()
                .map(|a| {
                    let ty = a.attribute_type().as_str().to_string();
                    (a.attribute_name().to_string(), ty)
                })
                .collect(),
            key_schema: keys(d.key_schema()),
            indexes: d
                .global_secondary_indexes()
                .iter()
                .map(|g| IndexShape {
                    name: g.index_name().unwrap_or_default().to_string(),
                    key_schema: keys(g.key_schema()),
                    projection: g
                        .projection()
                        .and_then(|p| p.projection_type())
                        .map(|p| p.as_str().to_string()),
                    status: g.index_status().map(|s| s.as_str().to_string()),
                    capacity: capacity(g.provisioned_throughput()),
                })
                .collect(),
            // DescribeTable leaves out the billing summary for tables that were always
            // provisioned, so its absence means PROVISIONED.
            billing_mode: d
                .billing_mode_summary()
                .and_then(|b| b.billing_mode())
                .unwrap_or(&BillingMode::Provisioned)
                .as_str()
                .to_string(),
            capacity: capacity(d.provisioned_throughput()),
            replica_regions: d
                .replicas()
                .iter()
                .filter_map(|r| r.region_name().map(str::to_string))
                .collect(),
            multi_region_consistency: d.multi_region_consistency().map(|m| m.as_str().to_string()),
        }
    }

    /// The index named `GSI1`, if any.
    pub fn gsi1(&self) -> Option<&IndexShape> {
        self.indexes.iter().find(|i| i.name == GSI1)
    }

    /// True when the table and GSI1 are both ACTIVE: the table can serve every query.
    pub fn is_ready(&self) -> bool {
        self.status == "ACTIVE" && self.gsi1().and_then(|g| g.status.as_deref()) == Some("ACTIVE")
    }

    /// The table's and GSI1's states in one phrase, e.g. `CREATING` or `ACTIVE, GSI1 CREATING`.
    pub fn state_summary(&self) -> String {
        let table = if self.status.is_empty() {
            "unknown"
        } else {
            &self.status
        };
        let index = match self.gsi1() {
            None => "missing",
            Some(g) => g.status.as_deref().unwrap_or("unknown"),
        };
        if table == index {
            table.to_string()
        } else {
            format!("{table}, {GSI1} {index}")
        }
    }

    fn key_attr(&self, keys: &[KeyPart], role: &str) -> Option<Attr> {
        keys.iter().find(|k| k.role == role).map(|k| Attr {
            name: k.name.clone(),
            ty: self
                .attribute_types
                .get(&k.name)
                .cloned()
                .unwrap_or_else(|| "?".to_string()),
        })
    }
}

/// A key attribute: name and scalar type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Attribute name.
    pub name: String,
    /// `S`, `N` or `B` (`?` when the table does not define it).
    pub ty: String,
}

impl Attr {
    fn string(name: &str) -> Attr {
        Attr {
            name: name.to_string(),
            ty: STRING.to_string(),
        }
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.ty)
    }
}

/// Which key of the schema a difference is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySlot {
    /// The table's partition key.
    TablePartition,
    /// The table's sort key.
    TableSort,
    /// GSI1's partition key.
    IndexPartition,
    /// GSI1's sort key.
    IndexSort,
}

impl fmt::Display for KeySlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySlot::TablePartition => write!(f, "partition key"),
            KeySlot::TableSort => write!(f, "sort key"),
            KeySlot::IndexPartition => write!(f, "{GSI1} partition key"),
            KeySlot::IndexSort => write!(f, "{GSI1} sort key"),
        }
    }
}

/// One way an existing table differs from the schema the spec requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaDifference {
    /// A key is missing, or has another name or type.
    Key {
        /// Which key.
        slot: KeySlot,
        /// What the spec requires.
        expected: Attr,
        /// What the table has (`None`: no such key).
        actual: Option<Attr>,
    },
    /// The table has no index named GSI1.
    IndexMissing,
    /// GSI1 does not project all attributes.
    Projection {
        /// The projection it has (`None`: not reported).
        actual: Option<String>,
    },
}

impl fmt::Display for SchemaDifference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaDifference::Key {
                slot,
                expected,
                actual: None,
            } => write!(f, "{slot} is missing, expected {expected}"),
            SchemaDifference::Key {
                slot,
                expected,
                actual: Some(actual),
            } if actual.name == expected.name => write!(
                f,
                "{slot} {} has type {}, expected {}",
                actual.name, actual.ty, expected.ty
            ),
            SchemaDifference::Key {
                slot,
                expected,
                actual: Some(actual),
            } => write!(f, "{slot} is {actual}, expected {expected}"),
            SchemaDifference::IndexMissing => write!(
                f,
                "{GSI1} is missing, expected a global secondary index {GSI1} on {} / {} with projection {PROJECTION_ALL}",
                Attr::string(GSI1PK),
                Attr::string(GSI1SK)
            ),
            SchemaDifference::Projection { actual } => write!(
                f,
                "{GSI1} projection is {}, expected {PROJECTION_ALL}",
                actual.as_deref().unwrap_or("not reported")
            ),
        }
    }
}

/// Every way `shape` differs from the spec's schema (PK/SK strings; GSI1 on GSI1PK/GSI1SK
/// strings, projection ALL). Empty when the table fits. Billing, capacity and extra indexes
/// are not part of the contract and are not compared.
pub fn schema_differences(shape: &TableShape) -> Vec<SchemaDifference> {
    let mut out = Vec::new();
    let mut key = |slot, keys: &[KeyPart], role: &str, expected: &str| {
        let expected = Attr::string(expected);
        let actual = shape.key_attr(keys, role);
        if actual.as_ref() != Some(&expected) {
            out.push(SchemaDifference::Key {
                slot,
                expected,
                actual,
            });
        }
    };
    key(KeySlot::TablePartition, &shape.key_schema, HASH, PK);
    key(KeySlot::TableSort, &shape.key_schema, RANGE, SK);
    match shape.gsi1() {
        None => out.push(SchemaDifference::IndexMissing),
        Some(index) => {
            key(KeySlot::IndexPartition, &index.key_schema, HASH, GSI1PK);
            key(KeySlot::IndexSort, &index.key_schema, RANGE, GSI1SK);
            if index.projection.as_deref() != Some(PROJECTION_ALL) {
                out.push(SchemaDifference::Projection {
                    actual: index.projection.clone(),
                });
            }
        }
    }
    out
}

/// The regions of the replicas that make `shape` unsafe for conditional writes: those of a
/// global table not in multi-region strong consistency mode (each replica evaluates conditions
/// on its own copy and concurrent writes resolve last-writer-wins). Empty when it is safe.
pub fn eventually_consistent_replicas(shape: &TableShape) -> Vec<String> {
    if shape.multi_region_consistency.as_deref() == Some("STRONG") {
        return Vec::new();
    }
    shape.replica_regions.clone()
}

#[cfg(test)]
mod tests;
