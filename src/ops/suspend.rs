//! The suspend/resume use case, shared by the CLI `suspend`/`resume`, the terminal UI and the
//! controller: turn a group's automatic failover off or on by a compare-and-set on CONFIG's
//! `suspended` and `suspensionReason`. Suspension blocks automatic failovers only; a person can
//! still promote.

use crate::clock::Clock;
use crate::error::Error;
use crate::store::{CasOutcome, CoordinationStore, GroupId};
use serde::Serialize;

/// How many lost compare-and-sets are retried against a fresh read before giving up.
pub const MAX_ATTEMPTS: u32 = 5;

/// What came of a suspend or resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
#[must_use]
pub enum SuspendOutcome {
    /// The flag was written.
    Changed {
        /// The group.
        group: GroupId,
        /// Whether automatic failover is now off.
        suspended: bool,
        /// The reason stored with it (`None` after a resume).
        reason: Option<String>,
        /// CONFIG's version after the write.
        version: u64,
    },
    /// The group already was in the asked state (a suspend with another reason still writes
    /// the new reason and reports `Changed`).
    Unchanged {
        /// The group.
        group: GroupId,
        /// The state it is in.
        suspended: bool,
    },
    /// Every attempt lost its compare-and-set to another writer.
    Contended {
        /// The group.
        group: GroupId,
        /// Attempts made.
        attempts: u32,
    },
}

impl std::fmt::Display for SuspendOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SuspendOutcome::Changed {
                group,
                suspended: true,
                reason,
                ..
            } => write!(
                f,
                "automatic failover of {group} is suspended ({}); `kubectl failover resume {group}` turns it back on",
                reason.as_deref().unwrap_or("no reason given")
            ),
            SuspendOutcome::Changed {
                group,
                suspended: false,
                ..
            } => write!(f, "automatic failover of {group} is resumed"),
            SuspendOutcome::Unchanged {
                group,
                suspended: true,
            } => write!(f, "automatic failover of {group} was already suspended"),
            SuspendOutcome::Unchanged {
                group,
                suspended: false,
            } => write!(f, "automatic failover of {group} was not suspended"),
            SuspendOutcome::Contended { group, attempts } => write!(
                f,
                "CONFIG of {group} changed under every one of {attempts} attempts; something else is changing the group, check `kubectl failover status {group}` and try again"
            ),
        }
    }
}

/// Sets a group's `suspended` flag (with `reason` when suspending; resuming clears the reason).
/// Errors are only the store failing or the group not existing.
pub async fn set_suspended(
    store: &dyn CoordinationStore,
    clock: &dyn Clock,
    operator_id: &str,
    group: &GroupId,
    suspended: bool,
    reason: Option<&str>,
) -> Result<SuspendOutcome, Error> {
    let reason = if suspended {
        reason.map(str::to_string)
    } else {
        None
    };
    for _ in 0..MAX_ATTEMPTS {
        let Some(snapshot) = store.load_group_with(operator_id, group, false).await? else {
            return Err(Error::GroupNotFound {
                group: group.to_string(),
                operator_id: operator_id.to_string(),
                store: store.describe(),
            });
        };
        let current = &snapshot.config;
        if current.suspended == suspended && (!suspended || current.suspension_reason == reason) {
            return Ok(SuspendOutcome::Unchanged {
                group: group.clone(),
                suspended,
            });
        }
        let mut next = current.clone();
        next.suspended = suspended;
        next.suspension_reason = reason.clone();
        next.last_updated = Some(clock.now());
        match store.update_config(current.version, &next).await? {
            CasOutcome::Applied(written) => {
                return Ok(SuspendOutcome::Changed {
                    group: group.clone(),
                    suspended,
                    reason,
                    version: written.version,
                });
            }
            CasOutcome::Conflict { .. } => continue,
        }
    }
    Ok(SuspendOutcome::Contended {
        group: group.clone(),
        attempts: MAX_ATTEMPTS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::GroupConfig;
    use crate::store::memory::MemoryStore;
    use chrono::TimeZone;

    async fn seeded() -> (MemoryStore, ManualClock, GroupId) {
        let clock =
            ManualClock::starting_at(chrono::Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
        let store = MemoryStore::new();
        let group = GroupId::new("shop", "web").unwrap();
        let config = GroupConfig::new("op", group.clone(), "east", clock.now());
        let created = store.create_config(&config).await.unwrap();
        assert!(matches!(created, crate::store::CreateOutcome::Created(_)));
        (store, clock, group)
    }

    #[tokio::test]
    async fn suspending_writes_the_flag_and_reason_and_resuming_clears_both() {
        let (store, clock, group) = seeded().await;
        let out = set_suspended(&store, &clock, "op", &group, true, Some("db migration"))
            .await
            .unwrap();
        assert!(matches!(
            out,
            SuspendOutcome::Changed {
                suspended: true,
                version: 2,
                ..
            }
        ));
        let config = store
            .load_group("op", &group)
            .await
            .unwrap()
            .unwrap()
            .config;
        assert!(config.suspended);
        assert_eq!(config.suspension_reason.as_deref(), Some("db migration"));

        let out = set_suspended(&store, &clock, "op", &group, false, None)
            .await
            .unwrap();
        assert!(matches!(
            out,
            SuspendOutcome::Changed {
                suspended: false,
                ..
            }
        ));
        let config = store
            .load_group("op", &group)
            .await
            .unwrap()
            .unwrap()
            .config;
        assert!(!config.suspended);
        assert_eq!(config.suspension_reason, None);
    }

    #[tokio::test]
    async fn a_repeated_request_changes_nothing_and_says_so() {
        let (store, clock, group) = seeded().await;
        let out = set_suspended(&store, &clock, "op", &group, false, None)
            .await
            .unwrap();
        assert_eq!(
            out,
            SuspendOutcome::Unchanged {
                group: group.clone(),
                suspended: false
            }
        );
        assert_eq!(
            out.to_string(),
            "automatic failover of shop/web was not suspended"
        );
        let config = store
            .load_group("op", &group)
            .await
            .unwrap()
            .unwrap()
            .config;
        assert_eq!(config.version, 1, "nothing written");
    }

    #[tokio::test]
    async fn an_unknown_group_is_an_error_naming_it() {
        let (store, clock, _) = seeded().await;
        let other = GroupId::new("shop", "missing").unwrap();
        let err = set_suspended(&store, &clock, "op", &other, true, Some("x"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("shop/missing"), "{err}");
    }
}
