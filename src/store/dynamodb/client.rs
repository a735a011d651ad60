//! Building the DynamoDB client from the store settings: region, the standard credentials chain,
//! an optional custom endpoint, retries with backoff, and timeouts that fail fast.

use super::DynamoStore;
use crate::config::StoreArgs;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::Client;
use std::time::Duration;

/// Attempts per call, first try included. Throttling and 5xx answers are retried by the SDK.
pub const MAX_ATTEMPTS: u32 = 5;
/// First retry delay; doubled per attempt (with jitter) up to `MAX_BACKOFF`.
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// An endpoint that does not accept a connection in this time is treated as down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// One attempt (request and answer); DynamoDB answers in milliseconds.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// A whole call, all attempts and backoff included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Inconsistent store settings.
#[derive(Debug, thiserror::Error)]
pub enum ClientConfigError {
    /// A local endpoint was asked for without saying where it is.
    #[error(
        "AWS_USE_LOCAL_ENDPOINT (--use-local-endpoint) is true but no endpoint is set; set AWS_ENDPOINT (or --endpoint) to the local DynamoDB URL, e.g. http://127.0.0.1:8000"
    )]
    LocalEndpointWithoutUrl,
    /// The endpoint is not a URL.
    #[error(
        "AWS_ENDPOINT {endpoint:?} is not an http(s) URL; set it like http://127.0.0.1:8000 or leave it unset to use AWS"
    )]
    BadEndpoint {
        /// What was given.
        endpoint: String,
    },
    /// The region is empty.
    #[error("AWS_REGION is empty; set it (or --region) to the table's region, e.g. us-west-2")]
    EmptyRegion,
    /// DynamoDB would refuse the table name in every call.
    #[error(
        "invalid table name {name:?}: DynamoDB table names are 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'; fix --table-name (DYNAMODB_TABLE_NAME)"
    )]
    BadTableName {
        /// What was given.
        name: String,
    },
}

/// The endpoint calls go to, for messages: the custom URL, or AWS's regional endpoint.
pub fn endpoint_label(args: &StoreArgs) -> String {
    match args.effective_endpoint() {
        Some(url) => url.trim().to_string(),
        None => format!("https://dynamodb.{}.amazonaws.com", args.region.trim()),
    }
}

/// Loads the shared AWS configuration for the settings (credentials come from the standard
/// chain: environment, profile, web identity / IRSA, container and instance roles).
pub async fn sdk_config(args: &StoreArgs) -> Result<aws_config::SdkConfig, ClientConfigError> {
    let region = args.region.trim();
    if region.is_empty() {
        return Err(ClientConfigError::EmptyRegion);
    }
    let endpoint = args.effective_endpoint().map(str::trim);
    if args.use_local_endpoint && endpoint.is_none() {
        return Err(ClientConfigError::LocalEndpointWithoutUrl);
    }
    let retry = RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF);
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(url) = endpoint {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ClientConfigError::BadEndpoint {
                endpoint: url.to_string(),
            });
        }
        loader = loader.endpoint_url(url);
    }
    Ok(loader.load().await)
}

/// A DynamoDB client for the settings.
pub async fn build_client(args: &StoreArgs) -> Result<Client, ClientConfigError> {
    Ok(Client::new(&sdk_config(args).await?))
}

impl DynamoStore {
    /// Connects to the table the settings name. No request is made yet: a missing table or bad
    /// credentials show on the first call, as `StoreError`.
    pub async fn connect(args: &StoreArgs) -> Result<DynamoStore, ClientConfigError> {
        let name = &args.table_name;
        let valid_chars = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !(3..=255).contains(&name.len()) || !valid_chars {
            return Err(ClientConfigError::BadTableName { name: name.clone() });
        }
        let client = build_client(args).await?;
        Ok(DynamoStore::from_client(
            client,
            &args.table_name,
            args.region.trim(),
            &endpoint_label(args),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_endpoint_without_a_url_is_refused_with_the_variable_to_set() {
        let args = StoreArgs {
            use_local_endpoint: true,
            ..StoreArgs::defaults()
        };
        let err = sdk_config(&args).await.unwrap_err();
        assert!(err.to_string().contains("AWS_ENDPOINT"), "{err}");
    }

    #[tokio::test]
    async fn the_client_has_the_region_endpoint_retries_and_timeouts_asked_for() {
        let args = StoreArgs {
            region: "eu-central-1".into(),
            endpoint: Some("http://127.0.0.1:4566".into()),
            ..StoreArgs::defaults()
        };
        let config = sdk_config(&args).await.unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-central-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:4566"));
        let retry = config.retry_config().unwrap();
        assert_eq!(retry.max_attempts(), MAX_ATTEMPTS);
        // Throttled calls back off with full jitter (a random fraction of the exponential
        // step): many agents throttled at once must not retry in the same instant. The SDK
        // jitters unless the static base is switched on.
        assert!(!retry.use_static_exponential_base());
        assert_eq!(retry.max_backoff(), MAX_BACKOFF);
        let t = config.timeout_config().unwrap();
        assert_eq!(t.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(t.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(endpoint_label(&args), "http://127.0.0.1:4566");
    }

    #[tokio::test]
    async fn a_malformed_endpoint_is_refused_before_any_call() {
        let args = StoreArgs {
            endpoint: Some("127.0.0.1:8000".into()),
            ..StoreArgs::defaults()
        };
        let err = sdk_config(&args).await.unwrap_err();
        assert!(
            matches!(err, ClientConfigError::BadEndpoint { .. }),
            "{err}"
        );
    }
}
