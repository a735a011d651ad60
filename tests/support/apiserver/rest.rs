//! The REST verbs on collections, objects and their `/status` and `/scale` subresources.

use std::collections::HashMap;
use std::sync::Arc;

use hyper::{Method, Response};
use serde_json::Value;

use super::Shared;
use super::error::{ApiError, deleted_status};
use super::http::{Body, json_response};
use super::lifecycle::Deletion;
use super::patch::Patch;
use super::route::{Sub, Target};
use super::select::Selector;
use super::watch;

fn not_allowed() -> ApiError {
    ApiError::from_code(
        405,
        "the server does not allow this method on the requested resource",
    )
}

/// Bodies of POST and PUT must be JSON: kubectl first sends protobuf for built-in kinds and,
/// on 415, falls back to JSON (as it does against servers without protobuf support).
fn json_body(content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !(media.is_empty() || media == "application/json") {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types include: application/json (got {media:?})"
            ),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(&format!("invalid JSON body: {e}")))
}

pub fn resource(
    shared: &Arc<Shared>,
    method: &Method,
    target: Target,
    query: &HashMap<String, String>,
    content_type: &str,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    let Target {
        rt,
        namespace,
        name,
        sub,
    } = target;
    let ns = namespace.clone().unwrap_or_default();
    let Some(name) = name else {
        return match *method {
            Method::GET => {
                let param = |k: &str| query.get(k).map(String::as_str);
                let selector = Selector::parse(param("labelSelector"), param("fieldSelector"))?;
                if param("watch").is_some_and(|w| w == "true" || w == "1") {
                    let request = watch::WatchRequest::new(rt, namespace, selector, query)?;
                    return watch::start(shared.clone(), request);
                }
                Ok(json_response(
                    200,
                    &shared.lock().list(&rt, namespace.as_deref(), &selector),
                ))
            }
            Method::POST if rt.namespaced && namespace.is_none() => Err(ApiError::from_code(
                405,
                "POST is not allowed across all namespaces",
            )),
            Method::POST => {
                let obj = json_body(content_type, body)?;
                Ok(json_response(
                    201,
                    &shared.write(|st| st.create(&rt, &ns, obj))?,
                ))
            }
            // No deletecollection.
            _ => Err(not_allowed()),
        };
    };
    let status = sub == Sub::Status;
    match (method.clone(), sub) {
        (Method::GET, Sub::Scale) => Ok(json_response(
            200,
            &shared.lock().get_scale(&rt, &ns, &name)?,
        )),
        (Method::GET, _) => Ok(json_response(200, &shared.lock().get(&rt, &ns, &name)?)),
        (Method::PUT, Sub::Scale) => {
            let scale = json_body(content_type, body)?;
            let replace = |s: &mut Value| {
                *s = scale;
                Ok(())
            };
            let updated = shared.write(|st| st.write_scale(&rt, &ns, &name, replace))?;
            Ok(json_response(200, &updated))
        }
        (Method::PUT, _) => {
            let obj = json_body(content_type, body)?;
            Ok(json_response(
                200,
                &shared.write(|st| st.replace(&rt, &ns, &name, obj, status))?,
            ))
        }
        (Method::PATCH, _) => {
            let patch = Patch::parse(
                content_type,
                body,
                query.get("fieldManager").map(String::as_str),
            )?;
            if sub == Sub::Scale {
                let updated =
                    shared.write(|st| st.write_scale(&rt, &ns, &name, |s| patch.apply_to(s)))?;
                return Ok(json_response(200, &updated));
            }
            let (obj, created) = shared.write(|st| st.patch(&rt, &ns, &name, &patch, status))?;
            Ok(json_response(if created { 201 } else { 200 }, &obj))
        }
        (Method::DELETE, Sub::Main) => match shared.write(|st| st.delete(&rt, &ns, &name))? {
            Deletion::Pending(obj) => Ok(json_response(200, &obj)),
            Deletion::Done(obj) => Ok(json_response(200, &deleted_status(&rt, &obj))),
        },
        _ => Err(not_allowed()),
    }
}
