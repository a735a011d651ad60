//! One controller's agents at scale: a cluster's real agents for 10, 100, 1,000 and 10,000
//! groups (and 1,000 at a 1 s interval) on the embedded store and a simulated cluster with
//! instant workloads, each size in a fresh process. Measured over several heartbeat intervals
//! after a warm-up: resident memory (now and peak), CPU (cores used), tokio tasks alive, store
//! requests per second, and tick lateness: how much later than one interval after its previous
//! heartbeat each group's next heartbeat is written (p50/p99/max), which is what the other
//! clusters' staleness detection sees. And the start-up burst: the most store requests in any
//! one second of the warm-up (first ticks are spread over half an interval above
//! `agent::stagger::STAGGER_ABOVE` groups).
//!
//! `cargo bench --bench scale` prints a markdown table (docs/benchmarks.md, "Scale").
//! `KFO_SCALE_SIZES=10000@15s,1000@1s` picks the sizes; `KFO_SCALE_INTERVALS` how many intervals
//! are measured (4).
//!
//! Left out: the controller's Kubernetes side (the supervisor's status writes, Events, watches
//! and the API server's latency): the agents act on the simulated cluster, whose calls answer at
//! once.

use kubectl_failover::agent::{Agent, GroupSpec};
use kubectl_failover::clock::{Clock, SystemClock};
use kubectl_failover::demo::world::{bootstrap, policy};
use kubectl_failover::k8s::simulated::{ServingLog, SimGroupSpec, SimulatedCluster};
use kubectl_failover::store::GroupId;
use kubectl_failover::store::instrumented::InstrumentedStore;
use kubectl_failover::store::memory::MemoryStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLUSTER: &str = "cluster-1";
const OP: &str = "scale";
const WARMUP_INTERVALS: u32 = 2;

/// One size: how many groups, at which heartbeat interval.
#[derive(Debug, Clone, Copy)]
struct Size {
    groups: u32,
    interval: Duration,
}

fn parse_size(s: &str) -> Option<Size> {
    let (groups, interval) = s.trim().split_once('@')?;
    let interval: kubectl_failover::duration::GoDuration = interval.parse().ok()?;
    Some(Size {
        groups: groups.replace(',', "").parse().ok()?,
        interval: interval.get(),
    })
}

/// What one size measured.
#[derive(Debug)]
struct Figures {
    rss_mib: f64,
    peak_mib: f64,
    cores: f64,
    tasks: usize,
    requests_per_s: f64,
    late_p50: Duration,
    late_p99: Duration,
    late_max: Duration,
    beats: usize,
    start_peak: u64,
}

/// (resident, peak resident) in MiB, from /proc/self/status.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU time this process used so far (user + system), from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at state (3rd field).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the state.
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(((sorted.len() - 1) as f64) * q).round() as usize]
}

/// Runs one size in this process.
async fn measure(size: Size, intervals: u32) -> Result<Figures, String> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
    let log = ServingLog::new(clock.clone());
    let sim = Arc::new(SimulatedCluster::new(CLUSTER, clock.clone(), log));
    let store = Arc::new(InstrumentedStore::new(
        Arc::new(MemoryStore::new()),
        CLUSTER,
    ));
    let timeout = size.interval * 4;
    let mut specs = Vec::with_capacity(size.groups as usize);
    for i in 0..size.groups {
        let group = GroupId::new("scale", &format!("app-{i}")).map_err(|e| e.to_string())?;
        sim.add_group(group.clone(), SimGroupSpec::stateless().instant());
        specs.push(GroupSpec {
            bootstrap: bootstrap(OP, &group, CLUSTER, size.interval, timeout, clock.now()),
            group,
            policy: policy(timeout, true),
            settings_from_spec: false,
        });
    }
    let agent =
        Agent::new(specs, store.clone(), sim, clock, Arc::new(())).map_err(|e| e.to_string())?;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let running = tokio::spawn(agent.run(rx));
    // The start-up burst: the most requests in any one second of the warm-up.
    let mut samples: Vec<(Instant, u64)> = Vec::new();
    let mut start_peak = 0u64;
    while started.elapsed() < size.interval * WARMUP_INTERVALS {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let c = store.counts();
        let now = (Instant::now(), c.reads + c.listings + c.writes);
        samples.retain(|(at, _)| now.0.duration_since(*at) <= Duration::from_secs(1));
        if let Some((_, first)) = samples.first() {
            start_peak = start_peak.max(now.1 - first);
        }
        samples.push(now);
    }
    store.reset_counts();
    store.track_heartbeat_gaps();
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    tokio::time::sleep(size.interval * intervals).await;
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    let (rss_mib, peak_mib) = memory();
    let tasks = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let counts = store.counts();
    let mut late: Vec<Duration> = store
        .heartbeat_gaps()
        .into_iter()
        .map(|gap| gap.saturating_sub(size.interval))
        .collect();
    late.sort();
    let _ = stop.send(true);
    let _ = running.await;
    Ok(Figures {
        rss_mib,
        peak_mib,
        cores: cpu.as_secs_f64() / wall.as_secs_f64(),
        tasks,
        requests_per_s: (counts.reads + counts.listings + counts.writes) as f64
            / wall.as_secs_f64(),
        late_p50: quantile(&late, 0.5),
        late_p99: quantile(&late, 0.99),
        late_max: late.last().copied().unwrap_or_default(),
        beats: late.len(),
        start_peak,
    })
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let intervals: u32 = std::env::var("KFO_SCALE_INTERVALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    // A child measures one size and prints its figures on one line.
    if let Ok(one) = std::env::var("KFO_SCALE_ONE") {
        let Some(size) = parse_size(&one) else {
            eprintln!("KFO_SCALE_ONE={one:?}: expected GROUPS@INTERVAL");
            std::process::exit(2);
        };
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                eprintln!("runtime: {e}");
                std::process::exit(1);
            }
        };
        match runtime.block_on(measure(size, intervals)) {
            Ok(f) => println!(
                "| {} | {} | {:.0} MiB | {:.0} MiB | {:.3} | {} | {:.1} | {} | {} | {} | {} | {} |",
                size.groups,
                kubectl_failover::duration::GoDuration::from(size.interval),
                f.rss_mib,
                f.peak_mib,
                f.cores,
                f.tasks,
                f.requests_per_s,
                ms(f.late_p50),
                ms(f.late_p99),
                ms(f.late_max),
                f.beats,
                f.start_peak,
            ),
            Err(e) => {
                eprintln!("{} groups: {e}", size.groups);
                std::process::exit(1);
            }
        }
        return;
    }
    let sizes: Vec<Size> = std::env::var("KFO_SCALE_SIZES")
        .unwrap_or_else(|_| "10@15s,100@15s,1000@15s,10000@15s,1000@1s".into())
        .split(',')
        .filter_map(parse_size)
        .collect();
    println!(
        "One controller's agents, embedded store, simulated cluster ({intervals} intervals measured after {WARMUP_INTERVALS} of warm-up, 2 worker threads):\n"
    );
    println!(
        "| groups | interval | RSS | peak RSS | CPU (cores) | tasks | store requests/s | tick lateness p50 | p99 | max | heartbeats measured |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("cannot find this benchmark's binary: {e}");
            std::process::exit(1);
        }
    };
    for size in sizes {
        let one = format!(
            "{}@{}",
            size.groups,
            kubectl_failover::duration::GoDuration::from(size.interval)
        );
        match std::process::Command::new(&exe)
            .env("KFO_SCALE_ONE", &one)
            .output()
        {
            Ok(out) if out.status.success() => print!("{}", String::from_utf8_lossy(&out.stdout)),
            Ok(out) => println!(
                "| {one}: failed: {} |",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => println!("| {one}: could not start: {e} |"),
        }
    }
}
