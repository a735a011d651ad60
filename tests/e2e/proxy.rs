//! A TCP proxy that can be cut, to partition one controller from DynamoDB while everything else
//! (the other controller, the test's own reads) still reaches it. Two ways to cut, as networks
//! fail: `Reset` refuses every open and new connection at once (a rejecting firewall, a dead
//! host's kernel); `Blackhole` accepts and then never answers (dropped packets): a call only
//! ends when the client's own timeout does. Restored, it forwards again.

use std::sync::Arc;
use tokio::io::copy_bidirectional;
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
        Path::Open => {}
    }
    let Ok(mut up) = TcpStream::connect(&upstream).await else {
        return;
    };
    let cut = tokio::select! {
        _ = copy_bidirectional(&mut conn, &mut up) => None,
        changed = rx.wait_for(|p| *p != Path::Open) => changed.ok().map(|p| *p),
    };
    drop(up);
    match cut {
        Some(Path::Blackhole) => hold(conn, rx).await,
        Some(_) => reset(conn),
        None => {}
    }
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
