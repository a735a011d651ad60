//! A TCP proxy that can be cut, to partition one controller from DynamoDB while everything else
//! (the other controller, the test's own reads) still reaches it. Cut, it resets every open
//! connection and every new one, as a failed network path does; restored, it forwards again.

use std::sync::Arc;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy; it stops when the test's runtime ends.
pub struct CutProxy {
    /// `http://127.0.0.1:PORT`, to use as the endpoint.
    pub url: String,
    cut: Arc<watch::Sender<bool>>,
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
        let cut = Arc::new(watch::channel(false).0);
        let shared = cut.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                if *shared.borrow() {
                    reset(conn);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cut_rx = shared.subscribe();
                tokio::spawn(async move {
                    let Ok(mut up) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let mut conn = conn;
                    tokio::select! {
                        _ = copy_bidirectional(&mut conn, &mut up) => {}
                        _ = cut_rx.wait_for(|cut| *cut) => reset(conn),
                    }
                });
            }
        });
        CutProxy { url, cut }
    }

    /// Cuts (`true`) or restores (`false`) the path.
    pub fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

/// Closes a connection with a TCP reset rather than an orderly close.
fn reset(conn: TcpStream) {
    let _ = conn.set_zero_linger();
    drop(conn);
}
