//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod cli;
pub mod control_plane;
pub mod fault_proxy;
pub mod harness;
pub mod kube_fault_proxy;
pub mod moto;
pub mod raw;
pub mod webhook;
