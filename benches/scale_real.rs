//! The real controller at scale: the `kubectl-failover run` binary against a real Kubernetes
//! control plane (etcd, kube-apiserver, kube-controller-manager and kwok, from
//! tests/support/control_plane) and moto's DynamoDB, for N FailoverGroups at heartbeat interval
//! I (10, 100, 1,000 and 10,000 at 15 s, and 1,000 at 1 s by default). benches/scale.rs measures
//! the agents alone on the embedded store; this adds everything it leaves out: the
//! controller's Kubernetes side (watches, per-group health reads and status writes, the API
//! server's latency) and DynamoDB over HTTP.
//!
//! Per size: a fresh control plane with deploy/'s RBAC; N FailoverGroups in one namespace, each
//! listing its own one-replica Deployment (kwok runs the pods), created 32 requests at a time;
//! a fresh table; this cluster is the only member, so it is PRIMARY of every group. The
//! controller runs without leader election, with its ServiceAccount's token, and reaches moto
//! through a recording proxy (benches/scale_real/proxy.rs) that times every DynamoDB request and
//! sees every heartbeat write from outside the process. Once every group wrote its first
//! heartbeat (a bounded wait), 2 intervals of warm-up, then `KFO_SCALE_REAL_INTERVALS` (3)
//! intervals are measured: the controller's resident memory (now and peak), CPU in cores,
//! threads; store requests per second and their latency at the proxy; tick lateness
//! p50/p99/max: how much later than one interval after a group's previous heartbeat its next
//! one was written (benches/scale.rs's definition). Beside them: moto's CPU and whether it kept
//! up, the control plane's memory and CPU, and the issue's targets (10,000 groups at 15 s: RSS
//! under 256 MiB, under half a core, tick lateness p99 under 10% of the interval).
//!
//! ```bash
//! ./scripts/k8s-control-plane.sh            # builds the control plane once (./scripts/test.sh does)
//! KFO_K8S_BIN=$(./scripts/k8s-control-plane.sh --check) \
//! KFO_MOTO_PYTHON=$HOME/.cache/kubectl-failover/venv/bin/python \
//!   cargo bench --bench scale_real
//! ```
//!
//! `KFO_SCALE_REAL_SIZES=10000@15s,1000@1s` picks sizes (benches/scale.rs's syntax);
//! `KFO_SCALE_REAL_SETTLE` bounds the wait for the Deployments' pods before the controller
//! starts (30m; 0s starts it at once); the control plane's kube-controller-manager runs with a
//! client rate of 500 requests per second for this. `KFO_E2E_BINARY` runs another
//! build of the controller. The table is printed at the end on stdout, progress and each row as
//! it is measured on stderr.

#[path = "../tests/support/control_plane/mod.rs"]
mod control_plane;
#[path = "../tests/support/moto.rs"]
mod moto;

#[path = "scale_real/cluster.rs"]
mod cluster;
#[path = "scale_real/controller.rs"]
mod controller;
#[path = "scale_real/measure.rs"]
mod measure;
#[path = "scale_real/procfs.rs"]
mod procfs;
#[path = "scale_real/proxy.rs"]
mod proxy;
#[path = "scale_real/report.rs"]
mod report;
#[path = "scale_real/timing.rs"]
mod timing;

use std::path::PathBuf;
use std::process::ExitCode;

use measure::Bench;
use timing::{Settings, WARMUP_INTERVALS};

/// This cluster's name: the only member of every group.
pub const CLUSTER: &str = "bench";
/// The operator ID of the controller (and so of every group's PK).
pub const OPERATOR: &str = "scale-real";

fn main() -> ExitCode {
    // A benchmark's errors are messages for a person, not crashes: no backtrace, whatever
    // panics (tests/support's helpers panic with their reason).
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        eprintln!("error: {message}");
    }));
    // Arguments (`--bench` from cargo, libtest's filters) are ignored: the environment picks.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Everything; whether every size was measured.
async fn run() -> Result<bool, String> {
    let settings = Settings::from_env()?;
    let k8s = control_plane::bin_dir()?;
    // A wrong KFO_K8S_BIN would otherwise only show as every size failing to start.
    for component in ["etcd", "kube-apiserver", "kube-controller-manager", "kwok"] {
        if !k8s.join(component).is_file() {
            return Err(format!(
                "{} has no {component}: run ./scripts/k8s-control-plane.sh (./scripts/test.sh does) or point KFO_K8S_BIN at its output",
                k8s.display()
            ));
        }
    }
    let binary = controller::binary()?;
    // moto's helper panics with its reason when no server starts; it also waits for it.
    let moto_url = tokio::task::spawn_blocking(|| std::panic::catch_unwind(moto::endpoint))
        .await
        .map_err(|e| format!("starting moto: {e}"))?
        .map_err(|_| "no DynamoDB-compatible server (moto) could be started".to_string())?;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("scale-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    let debug = binary.components().any(|c| c.as_os_str() == "debug");
    println!(
        "The real controller at scale: {} against a real control plane ({}) and moto ({moto_url}, through a recording proxy); {} intervals measured after {WARMUP_INTERVALS} of warm-up once every group heartbeats; a fresh control plane per size.{}\n",
        binary.display(),
        k8s.display(),
        settings.intervals,
        if debug {
            " A DEBUG build of the controller: not the figures of a release."
        } else {
            ""
        }
    );
    let bench = Bench {
        binary,
        moto: moto_url,
        dir: dir.clone(),
        settings: settings.clone(),
    };
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let mut all_measured = true;
    for (index, size) in settings.sizes.iter().copied().enumerate() {
        match bench.measure(index, size).await {
            Ok(f) => {
                let row = report::row(size, &f);
                eprintln!("{size}: measured\n{row}");
                rows.push(row);
                notes.push(report::details(size, &f));
                notes.extend(report::targets(size, &f));
            }
            Err(e) => {
                eprintln!("{size}: FAILED: {e}");
                all_measured = false;
                rows.push(report::failed_row(size, &e));
            }
        }
    }
    println!("{}", report::header());
    for row in &rows {
        println!("{row}");
    }
    println!();
    for note in &notes {
        println!("{note}");
    }
    // Only succeeds when empty: kept logs of failed sizes stay.
    let _ = std::fs::remove_dir(&dir);
    Ok(all_measured)
}
