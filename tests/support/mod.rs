//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod harness;
pub mod moto;
pub mod raw;
