//! A tiny fault-injecting HTTP/1.1 proxy in front of the test server: it answers the next N
//! requests with an injected error (a DynamoDB throttle, a 500, any error code), or every request
//! of one operation with DynamoDB's IAM denial (moto enforces no IAM), forwards the rest
//! unchanged, and counts every request, so retry behaviour can be asserted exactly.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An injected answer.
#[derive(Debug, Clone)]
pub enum Fault {
    /// 400 `ProvisionedThroughputExceededException`, as DynamoDB throttles.
    Throttle,
    /// 500 with an `InternalServerError` body.
    ServerError,
    /// 400 with this DynamoDB error type (e.g. `UnrecognizedClientException`).
    Error(&'static str),
    /// 400 `AccessDeniedException` for this action (e.g. `dynamodb:PutItem`), worded as AWS
    /// words an identity-based denial.
    Denied(String),
}

impl Fault {
    fn response(&self) -> Vec<u8> {
        let (status, error_type) = match self {
            Fault::Throttle => ("400 Bad Request", "ProvisionedThroughputExceededException"),
            Fault::ServerError => ("500 Internal Server Error", "InternalServerError"),
            Fault::Error(t) => ("400 Bad Request", *t),
            Fault::Denied(_) => ("400 Bad Request", "AccessDeniedException"),
        };
        let body = match self {
            Fault::Denied(action) => format!(
                r#"{{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User: arn:aws:iam::123456789012:user/doctor is not authorized to perform: {action} on resource: arn:aws:dynamodb:us-west-2:123456789012:table/probe because no identity-based policy allows the {action} action"}}"#
            ),
            _ => format!(
                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{error_type}","message":"injected {error_type}"}}"#
            ),
        };
        format!(
            "HTTP/1.1 {status}\r\nx-amzn-ErrorType: {error_type}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}

#[derive(Debug, Default)]
struct State {
    planned: Mutex<VecDeque<Fault>>,
    /// Operations (`X-Amz-Target`'s suffix, e.g. `PutItem`) denied on every request.
    denied: Mutex<Vec<String>>,
    requests: AtomicU32,
    injected: AtomicU32,
}

/// A running proxy; it stops when the test's runtime ends.
#[derive(Debug, Clone)]
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, to use as the endpoint.
    pub url: String,
    state: Arc<State>,
}

impl FaultProxy {
    /// Starts a proxy that forwards to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let state = Arc::new(State::default());
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let state = shared.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let _ = serve(conn, &upstream, &state).await;
                });
            }
        });
        FaultProxy { url, state }
    }

    /// Answers the next `n` requests with `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut planned = self.state.planned.lock().expect("plan");
        planned.extend(std::iter::repeat_n(fault, n));
    }

    /// Denies every later request of `operation` (e.g. `PutItem`) as IAM would deny
    /// `dynamodb:<operation>`.
    pub fn deny(&self, operation: &str) {
        self.state
            .denied
            .lock()
            .expect("denied")
            .push(operation.to_string());
    }

    /// Requests received so far (injected and forwarded).
    pub fn requests(&self) -> u32 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// Requests answered with an injected fault so far.
    pub fn injected(&self) -> u32 {
        self.state.injected.load(Ordering::SeqCst)
    }
}

/// One request per connection: read it, answer or forward, close.
async fn serve(mut conn: TcpStream, upstream: &str, state: &State) -> std::io::Result<()> {
    let request = read_request(&mut conn).await?;
    state.requests.fetch_add(1, Ordering::SeqCst);
    let operation = target_operation(&request);
    let denied = state.denied.lock().expect("denied").contains(&operation);
    let fault = if denied {
        Some(Fault::Denied(format!("dynamodb:{operation}")))
    } else {
        state.planned.lock().expect("plan").pop_front()
    };
    if let Some(fault) = fault {
        state.injected.fetch_add(1, Ordering::SeqCst);
        conn.write_all(&fault.response()).await?;
        return conn.shutdown().await;
    }
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(&with_connection_close(&request)).await?;
    let mut response = Vec::new();
    up.read_to_end(&mut response).await?;
    conn.write_all(&response).await?;
    conn.shutdown().await
}

/// Reads a request head and its `Content-Length` body.
async fn read_request(conn: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                buf.truncate(end + 4 + length);
                return Ok(buf);
            }
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The DynamoDB operation of a request: `X-Amz-Target: DynamoDB_20120810.PutItem` gives
/// `PutItem` (empty when the header is missing).
fn target_operation(request: &[u8]) -> String {
    let end = find(request, b"\r\n\r\n").unwrap_or(request.len());
    String::from_utf8_lossy(&request[..end])
        .split("\r\n")
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("x-amz-target")
                .then(|| value.trim().rsplit('.').next().unwrap_or("").to_string())
        })
        .unwrap_or_default()
}

/// The request with `Connection: close`, so the upstream's answer ends at EOF.
fn with_connection_close(request: &[u8]) -> Vec<u8> {
    let Some(end) = find(request, b"\r\n\r\n") else {
        return request.to_vec();
    };
    let head = String::from_utf8_lossy(&request[..end]);
    let mut out: Vec<u8> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes();
    out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    out.extend_from_slice(&request[end + 4..]);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
