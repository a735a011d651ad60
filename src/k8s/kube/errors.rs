//! What can go wrong while reading or patching one object, and how it becomes the trait's
//! [`ActionError`]: a newer epoch on an object is a refusal, everything else is the cluster
//! being unable to carry the action out (with the object, the cause and the fix named).

use super::objects::ObjectRef;
use crate::k8s::{Action, ActionError};
use crate::store::GroupId;

/// Why an action (or a health read) on the group's objects failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeError {
    /// The object carries a newer fencing epoch than the action's (an activation's).
    #[error(
        "{object}: annotation {} {applied} is newer than the action's epoch {epoch}, so a newer decision acted on it; if nothing newer did (the annotation was set by hand), remove the annotation",
        super::fencing::EPOCH_ANNOTATION
    )]
    StaleEpoch {
        /// The object.
        object: String,
        /// The epoch of the action.
        epoch: u64,
        /// The epoch on the object.
        applied: u64,
    },
    /// The FailoverGroup lists an object that does not exist.
    #[error("{object} does not exist; create it, or remove it from the FailoverGroup's {field}")]
    NotFound {
        /// The object.
        object: String,
        /// The FailoverGroup field that lists it.
        field: &'static str,
    },
    /// The object's kind is served by no API in this cluster (its CRD is not installed).
    #[error(
        "{object}: the API {api} is not installed in this cluster; install {product} or remove the object from the FailoverGroup"
    )]
    ApiNotInstalled {
        /// The object.
        object: String,
        /// `plural.group/version`.
        api: String,
        /// What installs it.
        product: &'static str,
    },
    /// Concurrent writers kept changing the object between our read and our patch.
    #[error("{object} changed concurrently {attempts} times in a row; will retry")]
    Conflict {
        /// The object.
        object: String,
        /// Patches attempted.
        attempts: u32,
    },
    /// A field or annotation has a value the action cannot use.
    #[error("{object}: {field} {value:?} {problem}; {fix}")]
    BadValue {
        /// The object.
        object: String,
        /// The field or annotation.
        field: String,
        /// Its value.
        value: String,
        /// What is wrong.
        problem: String,
        /// What to do.
        fix: String,
    },
    /// The API server refused or could not be reached.
    #[error("{object}: {message}")]
    Api {
        /// The object.
        object: String,
        /// kube's description of the failure.
        message: String,
    },
    /// Several objects failed.
    #[error("{}", join(.0))]
    Several(Vec<KubeError>),
}

fn join(errors: &[KubeError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl KubeError {
    /// Classifies a failed request on `object` (listed in the FailoverGroup's `field`).
    pub fn from_kube(object: &ObjectRef<'_>, field: &'static str, err: kube::Error) -> KubeError {
        if let kube::Error::Api(status) = &err
            && status.code == 404
        {
            // An object's NotFound names it in `details`; a path no API serves (CRD not
            // installed) answers a bare 404, JSON or plain text, without a name.
            let names_object = status.details.as_ref().is_some_and(|d| !d.name.is_empty());
            return match (names_object, object.kind.optional) {
                (false, Some(product)) => KubeError::ApiNotInstalled {
                    object: object.to_string(),
                    api: object.kind.api_name(),
                    product,
                },
                _ => KubeError::NotFound {
                    object: object.to_string(),
                    field,
                },
            };
        }
        let mut message = describe(&err);
        if matches!(&err, kube::Error::Api(status) if status.code == 403) {
            message.push_str(&format!(
                "; grant the controller's ServiceAccount get and patch on {}.{} (deploy/base/rbac.yaml)",
                object.kind.plural, object.kind.group
            ));
        }
        KubeError::Api {
            object: object.to_string(),
            message,
        }
    }

    /// The first stale-epoch refusal among these errors, if any.
    fn stale(&self) -> Option<(u64, u64)> {
        match self {
            KubeError::StaleEpoch { epoch, applied, .. } => Some((*epoch, *applied)),
            KubeError::Several(all) => all.iter().find_map(KubeError::stale),
            _ => None,
        }
    }

    /// The trait's error for `action` (`None`: a read) of `group` in `cluster`.
    pub fn into_action_error(
        self,
        cluster: &str,
        group: &GroupId,
        action: Option<Action>,
    ) -> ActionError {
        match (self.stale(), action) {
            (Some((epoch, applied)), Some(action)) => ActionError::StaleEpoch {
                group: group.to_string(),
                action,
                epoch,
                applied,
            },
            _ => ActionError::Unavailable {
                cluster: cluster.to_string(),
                group: group.to_string(),
                action,
                message: self.to_string(),
            },
        }
    }
}

/// kube's error, shortened to what a person needs: the API's own message when it sent one.
fn describe(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) if !status.message.is_empty() => {
            format!(
                "the API server answered {}: {}",
                status.code, status.message
            )
        }
        kube::Error::Api(status) => format!("the API server answered {}", status.code),
        other => format!("the API server could not be reached: {other}"),
    }
}

/// Whether a failed request was a 409 Conflict (the resourceVersion precondition failed).
pub fn is_conflict(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 409)
}
