//! A request body read into a JSON tree, as `serde_json::from_slice::<Value>` reads it, with
//! each object's map sized once.
//!
//! The tree keeps the client's field order (`preserve_order`), so an object is an index map:
//! read field by field, it grows and rehashes about five times for a ten-field body. On the
//! save path that growth was a fifth of reading the body. Here an object's fields are
//! gathered first and moved into a map made to measure. Same parser, same errors (line and
//! column), same nesting limit, same answer for repeated fields (the last value wins, at the
//! first one's place).

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Reads `bytes` as one JSON value (whitespace around it allowed, nothing else).
pub fn parse(bytes: &[u8]) -> serde_json::Result<Value> {
    // A body checked as UTF-8 once, in one fast pass, is read without checking each string
    // again. A body that is not UTF-8 is read from its bytes, so the error names the line and
    // column of the bad string, as serde_json says it.
    match std::str::from_utf8(bytes) {
        Ok(text) => read(&mut serde_json::Deserializer::from_str(text)),
        Err(_) => read(&mut serde_json::Deserializer::from_slice(bytes)),
    }
}

fn read<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
) -> serde_json::Result<Value> {
    let value = Tree.deserialize(&mut *de)?;
    de.end()?;
    Ok(value)
}

/// A JSON value of any kind, built as [`Value`]'s own deserializer builds it except for maps.
#[derive(Clone, Copy)]
struct Tree;

impl<'de> DeserializeSeed<'de> for Tree {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Bodies rarely hold more fields than this in one object; larger ones grow the list once.
const USUAL_FIELDS: usize = 16;

impl<'de> Visitor<'de> for Tree {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Tree)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<Value, A::Error> {
        let mut read: Vec<(String, Value)> = Vec::with_capacity(USUAL_FIELDS);
        while let Some(name) = fields.next_key::<String>()? {
            let value = fields.next_value_seed(Tree)?;
            read.push((name, value));
        }
        let mut map = Map::with_capacity(read.len());
        for (name, value) in read {
            map.insert(name, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bodies of every shape read exactly as serde_json's own reader reads them.
    #[test]
    fn reads_every_body_as_serde_json_does() {
        let bodies = [
            r#"{"identifier":"u1","card_number":"4111111111111111","expiry_month":12,"expiry_year":2030}"#,
            r#"{"a":1,"b":{"c":[1,2.5,-3,{"d":null}],"e":true},"f":"x\u0041"}"#,
            r#"{"z":1,"a":2,"z":3}"#,
            r#"[]"#,
            r#"{}"#,
            r#"  "text"  "#,
            r#"18446744073709551615"#,
            r#"-9223372036854775808"#,
            r#"1.5e300"#,
            r#"{"many":{"f0":0,"f1":1,"f2":2,"f3":3,"f4":4,"f5":5,"f6":6,"f7":7,"f8":8,"f9":9,"f10":10,"f11":11,"f12":12,"f13":13,"f14":14,"f15":15,"f16":16,"f17":17}}"#,
        ];
        for body in bodies {
            let ours = parse(body.as_bytes()).expect(body);
            let theirs: Value = serde_json::from_str(body).expect(body);
            assert_eq!(ours, theirs, "{body}");
            // Field order too: the tree is serialised back in the order it was read.
            assert_eq!(ours.to_string(), theirs.to_string(), "{body}");
        }
    }

    #[test]
    fn a_repeated_field_keeps_its_first_place_and_last_value() {
        let body = parse(br#"{"z":1,"a":2,"z":3}"#).expect("json");
        assert_eq!(body.to_string(), r#"{"z":3,"a":2}"#);
    }

    #[test]
    fn errors_name_the_same_line_and_column_as_serde_json() {
        let bodies = [
            "{\"a\":1,\n\"b\":}",
            "{\"a\":1} trailing",
            "[1,2",
            "",
            "{\"a\":\"\\x\"}",
            "{\"a\":1,}",
            "1e400",
            "{\"a\":\"\\ud800\"}",
        ];
        for body in bodies {
            let ours = parse(body.as_bytes()).expect_err(body);
            let theirs = serde_json::from_str::<Value>(body).expect_err(body);
            assert_eq!(
                (ours.line(), ours.column(), ours.to_string()),
                (theirs.line(), theirs.column(), theirs.to_string()),
                "{body:?}"
            );
        }
    }

    #[test]
    fn a_body_that_is_not_utf8_fails_where_serde_json_says() {
        let body = b"{\"name\":\"Jos\xe9\",\n\"b\":1}";
        let ours = parse(body).expect_err("not UTF-8");
        let theirs = serde_json::from_slice::<Value>(body).expect_err("not UTF-8");
        assert_eq!(
            (ours.line(), ours.column(), ours.to_string()),
            (theirs.line(), theirs.column(), theirs.to_string())
        );
    }

    #[test]
    fn nesting_beyond_serde_jsons_limit_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        let ours = parse(deep.as_bytes()).expect_err("too deep");
        let theirs = serde_json::from_str::<Value>(&deep).expect_err("too deep");
        assert_eq!(ours.to_string(), theirs.to_string());
        let deep_objects = "{\"a\":".repeat(100_000);
        assert!(parse(deep_objects.as_bytes()).is_err());
    }
}
