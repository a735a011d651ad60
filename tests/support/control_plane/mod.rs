//! A real Kubernetes control plane per simulated cluster, for the tests: etcd, kube-apiserver
//! (RBAC authorization, a service-account signing key, real admission and CEL validation) and
//! kube-controller-manager (Deployment, ReplicaSet, StatefulSet, CronJob, garbage collection,
//! ServiceAccount controllers), all built from Go modules at one Kubernetes release by
//! `scripts/k8s-control-plane.sh`, plus kwok playing the kubelet of two simulated nodes (pods
//! become Running and Ready; a deleted pod stays Terminating for its grace period, see
//! tests/k8s-control-plane/kwok-stages.yaml).
//!
//! Every process runs in its own process group and is killed with it when the [`ControlPlane`]
//! drops, on every exit path (a failed assertion or a panic unwinds through the drop; an abort
//! or SIGKILL of the test process is covered by PR_SET_PDEATHSIG).
//!
//! Files: `certs` (CA, serving certificate, service-account keys), `process` (one component),
//! `objects` (apply, get, list, tokens, kubeconfigs).

#![allow(dead_code)]

pub mod certs;
pub mod objects;
pub mod process;
pub mod sync_client;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use process::Component;

/// The nodes kwok simulates in every cluster; test workloads name one in `spec.nodeName` (there
/// is no scheduler: binding is not what these tests are about).
pub const NODES: [&str; 2] = ["kwok-node-0", "kwok-node-1"];

/// How long a component may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(90);

/// The directory with `etcd`, `kube-apiserver`, `kube-controller-manager` and `kwok`:
/// `KFO_K8S_BIN` when set, else what `scripts/k8s-control-plane.sh --check` prints. An error
/// says how to build them.
pub fn bin_dir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("KFO_K8S_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/k8s-control-plane.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg("--check")
        .output()
        .map_err(|e| format!("run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "the real Kubernetes control plane is not built: {}run ./scripts/k8s-control-plane.sh (./scripts/test.sh does) or set KFO_K8S_BIN",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// A loopback port nothing listens on right now, for a process started next. Drawn below the
/// kernel's ephemeral range (32768 and up on Linux): a port the kernel picked for `bind(0)` may
/// be handed to an outgoing connection before the process binds it, which once left a chaos
/// schedule's controller replica dead at start ("Address already in use"). Each port is handed
/// out once per test process; the starting point depends on the process id, so that parallel
/// test processes seldom try the same ports.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7_919) % SPAN;
    for _ in 0..SPAN {
        let i = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (LOW + (start + i) % SPAN) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {LOW} and {}", LOW + SPAN)
}

/// One running control plane.
pub struct ControlPlane {
    /// The cluster's name (also its kubeconfig context).
    pub name: String,
    /// Where its data, certificates, kubeconfigs and logs are.
    pub dir: PathBuf,
    /// `https://127.0.0.1:PORT` of kube-apiserver.
    pub url: String,
    /// The CA certificate clients trust.
    pub ca: PathBuf,
    /// A kubeconfig with cluster-admin rights (group system:masters).
    pub admin_kubeconfig: PathBuf,
    /// How long start-up took, until the API server was ready with nodes and CRDs.
    pub started_in: Duration,
    admin_token: String,
    client: kube::Client,
    components: Vec<Component>,
}

impl ControlPlane {
    /// Starts etcd, kube-apiserver, kube-controller-manager and kwok for `name` under `dir`,
    /// waits until the API server is ready, creates the simulated nodes, and installs the
    /// project's CRDs from deploy/crds and the test-only CRDs of the kinds it acts on.
    pub async fn start(name: &str, dir: &Path) -> Result<ControlPlane, String> {
        let started = Instant::now();
        let bin = bin_dir()?;
        let dir = dir.join(format!("k8s-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        let pki = certs::make(&dir.join("pki"))?;
        let admin_token = format!("admin-{}", uuid_like());
        let tokens = dir.join("tokens.csv");
        std::fs::write(
            &tokens,
            format!("{admin_token},admin,admin,\"system:masters\"\n"),
        )
        .map_err(|e| format!("write {}: {e}", tokens.display()))?;

        let mut components = Vec::new();
        let (etcd_port, peer_port, api_port) = (free_port(), free_port(), free_port());
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let args = [
            format!("--name={name}"),
            format!("--data-dir={}", dir.join("etcd").display()),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster={name}={peer_url}"),
            "--unsafe-no-fsync".into(),
            "--log-level=warn".into(),
        ];
        components.push(Component::spawn(
            "etcd",
            &bin.join("etcd"),
            &args,
            &dir.join("etcd.log"),
        )?);
        wait_tcp(etcd_port, &mut components).await?;

        let s = |p: &Path| p.display().to_string();
        let args = [
            format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={api_port}"),
            format!("--tls-cert-file={}", s(&pki.server_cert)),
            format!("--tls-private-key-file={}", s(&pki.server_key)),
            format!("--token-auth-file={}", s(&tokens)),
            "--authorization-mode=RBAC".into(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-account-key-file={}", s(&pki.sa_pub)),
            format!("--service-account-signing-key-file={}", s(&pki.sa_key)),
            "--service-cluster-ip-range=10.96.0.0/16".into(),
            "--enable-priority-and-fairness=false".into(),
            "--profiling=false".into(),
            "--v=1".into(),
        ];
        components.push(Component::spawn(
            "kube-apiserver",
            &bin.join("kube-apiserver"),
            &args,
            &dir.join("kube-apiserver.log"),
        )?);
        let url = format!("https://127.0.0.1:{api_port}");
        let admin_kubeconfig = dir.join("admin.kubeconfig");
        objects::write_kubeconfig(&admin_kubeconfig, name, &url, Some(&pki.ca), &admin_token)?;
        let client = objects::client(&admin_kubeconfig).await?;
        wait_ready(&client, &mut components).await?;

        let kubeconfig = s(&admin_kubeconfig);
        let args = [
            format!("--kubeconfig={kubeconfig}"),
            "--leader-elect=false".into(),
            "--secure-port=0".into(),
            format!("--service-account-private-key-file={}", s(&pki.sa_key)),
            format!("--root-ca-file={}", s(&pki.ca)),
            "--use-service-account-credentials=false".into(),
            // No cloud, no node IPAM: the nodes are simulated.
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller".into(),
            // Its default 20 requests/s would take many minutes to give the scale benchmark's
            // thousands of Deployments their ReplicaSets and pods (benches/scale_real).
            "--kube-api-qps=500".into(),
            "--kube-api-burst=1000".into(),
            "--concurrent-deployment-syncs=20".into(),
            "--concurrent-replicaset-syncs=20".into(),
            "--v=1".into(),
        ];
        components.push(Component::spawn(
            "kube-controller-manager",
            &bin.join("kube-controller-manager"),
            &args,
            &dir.join("kube-controller-manager.log"),
        )?);
        let stages =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/k8s-control-plane/kwok-stages.yaml");
        let args = [
            format!("--kubeconfig={kubeconfig}"),
            format!("--config={}", s(&stages)),
            "--manage-all-nodes=true".into(),
            format!("--server-address=127.0.0.1:{}", free_port()),
            "--node-lease-duration-seconds=40".into(),
        ];
        components.push(Component::spawn(
            "kwok",
            &bin.join("kwok"),
            &args,
            &dir.join("kwok.log"),
        )?);

        let mut plane = ControlPlane {
            name: name.to_string(),
            dir,
            url,
            ca: pki.ca,
            admin_kubeconfig,
            started_in: Duration::ZERO,
            admin_token,
            client,
            components,
        };
        for node in NODES {
            plane.apply(objects::node(node)).await?;
        }
        for crd in objects::crds()? {
            plane.apply(crd).await?;
        }
        plane.wait_crds_established().await?;
        plane.started_in = started.elapsed();
        Ok(plane)
    }

    /// A plane for the test named `test`, in its own directory under the test binary's
    /// temporary directory; panics with the reason when it does not start.
    pub async fn for_test(test: &str) -> ControlPlane {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("control-plane")
            .join(format!("{test}-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("mkdir {}: {e}", dir.display());
        }
        match ControlPlane::start(test, &dir).await {
            Ok(plane) => plane,
            Err(e) => panic!("control plane for {test} did not start: {e}"),
        }
    }

    /// A client with cluster-admin rights.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The admin's bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// kubectl (KFO_KUBECTL or the one on PATH) as this plane's administrator, from the
    /// repository root: whether it succeeded, and its output and errors.
    pub fn kubectl(&self, args: &[&str]) -> (bool, String) {
        let kubectl = std::env::var("KFO_KUBECTL").unwrap_or_else(|_| "kubectl".to_string());
        let out = std::process::Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&self.admin_kubeconfig)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("HOME", self.dir.join("home"))
            .output()
            .unwrap_or_else(|e| panic!("run {kubectl}: {e}; ./scripts/test.sh installs kubectl"));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    /// Resident memory of the control plane's processes, in KiB (from /proc).
    pub fn rss_kib(&self) -> Vec<(String, u64)> {
        self.components
            .iter()
            .map(|c| {
                let status = std::fs::read_to_string(format!("/proc/{}/status", c.pid()))
                    .unwrap_or_default();
                let kib = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                (c.name.clone(), kib)
            })
            .collect()
    }

    /// The process ids of its components, for checks that nothing is left behind.
    pub fn pids(&self) -> Vec<u32> {
        self.components.iter().map(Component::pid).collect()
    }

    /// The last lines of every component's log, for failure messages.
    pub fn diagnostics(&mut self) -> String {
        let mut out = String::new();
        for c in &mut self.components {
            let state = c.exited().unwrap_or_else(|| "running".into());
            out.push_str(&format!(
                "--- {} {} ({state}):\n{}\n",
                self.name,
                c.name,
                c.tail(15)
            ));
        }
        out
    }

    async fn wait_crds_established(&self) -> Result<(), String> {
        let end = Instant::now() + READY_WITHIN;
        loop {
            let list = self
                .list("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
                .await?;
            let pending: Vec<String> = list
                .iter()
                .filter(|crd| {
                    !crd["status"]["conditions"].as_array().is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["type"] == "Established" && c["status"] == "True")
                    })
                })
                .filter_map(|crd| crd["metadata"]["name"].as_str().map(String::from))
                .collect();
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() > end {
                return Err(format!(
                    "CRDs not established within {READY_WITHIN:?}: {pending:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // Reverse order of start: nothing reconnects to a component already gone.
        while let Some(mut c) = self.components.pop() {
            c.kill();
        }
        if !std::thread::panicking() {
            // Logs are only read when a test fails; left behind they add up to gigabytes.
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn uuid_like() -> String {
    format!(
        "{:x}{:x}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_seed()
    )
}

fn rand_seed() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn died(components: &mut [Component]) -> Option<String> {
    components.iter_mut().find_map(|c| {
        c.exited()
            .map(|how| format!("{} exited ({how}):\n{}", c.name, c.tail(30)))
    })
}

async fn wait_tcp(port: u16, components: &mut [Component]) -> Result<(), String> {
    let end = Instant::now() + READY_WITHIN;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if let Some(why) = died(components) {
            return Err(why);
        }
        if Instant::now() > end {
            return Err(format!(
                "nothing listens on 127.0.0.1:{port} after {READY_WITHIN:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn wait_ready(client: &kube::Client, components: &mut [Component]) -> Result<(), String> {
    let end = Instant::now() + READY_WITHIN;
    loop {
        let req = http::Request::get("/readyz")
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        match client.request_text(req).await {
            Ok(body) if body.trim() == "ok" => return Ok(()),
            other => {
                if let Some(why) = died(components) {
                    return Err(why);
                }
                if Instant::now() > end {
                    return Err(format!(
                        "kube-apiserver not ready after {READY_WITHIN:?}: {other:?}\n{}",
                        components.last().map(|c| c.tail(30)).unwrap_or_default()
                    ));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
