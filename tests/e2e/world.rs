//! The world of one scenario: moto's DynamoDB server with a fresh table, one simulated cluster
//! per name, the same FailoverGroup in each, and a `kubectl-failover run` process per cluster.
//! On a failing test it prints every controller's log tail and every cluster's state.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use kubectl_failover::store::dynamodb::DynamoStore;
use kubectl_failover::store::{CoordinationStore, GroupId, GroupSnapshot, HistoryRecord};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::cluster::Cluster;
use super::fixtures::{self, Timings};
use super::monitor::ServingMonitor;
use super::process::{Launch, Process, describe};
use crate::support::control_plane::objects::write_kubeconfig;
use crate::support::kube_fault_proxy::KubeFaultProxy;
use crate::support::moto;

/// The operator id of every scenario (each has its own table).
pub const OPERATOR: &str = "e2e-operator";

/// Scenarios running at once: each runs two controllers on a machine with few cores, and the
/// protocol's timings are real seconds.
static SLOTS: Semaphore = Semaphore::const_new(2);

/// One scenario's world.
pub struct World {
    /// The table's name.
    pub table: String,
    /// The table, read as a person's CLI would.
    pub store: DynamoStore,
    /// Clusters by name.
    pub clusters: BTreeMap<String, Arc<Cluster>>,
    /// Where kubeconfigs and logs go.
    pub dir: PathBuf,
    /// The no-overlap watch, once started.
    pub monitor: Option<ServingMonitor>,
    procs: BTreeMap<String, Process>,
    finished: Vec<Process>,
    starts: AtomicU32,
    /// Keep `dir` when the world is dropped without a panic (a run that judged itself failed).
    keep: AtomicBool,
    _slot: SemaphorePermit<'static>,
}

impl World {
    /// Clusters `names`, each with the application and a FailoverGroup whose initial primary is
    /// `primary`; no controller runs yet.
    pub async fn new(test: &str, names: &[&str], primary: &str, timings: &Timings) -> World {
        let slot = SLOTS.acquire().await.expect("semaphore is never closed");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("e2e")
            .join(format!("{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let (store, table) = moto::fresh_store_named("e2e").await;
        let mut clusters = BTreeMap::new();
        for name in names {
            let cluster = Cluster::start(crate::KUBE, name, &dir).await;
            cluster.apply(fixtures::failover_group(primary, timings));
            clusters.insert(name.to_string(), cluster);
        }
        World {
            table,
            store,
            clusters,
            dir,
            monitor: None,
            procs: BTreeMap::new(),
            finished: Vec::new(),
            starts: AtomicU32::new(0),
            keep: AtomicBool::new(false),
            _slot: slot,
        }
    }

    /// Keeps this world's directory (logs, timeline) after it is dropped.
    pub fn keep_dir(&self) {
        self.keep.store(true, Ordering::SeqCst);
    }

    /// A cluster by name.
    pub fn cluster(&self, name: &str) -> &Arc<Cluster> {
        self.clusters
            .get(name)
            .unwrap_or_else(|| panic!("no cluster {name} in this world"))
    }

    /// The group's id in the table.
    pub fn group_id(&self) -> GroupId {
        GroupId::new(fixtures::NS, fixtures::GROUP).expect("valid group id")
    }

    /// How `run` is started for `cluster`: arguments and complete environment.
    pub fn launch(&self, cluster: &str) -> Launch {
        let c = self.cluster(cluster);
        let mut launch = Launch {
            args: run_args(),
            env: Vec::new(),
        };
        for (k, v) in moto::binary_env() {
            launch.set_env(k, &v);
        }
        launch.set_env("KUBECONFIG", &c.kubeconfig.display().to_string());
        launch.set_env("CLUSTER_NAME", cluster);
        launch.set_env("DYNAMODB_TABLE_NAME", &self.table);
        launch.set_env("OPERATOR_ID", OPERATOR);
        launch.set_env("POD_NAMESPACE", "kubectl-failover-system");
        launch.set_env(
            "KUBECTL_FAILOVER_LOG",
            "debug,aws_config=warn,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,hyper=warn,hyper_util=warn,kube_client=info,rustls=warn,tower=warn",
        );
        launch
    }

    /// Starts `run` for `cluster` with the default launch.
    pub fn start(&mut self, cluster: &str) {
        let launch = self.launch(cluster);
        self.start_with(cluster, &launch);
    }

    /// Starts `run` for `cluster` with `launch`; any earlier process of it must have ended.
    pub fn start_with(&mut self, cluster: &str, launch: &Launch) {
        self.start_keyed(cluster, cluster, launch);
    }

    /// Starts another replica of `cluster`'s controller (as a Deployment with 2 replicas
    /// runs), addressed as `{cluster}/{replica}`.
    pub fn start_replica(&mut self, cluster: &str, replica: &str) {
        let launch = self.launch(cluster);
        self.start_replica_with(cluster, replica, &launch);
    }

    /// [`World::start_replica`] with `launch`.
    pub fn start_replica_with(&mut self, cluster: &str, replica: &str, launch: &Launch) {
        self.start_keyed(&format!("{cluster}/{replica}"), cluster, launch);
    }

    /// Starts replica `{cluster}/{replica}` with its own path to the cluster's API server: a
    /// fault proxy the test can make hang or refuse for this replica alone (a partitioned
    /// node), which also records the writes this replica sends.
    pub async fn start_replica_behind_proxy(
        &mut self,
        cluster: &str,
        replica: &str,
    ) -> KubeFaultProxy {
        let c = self.cluster(cluster).clone();
        let proxy = KubeFaultProxy::start(&c.api.url(), None, &self.dir)
            .await
            .unwrap_or_else(|e| panic!("fault proxy for {cluster}/{replica}: {e}"));
        let kubeconfig = self.dir.join(format!("{cluster}-{replica}.kubeconfig"));
        // The token (the ServiceAccount's on a real control plane) is passed on by the proxy.
        let token = c.api.real().map_or("e2e", |r| r.token.as_str());
        write_kubeconfig(&kubeconfig, cluster, &proxy.url, None, token)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut launch = self.launch(cluster);
        launch.set_env("KUBECONFIG", &kubeconfig.display().to_string());
        self.start_replica_with(cluster, replica, &launch);
        proxy
    }

    fn start_keyed(&mut self, key: &str, cluster: &str, launch: &Launch) {
        if let Some(mut old) = self.procs.remove(key) {
            assert!(
                old.exited().is_some(),
                "{} is still running; stop it before starting another",
                old.label
            );
            self.finished.push(old);
        }
        let n = self.starts.fetch_add(1, Ordering::Relaxed);
        let label = format!("{cluster}-{n}");
        let log = self.dir.join(format!("{label}.log"));
        // Every process is a new pod: a new identity in the leader Lease, its own health port.
        let mut launch = launch.clone();
        if !launch.env.iter().any(|(k, _)| k == "POD_NAME") {
            launch.set_env("POD_NAME", &format!("kubectl-failover-{label}"));
        }
        let metrics = format!("127.0.0.1:{}", free_port());
        launch.set_env("METRICS_ADDR", &metrics);
        let mut process = Process::spawn(&label, &launch, &log);
        process.metrics_addr = Some(metrics);
        self.procs.insert(key.to_string(), process);
    }

    /// The current process of `key` (a cluster, or `{cluster}/{replica}`).
    pub fn process(&mut self, key: &str) -> &mut Process {
        self.procs
            .get_mut(key)
            .unwrap_or_else(|| panic!("no controller was started as {key}"))
    }

    /// Crashes a controller (SIGKILL); its cluster keeps its objects as they are, and the
    /// serving monitor still counts it: a cluster whose controller died serves while its
    /// objects say so (nothing else in a cluster switches them off).
    pub async fn crash(&mut self, key: &str) {
        self.process(key).kill().await;
    }

    /// What the kubelet does to a crashed container: starts `key` again with `launch` after
    /// `delay` (a new process with no memory of the old one, as a restarted container).
    pub async fn restart_after(
        &mut self,
        key: &str,
        cluster: &str,
        launch: &Launch,
        delay: Duration,
    ) {
        tokio::time::sleep(delay).await;
        self.start_keyed(key, cluster, launch);
    }

    /// Plays the kubelet's liveness probe on `key` for `duration`: GET /healthz every
    /// `probe.period` with `probe.timeout`; after `probe.failures` failures in a row the process
    /// is killed (SIGKILL, which also ends a stopped process) and started again with `launch`.
    /// Returns how many times it was restarted.
    pub async fn play_liveness_probe(
        &mut self,
        key: &str,
        cluster: &str,
        launch: &Launch,
        probe: Probe,
        duration: Duration,
    ) -> u32 {
        let end = tokio::time::Instant::now() + duration;
        let (mut failed, mut restarts) = (0u32, 0u32);
        while tokio::time::Instant::now() < end {
            tokio::time::sleep(probe.period).await;
            let healthy =
                match tokio::time::timeout(probe.timeout, self.process(key).http_get("/healthz"))
                    .await
                {
                    Ok(Ok((code, _))) => code == 200,
                    _ => false,
                };
            failed = if healthy { 0 } else { failed + 1 };
            if failed >= probe.failures {
                self.process(key).kill().await;
                self.start_keyed(key, cluster, launch);
                restarts += 1;
                failed = 0;
            }
        }
        restarts
    }

    /// Stops `cluster`'s controller as Kubernetes does (SIGTERM) and returns how it exited.
    pub async fn stop(&mut self, cluster: &str, limit: Duration) -> ExitStatus {
        let p = self.process(cluster);
        p.terminate();
        match p.wait_exit(limit).await {
            Some(status) => status,
            None => panic!("{} did not exit within {limit:?} of SIGTERM", p.label),
        }
    }

    /// Starts watching that no two clusters serve at once.
    pub fn start_monitor(&mut self) {
        self.monitor = Some(ServingMonitor::start(
            self.clusters.values().cloned().collect(),
        ));
    }

    /// The group in the table (CONFIG, CLUSTER# records, LOCK); `Err` with the cause.
    pub async fn snapshot(&self) -> Result<Option<GroupSnapshot>, String> {
        self.store
            .load_group(OPERATOR, &self.group_id())
            .await
            .map_err(|e| format!("load the group from {}: {e}", self.table))
    }

    /// The group's history, newest first.
    pub async fn history(&self) -> Result<Vec<HistoryRecord>, String> {
        self.store
            .history(OPERATOR, &self.group_id(), 100, None)
            .await
            .map(|page| page.records)
            .map_err(|e| format!("read history from {}: {e}", self.table))
    }

    /// Asserts that no controller panicked (a panic is a bug whatever the scenario).
    pub fn assert_no_panics(&self) {
        for p in self.procs.values().chain(&self.finished) {
            let out = p.output();
            assert!(
                !out.contains("panicked at"),
                "{} panicked:\n{}",
                p.label,
                p.tail(40)
            );
        }
    }

    /// The first controller that panicked, with its log's tail, if any.
    pub fn panicked(&self) -> Option<String> {
        self.procs
            .values()
            .chain(&self.finished)
            .find(|p| p.output().contains("panicked at"))
            .map(|p| format!("{} panicked:\n{}", p.label, p.tail(40)))
    }

    /// Whether `key` was started (a cluster, or `{cluster}/{replica}`).
    pub fn has_process(&self, key: &str) -> bool {
        self.procs.contains_key(key)
    }

    /// Kills every controller still running.
    pub async fn kill_all(&mut self) {
        for p in self.procs.values_mut() {
            if p.exited().is_none() {
                p.kill().await;
            }
        }
    }

    /// Ends the scenario: no overlap was seen, no controller panicked, every controller stops.
    pub async fn finish(mut self) {
        if let Some(m) = &self.monitor {
            m.assert_no_overlap();
            if let Some(v) = m.volume_overlap() {
                panic!("two clusters held the volume as primary at once:\n  {v}");
            }
        }
        self.assert_no_panics();
        let names: Vec<String> = self.procs.keys().cloned().collect();
        for name in names {
            let p = self.process(&name);
            if p.exited().is_none() {
                p.kill().await;
            }
        }
    }

    fn diagnostics(&mut self) -> String {
        let mut out = format!(
            "=== e2e world (table {}, logs in {})\n",
            self.table,
            self.dir.display()
        );
        for (name, c) in &self.clusters {
            out.push_str(&format!("--- cluster {name}: {}\n", c.view().summary()));
            out.push_str(&format!(
                "    FailoverGroup status: {}\n",
                c.failover_group()
                    .map(|g| g["status"].to_string())
                    .unwrap_or_else(|| "(none)".into())
            ));
        }
        for p in self.finished.iter_mut().chain(self.procs.values_mut()) {
            let state = p.exited().map(describe).unwrap_or_else(|| "running".into());
            out.push_str(&format!(
                "--- {} ({state}), last lines of {}:\n{}\n",
                p.label,
                p.log.display(),
                p.tail(40)
            ));
        }
        out
    }
}

/// `run` as deployed (leader election on), with a short Lease so that a restarted process (a
/// new pod with a new identity) takes over from its crashed predecessor within seconds; 2s
/// against a 5s heartbeat timeout, as deploy/ uses 15s against 1m, so that a new leader
/// heartbeats before the other clusters presume this one dead.
pub fn run_args() -> Vec<String> {
    ["run", "--lease-duration", "2s"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A liveness probe as the kubelet runs it.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// `periodSeconds`.
    pub period: Duration,
    /// `timeoutSeconds`.
    pub timeout: Duration,
    /// `failureThreshold`.
    pub failures: u32,
}

/// A loopback port nothing listens on right now (support::control_plane::free_port: below the
/// ephemeral range, each handed out once).
pub fn free_port() -> u16 {
    crate::support::control_plane::free_port()
}

impl Drop for World {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.diagnostics());
        } else if !self.keep.load(Ordering::SeqCst) {
            // A passing world's logs and etcd data (about 250 MB) are of no use, and a full
            // run leaves hundreds of them: kept, they filled the CI machine's disk.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
