//! Deletion (with finalizers) and test seeding.

use serde_json::{Value, json};

use super::error::ApiError;
use super::registry::ResourceType;
use super::store::{ChangeKind, State, meta_str, now, serve, set_path};
use super::write::{apply_defaults, check_shape, finalizers};

/// What a DELETE did.
pub enum Deletion {
    /// Finalizers remain: `deletionTimestamp` is set and the object stays (served as is).
    Pending(Value),
    /// Gone (the value is the last state, used for the success `Status`).
    Done(Value),
}

/// The status a real apiextensions server gives a CRD it accepted.
pub(super) fn crd_established(obj: &mut Value) {
    let names = obj["spec"]["names"].clone();
    let condition = |kind: &str, reason: &str| json!({"type": kind, "status": "True", "reason": reason, "message": "", "lastTransitionTime": now()});
    let status = json!({
        "acceptedNames": names,
        "conditions": [condition("NamesAccepted", "NoConflicts"), condition("Established", "InitialNamesAccepted")],
        "storedVersions": [obj["spec"]["versions"][0]["name"]],
    });
    set_path(obj, &["status"], status);
}

impl State {
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
    ) -> Result<Deletion, ApiError> {
        let old = self
            .stored(rt, namespace, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        if !finalizers(&old).is_empty() {
            if !meta_str(&old, "deletionTimestamp").is_empty() {
                return Ok(Deletion::Pending(serve(rt, &old)));
            }
            let mut new = old.clone();
            set_path(&mut new, &["metadata", "deletionTimestamp"], json!(now()));
            set_path(
                &mut new,
                &["metadata", "deletionGracePeriodSeconds"],
                json!(0),
            );
            return Ok(Deletion::Pending(serve(
                rt,
                &self.commit(rt, ChangeKind::Modified, new, Some(old)),
            )));
        }
        if rt.group == "apiextensions.k8s.io" {
            let group = old["spec"]["group"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let plural = old["spec"]["names"]["plural"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            self.drop_crd_objects(&group, &plural);
        }
        Ok(Deletion::Done(serve(
            rt,
            &self.commit(rt, ChangeKind::Deleted, old.clone(), Some(old)),
        )))
    }

    /// Test seeding: upserts a whole object (status included) without any precondition.
    pub fn seed(&mut self, mut obj: Value) -> Result<Value, ApiError> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let rt = self
            .registry
            .find_kind(&api_version, &kind)
            .cloned()
            .ok_or_else(|| {
                ApiError::bad_request(&format!("no resource serves {api_version} {kind}"))
            })?;
        check_shape(&rt, &obj)?;
        if meta_str(&obj, "name").is_empty()
            || (rt.namespaced && meta_str(&obj, "namespace").is_empty())
        {
            return Err(ApiError::invalid(
                "seeded objects need metadata.name (and namespace when namespaced)",
            ));
        }
        let old = self
            .stored(&rt, meta_str(&obj, "namespace"), meta_str(&obj, "name"))
            .cloned();
        for (field, value) in [
            ("uid", json!(uuid::Uuid::new_v4().to_string())),
            ("creationTimestamp", json!(now())),
        ] {
            if obj["metadata"][field].is_null() {
                set_path(&mut obj, &["metadata", field], value);
            }
        }
        if rt.generation && obj["metadata"]["generation"].is_null() {
            set_path(&mut obj, &["metadata", "generation"], json!(1));
        }
        apply_defaults(&rt, &mut obj);
        if rt.group == "apiextensions.k8s.io" {
            self.registry.register_crd(&obj)?;
            if obj["status"].is_null() {
                crd_established(&mut obj);
            }
        }
        let kind = if old.is_some() {
            ChangeKind::Modified
        } else {
            ChangeKind::Added
        };
        Ok(self.commit(&rt, kind, obj, old))
    }
}
