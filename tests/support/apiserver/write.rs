//! Create, replace and patch, with the checks the real server makes on each.
//!
//! Faithful parts: 409 AlreadyExists / Conflict, resourceVersion preconditions, immutable
//! metadata, status subresource isolation, generation bumps, no-op writes that neither bump
//! the resourceVersion nor emit an event, finalizer-blocked deletion. Simplified parts are
//! listed in the module docs of `mod.rs`.

use serde_json::{Value, json};

use super::error::ApiError;
use super::lifecycle::crd_established;
use super::patch::Patch;
use super::registry::ResourceType;
use super::store::{ChangeKind, State, meta_str, now, remove_path, serve, set_path};

/// Rejects bodies whose shape would otherwise make later field access ambiguous.
pub(super) fn check_shape(rt: &ResourceType, body: &Value) -> Result<(), ApiError> {
    let Some(map) = body.as_object() else {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    };
    for (field, want) in [("apiVersion", rt.api_version()), ("kind", rt.kind.clone())] {
        match map.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::String(have)) if *have == want => {}
            Some(have) => {
                return Err(ApiError::bad_request(&format!(
                    "the {field} in the data ({have}) does not match the expected {field} ({want})"
                )));
            }
        }
    }
    let meta = &body["metadata"];
    if !(meta.is_object() || meta.is_null()) {
        return Err(ApiError::bad_request("metadata must be an object"));
    }
    for field in ["name", "namespace", "generateName", "resourceVersion"] {
        if !(meta[field].is_string() || meta[field].is_null()) {
            return Err(ApiError::bad_request(&format!(
                "metadata.{field} must be a string"
            )));
        }
    }
    let finalizers_ok = match &meta["finalizers"] {
        Value::Null => true,
        Value::Array(a) => a.iter().all(Value::is_string),
        _ => false,
    };
    if !finalizers_ok {
        return Err(ApiError::bad_request(
            "metadata.finalizers must be a list of strings",
        ));
    }
    Ok(())
}

/// Limits the real server enforces on what is stored, where the project could exceed them: an
/// object name of at most 253 characters, an Event's `reportingInstance` of at most 128, and
/// the Failover status list-map `groups` (key `group`) without duplicate keys.
pub(super) fn check_limits(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    let name = meta_str(obj, "name");
    if name.len() > 253 {
        return Err(ApiError::invalid(&format!(
            "metadata.name: Invalid value: {name:?}: must be no more than 253 characters"
        )));
    }
    if rt.kind == "Event" {
        let instance = obj["reportingInstance"].as_str().unwrap_or_default();
        if instance.len() > 128 {
            return Err(ApiError::invalid(&format!(
                "reportingInstance: Too long: may not be more than 128 bytes ({})",
                instance.len()
            )));
        }
    }
    if rt.kind == "Failover"
        && let Some(groups) = obj["status"]["groups"].as_array()
    {
        let mut seen = std::collections::BTreeSet::new();
        for (i, g) in groups.iter().enumerate() {
            if !seen.insert(g["group"].to_string()) {
                return Err(ApiError::invalid(&format!(
                    "status.groups[{i}]: Duplicate value: {{\"group\":{}}}",
                    g["group"]
                )));
            }
        }
    }
    Ok(())
}

/// The real server's defaulting, reduced to the fields the project reads back.
pub(super) fn apply_defaults(rt: &ResourceType, obj: &mut Value) {
    let (path, default) = match (rt.group.as_str(), rt.kind.as_str()) {
        ("apps", "Deployment" | "StatefulSet") => (["spec", "replicas"], json!(1)),
        ("batch", "CronJob") => (["spec", "suspend"], json!(false)),
        _ => return,
    };
    if obj["spec"][path[1]].is_null() {
        set_path(obj, &path, default);
    }
}

pub(super) fn finalizers(obj: &Value) -> Vec<&str> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Everything but metadata (and status, when it is a subresource): what bumps generation.
fn spec_part(rt: &ResourceType, obj: &Value) -> Value {
    let mut obj = obj.clone();
    remove_path(&mut obj, &["metadata"]);
    if rt.status {
        remove_path(&mut obj, &["status"]);
    }
    obj
}

impl State {
    pub fn create(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        mut body: Value,
    ) -> Result<Value, ApiError> {
        check_shape(rt, &body)?;
        if !meta_str(&body, "resourceVersion").is_empty() {
            return Err(ApiError::internal(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        let mut name = meta_str(&body, "name").to_string();
        if name.is_empty() && !meta_str(&body, "generateName").is_empty() {
            // The real suffix alphabet (no vowels, no confusable characters), 5 characters.
            const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
            let random = uuid::Uuid::new_v4();
            let suffix: String = random.as_bytes()[..5]
                .iter()
                .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
                .collect();
            name = format!("{}{suffix}", meta_str(&body, "generateName"));
        }
        if name.is_empty() {
            return Err(ApiError::invalid(
                "metadata.name: Required value: name or generateName is required",
            ));
        }
        let body_ns = meta_str(&body, "namespace").to_string();
        if rt.namespaced && !body_ns.is_empty() && body_ns != namespace {
            return Err(ApiError::bad_request(&format!(
                "the namespace of the provided object ({body_ns}) does not match the namespace sent on the request ({namespace})"
            )));
        }
        if self.stored(rt, namespace, &name).is_some() {
            return Err(ApiError::already_exists(rt, &name));
        }
        check_limits(
            rt,
            &json!({"metadata": {"name": name}, "reportingInstance": body["reportingInstance"], "status": body["status"]}),
        )?;
        set_path(&mut body, &["apiVersion"], json!(rt.api_version()));
        set_path(&mut body, &["kind"], json!(rt.kind));
        set_path(&mut body, &["metadata", "name"], json!(name));
        if rt.namespaced {
            set_path(&mut body, &["metadata", "namespace"], json!(namespace));
        } else {
            remove_path(&mut body, &["metadata", "namespace"]);
        }
        for field in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
        ] {
            remove_path(&mut body, &["metadata", field]);
        }
        if rt.status {
            remove_path(&mut body, &["status"]);
        }
        set_path(
            &mut body,
            &["metadata", "uid"],
            json!(uuid::Uuid::new_v4().to_string()),
        );
        set_path(&mut body, &["metadata", "creationTimestamp"], json!(now()));
        if rt.generation {
            set_path(&mut body, &["metadata", "generation"], json!(1));
        }
        apply_defaults(rt, &mut body);
        match (rt.group.as_str(), rt.kind.as_str()) {
            ("", "Namespace") => {
                set_path(&mut body, &["status"], json!({"phase": "Active"}));
            }
            ("apiextensions.k8s.io", _) => {
                self.registry.register_crd(&body)?;
                crd_established(&mut body);
            }
            _ => {}
        }
        Ok(serve(rt, &self.commit(rt, ChangeKind::Added, body, None)))
    }

    /// PUT of the object (`status_only` false) or of its `/status` subresource.
    pub fn replace(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        body: Value,
        status_only: bool,
    ) -> Result<Value, ApiError> {
        check_shape(rt, &body)?;
        let old = self
            .stored(rt, namespace, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, name))?;
        let rv = meta_str(&body, "resourceVersion");
        if rv.is_empty() && !rt.builtin {
            // Custom resources do not allow unconditional updates.
            return Err(ApiError::invalid(
                "metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
            ));
        }
        if !rv.is_empty() && rv != meta_str(&old, "resourceVersion") {
            return Err(ApiError::conflict(rt, name));
        }
        self.write_over(rt, namespace, name, old, body, status_only)
    }

    /// PATCH; returns the object and whether a server-side apply created it (201).
    pub fn patch(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        patch: &Patch,
        status_only: bool,
    ) -> Result<(Value, bool), ApiError> {
        let Some(old) = self.stored(rt, namespace, name).cloned() else {
            return match patch {
                // Server-side apply creates what is missing (not through /status).
                Patch::Apply(body) if !status_only => {
                    if meta_str(body, "name") != name {
                        return Err(name_mismatch(meta_str(body, "name"), name));
                    }
                    Ok((self.create(rt, namespace, body.clone())?, true))
                }
                _ => Err(ApiError::not_found(rt, name)),
            };
        };
        let mut patched = serve(rt, &old);
        patch.apply_to(&mut patched)?;
        check_shape(rt, &patched)?;
        // A resourceVersion in the patch is a precondition, as on the real server.
        let rv = meta_str(&patched, "resourceVersion");
        if !rv.is_empty() && rv != meta_str(&old, "resourceVersion") {
            return Err(ApiError::conflict(rt, name));
        }
        Ok((
            self.write_over(rt, namespace, name, old, patched, status_only)?,
            false,
        ))
    }

    /// The common update path: carries immutable metadata over, isolates status, bumps
    /// generation, skips no-op writes and completes finalizer-blocked deletions.
    pub(super) fn write_over(
        &mut self,
        rt: &ResourceType,
        namespace: &str,
        name: &str,
        old: Value,
        candidate: Value,
        status_only: bool,
    ) -> Result<Value, ApiError> {
        if meta_str(&candidate, "name") != name {
            return Err(name_mismatch(meta_str(&candidate, "name"), name));
        }
        let candidate_ns = meta_str(&candidate, "namespace");
        if rt.namespaced && !candidate_ns.is_empty() && candidate_ns != namespace {
            return Err(ApiError::bad_request(&format!(
                "the namespace of the provided object ({candidate_ns}) does not match the namespace sent on the request ({namespace})"
            )));
        }
        let mut new = if status_only {
            let mut new = old.clone();
            match candidate.get("status") {
                Some(status) => set_path(&mut new, &["status"], status.clone()),
                None => {
                    remove_path(&mut new, &["status"]);
                    true
                }
            };
            new
        } else {
            let mut new = candidate;
            if rt.status {
                match old.get("status") {
                    Some(status) => set_path(&mut new, &["status"], status.clone()),
                    None => {
                        remove_path(&mut new, &["status"]);
                        true
                    }
                };
            }
            for field in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "namespace",
            ] {
                match old["metadata"].get(field) {
                    Some(v) => set_path(&mut new, &["metadata", field], v.clone()),
                    None => {
                        remove_path(&mut new, &["metadata", field]);
                        true
                    }
                };
            }
            remove_path(&mut new, &["metadata", "managedFields"]);
            apply_defaults(rt, &mut new);
            new
        };
        set_path(&mut new, &["apiVersion"], old["apiVersion"].clone());
        set_path(
            &mut new,
            &["metadata", "resourceVersion"],
            old["metadata"]["resourceVersion"].clone(),
        );
        let deleting = !meta_str(&old, "deletionTimestamp").is_empty();
        if deleting
            && finalizers(&new)
                .iter()
                .any(|f| !finalizers(&old).contains(f))
        {
            return Err(ApiError::invalid(
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted",
            ));
        }
        if rt.generation && spec_part(rt, &new) != spec_part(rt, &old) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            set_path(&mut new, &["metadata", "generation"], json!(generation));
        }
        check_limits(rt, &new)?;
        if new == old {
            // The real server skips the storage write: same resourceVersion, no watch event.
            return Ok(serve(rt, &old));
        }
        if rt.group == "apiextensions.k8s.io" && !status_only {
            self.registry.register_crd(&new)?;
        }
        if deleting && finalizers(&new).is_empty() {
            return Ok(serve(
                rt,
                &self.commit(rt, ChangeKind::Deleted, new, Some(old)),
            ));
        }
        Ok(serve(
            rt,
            &self.commit(rt, ChangeKind::Modified, new, Some(old)),
        ))
    }
}

fn name_mismatch(have: &str, want: &str) -> ApiError {
    ApiError::bad_request(&format!(
        "the name of the object ({have}) does not match the name on the URL ({want})"
    ))
}
