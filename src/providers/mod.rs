//! The emulated providers. Each one owns everything that is particular to it: how callers
//! authenticate, its error catalogue and envelopes, its stateful handlers and test values.
//! The pipeline only talks to them through [`Provider`].

pub mod eximpe;
pub mod mercadopago;
pub mod square;

use crate::env::Env;
use crate::problem::{BodyProblem, FieldError};
use crate::reply::Reply;
use crate::spec::Operation;
use hyper::{HeaderMap, Method};
use serde_json::Value;
use std::sync::Arc;

/// The names specs use in `info.x-paysandbox-provider`.
pub const NAMES: &[&str] = &[mercadopago::NAME, square::NAME, eximpe::NAME];

/// Whose data a request touches: state is partitioned by credential, as at the providers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant {
    /// The credential the partition is keyed by (access token, client id + merchant id).
    pub key: String,
}

/// Decoded query string: every `name=value` pair in order.
#[derive(Debug, Default, Clone)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let Some(raw) = raw else {
            return Query::default();
        };
        let decode = |s: &str| {
            let s = s.replace('+', " ");
            percent_encoding::percent_decode_str(&s)
                .decode_utf8_lossy()
                .into_owned()
        };
        Query(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(pair), String::new()),
                })
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Everything about one request that a provider may look at.
pub struct Call<'a> {
    pub op: &'a Operation,
    pub method: &'a Method,
    pub path: &'a str,
    pub params: &'a [(String, String)],
    pub query: &'a Query,
    pub headers: &'a HeaderMap,
    /// The parsed JSON body, when the operation takes one and one was sent.
    pub body: Option<&'a Value>,
    pub env: &'a Env,
}

impl Call<'_> {
    /// A path parameter, decoded. Operations only see the parameters their spec declares.
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// A header's value. Hot paths pass a constant [`HeaderName`](hyper::header::HeaderName):
    /// a name given as text is parsed again on every call.
    pub fn header<K: hyper::header::AsHeaderName>(&self, name: K) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A header's value, bytes that are not UTF-8 shown as U+FFFD: for headers whose every
    /// value must be checked (a version header of `2025-08-\xff` is malformed, not absent).
    pub fn header_lossy<K: hyper::header::AsHeaderName>(
        &self,
        name: K,
    ) -> Option<std::borrow::Cow<'_, str>> {
        self.headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
    }

    pub fn body_field(&self, name: &str) -> Option<&Value> {
        self.body.and_then(|b| b.get(name))
    }
}

/// One emulated provider.
pub trait Provider: Send + Sync {
    fn name(&self) -> &'static str;

    /// Checks the presence and form of the caller's credentials; the error is the provider's
    /// own 401.
    fn authenticate(&self, call: &Call) -> Result<Tenant, Reply>;

    /// Renders request validation failures (never empty) in the provider's envelope.
    fn invalid(&self, call: &Call, errors: &[FieldError]) -> Reply;

    /// A body that is not JSON, too large, or missing.
    fn unreadable(&self, op: Option<&Operation>, problem: &BodyProblem) -> Reply;

    fn not_found(&self, method: &Method, path: &str) -> Reply;

    fn method_not_allowed(&self, method: &Method, path: &str, allowed: &[Method]) -> Reply;

    /// The answer for a code of the provider's error catalogue (`"129"`, `CARD_TOKEN_USED`,
    /// `authorization_reference_number_required`), in its exact envelope and status.
    fn catalogue_error(&self, code: &str) -> Option<Reply>;

    /// Every code [`Provider::catalogue_error`] knows, for checking scenario files.
    fn catalogue_codes(&self) -> Vec<String>;

    /// The stateful answer. `None` means "no handler": the pipeline answers with the spec's
    /// documented example.
    fn handle(&self, call: &Call, tenant: &Tenant) -> Option<Reply>;

    /// Headers the provider adds to every answer (e.g. Square's `Square-Version` echo).
    fn finish(&self, _headers: &HeaderMap, _reply: &mut Reply) {}

    /// A 400 for a request the sandbox cannot serve as the test asked (an unknown scenario
    /// in `X-Sandbox-Scenario`), in the provider's own envelope: the integration's SDK reads
    /// it as a provider error and shows the message.
    fn sandbox_misuse(&self, message: &str) -> Reply;

    /// Provider-specific sandbox endpoints under `/__sandbox/<provider>/...` (e.g. minting a
    /// Square card nonce, registering Eximpe credentials). `None`: no such endpoint.
    fn admin(&self, _call: &AdminCall) -> Option<Reply> {
        None
    }

    /// Applies provider settings (card limit, token lifetime, ...) from a JSON object;
    /// unknown or ill-typed settings are refused with a message naming the setting.
    fn configure(&self, settings: &Value) -> Result<(), String> {
        match settings.as_object() {
            Some(map) if map.is_empty() => Ok(()),
            _ => Err(format!("{} has no settings", self.name())),
        }
    }

    /// Checks settings for a scenario file: the error also says where in the settings the
    /// problem is (a JSON pointer, `""` for the settings as a whole), so the file's line can
    /// be named. By default it applies them with [`Provider::configure`], which is why
    /// callers use a scratch instance.
    fn check_settings(&self, settings: &Value) -> Result<(), (String, String)> {
        self.configure(settings).map_err(|e| (String::new(), e))
    }

    /// Credentials for replaying a recording (`paysandbox compare`). Recordings keep
    /// credential headers only as `REDACTED` (`Bearer REDACTED`); the provider swaps in
    /// credentials its emulation accepts, so a replay is not refused as unauthorised — false
    /// drift. `headers` are the recorded ones, names lower-case. Default: unchanged (the
    /// provider accepts `REDACTED` as it is).
    fn replay_credentials(&self, _headers: &mut Vec<(String, String)>) {}

    /// The key this provider files a tenant under, from the tenant as a user names it in the
    /// admin API (a bearer token, an Eximpe client id). Default: the name itself.
    fn tenant_key(&self, named: &str) -> String {
        named.to_string()
    }

    /// Forgets one tenant's state, or everyone's.
    fn reset(&self, _tenant: Option<&str>) {}

    /// Every tenant key that has state.
    fn tenants(&self) -> Vec<String> {
        Vec::new()
    }

    /// One tenant's whole state as JSON (never a full card number). Lossless: importing it
    /// back restores the same state. Used by `GET /__sandbox/state` and snapshots.
    fn export(&self, _tenant: &str) -> Option<Value> {
        None
    }

    /// Merges state into a tenant, in the shape `export` produces; every field of an entity
    /// may be omitted except its id, so scenario files and `POST /__sandbox/state` can seed
    /// briefly. Refuses what it cannot read, naming the field.
    fn import(&self, _tenant: &str, _state: &Value) -> Result<(), String> {
        Err(format!("{} cannot import state", self.name()))
    }
}

/// A request to a provider's sandbox-only endpoint.
pub struct AdminCall<'a> {
    pub method: &'a Method,
    /// The path after `/__sandbox/<provider>`, e.g. `/nonces`.
    pub path: &'a str,
    pub query: &'a Query,
    pub headers: &'a HeaderMap,
    /// The parsed JSON body, if one was sent (`Err` holds the parse error text).
    pub body: Result<Option<Value>, String>,
    pub env: &'a Env,
}

/// The neutral error shape of sandbox-only endpoints: `{"error": {"status", "message"}}`.
pub fn admin_error(status: u16, message: impl Into<String>) -> Reply {
    Reply::neutral(status, message)
}

/// Builds every provider over the shared services.
pub fn build(env: Arc<Env>) -> Vec<Arc<dyn Provider>> {
    vec![
        Arc::new(mercadopago::MercadoPago::new(env.clone())),
        Arc::new(square::Square::new(env.clone())),
        Arc::new(eximpe::Eximpe::new(env)),
    ]
}

/// An `Authorization` header that is not `Bearer <token>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedAuthorization;

/// Bearer token from an `Authorization` header: `Ok(None)` when absent, `Err` when malformed.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, MalformedAuthorization> {
    let Some(value) = headers.get(hyper::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| MalformedAuthorization)?;
    let mut parts = value.splitn(2, ' ');
    let scheme = parts.next().unwrap_or_default();
    let token = parts.next().unwrap_or_default().trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(MalformedAuthorization);
    }
    Ok(Some(token))
}
