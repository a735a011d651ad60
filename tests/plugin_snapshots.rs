//! Snapshots of the plugin's help and error texts: what a person reads is reviewed like code.
//! Each case runs the real binary (empty environment, so no `[env: ...=value]` leaks in) and
//! compares exit code, stdout and stderr with tests/snapshots/NAME.txt.
//! `KFO_UPDATE_SNAPSHOTS=1 cargo test --test plugin_snapshots` rewrites the files.

use std::path::PathBuf;
use std::process::Command;

/// name, arguments. Errors here are all detected before any network access.
const CASES: &[(&str, &[&str])] = &[
    ("help", &["--help"]),
    ("help-promote", &["promote", "--help"]),
    ("help-suspend", &["suspend", "--help"]),
    ("help-resume", &["resume", "--help"]),
    ("help-status", &["status", "--help"]),
    ("help-history", &["history", "--help"]),
    ("help-completion", &["completion", "--help"]),
    ("help-version", &["version", "--help"]),
    ("error-promote-no-groups", &["promote", "--to", "west"]),
    ("error-promote-no-target", &["promote", "shop/web"]),
    (
        "error-promote-namespace-conflict",
        &["promote", "-n", "blog", "shop/web", "--to", "west"],
    ),
    (
        "error-promote-json-needs-yes",
        &["promote", "shop/web", "--to", "west", "-o", "json"],
    ),
    (
        "error-promote-bad-timeout",
        &["promote", "shop/web", "--to", "west", "--timeout", "soon"],
    ),
    ("error-suspend-no-reason", &["suspend", "shop/web"]),
    (
        "error-suspend-empty-reason",
        &["suspend", "shop/web", "--reason", " "],
    ),
    ("error-status-group-and-all", &["status", "-A", "shop/web"]),
    ("error-completion-unknown-shell", &["completion", "tcsh"]),
];

fn render(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kubectl-failover"))
        .args(args)
        .env_clear()
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .output()
        .expect("run kubectl-failover");
    format!(
        "$ kubectl failover {}\nexit code: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn help_and_error_texts_match_their_snapshots() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let update = std::env::var("KFO_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1");
    let mut differ = Vec::new();
    for (name, args) in CASES {
        let actual = render(args);
        let path = dir.join(format!("{name}.txt"));
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            differ.push(format!(
                "--- {} (expected)\n{expected}\n+++ actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{} snapshot(s) differ; review, then rewrite with KFO_UPDATE_SNAPSHOTS=1:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

#[test]
fn every_subcommand_has_a_help_snapshot_with_examples() {
    use clap::CommandFactory;
    let cli = kubectl_failover::cli::Cli::command();
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        let help = render(&[name, "--help"]);
        assert!(help.contains("exit code: 0"), "{help}");
        assert!(
            help.contains("Examples:"),
            "`{name} --help` has no examples:\n{help}"
        );
    }
}
