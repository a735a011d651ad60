//! Bad input, counted: every kind of bad input a person or another tool can give, tried in one
//! run, each asserted to exit with its documented code and a message holding a key phrase,
//! without a panic and without a record lost. The run renders the table of docs/reliability.md
//! ("Bad input, counted") and fails when the committed table differs;
//! `KFO_UPDATE_DOCS=1 cargo test --test bad_input` rewrites it.
//!
//! Files: `table` (rows, rendering, the doc check), `run` (running the binary, judging a run,
//! table snapshots), one file per category: `cli`, `resources`, `records` (and `huge`), `environment`.

#[path = "support/apiserver/mod.rs"]
mod apiserver;
#[path = "bad_input/cli.rs"]
mod cli;
#[path = "support/controller.rs"]
mod controller_support;
#[path = "bad_input/environment.rs"]
mod environment;
#[path = "bad_input/huge.rs"]
mod huge;
#[path = "bad_input/records.rs"]
mod records;
#[path = "bad_input/resources.rs"]
mod resources;
#[path = "bad_input/run.rs"]
mod run;
mod support;
#[path = "bad_input/table.rs"]
mod table;

use table::Book;

/// The issue asks for at least this many.
const AT_LEAST: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_is_refused_clearly_without_a_panic_or_a_lost_record() {
    let started = std::time::Instant::now();
    let mut book = Book::default();
    cli::cases(&mut book).await;
    records::cases(&mut book).await;
    environment::cases(&mut book).await;
    resources::cases(&mut book).await;
    let table = book.render();
    println!("{table}");
    println!(
        "{} cases in {} categories, {:.1}s",
        book.len(),
        book.categories(),
        started.elapsed().as_secs_f64()
    );
    let failures = book.failures();
    assert!(failures.is_empty(), "cases that failed:\n{failures}");
    assert!(book.len() >= AT_LEAST, "only {} cases", book.len());
    if let Err(why) = table::check_or_update_doc(&table) {
        panic!("{why}");
    }
}
