//! Items near DynamoDB's size limit: another tool filled a CONFIG with an attribute of its own
//! until it barely fits. Reading it works; a write that would grow it is refused with the fix,
//! and changes nothing.

use super::records::{put, write_valid_group};
use super::run::{Cmd, Item, OP, Scrub, Target, judge, same_records, snapshot};
use super::table::{Book, Category};
use crate::support::moto;
use aws_sdk_dynamodb::types::AttributeValue;
use kubectl_failover::store::GroupId;
use kubectl_failover::store::dynamodb::schema;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// Moto's item size: attribute names plus values (strings by their UTF-8 length, maps and
/// lists by their contents, booleans 1).
fn size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(text) | AttributeValue::N(text) => text.len(),
        AttributeValue::M(map) => size(map),
        AttributeValue::L(list) => list.iter().map(value_size).sum(),
        AttributeValue::Ss(set) | AttributeValue::Ns(set) => set.iter().map(String::len).sum(),
        _ => 1,
    }
}

/// The server's item size limit (moto: 405,000 bytes, between DynamoDB's documented 400 KB and
/// what it really accepts).
const LIMIT: usize = 405_000;

/// A CONFIG that another tool filled up to the size limit with an attribute of its own: reading
/// it works; a write that would grow it is refused and changes nothing.
pub async fn cases(book: &mut Book) {
    let (_store, table) = moto::fresh_store_named("bad-huge").await;
    let raw = moto::sdk_client().await;
    write_valid_group(&raw, &table, OP, "huge").await;
    let group = GroupId::new("shop", "huge").expect("group");
    let pk = schema::group_pk(OP, &group);
    let mut config = snapshot(&raw, &table)
        .await
        .into_iter()
        .find(|i| i.get("SK") == Some(&s("CONFIG")) && i.get("PK") == Some(&s(&pk)))
        .expect("the CONFIG just written");
    // 10 bytes below the limit: even the first attribute a write sets does not fit.
    let filler = LIMIT - 10 - size(&config) - "notes".len();
    config.insert("notes".into(), s(&"x".repeat(filler)));
    put(&raw, &table, config).await;
    let target = Target::on(&table);
    let scrub = Scrub::target(&target);
    let shown = format!(
        "CONFIG of {} KB (an attribute `notes` of another tool); ",
        LIMIT / 1000
    );
    for (args, code, phrases) in [
        (&["status", "shop/huge"][..], 0, &["Owner: east"][..]),
        (
            &["promote", "shop/huge", "--to", "west", "--yes"][..],
            3,
            &["400 KB"][..],
        ),
        (
            &["suspend", "shop/huge", "--reason", "x"][..],
            3,
            &["400 KB"][..],
        ),
    ] {
        let before = snapshot(&raw, &table).await;
        let run = Cmd::on(&target, args).run().await;
        let mut outcome = judge(&run, code, phrases, &scrub);
        if let (Ok(_), Err(e)) = (
            &outcome,
            same_records(&before, &snapshot(&raw, &table).await),
        ) {
            outcome = Err(e);
        }
        book.record(
            Category::Records,
            &format!("{shown}{}", super::cli::shown(args)),
            outcome,
        );
    }
}
