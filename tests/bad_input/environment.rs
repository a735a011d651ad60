//! What surrounds the table: a missing or wrongly shaped table, a region without it, credentials
//! DynamoDB refuses (wrong, expired, without permission, none), an endpoint that is unreachable,
//! throttles, fails or is not DynamoDB, and a kubeconfig without the context asked for.

use super::cli::seeded;
use super::run::{Cmd, Scrub, Target, judge, same_records, snapshot};
use super::table::{Book, Category};
use crate::support::moto;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An endpoint that answers every request with the same HTTP response.
async fn answering(status: &'static str, content_type: &'static str, body: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            tokio::spawn(async move {
                // Read what the client sends before answering, as a server would.
                let mut buf = [0u8; 16384];
                let _ = tokio::time::timeout(
                    std::time::Duration::from_millis(200),
                    conn.read(&mut buf),
                )
                .await;
                let _ = conn.write_all(response.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    url
}

/// An endpoint answering DynamoDB's JSON error `error_type` with DynamoDB's own message.
async fn dynamodb_error(status: &'static str, error_type: &str, message: &str) -> String {
    let body = format!(
        r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{error_type}","message":"{message}"}}"#
    );
    answering(status, "application/x-amz-json-1.0", body).await
}

/// Creates `table` with `keys` (all strings) and no index, as a person might by hand.
async fn hand_made_table(client: &Client, table: &str, keys: &[(&str, KeyType)]) {
    let mut req = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest);
    for (name, kind) in keys {
        let def = AttributeDefinition::builder()
            .attribute_name(*name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute");
        let key = KeySchemaElement::builder()
            .attribute_name(*name)
            .key_type(kind.clone())
            .build()
            .expect("key");
        req = req.attribute_definitions(def).key_schema(key);
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("create {table}: {e:?}"));
}

/// A kubeconfig with contexts `lab` (the current one) and `prod`, neither reachable.
fn kubeconfig() -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("kfo-bad-input-{}.kubeconfig", std::process::id()));
    let yaml = r#"apiVersion: v1
kind: Config
current-context: lab
clusters:
- name: lab
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: alice
  user: {token: x}
contexts:
- name: lab
  context: {cluster: lab, user: alice}
- name: prod
  context: {cluster: lab, user: alice}
"#;
    std::fs::write(&path, yaml).expect("write kubeconfig");
    path
}

struct Case {
    shown: String,
    cmd: Cmd,
    code: i32,
    phrases: &'static [&'static str],
    /// The table to check for changes, if the command reaches one.
    table: Option<String>,
}

fn case(
    shown: &str,
    cmd: Cmd,
    code: i32,
    phrases: &'static [&'static str],
    table: Option<&str>,
) -> Case {
    Case {
        shown: shown.to_string(),
        cmd,
        code,
        phrases,
        table: table.map(str::to_string),
    }
}

/// What the cases run against: tables of each shape, endpoints that answer each error.
struct Setting {
    good: Target,
    missing: Target,
    lower: String,
    hash_only: String,
    no_gsi: String,
    kubeconfig: String,
    unrecognized: String,
    signature: String,
    expired: String,
    denied: String,
    throttled: String,
    failing: String,
    not_dynamodb: String,
}

impl Setting {
    /// The good table's target at another endpoint.
    fn at(&self, endpoint: &str) -> Target {
        Target {
            endpoint: endpoint.to_string(),
            ..self.good.clone()
        }
    }
}

const BAD: &str = "400 Bad Request";

async fn setting(raw: &Client) -> Setting {
    let table = |prefix: &str| moto::unique_table_name(prefix);
    let (lower, hash_only, no_gsi) = (table("bad-lower"), table("bad-hash"), table("bad-nogsi"));
    hand_made_table(
        raw,
        &lower,
        &[("pk", KeyType::Hash), ("sk", KeyType::Range)],
    )
    .await;
    hand_made_table(raw, &hash_only, &[("PK", KeyType::Hash)]).await;
    hand_made_table(
        raw,
        &no_gsi,
        &[("PK", KeyType::Hash), ("SK", KeyType::Range)],
    )
    .await;
    Setting {
        good: seeded().await.0,
        missing: Target::on(&table("bad-missing")),
        lower,
        hash_only,
        no_gsi,
        kubeconfig: kubeconfig().to_string_lossy().into_owned(),
        unrecognized: dynamodb_error(BAD, "UnrecognizedClientException", "The security token included in the request is invalid.").await,
        signature: dynamodb_error(BAD, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.").await,
        expired: dynamodb_error(BAD, "ExpiredTokenException", "The security token included in the request is expired").await,
        denied: dynamodb_error(BAD, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: dynamodb:Query on resource: arn:aws:dynamodb:us-west-2:123456789012:table/t because no identity-based policy allows the dynamodb:Query action").await,
        throttled: dynamodb_error(BAD, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded.").await,
        failing: dynamodb_error("500 Internal Server Error", "InternalServerError", "Internal server error").await,
        not_dynamodb: answering("404 Not Found", "text/html", "<html><body>Not Found</body></html>".into()).await,
    }
}

const ALL: &[&str] = &["status", "-A"];

#[rustfmt::skip]
fn table_cases(s: &Setting) -> Vec<Case> {
    let good = Some(s.good.table.as_str());
    vec![
        case("status -A on a table that does not exist", Cmd::on(&s.missing, ALL), 4, &["does not exist in region us-west-2", "setup-dynamodb --table-name"], None),
        case("promote shop/web --to west --yes on a table that does not exist", Cmd::on(&s.missing, &["promote", "shop/web", "--to", "west", "--yes"]), 4, &["does not exist in region us-west-2"], None),
        case("status -A --region eu-central-1 (the table is in us-west-2)", Cmd::on(&Target { region: "eu-central-1".into(), ..s.good.clone() }, ALL), 4, &["does not exist in region eu-central-1"], None),
        case("status shop/web on a table keyed pk/sk (lowercase)", Cmd::on(&Target::on(&s.lower), &["status", "shop/web"]), 3, &["setup-dynamodb --check"], Some(&s.lower)),
        case("history shop/web on a table with a partition key only", Cmd::on(&Target::on(&s.hash_only), &["history", "shop/web"]), 3, &["setup-dynamodb --check"], Some(&s.hash_only)),
        case("status -A on a table without GSI1", Cmd::on(&Target::on(&s.no_gsi), ALL), 3, &["GSI1", "setup-dynamodb --check"], Some(&s.no_gsi)),
        case("setup-dynamodb on a table keyed pk/sk (lowercase)", Cmd::on(&Target::on(&s.lower), &["setup-dynamodb"]), 3, &["exists but does not match", "partition key is pk (S), expected PK (S)"], Some(&s.lower)),
        case("status -A --table-name t1 (not a valid DynamoDB table name)", Cmd::on(&Target::on("t1"), ALL), 2, &["invalid table name \"t1\""], None),
        case("status -A with a wrong access key (UnrecognizedClientException)", Cmd::on(&s.at(&s.unrecognized), ALL), 5, &["UnrecognizedClientException", "check the AWS credentials"], None),
        case("status -A with a wrong secret key (InvalidSignatureException)", Cmd::on(&s.at(&s.signature), ALL), 5, &["InvalidSignatureException", "check the AWS credentials"], None),
        case("status -A with an expired session token (ExpiredTokenException)", Cmd::on(&s.at(&s.expired), ALL), 5, &["ExpiredTokenException", "is expired"], None),
        case("status -A without dynamodb:Query in the IAM policy (AccessDeniedException)", Cmd::on(&s.at(&s.denied), ALL), 5, &["AccessDeniedException", "deploy/iam-policy.json"], None),
        case("status -A with no AWS credentials at all", Cmd::on(&s.good, ALL).without_credentials(), 5, &["no usable AWS credentials"], good),
        case("status -A while DynamoDB throttles every request", Cmd::on(&s.at(&s.throttled), ALL), 5, &["throttled", "after 5 attempts"], None),
        case("status -A while DynamoDB answers 500 to every request", Cmd::on(&s.at(&s.failing), ALL), 5, &["InternalServerError", "after 5 attempts"], None),
        case("status -A --endpoint http://127.0.0.1:1 (nothing listens)", Cmd::on(&s.at("http://127.0.0.1:1"), ALL), 5, &["unreachable", "check the network"], None),
        case("status -A --endpoint at a web server that is not DynamoDB", Cmd::on(&s.at(&s.not_dynamodb), ALL), 5, &["is not DynamoDB"], None),
        case("status -A --endpoint localhost:8000 (no scheme)", Cmd::on(&s.at("localhost:8000"), ALL), 2, &["is not an http(s) URL"], None),
        case("status -A --region ''", Cmd::on(&Target { region: String::new(), ..s.good.clone() }, ALL), 2, &["AWS_REGION is empty"], None),
        case("AWS_USE_LOCAL_ENDPOINT=true status -A, no endpoint", Cmd::new(ALL).env("AWS_USE_LOCAL_ENDPOINT", "true"), 2, &["no endpoint is set"], None),
    ]
}

#[rustfmt::skip]
fn kubeconfig_cases(s: &Setting) -> Vec<Case> {
    let (kc, good) = (s.kubeconfig.as_str(), Some(s.good.table.as_str()));
    let via_cr = ["promote", "shop/web", "--to", "west", "--via-cr", "--yes"];
    let with = |flags: &[&str], args: &[&str]| Cmd::on(&s.good, &[flags, args].concat());
    vec![
        case("--context nope status -A (kubeconfig has lab, prod)", with(&["--kubeconfig", kc, "--context", "nope"], ALL), 2, &["context \"nope\" is not in the kubeconfig", "lab, prod"], good),
        case("--context nope promote shop/web --to west --via-cr --yes", with(&["--kubeconfig", kc, "--context", "nope"], &via_cr), 2, &["context \"nope\" is not in the kubeconfig"], good),
        case("--kubeconfig /nonexistent promote shop/web --to west --via-cr --yes", with(&["--kubeconfig", "/nonexistent"], &via_cr), 5, &["could not read the kubeconfig"], good),
        case("promote shop/web --to west --via-cr --yes, context lab unreachable", with(&["--kubeconfig", kc], &via_cr), 5, &["creating a Failover", "context lab"], good),
        case("--context nope run --cluster-name east", with(&["--kubeconfig", kc, "--context", "nope"], &["run", "--cluster-name", "east"]), 2, &["context \"nope\" is not in the kubeconfig"], good),
    ]
}

pub async fn cases(book: &mut Book) {
    let raw = moto::sdk_client().await;
    let s = setting(&raw).await;
    let scrub = Scrub::target(&s.good)
        .with(&s.missing.table, "<table>")
        .with(&s.lower, "<table>")
        .with(&s.hash_only, "<table>")
        .with(&s.no_gsi, "<table>")
        .with(&s.kubeconfig, "<kubeconfig>");
    for c in table_cases(&s).into_iter().chain(kubeconfig_cases(&s)) {
        let before = match &c.table {
            Some(t) => Some(snapshot(&raw, t).await),
            None => None,
        };
        let run = c.cmd.run().await;
        let mut outcome = judge(&run, c.code, c.phrases, &scrub);
        if let (Ok(_), Some(t), Some(before)) = (&outcome, &c.table, &before)
            && let Err(e) = same_records(before, &snapshot(&raw, t).await)
        {
            outcome = Err(e);
        }
        book.record(Category::Environment, &c.shown, outcome);
    }
}
