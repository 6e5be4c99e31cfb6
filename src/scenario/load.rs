//! Scenario text → a checked [`Scenario`], or every problem with its file, line and column.
//!
//! Two layers: serde (`deny_unknown_fields`) catches the structure, then each value is
//! checked against what is loaded — operations from the specs, codes from the provider's
//! error catalogue, regexes, and settings and seeds tried on a scratch copy of the provider.

use super::model::{Delay, Fault, Matcher, Respond, Rule, Scenario, When};
use super::yaml::{self, Doc, Pos};
use crate::env::Env;
use crate::problem::Location;
use crate::providers::{self, Provider};
use crate::spec::Operation;
use hyper::header::{HeaderName, HeaderValue};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// One problem in one scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub pos: Option<Pos>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{}:{}:{}: {}", self.file, p.line, p.col, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Every problem found while loading scenarios.
#[derive(Debug, Clone)]
pub struct LoadErrors(pub Vec<Problem>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        write!(f, "{}", lines.join("\n"))
    }
}

impl std::error::Error for LoadErrors {}

// ---- the file format, as serde reads it --------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    description: String,
    provider: String,
    settings: Option<Value>,
    seed: Option<Value>,
    #[serde(default)]
    rules: Vec<RawRule>,
    /// Read for its structure only; the scenario keeps the JSON form for tools and tests.
    #[allow(dead_code)]
    example: Option<RawExample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    when: RawWhen,
    respond: Option<RawRespond>,
    delay_ms: Option<Value>,
    fault: Option<Value>,
    times: Option<u64>,
    after: Option<u64>,
    then_state: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    operation: Option<Value>,
    path: Option<Map<String, Value>>,
    query: Option<Map<String, Value>>,
    headers: Option<Map<String, Value>>,
    body: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRespond {
    error: Option<Value>,
    status: Option<u16>,
    headers: Option<Map<String, Value>>,
    body: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RawExample {
    request: RawRequest,
    response: Option<RawResponse>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RawRequest {
    method: String,
    path: String,
    #[serde(default)]
    headers: Map<String, Value>,
    body: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RawResponse {
    status: u16,
    #[serde(default)]
    headers: Map<String, Value>,
    body: Option<Value>,
}

// ---- what the checks know --------------------------------------------------------------

struct ProviderFacts {
    name: &'static str,
    /// (operationId, path parameter names)
    operations: Vec<(String, Vec<String>)>,
    codes: BTreeSet<String>,
    /// A private instance: settings and seeds are tried on it, never on the live provider.
    scratch: Arc<dyn Provider>,
    can_import: bool,
}

/// Everything scenario checks compare against, built once from the loaded specs.
pub struct Checker {
    providers: Vec<ProviderFacts>,
}

const SCRATCH_TENANT: &str = "paysandbox-scenario-check";

impl Checker {
    pub fn new(operations: &[Operation]) -> Checker {
        let scratch = providers::build(Arc::new(Env::new(Some(0))));
        let providers = scratch
            .into_iter()
            .map(|p| {
                let ops = operations
                    .iter()
                    .filter(|o| o.provider == p.name())
                    .map(|o| {
                        let params = o
                            .params
                            .iter()
                            .filter(|ps| matches!(ps.location, Location::Path))
                            .map(|ps| ps.name.clone())
                            .collect();
                        (o.id.clone(), params)
                    })
                    .collect();
                // A provider whose import refuses even an empty state has no state import
                // yet: its seeds cannot be tried here nor applied.
                let can_import = p.import(SCRATCH_TENANT, &json!({})).is_ok();
                p.reset(Some(SCRATCH_TENANT));
                ProviderFacts {
                    name: p.name(),
                    operations: ops,
                    codes: p.catalogue_codes().into_iter().collect(),
                    scratch: p,
                    can_import,
                }
            })
            .collect();
        Checker { providers }
    }

    pub fn can_import(&self, provider: &str) -> bool {
        self.providers
            .iter()
            .any(|p| p.name == provider && p.can_import)
    }

    /// Parses and checks one scenario. `stem` is the file name without extension, which a
    /// file's `name` must equal (`None` for scenarios sent to the admin API).
    pub fn load(&self, file: &str, stem: Option<&str>, text: &str) -> Result<Scenario, LoadErrors> {
        let problem = |pos: Pos, message: String| Problem {
            file: file.to_string(),
            pos: Some(pos),
            message,
        };
        let doc = yaml::parse(text).map_err(|(pos, m)| LoadErrors(vec![problem(pos, m)]))?;
        let raw: RawScenario = serde_path_to_error::deserialize(&doc.value).map_err(|e| {
            let pointer = pointer_of(e.path());
            let mut message = e.inner().to_string();
            // serde's path for an unknown field already ends with that field.
            let pos = match unknown_field(&message) {
                Some(field) if pointer.ends_with(&format!("/{}", yaml::segment(&field))) => {
                    doc.key_at(&pointer)
                }
                Some(field) => doc.key_at(&format!("{pointer}/{}", yaml::segment(&field))),
                None => {
                    // A wrong type ("invalid type: string \"two\", expected u64") names the
                    // field it is in, not only its line.
                    let field = e.path().to_string();
                    if !field.is_empty() && field != "." {
                        message = format!("{field}: {message}");
                    }
                    doc.at(&pointer)
                }
            };
            LoadErrors(vec![problem(pos, message)])
        })?;
        let mut c = Compile {
            doc: &doc,
            file,
            problems: Vec::new(),
        };
        let scenario = c.scenario(self, stem, raw);
        if c.problems.is_empty() {
            Ok(scenario)
        } else {
            Err(LoadErrors(c.problems))
        }
    }
}

pub(crate) fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } => Some(format!("/{}", yaml::segment(key))),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

pub(crate) fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

/// The closest candidate by edit distance, when it is close enough to be a typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(&word.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn did_you_mean(s: Option<&str>) -> String {
    s.map(|s| format!(" (did you mean {s}?)"))
        .unwrap_or_default()
}

/// Scenario names travel in a comma-separated header and in URL paths.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

struct Compile<'a> {
    doc: &'a Doc,
    file: &'a str,
    problems: Vec<Problem>,
}

impl Compile<'_> {
    fn fail(&mut self, pointer: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.file.to_string(),
            pos: Some(self.doc.at(pointer)),
            message: message.into(),
        });
    }

    fn scenario(&mut self, checker: &Checker, stem: Option<&str>, raw: RawScenario) -> Scenario {
        if !valid_name(&raw.name) {
            self.fail(
                "/name",
                format!(
                    "the name {:?} must be 1-100 letters, digits, '-', '_' or '.'",
                    raw.name
                ),
            );
        } else if let Some(stem) = stem.filter(|s| *s != raw.name) {
            self.fail(
                "/name",
                format!(
                    "the name {:?} differs from the file name {stem:?}: one scenario per file, named after it",
                    raw.name
                ),
            );
        }
        let facts = checker.providers.iter().find(|p| p.name == raw.provider);
        if facts.is_none() {
            let known: Vec<&str> = checker.providers.iter().map(|p| p.name).collect();
            self.fail(
                "/provider",
                format!(
                    "unknown provider {:?}{} (known: {})",
                    raw.provider,
                    did_you_mean(suggest(&raw.provider, known.iter().copied())),
                    known.join(", ")
                ),
            );
        }
        if let (Some(settings), Some(f)) = (&raw.settings, facts) {
            if !settings.is_object() {
                self.fail(
                    "/settings",
                    "settings must be a mapping of provider settings",
                );
            } else if let Err((pointer, e)) = f.scratch.check_settings(settings) {
                self.fail(
                    &format!("/settings{pointer}"),
                    format!("{} refuses these settings: {e}", f.name),
                );
            }
        }
        if let (Some(seed), Some(f)) = (&raw.seed, facts) {
            self.state("/seed", seed, f);
        }
        if raw.rules.is_empty() && raw.seed.is_none() && raw.settings.is_none() {
            self.fail("", "a scenario needs rules, a seed or settings");
        }
        let rules = raw
            .rules
            .into_iter()
            .enumerate()
            .map(|(i, r)| self.rule(&format!("/rules/{i}"), r, facts))
            .collect();
        Scenario {
            name: raw.name,
            description: raw.description.trim().to_string(),
            provider: raw.provider,
            settings: raw.settings,
            seed: raw.seed,
            rules,
            source: self.file.to_string(),
            document: self.doc.value.clone(),
            example: self.doc.value.get("example").cloned(),
        }
    }

    /// A seed or `then_state`: a mapping the provider accepts, tried on the scratch copy.
    fn state(&mut self, pointer: &str, state: &Value, f: &ProviderFacts) {
        if !state.is_object() {
            self.fail(
                pointer,
                "state must be a mapping in the provider's export shape",
            );
            return;
        }
        if !f.can_import {
            tracing::warn!(
                file = self.file,
                provider = f.name,
                "this provider cannot import state yet: the scenario's state will not be applied"
            );
            return;
        }
        let result = f.scratch.import(SCRATCH_TENANT, state);
        f.scratch.reset(Some(SCRATCH_TENANT));
        if let Err(e) = result {
            self.fail(pointer, format!("{} refuses this state: {e}", f.name));
        }
    }

    fn rule(&mut self, at: &str, raw: RawRule, facts: Option<&ProviderFacts>) -> Rule {
        let when = self.when(&format!("{at}/when"), raw.when, facts);
        let acts = raw.respond.is_some()
            || raw.delay_ms.is_some()
            || raw.fault.is_some()
            || raw.then_state.is_some();
        let respond = raw
            .respond
            .and_then(|r| self.respond(&format!("{at}/respond"), r, facts));
        let delay = raw
            .delay_ms
            .and_then(|d| self.delay(&format!("{at}/delay_ms"), &d));
        let fault = raw
            .fault
            .and_then(|f| self.fault(&format!("{at}/fault"), &f));
        if let (Some(state), Some(f)) = (&raw.then_state, facts) {
            self.state(&format!("{at}/then_state"), state, f);
        }
        if !acts {
            self.fail(
                at,
                "this rule does nothing: give it respond, delay_ms, fault or then_state",
            );
        }
        if raw.times == Some(0) {
            self.fail(&format!("{at}/times"), "times must be at least 1");
        }
        if raw.after == Some(0) {
            self.fail(
                &format!("{at}/after"),
                "after counts matches from 1 (after: 1 fires on the first match)",
            );
        }
        Rule {
            when,
            respond,
            delay,
            fault,
            times: raw.times,
            after: raw.after.unwrap_or(1).max(1),
            then_state: raw.then_state,
        }
    }

    fn when(&mut self, at: &str, raw: RawWhen, facts: Option<&ProviderFacts>) -> When {
        let mut when = When::default();
        let ops: Vec<(String, Value)> = match raw.operation {
            None => Vec::new(),
            Some(Value::String(s)) => vec![(format!("{at}/operation"), Value::String(s))],
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("{at}/operation/{i}"), v))
                .collect(),
            Some(_) => {
                self.fail(
                    &format!("{at}/operation"),
                    "operation must be an operationId or a list of them",
                );
                Vec::new()
            }
        };
        for (pointer, v) in ops {
            let Value::String(op) = v else {
                self.fail(&pointer, "an operation is an operationId string");
                continue;
            };
            if let Some(f) = facts
                && !f.operations.iter().any(|(id, _)| *id == op)
            {
                let s = suggest(&op, f.operations.iter().map(|(id, _)| id.as_str()));
                self.fail(
                    &pointer,
                    format!(
                        "unknown operation {op:?} for provider {}{}",
                        f.name,
                        did_you_mean(s)
                    ),
                );
            }
            when.operations.push(op);
        }
        for (name, v) in raw.path.unwrap_or_default() {
            let pointer = format!("{at}/path/{}", yaml::segment(&name));
            if let Some(f) = facts {
                let declared: Vec<&str> = f
                    .operations
                    .iter()
                    .filter(|(id, _)| when.operations.is_empty() || when.operations.contains(id))
                    .flat_map(|(_, params)| params.iter().map(String::as_str))
                    .collect();
                if !declared.contains(&name.as_str()) {
                    self.problems.push(Problem {
                        file: self.file.to_string(),
                        pos: Some(self.doc.key_at(&pointer)),
                        message: format!(
                            "unknown path parameter {name:?} for {}{}",
                            if when.operations.is_empty() {
                                "any operation".to_string()
                            } else {
                                when.operations.join(", ")
                            },
                            did_you_mean(suggest(&name, declared.iter().copied()))
                        ),
                    });
                }
            }
            if let Some(m) = self.matcher(&pointer, &v) {
                when.path.push((name, m));
            }
        }
        for (name, v) in raw.query.unwrap_or_default() {
            let pointer = format!("{at}/query/{}", yaml::segment(&name));
            if let Some(m) = self.matcher(&pointer, &v) {
                when.query.push((name, m));
            }
        }
        for (name, v) in raw.headers.unwrap_or_default() {
            let pointer = format!("{at}/headers/{}", yaml::segment(&name));
            if HeaderName::try_from(name.as_str()).is_err() {
                self.fail(&pointer, format!("{name:?} is not a valid header name"));
                continue;
            }
            if let Some(m) = self.matcher(&pointer, &v) {
                when.headers.push((name.to_ascii_lowercase(), m));
            }
        }
        for (field, v) in raw.body.unwrap_or_default() {
            let pointer = format!("{at}/body/{}", yaml::segment(&field));
            // A plain name is a top-level field; a JSON pointer reaches into nested ones.
            let target = if field.starts_with('/') {
                field.clone()
            } else {
                format!("/{}", yaml::segment(&field))
            };
            if let Some(m) = self.matcher(&pointer, &v) {
                when.body.push((target, m));
            }
        }
        when
    }

    fn matcher(&mut self, at: &str, v: &Value) -> Option<Matcher> {
        let Value::Object(map) = v else {
            return Some(Matcher::Equals(v.clone()));
        };
        let mut entries = map.iter();
        let (Some((kind, arg)), None) = (entries.next(), entries.next()) else {
            self.fail(
                at,
                "a matcher is a value, or exactly one of {regex: ...}, {present: true|false}, {equals: ...}",
            );
            return None;
        };
        let arg_at = format!("{at}/{}", yaml::segment(kind));
        match (kind.as_str(), arg) {
            ("equals", v) => Some(Matcher::Equals(v.clone())),
            ("present", Value::Bool(b)) => Some(Matcher::Present(*b)),
            ("present", _) => {
                self.fail(&arg_at, "present takes true or false");
                None
            }
            ("regex", Value::String(r)) => match regex::Regex::new(r) {
                Ok(re) => Some(Matcher::Regex(re)),
                Err(e) => {
                    let detail = e.to_string();
                    let last = detail.lines().last().unwrap_or_default().trim().to_string();
                    self.fail(&arg_at, format!("bad regex {r:?}: {last}"));
                    None
                }
            },
            ("regex", _) => {
                self.fail(&arg_at, "regex takes a string");
                None
            }
            (other, _) => {
                let s = suggest(other, ["regex", "present", "equals"].into_iter());
                self.problems.push(Problem {
                    file: self.file.to_string(),
                    pos: Some(self.doc.key_at(&arg_at)),
                    message: format!(
                        "unknown matcher {other:?}{} (use regex, present or equals)",
                        did_you_mean(s)
                    ),
                });
                None
            }
        }
    }

    fn headers(&mut self, at: &str, raw: Option<Map<String, Value>>) -> Vec<(String, String)> {
        // Headers hyper and the pipeline set from the answer itself; a scenario's copy would
        // contradict them (a `Transfer-Encoding: chunked` on a sized body reads as empty).
        const FRAMING_HEADERS: &[&str] = &[
            "content-length",
            "transfer-encoding",
            "connection",
            "keep-alive",
            "upgrade",
            "te",
            "trailer",
        ];
        let mut out = Vec::new();
        for (name, v) in raw.unwrap_or_default() {
            let pointer = format!("{at}/{}", yaml::segment(&name));
            let value = match &v {
                Value::String(s) => s.clone(),
                Value::Number(_) | Value::Bool(_) => v.to_string(),
                _ => {
                    self.fail(&pointer, "a header value is a string or a number");
                    continue;
                }
            };
            if HeaderName::try_from(name.as_str()).is_err() {
                self.fail(&pointer, format!("{name:?} is not a valid header name"));
            } else if FRAMING_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                self.fail(
                    &pointer,
                    format!(
                        "{name:?} frames the HTTP message, which paysandbox writes itself (a wrong one leaves the client reading nothing); use a fault for a broken answer"
                    ),
                );
            } else if HeaderValue::try_from(value.as_str()).is_err() {
                self.fail(&pointer, format!("{value:?} is not a valid header value"));
            } else {
                out.push((name.to_ascii_lowercase(), value));
            }
        }
        out
    }

    fn respond(
        &mut self,
        at: &str,
        raw: RawRespond,
        facts: Option<&ProviderFacts>,
    ) -> Option<Respond> {
        let headers = self.headers(&format!("{at}/headers"), raw.headers);
        match (raw.error, raw.status) {
            (Some(_), Some(_)) | (Some(_), None) if raw.body.is_some() => {
                self.fail(
                    &format!("{at}/body"),
                    "respond takes either error (a catalogue code) or status and body, not both",
                );
                None
            }
            (Some(_), Some(_)) => {
                self.fail(
                    &format!("{at}/status"),
                    "respond takes either error (a catalogue code, which sets the status) or status and body, not both",
                );
                None
            }
            (Some(code), None) => {
                let pointer = format!("{at}/error");
                let code = match code {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    _ => {
                        self.fail(
                            &pointer,
                            "error is a catalogue code such as \"129\" or CARD_TOKEN_USED",
                        );
                        return None;
                    }
                };
                let f = facts?;
                if !f.codes.contains(&code) {
                    let s = suggest(&code, f.codes.iter().map(String::as_str));
                    self.fail(
                        &pointer,
                        format!(
                            "unknown error code {code:?} for provider {}{}",
                            f.name,
                            did_you_mean(s)
                        ),
                    );
                    return None;
                }
                Some(Respond::Error { code, headers })
            }
            (None, Some(status)) => {
                // 1xx are interim answers: a client would wait for the real one forever.
                if !(200..=599).contains(&status) {
                    self.fail(
                        &format!("{at}/status"),
                        "status must be between 200 and 599",
                    );
                    return None;
                }
                if matches!(status, 204 | 205 | 304)
                    && raw.body.as_ref().is_some_and(|b| !b.is_null())
                {
                    self.fail(
                        &format!("{at}/body"),
                        format!("a {status} answer has no body (RFC 9110); drop body or use another status"),
                    );
                    return None;
                }
                Some(Respond::Explicit {
                    status,
                    headers,
                    body: raw.body,
                })
            }
            (None, None) => {
                self.fail(
                    at,
                    "respond needs error (a catalogue code) or status (with an optional body)",
                );
                None
            }
        }
    }

    fn delay(&mut self, at: &str, v: &Value) -> Option<Delay> {
        const MAX: u64 = 600_000;
        let ms = |v: &Value| v.as_u64().filter(|n| *n <= MAX);
        let delay = match v {
            Value::Array(pair) if pair.len() == 2 => match (ms(&pair[0]), ms(&pair[1])) {
                (Some(min), Some(max)) if min <= max => Some(Delay {
                    min_ms: min,
                    max_ms: max,
                }),
                _ => None,
            },
            v => ms(v).map(|n| Delay {
                min_ms: n,
                max_ms: n,
            }),
        };
        if delay.is_none() {
            self.fail(
                at,
                format!(
                    "delay_ms is milliseconds (0-{MAX}), or a range [min, max] with min <= max"
                ),
            );
        }
        delay
    }

    fn fault(&mut self, at: &str, v: &Value) -> Option<Fault> {
        const KINDS: [&str; 4] = [
            "reset",
            "empty_response",
            "close_after_headers",
            "slow_body",
        ];
        let (kind, options) = match v {
            Value::String(s) => (s.as_str(), None),
            Value::Object(map) if map.len() == 1 => {
                let (k, o) = map.iter().next()?;
                (k.as_str(), Some(o))
            }
            _ => ("", None),
        };
        let fault = match (kind, options) {
            ("reset", None) => Fault::Reset,
            ("empty_response", None) => Fault::EmptyResponse,
            ("close_after_headers", None) => Fault::CloseAfterHeaders,
            ("slow_body", options) => {
                let opts = options.cloned().unwrap_or(json!({}));
                let read = |k: &str, default: u64| -> Option<u64> {
                    match opts.get(k) {
                        None => Some(default),
                        Some(v) => v.as_u64().filter(|n| *n >= 1 && *n <= 60_000),
                    }
                };
                let known = opts
                    .as_object()
                    .is_some_and(|m| m.keys().all(|k| k == "chunk_bytes" || k == "interval_ms"));
                match (known, read("chunk_bytes", 16), read("interval_ms", 200)) {
                    (true, Some(chunk), Some(interval)) => Fault::SlowBody {
                        chunk_bytes: chunk as usize,
                        interval: Duration::from_millis(interval),
                    },
                    _ => {
                        self.fail(
                            &format!("{at}/slow_body"),
                            "slow_body takes chunk_bytes and interval_ms (1-60000 each)",
                        );
                        return None;
                    }
                }
            }
            (k, _) => {
                let s = suggest(k, KINDS.into_iter());
                self.fail(
                    at,
                    format!(
                        "unknown fault {k:?}{} (one of {})",
                        did_you_mean(s),
                        KINDS.join(", ")
                    ),
                );
                return None;
            }
        };
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        let ops = ["saveCard", "listCards", "createCustomer"];
        assert_eq!(suggest("saveCrd", ops.into_iter()), Some("saveCard"));
        assert_eq!(suggest("deleteEverything", ops.into_iter()), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn names_are_header_and_url_safe() {
        assert!(valid_name("mp-save-card-129"));
        assert!(!valid_name("a,b"));
        assert!(!valid_name(""));
    }
}
