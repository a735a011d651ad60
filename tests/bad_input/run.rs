//! Running the real binary as a user would, judging what it did (no panic, the documented exit
//! code, a message with the key phrase), and snapshots of a table to prove nothing was lost.

use super::table::Seen;
use crate::support::moto;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::time::Duration;

/// Where the binary's table is: every flag given, so no kubeconfig is consulted.
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint: String,
    pub region: String,
    pub table: String,
    pub operator: String,
}

impl Target {
    /// `table` on the test server, operator `bad-input-op`.
    pub fn on(table: &str) -> Target {
        Target {
            endpoint: moto::endpoint(),
            region: moto::REGION.to_string(),
            table: table.to_string(),
            operator: OP.to_string(),
        }
    }

    fn flags(&self) -> Vec<String> {
        [
            ("--endpoint", &self.endpoint),
            ("--region", &self.region),
            ("--table-name", &self.table),
            ("--operator-id", &self.operator),
        ]
        .iter()
        .flat_map(|(f, v)| [f.to_string(), v.to_string()])
        .collect()
    }
}

/// The operator every record case uses.
pub const OP: &str = "bad-input-op";

/// One command line to run.
#[derive(Debug, Clone)]
pub struct Cmd {
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Cmd {
    /// `args` alone, with test credentials in the environment and nothing else.
    pub fn new(args: &[&str]) -> Cmd {
        Cmd {
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec![
                ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
                ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ],
        }
    }

    /// The flags naming `target`, then `args`.
    pub fn on(target: &Target, args: &[&str]) -> Cmd {
        let mut cmd = Cmd::new(args);
        let mut all = target.flags();
        all.append(&mut cmd.args);
        cmd.args = all;
        cmd
    }

    /// One more environment variable.
    pub fn env(mut self, name: &str, value: &str) -> Cmd {
        self.env.push((name.into(), value.into()));
        self
    }

    /// No AWS credentials at all.
    pub fn without_credentials(mut self) -> Cmd {
        self.env.retain(|(k, _)| !k.starts_with("AWS_"));
        self
    }

    /// Runs it with a clean environment and an empty HOME (no ~/.aws, no ~/.kube).
    pub async fn run(&self) -> Run {
        let home = std::env::temp_dir().join(format!("kfo-bad-input-home-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&home);
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-failover"));
        cmd.args(&self.args)
            .env_clear()
            .env("HOME", &home)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("{:?} did not finish within 90s", self.args))
            .expect("run kubectl-failover");
        Run {
            // A signal (no code) is reported as 128 + signal, as a shell does.
            code: out.status.code().unwrap_or_else(|| {
                use std::os::unix::process::ExitStatusExt;
                128 + out.status.signal().unwrap_or(0)
            }),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// What one run did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Replaces what changes from run to run (table names, ports, temp paths) in a shown line.
#[derive(Debug, Clone, Default)]
pub struct Scrub(Vec<(String, String)>);

impl Scrub {
    /// Shows `from` as `to`.
    pub fn with(mut self, from: &str, to: &str) -> Scrub {
        self.0.push((from.to_string(), to.to_string()));
        self
    }

    /// The usual: the target's table and endpoint.
    pub fn target(t: &Target) -> Scrub {
        Scrub::default()
            .with(&t.endpoint, "<endpoint>")
            .with(&t.table, "<table>")
    }

    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (from, to) in &self.0 {
            out = out.replace(from.as_str(), to);
        }
        any_loopback_port(&out)
    }
}

/// `127.0.0.1:PORT` -> `127.0.0.1:<port>` for the ports the tests bind (5 digits); fixed ones
/// (`:1`, `:8000` in the tool's own examples) stay.
fn any_loopback_port(text: &str) -> String {
    let marker = "127.0.0.1:";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(marker) {
        out.push_str(&rest[..at + marker.len()]);
        rest = &rest[at + marker.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 5 {
            out.push_str("<port>");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// Checks a run: no panic, exit `code`, every phrase in its output; returns the line the user
/// reads first (stderr's first line, else stdout's), scrubbed.
pub fn judge(run: &Run, code: i32, phrases: &[&str], scrub: &Scrub) -> Result<Seen, String> {
    let both = format!("{}\n{}", run.stderr, run.stdout);
    if run.code == 101 || run.stderr.contains("panicked") {
        return Err(format!("it panicked (exit {}):\n{}", run.code, run.stderr));
    }
    if run.code != code {
        return Err(format!(
            "exit {} instead of {code}\nstderr: {}\nstdout: {}",
            run.code, run.stderr, run.stdout
        ));
    }
    if let Some(missing) = phrases.iter().find(|p| !both.contains(*p)) {
        return Err(format!(
            "the message lacks {missing:?}\nstderr: {}\nstdout: {}",
            run.stderr, run.stdout
        ));
    }
    let first = |text: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    };
    let line = first(&run.stderr)
        .or_else(|| first(&run.stdout))
        .unwrap_or_default();
    Ok(Seen {
        line: scrub.apply(&line),
        code: Some(run.code),
    })
}

/// An item as the SDK returns it.
pub type Item = HashMap<String, AttributeValue>;

/// Every item of `table`, by key.
pub async fn snapshot(client: &Client, table: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scan {table}: {e:?}"));
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            break;
        }
    }
    let key = |i: &Item| {
        let text = |n: &str| match i.get(n) {
            Some(AttributeValue::S(s)) => s.clone(),
            _ => String::new(),
        };
        (text("PK"), text("SK"))
    };
    items.sort_by_key(key);
    items
}

/// `Err` naming the first record that changed, appeared or went missing.
pub fn same_records(before: &[Item], after: &[Item]) -> Result<(), String> {
    if before == after {
        return Ok(());
    }
    let id = |i: &Item| format!("{:?} / {:?}", i.get("PK"), i.get("SK"));
    for b in before {
        match after
            .iter()
            .find(|a| a.get("PK") == b.get("PK") && a.get("SK") == b.get("SK"))
        {
            None => return Err(format!("record {} was lost", id(b))),
            Some(a) if a != b => return Err(format!("record {} was changed", id(b))),
            Some(_) => {}
        }
    }
    Err(format!(
        "records were added: {} before, {} after",
        before.len(),
        after.len()
    ))
}

/// `Err` unless every attribute of every record in `before` is still there with its value
/// (new attributes may have been added: for a command that wrote on purpose).
pub fn nothing_lost(before: &[Item], after: &[Item]) -> Result<(), String> {
    for b in before {
        let Some(a) = after
            .iter()
            .find(|a| a.get("PK") == b.get("PK") && a.get("SK") == b.get("SK"))
        else {
            return Err(format!(
                "record {:?} / {:?} was lost",
                b.get("PK"),
                b.get("SK")
            ));
        };
        for (name, value) in b {
            if a.get(name) != Some(value) && !OURS.contains(&name.as_str()) {
                return Err(format!(
                    "attribute {name} of {:?} / {:?} was lost or changed",
                    b.get("PK"),
                    b.get("SK")
                ));
            }
        }
    }
    Ok(())
}

/// An attribute value as the table shows it: `N 3`, `S "5m"`, `BOOL true`, `M {a, b}`.
pub fn short(v: &AttributeValue) -> String {
    match v {
        AttributeValue::S(text) => format!("S {text:?}"),
        AttributeValue::N(text) => format!("N {text}"),
        AttributeValue::Bool(b) => format!("BOOL {b}"),
        AttributeValue::M(map) => {
            let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
            keys.sort_unstable();
            format!("M {{{}}}", keys.join(", "))
        }
        other => format!("{other:?}"),
    }
}

/// Attributes a write of this tool may change on purpose.
const OURS: &[&str] = &[
    "version",
    "ownerCluster",
    "previousOwner",
    "lastUpdated",
    "transitionInFlight",
    "suspended",
    "suspensionReason",
];

#[test]
fn loopback_ports_are_scrubbed_and_the_rest_kept() {
    assert_eq!(
        any_loopback_port("at http://127.0.0.1:43121/x and 127.0.0.1:1: refused"),
        "at http://127.0.0.1:<port>/x and 127.0.0.1:1: refused"
    );
}

#[test]
fn a_panic_a_wrong_code_or_a_missing_phrase_fails_the_case() {
    let run = |code: i32, stderr: &str| Run {
        code,
        stdout: String::new(),
        stderr: stderr.to_string(),
    };
    let none = Scrub::default();
    assert!(judge(&run(101, "thread 'main' panicked at x"), 101, &[], &none).is_err());
    assert!(judge(&run(1, "error: x"), 2, &[], &none).is_err());
    assert!(judge(&run(2, "error: x"), 2, &["--flag"], &none).is_err());
    let seen = judge(
        &run(2, "\n error: bad --flag \nmore"),
        2,
        &["--flag"],
        &none,
    );
    assert_eq!(seen.map(|s| s.line), Ok("error: bad --flag".to_string()));
}
