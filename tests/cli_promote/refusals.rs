//! Every way `promote` says no: each exits with its documented code, says why and what to do,
//! and leaves CONFIG exactly as it was.

use super::*;
use kubectl_failover::store::{LockOutcome, LockRequest};
use std::time::Duration;

async fn unchanged(store: &DynamoStore, before: &GroupConfig) {
    let after = config(store, &before.group).await;
    assert_eq!(&after, before, "CONFIG must not change on a refusal");
}

#[tokio::test]
async fn an_unknown_target_exits_3_naming_the_clusters_of_the_group() {
    let store = east_west().await;
    let before = config(&store, &gid("shop", "web")).await;
    let run = cli(
        store.table(),
        &["promote", "shop/web", "--to", "north", "--yes"],
    )
    .await;
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("cluster \"north\" is not part of shop/web")
            && run.stderr.contains("east, west"),
        "{run}"
    );
    assert!(run.stdout.contains("refused:"), "{run}");
    unchanged(&store, &before).await;
}

#[tokio::test]
async fn the_current_owner_as_target_is_already_primary_and_exits_0() {
    let store = east_west().await;
    let before = config(&store, &gid("shop", "web")).await;
    let run = cli(
        store.table(),
        &["promote", "shop/web", "--to", "east", "--yes"],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("east is already primary"), "{run}");
    unchanged(&store, &before).await;
}

#[tokio::test]
async fn a_transition_in_flight_exits_3_naming_its_id_direction_and_phase() {
    let store = east_west().await;
    let first = cli(
        store.table(),
        &["promote", "shop/web", "--to", "west", "--yes"],
    )
    .await;
    assert_eq!(first.code, 0, "{first}");
    let before = config(&store, &gid("shop", "web")).await;
    let id = before.transition.clone().expect("in flight").id;
    let again = cli(
        store.table(),
        &["promote", "shop/web", "--to", "west", "--yes"],
    )
    .await;
    assert_eq!(again.code, 3, "{again}");
    assert!(
        again.stderr.contains(&id)
            && again.stderr.contains("east -> west")
            && again.stderr.contains("phase REQUESTED"),
        "{again}"
    );
    unchanged(&store, &before).await;
}

#[tokio::test]
async fn a_held_lock_exits_3_naming_holder_reason_and_expiry() {
    let store = east_west().await;
    let web = gid("shop", "web");
    let request = LockRequest {
        holder: "west".into(),
        reason: "rolling back a failover".into(),
        lease: Duration::from_secs(600),
        now: Utc::now(),
    };
    assert!(matches!(
        store.acquire_lock(OP, &web, &request).await.unwrap(),
        LockOutcome::Acquired(_)
    ));
    let before = config(&store, &web).await;
    let run = cli(
        store.table(),
        &["promote", "shop/web", "--to", "west", "--dry-run"],
    )
    .await;
    assert_eq!(run.code, 3, "{run}");
    assert!(
        run.stderr
            .contains("locked by west (rolling back a failover)")
            && run.stderr.contains("lease expires")
            && (run.stderr.contains("(in 9m") || run.stderr.contains("(in 10m")),
        "{run}"
    );
    unchanged(&store, &before).await;
}

#[tokio::test]
async fn a_group_whose_timeouts_cannot_be_safe_is_refused_with_the_fix() {
    let store = east_west().await;
    let web = gid("shop", "web");
    let mut cfg = config(&store, &web).await;
    cfg.timeouts.heartbeat = Duration::from_secs(1).into();
    let _ = store.update_config(cfg.version, &cfg).await.unwrap();
    let before = config(&store, &web).await;
    let run = cli(
        store.table(),
        &["promote", "shop/web", "--to", "west", "--yes"],
    )
    .await;
    assert_eq!(run.code, 3, "{run}");
    assert!(run.stderr.contains("shop/web"), "{run}");
    assert!(run.stderr.contains("heartbeat"), "{run}");
    unchanged(&store, &before).await;
}

#[tokio::test]
async fn a_missing_group_exits_4_and_writes_nothing_for_the_others() {
    let store = east_west().await;
    let before = config(&store, &gid("shop", "web")).await;
    let run = cli(
        store.table(),
        &["promote", "shop/web", "shop/nope", "--to", "west", "--yes"],
    )
    .await;
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stderr.contains("shop/nope"), "{run}");
    unchanged(&store, &before).await;
}

#[tokio::test]
async fn bad_arguments_exit_2_before_anything_is_read() {
    let store = east_west().await;
    for (args, needle) in [
        (&["promote", "--to", "west"][..], "--all-from"),
        (&["promote", "shop/web"][..], "--to"),
        (
            &["promote", "-n", "blog", "shop/web", "--to", "west"][..],
            "-n blog web",
        ),
        (&["promote", "shop/web", "--to", "we#st"][..], "we#st"),
        (
            &["promote", "shop/web", "--to", "west", "-o", "json"][..],
            "--yes",
        ),
        (
            &["promote", "shop/web", "--to", "west", "--timeout", "soon"][..],
            "soon",
        ),
    ] {
        let run = cli(store.table(), args).await;
        assert_eq!(run.code, 2, "{args:?}: {run}");
        assert!(run.stderr.contains(needle), "{args:?}: {run}");
    }
}
