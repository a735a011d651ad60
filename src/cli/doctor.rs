//! `doctor`: a readiness check across clusters. Reads every context (`gather`) and the table
//! (`probe`) at once, has `ops::doctor` judge what was read, and prints a checklist with a fix
//! under every failure; exits 3 when anything failed. Changes nothing anywhere.

mod gather;
mod probe;
mod render;

use crate::cli::color::ColorChoice;
use crate::cli::kubeconfig::{KubeArgs, context_of};
use crate::cli::output::{OutputFormat, write_document};
use crate::config::StoreArgs;
use crate::error::{Error, ExitCode};
use crate::ops::doctor::controller::{self as ctl, judge_deployment, judge_lease};
use crate::ops::doctor::crds::{fingerprint, judge_crds};
use crate::ops::doctor::dns::judge_external_dns;
use crate::ops::doctor::groups::{ClusterTimings, judge_heartbeats, judge_timings};
use crate::ops::doctor::settings::{ClusterSettings, judge_settings};
use crate::ops::doctor::table::{credentials_source, iam_skipped, judge_iam, judge_table};
use crate::ops::doctor::{Area, Check, Status, counts, judge_reach};
use clap::Args;
use gather::{ClusterFacts, ControllerRef};
use probe::TableFacts;
use render::{Document, Progress, render};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

const EXAMPLES: &str = "Examples:
  # Both clusters of a pair, and the table their controllers use
  kubectl failover doctor --context east --context west

  # The current context only, as JSON
  kubectl failover doctor -o json

  # IAM checked with the controller's role instead of your own credentials
  AWS_PROFILE=failover-controller kubectl failover doctor --context east --context west

Checks: API server reachable; CRDs installed, this plugin's version, the same everywhere; the
controller's Deployment ready and one replica leading on its Lease; CLUSTER_NAMEs distinct and
one table, region and operator; the table's shape (setup-dynamodb --check); IAM permissions
(proved without writing); every group's heartbeats fresh from every cluster; timings that
satisfy the fencing arithmetic; external-dns's --annotation-filter.

Exit codes: 0 nothing failed (warnings allowed), 2 bad arguments, 3 a check failed.";

/// Flags of `doctor`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES)]
pub struct DoctorArgs {
    /// A kubeconfig context to check, one per cluster; repeat for each [default: the current
    /// context].
    // The same id as the global --context, so clap lets this one take its place here and it may
    // be repeated (`--context east --context west`); a global --context before `doctor` lands
    // here too.
    #[arg(
        id = "context",
        long = "context",
        value_name = "NAME",
        action = clap::ArgAction::Append,
        help_heading = "Kubernetes"
    )]
    pub contexts: Vec<String>,

    /// Namespace of the controller in every context.
    #[arg(short = 'n', long, visible_alias = "namespace", default_value = ctl::DEFAULT_NAMESPACE)]
    pub controller_namespace: String,

    /// Name of the controller's Deployment in every context.
    #[arg(long, default_value = ctl::DEFAULT_NAME)]
    pub controller_name: String,

    /// Output format (wide is the same as table).
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// Runs `doctor`.
pub async fn run(
    store: &StoreArgs,
    kube: &KubeArgs,
    color: ColorChoice,
    args: DoctorArgs,
) -> Result<(), Error> {
    let contexts = contexts(kube, &args.contexts)?;
    let controller = ControllerRef {
        namespace: args.controller_namespace.clone(),
        name: args.controller_name.clone(),
    };
    let mut progress = Progress::new(std::io::stderr().is_terminal());
    progress.show(&format!(
        "reading {} and table {:?}...",
        contexts.join(", "),
        store.table_name
    ));
    let clusters = futures::future::join_all(
        contexts
            .iter()
            .map(|c| gather::cluster(kube, c, &controller)),
    );
    let (clusters, table) = tokio::join!(clusters, probe::table(store));
    progress.clear();
    let table = table?;
    let identity = credentials_source(|name| std::env::var(name).ok());
    let mut notes = vec![format!(
        "IAM checks use this machine's credentials ({identity}), which need not be the controller's role: run the doctor with AWS_PROFILE set to a profile of the controller's role to check that one"
    )];
    if let Some(endpoint) = store.effective_endpoint() {
        notes.push(format!(
            "the table is at {endpoint}, not AWS: such servers seldom enforce IAM, so the IAM checks prove little there"
        ));
    }
    let checks = assemble(&clusters, &table, store, &identity);
    let counts = counts(&checks);
    let mut out = std::io::stdout().lock();
    let doc = Document {
        contexts: &contexts,
        table: &store.table_name,
        region: &store.region,
        operator_id: &store.operator_id,
        notes: &notes,
        checks: &checks,
        counts,
    };
    if !write_document(args.output, &mut out, &doc)? {
        let palette = color.for_stdout();
        render(&doc, palette, &mut out)?;
    }
    out.flush()?;
    if counts.fail == 0 {
        return Ok(());
    }
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.name.as_str())
        .collect();
    Err(Error::Command {
        message: format!(
            "{} of {} checks failed ({}); each has its fix above",
            counts.fail,
            checks.len(),
            failed.join(", ")
        ),
        code: ExitCode::Conflict,
    })
}

/// The contexts to check: those given (each must be in the kubeconfig, as kubectl insists),
/// else the current one. Repeats are dropped.
fn contexts(kube: &KubeArgs, given: &[String]) -> Result<Vec<String>, Error> {
    let usage = |e: crate::cli::kubeconfig::KubeError| Error::Usage(e.to_string());
    let config = kube.read().map_err(usage)?;
    if given.is_empty() {
        return Ok(vec![context_of(&config, None).map_err(usage)?.context]);
    }
    let mut out: Vec<String> = Vec::new();
    for c in given {
        context_of(&config, Some(c)).map_err(usage)?;
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
    Ok(out)
}

/// Every check, in the order of the checklist: per context, then across contexts, then the
/// table and its groups, then external-dns.
fn assemble(
    clusters: &[ClusterFacts],
    table: &TableFacts,
    store: &StoreArgs,
    identity: &str,
) -> Vec<Check> {
    let now = chrono::Utc::now();
    let mut checks = Vec::new();
    let reachable: Vec<&ClusterFacts> = clusters
        .iter()
        .filter(|c| c.unreachable.is_none())
        .collect();
    for c in clusters {
        checks.push(judge_reach(&c.context, c.unreachable.as_deref()));
    }
    let expected: Vec<_> = crate::crd::crds().iter().map(fingerprint).collect();
    let mut installed = Vec::new();
    for c in &reachable {
        match &c.crds {
            Ok(i) => installed.push(i.clone()),
            Err(e) => checks.push(Check::warn(
                Area::Crds,
                format!("CRDs in {}", c.context),
                e.clone(),
                "allow your user to get customresourcedefinitions, or check them by hand",
            )),
        }
    }
    checks.extend(judge_crds(&expected, &installed));
    for c in &reachable {
        let s = &c.settings;
        let deployment = (s.namespace.as_str(), s.deployment.as_str());
        checks.push(judge_deployment(&c.context, deployment, &c.deployment));
        let lease = (s.lease_namespace.as_str(), s.lease_name.as_str());
        checks.push(judge_lease(
            &c.context,
            s.leader_elect,
            lease,
            &c.lease,
            now,
        ));
    }
    let settings: Vec<ClusterSettings> = reachable.iter().map(|c| c.settings.clone()).collect();
    checks.extend(judge_settings(&settings, store));
    checks.push(judge_table(&table.check));
    if table.probes.is_empty() {
        checks.extend(iam_skipped(
            "the table could not be read (see the table check)",
        ));
    } else {
        checks.extend(judge_iam(
            &table.probes,
            &store.table_name,
            &store.region,
            identity,
        ));
    }
    let names: BTreeMap<String, String> = settings
        .iter()
        .filter_map(|s| Some((s.cluster_name.clone()?, s.context.clone())))
        .collect();
    checks.extend(judge_heartbeats(&table.listing, &names, &store.operator_id));
    let timings: Vec<ClusterTimings> = settings
        .iter()
        .filter_map(|s| {
            Some(ClusterTimings {
                cluster: s.cluster_name.clone()?,
                context: s.context.clone(),
                liveness_budget: s.liveness_budget,
                lease: s.leader_elect.then_some(s.lease_duration),
            })
        })
        .collect();
    checks.extend(judge_timings(&table.configs, &timings));
    for c in &reachable {
        checks.extend(judge_external_dns(
            &c.context,
            &c.settings.dns,
            &c.external_dns,
        ));
    }
    for c in clusters.iter().filter(|c| c.unreachable.is_some()) {
        checks.push(Check::skipped(
            Area::Cluster,
            format!("other checks of {}", c.context),
            format!("{} could not be reached", c.context),
        ));
    }
    checks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(argv: &[&str]) -> (KubeArgs, DoctorArgs) {
        let Cli { kube, command, .. } = Cli::try_parse_from(argv).unwrap();
        let Command::Doctor(args) = command else {
            panic!("{argv:?} is not doctor");
        };
        (kube, args)
    }

    #[test]
    fn context_may_be_repeated_after_doctor_or_given_once_before_it() {
        let (_, args) = parse(&[
            "kubectl-failover",
            "doctor",
            "--context",
            "east",
            "--context",
            "west",
        ]);
        assert_eq!(args.contexts, ["east", "west"]);
        let (kube, args) = parse(&["kubectl-failover", "--context", "east", "doctor"]);
        assert_eq!(args.contexts, ["east"]);
        assert_eq!(kube.context.as_deref(), Some("east"));
        let (_, args) = parse(&["kubectl-failover", "doctor"]);
        assert!(args.contexts.is_empty());
        assert_eq!(args.controller_namespace, ctl::DEFAULT_NAMESPACE);
        let (_, args) = parse(&["kubectl-failover", "doctor", "--namespace", "ops"]);
        assert_eq!(args.controller_namespace, "ops");
    }
}
