//! The alerts under Prometheus's own rule engine: `promtool check rules` on the PrometheusRule's
//! groups (expressions, `for`, label and annotation templates), then `promtool test rules` on
//! tests/monitoring/rules.test.yaml, which feeds each alert a series that must make it fire (not
//! earlier than its threshold and `for` allow) and one that must not, and on
//! tests/monitoring/annotations.test.yaml, which pins how two alerts read once their templates
//! are rendered. promtool is the real Prometheus, built by scripts/promtool.sh; `KFO_PROMTOOL`
//! names the binary.

use super::*;
use std::path::PathBuf;
use std::process::Command;

const UNIT_TESTS: &str = "tests/monitoring/rules.test.yaml";
const ANNOTATION_TESTS: &str = "tests/monitoring/annotations.test.yaml";

/// `KFO_PROMTOOL`, else what `scripts/promtool.sh --check` prints; the error says how to build it.
fn promtool() -> Result<PathBuf, String> {
    if let Ok(path) = std::env::var("KFO_PROMTOOL")
        && !path.trim().is_empty()
    {
        return Ok(PathBuf::from(path));
    }
    let script = Path::new(ROOT).join("scripts/promtool.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--check")
        .output()
        .map_err(|e| format!("run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "promtool is not built: {}run ./scripts/promtool.sh (./scripts/test.sh does) or set KFO_PROMTOOL",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// The PrometheusRule's `spec` (a Prometheus rule file: `groups`), with or without annotations.
/// JSON is YAML, so promtool reads it as written.
fn rule_file(with_annotations: bool) -> String {
    let mut spec = yaml(RULES)["spec"].clone();
    if !with_annotations {
        for group in spec["groups"].as_array_mut().expect("spec.groups") {
            for rule in group["rules"].as_array_mut().expect("rules") {
                if let Some(rule) = rule.as_object_mut() {
                    rule.remove("annotations");
                }
            }
        }
    }
    serde_json::to_string_pretty(&spec).expect("a JSON value serializes")
}

fn run(promtool: &Path, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(promtool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", promtool.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn every_alert_fires_on_its_breaking_series_and_stays_silent_on_healthy_ones_under_promtool() {
    let promtool = promtool().unwrap_or_else(|e| panic!("{e}"));
    let dir = std::env::temp_dir().join(format!("kfo-promtool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    std::fs::write(dir.join("rules-full.yaml"), rule_file(true)).expect("write rules");
    std::fs::write(dir.join("rules.yaml"), rule_file(false)).expect("write rules");
    std::fs::write(dir.join("rules.test.yaml"), read(UNIT_TESTS)).expect("write tests");
    std::fs::write(dir.join("annotations.test.yaml"), read(ANNOTATION_TESTS)).expect("write tests");

    let (ok, out) = run(&promtool, &dir, &["check", "rules", "rules-full.yaml"]);
    eprintln!("$ promtool check rules (the PrometheusRule's spec)\n{out}");
    assert!(ok, "promtool check rules refused {RULES}:\n{out}");
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", ALERTS.len())),
        "every alert is checked:\n{out}"
    );

    // Every alert the rule keeps has a unit test that expects it to fire.
    let tests = read(UNIT_TESTS);
    for alert in ALERTS {
        let fires = tests
            .split("alertname: ")
            .skip(1)
            .any(|t| t.starts_with(alert) && t.contains("exp_labels"));
        assert!(fires, "{UNIT_TESTS}: no test in which {alert} fires");
    }

    let (ok, out) = run(
        &promtool,
        &dir,
        &["test", "rules", "rules.test.yaml", "annotations.test.yaml"],
    );
    eprintln!("$ promtool test rules {UNIT_TESTS} {ANNOTATION_TESTS}\n{out}");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        ok,
        "an alert misbehaved under Prometheus's rule engine:\n{out}"
    );
    assert_eq!(out.matches("SUCCESS").count(), 2, "{out}");
}
