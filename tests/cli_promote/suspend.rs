//! `suspend` and `resume` through the binary: the flag and reason land in CONFIG, `status`
//! shows them, repeating is a reported no-op, and a missing reason or group is refused.

use super::*;

#[tokio::test]
async fn suspend_then_resume_round_trips_through_config_and_status() {
    let store = east_west().await;
    let web = gid("shop", "web");
    let run = cli(
        store.table(),
        &["suspend", "shop/web", "--reason", "db migration"],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stdout
            .contains("automatic failover of shop/web is suspended (db migration)"),
        "{run}"
    );
    let cfg = config(&store, &web).await;
    assert!(cfg.suspended);
    assert_eq!(cfg.suspension_reason.as_deref(), Some("db migration"));
    let status = cli(store.table(), &["status", "shop/web"]).await;
    assert!(
        status.stdout.contains("Suspended: yes (db migration)"),
        "{status}"
    );

    let again = cli(
        store.table(),
        &["suspend", "-n", "shop", "web", "--reason", "db migration"],
    )
    .await;
    assert_eq!(again.code, 0, "{again}");
    assert!(again.stdout.contains("was already suspended"), "{again}");
    assert_eq!(config(&store, &web).await.version, cfg.version, "no write");

    let resumed = cli(store.table(), &["resume", "shop/web", "-o", "json"]).await;
    assert_eq!(resumed.code, 0, "{resumed}");
    let doc: serde_json::Value = serde_json::from_str(&resumed.stdout).expect(&resumed.stdout);
    assert_eq!(doc["groups"][0]["outcome"], "changed");
    assert_eq!(doc["groups"][0]["suspended"], false);
    let cfg = config(&store, &web).await;
    assert!(!cfg.suspended && cfg.suspension_reason.is_none());
}

#[tokio::test]
async fn a_suspended_group_can_still_be_promoted_by_a_person() {
    let store = east_west().await;
    let run = cli(
        store.table(),
        &["suspend", "shop/web", "--reason", "freeze"],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    let run = cli(
        store.table(),
        &["promote", "shop/web", "--to", "west", "--yes"],
    )
    .await;
    assert_eq!(run.code, 0, "{run}");
    assert!(run.stdout.contains("automatic failover suspended"), "{run}");
    assert!(
        config(&store, &gid("shop", "web"))
            .await
            .transition
            .is_some()
    );
}

#[tokio::test]
async fn suspend_needs_a_reason_and_an_existing_group() {
    let store = east_west().await;
    let run = cli(store.table(), &["suspend", "shop/web"]).await;
    assert_eq!(run.code, 2, "{run}");
    assert!(run.stderr.contains("--reason"), "{run}");
    let run = cli(store.table(), &["suspend", "shop/web", "--reason", "  "]).await;
    assert_eq!(run.code, 2, "{run}");
    let run = cli(store.table(), &["resume", "shop/nope"]).await;
    assert_eq!(run.code, 4, "{run}");
    assert!(run.stderr.contains("shop/nope"), "{run}");
    assert!(!config(&store, &gid("shop", "web")).await.suspended);
}
