//! The drill's verdicts and its renderers (table, Markdown, JSON).

use super::tests::*;
use super::*;
use crate::store::Health;
use std::time::Duration;

#[test]
fn two_successful_moves_within_the_bound_pass() {
    let r = passing_report();
    assert_eq!(r.verdict.result, Outcome::Pass, "{:#?}", r.verdict);
    assert!(
        r.verdict.summary.contains("3s out, 2s back"),
        "{}",
        r.verdict.summary
    );
    assert_eq!(r.exit_code(), crate::error::ExitCode::Ok);
}

#[test]
fn a_forced_a_slow_a_rolled_back_or_an_unfinished_move_fails_with_its_reason() {
    let judge = |out: MoveReport| {
        let mut r = passing_report();
        r.moves[0] = out;
        r.finish(t0());
        r
    };
    let forced = record("drill-west-1", "FORCED_COMPLETE", None);
    let r = judge(a_move(Leg::Out, MoveEnd::Moved, Some(&forced)));
    assert_eq!(r.verdict.result, Outcome::Fail);
    assert!(
        r.verdict.reasons[0].contains("never acknowledged"),
        "{:?}",
        r.verdict
    );

    let slow = record("drill-west-1", "SUCCESS", Some(70));
    let r = judge(a_move(Leg::Out, MoveEnd::Moved, Some(&slow)));
    assert!(
        r.verdict.reasons[0].contains("unserved for 70s, longer than the bound 65s"),
        "{:?}",
        r.verdict
    );

    let rolled = record("drill-west-1", "ROLLED_BACK", None);
    let r = judge(a_move(Leg::Out, MoveEnd::NotMoved, Some(&rolled)));
    assert!(
        r.verdict.reasons[0].contains("ended ROLLED_BACK"),
        "{:?}",
        r.verdict
    );
    assert_eq!(r.exit_code(), crate::error::ExitCode::Conflict);

    let r = judge(a_move(Leg::Out, MoveEnd::TimedOut, None));
    assert_eq!(r.exit_code(), crate::error::ExitCode::Timeout);
    assert!(r.verdict.reasons[0].contains("timeout"), "{:?}", r.verdict);
}

#[test]
fn a_failed_check_refuses_and_a_dry_run_only_plans() {
    let mut r = DrillReport::new(plan(Duration::ZERO), false, t0());
    let mut s = snapshot(Health::Ok);
    s.config.suspended = true;
    r.checks = assess(&s, "west", &PromoteCheck::Go);
    r.finish(t0());
    assert_eq!(r.verdict.result, Outcome::Refused);
    assert!(
        r.verdict.reasons[0].starts_with("shop/web not suspended:"),
        "{:?}",
        r.verdict
    );
    assert_eq!(r.exit_code(), crate::error::ExitCode::Conflict);

    let mut r = DrillReport::new(plan(Duration::ZERO), true, t0());
    r.checks = assess(&snapshot(Health::Ok), "west", &PromoteCheck::Go);
    r.finish(t0());
    assert_eq!(r.verdict.result, Outcome::Planned);
    assert_eq!(r.exit_code(), crate::error::ExitCode::Ok);

    let mut r = DrillReport::new(plan(Duration::ZERO), false, t0());
    r.interrupted = Some("Ctrl-C before the first move: nothing was written".into());
    r.finish(t0());
    assert_eq!(r.verdict.result, Outcome::Fail);
    assert!(
        r.verdict.summary.contains("nothing was written"),
        "{:?}",
        r.verdict
    );
}

#[test]
fn the_table_report_lists_checks_moves_phases_and_the_verdict() {
    let text = render::table(&passing_report());
    assert!(text.starts_with("Failover drill: PASS\n"), "{text}");
    assert!(
        text.contains("  route     east -> west -> east, CONSISTENCY"),
        "{text}"
    );
    assert!(
        text.contains("  hold      5s on west (planned 5s)"),
        "{text}"
    );
    assert!(text.contains("\nChecks\n  GROUP      CHECK"), "{text}");
    let out = text
        .lines()
        .find(|l| l.contains("east -> west   out"))
        .unwrap_or_else(|| panic!("no out row:\n{text}"));
    assert!(
        out.contains("drill-west-1   moved    SUCCESS   4.9s   3s"),
        "{out}"
    );
    assert!(
        text.contains(
            "shop/web east -> west: REQUESTED 0.5s, SOURCE_DEACTIVATING 2s, TARGET_ACTIVATING 2.3s"
        ),
        "{text}"
    );
    assert!(text.contains("\nVerdict: PASS: "), "{text}");
}

#[test]
fn the_markdown_report_is_tables_and_the_json_report_every_field() {
    let r = passing_report();
    let md = render::markdown(&r);
    assert!(md.starts_with("## Failover drill: PASS\n"), "{md}");
    assert!(md.contains("| Group | Move | Leg | Transition | Result | Status | Took | Downtime | Bound | Phases |\n|---|---|---|---|---|---|---|---|---|---|\n"), "{md}");
    assert!(
        md.contains(
            "| shop/web | east -> west | out | `drill-west-1` | moved | SUCCESS | 4.9s | 3s | 65s |"
        ),
        "{md}"
    );
    assert!(md.contains("**Verdict: PASS.**"), "{md}");

    let doc: serde_json::Value = serde_json::from_str(&render::json(&r).unwrap()).unwrap();
    assert_eq!(doc["verdict"]["result"], "PASS");
    assert_eq!(doc["plan"]["to"], "west");
    assert_eq!(doc["plan"]["groups"][0]["boundSeconds"], 65.0);
    assert_eq!(doc["moves"][0]["leg"], "out");
    assert_eq!(doc["moves"][0]["result"], "moved");
    assert_eq!(doc["moves"][0]["phases"][1]["phase"], "SOURCE_DEACTIVATING");
    assert_eq!(doc["moves"][0]["phases"][1]["seconds"], 2.0);
    assert_eq!(doc["moves"][1]["downtime"]["seconds"], 2.0);
    assert_eq!(doc["moves"][1]["downtime"]["from"], "history");
    assert_eq!(doc["heldSeconds"], 5.0);
    assert_eq!(doc["checks"][1]["check"], "not suspended");
    assert_eq!(doc["dryRun"], false);
}
