//! Kubernetes API paths: discovery documents, collections, objects and subresources.

use super::error::ApiError;
use super::registry::{Registry, ResourceType};

/// What an API path addresses.
pub enum Route {
    Version,
    CoreVersions,
    Groups,
    Group(String),
    Resources(String, String),
    Resource(Target),
}

/// Which part of an object a path addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    Main,
    Status,
    /// `autoscaling/v1` Scale of a Deployment or StatefulSet.
    Scale,
}

/// A resource path: a collection (no name), an object, or an object's subresource.
#[derive(Debug, Clone)]
pub struct Target {
    pub rt: ResourceType,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Sub,
}

pub fn route(registry: &Registry, path: &str) -> Result<Route, ApiError> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Ok(Route::Version),
        ["api"] => Ok(Route::CoreVersions),
        ["apis"] => Ok(Route::Groups),
        ["api", v] => Ok(Route::Resources(String::new(), v.to_string())),
        ["apis", g] => Ok(Route::Group(g.to_string())),
        ["apis", g, v] => Ok(Route::Resources(g.to_string(), v.to_string())),
        ["api", v, rest @ ..] => resource_route(registry, "", v, rest),
        ["apis", g, v, rest @ ..] => resource_route(registry, g, v, rest),
        _ => Err(ApiError::no_route()),
    }
}

fn resource_route(
    registry: &Registry,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<Route, ApiError> {
    // `namespaces/{ns}/{plural}/…` unless it is the Namespace object's own `/status`.
    let namespaced = rest.len() >= 3
        && rest[0] == "namespaces"
        && registry
            .find(group, version, rest[2])
            .is_some_and(|t| t.namespaced);
    let (namespace, rest) = if namespaced {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    let (plural, name, sub) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(*sub)),
        _ => return Err(ApiError::no_route()),
    };
    let rt = registry
        .find(group, version, plural)
        .cloned()
        .ok_or_else(ApiError::no_route)?;
    if rt.namespaced && namespace.is_none() && name.is_some() {
        return Err(ApiError::no_route());
    }
    let sub = match sub {
        None => Sub::Main,
        Some("status") if rt.status => Sub::Status,
        Some("scale") if rt.has_scale() => Sub::Scale,
        Some(_) => return Err(ApiError::no_route()),
    };
    Ok(Route::Resource(Target {
        rt,
        namespace,
        name,
        sub,
    }))
}
