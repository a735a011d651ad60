//! How the DynamoDB store fails, with the product's own client settings (retries, backoff,
//! timeouts): a missing table, an unreachable endpoint, and throttles, server errors and refused
//! credentials injected by a proxy in front of moto, counting every request the SDK sends.

mod support;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::Credentials;
use chrono::Utc;
use kubectl_failover::config::StoreArgs;
use kubectl_failover::store::dynamodb::{DynamoStore, client};
use kubectl_failover::store::*;
use std::time::{Duration, Instant};
use support::fault_proxy::{Fault, FaultProxy};
use support::moto;
use support::raw::*;

/// A store built like `DynamoStore::connect` builds it, but with test credentials (the tests must
/// not depend on, or change, the environment's).
async fn store_at(endpoint: &str, table: &str) -> DynamoStore {
    let args = StoreArgs {
        region: moto::REGION.into(),
        endpoint: Some(endpoint.into()),
        use_local_endpoint: true,
        table_name: table.into(),
        operator_id: OP.into(),
    };
    let shared = client::sdk_config(&args).await.unwrap();
    let conf = aws_sdk_dynamodb::config::Builder::from(&shared)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .build();
    let label = client::endpoint_label(&args);
    DynamoStore::from_client(Client::from_conf(conf), table, moto::REGION, &label)
}

/// A store on a fresh table, reached through a fault proxy.
async fn behind_proxy() -> (DynamoStore, FaultProxy) {
    let (_, table) = moto::fresh_store_named("kfo-fault").await;
    let proxy = FaultProxy::start(&moto::endpoint()).await;
    (store_at(&proxy.url, &table).await, proxy)
}

/// One call that is exactly one request (a conditional PutItem).
async fn create(store: &DynamoStore) -> Result<CreateOutcome, StoreError> {
    store
        .create_config(&GroupConfig::new(OP, gid("web"), "a", Utc::now()))
        .await
}

#[tokio::test]
async fn a_missing_table_is_reported_by_name_with_the_setup_command() {
    let store = store_at(&moto::endpoint(), "no-such-table").await;
    let err = store.load_group(OP, &gid("web")).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, StoreError::TableNotFound { table, .. } if table == "no-such-table"),
        "{err:?}"
    );
    assert!(
        text.contains("\"no-such-table\"") && text.contains("setup-dynamodb"),
        "{text}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_reported_as_unavailable_within_seconds() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let store = store_at(&endpoint, "coordination").await;
    let started = Instant::now();
    let err = store.load_group(OP, &gid("web")).await.unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
    match &err {
        StoreError::Unavailable { endpoint: e, .. } => assert_eq!(e, &endpoint),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(err.to_string().contains("AWS_ENDPOINT"), "{err}");
}

#[tokio::test]
async fn a_call_succeeds_after_two_throttles_retried_by_the_client() {
    let (store, proxy) = behind_proxy().await;
    proxy.fail_next(2, Fault::Throttle);
    assert!(matches!(
        create(&store).await.unwrap(),
        CreateOutcome::Created(_)
    ));
    assert_eq!((proxy.injected(), proxy.requests()), (2, 3));
}

#[tokio::test]
async fn throttling_beyond_the_retry_budget_is_reported_as_throttled() {
    let (store, proxy) = behind_proxy().await;
    proxy.fail_next(10, Fault::Throttle);
    let err = create(&store).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Throttled { attempts: 5, .. }),
        "{err:?}"
    );
    assert_eq!(proxy.requests(), 5);
    assert!(err.to_string().contains("capacity"), "{err}");
}

#[tokio::test]
async fn a_call_succeeds_after_two_server_errors_retried_by_the_client() {
    let (store, proxy) = behind_proxy().await;
    proxy.fail_next(2, Fault::ServerError);
    assert!(matches!(
        create(&store).await.unwrap(),
        CreateOutcome::Created(_)
    ));
    assert_eq!((proxy.injected(), proxy.requests()), (2, 3));
}

#[tokio::test]
async fn server_errors_beyond_the_retry_budget_are_reported_as_unavailable() {
    let (store, proxy) = behind_proxy().await;
    proxy.fail_next(10, Fault::ServerError);
    let err = create(&store).await.unwrap_err();
    match &err {
        StoreError::Unavailable {
            endpoint, message, ..
        } => {
            assert_eq!(endpoint, &proxy.url);
            assert!(message.contains("500"), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(proxy.requests(), 5);
}

#[tokio::test]
async fn refused_credentials_fail_at_once_as_access_denied() {
    let (store, proxy) = behind_proxy().await;
    proxy.fail_next(1, Fault::Error("UnrecognizedClientException"));
    let err = create(&store).await.unwrap_err();
    assert!(matches!(err, StoreError::AccessDenied { .. }), "{err:?}");
    assert_eq!(proxy.requests(), 1, "a refused identity is not retried");
    assert!(err.to_string().contains("IRSA"), "{err}");
}

#[tokio::test]
async fn missing_credentials_are_reported_as_access_denied_not_as_an_outage() {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(moto::REGION))
        .endpoint_url(moto::endpoint())
        .build();
    let store = DynamoStore::from_client(Client::from_conf(conf), "t", moto::REGION, "x");
    let err = store.load_group(OP, &gid("web")).await.unwrap_err();
    assert!(matches!(err, StoreError::AccessDenied { .. }), "{err:?}");
    assert!(err.to_string().contains("AWS_ACCESS_KEY_ID"), "{err}");
}
