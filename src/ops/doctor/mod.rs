//! `doctor`: a readiness check across clusters. This module only judges; `cli::doctor` gathers.
//! Every judging function takes plain data the CLI read (Kubernetes objects, the table check's
//! result, the outcome of each IAM probe, the status listing) and returns [`Check`]s, so each
//! rule is tested without a cluster or a table, and a check reads the same in every output.
//!
//! Files: `crds` (the CRDs against this plugin's and across clusters), `controller` (the
//! Deployment, the leader Lease, the controller's environment), `settings` (CLUSTER_NAME, table,
//! region and operator across clusters), `table` (the table's shape, IAM probes), `groups`
//! (heartbeats, timings), `dns` (external-dns's annotation filter).

pub mod controller;
pub mod crds;
pub mod dns;
pub mod groups;
pub mod settings;
pub mod table;

#[cfg(test)]
mod controller_tests;
#[cfg(test)]
mod groups_tests;
#[cfg(test)]
mod table_tests;

use serde::Serialize;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Ready.
    Pass,
    /// Works, but worth a look.
    Warn,
    /// Not ready: the fix says what to do.
    Fail,
    /// Not checked; the detail says why.
    Skipped,
}

impl Status {
    /// The word printed when the output is not coloured.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skipped => "SKIPPED",
        }
    }
}

/// What part of the set-up a check is about (the JSON document groups by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Area {
    /// The context's API server answers.
    Cluster,
    /// The CustomResourceDefinitions.
    Crds,
    /// The controller's Deployment.
    Controller,
    /// The leader-election Lease.
    Lease,
    /// The controllers' settings across clusters.
    Settings,
    /// The DynamoDB table's shape.
    Table,
    /// The IAM permissions on the table.
    Iam,
    /// Every group's heartbeats.
    Heartbeats,
    /// Every group's timings.
    Timings,
    /// external-dns's annotation filter.
    ExternalDns,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// What part of the set-up it is about.
    pub area: Area,
    /// What was checked, with the context or group it concerns.
    pub name: String,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about a failure or a warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    /// A passed check.
    pub fn pass(area: Area, name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(area, name, Status::Pass, detail, None)
    }

    /// A warning with its fix.
    pub fn warn(
        area: Area,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(area, name, Status::Warn, detail, Some(fix.into()))
    }

    /// A failure with its fix.
    pub fn fail(
        area: Area,
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(area, name, Status::Fail, detail, Some(fix.into()))
    }

    /// A check that was not made, and why.
    pub fn skipped(area: Area, name: impl Into<String>, why: impl Into<String>) -> Check {
        Check::new(area, name, Status::Skipped, why, None)
    }

    fn new(
        area: Area,
        name: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Check {
        Check {
            area,
            name: name.into(),
            status,
            detail: detail.into(),
            fix,
        }
    }
}

/// How many checks came out each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Passed.
    pub pass: usize,
    /// Warnings.
    pub warn: usize,
    /// Failures.
    pub fail: usize,
    /// Not checked.
    pub skipped: usize,
}

/// Counts the checks by status.
pub fn counts(checks: &[Check]) -> Counts {
    let mut c = Counts::default();
    for check in checks {
        match check.status {
            Status::Pass => c.pass += 1,
            Status::Warn => c.warn += 1,
            Status::Fail => c.fail += 1,
            Status::Skipped => c.skipped += 1,
        }
    }
    c
}

/// Why doctor could not judge something it read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DoctorError {
    /// external-dns's `--annotation-filter` is not a label selector external-dns could parse.
    #[error(
        "--annotation-filter={filter:?} is not a valid selector ({problem}); external-dns would refuse to start with it"
    )]
    BadSelector {
        /// The filter as given.
        filter: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Splits a message of the project's usual form "what is wrong; what to do" into its detail and
/// its fix (the protocol's timing messages and the liveness budget's are written that way), so
/// the checklist can show the fix on its own line. A message without "; " has no fix part.
pub fn split_fix(message: &str) -> (String, Option<String>) {
    match message.split_once("; ") {
        Some((detail, fix)) => (detail.to_string(), Some(fix.to_string())),
        None => (message.to_string(), None),
    }
}

/// The check that a context's API server answers; the other checks of an unreachable context
/// are skipped, so one dead cluster is one failure, not one per check.
pub fn judge_reach(context: &str, error: Option<&str>) -> Check {
    let name = format!("API server of {context}");
    match error {
        None => Check::pass(Area::Cluster, name, "answers"),
        Some(e) => Check::fail(
            Area::Cluster,
            name,
            format!("could not be reached: {e}"),
            format!(
                "check the kubeconfig context {context} (kubectl --context {context} get --raw /readyz) and the network; the checks of {context} were skipped"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_splits_at_its_first_semicolon_into_detail_and_fix() {
        let (d, f) = split_fix("x is 0s; set x to 30s; or y");
        assert_eq!(d, "x is 0s");
        assert_eq!(f.as_deref(), Some("set x to 30s; or y"));
        assert_eq!(split_fix("fine").1, None);
    }

    #[test]
    fn counts_add_up_by_status_and_the_status_serializes_in_capitals() {
        let checks = [
            Check::pass(Area::Crds, "a", "ok"),
            Check::fail(Area::Crds, "b", "bad", "fix it"),
            Check::skipped(Area::Crds, "c", "why"),
            Check::warn(Area::Crds, "d", "hmm", "look"),
            Check::fail(Area::Crds, "e", "bad", "fix it"),
        ];
        let c = counts(&checks);
        assert_eq!((c.pass, c.warn, c.fail, c.skipped), (1, 1, 2, 1));
        let json = serde_json::to_value(&checks[1]).unwrap();
        assert_eq!(json["status"], "FAIL");
        assert_eq!(json["area"], "crds");
        assert_eq!(json["fix"], "fix it");
        assert!(
            serde_json::to_value(&checks[0])
                .unwrap()
                .get("fix")
                .is_none()
        );
    }

    #[test]
    fn an_unreachable_context_fails_naming_it_and_a_reachable_one_passes() {
        assert_eq!(judge_reach("east", None).status, Status::Pass);
        let c = judge_reach("west", Some("connection refused"));
        assert_eq!(c.status, Status::Fail);
        assert!(c.detail.contains("connection refused"), "{c:?}");
        assert!(c.fix.unwrap().contains("--context west"));
    }
}
