//! Doing and undoing one fault of a schedule against a running world, and the kubelet's
//! liveness probe that restarts stuck controllers meanwhile.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::schedule::{API, Fault, LEADER, REPLICAS, Via, WEB};
use crate::apiserver::FakeApiServer;
use crate::e2e::fixtures::NS;
use crate::e2e::process::{Launch, binary, http_get, leads};
use crate::e2e::proxy::{CutProxy, Path};
use crate::e2e::world::{OPERATOR, World};
use crate::support::moto;

/// The liveness probe the kubelet plays on every controller (deploy/'s, scaled to the
/// schedules' 4 s heartbeat timeout as deploy/'s is to 1 minute).
const PROBE_PERIOD: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);
const PROBE_FAILURES: u32 = 2;

/// What a run's faults act on.
pub struct Rig {
    pub world: World,
    /// Each cluster's path to DynamoDB.
    pub proxies: BTreeMap<&'static str, CutProxy>,
    /// How each replica (`{cluster}/{replica}`) is started.
    pub launches: BTreeMap<String, (String, String, Launch)>,
    /// What happened, when, for the timeline.
    pub log: Vec<(DateTime<Utc>, String)>,
    failures: BTreeMap<String, u32>,
    promotions: u32,
    /// The process each process fault hit, by the fault's index (a `leader` target resolved).
    hit: BTreeMap<usize, String>,
    /// Replicas a Kill or Handover has taken down until its end restarts them.
    down: BTreeSet<String>,
    /// Background CLI runs and what they printed.
    cli: Vec<tokio::task::JoinHandle<String>>,
}

impl Rig {
    /// A rig for `world` whose clusters reach DynamoDB through `proxies`.
    pub fn new(world: World, proxies: BTreeMap<&'static str, CutProxy>) -> Rig {
        Rig {
            world,
            proxies,
            launches: BTreeMap::new(),
            log: Vec::new(),
            failures: BTreeMap::new(),
            promotions: 0,
            hit: BTreeMap::new(),
            down: BTreeSet::new(),
            cli: Vec::new(),
        }
    }

    /// Starts replica `replica` of `cluster` behind the cluster's proxy.
    pub fn start(&mut self, cluster: &str, replica: &str) {
        let key = format!("{cluster}/{replica}");
        let launch = match self.launches.get(&key) {
            Some((_, _, l)) => l.clone(),
            None => {
                let mut l = self.world.launch(cluster);
                l.set_env("AWS_ENDPOINT", &self.proxies[cluster].url);
                self.launches
                    .insert(key.clone(), (cluster.into(), replica.into(), l.clone()));
                l
            }
        };
        self.world.start_replica_with(cluster, replica, &launch);
        // A new container starts with a clean probe record.
        self.failures.remove(&key);
    }

    fn note(&mut self, what: String) {
        self.log.push((Utc::now(), what));
    }

    fn fake(&self, cluster: &str) -> &FakeApiServer {
        self.world
            .cluster(cluster)
            .api
            .fake()
            .expect("chaos runs on the in-memory API server")
    }

    /// The process `replica` of `cluster` names: `leader` is whichever replica holds the Lease
    /// now (the first one if none says so).
    async fn resolve(&mut self, cluster: &str, replica: &str) -> String {
        if replica != LEADER {
            return format!("{cluster}/{replica}");
        }
        for r in REPLICAS {
            let key = format!("{cluster}/{r}");
            let p = self.world.process(&key);
            if p.exited().is_none()
                && let Some(addr) = p.metrics_addr.clone()
                && let Ok(Ok(true)) = tokio::time::timeout(PROBE_TIMEOUT, leads(&key, &addr)).await
            {
                return key;
            }
        }
        format!("{cluster}/{}", REPLICAS[0])
    }

    /// Does fault `index` of the schedule.
    pub async fn begin(&mut self, index: usize, fault: &Fault) {
        match fault {
            Fault::Kill { cluster, replica }
            | Fault::Pause { cluster, replica }
            | Fault::Handover { cluster, replica } => {
                let key = self.resolve(cluster, replica).await;
                self.note(format!("begin {fault:?} on {key}"));
                self.hit.insert(index, key.clone());
                if !matches!(fault, Fault::Pause { .. }) {
                    self.down.insert(key.clone());
                }
                match fault {
                    Fault::Kill { .. } => {
                        self.world.crash(&key).await;
                    }
                    Fault::Pause { .. } => self.world.process(&key).stop(),
                    _ => self.world.process(&key).terminate(),
                }
                return;
            }
            _ => self.note(format!("begin {fault:?}")),
        }
        match fault {
            Fault::Kill { .. } | Fault::Pause { .. } | Fault::Handover { .. } => {}
            Fault::Store { cluster, path } => self.proxies[cluster].set_path(*path),
            Fault::ApiHang { cluster, resource } => {
                self.fake(cluster).set_hanging(Some(("PATCH", resource)));
            }
            Fault::ApiSlow { cluster, delay } => self.fake(cluster).set_slow(Some(*delay)),
            Fault::ApiRefuse { cluster, resource } => self.fake(cluster).set_refusing(Some((
                "PATCH",
                resource,
                403,
                "admission webhook \"chaos.example.com\" denied the request",
            ))),
            Fault::ApiErrors {
                cluster,
                status,
                count,
            } => {
                self.fake(cluster).fail_next(*count, *status);
            }
            Fault::Promote {
                group,
                to,
                force,
                via,
                from,
            } => {
                self.promote(group, to, *force, *via, from);
            }
            Fault::SpecEdit { cluster, heartbeat } => {
                let c = self.world.cluster(cluster).clone();
                if let Some(mut fg) = c.failover_group() {
                    fg["spec"]["timeouts"]["heartbeat"] = json!(heartbeat);
                    if let Some(meta) = fg["metadata"].as_object_mut() {
                        meta.remove("resourceVersion");
                    }
                    c.apply(fg);
                }
            }
            Fault::Suspend { group } => {
                self.cli(
                    &["suspend", &format!("{NS}/{group}"), "--reason", "chaos"],
                    "",
                );
            }
        }
    }

    /// Undoes fault `index` (nothing for the instantaneous ones).
    pub async fn end(&mut self, index: usize, fault: &Fault) {
        self.note(format!("end {fault:?}"));
        let hit = self.hit.get(&index).cloned().unwrap_or_default();
        match fault {
            Fault::Kill { cluster, .. } | Fault::Handover { cluster, .. } => {
                let key = hit;
                self.down.remove(&key);
                let replica = key.rsplit('/').next().unwrap_or_default().to_string();
                let p = self.world.process(&key);
                if p.wait_exit(Duration::from_secs(5)).await.is_none() {
                    p.kill().await;
                }
                // The kubelet may have restarted it already (a new process, still running).
                if self.world.process(&key).exited().is_some() {
                    self.start(cluster, &replica);
                }
            }
            Fault::Pause { .. } => self.world.process(&hit).resume(),
            Fault::Store { cluster, .. } => self.proxies[cluster].set_path(Path::Open),
            Fault::ApiHang { cluster, .. } => self.fake(cluster).set_hanging(None),
            Fault::ApiSlow { cluster, .. } => self.fake(cluster).set_slow(None),
            Fault::ApiRefuse { cluster, .. } => self.fake(cluster).set_refusing(None),
            Fault::Suspend { group } => self.cli(&["resume", &format!("{NS}/{group}")], ""),
            Fault::ApiErrors { .. } | Fault::Promote { .. } | Fault::SpecEdit { .. } => {}
        }
    }

    /// Ends every fault that can linger past its span: paths open, API server healthy, every
    /// controller running.
    pub async fn heal(&mut self) {
        for proxy in self.proxies.values() {
            proxy.set_path(Path::Open);
        }
        let clusters: Vec<String> = self.world.clusters.keys().cloned().collect();
        for c in &clusters {
            let fake = self.fake(c);
            fake.set_hanging(None);
            fake.set_slow(None);
            fake.set_refusing(None);
            fake.fail_next(0, 500);
        }
        for c in &clusters {
            for r in REPLICAS {
                let key = format!("{c}/{r}");
                self.world.process(&key).resume();
                if self.world.process(&key).exited().is_some() {
                    self.start(c, r);
                }
            }
        }
        for task in self.cli.drain(..) {
            if let Ok(Ok(out)) = tokio::time::timeout(Duration::from_secs(20), task).await {
                self.log.push((Utc::now(), out));
            }
        }
    }

    fn promote(&mut self, group: &str, to: &str, force: bool, via: Via, from: &str) {
        self.promotions += 1;
        match via {
            Via::Cli => {
                let target = format!("{NS}/{group}");
                let mut args = vec!["promote", target.as_str(), "--to", to, "--yes"];
                if group == API {
                    args.extend(["--mode", "uptime"]);
                }
                if force {
                    args.push("--force");
                }
                let confirm = format!("{target}\n");
                self.cli(&args, &confirm);
            }
            Via::Resource => {
                let name = format!("chaos-{}", self.promotions);
                let mut failover = json!({
                    "apiVersion": "kubectl-failover.io/v1alpha1",
                    "kind": "Failover",
                    "metadata": {"name": name, "namespace": NS},
                    "spec": {
                        "targetCluster": to,
                        "reason": "chaos: a planned failover",
                        "failoverGroups": [{"name": group}],
                    },
                });
                if force {
                    failover["spec"]["force"] = json!(true);
                }
                if group == API {
                    failover["spec"]["failoverMode"] = json!("UPTIME");
                }
                debug_assert!(group == WEB || group == API);
                self.world.cluster(from).apply(failover);
            }
        }
    }

    /// Runs the CLI in the background (straight to DynamoDB, as a person's laptop would).
    fn cli(&mut self, args: &[&str], stdin: &str) {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let table = self.world.table.clone();
        let stdin = stdin.to_string();
        self.cli.push(tokio::spawn(async move {
            let mut cmd = tokio::process::Command::new(binary());
            cmd.args(["--endpoint", &moto::endpoint(), "--region", moto::REGION])
                .args(["--table-name", &table, "--operator-id", OPERATOR])
                .args(&args)
                .env_clear()
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("KUBECONFIG", "/nonexistent/kubeconfig")
                .env("USER", "chaos")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let Ok(mut child) = cmd.spawn() else {
                return format!("cli {args:?}: could not start");
            };
            if let Some(mut input) = child.stdin.take() {
                use tokio::io::AsyncWriteExt;
                let _ = input.write_all(stdin.as_bytes()).await;
            }
            match child.wait_with_output().await {
                Ok(out) => {
                    let err = String::from_utf8_lossy(&out.stderr);
                    let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                    format!(
                        "cli {} exited {:?} {first}",
                        args.join(" "),
                        out.status.code()
                    )
                }
                Err(e) => format!("cli {args:?}: {e}"),
            }
        }));
    }

    /// One round of the kubelet's liveness probe on every controller: a process that failed
    /// [`PROBE_FAILURES`] probes in a row is killed and started again.
    pub async fn probe_all(&mut self) {
        // A container that exits is started again (restartPolicy Always), unless a fault took
        // it down and restarts it at its end.
        for key in self.launches.keys().cloned().collect::<Vec<_>>() {
            if !self.down.contains(&key)
                && let Some(status) = self.world.process(&key).exited()
            {
                let (cluster, replica, _) = self.launches[&key].clone();
                self.note(format!("kubelet: {key} exited ({status}), restarted"));
                self.start(&cluster, &replica);
            }
        }
        let mut targets = Vec::new();
        for key in self.launches.keys().cloned().collect::<Vec<_>>() {
            let p = self.world.process(&key);
            if p.exited().is_none()
                && let Some(addr) = p.metrics_addr.clone()
            {
                targets.push((key, addr));
            }
        }
        let probes = targets.iter().map(|(_, addr)| async move {
            matches!(
                tokio::time::timeout(PROBE_TIMEOUT, http_get(addr, "/healthz")).await,
                Ok(Ok((200, _)))
            )
        });
        let healthy = futures::future::join_all(probes).await;
        for ((key, _), ok) in targets.into_iter().zip(healthy) {
            let failed = self.failures.entry(key.clone()).or_default();
            *failed = if ok { 0 } else { *failed + 1 };
            if *failed >= PROBE_FAILURES {
                *failed = 0;
                self.world.process(&key).kill().await;
                let (cluster, replica, _) = self.launches[&key].clone();
                self.note(format!(
                    "kubelet: liveness probe failed {PROBE_FAILURES} times, {key} restarted"
                ));
                self.start(&cluster, &replica);
            }
        }
    }

    /// The probe's period.
    pub fn probe_period() -> Duration {
        PROBE_PERIOD
    }
}
