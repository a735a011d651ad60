//! SDK errors -> `StoreError`. Conditional-check failures never reach this file: each call site
//! turns them into its outcome (`Conflict`, `Held`, ...) because a lost race is not an error.

use crate::store::StoreError;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

/// What an error message needs to name: the table, where it is, and how hard the SDK tried.
#[derive(Debug, Clone)]
pub struct ErrorContext {
    /// Table name.
    pub table: String,
    /// AWS region.
    pub region: String,
    /// The endpoint calls go to (custom URL, or AWS's regional endpoint).
    pub endpoint: String,
    /// Attempts the SDK makes before giving up (first try included).
    pub max_attempts: u32,
}

/// Error codes that mean the caller's identity or permissions were refused.
const ACCESS_CODES: &[&str] = &[
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidClientTokenId",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
];

/// Error codes that mean "slow down". The SDK already retried them with backoff.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
];

/// Error codes of a server-side failure, retried by the SDK like a 5xx.
const SERVER_CODES: &[&str] = &[
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Phrases of DynamoDB's (and moto's) answers to a request the table's keys or indexes cannot
/// serve: a table of another shape (lowercase keys, no sort key, no GSI1).
const SHAPE_HINTS: &[&str] = &[
    "key schema",
    "query key condition not supported",
    "specified index",
    "invalid index",
    "missing the key",
];

/// Converts an SDK error of `operation` (a DynamoDB action name, e.g. "PutItem") into a
/// `StoreError` that says what failed, why, and what to do.
pub fn store_error<E>(
    ctx: &ErrorContext,
    operation: &'static str,
    err: SdkError<E, Response>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let table = ctx.table.clone();
    let message = err
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| DisplayErrorContext(&err).to_string());
    let code = err.code().unwrap_or_default();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let unavailable = |message: String| StoreError::Unavailable {
        operation,
        table: ctx.table.clone(),
        endpoint: ctx.endpoint.clone(),
        message,
    };
    let lower = message.to_ascii_lowercase();
    // moto answers a query on a missing index with ResourceNotFoundException, DynamoDB with a
    // ValidationException (below): either way the table exists but lacks GSI1.
    let wrong_shape = SHAPE_HINTS.iter().any(|hint| lower.contains(hint));
    if wrong_shape && matches!(code, "ResourceNotFoundException" | "ValidationException") {
        return StoreError::WrongShape {
            operation,
            table,
            message: format!("{code}: {message}"),
        };
    }
    if code == "ValidationException" && lower.contains("item size") {
        return StoreError::TooLarge {
            operation,
            table,
            message,
        };
    }
    if code == "ResourceNotFoundException" {
        return StoreError::TableNotFound {
            table,
            region: ctx.region.clone(),
        };
    }
    if ACCESS_CODES.contains(&code) || status == Some(403) {
        return StoreError::AccessDenied {
            operation,
            table,
            message: format!("{code}: {message}"),
        };
    }
    if THROTTLING_CODES.contains(&code) {
        return StoreError::Throttled {
            operation,
            table,
            attempts: ctx.max_attempts,
        };
    }
    if SERVER_CODES.contains(&code) || status.is_some_and(|s| s >= 500) {
        let what = if code.is_empty() {
            "server error"
        } else {
            code
        };
        return unavailable(format!(
            "{what} (HTTP {}) after {} attempts: {message}",
            status.unwrap_or_default(),
            ctx.max_attempts
        ));
    }
    match &err {
        // An answer without a DynamoDB error code: something else answered at the endpoint.
        SdkError::ServiceError(_) if code.is_empty() => unavailable(format!(
            "the endpoint answered HTTP {} with a response that is not DynamoDB's ({}): it is not DynamoDB, or a proxy answered in its place",
            status.unwrap_or_default(),
            readable_chain(&err)
        )),
        SdkError::ServiceError(_) => StoreError::Rejected {
            operation,
            table,
            message: if code.is_empty() {
                message
            } else {
                format!("{code}: {message}")
            },
        },
        SdkError::ConstructionFailure(_) => StoreError::Rejected {
            operation,
            table,
            message: DisplayErrorContext(&err).to_string(),
        },
        SdkError::TimeoutError(_) => unavailable(format!(
            "no answer in time after {} attempts",
            ctx.max_attempts
        )),
        _ => {
            let chain = readable_chain(&err);
            // A failed credentials provider surfaces as a dispatch failure whose cause is the
            // provider's error; every such error says "credential" (`CredentialsError` is in
            // a crate this one does not depend on, so its type cannot be matched).
            if chain.to_ascii_lowercase().contains("credential") {
                StoreError::AccessDenied {
                    operation,
                    table,
                    message: format!("no usable AWS credentials: {chain}"),
                }
            } else {
                unavailable(chain)
            }
        }
    }
}

/// The error and its causes as one line of their Display texts, each said once. The SDK's own
/// `DisplayErrorContext` ends with a Debug dump of the whole chain, which buries the cause a person
/// needs ("Connection refused") under type names.
fn readable_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        // Wrappers often repeat their cause's text; keep each piece once.
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::get_item::GetItemError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn ctx() -> ErrorContext {
        ErrorContext {
            table: "coord".into(),
            region: "eu-west-1".into(),
            endpoint: "http://127.0.0.1:1".into(),
            max_attempts: 5,
        }
    }

    fn service_error(status: u16, code: &str) -> StoreError {
        service_error_saying(status, code, "says no")
    }

    fn service_error_saying(status: u16, code: &str, message: &str) -> StoreError {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        let raw = Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        let err = SdkError::service_error(GetItemError::generic(meta), raw);
        store_error(&ctx(), "GetItem", err)
    }

    #[test]
    fn each_service_error_code_maps_to_the_kind_a_user_can_act_on() {
        assert!(matches!(
            service_error(400, "ResourceNotFoundException"),
            StoreError::TableNotFound { table, region } if table == "coord" && region == "eu-west-1"
        ));
        for code in [
            "AccessDeniedException",
            "UnrecognizedClientException",
            "ExpiredTokenException",
        ] {
            assert!(
                matches!(service_error(400, code), StoreError::AccessDenied { .. }),
                "{code}"
            );
        }
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
        ] {
            assert!(
                matches!(
                    service_error(400, code),
                    StoreError::Throttled { attempts: 5, .. }
                ),
                "{code}"
            );
        }
        assert!(matches!(
            service_error(500, "InternalServerError"),
            StoreError::Unavailable { .. }
        ));
        assert!(matches!(
            service_error(503, ""),
            StoreError::Unavailable { .. }
        ));
        assert!(matches!(
            service_error(400, "ValidationException"),
            StoreError::Rejected { .. }
        ));
    }

    #[test]
    fn a_table_of_another_shape_or_an_oversized_item_is_named_with_the_fix() {
        for (code, message) in [
            (
                "ValidationException",
                "Query condition missed key schema element: pk",
            ),
            (
                "ValidationException",
                "The table does not have the specified index: GSI1",
            ),
            (
                "ResourceNotFoundException",
                "Invalid index: GSI1 for table: coord.",
            ),
        ] {
            let err = service_error_saying(400, code, message);
            assert!(matches!(err, StoreError::WrongShape { .. }), "{message}");
            assert!(err.to_string().contains("setup-dynamodb --check"), "{err}");
        }
        let err = service_error_saying(
            400,
            "ValidationException",
            "Item size to update has exceeded the maximum allowed size",
        );
        assert!(matches!(err, StoreError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("400 KB"), "{err}");
    }

    #[test]
    fn a_missing_table_message_names_the_table_and_the_setup_command() {
        let text = service_error(400, "ResourceNotFoundException").to_string();
        assert!(
            text.contains("\"coord\"") && text.contains("setup-dynamodb"),
            "{text}"
        );
    }
}
