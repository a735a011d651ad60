//! `request_transition`: what a person's request writes, and every refusal.

use super::fixtures::*;
use crate::protocol::*;
use crate::store::*;

fn ask(target: &str, mode: FailoverMode) -> TransitionRequest {
    TransitionRequest {
        target: target.into(),
        mode,
        force: false,
        reason: "maintenance".into(),
        initiator: "alice".into(),
        id: "fo-1".into(),
        wall_now: wall(7),
        has_volume_replications: false,
        automatic: false,
    }
}

#[test]
fn a_request_writes_a_requested_transition_with_the_owner_as_source() {
    let c = request_transition(&snap("a", 1), &ask("b", FailoverMode::Uptime)).unwrap();
    let t = c.transition.unwrap();
    assert_eq!(
        (t.source.as_str(), t.target.as_str(), t.phase),
        ("a", "b", Phase::Requested)
    );
    assert_eq!(
        (t.mode, t.force, t.automatic),
        (FailoverMode::Uptime, false, false)
    );
    assert_eq!((t.requested_at, c.last_updated), (wall(7), Some(wall(7))));
    assert_eq!((c.owner_cluster.as_str(), c.version), ("a", 5));
}

#[test]
fn a_request_for_the_owner_is_an_idempotent_no_op() {
    let e = request_transition(&snap("b", 1), &ask("b", FailoverMode::Consistency)).unwrap_err();
    assert!(e.is_no_op());
    assert_eq!(
        e.to_string(),
        "b is already primary for shop/web; nothing to do"
    );
}

#[test]
fn an_unknown_target_is_refused_naming_the_known_clusters() {
    let e = request_transition(&snap("a", 1), &ask("x", FailoverMode::Consistency)).unwrap_err();
    assert!(!e.is_no_op());
    assert!(
        e.to_string().contains("\"x\" is not part of shop/web"),
        "{e}"
    );
    assert!(e.to_string().contains("a, b, c"), "{e}");
}

#[test]
fn a_request_during_a_transition_is_refused() {
    let sn = moving(FailoverMode::Consistency, Phase::Requested);
    let e = request_transition(&sn, &ask("c", FailoverMode::Consistency)).unwrap_err();
    assert!(e.to_string().contains("t1: a -> b, phase REQUESTED"), "{e}");
}

#[test]
fn uptime_with_volume_replications_is_refused_unless_forced() {
    let mut r = ask("b", FailoverMode::Uptime);
    r.has_volume_replications = true;
    let e = request_transition(&snap("a", 1), &r).unwrap_err();
    assert_eq!(e, Refusal::UptimeWithVolumes { group: group() });
    r.force = true;
    assert!(request_transition(&snap("a", 1), &r).is_ok());
    r.mode = FailoverMode::Consistency;
    r.force = false;
    assert!(request_transition(&snap("a", 1), &r).is_ok());
}

#[test]
fn a_request_on_invalid_timeouts_is_refused() {
    let mut sn = snap("a", 1);
    sn.config.timeouts.heartbeat = s(10).into();
    let e = request_transition(&sn, &ask("b", FailoverMode::Consistency)).unwrap_err();
    assert!(matches!(e, Refusal::InvalidTimings(_)), "{e}");
}
