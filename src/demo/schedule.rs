//! The demo's fault and request script: `--kill CLUSTER@T`, `--partition CLUSTER@T..T`,
//! `--promote GROUP:CLUSTER@T`, parsed into one time-ordered list of things to do.

use crate::duration::GoDuration;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Why a script flag was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {flag} {input:?}: {problem} (expected {expected})")]
pub struct ScriptError {
    /// The flag.
    pub flag: &'static str,
    /// The rejected text.
    pub input: String,
    /// What is wrong.
    pub problem: String,
    /// The form the flag takes.
    pub expected: &'static str,
}

/// Stop a cluster's agent at a time (`--kill cluster-1@5s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kill {
    /// The cluster whose agent stops.
    pub cluster: String,
    /// When, from the demo's start.
    pub at: Duration,
}

/// Cut a cluster's agent off from the store for a while (`--partition cluster-1@5s..20s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// The cluster cut off.
    pub cluster: String,
    /// When the cut starts.
    pub from: Duration,
    /// When it heals.
    pub until: Duration,
}

/// Ask for a planned failover (`--promote shop/web:cluster-2@10s`; a bare group name means the
/// demo's namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promote {
    /// The group, as given (`NAME` or `NAMESPACE/NAME`).
    pub group: String,
    /// The cluster to become primary.
    pub target: String,
    /// When.
    pub at: Duration,
}

fn split_at_time<'a>(
    flag: &'static str,
    expected: &'static str,
    input: &'a str,
) -> Result<(&'a str, &'a str), ScriptError> {
    let err = |problem: &str| ScriptError {
        flag,
        input: input.to_string(),
        problem: problem.to_string(),
        expected,
    };
    let (what, when) = input
        .rsplit_once('@')
        .ok_or_else(|| err("missing '@TIME'"))?;
    if what.is_empty() {
        return Err(err("nothing before '@'"));
    }
    Ok((what, when))
}

fn time(
    flag: &'static str,
    expected: &'static str,
    input: &str,
    text: &str,
) -> Result<Duration, ScriptError> {
    text.parse::<GoDuration>()
        .map(GoDuration::get)
        .map_err(|e| ScriptError {
            flag,
            input: input.to_string(),
            problem: e.to_string(),
            expected,
        })
}

impl FromStr for Kill {
    type Err = ScriptError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "CLUSTER@TIME, e.g. cluster-1@5s";
        let (cluster, when) = split_at_time("--kill", FORM, s)?;
        Ok(Kill {
            cluster: cluster.to_string(),
            at: time("--kill", FORM, s, when)?,
        })
    }
}

impl FromStr for Partition {
    type Err = ScriptError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "CLUSTER@FROM..UNTIL, e.g. cluster-1@5s..20s";
        let (cluster, span) = split_at_time("--partition", FORM, s)?;
        let (from, until) = span.split_once("..").ok_or_else(|| ScriptError {
            flag: "--partition",
            input: s.to_string(),
            problem: "missing '..' between the start and the end".to_string(),
            expected: FORM,
        })?;
        let (from, until) = (
            time("--partition", FORM, s, from)?,
            time("--partition", FORM, s, until)?,
        );
        if until <= from {
            return Err(ScriptError {
                flag: "--partition",
                input: s.to_string(),
                problem: "the end must come after the start".to_string(),
                expected: FORM,
            });
        }
        Ok(Partition {
            cluster: cluster.to_string(),
            from,
            until,
        })
    }
}

impl FromStr for Promote {
    type Err = ScriptError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "GROUP:CLUSTER@TIME, e.g. shop/web:cluster-2@10s";
        let (what, when) = split_at_time("--promote", FORM, s)?;
        let (group, target) = what
            .rsplit_once(':')
            .filter(|(g, t)| !g.is_empty() && !t.is_empty())
            .ok_or_else(|| ScriptError {
                flag: "--promote",
                input: s.to_string(),
                problem: "expected GROUP:CLUSTER before '@'".to_string(),
                expected: FORM,
            })?;
        Ok(Promote {
            group: group.to_string(),
            target: target.to_string(),
            at: time("--promote", FORM, s, when)?,
        })
    }
}

/// One scripted step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Stop the cluster's agent.
    Kill(String),
    /// Cut the cluster off from the store.
    PartitionStart(String),
    /// Reconnect it.
    PartitionEnd(String),
    /// Ask for a planned failover of a group to a cluster.
    Promote {
        /// The group as given.
        group: String,
        /// The target cluster.
        target: String,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Kill(c) => write!(f, "kill {c}"),
            Step::PartitionStart(c) => write!(f, "partition {c} from the store"),
            Step::PartitionEnd(c) => write!(f, "reconnect {c} to the store"),
            Step::Promote { group, target } => write!(f, "promote {group} to {target}"),
        }
    }
}

/// The whole script in time order (steps at the same time keep the order they were given in).
pub fn schedule(
    kills: &[Kill],
    partitions: &[Partition],
    promotes: &[Promote],
) -> Vec<(Duration, Step)> {
    let mut steps: Vec<(Duration, Step)> = Vec::new();
    steps.extend(kills.iter().map(|k| (k.at, Step::Kill(k.cluster.clone()))));
    for p in partitions {
        steps.push((p.from, Step::PartitionStart(p.cluster.clone())));
        steps.push((p.until, Step::PartitionEnd(p.cluster.clone())));
    }
    steps.extend(promotes.iter().map(|p| {
        (
            p.at,
            Step::Promote {
                group: p.group.clone(),
                target: p.target.clone(),
            },
        )
    }));
    steps.sort_by_key(|(at, _)| *at);
    steps
}

/// Every cluster a script names, to check against the clusters the demo runs.
pub fn named_clusters(
    kills: &[Kill],
    partitions: &[Partition],
    promotes: &[Promote],
) -> Vec<String> {
    let mut names: Vec<String> = kills
        .iter()
        .map(|k| k.cluster.clone())
        .chain(partitions.iter().map(|p| p.cluster.clone()))
        .chain(promotes.iter().map(|p| p.target.clone()))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_flag_parses_its_documented_form() {
        assert_eq!(
            "cluster-1@5s".parse::<Kill>().unwrap(),
            Kill {
                cluster: "cluster-1".into(),
                at: Duration::from_secs(5)
            }
        );
        assert_eq!(
            "cluster-2@5s..1m".parse::<Partition>().unwrap(),
            Partition {
                cluster: "cluster-2".into(),
                from: Duration::from_secs(5),
                until: Duration::from_secs(60)
            }
        );
        assert_eq!(
            "shop/web:cluster-3@1.5s".parse::<Promote>().unwrap(),
            Promote {
                group: "shop/web".into(),
                target: "cluster-3".into(),
                at: Duration::from_millis(1500)
            }
        );
    }

    #[test]
    fn malformed_flags_say_what_form_they_take() {
        for (bad, needle) in [
            ("cluster-1", "missing '@TIME'"),
            ("@5s", "nothing before"),
            ("cluster-1@soon", "invalid duration"),
        ] {
            let e = bad.parse::<Kill>().unwrap_err().to_string();
            assert!(
                e.contains(needle) && e.contains("CLUSTER@TIME"),
                "{bad}: {e}"
            );
        }
        let e = "c@20s..5s".parse::<Partition>().unwrap_err().to_string();
        assert!(e.contains("end must come after"), "{e}");
        let e = "c@5s".parse::<Partition>().unwrap_err().to_string();
        assert!(e.contains("'..'"), "{e}");
        let e = "shop/web@5s".parse::<Promote>().unwrap_err().to_string();
        assert!(e.contains("GROUP:CLUSTER"), "{e}");
    }

    #[test]
    fn the_schedule_is_in_time_order_with_partitions_split_in_two() {
        let kills = ["a@10s".parse().unwrap()];
        let parts = ["b@2s..20s".parse().unwrap()];
        let promotes = ["web:c@5s".parse().unwrap()];
        let steps = schedule(&kills, &parts, &promotes);
        let order: Vec<String> = steps
            .iter()
            .map(|(at, s)| format!("{}@{}", s, at.as_secs()))
            .collect();
        assert_eq!(
            order,
            [
                "partition b from the store@2",
                "promote web to c@5",
                "kill a@10",
                "reconnect b to the store@20"
            ]
        );
        assert_eq!(named_clusters(&kills, &parts, &promotes), ["a", "b", "c"]);
    }
}
