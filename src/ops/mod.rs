//! Use cases shared by the CLI and the terminal UI. Each reads (or changes) the store and returns
//! serializable view structs; none of them prints, so the CLI renders tables/JSON/YAML and the TUI
//! renders widgets from the same data.
//!
//! Every age and countdown in a view is computed against an injected [`crate::clock::Clock`], so
//! output is reproducible in tests.

pub mod cost;
pub mod doctor;
pub mod drill;
pub mod history;
pub mod promote;
pub mod status;
pub mod suspend;

use chrono::{DateTime, Utc};

/// Whole seconds from `earlier` to `later`; negative when `earlier` is in the future (another
/// machine's clock runs ahead of ours). Views keep the sign; renderers decide how to show it.
pub fn seconds_between(earlier: DateTime<Utc>, later: DateTime<Utc>) -> i64 {
    (later - earlier).num_seconds()
}
