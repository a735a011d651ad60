//! Unit tests of setup's judgement: unusable states, warnings, exit codes and the summary line.

use super::*;
use crate::error::ExitCode;

fn ctx() -> ErrorContext {
    ErrorContext {
        table: "coord".into(),
        region: "eu-west-1".into(),
        endpoint: "http://127.0.0.1:1".into(),
        max_attempts: 1,
    }
}

/// The spec's table, ACTIVE, as DescribeTable would show it.
fn spec_shape() -> TableShape {
    let part = |name: &str, role: &str| KeyPart {
        name: name.into(),
        role: role.into(),
    };
    TableShape {
        name: "coord".into(),
        status: "ACTIVE".into(),
        attribute_types: [PK, SK, GSI1PK, GSI1SK]
            .iter()
            .map(|n| (n.to_string(), "S".to_string()))
            .collect(),
        key_schema: vec![part(PK, "HASH"), part(SK, "RANGE")],
        indexes: vec![IndexShape {
            name: GSI1.into(),
            key_schema: vec![part(GSI1PK, "HASH"), part(GSI1SK, "RANGE")],
            projection: Some("ALL".into()),
            status: Some("ACTIVE".into()),
            capacity: None,
        }],
        billing_mode: "PAY_PER_REQUEST".into(),
        ..TableShape::default()
    }
}

/// A global table in eventual-consistency mode (last writer wins) defeats every conditional
/// write the protocol relies on: refused, naming the replicas and the safe layouts. The same
/// replicas in strong-consistency mode pass.
#[test]
fn an_eventually_consistent_global_table_is_refused_naming_the_safe_layouts() {
    let mut shape = spec_shape();
    shape.replica_regions = vec!["us-east-1".into(), "eu-west-1".into()];
    let err = validate(&ctx(), &shape).unwrap_err();
    assert!(matches!(err, SetupError::LastWriterWins { .. }), "{err}");
    assert_eq!(err.exit_code(), ExitCode::Conflict);
    let text = err.to_string();
    assert!(text.contains("us-east-1, eu-west-1"), "{text}");
    assert!(text.contains("last-writer-wins"), "{text}");
    assert!(text.contains("single-Region table"), "{text}");
    shape.multi_region_consistency = Some("EVENTUAL".into());
    assert!(validate(&ctx(), &shape).is_err());
    shape.multi_region_consistency = Some("STRONG".into());
    assert!(validate(&ctx(), &shape).is_ok());
}

#[test]
fn a_ttl_on_another_attribute_is_a_warning_that_names_it() {
    let ttl = TtlOutcome::OtherAttribute("expiresAtEpoch".into());
    let out = outcome(&ctx(), TableAction::Existed, spec_shape(), ttl);
    let text = out
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect::<String>();
    assert!(
        text.contains("\"expiresAtEpoch\"") && text.contains("\"coord\""),
        "{text}"
    );
}

#[test]
fn a_deleting_or_archived_table_is_refused_before_its_schema_is_judged() {
    let mut shape = spec_shape();
    shape.status = "DELETING".into();
    let err = validate(&ctx(), &shape).unwrap_err();
    assert!(matches!(err, SetupError::Deleting { .. }), "{err}");
    assert_eq!(err.exit_code(), ExitCode::Conflict);
    shape.status = "ARCHIVED".into();
    let err = validate(&ctx(), &shape).unwrap_err();
    assert!(err.to_string().contains("is ARCHIVED"), "{err}");
    shape.status = "CREATING".into();
    assert!(
        validate(&ctx(), &shape).is_ok(),
        "a CREATING table is waited for"
    );
}

#[test]
fn each_failure_has_the_documented_exit_code() {
    let table = || "coord".to_string();
    let timeout = SetupError::Timeout {
        table: table(),
        state: "CREATING".into(),
        waited: Duration::from_secs(300),
    };
    assert_eq!(timeout.exit_code(), ExitCode::Timeout);
    let wrong = SetupError::WrongSchema {
        table: table(),
        differences: vec![SchemaDifference::IndexMissing],
    };
    assert_eq!(wrong.exit_code(), ExitCode::Conflict);
    let denied = SetupError::from_store(
        &ctx(),
        StoreError::AccessDenied {
            operation: "CreateTable",
            table: table(),
            message: "AccessDeniedException: no".into(),
        },
    );
    assert_eq!(denied.exit_code(), ExitCode::Unavailable);
    let text = denied.to_string();
    assert!(
        text.contains("dynamodb:CreateTable") && text.contains("eu-west-1"),
        "{text}"
    );
    let down = SetupError::from_store(
        &ctx(),
        StoreError::Unavailable {
            operation: "DescribeTable",
            table: table(),
            endpoint: "http://127.0.0.1:1".into(),
            message: "refused".into(),
        },
    );
    assert_eq!(down.exit_code(), ExitCode::Unavailable);
    assert!(down.to_string().contains("http://127.0.0.1:1"), "{down}");
}

#[test]
fn the_summary_shows_the_billing_and_state_as_described() {
    let mut shape = spec_shape();
    shape.billing_mode = "PROVISIONED".into();
    shape.capacity = Some((10, 7));
    shape.status = "CREATING".into();
    shape.indexes[0].status = Some("CREATING".into());
    let out = outcome(&ctx(), TableAction::Created, shape, TtlOutcome::NotYet);
    assert_eq!(
        out.summary(),
        "table \"coord\" created (PROVISIONED, 10 RCU / 7 WCU) in eu-west-1; not ACTIVE yet: CREATING; TTL not set yet"
    );
}
