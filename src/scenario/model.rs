//! A compiled scenario: what `when` matches and what a firing rule does.

use crate::providers::Call;
use regex::Regex;
use serde_json::Value;
use std::time::Duration;

/// One loaded scenario, checked against the specs and the provider's catalogue.
#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub provider: String,
    /// Provider settings (`Provider::configure`), applied on global activation only.
    pub settings: Option<Value>,
    /// State imported into a tenant (`Provider::import`) once per activation.
    pub seed: Option<Value>,
    pub rules: Vec<Rule>,
    /// Where it came from: `scenarios/x.yaml` (embedded), a path, or `<admin API>`.
    pub source: String,
    /// The scenario as written (JSON form), for `GET /__sandbox/scenarios/{name}`.
    pub document: Value,
    /// A documented request and its answer (shipped scenarios all have one).
    pub example: Option<Value>,
}

#[derive(Debug)]
pub struct Rule {
    pub when: When,
    pub respond: Option<Respond>,
    pub delay: Option<Delay>,
    pub fault: Option<Fault>,
    /// Fires on at most this many matches (counted from `after`).
    pub times: Option<u64>,
    /// First match (1-based) on which the rule fires.
    pub after: u64,
    pub then_state: Option<Value>,
}

impl Rule {
    /// Whether the `n`th match (1-based) fires.
    pub fn fires_on(&self, n: u64) -> bool {
        n >= self.after && self.times.is_none_or(|t| n - self.after < t)
    }
}

#[derive(Debug, Default)]
pub struct When {
    /// Empty: every operation of the scenario's provider.
    pub operations: Vec<String>,
    pub path: Vec<(String, Matcher)>,
    pub query: Vec<(String, Matcher)>,
    /// Lower-case header names.
    pub headers: Vec<(String, Matcher)>,
    /// JSON pointers into the body.
    pub body: Vec<(String, Matcher)>,
}

#[derive(Debug)]
pub enum Matcher {
    Equals(Value),
    Regex(Regex),
    Present(bool),
}

impl Matcher {
    /// Matches a value found as text (path, query, header).
    fn text(&self, found: Option<&str>) -> bool {
        match (self, found) {
            (Matcher::Present(want), f) => f.is_some() == *want,
            (_, None) => false,
            (Matcher::Regex(r), Some(s)) => r.is_match(s),
            (Matcher::Equals(Value::String(v)), Some(s)) => v == s,
            // A number or boolean in the file matches its text form in the request.
            (Matcher::Equals(v), Some(s)) => {
                serde_json::from_str::<Value>(s).is_ok_and(|t| t == *v)
            }
        }
    }

    /// Matches a JSON value: exact JSON equality, or a regex over its text.
    fn json(&self, found: Option<&Value>) -> bool {
        match (self, found) {
            (Matcher::Present(want), f) => f.is_some() == *want,
            (_, None) => false,
            (Matcher::Equals(v), Some(f)) => v == f,
            (Matcher::Regex(r), Some(Value::String(s))) => r.is_match(s),
            (Matcher::Regex(r), Some(f @ (Value::Number(_) | Value::Bool(_)))) => {
                r.is_match(&f.to_string())
            }
            (Matcher::Regex(_), Some(_)) => false,
        }
    }
}

impl When {
    pub fn matches(&self, call: &Call) -> bool {
        (self.operations.is_empty() || self.operations.contains(&call.op.id))
            && self.path.iter().all(|(name, m)| {
                m.text(
                    call.params
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str()),
                )
            })
            && self
                .query
                .iter()
                .all(|(name, m)| m.text(call.query.get(name)))
            && self
                .headers
                .iter()
                .all(|(name, m)| m.text(call.header(name)))
            && self
                .body
                .iter()
                .all(|(pointer, m)| m.json(call.body.and_then(|b| b.pointer(pointer))))
    }
}

#[derive(Debug)]
pub enum Respond {
    /// A code of the provider's catalogue, plus extra headers.
    Error {
        code: String,
        headers: Vec<(String, String)>,
    },
    Explicit {
        status: u16,
        headers: Vec<(String, String)>,
        body: Option<Value>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delay {
    pub min_ms: u64,
    pub max_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// RST: the client sees "connection reset by peer".
    Reset,
    /// The connection closes without a byte of answer.
    EmptyResponse,
    /// Status line and headers, then the connection closes before the body.
    CloseAfterHeaders,
    /// The body trickles out `chunk_bytes` at a time.
    SlowBody {
        chunk_bytes: usize,
        interval: Duration,
    },
}

impl Fault {
    /// Reset and empty answers never reach the provider: nothing is processed.
    pub fn drops_request(&self) -> bool {
        matches!(self, Fault::Reset | Fault::EmptyResponse)
    }
}
