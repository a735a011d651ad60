//! Carrying out the app's commands, each in its own task so the UI keeps drawing: promotions
//! and suspensions through the same use cases as the CLI commands, the demo's faults through
//! [`DemoControl`]. Every outcome comes back as a status line, then a refresh shows its effect.

use super::app::{Command, DemoFaults, Level, Msg, StatusLine};
use crate::clock::Clock;
use crate::ops::promote::request_promotion;
use crate::ops::suspend::set_suspended;
use crate::store::CoordinationStore;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The demo's fault injection, as the UI drives it.
#[async_trait]
pub trait DemoControl: Send + Sync {
    /// Stops the cluster's agent, or restarts it when stopped; says what happened.
    async fn toggle_agent(&self, cluster: &str) -> Result<String, String>;
    /// Cuts the cluster's agent off from the store, or reconnects it; says what happened.
    async fn toggle_partition(&self, cluster: &str) -> Result<String, String>;
    /// The faults in force, by cluster.
    fn faults(&self) -> BTreeMap<String, DemoFaults>;
    /// Timeline lines since the last call (agents' decisions, serving changes, script steps).
    fn take_events(&self) -> Vec<String>;
}

/// What commands need.
#[derive(Clone)]
pub struct Actions {
    /// The store writes go to.
    pub store: Arc<dyn CoordinationStore>,
    /// The clock they are stamped with.
    pub clock: Arc<dyn Clock>,
    /// The operator.
    pub operator_id: String,
    /// Asks the feed for a refresh.
    pub refresh: mpsc::UnboundedSender<()>,
    /// The demo, when running in it.
    pub demo: Option<Arc<dyn DemoControl>>,
    /// Where outcomes go.
    pub out: mpsc::UnboundedSender<Msg>,
}

fn line(level: Level, text: String) -> Msg {
    Msg::Done(StatusLine { text, level })
}

impl Actions {
    /// Starts carrying out `command`; returns at once.
    pub fn run(&self, command: Command) {
        if command == Command::Refresh {
            let _ = self.refresh.send(());
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let msg = this.execute(command).await;
            let _ = this.out.send(msg);
            if let Some(demo) = &this.demo {
                let _ = this.out.send(Msg::Demo(demo.faults()));
            }
            let _ = this.refresh.send(());
        });
    }

    async fn execute(&self, command: Command) -> Msg {
        let (store, clock, op) = (self.store.as_ref(), self.clock.as_ref(), &self.operator_id);
        match command {
            Command::Refresh => line(Level::Info, "refreshing...".into()),
            Command::Promote { group, request } => {
                match request_promotion(store, clock, op, &group, &request).await {
                    Ok(outcome) if outcome.is_success() => {
                        line(Level::Info, format!("{group}: {outcome}"))
                    }
                    Ok(outcome) => line(Level::Warn, format!("{group}: {outcome}")),
                    Err(e) => line(Level::Error, format!("promote {group} failed: {e}")),
                }
            }
            Command::Suspend { group, suspend } => {
                let reason = Some("suspended from kubectl failover watch");
                match set_suspended(store, clock, op, &group, suspend, reason).await {
                    Ok(outcome) => line(Level::Info, outcome.to_string()),
                    Err(e) => line(
                        Level::Error,
                        format!("suspend/resume of {group} failed: {e}"),
                    ),
                }
            }
            Command::ToggleAgent(cluster) => self.demo_op(&cluster, true).await,
            Command::TogglePartition(cluster) => self.demo_op(&cluster, false).await,
        }
    }

    async fn demo_op(&self, cluster: &str, agent: bool) -> Msg {
        let Some(demo) = &self.demo else {
            return line(
                Level::Warn,
                format!("{cluster}: faults can be injected only in `kubectl failover demo`"),
            );
        };
        let result = if agent {
            demo.toggle_agent(cluster).await
        } else {
            demo.toggle_partition(cluster).await
        };
        match result {
            Ok(text) => line(Level::Info, text),
            Err(text) => line(Level::Error, text),
        }
    }
}
