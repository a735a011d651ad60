//! Fault schedules drawn from a seed: the same seed gives the same schedule, so a failing run
//! is repeated with `KFO_CHAOS_SEEDS=<seed>`. Each schedule draws a few faults over a window of
//! seconds, most of them overlapping, from every kind the issue names.

use std::fmt;
use std::time::Duration;

use crate::e2e::proxy::Path;

/// The clusters of every schedule, and the initial primary of each group.
pub const CLUSTERS: [&str; 3] = ["east", "west", "north"];
/// Controller replicas per cluster (a Deployment with 2 replicas under leader election).
pub const REPLICAS: [&str; 2] = ["a", "b"];
/// A process fault's target that means "the replica holding the Lease at that moment".
pub const LEADER: &str = "leader";
/// The CONSISTENCY group (Deployment, StatefulSet with a replicated volume, CronJob, Ingress).
pub const WEB: &str = "web";
/// The UPTIME group (a Deployment and its Ingress).
pub const API: &str = "api";
/// Faults start within this window after the clusters have converged.
pub const WINDOW: Duration = Duration::from_secs(10);

/// A small, fast, reproducible generator (SplitMix64): no state besides the seed.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A duration in `[lo, hi]` milliseconds.
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// How a promotion is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `kubectl failover promote GROUP --to CLUSTER --yes`.
    Cli,
    /// A Failover resource applied in one cluster.
    Resource,
}

/// One fault. Faults with a span are undone at its end; the others happen at their start.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// SIGKILL to one replica; the kubelet starts a new process (no memory) at the span's end.
    Kill {
        cluster: &'static str,
        replica: &'static str,
    },
    /// SIGSTOP to one replica, SIGCONT at the span's end (the liveness probe may restart it
    /// first).
    Pause {
        cluster: &'static str,
        replica: &'static str,
    },
    /// SIGTERM to one replica (it gives its Lease up: a handover to the other replica); started
    /// again at the span's end.
    Handover {
        cluster: &'static str,
        replica: &'static str,
    },
    /// The cluster's path to DynamoDB refused, blackholed, slow or throttled.
    Store { cluster: &'static str, path: Path },
    /// The cluster's API server never answers writes (`PATCH`) to one resource.
    ApiHang {
        cluster: &'static str,
        resource: &'static str,
    },
    /// The cluster's API server answers every request late.
    ApiSlow {
        cluster: &'static str,
        delay: Duration,
    },
    /// An admission webhook refuses writes (`PATCH`) to one resource.
    ApiRefuse {
        cluster: &'static str,
        resource: &'static str,
    },
    /// The cluster's API server answers the next requests with an error status.
    ApiErrors {
        cluster: &'static str,
        status: u16,
        count: u32,
    },
    /// A planned (or forced) promotion.
    Promote {
        group: &'static str,
        to: &'static str,
        force: bool,
        via: Via,
        from: &'static str,
    },
    /// One cluster's FailoverGroup `web` gets another `timeouts.heartbeat`.
    SpecEdit {
        cluster: &'static str,
        heartbeat: &'static str,
    },
    /// Automatic failover of a group suspended, resumed at the span's end.
    Suspend { group: &'static str },
}

impl Fault {
    /// The fault's kind, for the per-kind figures.
    pub fn kind(&self) -> String {
        match self {
            Fault::Kill { .. } => "kill".into(),
            Fault::Pause { .. } => "pause".into(),
            Fault::Handover { .. } => "lease-handover".into(),
            Fault::Store { path, .. } => match path {
                Path::Reset => "store-refused".into(),
                Path::Blackhole => "store-blackholed".into(),
                Path::Slow(_) => "store-slow".into(),
                Path::Throttle => "store-throttled".into(),
                Path::Open => "store-open".into(),
            },
            Fault::ApiHang { .. } => "api-hang".into(),
            Fault::ApiSlow { .. } => "api-slow".into(),
            Fault::ApiRefuse { .. } => "api-admission-refusal".into(),
            Fault::ApiErrors { status, .. } => format!("api-{status}"),
            Fault::Promote { force: true, .. } => "promote-forced".into(),
            Fault::Promote { via: Via::Cli, .. } => "promote-cli".into(),
            Fault::Promote { .. } => "promote-resource".into(),
            Fault::SpecEdit { .. } => "spec-edit".into(),
            Fault::Suspend { .. } => "suspend".into(),
        }
    }
}

/// A fault at a time, for a span.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// After the clusters converged.
    pub start: Duration,
    /// How long it lasts (zero for the instantaneous ones).
    pub span: Duration,
    pub fault: Fault,
}

impl Planned {
    /// When it ends.
    pub fn end(&self) -> Duration {
        self.start + self.span
    }
}

/// One schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub seed: u64,
    /// Termination grace of the StatefulSet's pods (slow to stop: OrderedReady, one by one).
    pub db_grace: i64,
    /// By start time.
    pub faults: Vec<Planned>,
}

impl Schedule {
    /// The schedule of `seed`: 2 to 5 faults.
    pub fn generate(seed: u64) -> Schedule {
        let mut rng = Rng::new(seed);
        let db_grace = 1 + rng.below(2) as i64;
        let n = 2 + rng.below(4);
        let mut faults: Vec<Planned> = (0..n).map(|_| draw(&mut rng)).collect();
        faults.sort_by_key(|p| p.start);
        Schedule {
            seed,
            db_grace,
            faults,
        }
    }

    /// Whether any two faults overlap in time.
    pub fn overlapping(&self) -> bool {
        self.faults.iter().enumerate().any(|(i, a)| {
            self.faults[i + 1..]
                .iter()
                .any(|b| b.start <= a.end() && a.start <= b.end())
        })
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "schedule {} (db pods' grace {}s):",
            self.seed, self.db_grace
        )?;
        for p in &self.faults {
            writeln!(
                f,
                "  +{:>5.1}s .. +{:>5.1}s  {:?}",
                p.start.as_secs_f64(),
                p.end().as_secs_f64(),
                p.fault
            )?;
        }
        Ok(())
    }
}

fn draw(rng: &mut Rng) -> Planned {
    let start = rng.millis(0, WINDOW.as_millis() as u64);
    // The owners (east for web, west for api) are hit more often than the spare, and the
    // leading replica more often than the idle one: those faults are the ones that move groups.
    let cluster = *rng.pick(&["east", "east", "west", "west", "north"]);
    let replica = *rng.pick(&[REPLICAS[0], REPLICAS[1], LEADER, LEADER]);
    let (fault, span) = match rng.below(15) {
        0 | 1 => (Fault::Kill { cluster, replica }, rng.millis(100, 3000)),
        2 => (Fault::Pause { cluster, replica }, rng.millis(500, 7000)),
        3 => (Fault::Handover { cluster, replica }, rng.millis(500, 3000)),
        4..=6 => {
            // Up to well past heartbeat + deactivation (8 s): long cuts move the group.
            let path = *rng.pick(&[
                Path::Reset,
                Path::Blackhole,
                Path::Slow(Duration::from_millis(400)),
                Path::Throttle,
            ]);
            (Fault::Store { cluster, path }, rng.millis(1000, 14000))
        }
        7 => {
            let resource = *rng.pick(&[
                "deployments",
                "statefulsets",
                "ingresses",
                "volumereplications",
            ]);
            (Fault::ApiHang { cluster, resource }, rng.millis(1000, 6000))
        }
        8 => {
            let delay = rng.millis(100, 800);
            (Fault::ApiSlow { cluster, delay }, rng.millis(1000, 6000))
        }
        9 => {
            let resource = *rng.pick(&["deployments", "ingresses", "cronjobs"]);
            (
                Fault::ApiRefuse { cluster, resource },
                rng.millis(1000, 6000),
            )
        }
        10 => {
            let status = *rng.pick(&[409u16, 429, 503]);
            let count = 1 + rng.below(20) as u32;
            (
                Fault::ApiErrors {
                    cluster,
                    status,
                    count,
                },
                Duration::ZERO,
            )
        }
        11 | 12 => {
            let group = *rng.pick(&[WEB, WEB, API]);
            let to = *rng.pick(&CLUSTERS);
            let from = *rng.pick(&CLUSTERS);
            let force = rng.below(4) == 0;
            let via = if rng.below(2) == 0 {
                Via::Cli
            } else {
                Via::Resource
            };
            (
                Fault::Promote {
                    group,
                    to,
                    force,
                    via,
                    from,
                },
                Duration::ZERO,
            )
        }
        13 => {
            let heartbeat = *rng.pick(&["4s", "5s"]);
            (Fault::SpecEdit { cluster, heartbeat }, Duration::ZERO)
        }
        _ => {
            let group = *rng.pick(&[WEB, API]);
            (Fault::Suspend { group }, rng.millis(1000, 8000))
        }
    };
    Planned { start, span, fault }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_schedule_and_others_differ() {
        let a = Schedule::generate(42).to_string();
        assert_eq!(a, Schedule::generate(42).to_string());
        let differing = (43..53)
            .filter(|s| Schedule::generate(*s).to_string() != a)
            .count();
        assert_eq!(
            differing, 10,
            "seeds 43..53 should not repeat seed 42's schedule"
        );
    }

    #[test]
    fn a_few_hundred_seeds_draw_every_fault_kind_and_mostly_overlapping_faults() {
        let schedules: Vec<Schedule> = (1..=300).map(Schedule::generate).collect();
        let kinds: std::collections::BTreeSet<String> = schedules
            .iter()
            .flat_map(|s| s.faults.iter().map(|p| p.fault.kind()))
            .collect();
        for kind in [
            "kill",
            "pause",
            "lease-handover",
            "store-refused",
            "store-blackholed",
            "store-slow",
            "store-throttled",
            "api-hang",
            "api-slow",
            "api-admission-refusal",
            "api-409",
            "api-429",
            "api-503",
            "promote-forced",
            "promote-cli",
            "promote-resource",
            "spec-edit",
            "suspend",
        ] {
            assert!(
                kinds.contains(kind),
                "no schedule of 300 draws {kind}: {kinds:?}"
            );
        }
        let overlapping = schedules.iter().filter(|s| s.overlapping()).count();
        assert!(
            overlapping > 150,
            "only {overlapping} of 300 schedules overlap faults"
        );
    }
}
