//! The table's contract: key formats, index and attribute names. The only file that spells them.
//!
//! Names follow `spec/dynamodb-integration.md` and the original Go operator exactly, because other
//! tools read and write the same table; extension attributes are marked as such.

use crate::store::GroupId;

/// Partition key attribute.
pub const PK: &str = "PK";
/// Sort key attribute.
pub const SK: &str = "SK";
/// The global secondary index used for listings.
pub const GSI1: &str = "GSI1";
/// GSI1 partition key attribute.
pub const GSI1PK: &str = "GSI1PK";
/// GSI1 sort key attribute.
pub const GSI1SK: &str = "GSI1SK";

/// Sort key of a group's CONFIG record.
pub const SK_CONFIG: &str = "CONFIG";
/// Sort key of a group's LOCK record.
pub const SK_LOCK: &str = "LOCK";
/// Prefix of every cluster record's sort key.
pub const SK_CLUSTER_PREFIX: &str = "CLUSTER#";
/// Prefix of every history record's sort key. Every CONFIG and `CLUSTER#` sort key sorts below
/// it, which is what lets one query read a group without its history.
pub const SK_HISTORY_PREFIX: &str = "HISTORY#";

const PK_PREFIX: &str = "GROUP#";
const GSI1PK_OPERATOR_PREFIX: &str = "OPERATOR#";
const GSI1PK_CLUSTER_PREFIX: &str = "CLUSTER#";

/// Attributes every record carries.
pub mod common {
    /// Operator instance.
    pub const OPERATOR_ID: &str = "operatorID";
    /// Namespace of the FailoverGroup.
    pub const GROUP_NAMESPACE: &str = "groupNamespace";
    /// Name of the FailoverGroup.
    pub const GROUP_NAME: &str = "groupName";
}

/// CONFIG attributes.
pub mod config {
    /// The PRIMARY cluster (required).
    pub const OWNER_CLUSTER: &str = "ownerCluster";
    /// The previous PRIMARY.
    pub const PREVIOUS_OWNER: &str = "previousOwner";
    /// Compare-and-set counter (N).
    pub const VERSION: &str = "version";
    /// Map of Go duration strings.
    pub const TIMEOUTS: &str = "timeouts";
    /// `timeouts.transitoryState`.
    pub const TRANSITORY_STATE: &str = "transitoryState";
    /// `timeouts.unhealthyPrimary`.
    pub const UNHEALTHY_PRIMARY: &str = "unhealthyPrimary";
    /// `timeouts.heartbeat`.
    pub const HEARTBEAT: &str = "heartbeat";
    /// Go duration string.
    pub const HEARTBEAT_INTERVAL: &str = "heartbeatInterval";
    /// RFC 3339.
    pub const LAST_UPDATED: &str = "lastUpdated";
    /// Map {name, namespace, timestamp}.
    pub const LAST_FAILOVER: &str = "lastFailover";
    /// `lastFailover.name`.
    pub const FAILOVER_NAME: &str = "name";
    /// `lastFailover.namespace`.
    pub const FAILOVER_NAMESPACE: &str = "namespace";
    /// `lastFailover.timestamp`.
    pub const FAILOVER_TIMESTAMP: &str = "timestamp";
    /// BOOL.
    pub const SUSPENDED: &str = "suspended";
    /// Why automatic failovers are off.
    pub const SUSPENSION_REASON: &str = "suspensionReason";
}

/// `CLUSTER#` attributes.
pub mod cluster {
    /// The cluster's name (also in the sort key).
    pub const CLUSTER_NAME: &str = "clusterName";
    /// OK | DEGRADED | ERROR (required).
    pub const HEALTH: &str = "health";
    /// PRIMARY | STANDBY | FAILOVER | FAILBACK (required).
    pub const STATE: &str = "state";
    /// RFC 3339.
    pub const LAST_HEARTBEAT: &str = "lastHeartbeat";
    /// JSON string `{name: {health, message}}`.
    pub const COMPONENTS: &str = "components";
    /// Extension (N): grows with every heartbeat.
    pub const HEARTBEAT_SEQ: &str = "heartbeatSeq";
    /// Extension (M `{id, at}`): the transition whose deactivation this cluster finished.
    pub const TRANSITION_ACK: &str = "transitionAck";
    /// Extension (M key): the acknowledged transition's id.
    pub const ACK_ID: &str = "id";
    /// Extension (M key): when the cluster's network went off.
    pub const ACK_AT: &str = "at";
    /// Extension (BOOL): the owner has fenced itself.
    pub const FENCED: &str = "fenced";
}

/// CONFIG extension attributes for transitions (a map under `transitionInFlight`). The names are
/// deliberately specific: generic ones (`transition`, `epoch`) could collide with attributes other
/// tools add to CONFIG.
pub mod transition {
    /// Extension (N): CONFIG version of the last ownership grant.
    pub const EPOCH: &str = "ownerEpoch";
    /// Extension (S, Go duration): `timeouts.deactivation`, the deactivation budget. Beside
    /// `timeouts` rather than in it: a tool that rewrites the documented map keeps it.
    pub const DEACTIVATION: &str = "deactivationTimeout";
    /// Extension (BOOL): whether the owner fences itself (`selfFencing`; true when absent).
    pub const SELF_FENCING: &str = "selfFencing";
    /// Extension (M): the transition in flight.
    pub const TRANSITION: &str = "transitionInFlight";
    /// Extension (M): the safety settings a change replaced, until the owner has read the new
    /// ones (keys `heartbeatInterval`, `heartbeatTimeout`, `deactivationTimeout`: S, Go
    /// durations; `selfFencing`: BOOL).
    pub const SUPERSEDED: &str = "supersededSettings";
    /// Map key of `supersededSettings`.
    pub const SUPERSEDED_INTERVAL: &str = "heartbeatInterval";
    /// Map key of `supersededSettings`.
    pub const SUPERSEDED_HEARTBEAT: &str = "heartbeatTimeout";
    /// Extension (M of S): per cluster, the FailoverGroup settings it last brought in or
    /// accepted.
    pub const APPLIED_SPECS: &str = "appliedSpecs";
    /// Map key: unique id.
    pub const ID: &str = "id";
    /// Map key: owner when requested.
    pub const SOURCE: &str = "source";
    /// Map key: cluster to become owner.
    pub const TARGET: &str = "target";
    /// Map key: CONSISTENCY or UPTIME.
    pub const MODE: &str = "mode";
    /// Map key: skip the source's acknowledgement.
    pub const FORCE: &str = "force";
    /// Map key: started by an agent.
    pub const AUTOMATIC: &str = "automatic";
    /// Map key: why.
    pub const REASON: &str = "reason";
    /// Map key: who asked.
    pub const INITIATOR: &str = "initiator";
    /// Map key: REQUESTED, SOURCE_DEACTIVATING or TARGET_ACTIVATING.
    pub const PHASE: &str = "phase";
    /// Map key: when requested.
    pub const REQUESTED_AT: &str = "requestedAt";
    /// Map key: when the source's network went off.
    pub const SOURCE_STOPPED_AT: &str = "sourceStoppedAt";
    /// Map key (BOOL, written only when true): a rehearsal by `kubectl failover drill`.
    pub const DRILL: &str = "drill";
}

/// LOCK attributes.
pub mod lock {
    /// Holder (required).
    pub const LOCKED_BY: &str = "lockedBy";
    /// Why it was taken.
    pub const LOCK_REASON: &str = "lockReason";
    /// RFC 3339.
    pub const ACQUIRED_AT: &str = "acquiredAt";
    /// RFC 3339 (required).
    pub const EXPIRES_AT: &str = "expiresAt";
    /// Random token proving ownership (required).
    pub const LEASE_TOKEN: &str = "leaseToken";
}

/// `HISTORY#` attributes.
pub mod history {
    /// Failover resource name.
    pub const FAILOVER_NAME: &str = "failoverName";
    /// Previous PRIMARY (required).
    pub const SOURCE_CLUSTER: &str = "sourceCluster";
    /// Intended PRIMARY (required).
    pub const TARGET_CLUSTER: &str = "targetCluster";
    /// RFC 3339.
    pub const START_TIME: &str = "startTime";
    /// RFC 3339.
    pub const END_TIME: &str = "endTime";
    /// Outcome (required).
    pub const STATUS: &str = "status";
    /// Why.
    pub const REASON: &str = "reason";
    /// Seconds not served (N).
    pub const DOWNTIME: &str = "downtime";
    /// Seconds the transition took (N).
    pub const DURATION: &str = "duration";
    /// Extension: CONSISTENCY | UPTIME.
    pub const MODE: &str = "mode";
    /// Extension (BOOL).
    pub const AUTOMATIC: &str = "automatic";
    /// Extension: who asked.
    pub const INITIATOR: &str = "initiator";
    /// Extension (BOOL, written only when true): a rehearsal by `kubectl failover drill`.
    pub const DRILL: &str = "drill";
}

/// `GROUP#{operatorID}#{namespace}#{name}`.
pub fn group_pk(operator_id: &str, group: &GroupId) -> String {
    format!(
        "{PK_PREFIX}{operator_id}#{}#{}",
        group.namespace, group.name
    )
}

/// The start of every partition key of one operator, `GROUP#{operatorID}#`.
pub fn operator_pk_prefix(operator_id: &str) -> String {
    format!("{PK_PREFIX}{operator_id}#")
}

/// Splits a partition key into operator ID and group. Namespaces and names cannot hold `#`, so
/// the last two fields are those and everything before them is the operator ID.
pub fn parse_group_pk(pk: &str) -> Option<(String, GroupId)> {
    let rest = pk.strip_prefix(PK_PREFIX)?;
    let mut fields = rest.rsplitn(3, '#');
    let name = fields.next()?;
    let namespace = fields.next()?;
    let operator_id = fields.next()?;
    if operator_id.is_empty() || namespace.is_empty() || name.is_empty() {
        return None;
    }
    Some((
        operator_id.to_string(),
        GroupId {
            namespace: namespace.to_string(),
            name: name.to_string(),
        },
    ))
}

/// `CLUSTER#{clusterName}`.
pub fn cluster_sk(cluster: &str) -> String {
    format!("{SK_CLUSTER_PREFIX}{cluster}")
}

/// `HISTORY#{timestamp}`, with the timestamp from `store::history_timestamp`.
pub fn history_sk(timestamp: &str) -> String {
    format!("{SK_HISTORY_PREFIX}{timestamp}")
}

/// GSI1 partition key of a CONFIG record: `OPERATOR#{operatorID}`.
pub fn gsi1pk_operator(operator_id: &str) -> String {
    format!("{GSI1PK_OPERATOR_PREFIX}{operator_id}")
}

/// GSI1 partition key of a cluster record: `CLUSTER#{clusterName}`.
pub fn gsi1pk_cluster(cluster: &str) -> String {
    format!("{GSI1PK_CLUSTER_PREFIX}{cluster}")
}

/// GSI1 sort key of CONFIG and cluster records: `GROUP#{namespace}#{name}`.
pub fn gsi1sk_group(group: &GroupId) -> String {
    format!("{PK_PREFIX}{}#{}", group.namespace, group.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> GroupId {
        GroupId::new("shop", "web").unwrap()
    }

    #[test]
    fn keys_are_spelled_as_the_spec_says() {
        assert_eq!(group_pk("op-1", &group()), "GROUP#op-1#shop#web");
        assert_eq!(cluster_sk("eu-1"), "CLUSTER#eu-1");
        assert_eq!(
            history_sk("2026-11-25T03:27:34.123Z"),
            "HISTORY#2026-11-25T03:27:34.123Z"
        );
        assert_eq!(gsi1pk_operator("op-1"), "OPERATOR#op-1");
        assert_eq!(gsi1pk_cluster("eu-1"), "CLUSTER#eu-1");
        assert_eq!(gsi1sk_group(&group()), "GROUP#shop#web");
    }

    #[test]
    fn a_partition_key_parses_back_even_when_the_operator_id_holds_a_hash() {
        assert_eq!(
            parse_group_pk("GROUP#op-1#shop#web"),
            Some(("op-1".to_string(), group()))
        );
        assert_eq!(
            parse_group_pk("GROUP#a#b#shop#web"),
            Some(("a#b".to_string(), group()))
        );
        assert_eq!(parse_group_pk("GROUP#shop#web"), None);
        assert_eq!(parse_group_pk("OTHER#op#shop#web"), None);
    }

    #[test]
    fn group_and_cluster_sort_keys_sort_below_history() {
        assert!(SK_CONFIG < SK_HISTORY_PREFIX);
        assert!(cluster_sk("zzz").as_str() < SK_HISTORY_PREFIX);
        assert!(SK_LOCK > SK_HISTORY_PREFIX);
    }
}
