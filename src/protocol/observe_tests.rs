//! Tests of `Observations`: silence, ERROR time, CONFIG version, lock lease and handovers, all
//! on the observer's own clock.

use super::*;
use crate::protocol::tests::fixtures::{config, lock, s, snap, status};
use crate::store::{FailoverMode, Phase};

#[test]
fn a_changing_heartbeat_restarts_the_silence_clock() {
    let mut o = Observations::default();
    o.observe(&snap("a", 1), false, s(0));
    o.observe(&snap("a", 1), false, s(30));
    assert_eq!(o.heartbeat_unchanged_for("a", s(30)), s(30));
    o.observe(&snap("a", 2), false, s(35));
    assert_eq!(o.heartbeat_unchanged_for("a", s(50)), s(15));
}

#[test]
fn silence_is_counted_from_the_first_observation_never_before() {
    let mut o = Observations::default();
    o.observe(&snap("a", 1), false, s(100));
    assert_eq!(o.heartbeat_unchanged_for("a", s(100)), s(0));
    assert_eq!(o.observed_for(s(130)), s(30));
}

#[test]
fn a_cluster_never_observed_counts_no_silence() {
    let o = Observations::default();
    assert_eq!(o.heartbeat_unchanged_for("z", s(1000)), s(0));
    assert_eq!(o.beat("z"), None);
}

#[test]
fn an_absent_record_is_a_value_that_can_stay_unchanged() {
    let mut sn = snap("a", 1);
    let mut o = Observations::default();
    o.observe(&sn, false, s(0));
    sn.clusters.retain(|c| c.cluster_name != "a");
    o.observe(&sn, false, s(10));
    assert_eq!(o.beat("a"), Some(&Beat::Absent));
    o.observe(&sn, false, s(60));
    assert_eq!(o.heartbeat_unchanged_for("a", s(60)), s(50));
}

#[test]
fn a_record_without_a_sequence_is_judged_by_its_timestamp_text() {
    let mut sn = snap("a", 1);
    sn.clusters[0].heartbeat_seq = None;
    let mut o = Observations::default();
    o.observe(&sn, false, s(0));
    assert!(matches!(o.beat("a"), Some(Beat::Stamp(Some(_)))));
    o.observe(&sn, false, s(20));
    assert_eq!(o.heartbeat_unchanged_for("a", s(20)), s(20));
    sn.clusters[0].last_heartbeat = Some(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
    o.observe(&sn, false, s(25));
    assert_eq!(o.heartbeat_unchanged_for("a", s(25)), s(0));
}

#[test]
fn error_time_restarts_when_health_recovers() {
    let mut sn = snap("a", 1);
    sn.clusters[0].health = Health::Error;
    let mut o = Observations::default();
    o.observe(&sn, false, s(0));
    o.observe(&sn, false, s(20));
    assert_eq!(o.error_for("a", s(20)), Some(s(20)));
    sn.clusters[0].health = Health::Degraded;
    o.observe(&sn, false, s(25));
    assert_eq!(o.error_for("a", s(25)), None);
    sn.clusters[0].health = Health::Error;
    o.observe(&sn, false, s(30));
    assert_eq!(o.error_for("a", s(40)), Some(s(10)));
}

#[test]
fn the_config_version_is_timed_only_for_the_version_asked_about() {
    let mut sn = snap("a", 1);
    let mut o = Observations::default();
    o.observe(&sn, false, s(0));
    o.observe(&sn, false, s(50));
    assert_eq!(o.version_unchanged_for(5, s(50)), s(50));
    assert_eq!(o.version_unchanged_for(6, s(50)), s(0));
    sn.config.version = 6;
    o.observe(&sn, false, s(60));
    assert_eq!(o.version_unchanged_for(6, s(70)), s(10));
}

#[test]
fn the_lock_observation_restarts_after_a_read_without_it() {
    let mut sn = snap("a", 1);
    let l = lock("b", "tok", 100);
    sn.lock = Some(l.clone());
    let mut o = Observations::default();
    o.observe(&sn, true, s(0));
    o.observe(&sn, true, s(20));
    assert_eq!(o.lock_unchanged_for(&l, s(20)), Some(s(20)));
    let mut unread = sn.clone();
    unread.lock = None;
    o.observe(&unread, false, s(25));
    assert!(!o.lock_read());
    assert_eq!(o.lock_unchanged_for(&l, s(25)), None);
    o.observe(&sn, true, s(30));
    assert_eq!(o.lock_unchanged_for(&l, s(40)), Some(s(10)));
}

#[test]
fn a_renewal_is_a_new_lease_to_observe() {
    let mut sn = snap("a", 1);
    sn.lock = Some(lock("b", "tok", 100));
    let mut o = Observations::default();
    o.observe(&sn, true, s(0));
    let renewed = lock("b", "tok", 130);
    sn.lock = Some(renewed.clone());
    o.observe(&sn, true, s(30));
    assert_eq!(o.lock_unchanged_for(&renewed, s(40)), Some(s(10)));
    assert_eq!(o.lock_unchanged_for(&lock("b", "tok", 100), s(40)), None);
}

#[test]
fn handovers_are_ownership_changes_and_ended_transitions_but_not_the_first_read() {
    let mut o = Observations::default();
    let mut sn = snap("a", 1);
    o.observe(&sn, false, s(0));
    assert_eq!(o.since_handover(s(10)), None);
    sn.config.transition = Some(crate::protocol::tests::fixtures::transition(
        "a",
        "b",
        FailoverMode::Consistency,
        Phase::Requested,
    ));
    o.observe(&sn, false, s(10));
    assert_eq!(o.since_handover(s(10)), None);
    sn.config.transition = None;
    o.observe(&sn, false, s(20));
    assert_eq!(o.since_handover(s(25)), Some(s(5)));
    sn.config = config("b");
    o.observe(&sn, false, s(40));
    assert_eq!(o.since_handover(s(40)), Some(s(0)));
}

#[test]
fn a_clock_that_goes_back_is_treated_as_standing_still() {
    let mut o = Observations::default();
    o.observe(&snap("a", 1), false, s(50));
    o.observe(&snap("a", 2), false, s(10));
    assert_eq!(o.heartbeat_unchanged_for("a", s(60)), s(10));
}

#[test]
fn clusters_named_by_config_are_tracked_even_without_records() {
    let mut sn = snap("z", 1);
    sn.clusters = vec![status("b", 1)];
    let mut o = Observations::default();
    o.observe(&sn, false, s(0));
    assert_eq!(o.beat("z"), Some(&Beat::Absent));
}
