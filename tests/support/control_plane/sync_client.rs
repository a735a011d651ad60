//! Synchronous reads and applies against a control plane, for test code that samples objects
//! from plain functions (the serving monitor, `Cluster::view`). They run on a thread of their
//! own with its own runtime and client: blocking the test's runtime on its own I/O
//! (`block_in_place` + `block_on`) deadlocks when that runtime shuts down at the end of a test
//! while a sampler is still inside such a call.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use super::objects;

/// How long one synchronous call may take before it is reported as failed.
const CALL_LIMIT: Duration = Duration::from_secs(30);

enum Request {
    Get(String),
    Apply(Value),
}

type Reply = mpsc::Sender<Result<Option<Value>, String>>;

/// A handle to the reader thread; the thread ends when the handle drops.
pub struct SyncClient {
    name: String,
    requests: tokio::sync::mpsc::UnboundedSender<(Request, Reply)>,
}

impl SyncClient {
    /// Starts the thread for the cluster `name`, as its administrator (`kubeconfig`).
    pub fn start(name: &str, kubeconfig: PathBuf) -> Result<SyncClient, String> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Request, Reply)>();
        let cluster = name.to_string();
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("sync-client-{name}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let client = match objects::client(&kubeconfig).await {
                        Ok(c) => c,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    while let Some((request, reply)) = rx.recv().await {
                        let answer = match request {
                            Request::Get(path) => objects::get_with(&client, &cluster, &path).await,
                            Request::Apply(obj) => {
                                objects::apply_with(&client, &cluster, obj).await.map(Some)
                            }
                        };
                        let _ = reply.send(answer);
                    }
                });
            })
            .map_err(|e| format!("start the sync client thread: {e}"))?;
        ready_rx
            .recv()
            .map_err(|_| "the sync client thread ended".to_string())??;
        Ok(SyncClient {
            name: name.to_string(),
            requests: tx,
        })
    }

    fn call(&self, request: Request) -> Result<Option<Value>, String> {
        let (reply, answer) = mpsc::channel();
        self.requests
            .send((request, reply))
            .map_err(|_| format!("the sync client of {} is gone", self.name))?;
        let wait = || {
            answer
                .recv_timeout(CALL_LIMIT)
                .map_err(|e| format!("no answer from {} within {CALL_LIMIT:?}: {e}", self.name))?
        };
        // On a runtime worker, let the runtime move its other tasks elsewhere while this waits;
        // the answer does not depend on this runtime, so this also ends during its shutdown.
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(wait)
            }
            _ => wait(),
        }
    }

    /// The object at an API path, `None` when it does not exist.
    pub fn get(&self, path: &str) -> Result<Option<Value>, String> {
        self.call(Request::Get(path.to_string()))
    }

    /// The items of a list at an API path.
    pub fn list(&self, path: &str) -> Result<Vec<Value>, String> {
        let list = self.get(path)?.unwrap_or(Value::Null);
        Ok(list["items"].as_array().cloned().unwrap_or_default())
    }

    /// Server-side applies `obj`; the stored object.
    pub fn apply(&self, obj: Value) -> Result<Value, String> {
        self.call(Request::Apply(obj))
            .map(|v| v.unwrap_or(Value::Null))
    }
}
