//! The controller's Prometheus metrics (prometheus-client), served as text on `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Labels of `kubectl_failover_reconciles_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    /// FailoverGroup or Failover.
    pub kind: String,
    /// ok or error.
    pub result: String,
}

/// Labels of `kubectl_failover_transitions_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransitionLabels {
    /// SUCCESS, FAILED, ROLLED_BACK or FORCED_COMPLETE.
    pub outcome: String,
}

/// Labels of `kubectl_failover_store_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    /// The store operation (load_group, put_cluster_status, ...).
    pub operation: String,
    /// ok, conflict or the error kind (unavailable, throttled, ...).
    pub result: String,
}

/// Labels of per-cluster gauges.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClusterLabels {
    /// The group, namespace/name.
    pub group: String,
    /// The cluster.
    pub cluster: String,
}

/// Labels of `kubectl_failover_lock_holder`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LockLabels {
    /// The group, namespace/name.
    pub group: String,
    /// The cluster holding the group's lock.
    pub holder: String,
}

/// Labels of per-group gauges.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupLabels {
    /// The group, namespace/name.
    pub group: String,
}

/// Labels of `kubectl_failover_store_budget_waits_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BudgetWaitLabels {
    /// concurrency (every in-flight slot was taken) or rate (the requests-per-second ceiling).
    pub reason: String,
}

/// Every metric of the controller, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Reconciles by kind and result.
    pub reconciles: Family<ReconcileLabels, Counter>,
    /// Transitions ended by this cluster's agents, by outcome.
    pub transitions: Family<TransitionLabels, Counter>,
    /// Store requests by operation and result.
    pub store_requests: Family<StoreLabels, Counter>,
    /// Seconds this cluster has seen each cluster's heartbeat unchanged.
    pub heartbeat_age: Family<ClusterLabels, Gauge<f64, AtomicU64>>,
    /// 1 for the cluster holding each group's lock (no series when nobody holds it).
    pub lock_holder: Family<LockLabels, Gauge>,
    /// 1 while this cluster has fenced itself for a group, else 0.
    pub fenced: Family<GroupLabels, Gauge>,
    /// Seconds since a group's current transition was requested (0 when none runs).
    pub transition_age: Family<GroupLabels, Gauge<f64, AtomicU64>>,
    /// Seconds this cluster's heartbeat for a group is overdue (0 while on time).
    pub heartbeat_lag: Family<GroupLabels, Gauge<f64, AtomicU64>>,
    /// 1 while this replica leads (acts), else 0.
    pub leader: Gauge,
    /// Groups whose agent runs in this replica.
    pub groups: Gauge,
    /// 1 for a group whose timings the liveness probe budget cannot honour (no series when
    /// it can, or when no budget is configured).
    pub liveness_budget_short: Family<GroupLabels, Gauge>,
    /// Store calls sent and not yet answered (within `--store-max-in-flight`).
    pub store_in_flight: Gauge,
    /// Store calls that waited for the request budget, by what they waited for.
    pub store_budget_waits: Family<BudgetWaitLabels, Counter>,
    /// Seconds store calls waited for the request budget, in total.
    pub store_budget_wait_seconds: Counter<f64, AtomicU64>,
    /// Kubernetes Events dropped because the queue to the API server was full.
    pub events_dropped: Counter,
}

/// The request budget of the store (`crate::store::budget`) counts into the metrics.
impl crate::store::budget::BudgetObserver for Metrics {
    fn sent(&self) {
        self.store_in_flight.inc();
    }

    fn ended(&self) {
        self.store_in_flight.dec();
    }

    fn waited(&self, reason: crate::store::budget::WaitReason, waited: std::time::Duration) {
        self.store_budget_waits
            .get_or_create(&BudgetWaitLabels {
                reason: reason.label().to_string(),
            })
            .inc();
        self.store_budget_wait_seconds.inc_by(waited.as_secs_f64());
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `kubectl_failover` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("kubectl_failover");
        let m = Metrics {
            registry: Registry::default(),
            reconciles: Family::default(),
            transitions: Family::default(),
            store_requests: Family::default(),
            heartbeat_age: Family::default(),
            lock_holder: Family::default(),
            fenced: Family::default(),
            transition_age: Family::default(),
            heartbeat_lag: Family::default(),
            leader: Gauge::default(),
            groups: Gauge::default(),
            liveness_budget_short: Family::default(),
            store_in_flight: Gauge::default(),
            store_budget_waits: Family::default(),
            store_budget_wait_seconds: Counter::default(),
            events_dropped: Counter::default(),
        };
        registry.register(
            "reconciles",
            "Reconciles of FailoverGroups and Failovers, by kind and result",
            m.reconciles.clone(),
        );
        registry.register(
            "transitions",
            "Failovers ended by this cluster's agents, by outcome",
            m.transitions.clone(),
        );
        registry.register(
            "store_requests",
            "DynamoDB requests by operation and result",
            m.store_requests.clone(),
        );
        registry.register(
            "heartbeat_age_seconds",
            "How long this cluster has seen each cluster's heartbeat unchanged",
            m.heartbeat_age.clone(),
        );
        registry.register(
            "lock_holder",
            "Set (to 1) for the cluster that holds a group's failover lock",
            m.lock_holder.clone(),
        );
        registry.register(
            "fenced",
            "Set (to 1) while this cluster has fenced itself for a group: it should serve but cannot reach DynamoDB",
            m.fenced.clone(),
        );
        registry.register(
            "transition_age_seconds",
            "Seconds since the group's current failover was requested (0 when none runs)",
            m.transition_age.clone(),
        );
        registry.register(
            "heartbeat_lag_seconds",
            "Seconds this cluster's heartbeat for a group is overdue (0 while written every interval)",
            m.heartbeat_lag.clone(),
        );
        registry.register(
            "leader",
            "Whether this replica holds the leader Lease and acts (1) or not (0)",
            m.leader.clone(),
        );
        registry.register(
            "groups",
            "FailoverGroups whose agent runs in this replica",
            m.groups.clone(),
        );
        registry.register(
            "liveness_budget_short",
            "Set (to 1) for a group whose timings the liveness probe budget (LIVENESS_BUDGET) cannot honour",
            m.liveness_budget_short.clone(),
        );
        registry.register(
            "store_in_flight",
            "DynamoDB calls sent and not yet answered (at most STORE_MAX_IN_FLIGHT)",
            m.store_in_flight.clone(),
        );
        registry.register(
            "store_budget_waits",
            "DynamoDB calls that waited for the request budget, by reason (concurrency: STORE_MAX_IN_FLIGHT, rate: STORE_MAX_REQUESTS_PER_SECOND)",
            m.store_budget_waits.clone(),
        );
        registry.register(
            "store_budget_wait_seconds",
            "Seconds DynamoDB calls waited for the request budget before they were sent",
            m.store_budget_wait_seconds.clone(),
        );
        registry.register(
            "events_dropped",
            "Kubernetes Events dropped because the API server fell behind the controller's queue of them",
            m.events_dropped.clone(),
        );
        // Counters with a fixed label set start at 0, as Prometheus advises: `rate()` and
        // `increase()` then see the first event, and an alert or dashboard reading a family
        // finds it before anything happened.
        for outcome in ["SUCCESS", "FAILED", "ROLLED_BACK", "FORCED_COMPLETE"] {
            let _ = m.transitions.get_or_create(&TransitionLabels {
                outcome: outcome.to_string(),
            });
        }
        for reason in ["concurrency", "rate"] {
            let _ = m.store_budget_waits.get_or_create(&BudgetWaitLabels {
                reason: reason.to_string(),
            });
        }
        Metrics { registry, ..m }
    }

    /// Counts one reconcile.
    pub fn reconciled(&self, kind: &str, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reconciles
            .get_or_create(&ReconcileLabels {
                kind: kind.to_string(),
                result: result.to_string(),
            })
            .inc();
    }

    /// The metrics in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_metrics_carry_the_prefix_and_labels() {
        let m = Metrics::new();
        m.reconciled("FailoverGroup", true);
        m.transitions
            .get_or_create(&TransitionLabels {
                outcome: "SUCCESS".into(),
            })
            .inc();
        let text = m.encode();
        assert!(
            text.contains(
                r#"kubectl_failover_reconciles_total{kind="FailoverGroup",result="ok"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"kubectl_failover_transitions_total{outcome="SUCCESS"} 1"#),
            "{text}"
        );
        assert!(text.contains("kubectl_failover_leader 0"), "{text}");
    }
}
