//! Record and proxy: `--proxy PROVIDER=URL` forwards that provider's requests to a real
//! upstream, unchanged, and journals each exchange (`direction: "proxied"`); `--record DIR`
//! also writes each exchange as a replayable scenario file (one rule matching the operation
//! and its path parameters, responding with the recorded status and body), with credentials
//! and card numbers redacted. `paysandbox compare DIR` ([`compare`]) replays recordings
//! against the emulation and reports the drift.
//!
//! Upstreams are `http://` or, with the `tls` feature (the default), `https://` — the real
//! sandboxes — through [`crate::outbound`], which also trusts `--ca-file` roots.

pub mod compare;

use crate::app::App;
use crate::journal::{PROXIED, Trace};
use crate::reply::Reply;
use crate::spec::RouteMatch;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Headers that describe one hop, not the message: never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "host",
    "content-length",
];

/// Request headers a recording keeps (credentials are replaced by `REDACTED`).
const RECORDED_HEADERS: &[&str] = &[
    "content-type",
    "square-version",
    "x-api-version",
    "x-idempotency-key",
];

/// Credential headers: recorded, but only as `REDACTED`, so a replay still authenticates.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "x-client-id",
    "x-client-secret",
    "x-merchant-id",
    "x-public-key",
];

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Plain http to the local emulation (`compare`); upstreams go through [`crate::outbound`].
fn client() -> &'static HttpClient {
    static CLIENT: OnceLock<HttpClient> = OnceLock::new();
    CLIENT.get_or_init(|| Client::builder(TokioExecutor::new()).build_http())
}

static RECORDED: AtomicU64 = AtomicU64::new(0);

/// What [`forward`] did with a request.
pub enum Outcome {
    /// Sent upstream: this is the upstream's answer.
    Forwarded(Response<Full<Bytes>>),
    /// Not proxied: the body, untouched, for the emulation.
    Local(Incoming),
}

/// Parses `PROVIDER=URL`.
pub fn parse_proxy(text: &str) -> Result<(String, String), String> {
    let (provider, url) = text
        .split_once('=')
        .ok_or_else(|| format!("--proxy {text}: expected PROVIDER=URL"))?;
    if !crate::providers::NAMES.contains(&provider) {
        return Err(format!(
            "--proxy {text}: unknown provider `{provider}` (known: {})",
            crate::providers::NAMES.join(", ")
        ));
    }
    crate::outbound::check_url(&format!("--proxy {text}: the URL"), url)?;
    Ok((provider.to_string(), url.trim_end_matches('/').to_string()))
}

/// Forwards the request when its provider is proxied; otherwise hands the body back.
pub async fn forward(app: &App, parts: &hyper::http::request::Parts, body: Incoming) -> Outcome {
    if app.config.proxies.is_empty() {
        return Outcome::Local(body);
    }
    let path = parts.uri.path();
    let (provider, operation, params) = match app.route(&parts.method, path) {
        RouteMatch::Found { operation, params } => {
            let op = &app.operations()[operation];
            (Some(op.provider.clone()), Some(op.id.clone()), params)
        }
        RouteMatch::MethodNotAllowed { provider, .. } => (Some(provider), None, Vec::new()),
        RouteMatch::NotFound { provider } => (provider, None, Vec::new()),
    };
    let Some(upstream) = provider
        .as_deref()
        .and_then(|p| app.config.proxies.iter().find(|(name, _)| name == p))
        .map(|(_, url)| url.clone())
    else {
        return Outcome::Local(body);
    };
    if app.declares_too_much(&parts.headers) {
        return Outcome::Forwarded(plain(413, "the request body is too large"));
    }
    let started = Instant::now();
    let at_ms = app.env.clock.now_ms();
    let bytes = match Limited::new(body, app.config.body_limit).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => return Outcome::Forwarded(plain(413, "the request body is too large")),
    };
    let target = match parts.uri.query() {
        Some(q) => format!("{upstream}{path}?{q}"),
        None => format!("{upstream}{path}"),
    };
    let mut request = hyper::Request::builder()
        .method(parts.method.clone())
        .uri(&target);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            request = request.header(name, value);
        }
    }
    let Ok(request) = request.body(Full::new(bytes.clone())) else {
        return Outcome::Forwarded(plain(502, "the request cannot be forwarded"));
    };
    let sent = match app.outbound.client() {
        Ok(client) => client
            .request(request)
            .await
            .map_err(|e| crate::outbound::describe(&e)),
        Err(e) => Err(e),
    };
    let (status, headers, answer) = match sent {
        Ok(response) => {
            let (rparts, rbody) = response.into_parts();
            let answer = rbody
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            (rparts.status, rparts.headers, answer)
        }
        Err(e) => {
            tracing::error!(error = %e, upstream = %upstream, "proxy: upstream unreachable");
            // Named in the answer too: a certificate problem must be visible to the caller.
            let body = Reply::neutral(502, format!("upstream {upstream} unreachable: {e}"));
            let mut h = HeaderMap::new();
            h.insert("content-type", HeaderValue::from_static("application/json"));
            (StatusCode::BAD_GATEWAY, h, body.encode())
        }
    };
    let latency_us = started.elapsed().as_micros() as u64;
    app.journal.record(
        at_ms,
        parts.method.as_str(),
        path,
        parts.uri.query(),
        &parts.headers,
        Trace {
            provider: provider.as_deref().map(Into::into),
            operation: operation.as_deref().map(Into::into),
            tenant: None,
            scenario: None,
            request_body: bytes.clone(),
            direction: Some(PROXIED),
        },
        status.as_u16(),
        latency_us,
        &answer,
    );
    // A HEAD answer has no body to replay: recorded, it would answer GET with an empty one.
    if let (Some(dir), Some(provider), Some(operation), false) = (
        &app.config.record_dir,
        &provider,
        &operation,
        parts.method == Method::HEAD,
    ) {
        let exchange = Exchange {
            provider,
            operation,
            params: &params,
            method: parts.method.as_str(),
            path,
            query: parts.uri.query(),
            headers: &parts.headers,
            request: &bytes,
            status: status.as_u16(),
            response_headers: &headers,
            response: &answer,
        };
        if let Err(e) = record(dir, &exchange) {
            tracing::error!(error = %e, "proxy: cannot write the recording");
        }
    }
    let mut response = Response::new(Full::new(answer.clone()));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response.headers_mut().append(name, value.clone());
        }
    }
    // HEAD keeps the upstream's Content-Length: the size GET's body would have.
    let length = if parts.method == Method::HEAD {
        headers.get(CONTENT_LENGTH).cloned()
    } else {
        Some(HeaderValue::from(answer.len()))
    };
    if let Some(length) = length {
        response.headers_mut().insert(CONTENT_LENGTH, length);
    }
    Outcome::Forwarded(response)
}

fn plain(status: u16, message: &str) -> Response<Full<Bytes>> {
    crate::app::render(Reply::neutral(status, message))
}

/// One proxied exchange, as recorded.
pub struct Exchange<'a> {
    pub provider: &'a str,
    pub operation: &'a str,
    pub params: &'a [(String, String)],
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub request: &'a Bytes,
    pub status: u16,
    pub response_headers: &'a HeaderMap,
    pub response: &'a Bytes,
}

/// A body as JSON with card numbers and secret fields masked (text when it is not JSON).
fn redacted_body(bytes: &[u8]) -> Option<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let mut v = match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => v,
        Err(_) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
    };
    crate::mask::mask_json(&mut v);
    if let Value::String(s) = &v {
        v = Value::String(crate::mask::mask_text(s).into_owned());
    }
    Some(v)
}

/// The scenario document for one exchange.
pub fn scenario_for(name: &str, x: &Exchange) -> Value {
    let mut path_when = Map::new();
    for (k, v) in x.params {
        path_when.insert(k.clone(), json!(crate::mask::mask_text(v)));
    }
    let mut when = Map::new();
    when.insert("operation".into(), json!(x.operation));
    if !path_when.is_empty() {
        when.insert("path".into(), Value::Object(path_when));
    }
    let mut respond = Map::new();
    respond.insert("status".into(), json!(x.status));
    if let Some(body) = redacted_body(x.response) {
        respond.insert("body".into(), body.clone());
    }
    let mut headers = Map::new();
    for name in RECORDED_HEADERS {
        if let Some(v) = x.headers.get(*name).and_then(|v| v.to_str().ok()) {
            headers.insert((*name).into(), json!(crate::mask::mask_text(v)));
        }
    }
    for name in CREDENTIAL_HEADERS {
        if let Some(v) = x.headers.get(*name).and_then(|v| v.to_str().ok()) {
            let redacted = match v.split_once(' ') {
                Some((scheme, _)) => format!("{scheme} REDACTED"),
                None => "REDACTED".into(),
            };
            headers.insert((*name).into(), json!(redacted));
        }
    }
    let path = match x.query {
        Some(q) => format!("{}?{}", x.path, q),
        None => x.path.to_string(),
    };
    let mut request = Map::new();
    request.insert("method".into(), json!(x.method));
    request.insert("path".into(), json!(crate::mask::mask_text(&path)));
    request.insert("headers".into(), Value::Object(headers));
    if let Some(body) = redacted_body(x.request) {
        request.insert("body".into(), body);
    }
    let mut response = Map::new();
    response.insert("status".into(), json!(x.status));
    if let Some(ct) = x
        .response_headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
    {
        response.insert("headers".into(), json!({ "content-type": ct }));
    }
    if let Some(body) = respond.get("body") {
        response.insert("body".into(), body.clone());
    }
    json!({
        "name": name,
        "description": format!("Recorded from {}: {} {} answered {}.", x.provider, x.method, x.path, x.status),
        "provider": x.provider,
        "rules": [{ "when": when, "respond": respond }],
        "example": { "request": request, "response": response },
    })
}

/// Writes one exchange as `DIR/rec-<time>-<n>-<operation>.yaml` (JSON, which is YAML).
fn record(dir: &std::path::Path, x: &Exchange) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let n = RECORDED.fetch_add(1, Ordering::Relaxed) + 1;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let name = format!("rec-{stamp}-{n:04}-{}", x.operation.to_ascii_lowercase());
    let doc = scenario_for(&name, x);
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text + "\n")?;
    std::fs::rename(&tmp, dir.join(format!("{name}.yaml")))
}

/// Sends one request with the shared client: status, headers and body, or the error text.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<Bytes>,
) -> Result<(u16, HeaderMap, Bytes), String> {
    let mut request = hyper::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::try_from(v)) {
            request = request.header(n, v);
        }
    }
    let request = request
        .body(Full::new(body.unwrap_or_default()))
        .map_err(|e| e.to_string())?;
    let response = client().request(request).await.map_err(|e| e.to_string())?;
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .map_err(|e| e.to_string())?;
    Ok((parts.status.as_u16(), parts.headers, bytes))
}
