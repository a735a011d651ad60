//! A TCP proxy that can be cut, to partition one controller from DynamoDB while everything else
//! (the other controller, the test's own reads) still reaches it. Two ways to cut, as networks
//! fail: `Reset` refuses every open and new connection at once (a rejecting firewall, a dead
//! host's kernel); `Blackhole` accepts and then never answers (dropped packets): a call only
//! ends when the client's own timeout does. Two ways to degrade: `Slow` forwards each request
//! late (a congested link), `Throttle` answers every request as DynamoDB does when a table or
//! partition is over its capacity (`ProvisionedThroughputExceededException`). Restored, it
//! forwards again.

use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The state of the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Forwarding.
    Open,
    /// Every connection reset.
    Reset,
    /// Connections accepted, nothing answered.
    Blackhole,
    /// Forwarding, each chunk a request sends this late.
    Slow(Duration),
    /// Every request answered with DynamoDB's throttling error.
    Throttle,
}

impl Path {
    /// Whether requests still reach the server.
    fn forwards(self) -> bool {
        matches!(self, Path::Open | Path::Slow(_))
    }
}

/// A running proxy; it stops when the test's runtime ends.
pub struct CutProxy {
    /// `http://127.0.0.1:PORT`, to use as the endpoint.
    pub url: String,
    path: Arc<watch::Sender<Path>>,
}

impl CutProxy {
    /// Starts a proxy forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> CutProxy {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let path = Arc::new(watch::channel(Path::Open).0);
        let shared = path.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let rx = shared.subscribe();
                tokio::spawn(serve(conn, upstream, rx));
            }
        });
        CutProxy { url, path }
    }

    /// Cuts the path by resetting connections (`true`) or restores it (`false`).
    pub fn set_cut(&self, cut: bool) {
        self.set_path(if cut { Path::Reset } else { Path::Open });
    }

    /// Sets the state of the path.
    pub fn set_path(&self, path: Path) {
        self.path.send_replace(path);
    }
}

async fn serve(mut conn: TcpStream, upstream: String, mut rx: watch::Receiver<Path>) {
    let state = *rx.borrow_and_update();
    match state {
        Path::Reset => return reset(conn),
        Path::Blackhole => return hold(conn, rx).await,
        Path::Throttle => return throttle(conn).await,
        Path::Open | Path::Slow(_) => {}
    }
    let Ok(mut up) = TcpStream::connect(&upstream).await else {
        return;
    };
    let cut = {
        let (mut from_client, mut to_client) = conn.split();
        let (mut from_up, mut to_up) = up.split();
        let requests = async {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                let n = match from_client.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let slow = match *rx.borrow() {
                    Path::Slow(delay) => Some(delay),
                    _ => None,
                };
                if let Some(delay) = slow {
                    tokio::time::sleep(delay).await;
                }
                if to_up.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        };
        let answers = tokio::io::copy(&mut from_up, &mut to_client);
        let mut watch = rx.clone();
        tokio::select! {
            _ = requests => None,
            _ = answers => None,
            changed = watch.wait_for(|p| !p.forwards()) => changed.ok().map(|p| *p),
        }
    };
    drop(up);
    match cut {
        Some(Path::Blackhole) => hold(conn, rx).await,
        Some(_) => reset(conn),
        None => {}
    }
}

/// Reads one HTTP request and answers it with DynamoDB's throttling error, closing the
/// connection (the SDK opens a new one for its retry, which is throttled in turn while the
/// path stays so).
async fn throttle(mut conn: TcpStream) {
    let mut request = Vec::new();
    let mut buf = [0u8; 8192];
    let body_start = loop {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..body_start]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < body_start + length {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let kind = "ProvisionedThroughputExceededException";
    let body = format!(
        r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"The level of configured provisioned throughput for the table was exceeded (injected by the test's proxy)"}}"#
    );
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nx-amzn-ErrorType: {kind}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(answer.as_bytes()).await;
    let _ = conn.shutdown().await;
}

/// Keeps a connection open without answering until the path changes, then resets it.
async fn hold(conn: TcpStream, mut rx: watch::Receiver<Path>) {
    let _ = rx.wait_for(|p| *p != Path::Blackhole).await;
    reset(conn);
}

/// Closes a connection with a TCP reset rather than an orderly close.
fn reset(conn: TcpStream) {
    let _ = conn.set_zero_linger();
    drop(conn);
}
