//! Tests of `table`: the table-shape verdict and the IAM probes' classification. AccessDenied
//! cannot be produced by the moto server the integration tests use (its IAM enforcement is
//! off), so the classification of real AWS answers is tested here.

use super::Status;
use super::table::*;
use crate::store::StoreError;
use crate::store::dynamodb::setup::{
    SchemaDifference, SetupError, SetupOutcome, TableAction, TableShape, TtlOutcome,
};

fn outcome(ttl: TtlOutcome, warnings: bool) -> SetupOutcome {
    let warnings = if warnings {
        vec![crate::store::dynamodb::setup::SetupWarning::Ttl {
            table: "t".into(),
            outcome: ttl.clone(),
        }]
    } else {
        vec![]
    };
    SetupOutcome {
        table: "t".into(),
        region: "us-west-2".into(),
        action: TableAction::Checked,
        shape: TableShape::default(),
        ttl,
        warnings,
    }
}

#[test]
fn a_table_that_matches_passes_and_a_ttl_warning_warns() {
    let ok = judge_table(&Ok(outcome(TtlOutcome::Off, false)));
    assert_eq!(ok.status, Status::Pass, "{ok:?}");
    assert!(
        ok.detail.contains("table \"t\" matches the schema"),
        "{ok:?}"
    );
    let denied = TtlOutcome::Unavailable("access denied".into());
    let warn = judge_table(&Ok(outcome(denied, true)));
    assert_eq!(warn.status, Status::Warn, "{warn:?}");
    assert!(
        warn.detail.contains("dynamodb:DescribeTimeToLive"),
        "{warn:?}"
    );
}

#[test]
fn a_table_without_gsi1_or_missing_fails_with_the_setup_command() {
    let wrong = judge_table(&Err(SetupError::WrongSchema {
        table: "t".into(),
        differences: vec![SchemaDifference::IndexMissing],
    }));
    assert_eq!(wrong.status, Status::Fail);
    assert!(wrong.detail.contains("GSI1 is missing"), "{wrong:?}");
    assert!(
        wrong
            .fix
            .unwrap()
            .contains("setup-dynamodb --table-name NEW")
    );
    let missing = judge_table(&Err(SetupError::Store(StoreError::TableNotFound {
        table: "t".into(),
        region: "eu-west-1".into(),
    })));
    assert_eq!(missing.status, Status::Fail);
    assert!(
        missing
            .fix
            .unwrap()
            .contains("setup-dynamodb --table-name t --region eu-west-1")
    );
}

/// AWS's wording of a denial (the IAM policy simulator and DynamoDB both use it).
const DENIED: &str = "User: arn:aws:sts::123456789012:assumed-role/ops/alice is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-west-2:123456789012:table/t because no identity-based policy allows the dynamodb:PutItem action";

#[test]
fn a_failed_condition_proves_the_permission_and_access_denied_names_the_action() {
    assert_eq!(
        classify(
            Some("ConditionalCheckFailedException"),
            "The conditional request failed"
        ),
        ProbeOutcome::Allowed
    );
    assert_eq!(
        classify(
            Some("TransactionCanceledException"),
            "Transaction cancelled [ConditionalCheckFailed]"
        ),
        ProbeOutcome::Allowed
    );
    assert!(matches!(
        classify(Some("AccessDeniedException"), DENIED),
        ProbeOutcome::Denied(_)
    ));
    assert!(matches!(
        classify(
            Some("TransactionCanceledException"),
            "[None, AccessDenied]: not authorized to perform: dynamodb:ConditionCheckItem"
        ),
        ProbeOutcome::Denied(_)
    ));
    assert!(matches!(
        classify(
            Some("ValidationException"),
            "The table does not have the specified index: GSI1"
        ),
        ProbeOutcome::NotProved(_)
    ));
    let (action, resource) = denied_action(DENIED).unwrap();
    assert_eq!(action, "dynamodb:PutItem");
    assert_eq!(
        resource.as_deref(),
        Some("arn:aws:dynamodb:us-west-2:123456789012:table/t")
    );
    assert_eq!(denied_action("Access denied"), None);
}

#[test]
fn iam_checks_pass_when_allowed_and_a_denial_names_the_action_resource_and_policy() {
    let probes = vec![
        (Probe::GetItem, ProbeOutcome::Allowed),
        (
            Probe::PutItem,
            classify(Some("AccessDeniedException"), DENIED),
        ),
        (
            Probe::QueryIndex,
            classify(Some("AccessDeniedException"), "Access denied"),
        ),
        (Probe::DeleteItem, ProbeOutcome::NotProved("timeout".into())),
    ];
    let checks = judge_iam(&probes, "t", "us-west-2", "the AWS profile \"ops\"");
    assert_eq!(checks[0].status, Status::Pass);
    assert!(
        checks[0].detail.contains("for the AWS profile \"ops\""),
        "{:?}",
        checks[0]
    );
    let put = &checks[1];
    assert_eq!(
        (put.status, put.name.as_str()),
        (Status::Fail, "IAM dynamodb:PutItem")
    );
    assert!(
        put.detail.starts_with(
            "missing dynamodb:PutItem on arn:aws:dynamodb:us-west-2:123456789012:table/t"
        ),
        "{put:?}"
    );
    let fix = put.fix.as_ref().unwrap();
    assert!(
        fix.contains("deploy/iam-policy.json") && fix.contains("AWS_PROFILE"),
        "{fix}"
    );
    // Without AWS's wording, the probe's own action and the index's ARN are named.
    assert!(
        checks[2].detail.starts_with(
            "missing dynamodb:Query on arn:aws:dynamodb:us-west-2:<account-id>:table/t/index/GSI1"
        ),
        "{:?}",
        checks[2]
    );
    assert_eq!(checks[3].status, Status::Warn);
}

#[test]
fn the_credentials_are_described_from_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(
        credentials_source(env(&[("AWS_PROFILE", "ops"), ("AWS_ACCESS_KEY_ID", "x")])),
        "the AWS profile \"ops\""
    );
    assert!(credentials_source(env(&[("AWS_ACCESS_KEY_ID", "x")])).contains("AWS_ACCESS_KEY_ID"));
    assert!(credentials_source(env(&[])).contains("default"));
}
