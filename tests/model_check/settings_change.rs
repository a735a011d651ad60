//! A heartbeat timeout lowered (12 to 4 intervals) while the group runs, with the owner's link
//! cut at any point: through a FailoverGroup (`sync_spec` keeps the superseded settings until
//! the owner acknowledges them) no two clusters serve together; written into CONFIG directly,
//! the same configuration has a counterexample (the cut-off owner still serves under the old
//! window when the other takes over after the new one).

use super::properties::*;
use super::world::{Config, Kind, SettingsChange};
use super::{config, run};

/// Two clusters, one cut link (or crash), the change at time 1 or 2, on `kind`.
fn lowered(how: SettingsChange, kind: Kind) -> Config {
    Config {
        max_faults: 1,
        pauses: false,
        promotions: false,
        kind,
        settings_change: Some(how),
        ..config(2, 12)
    }
}

#[test]
fn a_heartbeat_timeout_lowered_through_the_failover_group_during_a_partition_keeps_one_server() {
    for kind in [Kind::Watchdog, Kind::Kube(super::kube::Fixes::ALL)] {
        let cfg = Config {
            expect: &[AUTOMATIC_COMPLETES, OWNER_FENCED, SETTINGS_ACKNOWLEDGED],
            ..lowered(SettingsChange::ThroughSpec, kind)
        };
        let run = run::check(&format!("settings lowered through the spec, {kind:?}"), cfg);
        run.checker.assert_properties();
    }
}

#[test]
fn a_heartbeat_timeout_lowered_in_config_directly_during_a_partition_lets_two_clusters_serve() {
    let cfg = lowered(SettingsChange::RawEdit, Kind::Watchdog);
    let run = run::find("settings lowered in CONFIG directly", cfg, ONE_SERVER);
    assert!(
        run.checker.discovery_text(ONE_SERVER).is_some(),
        "without the superseded settings the check must find two servers"
    );
}
