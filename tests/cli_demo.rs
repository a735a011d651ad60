//! `demo` end to end: the real binary, real time, short timings so CI stays fast. Every JSON
//! line is parsed; the failover, its timing, the self-check and (on DynamoDB) the table's
//! records are checked from the outside.

mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use support::moto;

/// The fast timings of every run here: 500ms heartbeats, 2s timeout.
const FAST: [&str; 4] = ["--heartbeat-interval", "500ms", "--heartbeat-timeout", "2s"];
const KILL_AT: f64 = 3.0;
const TIMEOUT: f64 = 2.0;
const INTERVAL: f64 = 0.5;
/// Scheduling slack on a loaded 2-core CI machine.
const SLACK: f64 = 1.0;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn demo(args: &[&str], env: &[(&'static str, String)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-failover"))
        .arg("demo")
        .args(args)
        .env_remove("AWS_ENDPOINT")
        .env_remove("DYNAMODB_TABLE_NAME")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run kubectl-failover demo");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Every stdout line as JSON, each with the four common fields.
fn lines(run: &Run) -> Vec<Value> {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for l in &lines {
        for key in ["at", "cluster", "event", "group"] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
        assert!(l["at"].is_f64() || l["at"].is_u64(), "{l}");
    }
    assert_eq!(
        lines.first().map(|l| &l["event"]),
        Some(&Value::from("demo_started"))
    );
    assert_eq!(
        lines.last().map(|l| &l["event"]),
        Some(&Value::from("summary"))
    );
    lines
}

fn events<'a>(lines: &'a [Value], event: &str, group: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|l| l["event"] == event && l["group"] == group)
        .collect()
}

/// The stateful group's name in this run (`demo/app-1`, or `demo-<secs>/app-1` on DynamoDB).
fn stateful_group(lines: &[Value]) -> String {
    let summary = lines.last().expect("summary");
    let group = summary["groups"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["stateful"] == true))
        .expect("a stateful group in the summary");
    group["group"].as_str().expect("group name").to_string()
}

/// Replays the serving lines of `group`: at no instant do two clusters serve it. At equal
/// times a stop counts before a start (a hand-over at one instant is not an overlap).
fn assert_never_two_serving(lines: &[Value], group: &str) {
    let mut changes: Vec<(f64, bool, String)> = lines
        .iter()
        .filter(|l| l["group"] == group)
        .filter_map(|l| {
            let start = match l["event"].as_str()? {
                "serving_started" => true,
                "serving_stopped" => false,
                _ => return None,
            };
            Some((l["at"].as_f64()?, start, l["cluster"].as_str()?.to_string()))
        })
        .collect();
    changes.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut serving = BTreeSet::new();
    for (at, start, cluster) in changes {
        if start {
            serving.insert(cluster);
        } else {
            serving.remove(&cluster);
        }
        assert!(serving.len() <= 1, "at {at}s {serving:?} all serve {group}");
    }
}

/// The automatic failover after `--kill cluster-1@3s`: returns the target.
fn assert_automatic_failover(lines: &[Value]) -> String {
    let group = stateful_group(lines);
    let kill = lines
        .iter()
        .find(|l| l["event"] == "kill")
        .expect("kill line");
    assert_eq!(kill["cluster"], "cluster-1");
    let started = events(lines, "failover_started", &group);
    let started = started
        .first()
        .expect("failover_started for the stateful group");
    assert_eq!(
        (&started["source"], &started["automatic"]),
        (&Value::from("cluster-1"), &Value::from(true))
    );
    let at = started["at"].as_f64().expect("at");
    let latest = KILL_AT + TIMEOUT + INTERVAL + SLACK;
    assert!(
        at > KILL_AT && at <= latest,
        "failover started at {at}s, kill at {KILL_AT}s, limit {latest}s"
    );

    let completed = events(lines, "failover_completed", &group);
    assert_eq!(completed.len(), 1, "{completed:?}");
    let done = completed[0];
    let target = done["target"].as_str().expect("target").to_string();
    assert_ne!(target, "cluster-1");
    assert_eq!(done["source"], "cluster-1");
    assert_eq!(done["mode"], "CONSISTENCY");
    assert_eq!(done["automatic"], true);
    // The killed agent never acknowledges, so the flip happens on observed silence: the
    // protocol records that as FORCED_COMPLETE (docs/protocol.md, Decisions 7).
    assert_eq!(done["outcome"], "FORCED_COMPLETE", "{done}");
    assert!(done["duration"].as_f64().is_some_and(|d| d > 0.0), "{done}");

    let roles = events(lines, "role_changed", &group);
    assert!(
        roles.iter().any(|r| r["cluster"] == target.as_str()
            && r["role"] == "PRIMARY"
            && r["epoch"].as_u64() > Some(1)),
        "{roles:?}"
    );
    assert_never_two_serving(lines, &group);
    let summary = lines.last().expect("summary");
    assert_eq!(summary["verdict"], "consistent");
    let end = summary["groups"]
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["group"] == group.as_str()))
        .expect("group in summary");
    assert_eq!(end["owner"], target.as_str());
    let served = events(lines, "serving_started", &group)
        .iter()
        .any(|s| s["cluster"] == target.as_str() && s["at"].as_f64() > Some(KILL_AT));
    assert!(served, "{target} never served after the failover");
    // The target serves at the end, unless the store stalled for longer than the serve window
    // (1 s at these timings; moto on a loaded CI machine) and it fenced itself, as it must, too
    // late in the run to finish its activation again.
    if end["serving"] != serde_json::json!([target]) {
        assert_eq!(end["serving"], serde_json::json!([]), "{end}");
        let done_at = done["at"].as_f64().expect("at");
        let fenced = roles.iter().any(|r| {
            r["cluster"] == target.as_str()
                && r["role"] == "FENCED"
                && r["at"].as_f64() > Some(done_at)
        });
        let tail: Vec<String> = lines.iter().rev().take(30).map(Value::to_string).collect();
        assert!(
            fenced,
            "{target} owns the group but does not serve at the end, and never fenced itself: {tail:#?}"
        );
    }
    target
}

fn kill_run_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--headless",
        "-o",
        "json",
        "--kill",
        "cluster-1@3s",
        "--duration",
        "15s",
    ];
    args.extend(FAST);
    args.extend(extra);
    args
}

#[test]
fn killing_the_owner_fails_over_automatically_on_the_embedded_store() {
    let run = demo(&kill_run_args(&[]), &[]);
    assert_automatic_failover(&lines(&run));
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_owner_fails_over_automatically_on_dynamodb_and_the_table_says_so() {
    let table = moto::unique_table_name("demo");
    let env = moto::binary_env();
    let args = kill_run_args(&[
        "--store",
        "dynamodb",
        "--table-name",
        &table,
        "--operator-id",
        "demo-op",
    ])
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    let run = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        demo(&args, &env)
    })
    .await
    .expect("join");
    let lines = lines(&run);
    let target = assert_automatic_failover(&lines);

    let group = stateful_group(&lines);
    let (namespace, name) = group.split_once('/').expect("namespace/name");
    assert!(
        namespace.starts_with("demo-"),
        "per-run namespace: {namespace}"
    );
    let pk = format!("GROUP#demo-op#{namespace}#{name}");
    let client = moto::sdk_client().await;
    let config = client
        .get_item()
        .table_name(&table)
        .key("PK", AttributeValue::S(pk.clone()))
        .key("SK", AttributeValue::S("CONFIG".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get CONFIG")
        .item
        .expect("CONFIG exists");
    assert_eq!(
        config.get("ownerCluster"),
        Some(&AttributeValue::S(target.clone()))
    );
    assert_eq!(
        config.get("previousOwner"),
        Some(&AttributeValue::S("cluster-1".into()))
    );
    let history = client
        .query()
        .table_name(&table)
        .key_condition_expression("PK = :pk AND begins_with(SK, :h)")
        .expression_attribute_values(":pk", AttributeValue::S(pk))
        .expression_attribute_values(":h", AttributeValue::S("HISTORY#".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("query history")
        .items
        .unwrap_or_default();
    assert_eq!(history.len(), 1, "{history:?}");
    let h = &history[0];
    assert_eq!(
        h.get("sourceCluster"),
        Some(&AttributeValue::S("cluster-1".into()))
    );
    assert_eq!(h.get("targetCluster"), Some(&AttributeValue::S(target)));
    assert_eq!(
        h.get("status"),
        Some(&AttributeValue::S("FORCED_COMPLETE".into()))
    );
}

#[test]
fn a_scripted_promotion_completes_a_planned_failover() {
    let mut args = vec![
        "--headless",
        "-o",
        "json",
        "--promote",
        "app-1:cluster-2@4s",
        "--duration",
        "12s",
    ];
    args.extend(FAST);
    let lines = lines(&demo(&args, &[]));
    let group = stateful_group(&lines);
    let promote = lines
        .iter()
        .find(|l| l["event"] == "promote")
        .expect("promote line");
    assert_eq!(
        (&promote["accepted"], &promote["target"]),
        (&Value::from(true), &Value::from("cluster-2"))
    );
    let completed = events(&lines, "failover_completed", &group);
    assert_eq!(completed.len(), 1, "{completed:?}");
    let done = completed[0];
    assert_eq!(
        (&done["source"], &done["target"]),
        (&Value::from("cluster-1"), &Value::from("cluster-2"))
    );
    assert_eq!(
        (&done["automatic"], &done["outcome"]),
        (&Value::from(false), &Value::from("SUCCESS"))
    );
    assert!(
        done["downtime"].as_f64().is_some(),
        "the source acknowledged, so downtime is known: {done}"
    );
    assert_never_two_serving(&lines, &group);
    assert_eq!(lines.last().expect("summary")["verdict"], "consistent");
}

#[test]
fn without_a_script_the_tour_runs_and_the_text_timeline_says_so() {
    let run = demo(&["--headless", "--duration", "2s"], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(first.contains("Built-in tour"), "{first}");
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains("cluster-1  demo/app-1  PRIMARY (epoch 1)")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Summary after"), "{}", run.stdout);
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let cases: [(&[&str], &[&str]); 6] = [
        (&["--kill", "cluster-9@3s"], &["--kill", "cluster-9"]),
        (&["--kill", "cluster-1"], &["--kill", "CLUSTER@TIME"]),
        (
            &["--partition", "cluster-1@5s..2s"],
            &["--partition", "end must come after"],
        ),
        (
            &["--promote", "app-7:cluster-2@1s"],
            &["--promote", "app-7"],
        ),
        (
            &["--heartbeat-interval", "1s", "--heartbeat-timeout", "3s"],
            &["--heartbeat-timeout", "4 x"],
        ),
        (&["-o", "yaml"], &["--output"]),
    ];
    for (args, wanted) in cases {
        let run = demo(args, &[]);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        for w in wanted {
            assert!(
                run.stderr.contains(w),
                "{args:?}: {w:?} missing in {}",
                run.stderr
            );
        }
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
}

#[test]
fn without_self_fencing_a_partitioned_owner_keeps_serving_and_the_run_fails_its_check() {
    let mut args = vec![
        "--headless",
        "-o",
        "json",
        "--groups",
        "1",
        "--partition",
        "cluster-1@3s..30s",
        "--no-self-fencing",
        "--duration",
        "10s",
    ];
    args.extend(FAST);
    let run = demo(&args, &[]);
    assert_eq!(
        run.code, 3,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.contains("invariant broken"), "{}", run.stderr);
    assert!(
        run.stderr.contains("cluster-1 and cluster-2"),
        "{}",
        run.stderr
    );
    let summary: Value =
        serde_json::from_str(run.stdout.lines().last().unwrap_or_default()).expect("summary line");
    assert_ne!(summary["verdict"], "consistent", "{summary}");
}
