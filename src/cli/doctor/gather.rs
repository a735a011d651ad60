//! Reading one context for the doctor: the CRDs, the controller's Deployment and ConfigMaps,
//! its Lease and any external-dns. Every call is bounded by [`CLUSTER_TIMEOUT`] and the whole
//! context by [`CONTEXT_DEADLINE`], so a cluster that does not answer becomes one failed check
//! instead of a hang. Secrets are never read.

use crate::cli::kubeconfig::{CLUSTER_TIMEOUT, KubeArgs};
use crate::ops::doctor::controller::{
    DEFAULT_CONFIGMAP, DeploymentFacts, LeaseFacts, configmap_names, controller_env,
};
use crate::ops::doctor::crds::{InstalledCrds, fingerprint};
use crate::ops::doctor::dns::{EXTERNAL_DNS, ExternalDns, NAME_LABEL, is_external_dns};
use crate::ops::doctor::settings::ClusterSettings;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::ListParams;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// The most one context may take, all its calls together.
pub const CONTEXT_DEADLINE: Duration = Duration::from_secs(30);

/// Where the controller is expected in every context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerRef {
    /// Its namespace.
    pub namespace: String,
    /// Its Deployment's name.
    pub name: String,
}

/// Everything read from one context.
#[derive(Debug)]
pub struct ClusterFacts {
    /// The kubeconfig context.
    pub context: String,
    /// Why the API server could not be used at all; the rest is empty then.
    pub unreachable: Option<String>,
    /// The CRDs, or why they could not be read.
    pub crds: Result<InstalledCrds, String>,
    /// The controller's Deployment's replica counts.
    pub deployment: Result<Option<DeploymentFacts>, String>,
    /// The controller's settings.
    pub settings: ClusterSettings,
    /// The leader Lease (not read when leader election is off).
    pub lease: Result<Option<LeaseFacts>, String>,
    /// external-dns Deployments in any namespace.
    pub external_dns: Result<Vec<ExternalDns>, String>,
}

/// A call bounded by [`CLUSTER_TIMEOUT`].
async fn bounded<T>(call: impl Future<Output = Result<T, kube::Error>>) -> Result<T, kube::Error> {
    match tokio::time::timeout(CLUSTER_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => Err(kube::Error::Service(
            format!("no answer within {}s", CLUSTER_TIMEOUT.as_secs()).into(),
        )),
    }
}

/// An error with its causes, each said once: kube's own text of a transport error ("client
/// error (Connect)") hides the cause a person needs ("Connection refused").
fn text(e: &kube::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        let t = err.to_string();
        if !t.is_empty() && !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        next = err.source();
    }
    parts.join(": ")
}

/// An answer of the API server (a 403, a 404 on a missing API) shows the cluster is reachable;
/// anything else (refused connection, timeout, TLS) shows it is not.
fn is_answer(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(_))
}

/// Reads one context; never fails: what could not be read is in the facts.
pub async fn cluster(kube: &KubeArgs, context: &str, controller: &ControllerRef) -> ClusterFacts {
    let empty = |why: String| ClusterFacts {
        context: context.to_string(),
        unreachable: Some(why.clone()),
        crds: Err(why.clone()),
        deployment: Err(why.clone()),
        settings: ClusterSettings::from_env(
            context,
            (&controller.namespace, &controller.name),
            DEFAULT_CONFIGMAP,
            &Default::default(),
        ),
        lease: Err(why.clone()),
        external_dns: Err(why),
    };
    let args = KubeArgs {
        kubeconfig: kube.kubeconfig.clone(),
        context: Some(context.to_string()),
    };
    let read = async {
        let (client, _) = args.client().await.map_err(|e| e.to_string())?;
        read_cluster(client, context, controller).await
    };
    match tokio::time::timeout(CONTEXT_DEADLINE, read).await {
        Ok(Ok(facts)) => facts,
        Ok(Err(why)) => empty(why),
        Err(_) => empty(format!(
            "the checks did not finish within {}s",
            CONTEXT_DEADLINE.as_secs()
        )),
    }
}

/// The reads in order; `Err` only when the first call shows the cluster cannot be reached.
async fn read_cluster(
    client: kube::Client,
    context: &str,
    controller: &ControllerRef,
) -> Result<ClusterFacts, String> {
    let crds = read_crds(client.clone(), context).await?;
    let ns = controller.namespace.as_str();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let deployment = bounded(deployments.get_opt(&controller.name))
        .await
        .map_err(|e| text(&e));
    let found = deployment.as_ref().ok().and_then(Option::as_ref);
    let names = configmap_names(found);
    let configmaps_api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let mut configmaps = BTreeMap::new();
    let mut problems = Vec::new();
    for name in &names {
        match bounded(configmaps_api.get_opt(name)).await {
            Ok(cm) => {
                configmaps.insert(name.clone(), cm.map(|c| c.data.unwrap_or_default()));
            }
            Err(e) => problems.push(format!(
                "could not read ConfigMap {ns}/{name}: {}",
                text(&e)
            )),
        }
    }
    let env = controller_env(found, &configmaps);
    let configmap = names.first().map_or(DEFAULT_CONFIGMAP, String::as_str);
    let mut settings = ClusterSettings::from_env(context, (ns, &controller.name), configmap, &env);
    settings.problems.extend(problems);
    let lease = if settings.leader_elect {
        let leases: Api<Lease> = Api::namespaced(client.clone(), &settings.lease_namespace);
        bounded(leases.get_opt(&settings.lease_name))
            .await
            .map(|l| l.as_ref().map(LeaseFacts::from_lease))
            .map_err(|e| text(&e))
    } else {
        Ok(None)
    };
    Ok(ClusterFacts {
        context: context.to_string(),
        unreachable: None,
        crds,
        deployment: deployment.map(|d| d.as_ref().map(DeploymentFacts::from_deployment)),
        settings,
        lease,
        external_dns: read_external_dns(client).await,
    })
}

/// The CRDs this plugin needs. The first call of a context: a failure that is not an answer of
/// the API server means the context is unreachable.
async fn read_crds(
    client: kube::Client,
    context: &str,
) -> Result<Result<InstalledCrds, String>, String> {
    let api: Api<CustomResourceDefinition> = Api::all(client);
    let mut crds = BTreeMap::new();
    for expected in crate::crd::crds() {
        let name = expected.metadata.name.clone().unwrap_or_default();
        match bounded(api.get_opt(&name)).await {
            Ok(found) => {
                crds.insert(name, found.as_ref().map(fingerprint));
            }
            Err(e) if is_answer(&e) => {
                return Ok(Err(format!("could not read CRD {name}: {}", text(&e))));
            }
            Err(e) => return Err(text(&e)),
        }
    }
    Ok(Ok(InstalledCrds {
        context: context.to_string(),
        crds,
    }))
}

/// external-dns Deployments in every namespace: by label, and by name for manifests without
/// the label.
async fn read_external_dns(client: kube::Client) -> Result<Vec<ExternalDns>, String> {
    let api: Api<Deployment> = Api::all(client);
    let by_label = ListParams::default().labels(&format!("{NAME_LABEL}={EXTERNAL_DNS}"));
    let by_name = ListParams::default().fields(&format!("metadata.name={EXTERNAL_DNS}"));
    let mut found: BTreeMap<(String, String), ExternalDns> = BTreeMap::new();
    for params in [by_label, by_name] {
        let list = bounded(api.list(&params)).await.map_err(|e| text(&e))?;
        for d in list.items.iter().filter(|d| is_external_dns(d)) {
            let e = ExternalDns::from_deployment(d);
            found.insert((e.namespace.clone(), e.name.clone()), e);
        }
    }
    Ok(found.into_values().collect())
}
