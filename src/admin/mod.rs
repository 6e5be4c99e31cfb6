//! Sandbox-only endpoints under `/__sandbox/`, a prefix no provider uses. JSON in and out,
//! errors as `{"error": {"status", "message"}}`.

use crate::app::App;
use crate::providers::{AdminCall, Query, admin_error};
use crate::reply::Reply;
use hyper::{HeaderMap, Method};
use serde_json::{Value, json};
use std::net::SocketAddr;

pub const PREFIX: &str = "/__sandbox";

/// Whether a peer may use the admin API: loopback always; others only with the admin token.
pub fn allowed(app: &App, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    if let Some(expected) = &app.config.admin_token {
        let sent = headers
            .get("x-sandbox-admin-token")
            .and_then(|v| v.to_str().ok())
            .or_else(|| crate::providers::bearer_token(headers).ok().flatten());
        if sent == Some(expected.as_str()) {
            return true;
        }
    }
    peer.is_none_or(|p| p.ip().is_loopback())
}

fn parse_body(bytes: &[u8]) -> Result<Option<Value>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| format!("the body is not valid JSON: {e}"))
}

/// Serves one admin request; `path` starts with [`PREFIX`].
pub fn serve(
    app: &App,
    method: &Method,
    path: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    bytes: &[u8],
) -> Reply {
    let rest = path[PREFIX.len()..].trim_end_matches('/');
    let query = Query::parse(raw_query);
    let body = parse_body(bytes);
    match (method, rest) {
        (&Method::GET, "/health") => Reply::json(
            200,
            json!({ "status": "ok", "operations": app.operations().len() }),
        ),
        (&Method::POST, "/reset") => {
            let body = match body {
                Ok(b) => b.unwrap_or(Value::Null),
                Err(e) => return admin_error(400, e),
            };
            let provider = body
                .get("provider")
                .and_then(Value::as_str)
                .or(query.get("provider"));
            let tenant = body
                .get("tenant")
                .and_then(Value::as_str)
                .or(query.get("tenant"));
            let targets: Vec<_> = app
                .providers()
                .filter(|p| provider.is_none_or(|name| name == p.name()))
                .collect();
            if targets.is_empty() {
                return admin_error(
                    404,
                    format!("unknown provider {:?}", provider.unwrap_or_default()),
                );
            }
            for p in targets {
                p.reset(tenant);
            }
            app.scenarios.forget(tenant);
            Reply::json(
                200,
                json!({ "reset": true, "provider": provider, "tenant": tenant }),
            )
        }
        (_, r) if r == "/scenarios" || r.starts_with("/scenarios/") => {
            crate::scenario::admin::serve(app, method, r, bytes)
        }
        _ => {
            let mut segments = rest.trim_start_matches('/').splitn(2, '/');
            let name = segments.next().unwrap_or_default();
            let sub = format!("/{}", segments.next().unwrap_or_default());
            let Some(provider) = app.providers().find(|p| p.name() == name) else {
                return admin_error(404, format!("no sandbox endpoint {method} {path}"));
            };
            if sub == "/settings" && method == Method::POST {
                let settings = match body {
                    Ok(Some(v)) => v,
                    Ok(None) => return admin_error(400, "send the settings as a JSON object"),
                    Err(e) => return admin_error(400, e),
                };
                return match provider.configure(&settings) {
                    Ok(()) => Reply::json(200, json!({ "provider": name, "settings": settings })),
                    Err(e) => admin_error(400, e),
                };
            }
            let call = AdminCall {
                method,
                path: &sub,
                query: &query,
                headers,
                body,
                env: &app.env,
            };
            provider
                .admin(&call)
                .unwrap_or_else(|| admin_error(404, format!("no sandbox endpoint {method} {path}")))
        }
    }
}
