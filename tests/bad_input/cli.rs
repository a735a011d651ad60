//! Bad flags and values on the command line, each run against a table holding one valid group
//! (`shop/web`, owned by east, west standby), which must be exactly as it was afterwards.

use super::run::{Cmd, OP, Scrub, Target, judge, same_records, snapshot};
use super::table::{Book, Category};
use crate::support::moto;
use chrono::Utc;
use kubectl_failover::store::{
    ClusterState, ClusterStatus, CoordinationStore, GroupConfig, GroupId, Health,
};

/// Usage errors (exit 2), then refusals that read the table first.
#[rustfmt::skip]
const CASES: &[(&[&str], i32, &[&str])] = &[
    (&["status", "--bogus"], 2, &["unexpected argument '--bogus'"]),
    (&["frobnicate"], 2, &["unrecognized subcommand 'frobnicate'"]),
    (&["status", "-o", "xml"], 2, &["invalid value 'xml'", "table, wide, json, yaml"]),
    (&["history", "shop/web", "-o", "csv"], 2, &["invalid value 'csv'"]),
    (&["--color", "sometimes", "status"], 2, &["invalid value 'sometimes'"]),
    (&["status", "-w", "--interval", "soon"], 2, &["invalid duration \"soon\""]),
    (&["status", "-w", "--interval=-5s"], 2, &["durations cannot be negative"]),
    (&["status", "-w", "--interval", "99999999999999999999h"], 2, &["number too large"]),
    (&["status", "-w", "--interval", "340282366920938463463374607431768211.9us"], 2, &["number too large"]),
    (&["promote", "shop/web", "--to", "west", "--timeout", "soon"], 2, &["invalid duration \"soon\""]),
    (&["watch", "--refresh", "0s"], 2, &["--refresh 0s is too short"]),
    (&["status", "shop/we#b"], 2, &["invalid group name \"we#b\""]),
    (&["history", "shop/"], 2, &["invalid group name \"\": it is empty"]),
    (&["history", "a/b/c"], 2, &["invalid group name \"b/c\""]),
    (&["status", "-n", "bad ns"], 2, &["invalid namespace \"bad ns\""]),
    (&["status", "-n", "blog", "shop/web"], 2, &["-n blog web"]),
    (&["status", "-A", "shop/web"], 2, &["not both"]),
    (&["history", "shop/web", "--limit", "0"], 2, &["0 is not in 1..=100000"]),
    (&["history", "shop/web", "--limit", "abc"], 2, &["invalid value 'abc' for '--limit"]),
    (&["promote", "shop/web"], 2, &["--to <CLUSTER>"]),
    (&["promote", "--to", "west"], 2, &["--all-from"]),
    (&["promote", "shop/web", "--to", "we#st"], 2, &["invalid cluster \"we#st\""]),
    (&["promote", "shop/web", "--to", "west", "-o", "json"], 2, &["add --yes"]),
    (&["promote", "shop/web", "--to", "west", "--mode", "sideways"], 2, &["invalid value 'sideways'"]),
    (&["suspend", "shop/web"], 2, &["--reason <REASON>"]),
    (&["setup-dynamodb", "--read-capacity", "0"], 2, &["0 is not in 1.."]),
    (&["setup-dynamodb", "--estimate", "0", "3"], 2, &["0 is not in 1.."]),
    (&["completion", "powershell"], 2, &["invalid value 'powershell'"]),
    (&["demo", "--clusters", "0"], 2, &["0 is not in 2..=9"]),
    (&["demo", "--kill", "nobody@3s", "--headless"], 2, &["no cluster \"nobody\""]),
    (&["demo", "--partition", "cluster-1@5s..2s"], 2, &["the end must come after the start"]),
    (&["demo", "--heartbeat-timeout", "1s", "--headless"], 2, &["shorter than 4 x --heartbeat-interval"]),
    (&["watch", "-A"], 2, &["stdout is not a terminal"]),
    (&["drill", "shop/web"], 2, &["--to <CLUSTER>"]),
    (&["drill", "shop/web", "--to", "west", "--hold", "soon"], 2, &["invalid duration \"soon\""]),
    (&["drill", "shop/web", "--to", "we#st"], 2, &["invalid cluster \"we#st\""]),
    (&["drill", "shop/web", "--to", "west", "-o", "xml"], 2, &["table, json, markdown"]),
    (&["doctor", "-o", "csv"], 2, &["invalid value 'csv'"]),
    (&["watch", "--relist-every", "1s", "--refresh", "2s"], 2, &["shorter than --refresh 2s"]),
    (&["run", "--cluster-name", "east", "--store-max-in-flight", "0"], 2, &["0 is not in 1.."]),
    (&["run"], 2, &["CLUSTER_NAME is not set"]),
    (&["run", "--cluster-name", "east", "--metrics-addr", "nonsense"], 2, &["cannot listen on nonsense"]),
    (&["promote", "shop/web", "--to", "north", "--yes"], 3, &["cluster \"north\" is not part of shop/web"]),
    (&["promote", "--all-from", "nowhere", "--to", "west", "--yes"], 4, &["cluster \"nowhere\" owns no group"]),
    (&["resume", "shop/nope"], 4, &["FailoverGroup shop/nope", "was not found"]),
    (&["history", "shop/nope"], 4, &["FailoverGroup shop/nope", "was not found"]),
];

/// A table with `shop/web`: owner east, both clusters heartbeating.
pub async fn seeded() -> (Target, aws_sdk_dynamodb::Client) {
    let (store, table) = moto::fresh_store_named("bad-cli").await;
    let web = GroupId::new("shop", "web").expect("group");
    let now = Utc::now();
    let config = GroupConfig::new(OP, web.clone(), "east", now);
    let _ = store.create_config(&config).await.expect("CONFIG");
    for (name, state) in [
        ("east", ClusterState::Primary),
        ("west", ClusterState::Standby),
    ] {
        let status = ClusterStatus {
            cluster_name: name.into(),
            health: Health::Ok,
            state,
            last_heartbeat: Some(now),
            heartbeat_seq: Some(1),
            components: Default::default(),
            ack: None,
            fenced: false,
        };
        store
            .put_cluster_status(OP, &web, &status)
            .await
            .expect("heartbeat");
    }
    (Target::on(&table), moto::sdk_client().await)
}

/// How a case is shown: the arguments as typed.
pub fn shown(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.contains(' ') {
                format!("'{a}'")
            } else {
                a.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub async fn cases(book: &mut Book) {
    let (target, raw) = seeded().await;
    let scrub = Scrub::target(&target);
    for (args, code, phrases) in CASES {
        let before = snapshot(&raw, &target.table).await;
        let run = Cmd::on(&target, args).run().await;
        let mut outcome = judge(&run, *code, phrases, &scrub);
        if outcome.is_ok()
            && let Err(e) = same_records(&before, &snapshot(&raw, &target.table).await)
        {
            outcome = Err(e);
        }
        book.record(Category::Cli, &shown(args), outcome);
    }
}
