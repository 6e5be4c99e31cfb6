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
    // A dual-stack listener reports IPv4 clients as `::ffff:127.0.0.1`.
    peer.is_none_or(|p| p.ip().to_canonical().is_loopback())
}

pub(crate) fn parse_body(bytes: &[u8]) -> Result<Option<Value>, String> {
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
            json!({
                "status": "ready",
                "specs": app.spec_count(),
                "operations": app.operations().len(),
                "providers": app.providers().map(|p| p.name()).collect::<Vec<_>>(),
            }),
        ),
        (&Method::POST, "/reset") => reset(app, &query, body),
        (&Method::GET, "/state") => get_state(app, &query),
        (&Method::POST, "/state") => post_state(app, body),
        (&Method::GET, "/journal") => {
            let filter = match journal_filter(app, &query) {
                Ok(f) => f,
                Err(e) => return admin_error(400, e),
            };
            let entries: Vec<Value> = app
                .journal
                .entries(&filter)
                .iter()
                .map(|e| e.to_json())
                .collect();
            Reply::json(200, json!({ "count": entries.len(), "entries": entries }))
        }
        (&Method::GET, "/journal/count") => match journal_filter(app, &query) {
            Ok(f) => Reply::json(200, json!({ "count": app.journal.count(&f) })),
            Err(e) => admin_error(400, e),
        },
        (&Method::DELETE, "/journal") => {
            app.journal.clear();
            Reply::json(200, json!({ "cleared": true }))
        }
        (&Method::GET, "/clock") => clock_state(app, query.get("tenant")),
        (&Method::POST, "/clock/advance") => {
            let body = match body_object(body, &["seconds", "tenant"]) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let tenant = match text_field(&body, "tenant") {
                Ok(t) => t.or(query.get("tenant")),
                Err(r) => return r,
            };
            let Some(seconds) = body
                .get("seconds")
                .and_then(Value::as_f64)
                .filter(|s| *s >= 0.0 && s.is_finite())
            else {
                return admin_error(
                    400,
                    "send {\"seconds\": N} with N a non-negative number (the clock only moves forward)",
                );
            };
            let keys = tenant.map(|t| app.tenant_keys(t)).unwrap_or_default();
            let by_ms = (seconds * 1000.0).min(i64::MAX as f64) as i64;
            if let Err(room_ms) =
                app.env
                    .clock
                    .advance_within(&keys, by_ms, crate::time::CLOCK_LIMIT_MS)
            {
                return admin_error(
                    400,
                    format!(
                        "`seconds` would move the clock past 9000-01-01T00:00:00Z (answers must keep four-digit years); at most {} from now",
                        room_ms / 1000
                    ),
                );
            }
            clock_state(app, tenant)
        }
        (&Method::POST, "/clock/reset") => {
            let body = match body_object(body, &["tenant"]) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let tenant = match text_field(&body, "tenant") {
                Ok(t) => t.or(query.get("tenant")),
                Err(r) => return r,
            };
            match tenant {
                Some(t) => {
                    for key in app.tenant_keys(t) {
                        app.env.clock.reset_tenant(&key);
                    }
                }
                None => app.env.clock.reset(),
            }
            clock_state(app, None)
        }
        (_, r) if r == "/scenarios" || r.starts_with("/scenarios/") => {
            crate::scenario::admin::serve(app, method, r, bytes, body)
        }
        _ => {
            if let Some(allowed) = methods_of(rest) {
                return admin_error(
                    405,
                    format!("{method} is not allowed on /__sandbox{rest}; use {allowed}"),
                )
                .with_header("allow", allowed);
            }
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

/// The methods an endpoint above answers, for a 405 to the others.
fn methods_of(rest: &str) -> Option<&'static str> {
    Some(match rest {
        "/health" | "/journal/count" | "/clock" => "GET, HEAD",
        "/reset" | "/clock/advance" | "/clock/reset" => "POST",
        "/state" => "GET, HEAD, POST",
        "/journal" => "GET, HEAD, DELETE",
        _ => return None,
    })
}

/// The body as a JSON object (none: an empty one) holding only the `known` fields. An
/// unknown field is refused, naming it: a misspelt `tenant` must not turn a one-tenant reset
/// into everyone's.
pub(crate) fn body_object(
    body: Result<Option<Value>, String>,
    known: &[&str],
) -> Result<Value, Reply> {
    let body = match body {
        Ok(Some(v)) if v.is_object() => v,
        Ok(None) => return Ok(json!({})),
        Ok(Some(_)) => return Err(admin_error(400, "the body must be a JSON object")),
        Err(e) => return Err(admin_error(400, e)),
    };
    if let Some(unknown) = body
        .as_object()
        .and_then(|fields| fields.keys().find(|k| !known.contains(&k.as_str())))
    {
        return Err(admin_error(
            400,
            format!(
                "unknown field {unknown:?} in the body; this endpoint reads {}",
                known.join(", ")
            ),
        ));
    }
    Ok(body)
}

/// A text field of an admin body: absent or null is `None`, anything but a non-empty string
/// is refused, naming the field.
fn text_field<'a>(body: &'a Value, name: &str) -> Result<Option<&'a str>, Reply> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) if !t.is_empty() => Ok(Some(t)),
        Some(_) => Err(admin_error(
            400,
            format!("`{name}` must be a non-empty string"),
        )),
    }
}

fn reset(app: &App, query: &Query, body: Result<Option<Value>, String>) -> Reply {
    let body = match body_object(body, &["provider", "tenant"]) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (provider, tenant) = match (text_field(&body, "provider"), text_field(&body, "tenant")) {
        (Ok(p), Ok(t)) => (p.or(query.get("provider")), t.or(query.get("tenant"))),
        (Err(r), _) | (_, Err(r)) => return r,
    };
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
        p.reset(tenant.map(|t| p.tenant_key(t)).as_deref());
    }
    match tenant {
        Some(t) => {
            for key in app.tenant_keys(t) {
                app.scenarios.forget(Some(&key));
                app.env.clock.reset_tenant(&key);
            }
        }
        None => {
            app.scenarios.forget(None);
            if provider.is_none() {
                app.env.clock.reset();
                app.journal.clear();
            }
        }
    }
    Reply::json(
        200,
        json!({ "reset": true, "provider": provider, "tenant": tenant.map(crate::mask::mask_secret) }),
    )
}

/// A tenant's state as shown outside the sandbox: the provider's export, card numbers and
/// secrets masked.
pub fn masked_state(provider: &dyn crate::providers::Provider, tenant: &str) -> Option<Value> {
    provider.export(tenant).map(|mut state| {
        crate::mask::mask_export(&mut state);
        state
    })
}

fn get_state(app: &App, query: &Query) -> Reply {
    let Some(tenant) = query.get("tenant") else {
        return admin_error(
            400,
            "name the tenant: ?tenant=<access token or client id>[&provider=NAME]",
        );
    };
    let provider = query.get("provider");
    let mut states = serde_json::Map::new();
    for p in app
        .providers()
        .filter(|p| provider.is_none_or(|n| n == p.name()))
    {
        if let Some(state) = masked_state(p.as_ref(), &p.tenant_key(tenant)) {
            states.insert(p.name().to_string(), state);
        }
    }
    if provider.is_some_and(|n| !app.providers().any(|p| p.name() == n)) {
        return admin_error(
            404,
            format!("unknown provider {:?}", provider.unwrap_or_default()),
        );
    }
    Reply::json(
        200,
        json!({ "tenant": crate::mask::mask_secret(tenant), "providers": states }),
    )
}

fn post_state(app: &App, body: Result<Option<Value>, String>) -> Reply {
    let body = match body_object(body, &["provider", "tenant", "state"]) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (Some(provider), Some(tenant), Some(state)) = (
        body.get("provider").and_then(Value::as_str),
        body.get("tenant").and_then(Value::as_str),
        body.get("state"),
    ) else {
        return admin_error(
            400,
            "send {\"provider\": NAME, \"tenant\": CREDENTIAL, \"state\": {...}}",
        );
    };
    let Some(p) = app.providers().find(|p| p.name() == provider) else {
        return admin_error(404, format!("unknown provider {provider:?}"));
    };
    match p.import(&p.tenant_key(tenant), state) {
        Ok(()) => Reply::json(
            200,
            json!({ "imported": true, "provider": provider, "tenant": crate::mask::mask_secret(tenant) }),
        ),
        Err(e) => admin_error(400, e),
    }
}

/// The journal's filters, as query parameter names.
const JOURNAL_FILTERS: [&str; 9] = [
    "provider",
    "operation",
    "tenant",
    "status",
    "scenario",
    "method",
    "path",
    "since",
    "limit",
];

/// Reads a journal query. A misspelt filter name, provider or operation is refused: a count
/// asserting "exactly one save" must not pass or fail because a filter matched nothing.
fn journal_filter(app: &App, query: &Query) -> Result<crate::journal::Filter, String> {
    if let Some((name, _)) = query
        .0
        .iter()
        .find(|(k, _)| !JOURNAL_FILTERS.contains(&k.as_str()))
    {
        return Err(format!(
            "unknown journal filter `{name}`; known: {}",
            JOURNAL_FILTERS.join(", ")
        ));
    }
    let provider = query.get("provider");
    if let Some(p) = provider
        && app.providers().all(|known| known.name() != p)
    {
        let names: Vec<&str> = app.providers().map(|p| p.name()).collect();
        return Err(format!(
            "unknown provider {p:?}; known: {}",
            names.join(", ")
        ));
    }
    if let Some(op) = query.get("operation") {
        let mut ids: Vec<String> = app
            .operations()
            .iter()
            .filter(|o| provider.is_none_or(|p| o.provider == p))
            .map(|o| o.id.clone())
            .collect();
        // Deliveries are journaled as `webhook:<event type>`.
        if provider.is_none_or(|p| p == crate::providers::square::NAME) {
            ids.extend(
                crate::webhooks::SQUARE_EVENT_TYPES
                    .iter()
                    .map(|t| format!("webhook:{t}")),
            );
        }
        if !ids.iter().any(|id| id == op) {
            return Err(format!(
                "unknown operation {op:?}{}; known: {}",
                provider.map(|p| format!(" for {p}")).unwrap_or_default(),
                ids.join(", ")
            ));
        }
    }
    let number = |name: &str| -> Result<Option<u64>, String> {
        query
            .get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("`{name}` must be a non-negative integer, got {v:?}"))
            })
            .transpose()
    };
    Ok(crate::journal::Filter {
        provider: query.get("provider").map(str::to_string),
        operation: query.get("operation").map(str::to_string),
        tenant: query.get("tenant").map(str::to_string),
        tenant_keys: app.filter_tenant_keys(query.get("tenant")),
        status: number("status")?.map(|s| s as u16),
        scenario: query.get("scenario").map(str::to_string),
        method: query.get("method").map(str::to_string),
        path: query.get("path").map(str::to_string),
        since: number("since")?,
        limit: number("limit")?.map(|l| l as usize),
    })
}

fn clock_state(app: &App, tenant: Option<&str>) -> Reply {
    let global = app.env.clock.offset_ms();
    let tenant_offset = tenant
        .map(|t| app.env.clock.tenant_offset_ms(t))
        .unwrap_or(0);
    let now = {
        let _t = tenant.map(|t| app.env.clock.enter_tenant(t));
        app.env.clock.now_ms()
    };
    Reply::json(
        200,
        json!({
            "now": crate::time::rfc3339_ms(now),
            "offset_seconds": (global + tenant_offset) as f64 / 1000.0,
            "tenant": tenant.map(crate::mask::mask_secret),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn app(token: Option<&str>) -> App {
        let config = Config {
            admin_token: token.map(str::to_string),
            ..Config::default()
        };
        crate::build_app(config).expect("embedded specs load").0
    }

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().expect("ip"), 40000))
    }

    #[test]
    fn only_loopback_peers_reach_the_admin_api_by_default() {
        let app = app(None);
        let none = HeaderMap::new();
        assert!(allowed(&app, peer("127.0.0.1"), &none));
        assert!(allowed(&app, peer("::1"), &none));
        assert!(allowed(&app, peer("::ffff:127.0.0.1"), &none));
        assert!(!allowed(&app, peer("10.1.2.3"), &none));
        assert!(!allowed(&app, peer("::ffff:192.168.1.9"), &none));
    }

    #[test]
    fn an_admin_token_opens_the_admin_api_to_other_peers() {
        let app = app(Some("let-me-in"));
        let mut headers = HeaderMap::new();
        assert!(!allowed(&app, peer("10.1.2.3"), &headers));
        headers.insert("x-sandbox-admin-token", "wrong".parse().expect("header"));
        assert!(!allowed(&app, peer("10.1.2.3"), &headers));
        headers.insert(
            "x-sandbox-admin-token",
            "let-me-in".parse().expect("header"),
        );
        assert!(allowed(&app, peer("10.1.2.3"), &headers));
    }
}
