//! No log line, at any level, carries the AWS credentials: both controllers run with
//! recognisable fake ones (moto accepts any) and every module at `trace`, through start-up, a
//! planned failover and its heartbeats; then their whole output is searched for the secret key
//! and the session token.

use std::time::Duration;

use crate::e2e::expect;
use crate::e2e::fixtures::{self, Timings};
use crate::e2e::world::World;

const SECRET_KEY: &str = "kfoSecretKey0123456789abcdefghijklmnopqrs";
const SESSION_TOKEN: &str = "kfoSessionToken9876543210zyxwvutsrqponmlkjih";
const LIMIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_log_line_at_any_level_contains_the_secret_key_or_the_session_token() {
    let mut world = World::new("secrets", &["east", "west"], "east", &Timings::default()).await;
    for cluster in ["east", "west"] {
        let mut launch = world.launch(cluster);
        launch.set_env("AWS_ACCESS_KEY_ID", "AKIAKFOTESTFAKE00001");
        launch.set_env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        launch.set_env("AWS_SESSION_TOKEN", SESSION_TOKEN);
        launch.set_env("KUBECTL_FAILOVER_LOG", "trace");
        world.start_with(cluster, &launch);
    }
    expect::active(world.cluster("east"), LIMIT).await;
    expect::standby(world.cluster("west"), LIMIT).await;
    world
        .cluster("west")
        .apply(fixtures::failover("to-west", "west"));
    expect::owner(&world, "west", LIMIT).await;
    for cluster in ["east", "west"] {
        let log = world.process(cluster).output();
        assert!(
            log.lines().count() > 100,
            "{cluster} logged at trace: {} lines",
            log.lines().count()
        );
        for (what, secret) in [("secret key", SECRET_KEY), ("session token", SESSION_TOKEN)] {
            let leaks: Vec<&str> = log.lines().filter(|l| l.contains(secret)).take(3).collect();
            assert!(
                leaks.is_empty(),
                "{cluster} logged the {what}:\n{}",
                leaks.join("\n")
            );
        }
    }
}
