//! CONFIG as the table holds it, sampled throughout a run straight from the DynamoDB server
//! (never through the clusters' fault proxies), for the checker's version and history checks.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use kubectl_failover::store::dynamodb::DynamoStore;
use kubectl_failover::store::{CoordinationStore, GroupConfig, GroupId};

use crate::e2e::world::OPERATOR;
use crate::support::moto;

/// How often CONFIG is read: well under the shortest transition (one heartbeat interval), and
/// light on moto, which serves every controller of the run too.
const PERIOD: Duration = Duration::from_millis(200);

type Samples = Arc<Mutex<Vec<(DateTime<Utc>, GroupConfig)>>>;

/// A running sampler of one group's CONFIG; stops when dropped.
pub struct ConfigSampler {
    samples: Samples,
    errors: Arc<Mutex<u32>>,
    task: tokio::task::JoinHandle<()>,
}

impl ConfigSampler {
    /// Starts sampling `group` in `table` through `store`'s client.
    pub fn start(store: &DynamoStore, table: &str, group: GroupId) -> ConfigSampler {
        let store = DynamoStore::from_client(
            store.client().clone(),
            table,
            moto::REGION,
            &moto::endpoint(),
        );
        let samples: Samples = Arc::default();
        let errors = Arc::new(Mutex::new(0));
        let (out, errs) = (samples.clone(), errors.clone());
        let task = tokio::spawn(async move {
            loop {
                match store.load_group(OPERATOR, &group).await {
                    Ok(Some(snap)) => {
                        let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
                        if out.last().is_none_or(|(_, c)| *c != snap.config) {
                            out.push((Utc::now(), snap.config));
                        }
                    }
                    Ok(None) => {}
                    Err(_) => *errs.lock().unwrap_or_else(|e| e.into_inner()) += 1,
                }
                tokio::time::sleep(PERIOD).await;
            }
        });
        ConfigSampler {
            samples,
            errors,
            task,
        }
    }

    /// The distinct CONFIGs seen, in order.
    pub fn samples(&self) -> Vec<(DateTime<Utc>, GroupConfig)> {
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads that failed (the sampler's own path is never faulted; moto overloaded).
    pub fn errors(&self) -> u32 {
        *self.errors.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for ConfigSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}
