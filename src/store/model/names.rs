//! Names in the table: a group's identity (`NAMESPACE/NAME`) and the rule every namespace, group
//! and cluster name follows so that it fits the table's `#`-separated keys.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A FailoverGroup's identity inside one operator: its namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupId {
    /// Kubernetes namespace of the FailoverGroup.
    pub namespace: String,
    /// Name of the FailoverGroup.
    pub name: String,
}

/// Why a group reference, cluster name or operator ID was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {input:?}: {problem}")]
pub struct InvalidName {
    /// Which kind of name it was.
    pub what: &'static str,
    /// The rejected text.
    pub input: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Checks a Kubernetes-style name (namespace, group name, cluster name): it must be usable inside
/// the table's `#`-separated keys, so `#` and `/` are refused along with empty names.
pub fn validate_name(what: &'static str, input: &str) -> Result<(), InvalidName> {
    let bad_char = input
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')));
    let problem = if input.is_empty() {
        Some("it is empty".to_string())
    } else if input.len() > 253 {
        Some("it is longer than 253 characters".to_string())
    } else {
        bad_char
            .map(|c| format!("character {c:?} is not allowed (use letters, digits, '-', '.', '_')"))
    };
    match problem {
        Some(problem) => Err(InvalidName {
            what,
            input: input.to_string(),
            problem,
        }),
        None => Ok(()),
    }
}

impl GroupId {
    /// A group id from a namespace and a name, both validated.
    pub fn new(namespace: &str, name: &str) -> Result<Self, InvalidName> {
        validate_name("namespace", namespace)?;
        validate_name("group name", name)?;
        Ok(GroupId {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl FromStr for GroupId {
    type Err = InvalidName;

    /// Parses `NAMESPACE/NAME`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('/') {
            Some((ns, name)) => GroupId::new(ns, name),
            None => Err(InvalidName {
                what: "group",
                input: s.to_string(),
                problem: "expected NAMESPACE/NAME (or -n NAMESPACE NAME)".to_string(),
            }),
        }
    }
}
