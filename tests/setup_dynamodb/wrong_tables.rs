//! Tables made by hand with another shape: setup refuses them (exit 3), names exactly each
//! difference and the fix, and leaves them as they were.

use super::{describe, setup};
use crate::support::moto;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("key")
}

fn string_attr(name: &str) -> AttributeDefinition {
    let b = AttributeDefinition::builder().attribute_name(name);
    b.attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute")
}

/// Creates a table another tool might have made: `keys` (name, kind) and an optional index
/// `GSI1` on GSI1PK/GSI1SK with `projection`.
async fn create_table_by_hand(
    client: &Client,
    table: &str,
    keys: &[(&str, KeyType)],
    gsi1: Option<ProjectionType>,
) {
    let mut req = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest);
    for (name, kind) in keys {
        req = req
            .attribute_definitions(string_attr(name))
            .key_schema(key(name, kind.clone()));
    }
    if let Some(projection) = gsi1 {
        let index = GlobalSecondaryIndex::builder()
            .index_name("GSI1")
            .key_schema(key("GSI1PK", KeyType::Hash))
            .key_schema(key("GSI1SK", KeyType::Range))
            .projection(Projection::builder().projection_type(projection).build())
            .build()
            .expect("gsi");
        req = req
            .attribute_definitions(string_attr("GSI1PK"))
            .attribute_definitions(string_attr("GSI1SK"))
            .global_secondary_indexes(index);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("create {table}: {e:?}"));
}

/// Runs setup on a hand-made table, checks it exited 3 naming the fix and left the table as it
/// was (still no GSI1 where there was none), and returns the listed differences.
async fn setup_refuses(table: &str, client: &Client) -> Vec<String> {
    let before = describe(client, table)
        .await
        .global_secondary_indexes()
        .len();
    let run = setup(table, &[]).await;
    run.assert_code(3);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr
            .contains(&format!("table \"{table}\" exists but does not match")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("--table-name"),
        "the fix is named: {}",
        run.stderr
    );
    assert_eq!(
        describe(client, table)
            .await
            .global_secondary_indexes()
            .len(),
        before
    );
    run.stderr
        .lines()
        .filter_map(|l| l.strip_prefix("  - "))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_table_with_lowercase_keys_is_refused_naming_both_keys() {
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("setup-lower");
    let lower = [("pk", KeyType::Hash), ("sk", KeyType::Range)];
    create_table_by_hand(&client, &table, &lower, Some(ProjectionType::All)).await;
    assert_eq!(
        setup_refuses(&table, &client).await,
        vec![
            "partition key is pk (S), expected PK (S)",
            "sort key is sk (S), expected SK (S)"
        ]
    );
}

#[tokio::test]
async fn a_hash_only_table_without_gsi1_is_refused_naming_the_sort_key_and_the_index() {
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("setup-hash");
    create_table_by_hand(&client, &table, &[("PK", KeyType::Hash)], None).await;
    let differences = setup_refuses(&table, &client).await;
    assert_eq!(differences.len(), 2, "{differences:?}");
    assert_eq!(differences[0], "sort key is missing, expected SK (S)");
    assert!(
        differences[1].starts_with("GSI1 is missing"),
        "{differences:?}"
    );
}

#[tokio::test]
async fn a_table_without_gsi1_is_refused_naming_only_the_index() {
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("setup-nogsi");
    let spec_keys = [("PK", KeyType::Hash), ("SK", KeyType::Range)];
    create_table_by_hand(&client, &table, &spec_keys, None).await;
    let differences = setup_refuses(&table, &client).await;
    assert_eq!(differences.len(), 1, "{differences:?}");
    assert!(
        differences[0].starts_with("GSI1 is missing"),
        "{differences:?}"
    );
}

#[tokio::test]
async fn a_keys_only_gsi1_is_refused_naming_its_projection() {
    let client = moto::sdk_client().await;
    let table = moto::unique_table_name("setup-keysonly");
    let spec_keys = [("PK", KeyType::Hash), ("SK", KeyType::Range)];
    create_table_by_hand(&client, &table, &spec_keys, Some(ProjectionType::KeysOnly)).await;
    assert_eq!(
        setup_refuses(&table, &client).await,
        vec!["GSI1 projection is KEYS_ONLY, expected ALL"]
    );
}
