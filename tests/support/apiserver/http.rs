//! HTTP/1.1 front: request recording, fault injection, discovery documents and responses.
//!
//! Every handler returns a `Response`; failures become `metav1.Status` bodies, so a bad
//! request never panics the server.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::{Method, Request, Response, StatusCode, body::Incoming, header};
use serde_json::{Value, json};

use super::error::ApiError;
use super::route::{Route, route};
use super::{RecordedRequest, Shared};

pub type Body = BoxBody<Bytes, Infallible>;

pub fn json_response(code: u16, body: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(bytes)).boxed());
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

pub fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.status_json())
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            (b'+', _, _) => out.push(b' '),
            (b, _, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse_query(raw: &str) -> HashMap<String, String> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Entry point for one request: record, inject faults, dispatch.
pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = match req.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return Ok(error_response(&ApiError::bad_request(&format!(
                "reading the body: {e}"
            ))));
        }
    };
    let index = shared.record(RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        content_type: content_type.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: 0,
    });
    if let Some(delay) = shared.slowness() {
        tokio::time::sleep(delay).await;
    }
    if shared.hangs(method.as_str(), &path) {
        std::future::pending::<()>().await;
    }
    let resp = match shared
        .injected_fault()
        .or_else(|| shared.refusal(method.as_str(), &path))
    {
        Some(fault) => error_response(&fault),
        None => dispatch(
            &shared,
            &method,
            &path,
            &parse_query(&query),
            &content_type,
            &body,
        )
        .unwrap_or_else(|e| error_response(&e)),
    };
    shared.set_recorded_status(index, resp.status().as_u16());
    Ok(resp)
}

fn dispatch(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    content_type: &str,
    body: &[u8],
) -> Result<Response<Body>, ApiError> {
    if query.contains_key("dryRun") {
        // Refused rather than ignored, so no test silently relies on a dry run writing.
        return Err(ApiError::bad_request(
            "dryRun is not supported by the in-memory API server",
        ));
    }
    let route = route(&shared.lock().registry, path)?;
    let get_only = |doc: Option<Value>| match (method, doc) {
        (&Method::GET, Some(doc)) => Ok(json_response(200, &doc)),
        (&Method::GET, None) => Err(ApiError::no_route()),
        _ => Err(ApiError::from_code(
            405,
            "the server does not allow this method on the requested resource",
        )),
    };
    let target = match route {
        Route::Version => return get_only(Some(version_info())),
        Route::CoreVersions => {
            let doc = json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": shared.addr.to_string()}]});
            return get_only(Some(doc));
        }
        Route::Groups => return get_only(Some(shared.lock().registry.group_list())),
        Route::Group(g) => return get_only(shared.lock().registry.group(&g)),
        Route::Resources(g, v) => return get_only(shared.lock().registry.resource_list(&g, &v)),
        Route::Resource(target) => target,
    };
    super::rest::resource(shared, method, target, query, content_type, body)
}

fn version_info() -> Value {
    json!({
        "major": "1", "minor": "37", "gitVersion": "v1.37.0-fake", "gitCommit": "", "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z", "goVersion": "none", "compiler": "none", "platform": "linux/amd64",
    })
}
