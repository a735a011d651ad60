//! A journal of writes, kept by the server itself: every committed write to the resources a
//! test names, with the wall-clock time of its commit. It is the independent history a
//! checker judges (tests/chaos): what the clusters' objects were, and when, as recorded by the
//! stand-in for etcd rather than reported by the controller under test.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// One committed write.
#[derive(Debug, Clone)]
pub struct Written {
    /// When the write was committed (taken under the server's lock, so writes of one server
    /// are in commit order).
    pub at: DateTime<Utc>,
    /// The resource's plural (`deployments`, `pods`, `ingresses`, ...).
    pub plural: String,
    pub namespace: String,
    pub name: String,
    /// The object as stored after the write; `None` once deleted.
    pub object: Option<Value>,
}

/// The journal's configuration and entries.
#[derive(Debug, Default)]
pub struct Journal {
    plurals: BTreeSet<String>,
    entries: Vec<Written>,
}

impl Journal {
    /// A journal of writes to `plurals`.
    pub fn of(plurals: &[&str]) -> Journal {
        Journal {
            plurals: plurals.iter().map(|p| p.to_string()).collect(),
            entries: Vec::new(),
        }
    }

    /// Records a write if its resource is journaled.
    pub fn note(&mut self, plural: &str, namespace: &str, name: &str, object: Option<&Value>) {
        if self.plurals.contains(plural) {
            self.entries.push(Written {
                at: Utc::now(),
                plural: plural.to_string(),
                namespace: namespace.to_string(),
                name: name.to_string(),
                object: object.cloned(),
            });
        }
    }

    /// Every write recorded so far, in commit order.
    pub fn entries(&self) -> Vec<Written> {
        self.entries.clone()
    }
}
