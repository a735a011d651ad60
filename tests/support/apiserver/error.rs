//! `metav1.Status` failures, shaped like the real server's so kube's `ErrorResponse` parses them.

use serde_json::{Value, json};

use super::registry::ResourceType;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: String,
    pub message: String,
    pub details: Option<Value>,
}

/// `deployments.apps`, `configmaps`: how the real server names a resource in messages.
fn qualified(rt: &ResourceType) -> String {
    if rt.group.is_empty() {
        rt.plural.clone()
    } else {
        format!("{}.{}", rt.plural, rt.group)
    }
}

fn details(rt: &ResourceType, name: &str) -> Value {
    json!({"name": name, "group": rt.group, "kind": rt.plural})
}

impl ApiError {
    pub fn new(code: u16, reason: &str, message: &str) -> Self {
        ApiError {
            code,
            reason: reason.into(),
            message: message.into(),
            details: None,
        }
    }

    /// The reason the real server gives for a bare status code (used by fault injection too).
    pub fn from_code(code: u16, message: &str) -> Self {
        let reason = match code {
            400 => "BadRequest",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            405 => "MethodNotAllowed",
            409 => "Conflict",
            410 => "Expired",
            415 => "UnsupportedMediaType",
            422 => "Invalid",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            _ => "InternalError",
        };
        ApiError::new(code, reason, message)
    }

    pub fn bad_request(message: &str) -> Self {
        ApiError::from_code(400, message)
    }

    pub fn invalid(message: &str) -> Self {
        ApiError::from_code(422, message)
    }

    pub fn internal(message: &str) -> Self {
        ApiError::from_code(500, message)
    }

    /// What the real server answers for a path no resource is served at.
    pub fn no_route() -> Self {
        let mut e = ApiError::from_code(404, "the server could not find the requested resource");
        e.details = Some(json!({}));
        e
    }

    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        let mut e = ApiError::from_code(404, &format!("{} \"{name}\" not found", qualified(rt)));
        e.details = Some(details(rt, name));
        e
    }

    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        let mut e = ApiError::new(
            409,
            "AlreadyExists",
            &format!("{} \"{name}\" already exists", qualified(rt)),
        );
        e.details = Some(details(rt, name));
        e
    }

    pub fn conflict(rt: &ResourceType, name: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
             please apply your changes to the latest version and try again",
            qualified(rt)
        );
        let mut e = ApiError::new(409, "Conflict", &message);
        e.details = Some(details(rt, name));
        e
    }

    /// The in-stream watch error that makes clients re-list (etcd compaction / watch cache).
    pub fn too_old(requested: u64, oldest: u64) -> Self {
        ApiError::new(
            410,
            "Expired",
            &format!("too old resource version: {requested} ({oldest})"),
        )
    }

    pub fn status_json(&self) -> Value {
        let mut status = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

/// The `Status` a real server answers for a completed (not finalizer-blocked) delete.
pub fn deleted_status(rt: &ResourceType, obj: &Value) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {
            "name": obj["metadata"]["name"], "group": rt.group, "kind": rt.plural,
            "uid": obj["metadata"]["uid"],
        },
    })
}
