//! OpenAPI 3.0 schema objects → JSON Schema (draft 4), the dialect the validator compiles.
//!
//! OpenAPI 3.0 schemas are a dialect of draft 4/5 with a few extra keywords. Translation:
//! - `nullable: true` widens the type (or enum) to admit `null`;
//! - `readOnly` properties are not required in requests, `writeOnly` ones not in responses;
//! - `$ref: '#/components/schemas/X'` becomes `#/definitions/X`, and only the definitions an
//!   operation reaches are bundled into its validator;
//! - annotations (`example`, `format`, `description`, `x-*`, `discriminator`, ...) are dropped:
//!   formats such as `int64` or `date-time` describe, they do not constrain, in the providers'
//!   own specs, and dropping them keeps validation fast.

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Which side of the exchange a schema describes; decides what `readOnly`/`writeOnly` mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// A schema that could not be translated, with the JSON pointer of the offending node.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    pub pointer: String,
    pub problem: String,
}

const SCHEMA_REF_PREFIX: &str = "#/components/schemas/";

/// Keywords that carry validation meaning and are copied through after translation.
const COPIED: &[&str] = &[
    "type",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
];

/// Translates one schema node found at `pointer` in the document.
pub fn translate(node: &Value, pointer: &str, direction: Direction) -> Result<Value, SchemaError> {
    let Some(obj) = node.as_object() else {
        if let Value::Bool(b) = node {
            return Ok(Value::Bool(*b));
        }
        return Err(SchemaError {
            pointer: pointer.to_string(),
            problem: "a schema must be an object".into(),
        });
    };

    if let Some(reference) = obj.get("$ref") {
        let target = reference.as_str().unwrap_or_default();
        let Some(name) = target.strip_prefix(SCHEMA_REF_PREFIX) else {
            return Err(SchemaError {
                pointer: format!("{pointer}/$ref"),
                problem: format!(
                    "unsupported reference `{target}`: only `{SCHEMA_REF_PREFIX}<name>` is allowed here"
                ),
            });
        };
        return Ok(json!({ "$ref": format!("#/definitions/{}", escape_pointer(name)) }));
    }

    let mut out = Map::new();
    for key in COPIED {
        if let Some(v) = obj.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }

    if let Some(props) = obj.get("properties") {
        let Some(props) = props.as_object() else {
            return Err(SchemaError {
                pointer: format!("{pointer}/properties"),
                problem: "`properties` must be an object".into(),
            });
        };
        let mut translated = Map::new();
        for (name, sub) in props {
            let sub_pointer = format!("{pointer}/properties/{}", escape_pointer(name));
            translated.insert(name.clone(), translate(sub, &sub_pointer, direction)?);
        }
        out.insert("properties".into(), Value::Object(translated));
    }

    if let Some(required) = obj.get("required") {
        let Some(list) = required.as_array() else {
            return Err(SchemaError {
                pointer: format!("{pointer}/required"),
                problem: "`required` must be an array of property names".into(),
            });
        };
        let hidden = hidden_properties(obj, direction);
        let kept: Vec<Value> = list
            .iter()
            .filter(|name| name.as_str().is_none_or(|n| !hidden.contains(n)))
            .cloned()
            .collect();
        if !kept.is_empty() {
            out.insert("required".into(), Value::Array(kept));
        }
    }

    if let Some(items) = obj.get("items") {
        out.insert(
            "items".into(),
            translate(items, &format!("{pointer}/items"), direction)?,
        );
    }
    if let Some(extra) = obj.get("additionalProperties") {
        let translated = match extra {
            Value::Bool(b) => Value::Bool(*b),
            other => translate(other, &format!("{pointer}/additionalProperties"), direction)?,
        };
        out.insert("additionalProperties".into(), translated);
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = obj.get(combinator) {
            let Some(list) = list.as_array() else {
                return Err(SchemaError {
                    pointer: format!("{pointer}/{combinator}"),
                    problem: format!("`{combinator}` must be an array of schemas"),
                });
            };
            let translated = list
                .iter()
                .enumerate()
                .map(|(i, s)| translate(s, &format!("{pointer}/{combinator}/{i}"), direction))
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(combinator.into(), Value::Array(translated));
        }
    }
    if let Some(not) = obj.get("not") {
        out.insert(
            "not".into(),
            translate(not, &format!("{pointer}/not"), direction)?,
        );
    }

    if let Some(t) = obj.get("type")
        && !matches!(
            t.as_str(),
            Some("object" | "array" | "string" | "integer" | "number" | "boolean")
        )
    {
        return Err(SchemaError {
            pointer: format!("{pointer}/type"),
            problem: format!(
                "`type` must be one of object, array, string, integer, number, boolean (got {t})"
            ),
        });
    }

    if obj.get("nullable").and_then(Value::as_bool) == Some(true) {
        return Ok(make_nullable(out));
    }
    Ok(Value::Object(out))
}

/// Properties that the given direction never carries, so they cannot be required.
fn hidden_properties(obj: &Map<String, Value>, direction: Direction) -> BTreeSet<String> {
    let flag = match direction {
        Direction::Request => "readOnly",
        Direction::Response => "writeOnly",
    };
    obj.get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter(|(_, s)| s.get(flag).and_then(Value::as_bool) == Some(true))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default()
}

fn make_nullable(mut out: Map<String, Value>) -> Value {
    if let Some(Value::Array(values)) = out.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    match out.remove("type") {
        Some(Value::String(t)) => {
            out.insert("type".into(), json!([t, "null"]));
            Value::Object(out)
        }
        Some(other) => {
            out.insert("type".into(), other);
            Value::Object(out)
        }
        None => json!({ "anyOf": [Value::Object(out), { "type": "null" }] }),
    }
}

/// Escapes a name for use as one JSON pointer segment (RFC 6901).
pub fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// The component names a translated schema refers to (directly).
pub fn references(schema: &Value, into: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref")
                && let Some(name) = target.strip_prefix("#/definitions/")
            {
                into.insert(name.replace("~1", "/").replace("~0", "~"));
            }
            for v in map.values() {
                references(v, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, into)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tr(v: Value) -> Value {
        translate(&v, "#", Direction::Request).expect("translates")
    }

    #[test]
    fn nullable_widens_type_and_enum() {
        assert_eq!(
            tr(json!({"type": "string", "nullable": true, "enum": ["a"]})),
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
    }

    #[test]
    fn nullable_without_type_wraps_in_any_of() {
        assert_eq!(
            tr(json!({"allOf": [{"$ref": "#/components/schemas/Address"}], "nullable": true})),
            json!({"anyOf": [{"allOf": [{"$ref": "#/definitions/Address"}]}, {"type": "null"}]})
        );
    }

    #[test]
    fn read_only_properties_are_not_required_in_requests_but_are_in_responses() {
        let schema = json!({
            "type": "object",
            "required": ["id", "name"],
            "properties": {"id": {"type": "string", "readOnly": true}, "name": {"type": "string"}}
        });
        assert_eq!(tr(schema.clone())["required"], json!(["name"]));
        let response = translate(&schema, "#", Direction::Response).expect("translates");
        assert_eq!(response["required"], json!(["id", "name"]));
    }

    #[test]
    fn annotations_are_dropped() {
        assert_eq!(
            tr(
                json!({"type": "integer", "format": "int64", "example": 3, "description": "d", "x-note": 1})
            ),
            json!({"type": "integer"})
        );
    }

    #[test]
    fn external_references_are_refused_with_their_pointer() {
        let err = translate(
            &json!({"properties": {"a": {"$ref": "other.yaml#/X"}}}),
            "#/components/schemas/Card",
            Direction::Request,
        )
        .expect_err("external ref");
        assert_eq!(err.pointer, "#/components/schemas/Card/properties/a/$ref");
    }

    #[test]
    fn unknown_types_are_refused() {
        let err =
            translate(&json!({"type": "str"}), "#/x", Direction::Request).expect_err("bad type");
        assert_eq!(err.pointer, "#/x/type");
    }

    #[test]
    fn references_are_collected() {
        let mut names = BTreeSet::new();
        references(
            &tr(json!({"items": {"$ref": "#/components/schemas/Card"}})),
            &mut names,
        );
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            vec!["Card".to_string()]
        );
    }
}
