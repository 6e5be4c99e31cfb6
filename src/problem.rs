//! Provider-neutral descriptions of what is wrong with a request.
//!
//! Validation never renders an answer itself: it produces these values, and the provider
//! that owns the operation turns them into its own envelope (Mercado Pago `cause` codes,
//! Square `errors[]`, Eximpe `validation_error`).

use std::fmt;

/// Where in the request a field lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
    Body,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Body => "body",
        })
    }
}

/// A JSON type, as the schema expected it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl JsonKind {
    pub fn name(self) -> &'static str {
        match self {
            JsonKind::Null => "null",
            JsonKind::Boolean => "boolean",
            JsonKind::Integer => "integer",
            JsonKind::Number => "number",
            JsonKind::String => "string",
            JsonKind::Array => "array",
            JsonKind::Object => "object",
        }
    }

    pub fn of(value: &serde_json::Value) -> JsonKind {
        use serde_json::Value;
        match value {
            Value::Null => JsonKind::Null,
            Value::Bool(_) => JsonKind::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => JsonKind::Integer,
            Value::Number(_) => JsonKind::Number,
            Value::String(_) => JsonKind::String,
            Value::Array(_) => JsonKind::Array,
            Value::Object(_) => JsonKind::Object,
        }
    }
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldErrorKind {
    /// A required field is absent.
    Missing,
    /// The value has the wrong JSON type.
    Type {
        expected: JsonKind,
    },
    /// The value is not one of the allowed values.
    Enum {
        allowed: Vec<serde_json::Value>,
    },
    /// A string does not match the schema's pattern.
    Pattern {
        pattern: String,
    },
    TooLong {
        max: u64,
    },
    TooShort {
        min: u64,
    },
    TooSmall {
        min: f64,
    },
    TooLarge {
        max: f64,
    },
    TooFewItems {
        min: u64,
    },
    TooManyItems {
        max: u64,
    },
    /// A property the schema does not allow.
    Unknown,
    /// Anything else the schema rejects, described in words.
    Invalid {
        reason: String,
    },
}

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub location: Location,
    /// Dotted path inside the location: `cardholder.identification.number`, `items.0`.
    /// Empty for the body as a whole.
    pub field: String,
    pub kind: FieldErrorKind,
    /// The offending value, when there is one. Never logged: it may hold a card number.
    pub value: Option<serde_json::Value>,
}

/// Keeps only the type error for a value of the wrong type. An `enum` fails on it too
/// (`"country": 5` is no country code); providers that report the type (Square, Mercado
/// Pago) send one error for the field, not two. Eximpe, after Django REST Framework, reports
/// the choice instead and does not call this.
pub fn only_type_errors_for_wrong_types(errors: &[FieldError]) -> Vec<FieldError> {
    let is_type = |e: &FieldError| matches!(e.kind, FieldErrorKind::Type { .. });
    errors
        .iter()
        .filter(|e| {
            is_type(e)
                || !errors
                    .iter()
                    .any(|t| is_type(t) && t.location == e.location && t.field == e.field)
        })
        .cloned()
        .collect()
}

impl FieldError {
    pub fn new(location: Location, field: impl Into<String>, kind: FieldErrorKind) -> Self {
        FieldError {
            location,
            field: field.into(),
            kind,
            value: None,
        }
    }

    pub fn with_value(mut self, value: serde_json::Value) -> Self {
        self.value = Some(value);
        self
    }

    /// The last segment of the field path: what most providers call "the field".
    pub fn leaf(&self) -> &str {
        self.field.rsplit('.').next().unwrap_or(&self.field)
    }

    /// A plain English description, for providers whose envelope carries free text.
    pub fn describe(&self) -> String {
        let field = if self.field.is_empty() {
            "body".to_string()
        } else {
            self.field.clone()
        };
        match &self.kind {
            FieldErrorKind::Missing => format!("{field} is required"),
            FieldErrorKind::Type { expected } => {
                format!("{field} must be of type {}", expected.name())
            }
            FieldErrorKind::Enum { allowed } => {
                let list: Vec<String> = allowed
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect();
                format!("{field} must be one of: {}", list.join(", "))
            }
            FieldErrorKind::Pattern { pattern } => format!("{field} must match {pattern}"),
            FieldErrorKind::TooLong { max } => format!("{field} must be at most {max} characters"),
            FieldErrorKind::TooShort { min } => {
                format!("{field} must be at least {min} characters")
            }
            FieldErrorKind::TooSmall { min } => format!("{field} must be at least {min}"),
            FieldErrorKind::TooLarge { max } => format!("{field} must be at most {max}"),
            FieldErrorKind::TooFewItems { min } => {
                format!("{field} must have at least {min} items")
            }
            FieldErrorKind::TooManyItems { max } => {
                format!("{field} must have at most {max} items")
            }
            FieldErrorKind::Unknown => format!("{field} is not a recognised field"),
            FieldErrorKind::Invalid { reason } => format!("{field} is invalid: {reason}"),
        }
    }
}

/// A request body that could not be read as the operation's JSON at all.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyProblem {
    /// Larger than the configured limit.
    TooLarge { limit: usize },
    /// Not valid JSON (including invalid UTF-8 and nesting deeper than the parser allows).
    Malformed {
        line: usize,
        column: usize,
        reason: String,
    },
    /// The operation needs a body and none was sent.
    Empty,
    /// The body stopped before its end: shorter than its Content-Length, a chunked body
    /// never finished, or the connection closed mid-body.
    Incomplete,
}
