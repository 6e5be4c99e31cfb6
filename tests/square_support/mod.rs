//! Square test support: a client that speaks as one seller (access token), mints nonces, and
//! checks every answer it receives against Square's official OpenAPI document as well (the
//! sandbox's own spec is checked by strict mode).
#![allow(dead_code)]

use crate::common::{self, Answer, TestSandbox};
use paysandbox::spec::schema::{self, Direction};
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::sync::OnceLock;

pub const OK_NONCE: &str = "cnon:card-nonce-ok";

/// The official document: `shared/reference/square/api.json` beside the crate
/// (`../shared/...`), or beside one of its ancestors (a worktree checked out deeper).
pub fn official_spec_path() -> std::path::PathBuf {
    let crate_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let relative = "shared/reference/square/api.json";
    crate_dir
        .ancestors()
        .skip(1)
        .map(|dir| dir.join(relative))
        .find(|p| p.is_file())
        .unwrap_or_else(|| crate_dir.join("..").join(relative))
}

/// One operation of the official document: method, path template, 200-response validator.
struct OfficialOp {
    method: Method,
    segments: Vec<String>,
    validator: jsonschema::Validator,
}

pub struct Official {
    ops: Vec<OfficialOp>,
}

/// The paths the sandbox serves, whose official response schemas are compiled.
const SERVED: &[&str] = &[
    "/v2/customers",
    "/v2/customers/search",
    "/v2/customers/{customer_id}",
    "/v2/customers/{customer_id}/cards",
    "/v2/customers/{customer_id}/cards/{card_id}",
    "/v2/cards",
    "/v2/cards/{card_id}",
    "/v2/cards/{card_id}/disable",
];

impl Official {
    /// Compiles the official response schemas of the served operations (Square's spec has
    /// one response type per operation, which carries `errors` on failure too).
    pub fn load(doc: &Value) -> Result<Official, String> {
        let schemas = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .ok_or("no components.schemas")?;
        let mut ops = Vec::new();
        for path in SERVED {
            let item = doc
                .pointer(&format!("/paths/{}", schema::escape_pointer(path)))
                .and_then(Value::as_object)
                .ok_or_else(|| format!("official spec has no path {path}"))?;
            for (method, op) in item {
                let Some(node) = op.pointer("/responses/200/content/application~1json/schema")
                else {
                    continue;
                };
                let root = schema::translate(node, "#", Direction::Response)
                    .map_err(|e| format!("{}: {}", e.pointer, e.problem))?;
                let mut needed = BTreeSet::new();
                schema::references(&root, &mut needed);
                let mut pending: Vec<String> = needed.iter().cloned().collect();
                let mut defs = Map::new();
                while let Some(name) = pending.pop() {
                    let raw = schemas
                        .get(&name)
                        .ok_or_else(|| format!("missing schema {name}"))?;
                    let def = schema::translate(
                        raw,
                        &format!("#/components/schemas/{name}"),
                        Direction::Response,
                    )
                    .map_err(|e| format!("{}: {}", e.pointer, e.problem))?;
                    let mut more = BTreeSet::new();
                    schema::references(&def, &mut more);
                    for m in more {
                        if needed.insert(m.clone()) {
                            pending.push(m);
                        }
                    }
                    defs.insert(name, def);
                }
                let mut root = root;
                if let Value::Object(map) = &mut root {
                    map.insert("definitions".into(), Value::Object(defs));
                }
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft4)
                    .should_validate_formats(false)
                    .build(&root)
                    .map_err(|e| format!("{method} {path}: {e}"))?;
                ops.push(OfficialOp {
                    method: method.to_uppercase().parse().map_err(|_| "bad method")?,
                    segments: path.split('/').map(str::to_string).collect(),
                    validator,
                });
            }
        }
        Ok(Official { ops })
    }

    /// Problems with `body` as the answer to `method path`, per the official response type.
    pub fn check(&self, method: &Method, path: &str, body: &Value) -> Result<(), String> {
        let path = path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        // A literal segment beats a template (`/v2/customers/search`).
        let op = self
            .ops
            .iter()
            .filter(|op| op.method == *method && op.segments.len() == segments.len())
            .filter(|op| {
                op.segments
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t.starts_with('{') || t == s)
            })
            .min_by_key(|op| op.segments.iter().filter(|t| t.starts_with('{')).count())
            .ok_or_else(|| format!("no official operation for {method} {path}"))?;
        let problems: Vec<String> = op
            .validator
            .iter_errors(body)
            .map(|e| format!("at `{}`: {}", e.instance_path(), e))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// The official document compiled once per test binary; `None` (with a message) when the
/// reference folder is not beside the crate.
pub fn official() -> Option<&'static Official> {
    static OFFICIAL: OnceLock<Option<Official>> = OnceLock::new();
    OFFICIAL
        .get_or_init(|| {
            let path = official_spec_path();
            let Ok(text) = std::fs::read_to_string(&path) else {
                eprintln!(
                    "skipping the official Square spec check: {} is absent",
                    path.display()
                );
                return None;
            };
            let doc: Value = serde_json::from_str(&text).expect("api.json is JSON");
            Some(Official::load(&doc).expect("official schemas compile"))
        })
        .as_ref()
}

/// A seller talking to the sandbox with its own access token.
pub struct Seller<'a> {
    pub sb: &'a TestSandbox,
    pub token: String,
    /// Square-Version sent with every request (`None`: the header is left out).
    pub version: Option<String>,
}

impl<'a> Seller<'a> {
    pub fn new(sb: &'a TestSandbox, token: &str) -> Self {
        Seller {
            sb,
            token: token.to_string(),
            version: None,
        }
    }

    pub fn with_version(mut self, version: &str) -> Self {
        self.version = Some(version.to_string());
        self
    }

    /// Sends a request as this seller and checks the answer against the official spec.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let auth = format!("Bearer {}", self.token);
        let mut headers = vec![("authorization", auth.as_str())];
        if let Some(v) = &self.version {
            headers.push(("square-version", v.as_str()));
        }
        let answer = self.sb.send(method.clone(), path, &headers, body).await;
        check_official(&method, path, &answer);
        answer
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    /// Creates a customer and answers it (the request must succeed).
    pub async fn customer(&self, body: Value) -> Value {
        let a = self.post("/v2/customers", body).await;
        assert_eq!(a.status, 200, "{:#}", a.body);
        a.body["customer"].clone()
    }

    /// Mints a single-use nonce for a test card (the request must succeed).
    pub async fn mint(&self, card: Value) -> Value {
        let a = mint(self.sb, Some(&self.token), card).await;
        assert_eq!(a.status, 200, "{:#}", a.body);
        a.body
    }

    /// Saves a nonce for a customer with CreateCustomerCard.
    pub async fn save(&self, customer_id: &str, body: Value) -> Answer {
        self.post(&format!("/v2/customers/{customer_id}/cards"), body)
            .await
    }
}

/// Checks an answer against the official response type of its operation.
pub fn check_official(method: &Method, path: &str, answer: &Answer) {
    if let Some(official) = official()
        && !answer.body.is_null()
        && let Err(problem) = official.check(method, path, &answer.body)
    {
        panic!(
            "{method} {path} answered a body that breaks Square's official spec: {problem}\n{:#}",
            answer.body
        );
    }
}

/// `POST /__sandbox/square/nonces`, with the token as bearer (or none).
pub async fn mint(sb: &TestSandbox, token: Option<&str>, card: Value) -> Answer {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|a| vec![("authorization", a)])
        .unwrap_or_default();
    sb.send(
        Method::POST,
        "/__sandbox/square/nonces",
        &headers,
        Some(card),
    )
    .await
}

/// A Visa test card in the shape the nonce endpoint takes.
pub fn visa() -> Value {
    json!({"card_number": "4111 1111 1111 1111", "exp_month": 11, "exp_year": 2031, "cvv": "111", "postal_code": "94103"})
}

/// The current sandbox year (the fixed test nonces expire in December, three years on).
pub fn this_year() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    // Days → civil year, good enough away from New Year's Eve midnight.
    1970 + (secs as f64 / 31_556_952.0) as i64
}

/// Replaces the values at the given JSON pointers with `"<name>"` so a body with generated
/// values can be asserted whole after those values were checked separately.
pub fn masked(body: &Value, pointers: &[&str]) -> Value {
    let mut out = body.clone();
    for p in pointers {
        if let Some(v) = out.pointer_mut(p) {
            *v = json!(format!("<{}>", p.rsplit('/').next().unwrap_or_default()));
        }
    }
    out
}

pub async fn start() -> TestSandbox {
    common::start().await
}

/// RFC 3339 with milliseconds, UTC, as the sandbox writes timestamps.
pub fn is_timestamp(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
    })
}
