//! What a process costs, read from /proc: resident memory (now and peak), threads, and CPU
//! time, for the controller, moto and the control plane's components.

use std::time::{Duration, Instant};

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    /// VmRSS, KiB.
    pub rss_kib: u64,
    /// VmHWM (peak resident), KiB.
    pub peak_kib: u64,
    /// Threads.
    pub threads: u64,
    /// User + system CPU time used so far.
    pub cpu: Duration,
}

/// Reads `/proc/PID/status` and `/proc/PID/stat`; `None` when the process is gone.
pub fn read(pid: u32) -> Option<Reading> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Some(Reading {
        rss_kib: field("VmRSS:"),
        peak_kib: field("VmHWM:"),
        threads: field("Threads:"),
        cpu: cpu_time(pid)?,
    })
}

/// User + system CPU time of `pid` so far.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (2nd field) may hold spaces and parentheses: fields are counted after
    // its closing parenthesis, starting with the state (3rd field).
    let rest = stat.rsplit_once(')').map(|(_, r)| r)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are the 14th and 15th fields of the line: 12th and 13th after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_micros(ticks * 1_000_000 / hz))
}

/// CPU use of a set of processes between two moments, in cores.
#[derive(Debug, Clone)]
pub struct CpuMeter {
    pids: Vec<u32>,
    start: Vec<Duration>,
    at: Instant,
}

impl CpuMeter {
    /// Starts measuring `pids` (processes already gone count as using nothing).
    pub fn start(pids: &[u32]) -> CpuMeter {
        CpuMeter {
            pids: pids.to_vec(),
            start: pids
                .iter()
                .map(|p| read(*p).unwrap_or_default().cpu)
                .collect(),
            at: Instant::now(),
        }
    }

    /// Cores used since the start, all processes together; `None` when every one of them
    /// exited (their CPU time is gone with them).
    pub fn cores(&self) -> Option<f64> {
        let wall = self.at.elapsed().as_secs_f64();
        let mut used = Duration::ZERO;
        let mut alive = false;
        for (pid, start) in self.pids.iter().zip(&self.start) {
            if let Some(now) = read(*pid) {
                alive = true;
                used += now.cpu.saturating_sub(*start);
            }
        }
        (alive && wall > 0.0).then(|| used.as_secs_f64() / wall)
    }
}

/// KiB as MiB.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
