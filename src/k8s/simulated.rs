//! The simulated cluster: `ClusterActions` in memory, for the embedded demo and the multi-cluster
//! tests. Several `SimulatedCluster`s share one clock and one `ServingLog`, the timeline on which
//! tests check that no two clusters ever serve a CONSISTENCY group at once.
//!
//! - [`spec`]: what a group is made of and how fast it reacts (`SimGroupSpec`).
//! - [`group`]: one group's resources and how each action moves them through time.
//! - [`health`]: the health judgement from the simulated status.
//! - [`cluster`]: `SimulatedCluster` itself: fencing epochs, API outages, inspection.
//! - [`log`]: the shared timeline, serving intervals and overlaps.

pub mod cluster;
pub mod group;
pub mod health;
pub mod log;
pub mod spec;

pub use cluster::{SimulatedCluster, UnknownGroup};
pub use group::{SimGroupState, SimVolumeState, SimWorkloadState, VolumeRole};
pub use log::{EventKind, Overlap, ServingEvent, ServingInterval, ServingLog};
pub use spec::{SimGroupSpec, SimWorkload, WorkloadKind};
