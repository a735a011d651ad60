//! End-to-end harness: real `kubectl-failover run` processes, one per simulated cluster (an
//! in-memory Kubernetes API server each, tests/support/apiserver), coordinating through moto's
//! DynamoDB server. Scenarios poll the API servers' objects and the table with deadlines.
//!
//! Files: [`world`] (one scenario's clusters, table and processes), [`cluster`] (a simulated
//! cluster and its stand-in controllers), [`fixtures`] (the application and FailoverGroup),
//! [`volumes`] (the csi-addons stand-in), [`process`] (one controller process), [`expect`]
//! (the waits scenarios share), [`monitor`] (no two clusters serving), [`poll`] (deadline
//! waits), [`proxy`] (a cuttable path to DynamoDB).

//!
//! Verified here only against stand-ins (a real cluster must confirm): the API server's
//! simplifications listed in tests/support/apiserver/mod.rs (no CEL validation, no Table
//! output for kubectl's columns, merge-patch semantics for strategic merge); workloads "ready"
//! 100 ms after a scale with no pods and no termination grace period; csi-addons reaching the
//! asked state after 150 ms; no external-dns reading the Ingress annotations; DynamoDB is
//! moto's server (linearized), partitions are a TCP proxy on loopback.

#![allow(dead_code)]

pub mod backend;
pub mod cluster;
pub mod expect;
pub mod fixtures;
pub mod monitor;
pub mod poll;
pub mod process;
pub mod proxy;
pub mod volumes;
pub mod world;
