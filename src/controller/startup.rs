//! The DynamoDB side of `run`'s start-up: the table is created when missing (and allowed), else
//! checked. It runs after the health server is bound, and a table that is not usable yet
//! (DynamoDB unreachable or throttling, credentials not working yet, the table missing or being
//! created by someone else) is waited for *inside* the process, with backoff and a log line
//! naming the cause and the fix: exiting would only make the kubelet restart the process into
//! the same wait, and a crash loop backs off for minutes once the store is back. Only a table
//! whose schema is wrong, or a bug, ends the process.

use super::http::Startup;
use crate::config::StoreArgs;
use crate::error::Error;
use crate::store::StoreError;
use crate::store::dynamodb::client::{build_client, endpoint_label};
use crate::store::dynamodb::setup::SetupProgress;
use crate::store::dynamodb::setup::{
    Billing, SetupError, TableSpec, check_table, ensure_table, error_context,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// First pause after a failed attempt; doubled after each one up to [`MAX_RETRY`].
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest pause between two attempts.
pub const MAX_RETRY: Duration = Duration::from_secs(30);
/// How long one attempt may wait for a table being created to become ACTIVE.
const ACTIVE_WAIT: Duration = Duration::from_secs(300);

/// Why the table is not usable, with what to do; `retry` when waiting can help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableProblem {
    /// Cause and fix, for the log and `/readyz`.
    pub message: String,
    /// Whether trying again later can succeed without changing this process's settings.
    pub retry: bool,
}

/// How long the first table check may take before the agents start beside it (unless the
/// table is being created). A reachable DynamoDB answers it in a round trip or two, and only
/// whether the table is being created must be known before the agents start; any longer wait
/// adds to the time after a restart in which nothing can switch a cut-off cluster off, since
/// the agents' own fence only starts counting once they run (chaos seed 240: 3 s here, 1 s
/// of start deadline and a kubelet restart of both replicas did not fit a 4 s heartbeat timeout).
pub const FIRST_TABLE_ATTEMPT: Duration = Duration::from_millis(500);

/// Starts the controller (`run`) as soon as the table allows, and runs it to its end.
///
/// One attempt first: a table that is missing (and being created now) cannot have let any
/// earlier incarnation serve, so the agents wait for it. A store that cannot be reached (or
/// answers with errors) may have been what cut an earlier incarnation off while its cluster
/// served: then the controller starts at once, its agents fence their clusters after one
/// bounded attempt (src/agent/group/start.rs), and the table is waited for beside it. Waiting
/// without agents would leave a serving cluster on while the others take over.
pub async fn run_when_table_allows<R>(
    store: &StoreArgs,
    create: bool,
    startup: &Startup,
    shutdown: &mut watch::Receiver<bool>,
    run: impl FnOnce() -> R,
) -> Result<(), Error>
where
    R: Future<Output = Result<(), Error>>,
{
    let creating = AtomicBool::new(false);
    let attempt = prepare_table(store, create, &creating);
    tokio::pin!(attempt);
    let first = tokio::select! {
        r = &mut attempt => Some(r),
        _ = tokio::time::sleep(FIRST_TABLE_ATTEMPT) => None,
        _ = shutdown.changed() => return Ok(()),
    };
    let first = match first {
        Some(r) => r,
        // A table being created: nobody can have served from it yet, wait for it.
        None if creating.load(Ordering::Relaxed) => tokio::select! {
            r = &mut attempt => r,
            _ = shutdown.changed() => return Ok(()),
        },
        None => Err(TableProblem {
            message: format!(
                "DynamoDB did not answer the table check within {FIRST_TABLE_ATTEMPT:?}"
            ),
            retry: true,
        }),
    };
    match first {
        Ok(()) => run().await,
        Err(problem) if !problem.retry => Err(Error::Usage(problem.message)),
        Err(problem) => {
            tracing::warn!(
                "{}; starting the agents anyway (a cluster that cannot reach the table is fenced) and retrying the table beside them",
                problem.message
            );
            let mut table_shutdown = shutdown.clone();
            let table = wait_for_table(store, create, startup, &mut table_shutdown);
            let run = run();
            tokio::pin!(run);
            tokio::select! {
                ended = &mut run => return ended,
                ready = table => {
                    if !ready? {
                        tracing::info!("stopped while starting");
                    }
                }
            }
            run.await
        }
    }
}

/// Prepares the table, retrying what can succeed later; `Ok(false)` when `shutdown` came
/// first. An error is one that waiting cannot fix (it names the fix).
pub async fn wait_for_table(
    store: &StoreArgs,
    create: bool,
    startup: &Startup,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<bool, Error> {
    let mut pause = FIRST_RETRY;
    let creating = AtomicBool::new(false);
    loop {
        startup.set_phase(&format!(
            "checking the DynamoDB table {:?} at {}",
            store.table_name,
            endpoint_label(store)
        ));
        let problem = tokio::select! {
            r = prepare_table(store, create, &creating) => match r {
                Ok(()) => return Ok(true),
                Err(p) => p,
            },
            _ = shutdown.changed() => return Ok(false),
        };
        if !problem.retry {
            return Err(Error::Usage(problem.message));
        }
        tracing::warn!("{}; retrying in {pause:?}", problem.message);
        startup.set_phase(&format!("waiting for DynamoDB: {}", problem.message));
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return Ok(false),
        }
        pause = (pause * 2).min(MAX_RETRY);
    }
}

/// One attempt: creates the table when missing and allowed, else checks it. `creating` turns
/// true once the table is being created (by this call or by someone else): until it is
/// ACTIVE, no controller can have served from it.
pub async fn prepare_table(
    store: &StoreArgs,
    create: bool,
    creating: &AtomicBool,
) -> Result<(), TableProblem> {
    let client = build_client(store).await.map_err(|e| TableProblem {
        message: e.to_string(),
        retry: false,
    })?;
    let ctx = error_context(store);
    let result = if create {
        let spec = TableSpec {
            billing: Billing::PayPerRequest,
            wait: Some(ACTIVE_WAIT),
        };
        ensure_table(&client, &ctx, &spec, &mut |p| {
            if matches!(
                p,
                SetupProgress::Creating { .. } | SetupProgress::CreatedElsewhere { .. }
            ) {
                creating.store(true, Ordering::Relaxed);
            }
            tracing::info!("{p}")
        })
        .await
    } else {
        check_table(&client, &ctx).await
    };
    match result {
        Ok(outcome) => {
            for warning in &outcome.warnings {
                tracing::warn!("{warning}");
            }
            tracing::info!("{}", outcome.summary());
            Ok(())
        }
        Err(SetupError::AccessDenied {
            operation, message, ..
        }) => {
            // Setting the table up is optional for an existing table: a role without CreateTable
            // or UpdateTimeToLive still runs against a table that is already right.
            if let Ok(outcome) = check_table(&client, &ctx).await {
                tracing::warn!(
                    "DynamoDB refused {operation} ({message}); the table exists, continuing: {}",
                    outcome.summary()
                );
                return Ok(());
            }
            Err(TableProblem {
                message: format!(
                    "DynamoDB at {} refused {operation} on table {:?} ({message}); check the AWS credentials (the IRSA role or the aws-credentials Secret) and their permissions (deploy/iam-policy.json); if the table is missing and this controller may not create it, create it once with: {}",
                    endpoint_label(store),
                    store.table_name,
                    setup_hint(store)
                ),
                retry: true,
            })
        }
        Err(SetupError::Store(StoreError::TableNotFound { .. })) => Err(TableProblem {
            message: format!(
                "DynamoDB table {:?} does not exist in region {} and table creation is off (--create-table=false); create it with: {}",
                store.table_name,
                store.region.trim(),
                setup_hint(store)
            ),
            retry: true,
        }),
        Err(
            e @ (SetupError::WrongSchema { .. }
            | SetupError::LastWriterWins { .. }
            | SetupError::Internal { .. }),
        ) => Err(TableProblem {
            message: e.to_string(),
            retry: false,
        }),
        Err(e) => Err(TableProblem {
            message: format!(
                "DynamoDB table {:?} at {} (region {}) is not usable yet: {e}; check that the endpoint is reachable from the pod (AWS_REGION, AWS_ENDPOINT, network policies and egress) and that the AWS credentials work (the IRSA role or the aws-credentials Secret)",
                store.table_name,
                endpoint_label(store),
                store.region.trim()
            ),
            retry: true,
        }),
    }
}

fn setup_hint(store: &StoreArgs) -> String {
    format!(
        "kubectl failover setup-dynamodb --table-name {} --region {}",
        store.table_name,
        store.region.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable() -> StoreArgs {
        // A loopback port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        StoreArgs {
            endpoint: Some(format!("http://127.0.0.1:{port}")),
            use_local_endpoint: true,
            table_name: "t".into(),
            ..StoreArgs::defaults()
        }
    }

    #[tokio::test]
    async fn an_unreachable_store_is_retried_and_the_message_names_the_endpoint() {
        // Unreachable, or refused for want of credentials where the test runs: both are
        // waited for, and both name where the calls went.
        let store = unreachable();
        let problem = prepare_table(&store, true, &AtomicBool::new(false))
            .await
            .unwrap_err();
        assert!(problem.retry, "{problem:?}");
        let endpoint = store.endpoint.clone().unwrap();
        assert!(problem.message.contains(&endpoint), "{}", problem.message);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_for_the_table_ends_at_shutdown_without_an_error() {
        let store = unreachable();
        let startup = Startup::new();
        let (stop, mut rx) = watch::channel(false);
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let _ = stop.send(true);
        });
        let ready = wait_for_table(&store, true, &startup, &mut rx).await;
        assert!(matches!(ready, Ok(false)), "{ready:?}");
        stopper.await.unwrap();
    }

    #[tokio::test]
    async fn a_bad_store_setting_is_not_waited_for() {
        let store = StoreArgs {
            use_local_endpoint: true,
            endpoint: None,
            ..StoreArgs::defaults()
        };
        let problem = prepare_table(&store, true, &AtomicBool::new(false))
            .await
            .unwrap_err();
        assert!(!problem.retry);
        assert!(
            problem.message.contains("AWS_ENDPOINT"),
            "{}",
            problem.message
        );
    }
}
