//! YAML (or JSON) text → a `serde_json::Value` plus the line and column of every node and
//! mapping key, so both structural and semantic problems can be reported where they are.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

/// A parsed document: the value, and where each node (by JSON pointer) starts.
#[derive(Debug)]
pub struct Doc {
    pub value: Value,
    values: HashMap<String, Pos>,
    keys: HashMap<String, Pos>,
}

impl Doc {
    /// Where the value at `pointer` starts; falls back to the nearest enclosing node.
    pub fn at(&self, pointer: &str) -> Pos {
        let mut p = pointer.to_string();
        loop {
            if let Some(pos) = self.values.get(&p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p.truncate(i),
                None => return Pos { line: 1, col: 1 },
            }
        }
    }

    /// Where the key naming `pointer` starts (for "unknown field"); else the value's start.
    pub fn key_at(&self, pointer: &str) -> Pos {
        self.keys
            .get(pointer)
            .copied()
            .unwrap_or_else(|| self.at(pointer))
    }
}

/// Escapes one JSON pointer segment.
pub fn segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

pub fn parse(text: &str) -> Result<Doc, (Pos, String)> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| {
        (
            Pos {
                line: e.marker().line(),
                col: e.marker().col() + 1,
            },
            e.info().to_string(),
        )
    })?;
    let mut docs = docs.into_iter();
    let Some(root) = docs.next() else {
        return Err((Pos { line: 1, col: 1 }, "the file is empty".into()));
    };
    if let Some(second) = docs.next() {
        return Err((
            pos(&second),
            "one scenario per file: a second YAML document starts here".into(),
        ));
    }
    let mut doc = Doc {
        value: Value::Null,
        values: HashMap::new(),
        keys: HashMap::new(),
    };
    doc.value = convert(&root, String::new(), &mut doc)?;
    Ok(doc)
}

fn pos(node: &MarkedYaml) -> Pos {
    Pos {
        line: node.span.start.line(),
        col: node.span.start.col() + 1,
    }
}

fn scalar(s: &Scalar, at: Pos) -> Result<Value, (Pos, String)> {
    Ok(match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::from(*i),
        Scalar::FloatingPoint(f) => Value::Number(
            Number::from_f64(f.into_inner())
                .ok_or((at, "a number must be finite (no .nan or .inf)".to_string()))?,
        ),
        Scalar::String(s) => Value::String(s.to_string()),
    })
}

fn key_text(node: &MarkedYaml) -> Result<String, (Pos, String)> {
    match &node.data {
        YamlData::Value(s) => Ok(match scalar(s, pos(node))? {
            Value::String(s) => s,
            other => other.to_string(),
        }),
        _ => Err((pos(node), "a mapping key must be a plain value".into())),
    }
}

fn convert(node: &MarkedYaml, pointer: String, doc: &mut Doc) -> Result<Value, (Pos, String)> {
    let at = pos(node);
    doc.values.insert(pointer.clone(), at);
    match &node.data {
        YamlData::Value(s) => scalar(s, at),
        YamlData::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| convert(item, format!("{pointer}/{i}"), doc))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        YamlData::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = key_text(k)?;
                let child = format!("{pointer}/{}", segment(&key));
                doc.keys.insert(child.clone(), pos(k));
                let value = convert(v, child, doc)?;
                out.insert(key, value);
            }
            Ok(Value::Object(out))
        }
        YamlData::Tagged(_, inner) => convert(inner, pointer, doc),
        YamlData::Representation(text, _, _) => Ok(Value::String(text.to_string())),
        YamlData::Alias(_) => Err((at, "YAML aliases are not supported here".into())),
        YamlData::BadValue => Err((at, "this value cannot be read".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_cover_keys_and_values() {
        let doc = parse("name: x\nrules:\n  - when: {operation: saveCrd}\n").unwrap();
        assert_eq!(doc.at("/rules/0/when/operation"), Pos { line: 3, col: 23 });
        assert_eq!(
            doc.key_at("/rules/0/when/operation"),
            Pos { line: 3, col: 12 }
        );
        assert_eq!(doc.at("/name"), Pos { line: 1, col: 7 });
        assert_eq!(doc.value["rules"][0]["when"]["operation"], "saveCrd");
    }

    #[test]
    fn json_is_accepted_and_errors_are_located() {
        let doc = parse("{\"name\": \"a\", \"n\": 1.5}").unwrap();
        assert_eq!(doc.value["n"], 1.5);
        let (at, _) = parse("name: [1, 2\n").unwrap_err();
        assert_eq!(at.line, 2);
    }
}
