//! The group's health read from real status, one component per resource family (workloads,
//! jobs, volumes, network, flux). A listed object that is missing is ERROR, a family whose API
//! is not installed is DEGRADED, as is an unreadable epoch annotation (it refuses every
//! activation of the object); all name the object. Only an unreachable API server fails the
//! whole read.

use super::errors::KubeError;
use super::fencing::{Fence, applied_epoch};
use super::objects::ObjectRef;
use super::settings::DnsAnnotations;
use super::{flux, stop_time, traffic, volumes, workloads};
use crate::crd::FailoverGroupSpec;
use crate::duration::GoDuration;
use crate::k8s::{ComponentHealth, HealthReport};
use crate::store::Health;
use kube::api::DynamicObject;

/// Component names, as they appear in heartbeats and status (the simulated cluster's too).
pub const WORKLOADS: &str = "workloads";
/// See [`WORKLOADS`].
pub const JOBS: &str = "jobs";
/// See [`WORKLOADS`].
pub const VOLUMES: &str = "volumes";
/// See [`WORKLOADS`].
pub const NETWORK: &str = "network";
/// See [`WORKLOADS`].
pub const FLUX: &str = "flux";

/// A component from its worst health and its problems.
pub fn component(health: Health, problems: Vec<String>) -> ComponentHealth {
    ComponentHealth {
        health,
        message: problems.join(", "),
    }
}

/// The worse of two healths.
pub fn worse(a: Health, b: Health) -> Health {
    let rank = |h: Health| match h {
        Health::Ok => 0,
        Health::Degraded => 1,
        Health::Error => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Two judgements of one family as one: the worse health, both messages.
fn merge(a: ComponentHealth, b: ComponentHealth) -> ComponentHealth {
    let problems = [a.message, b.message]
        .into_iter()
        .filter(|m| !m.is_empty())
        .collect();
    component(worse(a.health, b.health), problems)
}

/// The objects of one family that could be read, and the problems of those that could not.
struct Read<'a> {
    objects: Vec<(usize, ObjectRef<'a>, DynamicObject)>,
    health: Health,
    problems: Vec<String>,
}

impl<'a> Read<'a> {
    async fn all(
        fence: &Fence<'_>,
        objects: Vec<ObjectRef<'a>>,
        field: &'static str,
    ) -> Result<Read<'a>, KubeError> {
        let mut read = Read {
            objects: Vec::new(),
            health: Health::Ok,
            problems: Vec::new(),
        };
        for (i, object) in objects.into_iter().enumerate() {
            match fence.get(&object, field).await {
                Ok(obj) => {
                    // Blocks every activation of the object until a person removes it.
                    if let Err(e) = applied_epoch(&object, &obj) {
                        read.note(Health::Degraded, e);
                    }
                    read.objects.push((i, object, obj));
                }
                Err(e @ KubeError::NotFound { .. }) => read.note(Health::Error, e),
                Err(e @ KubeError::ApiNotInstalled { .. }) => read.note(Health::Degraded, e),
                Err(e) => return Err(e),
            }
        }
        Ok(read)
    }

    fn note(&mut self, health: Health, e: KubeError) {
        self.health = worse(self.health, health);
        self.problems.push(e.to_string());
    }

    fn pairs(&self) -> Vec<(ObjectRef<'a>, DynamicObject)> {
        self.objects
            .iter()
            .map(|(_, r, o)| (*r, o.clone()))
            .collect()
    }

    /// The family's own judgement combined with the read problems.
    fn with(mut self, judged: ComponentHealth) -> ComponentHealth {
        self.health = worse(self.health, judged.health);
        if !judged.message.is_empty() {
            self.problems.insert(0, judged.message);
        }
        component(self.health, self.problems)
    }
}

/// Judges every family the group lists.
pub async fn report(
    fence: &Fence<'_>,
    spec: &FailoverGroupSpec,
    dns: &DnsAnnotations,
) -> Result<HealthReport, KubeError> {
    let mut report = HealthReport::default();
    let scaled = super::scaled_objects(fence, spec);
    let mut running = false;
    if !scaled.is_empty() {
        let read = Read::all(fence, scaled, workloads::FIELD).await?;
        running = read
            .objects
            .iter()
            .any(|(_, _, o)| workloads::spec_replicas(o) > 0);
        let mut judged = workloads::judge(&read.pairs());
        // The spec's budget: the table's once the spec has been brought in (or a difference is
        // reported as SpecNotInTable).
        if let Ok(budget) = spec.timeouts.deactivation.parse::<GoDuration>() {
            let stop = stop_time::judge_budget(&read.pairs(), budget.get());
            judged = merge(judged, stop);
        }
        report
            .components
            .insert(WORKLOADS.into(), read.with(judged));
    }
    let cronjobs = super::cronjob_objects(fence, spec);
    if !cronjobs.is_empty() {
        // Suspended or not, a CronJob that exists is fine: suspended is the standby state.
        let read = Read::all(fence, cronjobs, workloads::FIELD).await?;
        let judged = component(Health::Ok, Vec::new());
        report.components.insert(JOBS.into(), read.with(judged));
    }
    let vols = super::volume_objects(fence, spec);
    if !vols.is_empty() {
        let read = Read::all(fence, vols, volumes::FIELD).await?;
        let judged = volumes::judge(&read.pairs(), running);
        report.components.insert(VOLUMES.into(), read.with(judged));
    }
    if !spec.network_resources.is_empty() {
        let refs = &spec.network_resources;
        let objects = refs
            .iter()
            .map(|r| fence.object(traffic::kind(r), &r.name))
            .collect();
        let read = Read::all(fence, objects, traffic::FIELD).await?;
        let judged = traffic::judge(refs, dns, &read.objects);
        report.components.insert(NETWORK.into(), read.with(judged));
    }
    if !spec.flux_resources.is_empty() {
        let refs = &spec.flux_resources;
        let objects = refs
            .iter()
            .map(|r| fence.object(flux::kind(r), &r.name))
            .collect();
        let read = Read::all(fence, objects, flux::FIELD).await?;
        let judged = flux::judge(&read.pairs());
        report.components.insert(FLUX.into(), read.with(judged));
    }
    Ok(report)
}
