//! The table: its shape (the verdict of `setup-dynamodb --check`, `store::dynamodb::setup::
//! check_table`), and the IAM permissions on it, proved without side effects.
//!
//! Each write action is probed with a request on a probe key whose condition cannot hold
//! (`attribute_exists(PK) AND attribute_not_exists(PK)`): DynamoDB authorizes a request before
//! it evaluates the condition, so `ConditionalCheckFailedException` proves the permission and
//! nothing is written, while `AccessDeniedException` names the missing action. Reads of the
//! probe key change nothing anyway. The probes run with the credentials of whoever runs the
//! doctor, which need not be the controller's role: the checks say so.

use super::{Area, Check, Status};
use crate::store::StoreError;
use crate::store::dynamodb::schema::GSI1;
use crate::store::dynamodb::setup::{SetupError, SetupOutcome};

/// Partition key of the probe item (never written: every probe's condition fails).
pub const PROBE_PK: &str = "DOCTOR#probe";
/// Sort key of the probe item.
pub const PROBE_SK: &str = "PROBE";
/// The condition no item satisfies.
pub const IMPOSSIBLE_CONDITION: &str = "attribute_exists(#pk) AND attribute_not_exists(#pk)";

/// The table-shape check from `check_table`'s result.
pub fn judge_table(result: &Result<SetupOutcome, SetupError>) -> Check {
    let name = "table shape";
    match result {
        Ok(outcome) if outcome.warnings.is_empty() => {
            Check::pass(Area::Table, name, outcome.summary())
        }
        Ok(outcome) => Check::warn(
            Area::Table,
            name,
            format!(
                "{}; {}",
                outcome.summary(),
                outcome
                    .warnings
                    .iter()
                    .map(|w| w.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            "see the warning; kubectl failover setup-dynamodb (without --check) enables TTL when permitted",
        ),
        Err(e) => Check::fail(Area::Table, name, e.to_string(), table_fix(e)),
    }
}

fn table_fix(e: &SetupError) -> String {
    match e {
        SetupError::WrongSchema { .. } => "create a table of the right shape (kubectl failover setup-dynamodb --table-name NEW) and point DYNAMODB_TABLE_NAME of every cluster at it".into(),
        SetupError::Store(StoreError::TableNotFound { table, region }) => format!(
            "kubectl failover setup-dynamodb --table-name {table} --region {region}, or point --table-name at the table the controllers use"
        ),
        SetupError::AccessDenied { .. } => "grant dynamodb:DescribeTable on the table (deploy/iam-policy.json) to these credentials".into(),
        SetupError::LastWriterWins { .. } => "use a single-Region table (docs/dynamodb-table.md, \"Table layouts\")".into(),
        SetupError::Store(StoreError::Unavailable { .. } | StoreError::Throttled { .. }) => {
            "check the network, AWS_REGION and AWS_ENDPOINT, then run the doctor again".into()
        }
        _ => "see the message; kubectl failover setup-dynamodb --check says the same".into(),
    }
}

/// One request made to prove a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Probe {
    /// DescribeTable (the table-shape check's own request).
    DescribeTable,
    /// GetItem of the probe key.
    GetItem,
    /// Query of the probe partition.
    Query,
    /// Query of GSI1 (a separate resource in IAM: `table/T/index/*`).
    QueryIndex,
    /// A conditional PutItem that cannot succeed.
    PutItem,
    /// A conditional UpdateItem that cannot succeed.
    UpdateItem,
    /// A conditional DeleteItem that cannot succeed.
    DeleteItem,
    /// TransactWriteItems with one ConditionCheck that cannot succeed (the ownership flip's
    /// shape: it needs ConditionCheckItem too).
    TransactWriteItems,
}

impl Probe {
    /// Every probe, in the order they are made and listed.
    pub const ALL: [Probe; 8] = [
        Probe::DescribeTable,
        Probe::GetItem,
        Probe::Query,
        Probe::QueryIndex,
        Probe::PutItem,
        Probe::UpdateItem,
        Probe::DeleteItem,
        Probe::TransactWriteItems,
    ];

    /// The IAM action(s) it proves.
    pub fn actions(self) -> &'static str {
        match self {
            Probe::DescribeTable => "dynamodb:DescribeTable",
            Probe::GetItem => "dynamodb:GetItem",
            Probe::Query | Probe::QueryIndex => "dynamodb:Query",
            Probe::PutItem => "dynamodb:PutItem",
            Probe::UpdateItem => "dynamodb:UpdateItem",
            Probe::DeleteItem => "dynamodb:DeleteItem",
            Probe::TransactWriteItems => {
                "dynamodb:TransactWriteItems and dynamodb:ConditionCheckItem"
            }
        }
    }

    /// How its check is named: the action, and the index for the index query.
    pub fn label(self) -> String {
        match self {
            Probe::QueryIndex => format!("{} on index {GSI1}", self.actions()),
            _ => self.actions().to_string(),
        }
    }

    /// The resource it is checked on, given the table's ARN.
    fn resource(self, table_arn: &str) -> String {
        match self {
            Probe::QueryIndex => format!("{table_arn}/index/{GSI1}"),
            _ => table_arn.to_string(),
        }
    }
}

/// What a probe's answer proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The request was authorized (it succeeded, or only its condition failed).
    Allowed,
    /// The credentials lack the permission: AWS's message (it names the action and resource).
    Denied(String),
    /// Another answer (unreachable, a table without GSI1, ...): nothing proved either way.
    NotProved(String),
}

/// Error codes that mean the request was refused for who sent it (as `store::dynamodb::errors`
/// classifies them).
const DENIED_CODES: &[&str] = &[
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
];

/// Classifies a probe's error answer by its code and message. A failed condition, alone or as
/// the reason a transaction was cancelled, proves the request was authorized.
pub fn classify(code: Option<&str>, message: &str) -> ProbeOutcome {
    let text = format!("{}: {message}", code.unwrap_or("error"));
    match code {
        Some("ConditionalCheckFailedException") => ProbeOutcome::Allowed,
        Some("TransactionCanceledException") if message.contains("ConditionalCheckFailed") => {
            ProbeOutcome::Allowed
        }
        Some(c) if DENIED_CODES.contains(&c) => ProbeOutcome::Denied(text),
        _ if message.contains("not authorized to perform") => ProbeOutcome::Denied(text),
        _ => ProbeOutcome::NotProved(text),
    }
}

/// The action and resource AWS names in a denial ("User: arn:... is not authorized to perform:
/// dynamodb:PutItem on resource: arn:aws:dynamodb:...:table/t because ...").
pub fn denied_action(message: &str) -> Option<(String, Option<String>)> {
    let rest = message.split("perform: ").nth(1)?;
    let action = rest.split_whitespace().next()?.to_string();
    let resource = rest
        .split("on resource: ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .map(str::to_string);
    Some((action, resource))
}

/// The table's ARN with the account left for the reader to fill in (the doctor does not call
/// STS to learn it).
pub fn table_arn(table: &str, region: &str) -> String {
    format!("arn:aws:dynamodb:{region}:<account-id>:table/{table}")
}

/// One check per probe. `identity` says whose credentials made them.
pub fn judge_iam(
    probes: &[(Probe, ProbeOutcome)],
    table: &str,
    region: &str,
    identity: &str,
) -> Vec<Check> {
    let arn = table_arn(table, region);
    probes
        .iter()
        .map(|(probe, outcome)| {
            let name = format!("IAM {}", probe.label());
            let resource = probe.resource(&arn);
            match outcome {
                ProbeOutcome::Allowed => Check::pass(
                    Area::Iam,
                    name,
                    format!("allowed on {resource} for {identity} (proved without writing)"),
                ),
                ProbeOutcome::Denied(message) => {
                    let (action, on) = denied_action(message)
                        .map(|(a, r)| (a, r.unwrap_or_else(|| resource.clone())))
                        .unwrap_or_else(|| (probe.actions().to_string(), resource.clone()));
                    Check::fail(
                        Area::Iam,
                        name,
                        format!("missing {action} on {on} for {identity} ({message})"),
                        format!(
                            "add {action} on {on} to the controller's role (deploy/iam-policy.json); these are the doctor's credentials: run it with AWS_PROFILE set to the controller's role to check that one"
                        ),
                    )
                }
                ProbeOutcome::NotProved(message) => Check::warn(
                    Area::Iam,
                    name,
                    format!("not proved for {identity}: {message}"),
                    "fix the table check above first, then run the doctor again",
                ),
            }
        })
        .collect()
}

/// Where the doctor's AWS credentials come from, as far as the environment says, for the IAM
/// checks' wording. `env` looks a variable up.
pub fn credentials_source(env: impl Fn(&str) -> Option<String>) -> String {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    if let Some(profile) = set("AWS_PROFILE") {
        format!("the AWS profile {profile:?}")
    } else if set("AWS_ACCESS_KEY_ID").is_some() {
        "the access key in AWS_ACCESS_KEY_ID".to_string()
    } else if set("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        format!(
            "the web identity role {}",
            set("AWS_ROLE_ARN").unwrap_or_else(|| "(AWS_ROLE_ARN)".into())
        )
    } else {
        "the default AWS credentials (profile \"default\", SSO or instance role)".to_string()
    }
}

/// The IAM checks that could not be made, e.g. because the table check failed first.
pub fn iam_skipped(why: &str) -> Vec<Check> {
    vec![Check {
        area: Area::Iam,
        name: "IAM permissions".into(),
        status: Status::Skipped,
        detail: why.to_string(),
        fix: None,
    }]
}
