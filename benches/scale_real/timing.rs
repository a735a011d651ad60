//! Sizes (`GROUPS@INTERVAL`, as benches/scale.rs spells them), the benchmark's settings from
//! the environment, and duration arithmetic for the report.

use std::time::Duration;

use kubectl_failover::duration::GoDuration;

/// The sizes run when `KFO_SCALE_REAL_SIZES` is unset.
pub const DEFAULT_SIZES: &str = "10@15s,100@15s,1000@15s,10000@15s,1000@1s";
/// Intervals of warm-up after every group wrote its first heartbeat.
pub const WARMUP_INTERVALS: u32 = 2;

/// One size: how many groups, at which heartbeat interval.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub groups: u32,
    pub interval: Duration,
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.groups, go(self.interval))
    }
}

fn parse_size(s: &str) -> Result<Size, String> {
    let bad = || format!("{s:?}: expected GROUPS@INTERVAL, e.g. 1000@15s");
    let (groups, interval) = s.trim().split_once('@').ok_or_else(bad)?;
    let interval: GoDuration = interval.trim().parse().map_err(|_| bad())?;
    let groups: u32 = groups.trim().replace(',', "").parse().map_err(|_| bad())?;
    if groups == 0 || interval.get().is_zero() {
        return Err(bad());
    }
    Ok(Size {
        groups,
        interval: interval.get(),
    })
}

/// What to run, from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub sizes: Vec<Size>,
    /// Intervals measured (`KFO_SCALE_REAL_INTERVALS`, 3).
    pub intervals: u32,
    /// Longest wait for the Deployments' pods before the controller starts
    /// (`KFO_SCALE_REAL_SETTLE`, 30m).
    pub settle: Duration,
}

impl Settings {
    /// Reads `KFO_SCALE_REAL_SIZES`, `KFO_SCALE_REAL_INTERVALS` and `KFO_SCALE_REAL_SETTLE`.
    pub fn from_env() -> Result<Settings, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        // Sizes are comma-separated and a size may spell its groups "10,000": a part without
        // `@` continues the previous one's group count.
        let text = var("KFO_SCALE_REAL_SIZES").unwrap_or_else(|| DEFAULT_SIZES.into());
        let mut parts: Vec<String> = Vec::new();
        let mut pending = String::new();
        for part in text.split(',') {
            pending.push_str(part);
            if part.contains('@') {
                parts.push(std::mem::take(&mut pending));
            }
        }
        if !pending.trim().is_empty() {
            parts.push(pending);
        }
        let sizes = parts
            .iter()
            .map(|p| parse_size(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("KFO_SCALE_REAL_SIZES={text:?}: {e}"))?;
        if sizes.is_empty() {
            return Err(format!("KFO_SCALE_REAL_SIZES={text:?}: no size given"));
        }
        let intervals = match var("KFO_SCALE_REAL_INTERVALS") {
            None => 3,
            Some(v) => v
                .trim()
                .parse::<u32>()
                .ok()
                // Gaps are counted between two heartbeats inside the window: one interval
                // measures nothing.
                .filter(|n| *n >= 2)
                .ok_or_else(|| {
                    format!("KFO_SCALE_REAL_INTERVALS={v:?}: expected a count of 2 or more")
                })?,
        };
        let settle = match var("KFO_SCALE_REAL_SETTLE") {
            None => Duration::from_secs(30 * 60),
            Some(v) => v
                .trim()
                .parse::<GoDuration>()
                .map(|d| d.get())
                .map_err(|_| format!("KFO_SCALE_REAL_SETTLE={v:?}: expected a duration"))?,
        };
        Ok(Settings {
            sizes,
            intervals,
            settle,
        })
    }
}

/// A duration as a Go duration (what the CRD and the size syntax take).
pub fn go(d: Duration) -> String {
    GoDuration::from(d).to_string()
}

/// The `q` quantile of sorted durations (zero when there are none).
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(((sorted.len() - 1) as f64) * q).round() as usize]
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Seconds with one decimal.
pub fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}
