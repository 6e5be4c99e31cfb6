//! `paysandbox compare DIR`: replays recorded exchanges against the emulation (an in-process
//! sandbox, no scenario active) and reports every difference in status, envelope (the
//! top-level keys of the answer) and field types (every field of the recorded answer,
//! recursively; arrays by their first element). Values are not compared: ids, timestamps
//! and fingerprints differ by nature. Exchanges replay in file-name order in one sandbox,
//! so a recorded sequence (create, then retrieve) keeps its order.
//!
//! Three things make a recording replayable against the emulation without false drift:
//! - credentials: recordings hold `REDACTED`; each provider swaps in ones its emulation
//!   accepts ([`crate::providers::Provider::replay_credentials`]);
//! - ids: when a recorded answer holds id X where the emulation answered Y (same field), later
//!   requests naming X — a path segment, a query value, a body string — are sent with Y, so
//!   create-then-retrieve finds what the replay created;
//! - card numbers: recordings keep only the first six and last four digits; a masked number
//!   in a request body is replayed as a Luhn-valid one with the same six and four.

use super::send;
use crate::{Config, Sandbox};
use bytes::Bytes;
use serde_json::Value;
use std::path::Path;

/// One difference between a recording and the emulation's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The recording's file name.
    pub file: String,
    /// `status`, `envelope` or `type`.
    pub kind: &'static str,
    /// JSON pointer of the field (empty for the status).
    pub at: String,
    pub recorded: String,
    pub emulated: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} {}: recorded {}, emulated {}",
            self.file,
            self.kind,
            if self.at.is_empty() { "-" } else { &self.at },
            self.recorded,
            self.emulated
        )
    }
}

/// The result of a comparison.
#[derive(Debug, Default)]
pub struct Report {
    pub exchanges: usize,
    pub differences: Vec<Difference>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn types(
    file: &str,
    at: &str,
    recorded: &Value,
    emulated: Option<&Value>,
    out: &mut Vec<Difference>,
) {
    let diff = |kind, recorded: String, emulated: String| Difference {
        file: file.to_string(),
        kind,
        at: at.to_string(),
        recorded,
        emulated,
    };
    let Some(emulated) = emulated else {
        out.push(diff("type", type_name(recorded).into(), "missing".into()));
        return;
    };
    let (r, e) = (type_name(recorded), type_name(emulated));
    // An integral number is a number too; and a recording masks any 13-19 digit number as
    // text (`823728******2847`: it might be a card number), which is no drift either.
    let masked_number = matches!(recorded, Value::String(s) if stand_in_card_number(s).is_some());
    let same = r == e
        || (r == "number" && e == "integer")
        || (r == "integer" && e == "number")
        || (masked_number && e == "integer");
    if !same {
        out.push(diff("type", r.into(), e.into()));
        return;
    }
    match (recorded, emulated) {
        (Value::Object(rm), Value::Object(em)) => {
            for (k, rv) in rm {
                let at = format!("{at}/{}", crate::spec::schema::escape_pointer(k));
                types(file, &at, rv, em.get(k), out);
            }
            for k in em.keys().filter(|k| !rm.contains_key(*k)) {
                out.push(Difference {
                    file: file.to_string(),
                    kind: "type",
                    at: format!("{at}/{}", crate::spec::schema::escape_pointer(k)),
                    recorded: "missing".into(),
                    emulated: type_name(&em[k]).into(),
                });
            }
        }
        (Value::Array(ra), Value::Array(ea)) => {
            if let (Some(r0), Some(e0)) = (ra.first(), ea.first()) {
                types(file, &format!("{at}/0"), r0, Some(e0), out);
            }
        }
        _ => {}
    }
}

/// Compares one recorded answer with the emulation's.
pub fn differences(
    file: &str,
    recorded_status: u16,
    recorded: Option<&Value>,
    emulated_status: u16,
    emulated: Option<&Value>,
) -> Vec<Difference> {
    let mut out = Vec::new();
    if recorded_status != emulated_status {
        out.push(Difference {
            file: file.to_string(),
            kind: "status",
            at: String::new(),
            recorded: recorded_status.to_string(),
            emulated: emulated_status.to_string(),
        });
    }
    let keys = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            Some(other) => vec![format!("<{}>", type_name(other))],
            None => Vec::new(),
        }
    };
    let (rk, ek) = (keys(recorded), keys(emulated));
    let mut rs = rk.clone();
    let mut es = ek.clone();
    rs.sort();
    es.sort();
    if rs != es {
        out.push(Difference {
            file: file.to_string(),
            kind: "envelope",
            at: String::new(),
            recorded: format!("{{{}}}", rk.join(", ")),
            emulated: format!("{{{}}}", ek.join(", ")),
        });
    }
    if let Some(r) = recorded {
        types(file, "", r, emulated, &mut out);
    }
    out
}

/// Replays every recording of `dir` against a fresh in-process sandbox built from `config`
/// (its port is ignored: a free one is used; no proxy, no recording).
pub async fn compare(dir: &Path, mut config: Config) -> Result<Report, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    config.port = 0;
    config.proxies.clear();
    config.record_dir = None;
    config.scenarios.clear();
    let sandbox = Sandbox::start(config).await.map_err(|e| e.to_string())?;
    let mut report = Report::default();
    let mut ids = Ids::default();
    for path in files {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{file}: {e}"))?;
        let doc: Value =
            serde_yaml_ng::from_str(&text).map_err(|e| format!("{file}: not YAML: {e}"))?;
        let (Some(request), Some(response)) = (
            doc.pointer("/example/request"),
            doc.pointer("/example/response"),
        ) else {
            continue;
        };
        let method = request["method"].as_str().unwrap_or("GET");
        let target = ids.target(request["path"].as_str().unwrap_or("/"));
        let mut headers: Vec<(String, String)> = request["headers"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let v = v
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string());
                        (k.to_ascii_lowercase(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(provider) = sandbox
            .app()
            .providers()
            .find(|p| Some(p.name()) == doc["provider"].as_str())
        {
            provider.replay_credentials(&mut headers);
        }
        let body = request.get("body").filter(|b| !b.is_null()).map(|b| {
            let mut b = b.clone();
            ids.body(&mut b);
            stand_in_card_numbers(&mut b);
            Bytes::from(serde_json::to_vec(&b).unwrap_or_default())
        });
        let (status, _, answer) = send(
            method,
            &format!("{}{target}", sandbox.url()),
            &headers,
            body,
        )
        .await
        .map_err(|e| format!("{file}: the emulation did not answer: {e}"))?;
        let emulated: Option<Value> = if answer.is_empty() {
            None
        } else {
            Some(
                serde_json::from_slice(&answer)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&answer).into())),
            )
        };
        let recorded_status = response["status"].as_u64().unwrap_or(0) as u16;
        let recorded = response.get("body").filter(|b| !b.is_null());
        if let (true, true, Some(r), Some(e)) = (
            (200..300).contains(&recorded_status),
            (200..300).contains(&status),
            recorded,
            emulated.as_ref(),
        ) {
            ids.learn(r, e);
        }
        report.exchanges += 1;
        report.differences.extend(differences(
            &file,
            recorded_status,
            response.get("body").filter(|b| !b.is_null()),
            status,
            emulated.as_ref(),
        ));
    }
    sandbox.shutdown().await;
    Ok(report)
}

/// Recorded ids (the upstream's) → the emulation's, learnt from answers as the replay goes.
#[derive(Debug, Default)]
struct Ids(Vec<(String, String)>);

/// Fields that hold an entity's identity: `id`, `customer_id`, `card_token`, …
fn is_id_field(name: &str) -> bool {
    name == "id" || name == "token" || name.ends_with("_id") || name.ends_with("_token")
}

impl Ids {
    fn get(&self, recorded: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(r, _)| r == recorded)
            .map(|(_, e)| e.as_str())
    }

    /// Pairs the ids of a recorded answer with the emulation's, field by field.
    fn learn(&mut self, recorded: &Value, emulated: &Value) {
        match (recorded, emulated) {
            (Value::Object(r), Value::Object(e)) => {
                for (k, rv) in r {
                    let Some(ev) = e.get(k) else { continue };
                    match (rv, ev) {
                        (Value::String(x), Value::String(y)) if is_id_field(k) => {
                            // A redacted secret is not an id; a known id keeps its first pair.
                            if x != y && !x.is_empty() && x != "***" && self.get(x).is_none() {
                                self.0.push((x.clone(), y.clone()));
                            }
                        }
                        _ => self.learn(rv, ev),
                    }
                }
            }
            (Value::Array(r), Value::Array(e)) => {
                for (rv, ev) in r.iter().zip(e) {
                    self.learn(rv, ev);
                }
            }
            _ => {}
        }
    }

    /// A recorded path and query with known ids replaced: whole segments and whole values
    /// only, so an id never changes part of another word.
    fn target(&self, target: &str) -> String {
        if self.0.is_empty() {
            return target.to_string();
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let encode = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let swap = |s: &str| -> String {
            match self.get(&decode(s)) {
                Some(e) if decode(s) != s => encode(e),
                Some(e) => {
                    // Kept readable when it needs no escaping (most ids).
                    if e.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.~:".contains(&b))
                    {
                        e.to_string()
                    } else {
                        encode(e)
                    }
                }
                None => s.to_string(),
            }
        };
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let path: Vec<String> = path.split('/').map(swap).collect();
        let mut out = path.join("/");
        if let Some(q) = query {
            let pairs: Vec<String> = q
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => format!("{k}={}", swap(v)),
                    None => pair.to_string(),
                })
                .collect();
            out.push('?');
            out.push_str(&pairs.join("&"));
        }
        out
    }

    /// Replaces known ids among a body's string values.
    fn body(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if let Some(e) = self.get(s) {
                    *s = e.to_string();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.body(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.body(v)),
            _ => {}
        }
    }
}

/// A masked card number (`411111******1111`) as a Luhn-valid number with the same first six
/// and last four digits (the middle digits zero but one), so a replayed save passes the
/// emulation's card number checks and the same masked number always stands for the same
/// card (duplicates stay duplicates).
fn stand_in_card_number(masked: &str) -> Option<String> {
    let b = masked.as_bytes();
    let len = b.len();
    if !(13..=19).contains(&len)
        || !b[..6].iter().all(u8::is_ascii_digit)
        || !b[len - 4..].iter().all(u8::is_ascii_digit)
        || !b[6..len - 4].iter().all(|c| *c == b'*')
    {
        return None;
    }
    let middle = len - 10;
    (0..10u8).find_map(|d| {
        let pan = format!(
            "{}{}{}{}",
            &masked[..6],
            "0".repeat(middle - 1),
            d,
            &masked[len - 4..]
        );
        crate::card::luhn(&pan).then_some(pan)
    })
}

fn stand_in_card_numbers(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Some(pan) = stand_in_card_number(s) {
                *s = pan;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(stand_in_card_numbers),
        Value::Object(map) => map.values_mut().for_each(stand_in_card_numbers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masked_card_numbers_replay_as_luhn_valid_stand_ins() {
        let pan = stand_in_card_number("411111******1111").expect("a stand-in");
        assert_eq!(pan.len(), 16);
        assert!(pan.starts_with("411111") && pan.ends_with("1111"));
        assert!(crate::card::luhn(&pan));
        assert_eq!(stand_in_card_number("411111******1111"), Some(pan));
        assert_eq!(stand_in_card_number("not a card"), None);
        assert_eq!(stand_in_card_number("4111111111111111"), None);
    }

    #[test]
    fn learnt_ids_replace_whole_segments_values_and_body_strings() {
        let mut ids = Ids::default();
        ids.learn(
            &json!({"customer": {"id": "UP1", "version": 0}, "data": [{"card_token": "tokUP"}]}),
            &json!({"customer": {"id": "EM1", "version": 0}, "data": [{"card_token": "tokEM"}]}),
        );
        assert_eq!(ids.target("/v2/customers/UP1"), "/v2/customers/EM1");
        assert_eq!(ids.target("/v2/customers/UP12"), "/v2/customers/UP12");
        assert_eq!(
            ids.target("/v2/cards?customer_id=UP1&x=UP1x"),
            "/v2/cards?customer_id=EM1&x=UP1x"
        );
        let mut body = json!({"card_token": "tokUP", "note": "tokUP and more"});
        ids.body(&mut body);
        assert_eq!(
            body,
            json!({"card_token": "tokEM", "note": "tokUP and more"})
        );
    }

    #[test]
    fn types_envelopes_and_statuses_are_compared_but_not_values() {
        let r = json!({"card": {"id": "a", "exp_month": 1, "tags": [{"x": 1}]}});
        let e = json!({"card": {"id": "b", "exp_month": 2, "tags": [{"x": 9}]}});
        assert_eq!(differences("f", 200, Some(&r), 200, Some(&e)), vec![]);
        // A long number the recording masked as text is not drift.
        let masked = json!({"client_id": "823728******2847"});
        let number = json!({"client_id": 8237283748732847u64});
        assert_eq!(
            differences("f", 200, Some(&masked), 200, Some(&number)),
            vec![]
        );
        let e = json!({"card": {"id": "b", "exp_month": "2", "extra": true, "tags": []}});
        let d = differences("f", 200, Some(&r), 201, Some(&e));
        let kinds: Vec<(&str, &str)> = d.iter().map(|d| (d.kind, d.at.as_str())).collect();
        assert_eq!(
            kinds,
            [
                ("status", ""),
                ("type", "/card/exp_month"),
                ("type", "/card/extra")
            ]
        );
    }
}
