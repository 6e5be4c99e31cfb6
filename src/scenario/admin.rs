//! `/__sandbox/scenarios`: list, show, load at run time, activate and deactivate.

use super::engine::summary;
use crate::app::App;
use crate::providers::admin_error;
use crate::reply::Reply;
use hyper::Method;
use serde_json::{Value, json};

/// Serves `rest`, the path after `/__sandbox` (it starts with `/scenarios`).
/// `body` is the request read as JSON (as the admin API reads every body); `bytes` are kept
/// for loading a scenario, which may be YAML.
pub fn serve(
    app: &App,
    method: &Method,
    rest: &str,
    bytes: &[u8],
    body: Result<Option<Value>, String>,
) -> Reply {
    let engine = &app.scenarios;
    let parts: Vec<&str> = rest
        .trim_start_matches("/scenarios")
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match (method, parts.as_slice()) {
        (&Method::GET, []) => {
            let list: Vec<Value> = engine.list().iter().map(|s| summary(engine, s)).collect();
            Reply::json(200, json!({ "scenarios": list }))
        }
        (&Method::POST, []) => {
            let Ok(text) = std::str::from_utf8(bytes) else {
                return admin_error(400, "send the scenario as UTF-8 YAML or JSON");
            };
            match engine.add(text) {
                Ok(s) => Reply::json(201, json!({ "scenario": summary(engine, &s) })),
                Err(e) => Reply::json(
                    400,
                    json!({ "error": {
                        "status": 400,
                        "message": e.to_string(),
                        "problems": e.0.iter().map(|p| json!({
                            "line": p.pos.map(|p| p.line),
                            "column": p.pos.map(|p| p.col),
                            "message": p.message,
                        })).collect::<Vec<_>>(),
                    }}),
                ),
            }
        }
        (&Method::GET, [name]) => match engine.get(name) {
            Some(s) => {
                let mut body = summary(engine, &s);
                body["document"] = s.document.clone();
                Reply::json(200, json!({ "scenario": body }))
            }
            None => admin_error(404, format!("unknown scenario {name:?}")),
        },
        (&Method::POST, [name, action @ ("activate" | "deactivate")]) => {
            let Some(s) = engine.get(name) else {
                return admin_error(404, format!("unknown scenario {name:?}"));
            };
            // A JSON `null` body, like none, activates for everyone.
            let body = match crate::admin::body_object(
                body.map(|b| b.filter(|v| !v.is_null())),
                &["tenant"],
            ) {
                Ok(b) => b,
                Err(r) => return r,
            };
            let tenant = match body.get("tenant") {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) if !t.is_empty() => Some(t.as_str()),
                Some(_) => {
                    return admin_error(
                        400,
                        "tenant is the provider credential the state is keyed by (a string)",
                    );
                }
            };
            let Some(provider) = app.providers().find(|p| p.name() == s.provider) else {
                return admin_error(500, format!("no provider {:?}", s.provider));
            };
            // The tenant as the scenario's provider files it (an Eximpe client id `c` is `c/`).
            let key = tenant.map(|t| provider.tenant_key(t));
            if *action == "deactivate" {
                let was = engine.deactivate(name, key.as_deref());
                return Reply::json(
                    200,
                    json!({ "scenario": name, "tenant": tenant, "deactivated": was }),
                );
            }
            match engine.activate(provider.as_ref(), name, key.as_deref()) {
                Ok(()) => Reply::json(
                    200,
                    json!({ "scenario": name, "tenant": tenant, "activated": true }),
                ),
                Err(e) => admin_error(400, e),
            }
        }
        (_, [] | [_, "activate" | "deactivate"] | [_]) => {
            let allowed = match parts.as_slice() {
                [] => "GET, POST",
                [_] => "GET",
                _ => "POST",
            };
            admin_error(
                405,
                format!("{method} is not allowed on /__sandbox{rest}; use {allowed}"),
            )
            .with_header("allow", allowed)
        }
        _ => admin_error(
            404,
            format!("no sandbox endpoint {method} /__sandbox{rest}"),
        ),
    }
}
