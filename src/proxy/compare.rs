//! `paysandbox compare DIR`: replays recorded exchanges against the emulation (an in-process
//! sandbox, no scenario active) and reports every difference in status, envelope (the
//! top-level keys of the answer) and field types (every field of the recorded answer,
//! recursively; arrays by their first element). Values are not compared: ids, timestamps
//! and fingerprints differ by nature. Exchanges replay in file-name order in one sandbox,
//! so a recorded sequence (create, then retrieve) keeps its order; ids in later paths are
//! the upstream's and usually answer 404 in the emulation, which is reported as drift.

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
    // An integral number is a number too.
    let same = r == e || (r == "number" && e == "integer") || (r == "integer" && e == "number");
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
        let target = request["path"].as_str().unwrap_or("/");
        let headers: Vec<(String, String)> = request["headers"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let v = v
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string());
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let body = request
            .get("body")
            .filter(|b| !b.is_null())
            .map(|b| Bytes::from(serde_json::to_vec(b).unwrap_or_default()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_envelopes_and_statuses_are_compared_but_not_values() {
        let r = json!({"card": {"id": "a", "exp_month": 1, "tags": [{"x": 1}]}});
        let e = json!({"card": {"id": "b", "exp_month": 2, "tags": [{"x": 9}]}});
        assert_eq!(differences("f", 200, Some(&r), 200, Some(&e)), vec![]);
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
