//! One size, start to end: a fresh control plane with the groups, the controller against moto
//! through the recording proxy, the wait for every group's first heartbeat, the warm-up, the
//! measured window, and the clean-up (controller and control plane killed, table deleted).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cluster::{self, NS, PROGRESS_EVERY};
use crate::control_plane::{ControlPlane, free_port};
use crate::controller::{Controller, Launch};
use crate::procfs::{self, CpuMeter};
use crate::proxy::Proxy;
use crate::timing::{Settings, Size, WARMUP_INTERVALS, quantile, secs};
use crate::{CLUSTER, OPERATOR, moto};

/// What the benchmark shares between sizes.
pub struct Bench {
    /// The controller binary.
    pub binary: PathBuf,
    /// moto's URL (the proxy forwards there).
    pub moto: String,
    /// Where control planes and logs go.
    pub dir: PathBuf,
    pub settings: Settings,
}

/// How long each step of the set-up took.
#[derive(Debug, Default)]
pub struct SetUp {
    pub control_plane: Duration,
    pub objects: Duration,
    pub pods: Duration,
    pub pods_at_start: usize,
    pub first_heartbeats: Duration,
    pub heartbeating: usize,
    /// From the start of the size to the start of the warm-up.
    pub total: Duration,
}

/// What one size measured.
#[derive(Debug, Default)]
pub struct Figures {
    pub rss_mib: f64,
    pub peak_mib: f64,
    pub cores: f64,
    pub threads: u64,
    pub requests_per_s: f64,
    pub store_p50: Duration,
    pub store_p99: Duration,
    pub store_max: Duration,
    pub late_p50: Duration,
    pub late_p99: Duration,
    pub late_max: Duration,
    /// Gaps between two heartbeats of a group, both in the window.
    pub beats: usize,
    /// What a store that kept up would have given: N x (intervals - 1).
    pub expected_beats: usize,
    /// Groups whose last heartbeat was over two intervals old at the window's end.
    pub overdue: usize,
    pub operations: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    pub moto_cores: Option<f64>,
    pub plane_cores: Option<f64>,
    pub plane_rss: Vec<(String, u64)>,
    pub pods_at_end: Option<usize>,
    /// Calls that waited for an in-flight slot (STORE_MAX_IN_FLIGHT) in the window.
    pub budget_waits: Option<f64>,
    pub log_lines: usize,
    pub setup: SetUp,
}

impl Bench {
    /// Runs `size` (the `index`-th) on a control plane of its own.
    pub async fn measure(&self, index: usize, size: Size) -> Result<Figures, String> {
        let started = Instant::now();
        let mut setup = SetUp::default();
        eprintln!("{size}: starting a control plane");
        let plane = ControlPlane::start(&format!("size-{index}"), &self.dir)
            .await
            .map_err(|e| format!("the control plane did not start: {e}"))?;
        setup.control_plane = started.elapsed();
        let result = self.on_plane(&plane, size, started, setup).await;
        if result.is_err() {
            eprintln!("{size}: failed; last lines of the control plane's logs:");
            let mut plane = plane;
            eprintln!("{}", plane.diagnostics());
        }
        result
    }

    async fn on_plane(
        &self,
        plane: &ControlPlane,
        size: Size,
        started: Instant,
        mut setup: SetUp,
    ) -> Result<Figures, String> {
        cluster::prepare(plane).await?;
        let kubeconfig = plane.dir.join("controller.kubeconfig");
        cluster::controller_kubeconfig(plane, &kubeconfig).await?;
        eprintln!(
            "{size}: control plane up in {}; creating {} groups",
            secs(setup.control_plane),
            size.groups
        );
        setup.objects = cluster::create_groups(plane, CLUSTER, size).await?;
        eprintln!(
            "{size}: {} groups created in {}; waiting for their pods",
            size.groups,
            secs(setup.objects)
        );
        (setup.pods_at_start, setup.pods) =
            cluster::settle(plane, size, self.settings.settle).await;

        let table = moto::unique_table_name("scale-real");
        let proxy = Proxy::start(&self.moto).await?;
        let log = plane.dir.join("controller.log");
        let mut controller = Controller::start(&Launch {
            binary: &self.binary,
            cluster: CLUSTER,
            namespace: NS,
            kubeconfig: &kubeconfig,
            endpoint: &proxy.url,
            table: &table,
            operator: OPERATOR,
            metrics_addr: &format!("127.0.0.1:{}", free_port()),
            log: &log,
        })?;
        let measured = self
            .run(plane, &proxy, &mut controller, size, started, setup)
            .await;
        drop(controller);
        delete_table(&self.moto, &table).await;
        if let Err(e) = &measured {
            keep_log(&log, &self.dir, size);
            return Err(e.clone());
        }
        measured
    }

    async fn run(
        &self,
        plane: &ControlPlane,
        proxy: &Proxy,
        controller: &mut Controller,
        size: Size,
        started: Instant,
        mut setup: SetUp,
    ) -> Result<Figures, String> {
        let n = size.groups as usize;
        let spawned = Instant::now();
        // Start-up registers every group in the table before its first tick, and first ticks
        // are spread over half an interval: a bound that grows with both.
        let bound =
            Duration::from_secs(120) + size.interval * 4 + Duration::from_millis(30) * size.groups;
        let mut printed = Instant::now();
        loop {
            let k = proxy.groups_heartbeating();
            if k >= n {
                break;
            }
            if let Some(why) = controller.exited() {
                return Err(why);
            }
            if spawned.elapsed() > bound {
                eprintln!(
                    "{size}: only {k}/{n} groups wrote a heartbeat within {}; measuring anyway",
                    secs(bound)
                );
                break;
            }
            if printed.elapsed() >= PROGRESS_EVERY {
                printed = Instant::now();
                eprintln!(
                    "  first heartbeats {k}/{n} after {} ({} store requests so far)",
                    secs(spawned.elapsed()),
                    proxy.requests()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        setup.first_heartbeats = spawned.elapsed();
        setup.heartbeating = proxy.groups_heartbeating();
        setup.total = started.elapsed();
        eprintln!(
            "{size}: {}/{n} groups heartbeating {} after the controller started; warm-up of {WARMUP_INTERVALS} intervals",
            setup.heartbeating,
            secs(setup.first_heartbeats)
        );
        wait(controller, size.interval * WARMUP_INTERVALS).await?;

        let intervals = self.settings.intervals;
        // /metrics is read outside the window: with N groups it is large, and encoding it is
        // not what the controller does every interval.
        let waits_before = controller.budget_waits().await;
        let moto_cpu = moto::pid().map(|pid| CpuMeter::start(&[pid]));
        let plane_cpu = CpuMeter::start(&plane.pids());
        let cpu = CpuMeter::start(&[controller.pid]);
        let requests_before = proxy.start_window();
        let window_started = Instant::now();
        eprintln!("{size}: measuring {intervals} intervals");
        wait(controller, size.interval * intervals).await?;
        let window = proxy.end_window(requests_before, size.interval * 2);
        let wall = window_started.elapsed();
        let cores = cpu.cores().ok_or("the controller exited in the window")?;
        let reading = procfs::read(controller.pid).ok_or("the controller exited in the window")?;
        let moto_cores = moto_cpu.and_then(|m| m.cores());
        let plane_cores = plane_cpu.cores();
        let waits_after = controller.budget_waits().await;

        let mut late: Vec<Duration> = window
            .gaps
            .iter()
            .map(|gap| gap.saturating_sub(size.interval))
            .collect();
        late.sort();
        Ok(Figures {
            rss_mib: procfs::mib(reading.rss_kib),
            peak_mib: procfs::mib(reading.peak_kib),
            cores,
            threads: reading.threads,
            requests_per_s: window.requests as f64 / wall.as_secs_f64(),
            store_p50: quantile(&window.latencies, 0.5),
            store_p99: quantile(&window.latencies, 0.99),
            store_max: window.latencies.last().copied().unwrap_or_default(),
            late_p50: quantile(&late, 0.5),
            late_p99: quantile(&late, 0.99),
            late_max: late.last().copied().unwrap_or_default(),
            beats: late.len(),
            expected_beats: n * (intervals as usize - 1),
            overdue: window.overdue,
            operations: window.operations,
            errors: window.errors,
            moto_cores,
            plane_cores,
            plane_rss: plane.rss_kib(),
            pods_at_end: cluster::pods_now(plane).await,
            budget_waits: waits_before.zip(waits_after).map(|(a, b)| b - a),
            log_lines: controller.log_lines(),
            setup,
        })
    }
}

/// Sleeps `how_long`, failing as soon as the controller exits.
async fn wait(controller: &mut Controller, how_long: Duration) -> Result<(), String> {
    let end = Instant::now() + how_long;
    while Instant::now() < end {
        if let Some(why) = controller.exited() {
            return Err(why);
        }
        let left = end.saturating_duration_since(Instant::now());
        tokio::time::sleep(left.min(Duration::from_millis(500))).await;
    }
    Ok(())
}

/// Deletes the size's table, so moto does not carry every earlier size's items.
async fn delete_table(moto_url: &str, table: &str) {
    let client = moto::sdk_client_for(moto_url).await;
    if let Err(e) = client.delete_table().table_name(table).send().await {
        eprintln!("  (could not delete table {table} from moto: {e})");
    }
}

/// Copies a failed size's controller log next to the benchmark's directory: the control
/// plane's directory (where it was) is removed when the plane drops.
fn keep_log(log: &Path, dir: &Path, size: Size) {
    let kept = dir.join(format!(
        "controller-{}-{}.log",
        size.groups,
        size.interval.as_millis()
    ));
    if std::fs::copy(log, &kept).is_ok() {
        eprintln!("{size}: the controller's log is kept at {}", kept.display());
    }
}
