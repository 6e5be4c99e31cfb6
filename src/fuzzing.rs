//! Entry points for the fuzz targets in `fuzz/`: not an API, hidden from the docs.

use crate::app::App;
use crate::config::Config;
use crate::server::{self, Role};
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

/// Forgets what earlier inputs did (state, scenario activations, journal, clock), so a
/// crashing input replays alone.
pub fn reset(app: &App) {
    for p in app.providers() {
        p.reset(None);
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

/// Sends `input` as everything one loopback client writes on one connection, through the
/// real connection code, and returns everything the server wrote back.
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
