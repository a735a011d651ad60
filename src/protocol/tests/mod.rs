//! Tests of `step`, table by table, and the property tests of the protocol's invariants over a
//! small pure simulation of several agents sharing one table.

mod auto;
mod dead_parties;
mod drive;
pub(crate) mod fixtures;
mod props;
mod request;
mod roles;
mod scenarios;
mod settings;
mod sim;
mod sim_table;
mod stuck;
