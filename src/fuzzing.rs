//! Entry points for the fuzz targets in `fuzz/`: not an API, hidden from the docs.

use crate::app::App;
use crate::config::Config;
use crate::providers::{AdminCall, Provider, Query};
use crate::server::{self, Role};
use hyper::{HeaderMap, Method};
use serde_json::{Map, Value, json};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

/// The strict app a fuzzing process serves every input with.
pub fn app() -> Arc<App> {
    let config = Config {
        strict: true,
        seed: Some(0),
        ..Config::default()
    };
    match crate::build_app(config) {
        Ok((app, _)) => Arc::new(app),
        Err(e) => panic!("the embedded specs and scenarios must load: {e}"),
    }
}

/// The settings each provider starts with (their settings modules' defaults); registered
/// credentials are removed separately.
const DEFAULT_SETTINGS: &[(&str, &str)] = &[
    (
        "mercadopago",
        r#"{"max_cards_per_customer": 25, "card_token_ttl_seconds": 604800, "strict_test_emails": false}"#,
    ),
    ("square", r#"{"nonce_ttl_seconds": 86400}"#),
    (
        "eximpe",
        r#"{"only_registered": false, "forbidden_clients": [], "default_api_version": "2.0.0"}"#,
    ),
];

/// Forgets what earlier inputs did (state, settings, scenario activations, journal, clock),
/// so a crashing input replays alone. Scenarios loaded at run time stay: see
/// [`library_changed`].
pub fn reset(app: &App) {
    for p in app.providers() {
        p.reset(None);
        for (name, settings) in DEFAULT_SETTINGS {
            if *name == p.name()
                && let Ok(v) = serde_json::from_str(settings)
            {
                let _ = p.configure(&v);
            }
        }
        forget_credentials(app, p.as_ref());
    }
    for s in app.scenarios.list() {
        let (_, tenants) = app.scenarios.activations_of(&s.name);
        app.scenarios.deactivate(&s.name, None);
        for t in tenants {
            app.scenarios.deactivate(&s.name, Some(&t));
        }
    }
    app.scenarios.forget(None);
    app.journal.clear();
    app.env.clock.reset();
}

/// Removes every registered credential (Eximpe's `credentials` setting merges, so each
/// name is cleared by name, as `GET /__sandbox/<provider>/settings` lists them).
fn forget_credentials(app: &App, p: &dyn Provider) {
    let call = AdminCall {
        method: &Method::GET,
        path: "/settings",
        query: &Query::parse(None),
        headers: &HeaderMap::new(),
        body: Ok(None),
        env: &app.env,
    };
    let Some(reply) = p.admin(&call) else {
        return;
    };
    let Some(body) = reply.tree() else {
        return;
    };
    let Some(registered) = body
        .get("credentials")
        .and_then(Value::as_object)
        .filter(|c| !c.is_empty())
    else {
        return;
    };
    let cleared: Map<String, Value> = registered
        .keys()
        .map(|k| (k.clone(), Value::Null))
        .collect();
    let _ = p.configure(&json!({ "credentials": cleared }));
}

/// The scenario library as loaded, to notice an input that added or replaced a scenario.
pub fn library(app: &App) -> Vec<Arc<crate::scenario::model::Scenario>> {
    app.scenarios.list()
}

/// Whether the library differs from `before` (such an app needs rebuilding).
pub fn library_changed(app: &App, before: &[Arc<crate::scenario::model::Scenario>]) -> bool {
    let now = app.scenarios.list();
    now.len() != before.len() || now.iter().zip(before).any(|(a, b)| !Arc::ptr_eq(a, b))
}

/// Sends `input` as everything one loopback client writes on one connection, through the
/// real connection code, and returns everything the server wrote back.
///
/// Run it on a paused-time runtime (as the fuzz target does): the client half-closes only
/// once the server waits for input, because hyper closes a connection at end of input
/// without serving requests still in its buffer — waiting lets every pipelined request be
/// answered, and on paused time the wait costs nothing.
pub async fn exchange(app: Arc<App>, input: &[u8]) -> Vec<u8> {
    let (client, server_end) = tokio::io::duplex(64 * 1024);
    let (_keep_open, shutdown) = watch::channel(false);
    let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 40000));
    let (mut read, mut write) = tokio::io::split(client);
    let mut out = Vec::new();
    // Writing, reading and serving run together: a large input and a large answer would
    // otherwise fill the in-memory pipe both ways.
    tokio::join!(
        server::serve_io(server_end, peer, app, Role::Main, shutdown),
        async {
            let _ = write.write_all(input).await;
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            let _ = write.shutdown().await;
        },
        async {
            let _ = read.read_to_end(&mut out).await;
        },
    );
    out
}

/// Answers the journal recorded that strict mode had to replace: the sandbox broke its spec.
pub fn strict_violations(app: &App) -> Vec<String> {
    app.journal
        .entries(&crate::journal::Filter::default())
        .into_iter()
        .filter(|e| {
            serde_json::from_slice::<serde_json::Value>(&e.response_body)
                .is_ok_and(|v| v.get("paysandbox_strict_violation").is_some())
        })
        .map(|e| {
            format!(
                "{} {} -> {}",
                e.method,
                e.path,
                String::from_utf8_lossy(&e.response_body)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_settings_are_accepted_by_every_provider() {
        let app = app();
        for p in app.providers() {
            let (_, text) = DEFAULT_SETTINGS
                .iter()
                .find(|(n, _)| *n == p.name())
                .expect("defaults for every provider");
            let v = serde_json::from_str(text).expect("JSON");
            assert_eq!(p.configure(&v), Ok(()), "{}", p.name());
        }
    }

    #[test]
    fn an_exchange_serves_every_pipelined_request_on_the_connection() {
        let app = app();
        let body = r#"{"identifier": "USER_1", "card_number": "4111111111111111", "cardholder_name": "Ana", "expiry_month": 12, "expiry_year": 2040, "network": "visa", "card_type": "credit_card"}"#;
        let input = format!(
            "GET /__sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n\
             POST /pg/tokens/ HTTP/1.1\r\nHost: x\r\nX-Client-ID: shop-1\r\n\
             X-Client-Secret: s3cret\r\nX-API-Version: 1.0.0\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime");
        let out = runtime.block_on(exchange(app.clone(), input.as_bytes()));
        let out = String::from_utf8_lossy(&out);
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2, "{out}");
        assert!(out.contains("Card details saved successfully"), "{out}");
        assert!(strict_violations(&app).is_empty());
    }

    #[test]
    fn a_reset_forgets_settings_and_registered_credentials() {
        let app = app();
        let eximpe = app
            .providers()
            .find(|p| p.name() == "eximpe")
            .expect("eximpe")
            .clone();
        eximpe
            .configure(&json!({"credentials": {"shop-1": "s3cret"}, "only_registered": true}))
            .expect("valid settings");
        reset(&app);
        let call = AdminCall {
            method: &Method::GET,
            path: "/settings",
            query: &Query::parse(None),
            headers: &HeaderMap::new(),
            body: Ok(None),
            env: &app.env,
        };
        let settings = eximpe
            .admin(&call)
            .and_then(|r| r.tree())
            .expect("settings");
        assert_eq!(settings["credentials"], json!({}));
        assert_eq!(settings["only_registered"], json!(false));
    }
}
