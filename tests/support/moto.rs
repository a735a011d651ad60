//! A real DynamoDB-compatible server for the tests: moto's server on a free loopback port, started
//! once per test binary and killed when the binary exits. Every test gets its own table.
//!
//! moto runs through `moto_linearizable.py` (moto's own `main`, with requests serialized): the
//! plain threaded `moto_server` lets two concurrent conditional writes on one item both succeed,
//! which DynamoDB never does.
//!
//! `KFO_TEST_DYNAMODB_ENDPOINT` points the tests at a server that is already running instead;
//! `KFO_MOTO_PYTHON` names a Python that has moto installed (default `python3`).

#![allow(dead_code)]

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use kubectl_failover::store::dynamodb::DynamoStore;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Region every test uses.
pub const REGION: &str = "us-west-2";

static ENDPOINT: OnceLock<Result<String, String>> = OnceLock::new();
/// The process id of the server this process started (none with KFO_TEST_DYNAMODB_ENDPOINT).
static PID: OnceLock<u32> = OnceLock::new();

/// URL of the running server; starts it on first use. Panics (failing the test) with the reason
/// when no server can be started.
pub fn endpoint() -> String {
    match ENDPOINT.get_or_init(start) {
        Ok(url) => url.clone(),
        Err(why) => panic!("no DynamoDB-compatible server for the tests: {why}"),
    }
}

/// The process id of the server [`endpoint`] started, for measuring what it costs; `None`
/// before it started or when KFO_TEST_DYNAMODB_ENDPOINT names a server started elsewhere.
pub fn pid() -> Option<u32> {
    PID.get().copied()
}

fn start() -> Result<String, String> {
    if let Ok(url) = std::env::var("KFO_TEST_DYNAMODB_ENDPOINT")
        && !url.trim().is_empty()
    {
        return Ok(url);
    }
    let program = std::env::var("KFO_MOTO_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let launcher = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/moto_linearizable.py"
    );
    let port = free_port()?;
    let (tx, rx) = std::sync::mpsc::channel();
    // The child is tied to this thread with PR_SET_PDEATHSIG; the thread lives as long as the
    // process, so moto dies with the test binary and no server is left behind.
    std::thread::spawn(move || {
        let mut cmd = Command::new(&program);
        cmd.args([launcher, "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        match cmd.spawn() {
            Ok(mut child) => {
                let _ = PID.set(child.id());
                let _ = tx.send(Ok(()));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = tx.send(Err(format!(
                    "could not run {program:?} {launcher} ({e}); set KFO_MOTO_PYTHON to a Python with `moto[server]` installed, or run ./scripts/test.sh"
                )));
            }
        }
        // Keep the thread (and so the child's parent-death signal) alive until the process ends.
        loop {
            std::thread::park();
        }
    });
    rx.recv().map_err(|e| e.to_string())??;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("moto_server did not listen on {addr} within 20s"))
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// A table name no other test in this run uses.
pub fn unique_table_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A raw SDK client for the test server, for writing records as another tool would.
pub async fn sdk_client() -> Client {
    sdk_client_for(&endpoint()).await
}

/// A raw SDK client for any endpoint, with fake credentials and few retries.
pub async fn sdk_client_for(url: &str) -> Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(REGION))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .build();
    Client::from_conf(conf)
}

/// Creates a table with exactly the spec's schema (PK/SK, GSI1 on GSI1PK/GSI1SK, projection ALL).
pub async fn create_spec_table(client: &Client, table: &str) {
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute definition")
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key schema element")
    };
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("PK"))
        .attribute_definitions(attr("SK"))
        .attribute_definitions(attr("GSI1PK"))
        .attribute_definitions(attr("GSI1SK"))
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("GSI1")
                .key_schema(key("GSI1PK", KeyType::Hash))
                .key_schema(key("GSI1SK", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("gsi"),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("create table {table}: {e:?}"));
}

/// A store on a new table with the spec's schema, and the table's name.
pub async fn fresh_store_named(prefix: &str) -> (DynamoStore, String) {
    let client = sdk_client().await;
    let table = unique_table_name(prefix);
    create_spec_table(&client, &table).await;
    let store = DynamoStore::from_client(client, &table, REGION, &endpoint());
    (store, table)
}

/// A store on a new table with the spec's schema.
pub async fn fresh_store() -> DynamoStore {
    fresh_store_named("kfo").await.0
}

/// Environment for running the real binary against the test server.
pub fn binary_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
        ("AWS_REGION", REGION.to_string()),
        ("AWS_ENDPOINT", endpoint()),
        ("AWS_USE_LOCAL_ENDPOINT", "true".to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ]
}
