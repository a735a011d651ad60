//! CronJobs and Flux objects: suspend and resume, with a reconcile asked for on resume.

use super::*;
use chrono::{DateTime, Utc};
use kubectl_failover::clock::ManualClock;

const CRON: &str = "/apis/batch/v1/namespaces/shop/cronjobs/report";
const HR: &str = "/apis/helm.toolkit.fluxcd.io/v2/namespaces/shop/helmreleases/web";
const KS: &str = "/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/shop/kustomizations/apps";

fn cronjob(rv: &str, suspend: bool) -> Value {
    object(
        "batch/v1",
        "CronJob",
        "report",
        rv,
        Value::Null,
        json!({"spec": {"schedule": "0 3 * * *", "suspend": suspend}}),
    )
}

fn helm_release(rv: &str, suspend: bool) -> Value {
    object(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        "web",
        rv,
        Value::Null,
        json!({"spec": {"suspend": suspend}}),
    )
}

fn kustomization(rv: &str, suspend: bool) -> Value {
    object(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        "apps",
        rv,
        Value::Null,
        json!({"spec": {"suspend": suspend}}),
    )
}

fn jobs_spec() -> Value {
    spec(
        json!([{"kind": "CronJob", "name": "report"}]),
        Value::Null,
        json!([{"kind": "HelmRelease", "name": "web"}, {"kind": "Kustomization", "name": "apps", "triggerReconcile": false}]),
    )
}

#[tokio::test]
async fn suspend_jobs_sets_spec_suspend_on_cronjobs_helm_releases_and_kustomizations() {
    let (cluster, mock) = cluster(
        jobs_spec(),
        vec![
            (200, cronjob("10", false)),
            (200, cronjob("11", true)),
            (200, helm_release("20", false)),
            (200, kustomization("30", false)),
            (200, helm_release("21", true)),
            (200, kustomization("31", true)),
        ],
    );

    assert_eq!(
        apply(&cluster, Action::SuspendJobs, 4).await.unwrap(),
        Progress::Done
    );

    let seen = mock.seen();
    assert_eq!(seen.len(), 6, "{seen:?}");
    seen[0].assert_get(CRON);
    let fenced = |rv: &str| json!({"resourceVersion": rv, "annotations": {"kubectl-failover.io/epoch": "4"}});
    seen[1].assert_merge_patch(
        CRON,
        json!({"metadata": fenced("10"), "spec": {"suspend": true}}),
    );
    seen[2].assert_get(HR);
    seen[3].assert_get(KS);
    seen[4].assert_merge_patch(
        HR,
        json!({"metadata": fenced("20"), "spec": {"suspend": true}}),
    );
    seen[5].assert_merge_patch(
        KS,
        json!({"metadata": fenced("30"), "spec": {"suspend": true}}),
    );
}

#[tokio::test]
async fn resume_jobs_asks_flux_for_a_reconcile_with_a_fresh_timestamp_where_the_ref_wants_one() {
    let at: DateTime<Utc> = "2026-12-05T17:30:00.123456789Z".parse().unwrap();
    let (cluster, mock) = cluster(
        jobs_spec(),
        vec![
            (200, cronjob("10", true)),
            (200, cronjob("11", false)),
            (200, helm_release("20", true)),
            (200, kustomization("30", true)),
            (200, helm_release("21", false)),
            (200, kustomization("31", false)),
        ],
    );
    let cluster = cluster.with_clock(Arc::new(ManualClock::starting_at(at)));

    assert_eq!(
        apply(&cluster, Action::ResumeJobs, 5).await.unwrap(),
        Progress::Done
    );

    let seen = mock.seen();
    assert_eq!(seen.len(), 6, "{seen:?}");
    seen[1].assert_merge_patch(
        CRON,
        json!({"metadata": {"resourceVersion": "10", "annotations": {"kubectl-failover.io/epoch": "5"}}, "spec": {"suspend": false}}),
    );
    seen[4].assert_merge_patch(
        HR,
        json!({
            "metadata": {"resourceVersion": "20", "annotations": {
                "kubectl-failover.io/epoch": "5",
                "reconcile.fluxcd.io/requestedAt": "2026-12-05T17:30:00.123456789Z",
            }},
            "spec": {"suspend": false},
        }),
    );
    // triggerReconcile: false resumes without asking for a reconcile.
    seen[5].assert_merge_patch(
        KS,
        json!({"metadata": {"resourceVersion": "30", "annotations": {"kubectl-failover.io/epoch": "5"}}, "spec": {"suspend": false}}),
    );
}

#[tokio::test]
async fn resuming_what_already_runs_asks_for_no_extra_reconcile_it_only_stamps_a_newer_epoch() {
    let (cluster, mock) = cluster(
        jobs_spec(),
        vec![
            (200, stamped(cronjob("10", false), "4")),
            (200, stamped(cronjob("11", false), "5")),
            (200, stamped(helm_release("20", false), "4")),
            (200, stamped(kustomization("30", false), "4")),
            (200, stamped(helm_release("21", false), "5")),
            (200, stamped(kustomization("31", false), "5")),
        ],
    );
    assert_eq!(
        apply(&cluster, Action::ResumeJobs, 5).await.unwrap(),
        Progress::Done
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), 6, "{seen:?}");
    // No requestedAt, no spec: Flux reconciles on a new generation or requestedAt, neither
    // of which an annotation-only patch makes.
    for (i, path, rv) in [(1, CRON, "10"), (4, HR, "20"), (5, KS, "30")] {
        seen[i].assert_merge_patch(
            path,
            json!({"metadata": {"resourceVersion": rv, "annotations": {"kubectl-failover.io/epoch": "5"}}}),
        );
    }

    // Applied again under the same epoch: reads only.
    let (cluster, mock) = super::cluster(
        jobs_spec(),
        vec![
            (200, stamped(cronjob("11", false), "5")),
            (200, stamped(helm_release("21", false), "5")),
            (200, stamped(kustomization("31", false), "5")),
        ],
    );
    assert_eq!(
        apply(&cluster, Action::ResumeJobs, 5).await.unwrap(),
        Progress::Done
    );
    let seen = mock.seen();
    assert!(seen.iter().all(|s| s.method == "GET"), "{seen:?}");
    assert_eq!(seen.len(), 3);
}
