//! The parts of `promote` that talk to the kubeconfig context: reading a FailoverGroup (for the
//! plan's resource names and whether it has volume replications) and, with `--via-cr`, creating
//! the Failover resource the controller turns into the request.

use crate::cli::kubeconfig::{CLUSTER_TIMEOUT, KubeArgs};
use crate::crd::{Failover, FailoverGroup, FailoverGroupSpec, FailoverSpec, GroupRef};
use crate::error::{Error, ExitCode};
use crate::store::{FailoverMode, GroupId};
use kube::api::{Api, ObjectMeta, PostParams};
use std::collections::BTreeMap;

/// Reads a FailoverGroup's spec from the context; the error says why not (for `-v`).
pub async fn read_group_spec(
    kube: &KubeArgs,
    group: &GroupId,
) -> Result<FailoverGroupSpec, String> {
    let (client, ctx) = kube.client().await.map_err(|e| e.to_string())?;
    let api: Api<FailoverGroup> = Api::namespaced(client, &group.namespace);
    match tokio::time::timeout(CLUSTER_TIMEOUT, api.get_opt(&group.name)).await {
        Err(_) => Err(format!(
            "context {} did not answer within {}s",
            ctx.context,
            CLUSTER_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => Err(format!(
            "reading FailoverGroup {group} in context {} failed: {e}",
            ctx.context
        )),
        Ok(Ok(None)) => Err(format!(
            "FailoverGroup {group} does not exist in context {}",
            ctx.context
        )),
        Ok(Ok(Some(g))) => Ok(g.spec),
    }
}

/// What `--via-cr` asks for.
#[derive(Debug, Clone)]
pub struct CrRequest<'a> {
    /// The groups to move.
    pub groups: &'a [GroupId],
    /// The cluster to become PRIMARY.
    pub target: &'a str,
    /// CONSISTENCY or UPTIME.
    pub mode: FailoverMode,
    /// Do not wait for the source's acknowledgement.
    pub force: bool,
    /// Why.
    pub reason: &'a str,
}

/// Creates one Failover per namespace of the groups (a Failover names groups of its own
/// namespace by default, and one request per namespace keeps RBAC per namespace). Returns
/// `namespace/name` of each created resource. Exit 5 when the cluster cannot be reached.
pub async fn create_failovers(
    kube: &KubeArgs,
    request: &CrRequest<'_>,
) -> Result<Vec<String>, Error> {
    let unavailable = |message: String| Error::Command {
        message,
        code: ExitCode::Unavailable,
    };
    let (client, ctx) = kube
        .client()
        .await
        .map_err(|e| unavailable(format!("--via-cr needs a cluster: {e}; or drop --via-cr to write the request to DynamoDB directly")))?;
    let mut by_namespace: BTreeMap<&str, Vec<GroupRef>> = BTreeMap::new();
    for g in request.groups {
        by_namespace
            .entry(&g.namespace)
            .or_default()
            .push(GroupRef {
                name: g.name.clone(),
                namespace: None,
            });
    }
    let mut created = Vec::new();
    for (ns, refs) in by_namespace {
        let failover = Failover {
            metadata: ObjectMeta {
                generate_name: Some(format!("promote-{}-", request.target)),
                namespace: Some(ns.to_string()),
                ..ObjectMeta::default()
            },
            spec: FailoverSpec {
                target_cluster: request.target.to_string(),
                failover_mode: Some(request.mode),
                force: request.force,
                reason: Some(request.reason.to_string()).filter(|r| !r.is_empty()),
                failover_groups: refs,
            },
            status: None,
        };
        let api: Api<Failover> = Api::namespaced(client.clone(), ns);
        let made = tokio::time::timeout(CLUSTER_TIMEOUT, api.create(&PostParams::default(), &failover))
            .await
            .map_err(|_| {
                unavailable(format!(
                    "context {} did not answer within {}s while creating a Failover in {ns}; drop --via-cr to write the request to DynamoDB directly",
                    ctx.context,
                    CLUSTER_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| {
                unavailable(format!(
                    "creating a Failover in namespace {ns} of context {} failed: {e}; check that the CRDs are installed and you may create failovers.kubectl-failover.io, or drop --via-cr",
                    ctx.context
                ))
            })?;
        created.push(format!(
            "{ns}/{}",
            made.metadata
                .name
                .unwrap_or_else(|| "<generated>".to_string())
        ));
    }
    Ok(created)
}
