//! Writes a FailoverGroup's status through the status subresource with a JSON merge patch, only
//! when it changed meaningfully (see `status::meaningful_change`). A merge patch cannot remove
//! a field by leaving it out, so every field the last written status had and the new one lacks
//! is sent as `null` (e.g. `phase` once a transition ended).

use super::status::meaningful_change;
use crate::crd::{FailoverGroup, FailoverGroupStatus};
use kube::Api;
use kube::api::Patch;
use serde_json::{Map, Value};

/// The status as this controller last wrote it (or found it) for one FailoverGroup.
pub struct StatusWriter {
    api: Api<FailoverGroup>,
    name: String,
    written: FailoverGroupStatus,
}

impl StatusWriter {
    /// A writer for `name` in `api`'s namespace, starting from the status the object has.
    pub fn new(api: Api<FailoverGroup>, name: &str, current: Option<FailoverGroupStatus>) -> Self {
        StatusWriter {
            api,
            name: name.to_string(),
            written: current.unwrap_or_default(),
        }
    }

    /// The status as last written.
    pub fn written(&self) -> &FailoverGroupStatus {
        &self.written
    }

    /// Writes `status` if it changed meaningfully; returns whether a write was made.
    pub async fn write(&mut self, status: FailoverGroupStatus) -> Result<bool, kube::Error> {
        if !meaningful_change(&self.written, &status) {
            return Ok(false);
        }
        let body = serde_json::json!({ "status": patch_body(&self.written, &status) });
        self.api
            .patch_status(&self.name, &super::patch_params(), &Patch::Merge(&body))
            .await?;
        self.written = status;
        Ok(true)
    }
}

/// `new` as JSON, with `null` for every top-level field `old` had and `new` lacks.
pub fn patch_body(old: &FailoverGroupStatus, new: &FailoverGroupStatus) -> Value {
    let as_map = |s: &FailoverGroupStatus| match serde_json::to_value(s) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let old = as_map(old);
    let mut new = as_map(new);
    for key in old.keys() {
        new.entry(key.clone()).or_insert(Value::Null);
    }
    Value::Object(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::GroupRole;
    use crate::store::Phase;

    #[test]
    fn a_field_that_disappears_is_sent_as_null_so_the_merge_patch_removes_it() {
        let old = FailoverGroupStatus {
            role: Some(GroupRole::Primary),
            phase: Some(Phase::Requested),
            ..FailoverGroupStatus::default()
        };
        let new = FailoverGroupStatus {
            role: Some(GroupRole::Primary),
            ..FailoverGroupStatus::default()
        };
        let body = patch_body(&old, &new);
        assert_eq!(body["phase"], Value::Null);
        assert_eq!(body["role"], "PRIMARY");
        assert!(body.as_object().unwrap().contains_key("phase"));
    }
}
