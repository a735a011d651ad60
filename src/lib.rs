//! kubectl-failover: fails applications over between Kubernetes clusters, coordinated through one
//! DynamoDB table.
//!
//! Module map (dependencies point inward):
//! - [`agent`]: the loop around `protocol`: heartbeat, read, step, write, converge the cluster.
//! - [`store`]: the coordination table (trait, memory and DynamoDB backends, setup).
//! - [`protocol`]: the failover state machine, pure (no I/O, no clock reads).
//! - [`crd`]: the FailoverGroup and Failover custom resources (kube derive) and their checks.
//! - [`k8s`]: `ClusterActions`, the only code that changes a cluster; the simulated cluster.
//! - [`ops`]: use cases shared by the CLI and the terminal UI (status view, history).
//! - [`demo`]: the embedded demo: simulated clusters, one agent each, a script, a timeline.
//! - [`controller`]: the `run` controller: watches, leader election, status, metrics.
//! - [`cli`]: one file per subcommand: parse, call `ops`, print.
//! - [`notify`]: webhooks for failovers, fencing and stuck transitions (outside the protocol).
//! - [`clock`], [`duration`], [`config`], [`error`]: small shared pieces.
//!
//! Glossary: a *group* is a FailoverGroup (namespace/name) whose resources move together; the
//! *owner* is the cluster that is PRIMARY for it; *version* is the CONFIG compare-and-set counter;
//! the *lock* is the lease an agent holds while it drives a transition.

pub mod agent;
pub mod cli;
pub mod clock;
pub mod config;
pub mod controller;
pub mod crd;
pub mod demo;
pub mod duration;
pub mod error;
pub mod k8s;
pub mod notify;
pub mod ops;
pub mod protocol;
pub mod store;
pub mod tui;
