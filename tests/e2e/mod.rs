//! End-to-end harness: real `kubectl-failover run` processes, one per simulated cluster (an
//! in-memory Kubernetes API server each, tests/support/apiserver), coordinating through moto's
//! DynamoDB server. Scenarios poll the API servers' objects and the table with deadlines.
//!
//! Files: [`world`] (one scenario's clusters, table and processes), [`cluster`] (a simulated
//! cluster and its stand-in controllers), [`fixtures`] (the application and FailoverGroup),
//! [`volumes`] (the csi-addons stand-in), [`process`] (one controller process), [`expect`]
//! (the waits scenarios share), [`monitor`] (no two clusters serving), [`poll`] (deadline
//! waits), [`proxy`] (a cuttable path to DynamoDB).

#![allow(dead_code)]

pub mod cluster;
pub mod expect;
pub mod fixtures;
pub mod monitor;
pub mod poll;
pub mod process;
pub mod proxy;
pub mod volumes;
pub mod world;
