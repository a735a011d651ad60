//! deploy/iam-policy.json grants exactly the DynamoDB actions the code calls: every call in
//! src/ has its action in the policy (or the controller would fail with AccessDenied), and every
//! action in the policy has a call (least privilege: nothing granted "just in case").

use std::collections::BTreeSet;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// SDK client methods and the IAM action each needs.
const CALLS: &[(&str, &str)] = &[
    (".get_item()", "dynamodb:GetItem"),
    (".put_item()", "dynamodb:PutItem"),
    (".update_item()", "dynamodb:UpdateItem"),
    (".delete_item()", "dynamodb:DeleteItem"),
    (".query()", "dynamodb:Query"),
    (".scan()", "dynamodb:Scan"),
    (".batch_get_item()", "dynamodb:BatchGetItem"),
    (".batch_write_item()", "dynamodb:BatchWriteItem"),
    (".transact_get_items()", "dynamodb:GetItem"),
    (".transact_write_items()", "dynamodb:TransactWriteItems"),
    // A ConditionCheck inside a transaction is authorized as its own action.
    ("ConditionCheck::builder()", "dynamodb:ConditionCheckItem"),
    (".describe_table()", "dynamodb:DescribeTable"),
    (".create_table()", "dynamodb:CreateTable"),
    (".update_time_to_live()", "dynamodb:UpdateTimeToLive"),
    (".describe_time_to_live()", "dynamodb:DescribeTimeToLive"),
    (".list_tables()", "dynamodb:ListTables"),
];

fn sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).expect("src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).expect("source"));
        }
    }
}

fn used() -> BTreeSet<&'static str> {
    let mut text = String::new();
    sources(&Path::new(ROOT).join("src"), &mut text);
    CALLS
        .iter()
        .filter(|(call, _)| text.contains(call))
        .map(|(_, action)| *action)
        .collect()
}

fn granted() -> BTreeSet<String> {
    let text = std::fs::read_to_string(Path::new(ROOT).join("deploy/iam-policy.json"))
        .expect("deploy/iam-policy.json");
    let policy: serde_json::Value = serde_json::from_str(&text).expect("json");
    let mut actions = BTreeSet::new();
    for statement in policy["Statement"].as_array().expect("statements") {
        assert_eq!(statement["Effect"], "Allow");
        for action in statement["Action"].as_array().expect("actions") {
            actions.insert(action.as_str().expect("action").to_string());
        }
    }
    actions
}

#[test]
fn every_dynamodb_call_in_the_code_is_granted() {
    let granted = granted();
    let missing: Vec<_> = used()
        .into_iter()
        .filter(|a| !granted.contains(*a))
        .collect();
    assert!(
        missing.is_empty(),
        "the code calls but the policy lacks {missing:?}"
    );
}

#[test]
fn the_policy_grants_nothing_the_code_does_not_call() {
    let used = used();
    let unused: Vec<_> = granted()
        .into_iter()
        .filter(|a| !used.contains(a.as_str()))
        .collect();
    assert!(unused.is_empty(), "granted but never called: {unused:?}");
}
