//! Hand-written pieces of the CRD schemas: patterns for names and Go durations, and string
//! enums taken from the coordination table's own vocabulary (so a value the table can hold is
//! exactly a value the API server accepts).

use crate::store::{ClusterState, FailoverMode, Health, Phase};
use schemars::{Schema, SchemaGenerator, json_schema};

/// A Go duration as `time.ParseDuration` (and `crate::duration::GoDuration`) reads it, minus the
/// bare `0` and signs: one or more number+unit pairs, e.g. `90s`, `1m30s`, `1.5h`, `250ms`.
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$";

/// Longest accepted duration string. Keeps the CEL cost estimate of `duration(...)` small (the
/// API server refuses a CRD whose rules could cost too much) and is plenty for `1h30m15.5s`.
pub const DURATION_MAX_LENGTH: u32 = 32;

/// A Kubernetes object name (DNS-1123 subdomain): lower-case alphanumerics, `-` and `.`.
pub const OBJECT_NAME_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// A cluster name or operator ID as the table keys allow them (`store::validate_name`): letters,
/// digits, `-`, `.` and `_`; no `#` or `/`, which separate the parts of the table's keys.
pub const TABLE_NAME_PATTERN: &str = r"^[A-Za-z0-9._-]+$";

/// A condition's reason, as metav1.Condition requires it (CamelCase, no spaces).
pub const REASON_PATTERN: &str = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";

/// Schema of a Go duration string.
pub fn duration(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": DURATION_PATTERN,
        "maxLength": DURATION_MAX_LENGTH,
    })
}

/// Schema of a Kubernetes object name.
pub fn object_name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": OBJECT_NAME_PATTERN,
        "minLength": 1,
        "maxLength": 253,
    })
}

/// Schema of a cluster name or operator ID.
pub fn table_name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "string",
        "pattern": TABLE_NAME_PATTERN,
        "minLength": 1,
        "maxLength": 253,
    })
}

/// Schema of an RFC 3339 UTC timestamp (chrono's `DateTime<Utc>` on the wire).
pub fn date_time(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "string", "format": "date-time" })
}

fn string_enum(allowed: &[&str]) -> Schema {
    json_schema!({ "type": "string", "enum": allowed })
}

/// `CONSISTENCY` or `UPTIME`.
pub fn failover_mode(_: &mut SchemaGenerator) -> Schema {
    string_enum(FailoverMode::ALLOWED)
}

/// `OK`, `DEGRADED` or `ERROR`.
pub fn health(_: &mut SchemaGenerator) -> Schema {
    string_enum(Health::ALLOWED)
}

/// `PRIMARY`, `STANDBY`, `FAILOVER` or `FAILBACK`: a cluster's state in its heartbeat record.
pub fn cluster_state(_: &mut SchemaGenerator) -> Schema {
    string_enum(ClusterState::ALLOWED)
}

/// The phase of a transition in flight.
pub fn phase(_: &mut SchemaGenerator) -> Schema {
    string_enum(Phase::ALLOWED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_schemas_list_exactly_the_values_the_table_uses() {
        let mut generator = SchemaGenerator::default();
        let schema = failover_mode(&mut generator);
        assert_eq!(
            schema.get("enum"),
            Some(&serde_json::json!(["CONSISTENCY", "UPTIME"]))
        );
        let schema = health(&mut generator);
        assert_eq!(
            schema.get("enum"),
            Some(&serde_json::json!(["OK", "DEGRADED", "ERROR"]))
        );
    }
}
