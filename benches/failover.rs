//! Failover timings and steady-state store cost, in real time: three simulated clusters with
//! instant workloads, one real agent each (heartbeat interval 1 s, timeout 5 s), one stateful
//! group. Run with `cargo bench --bench failover`; prints a markdown table (docs/benchmarks.md).
//!
//! (a) planned promote, request -> target serving, memory store and moto, 5 runs each;
//! (b) automatic failover after killing the owner's agent: from its last successful heartbeat
//!     to the transition request (detection) and to the target serving (completion);
//! (c) steady state: requests per group per cluster per interval over 10 intervals.
//!
//! `KFO_MOTO_PYTHON` names a Python with `moto[server]` (as for the tests); without a working
//! moto the DynamoDB rows are skipped with the reason.

#[path = "failover/bed.rs"]
mod bed;
#[path = "../tests/support/moto.rs"]
mod moto;

use bed::Bed;
use chrono::{DateTime, Utc};
use kubectl_failover::agent::AgentEventKind;
use kubectl_failover::ops::promote::{PromoteOutcome, PromoteRequest, request_promotion};
use kubectl_failover::store::CoordinationStore;
use kubectl_failover::store::instrumented::RequestCounts;
use kubectl_failover::store::memory::MemoryStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

const OP: &str = "bench";
const INTERVAL: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(5);
const CLUSTERS: [&str; 3] = ["cluster-1", "cluster-2", "cluster-3"];
const RUNS: usize = 5;
const AUTO_RUNS_MOTO: usize = 3;
const STEADY_INTERVALS: u32 = 10;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// (a) request -> target serving, in seconds.
async fn planned(store: Arc<dyn CoordinationStore>, namespace: &str) -> Result<f64, Failure> {
    let bed = Bed::start(store, namespace).await?;
    // Start at a random point of the agents' tick cycle, as a person would.
    tokio::time::sleep(jitter()).await;
    let wall = bed.clock.now();
    let request = PromoteRequest {
        has_volume_replications: true,
        ..PromoteRequest::to("cluster-2", "bench", "benchmark")
    };
    let outcome = request_promotion(
        bed.store.as_ref(),
        bed.clock.as_ref(),
        OP,
        &bed.group,
        &request,
    )
    .await?;
    if !matches!(outcome, PromoteOutcome::Requested { .. }) {
        return Err(format!("promote refused: {outcome}").into());
    }
    let serving = bed.until_serving(1, Duration::from_secs(30)).await?;
    let took = seconds(wall, serving);
    bed.stop().await;
    Ok(took)
}

/// (b) (detection, completion) in seconds from the killed owner's last successful heartbeat.
async fn automatic(
    store: Arc<dyn CoordinationStore>,
    namespace: &str,
) -> Result<(f64, f64), Failure> {
    let mut bed = Bed::start(store, namespace).await?;
    tokio::time::sleep(Duration::from_secs(1) + jitter()).await;
    bed.kill(0);
    // Let a heartbeat that was in flight when the task was aborted land (or not) first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let snap = bed
        .store
        .load_group_with(OP, &bed.group, false)
        .await?
        .ok_or("group vanished")?;
    let last_beat = snap
        .clusters
        .iter()
        .find(|c| c.cluster_name == CLUSTERS[0])
        .and_then(|c| c.last_heartbeat)
        .ok_or("no heartbeat of cluster-1")?;
    let target = bed
        .until_any_serving_but_first(Duration::from_secs(30))
        .await?;
    let serving = bed.until_serving(target, Duration::from_secs(1)).await?;
    let requested = bed
        .sink
        .events()
        .into_iter()
        .find(|e| {
            matches!(
                e.kind,
                AgentEventKind::TransitionStarted {
                    requested_here: true,
                    automatic: true,
                    ..
                }
            )
        })
        .ok_or("no automatic transition request")?;
    bed.stop().await;
    Ok((
        seconds(last_beat, requested.at),
        seconds(last_beat, serving),
    ))
}

/// (c) requests per group per cluster per interval over `STEADY_INTERVALS` intervals.
async fn steady(
    store: Arc<dyn CoordinationStore>,
    namespace: &str,
) -> Result<Vec<(String, RequestCounts)>, Failure> {
    let bed = Bed::start(store, namespace).await?;
    tokio::time::sleep(INTERVAL * 2).await;
    bed.stores.iter().for_each(|s| s.reset_counts());
    tokio::time::sleep(INTERVAL * STEADY_INTERVALS).await;
    let counts = CLUSTERS
        .iter()
        .zip(&bed.stores)
        .map(|(c, s)| (c.to_string(), s.counts()))
        .collect();
    bed.stop().await;
    Ok(counts)
}

fn jitter() -> Duration {
    Duration::from_millis(u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * 1000 / 256)
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e6
}

/// min / median / max.
fn stats(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    let median = if xs.len() % 2 == 1 {
        xs[xs.len() / 2]
    } else {
        (xs[xs.len() / 2 - 1] + xs[xs.len() / 2]) / 2.0
    };
    (xs[0], median, xs[xs.len() - 1])
}

fn row(what: &str, store: &str, xs: Vec<f64>, target: f64) -> String {
    let n = xs.len();
    let (min, median, max) = stats(xs);
    let met = if max <= target {
        "yes"
    } else if median <= target {
        "median only"
    } else {
        "no"
    };
    format!(
        "| {what} | {store} | {n} | {min:.2} | {median:.2} | {max:.2} | ≤ {target:.1} | {met} |"
    )
}

async fn memory() -> Arc<dyn CoordinationStore> {
    Arc::new(MemoryStore::new())
}

/// A moto table for the DynamoDB rows, or why there is none.
async fn moto_store() -> Result<Arc<dyn CoordinationStore>, String> {
    let endpoint = std::panic::catch_unwind(moto::endpoint)
        .map_err(|_| "moto could not be started (set KFO_MOTO_PYTHON)".to_string())?;
    let client = moto::sdk_client_for(&endpoint).await;
    let table = moto::unique_table_name("bench");
    moto::create_spec_table(&client, &table).await;
    Ok(Arc::new(
        kubectl_failover::store::dynamodb::DynamoStore::from_client(
            client,
            &table,
            moto::REGION,
            &endpoint,
        ),
    ))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Failure> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` (scripts/test.sh) runs this
    // binary without it, and the benchmark (minutes of real time) is not a test.
    if !std::env::args().any(|a| a == "--bench") {
        println!("the failover benchmark runs with: cargo bench --bench failover");
        return Ok(());
    }
    let started = Instant::now();
    let moto = moto_store().await;
    let mut table = vec![
        "| measurement | store | runs | min (s) | median (s) | max (s) | target (s) | met |"
            .to_string(),
        "|---|---|---|---|---|---|---|---|".to_string(),
    ];
    let mut n = 0;
    let mut ns = || {
        n += 1;
        format!("bench-{}-{n}", std::process::id())
    };

    let mut xs = Vec::new();
    for _ in 0..RUNS {
        xs.push(planned(memory().await, &ns()).await?);
    }
    eprintln!("(a) memory: {xs:.3?}");
    table.push(row(
        "(a) planned promote: request -> target serving",
        "memory",
        xs,
        2.0,
    ));
    match &moto {
        Ok(store) => {
            let mut xs = Vec::new();
            for _ in 0..RUNS {
                xs.push(planned(store.clone(), &ns()).await?);
            }
            eprintln!("(a) moto: {xs:.3?}");
            table.push(row(
                "(a) planned promote: request -> target serving",
                "DynamoDB (moto)",
                xs,
                2.0,
            ));
        }
        Err(why) => eprintln!("skipping the DynamoDB rows: {why}"),
    }

    let detection_limit = (TIMEOUT + INTERVAL).as_secs_f64();
    let mut auto_rows = |store: &str, runs: Vec<(f64, f64)>| {
        let detect: Vec<f64> = runs.iter().map(|r| r.0).collect();
        let complete: Vec<f64> = runs.iter().map(|r| r.1).collect();
        let after: Vec<f64> = runs.iter().map(|r| r.1 - r.0).collect();
        table.push(row(
            "(b) automatic: last heartbeat -> request (detection)",
            store,
            detect,
            detection_limit,
        ));
        table.push(row(
            "(b) automatic: last heartbeat -> target serving",
            store,
            complete,
            detection_limit + 2.0,
        ));
        table.push(row(
            "(b) automatic: request -> target serving",
            store,
            after,
            2.0,
        ));
    };
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(automatic(memory().await, &ns()).await?);
    }
    eprintln!("(b) memory: {runs:.3?}");
    auto_rows("memory", runs);
    if let Ok(store) = &moto {
        let mut runs = Vec::new();
        for _ in 0..AUTO_RUNS_MOTO {
            runs.push(automatic(store.clone(), &ns()).await?);
        }
        eprintln!("(b) moto: {runs:.3?}");
        auto_rows("DynamoDB (moto)", runs);
    }

    let counts = steady(memory().await, &ns()).await?;
    let per = f64::from(STEADY_INTERVALS);
    let mut steady_table = vec![
        format!(
            "| cluster (role) | reads / group / interval | writes / group / interval | requests by operation over {STEADY_INTERVALS} intervals |"
        ),
        "|---|---|---|---|".to_string(),
    ];
    let mut worst = (0.0_f64, 0.0_f64);
    for (i, (cluster, c)) in counts.iter().enumerate() {
        let (reads, writes) = (c.reads as f64 / per, c.writes as f64 / per);
        worst = (worst.0.max(reads), worst.1.max(writes));
        let ops: Vec<String> = c
            .by_operation
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let role = if i == 0 { "owner" } else { "standby" };
        steady_table.push(format!(
            "| {cluster} ({role}) | {reads:.2} | {writes:.2} | {} |",
            ops.join(", ")
        ));
    }

    println!("\n{}\n", table.join("\n"));
    println!("{}\n", steady_table.join("\n"));
    println!(
        "(c) steady state, worst cluster: {:.2} reads and {:.2} writes per group per interval (target ≤ 1 each): {}",
        worst.0,
        worst.1,
        if worst.0 <= 1.0 && worst.1 <= 1.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "total benchmark time: {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
