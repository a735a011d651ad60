//! PATCH bodies by content type.
//!
//! - `application/merge-patch+json`: RFC 7386.
//! - `application/strategic-merge-patch+json`: treated as a merge patch. Simplification: real
//!   strategic merge merges lists by key (e.g. containers by name) and honours `$patch`
//!   directives; here lists are replaced whole.
//! - `application/json-patch+json`: RFC 6902 (a failing `test` or a bad path is 422).
//! - `application/apply-patch+yaml`: server-side apply, body as JSON or YAML. Simplification:
//!   create-if-missing, else a merge patch of the body; no managedFields, no ownership, so no
//!   apply conflicts (`force` is accepted and ignored) and fields a manager stops sending are
//!   not removed.

use serde_json::Value;

use super::error::ApiError;

#[derive(Debug)]
pub enum Patch {
    Merge(Value),
    Json(json_patch::Patch),
    Apply(Value),
}

impl Patch {
    /// Parses a PATCH body; `field_manager` is the query parameter (required for apply).
    pub fn parse(
        content_type: &str,
        body: &[u8],
        field_manager: Option<&str>,
    ) -> Result<Patch, ApiError> {
        let media = content_type.split(';').next().unwrap_or_default().trim();
        let bad = |e: &dyn std::fmt::Display| {
            ApiError::bad_request(&format!("error decoding patch: {e}"))
        };
        match media {
            "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                let value: Value = serde_json::from_slice(body).map_err(|e| bad(&e))?;
                if !value.is_object() {
                    return Err(ApiError::bad_request("a merge patch must be a JSON object"));
                }
                Ok(Patch::Merge(value))
            }
            "application/json-patch+json" => serde_json::from_slice(body)
                .map(Patch::Json)
                .map_err(|e| bad(&e)),
            "application/apply-patch+yaml" => {
                if field_manager.is_none_or(str::is_empty) {
                    return Err(ApiError::bad_request(
                        "PATCH: fieldManager is required for apply requests",
                    ));
                }
                let text = std::str::from_utf8(body).map_err(|e| bad(&e))?;
                let value: Value = match serde_json::from_str(text) {
                    Ok(v) => v,
                    Err(_) => serde_saphyr::from_str(text).map_err(|e| bad(&e))?,
                };
                if !value.is_object() {
                    return Err(ApiError::bad_request(
                        "an apply configuration must be an object",
                    ));
                }
                Ok(Patch::Apply(value))
            }
            other => Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                &format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {other:?})"
                ),
            )),
        }
    }

    pub fn apply_to(&self, doc: &mut Value) -> Result<(), ApiError> {
        match self {
            Patch::Merge(p) | Patch::Apply(p) => {
                json_patch::merge(doc, p);
                Ok(())
            }
            Patch::Json(ops) => {
                json_patch::patch(doc, ops).map_err(|e| ApiError::invalid(&e.to_string()))
            }
        }
    }
}
