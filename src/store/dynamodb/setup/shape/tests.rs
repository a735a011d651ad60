//! Unit tests of the pure schema comparison: each wrong table is named by exactly its differences.

use super::*;

fn part(name: &str, role: &str) -> KeyPart {
    KeyPart {
        name: name.to_string(),
        role: role.to_string(),
    }
}

/// A table exactly as the spec describes it.
fn spec_shape() -> TableShape {
    TableShape {
        name: "failover-operator".into(),
        status: "ACTIVE".into(),
        attribute_types: [PK, SK, GSI1PK, GSI1SK]
            .iter()
            .map(|n| (n.to_string(), "S".to_string()))
            .collect(),
        key_schema: vec![part(PK, HASH), part(SK, RANGE)],
        indexes: vec![IndexShape {
            name: GSI1.into(),
            key_schema: vec![part(GSI1PK, HASH), part(GSI1SK, RANGE)],
            projection: Some("ALL".into()),
            status: Some("ACTIVE".into()),
            capacity: None,
        }],
        billing_mode: "PAY_PER_REQUEST".into(),
        ..TableShape::default()
    }
}

fn messages(shape: &TableShape) -> Vec<String> {
    schema_differences(shape)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_spec_table_has_no_differences_whatever_its_billing_or_extra_indexes() {
    let mut shape = spec_shape();
    assert_eq!(messages(&shape), Vec::<String>::new());
    shape.billing_mode = "PROVISIONED".into();
    shape.capacity = Some((3, 1));
    shape.indexes.push(IndexShape {
        name: "Other".into(),
        key_schema: vec![part("x", HASH)],
        projection: Some("KEYS_ONLY".into()),
        ..IndexShape::default()
    });
    assert_eq!(messages(&shape), Vec::<String>::new());
}

#[test]
fn lowercase_key_names_are_each_named_with_what_was_expected() {
    let mut shape = spec_shape();
    shape.key_schema = vec![part("pk", HASH), part("sk", RANGE)];
    shape.attribute_types.insert("pk".into(), "S".into());
    shape.attribute_types.insert("sk".into(), "S".into());
    assert_eq!(
        messages(&shape),
        vec![
            "partition key is pk (S), expected PK (S)",
            "sort key is sk (S), expected SK (S)"
        ]
    );
}

#[test]
fn a_hash_only_table_is_reported_as_missing_its_sort_key() {
    let mut shape = spec_shape();
    shape.key_schema = vec![part(PK, HASH)];
    assert_eq!(
        messages(&shape),
        vec!["sort key is missing, expected SK (S)"]
    );
}

#[test]
fn a_key_of_the_wrong_type_names_the_type_it_has() {
    let mut shape = spec_shape();
    shape.attribute_types.insert(SK.into(), "N".into());
    shape.attribute_types.insert(GSI1PK.into(), "B".into());
    assert_eq!(
        messages(&shape),
        vec![
            "sort key SK has type N, expected S",
            "GSI1 partition key GSI1PK has type B, expected S"
        ]
    );
}

#[test]
fn a_missing_gsi1_is_one_difference_that_describes_the_index_to_add() {
    let mut shape = spec_shape();
    shape.indexes.clear();
    let got = messages(&shape);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].starts_with("GSI1 is missing"), "{got:?}");
    assert!(
        got[0].contains("GSI1PK (S) / GSI1SK (S) with projection ALL"),
        "{got:?}"
    );
}

#[test]
fn a_keys_only_gsi1_names_its_projection() {
    let mut shape = spec_shape();
    shape.indexes[0].projection = Some("KEYS_ONLY".into());
    assert_eq!(
        messages(&shape),
        vec!["GSI1 projection is KEYS_ONLY, expected ALL"]
    );
}

#[test]
fn a_gsi1_with_other_keys_lists_every_wrong_key() {
    let mut shape = spec_shape();
    shape.indexes[0].key_schema = vec![part("gsi1pk", HASH)];
    shape.attribute_types.insert("gsi1pk".into(), "S".into());
    assert_eq!(
        messages(&shape),
        vec![
            "GSI1 partition key is gsi1pk (S), expected GSI1PK (S)",
            "GSI1 sort key is missing, expected GSI1SK (S)"
        ]
    );
}

#[test]
fn readiness_needs_both_the_table_and_gsi1_active() {
    let mut shape = spec_shape();
    assert!(shape.is_ready());
    assert_eq!(shape.state_summary(), "ACTIVE");
    shape.indexes[0].status = Some("CREATING".into());
    assert!(!shape.is_ready());
    assert_eq!(shape.state_summary(), "ACTIVE, GSI1 CREATING");
    shape.status = "CREATING".into();
    assert_eq!(shape.state_summary(), "CREATING");
    shape.indexes.clear();
    assert_eq!(shape.state_summary(), "CREATING, GSI1 missing");
}

#[test]
fn only_replicas_outside_strong_consistency_are_flagged() {
    let mut shape = spec_shape();
    assert!(eventually_consistent_replicas(&shape).is_empty());
    shape.replica_regions = vec!["eu-west-1".into()];
    assert_eq!(eventually_consistent_replicas(&shape), vec!["eu-west-1"]);
    shape.multi_region_consistency = Some("EVENTUAL".into());
    assert_eq!(eventually_consistent_replicas(&shape), vec!["eu-west-1"]);
    shape.multi_region_consistency = Some("STRONG".into());
    assert!(eventually_consistent_replicas(&shape).is_empty());
}

#[test]
fn a_description_without_billing_summary_is_provisioned() {
    let d = TableDescription::builder()
        .table_name("t")
        .table_status(aws_sdk_dynamodb::types::TableStatus::Creating)
        .build();
    let shape = TableShape::from_description(&d);
    assert_eq!(shape.billing_mode, "PROVISIONED");
    assert_eq!(shape.status, "CREATING");
    assert_eq!(shape.name, "t");
}
