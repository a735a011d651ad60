//! What each cluster did, derived from its API server's write journal alone: per group, when
//! anything of it ran or carried traffic there, when it was fully served, and when its volume
//! was primary. Nothing here reads the controller's status, logs or the table.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::apiserver::Written;

/// What makes up one group in a cluster.
#[derive(Debug, Clone)]
pub struct Shape {
    pub group: &'static str,
    /// CONSISTENCY groups must never run in two clusters at once; UPTIME groups may, briefly.
    pub consistency: bool,
    pub deployments: &'static [&'static str],
    pub statefulsets: &'static [&'static str],
    /// The `app` labels of the workloads' pods.
    pub pod_apps: &'static [&'static str],
    pub ingress: &'static str,
    pub annotation: &'static str,
    pub host: &'static str,
    pub volume: Option<&'static str>,
}

/// The group's state in one cluster at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Role {
    /// Anything runs (a workload scaled up, a pod running or terminating) or gets traffic.
    pub running: bool,
    /// Every workload scaled up and traffic on (and the volume primary, where there is one).
    pub served: bool,
    /// The replicated volume is asked to be primary.
    pub primary: bool,
}

/// A change of a group's role in one cluster.
#[derive(Debug, Clone)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub cluster: String,
    pub role: Role,
    /// The write that changed it, for people.
    pub cause: String,
}

type Objects = BTreeMap<(String, String, String), Value>;

/// The resources a journal must record for [`steps`].
pub const JOURNALED: [&str; 6] = [
    "deployments",
    "statefulsets",
    "pods",
    "ingresses",
    "volumereplications",
    "cronjobs",
];

/// The role changes of `shape` in `cluster`, from its journal (in commit order).
pub fn steps(shape: &Shape, cluster: &str, journal: &[Written]) -> Vec<Step> {
    let mut objects = Objects::new();
    let mut out: Vec<Step> = Vec::new();
    let mut last = None;
    for w in journal {
        let key = (w.plural.clone(), w.namespace.clone(), w.name.clone());
        match &w.object {
            Some(obj) => objects.insert(key, obj.clone()),
            None => objects.remove(&key),
        };
        let role = role(shape, &objects);
        if last != Some(role) {
            last = Some(role);
            out.push(Step {
                at: w.at,
                cluster: cluster.to_string(),
                role,
                cause: describe(w),
            });
        }
    }
    out
}

fn replicas(objects: &Objects, plural: &str, name: &str) -> i64 {
    objects
        .iter()
        .find(|((p, _, n), _)| p == plural && n == name)
        .and_then(|(_, o)| o["spec"]["replicas"].as_i64())
        .unwrap_or(0)
}

fn role(shape: &Shape, objects: &Objects) -> Role {
    let scaled: Vec<i64> = shape
        .deployments
        .iter()
        .map(|d| replicas(objects, "deployments", d))
        .chain(
            shape
                .statefulsets
                .iter()
                .map(|s| replicas(objects, "statefulsets", s)),
        )
        .collect();
    let pods = objects.iter().any(|((p, _, _), o)| {
        p == "pods"
            && o["metadata"]["labels"]["app"]
                .as_str()
                .is_some_and(|app| shape.pod_apps.contains(&app))
    });
    let traffic = objects
        .iter()
        .find(|((p, _, n), _)| p == "ingresses" && n == shape.ingress)
        .is_some_and(|(_, o)| o["metadata"]["annotations"][shape.annotation] == shape.host);
    let primary = shape.volume.is_some_and(|v| {
        objects
            .iter()
            .find(|((p, _, n), _)| p == "volumereplications" && n == v)
            .is_some_and(|(_, o)| o["spec"]["replicationState"] == "primary")
    });
    Role {
        running: traffic || pods || scaled.iter().any(|r| *r > 0),
        served: traffic && scaled.iter().all(|r| *r > 0) && (shape.volume.is_none() || primary),
        primary,
    }
}

fn describe(w: &Written) -> String {
    let Some(obj) = &w.object else {
        return format!("{} {} deleted", w.plural, w.name);
    };
    match w.plural.as_str() {
        "deployments" | "statefulsets" => format!(
            "{} {} replicas={}",
            w.plural, w.name, obj["spec"]["replicas"]
        ),
        "pods" => {
            let terminating = obj["metadata"]["deletionTimestamp"].is_string();
            format!(
                "pods {} {}",
                w.name,
                if terminating {
                    "terminating"
                } else {
                    "running"
                }
            )
        }
        "ingresses" => format!(
            "ingresses {} annotations={}",
            w.name, obj["metadata"]["annotations"]
        ),
        "volumereplications" => format!(
            "volumereplications {} replicationState={}",
            w.name, obj["spec"]["replicationState"]
        ),
        _ => format!("{} {} written", w.plural, w.name),
    }
}
