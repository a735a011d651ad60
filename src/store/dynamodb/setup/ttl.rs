//! Enabling DynamoDB's time to live on [`TTL_ATTRIBUTE`](super::TTL_ATTRIBUTE), idempotently.
//!
//! TTL only bounds how long history is kept; the table works without it. So a missing
//! permission or a server without TTL support is a warning, not a failed setup: the spec's IAM
//! policy does not grant the TTL actions, and a deployment that follows it must still start.

use super::{SetupError, TTL_ATTRIBUTE};
use crate::store::StoreError;
use crate::store::dynamodb::errors::{ErrorContext, store_error};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::TimeToLiveSpecification;
use std::fmt;

/// What became of TTL on the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtlOutcome {
    /// This run enabled it.
    Enabled,
    /// It was already enabled (or being enabled) on the right attribute.
    AlreadyEnabled,
    /// It is enabled on another attribute; DynamoDB allows one per table, so it was left alone.
    OtherAttribute(String),
    /// It is being disabled; it can be enabled again only once that finishes.
    Disabling,
    /// Not tried: the table is not ACTIVE yet (`--no-wait`).
    NotYet,
    /// Off, and only checked ([`check_table`](super::check_table) changes nothing).
    Off,
    /// It could not be read or changed (no permission, or the server does not support it).
    Unavailable(String),
}

impl fmt::Display for TtlOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TtlOutcome::Enabled => write!(f, "TTL on {TTL_ATTRIBUTE} enabled"),
            TtlOutcome::AlreadyEnabled => write!(f, "TTL on {TTL_ATTRIBUTE} already enabled"),
            TtlOutcome::OtherAttribute(a) => write!(f, "TTL is on {a:?}, not {TTL_ATTRIBUTE}"),
            TtlOutcome::Disabling => write!(f, "TTL being disabled"),
            TtlOutcome::NotYet => write!(f, "TTL not set yet"),
            TtlOutcome::Off => write!(f, "TTL off"),
            TtlOutcome::Unavailable(_) => write!(f, "TTL not enabled"),
        }
    }
}

/// What DescribeTimeToLive reported, as plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TtlState {
    /// `ENABLED`, `ENABLING`, `DISABLED`, `DISABLING` (`DISABLED` when not reported).
    pub status: String,
    /// The attribute, when one is set.
    pub attribute: Option<String>,
}

/// What to do about TTL given its state: `None` means enable it, `Some` is the final outcome.
pub(super) fn judge(state: &TtlState) -> Option<TtlOutcome> {
    match (state.status.as_str(), state.attribute.as_deref()) {
        ("ENABLED" | "ENABLING", Some(TTL_ATTRIBUTE)) => Some(TtlOutcome::AlreadyEnabled),
        ("ENABLED" | "ENABLING", Some(other)) => Some(TtlOutcome::OtherAttribute(other.into())),
        ("DISABLING", _) => Some(TtlOutcome::Disabling),
        _ => None,
    }
}

/// Error codes of a server that does not implement the TTL actions (some local emulators).
const UNSUPPORTED_CODES: &[&str] = &["UnknownOperationException", "NotImplemented"];

/// A TTL call failed: soft failures become `Unavailable`, the rest a `SetupError`.
fn soften(
    ctx: &ErrorContext,
    err: StoreError,
    code: Option<&str>,
) -> Result<TtlOutcome, SetupError> {
    match err {
        StoreError::AccessDenied { message, .. } => {
            Ok(TtlOutcome::Unavailable(format!("access denied: {message}")))
        }
        _ if code.is_some_and(|c| UNSUPPORTED_CODES.contains(&c)) => Ok(TtlOutcome::Unavailable(
            format!("the server does not support it: {err}"),
        )),
        other => Err(SetupError::from_store(ctx, other)),
    }
}

/// Reads the table's TTL setting.
async fn describe(
    client: &Client,
    ctx: &ErrorContext,
) -> Result<Result<TtlState, TtlOutcome>, SetupError> {
    match client
        .describe_time_to_live()
        .table_name(&ctx.table)
        .send()
        .await
    {
        Ok(out) => {
            let d = out.time_to_live_description();
            Ok(Ok(TtlState {
                status: d
                    .and_then(|d| d.time_to_live_status())
                    .map_or("DISABLED", |s| s.as_str())
                    .to_string(),
                attribute: d.and_then(|d| d.attribute_name()).map(str::to_string),
            }))
        }
        Err(e) => {
            let code = e.code().map(str::to_string);
            soften(
                ctx,
                store_error(ctx, "DescribeTimeToLive", e),
                code.as_deref(),
            )
            .map(Err)
        }
    }
}

/// Reads the TTL setting without changing it (`Off` when it is not enabled).
pub(super) async fn read(client: &Client, ctx: &ErrorContext) -> Result<TtlOutcome, SetupError> {
    Ok(match describe(client, ctx).await? {
        Ok(state) => judge(&state).unwrap_or(TtlOutcome::Off),
        Err(outcome) => outcome,
    })
}

/// Enables TTL on [`TTL_ATTRIBUTE`] unless it is already on (there or on another attribute).
pub(super) async fn ensure(client: &Client, ctx: &ErrorContext) -> Result<TtlOutcome, SetupError> {
    let state = match describe(client, ctx).await? {
        Ok(state) => state,
        Err(outcome) => return Ok(outcome),
    };
    if let Some(outcome) = judge(&state) {
        return Ok(outcome);
    }
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(|e| SetupError::Internal {
            table: ctx.table.clone(),
            message: format!("could not build the UpdateTimeToLive request: {e}"),
        })?;
    let sent = client
        .update_time_to_live()
        .table_name(&ctx.table)
        .time_to_live_specification(spec)
        .send()
        .await;
    match sent {
        Ok(_) => Ok(TtlOutcome::Enabled),
        // DynamoDB refuses to enable TTL twice: another setup (or `run`) got there between our
        // read and our write. Read again and report what is there now.
        Err(e) if e.code() == Some("ValidationException") => match describe(client, ctx).await? {
            Ok(state) => Ok(judge(&state).unwrap_or_else(|| {
                TtlOutcome::Unavailable(format!("UpdateTimeToLive was refused: {e}"))
            })),
            Err(outcome) => Ok(outcome),
        },
        Err(e) => {
            let code = e.code().map(str::to_string);
            soften(
                ctx,
                store_error(ctx, "UpdateTimeToLive", e),
                code.as_deref(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: &str, attribute: Option<&str>) -> TtlState {
        TtlState {
            status: status.into(),
            attribute: attribute.map(str::to_string),
        }
    }

    #[test]
    fn ttl_is_enabled_only_when_it_is_off() {
        assert_eq!(judge(&state("DISABLED", None)), None);
        assert_eq!(
            judge(&state("ENABLED", Some("ttl"))),
            Some(TtlOutcome::AlreadyEnabled)
        );
        assert_eq!(
            judge(&state("ENABLING", Some("ttl"))),
            Some(TtlOutcome::AlreadyEnabled)
        );
        assert_eq!(
            judge(&state("ENABLED", Some("expiresAt"))),
            Some(TtlOutcome::OtherAttribute("expiresAt".into()))
        );
        assert_eq!(
            judge(&state("DISABLING", Some("ttl"))),
            Some(TtlOutcome::Disabling)
        );
    }

    fn ctx() -> ErrorContext {
        ErrorContext {
            table: "t".into(),
            region: "eu-west-1".into(),
            endpoint: "http://127.0.0.1:1".into(),
            max_attempts: 1,
        }
    }

    #[test]
    fn a_refused_ttl_call_is_a_soft_outcome_but_an_unreachable_server_is_an_error() {
        let denied = StoreError::AccessDenied {
            operation: "UpdateTimeToLive",
            table: "t".into(),
            message: "AccessDeniedException: no".into(),
        };
        assert!(matches!(
            soften(&ctx(), denied, None),
            Ok(TtlOutcome::Unavailable(_))
        ));
        let rejected = StoreError::Rejected {
            operation: "DescribeTimeToLive",
            table: "t".into(),
            message: "UnknownOperationException".into(),
        };
        let got = soften(&ctx(), rejected, Some("UnknownOperationException"));
        assert!(matches!(got, Ok(TtlOutcome::Unavailable(_))));
        let down = StoreError::Unavailable {
            operation: "DescribeTimeToLive",
            table: "t".into(),
            endpoint: "http://127.0.0.1:1".into(),
            message: "refused".into(),
        };
        assert!(soften(&ctx(), down, None).is_err());
    }
}
