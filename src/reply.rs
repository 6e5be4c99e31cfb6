//! What a handler answers: a status, extra headers and a JSON body. A tree is serialised once
//! at the end of the pipeline (after strict mode has had its look at it); a typed answer is
//! written by its handler and passed through as bytes.

use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};

/// A JSON object from its fields, in order, moving each value in.
///
/// `json!` takes a variable by reference and copies it through the serialiser, which for a
/// list of fifty cards doubled the cost of the answer; building the object from owned values
/// copies nothing.
pub fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    let mut map = Map::with_capacity(N);
    for (name, value) in fields {
        map.insert(name.to_string(), value);
    }
    Value::Object(map)
}

/// `value` as JSON bytes.
fn write_json(value: &impl Serialize) -> serde_json::Result<Bytes> {
    // Most answers fit: one allocation instead of a doubling series of reallocations.
    let mut out = Vec::with_capacity(512);
    serde_json::to_writer(&mut out, value)?;
    Ok(Bytes::from(out))
}

/// A reply's JSON body.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A tree, serialised at the end of the pipeline; what most answers are.
    Tree(Value),
    /// JSON already written from a typed answer. The busiest answers (a saved card, a list of
    /// cards) are written straight from state: building a tree first cost a third of a save's
    /// answer in allocations and map inserts, only to walk the tree once and drop it.
    Written(Bytes),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// `None` for an empty body (204, or a fault scenario).
    pub body: Option<Body>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Some(Body::Tree(body)),
        }
    }

    /// paysandbox's own neutral error shape, `{"error": {"status", "message"}}`: for the
    /// admin API, requests no provider owns, and the proxy's own failures.
    pub fn neutral(status: u16, message: impl Into<String>) -> Self {
        Reply::json(
            status,
            serde_json::json!({ "error": { "status": status, "message": message.into() } }),
        )
    }

    /// A reply whose body is `answer` serialised now, without a tree in between.
    pub fn typed(status: u16, answer: &impl Serialize) -> Self {
        match write_json(answer) {
            Ok(bytes) => Reply {
                status,
                headers: Vec::new(),
                body: Some(Body::Written(bytes)),
            },
            // Only maps with non-string keys fail to serialise, and typed answers have none.
            Err(e) => Reply::neutral(500, format!("the answer could not be written: {e}")),
        }
    }

    /// The body as a tree, for the few places that edit or inspect an answer (error
    /// envelopes, strict mode, tests); a written body is read back.
    pub fn tree(&self) -> Option<Value> {
        match self.body.as_ref()? {
            Body::Tree(v) => Some(v.clone()),
            Body::Written(bytes) => serde_json::from_slice(bytes).ok(),
        }
    }

    /// The tree to edit in place; `None` for an empty or written body.
    pub fn tree_mut(&mut self) -> Option<&mut Value> {
        match self.body.as_mut()? {
            Body::Tree(v) => Some(v),
            Body::Written(_) => None,
        }
    }

    /// The body's bytes as they go on the wire (empty for no body).
    pub fn encode(&self) -> Bytes {
        match &self.body {
            None => Bytes::new(),
            Some(Body::Written(bytes)) => bytes.clone(),
            Some(Body::Tree(v)) => write_json(v).unwrap_or_default(),
        }
    }

    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_object_keeps_its_fields_in_order_and_equals_the_json_macro() {
        let cards = vec![json!({"card_token": "t1"}), json!({"card_token": "t2"})];
        let built = object([
            ("success", true.into()),
            ("message", "Card details fetched successfully".into()),
            ("data", Value::Array(cards.clone())),
        ]);
        assert_eq!(
            built,
            json!({"success": true, "message": "Card details fetched successfully", "data": cards})
        );
        assert_eq!(
            serde_json::to_string(&built).unwrap(),
            r#"{"success":true,"message":"Card details fetched successfully","data":[{"card_token":"t1"},{"card_token":"t2"}]}"#
        );
    }

    #[test]
    fn a_typed_answer_is_written_once_and_reads_back_as_the_same_tree() {
        #[derive(Serialize)]
        struct Saved<'a> {
            card_token: &'a str,
            nickname: Option<&'a str>,
        }
        let reply = Reply::typed(
            200,
            &Saved {
                card_token: "t1",
                nickname: None,
            },
        );
        assert_eq!(
            reply.encode(),
            Bytes::from_static(br#"{"card_token":"t1","nickname":null}"#)
        );
        assert_eq!(
            reply.tree(),
            Some(json!({"card_token": "t1", "nickname": null}))
        );
        // Edits are for trees only: a written answer is final.
        assert!(reply.clone().tree_mut().is_none());
        assert_eq!(Reply::empty(204).encode(), Bytes::new());
        assert_eq!(Reply::empty(204).tree(), None);
    }
}
