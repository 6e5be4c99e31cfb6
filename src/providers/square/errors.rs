//! Square's error catalogue (data in `catalogue.yaml`) and its `errors[]` envelope.

use crate::problem::{FieldError, FieldErrorKind, JsonKind, Location};
use crate::reply::{Reply, object};
use serde::Deserialize;
use serde_json::{Map, Value, json};

#[derive(Debug, Deserialize)]
struct Entry {
    code: String,
    category: String,
    status: u16,
    #[serde(default)]
    detail: Option<String>,
}

impl crate::catalogue::Entry for Entry {
    fn code(&self) -> &str {
        &self.code
    }
}

/// One element of `errors[]` before rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct SquareError {
    pub code: String,
    pub detail: Option<String>,
    pub field: Option<String>,
}

impl SquareError {
    pub fn new(code: &str, detail: Option<&str>, field: Option<&str>) -> Self {
        SquareError {
            code: code.to_string(),
            detail: detail.map(str::to_string),
            field: field.map(str::to_string),
        }
    }
}

pub struct Catalogue(crate::catalogue::Catalogue<Entry>);

impl Catalogue {
    pub fn load() -> Self {
        Catalogue(crate::catalogue::Catalogue::embedded(include_str!(
            "catalogue.yaml"
        )))
    }

    pub fn contains(&self, code: &str) -> bool {
        self.0.get(code).is_some()
    }

    pub fn codes(&self) -> Vec<String> {
        self.0.codes()
    }

    /// Renders `errors[]`; the status is the first error's. Unknown codes (a defect) render
    /// as INTERNAL_SERVER_ERROR rather than inventing a category.
    pub fn render(&self, errors: &[SquareError]) -> Reply {
        let mut status = None;
        let rendered: Vec<Value> = errors
            .iter()
            .map(|e| {
                let (code, entry) = match self.0.get(&e.code) {
                    Some(entry) => (e.code.as_str(), entry),
                    None => (
                        "INTERNAL_SERVER_ERROR",
                        self.0
                            .get("INTERNAL_SERVER_ERROR")
                            .expect("catalogue has INTERNAL_SERVER_ERROR"),
                    ),
                };
                status.get_or_insert(entry.status);
                let mut obj = Map::new();
                obj.insert("category".into(), json!(entry.category));
                obj.insert("code".into(), json!(code));
                if let Some(detail) = e
                    .detail
                    .as_ref()
                    .or(entry.detail.as_ref())
                    .filter(|d| !d.is_empty())
                {
                    // Details quote what the client sent (an id, an enum value, a path): a
                    // card number sent there is still never echoed.
                    obj.insert("detail".into(), json!(crate::mask::mask_text(detail)));
                }
                if let Some(field) = e.field.as_ref().filter(|f| !f.is_empty()) {
                    obj.insert("field".into(), json!(crate::mask::mask_text(field)));
                }
                Value::Object(obj)
            })
            .collect();
        Reply::json(
            status.unwrap_or(500),
            object([("errors", Value::Array(rendered))]),
        )
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
pub fn is_version_date(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (num(&v[0..4]), num(&v[5..7]), num(&v[8..10]))
    else {
        return false;
    };
    (1..=crate::time::days_in_month(year.into(), month.into())).contains(&i64::from(day))
}

/// The answer for a Square-Version that is not a date: the spec's pattern catches most,
/// this the rest (`2026-13-45`, `2025-02-30`).
pub fn version_format(sent: &str) -> SquareError {
    SquareError::new(
        "INVALID_SQUARE_VERSION_FORMAT",
        Some(&format!(
            "Invalid Square-Version format: `{sent}`. Expected YYYY-MM-DD."
        )),
        None,
    )
}

fn type_code(kind: JsonKind) -> &'static str {
    match kind {
        JsonKind::String => "EXPECTED_STRING",
        JsonKind::Integer => "EXPECTED_INTEGER",
        JsonKind::Number => "EXPECTED_FLOAT",
        JsonKind::Boolean => "EXPECTED_BOOLEAN",
        JsonKind::Array => "EXPECTED_ARRAY",
        JsonKind::Object => "EXPECTED_OBJECT",
        JsonKind::Null => "INVALID_VALUE",
    }
}

fn article(kind: JsonKind) -> &'static str {
    match kind {
        JsonKind::Integer | JsonKind::Array | JsonKind::Object => "an",
        _ => "a",
    }
}

fn display(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// A field path as Square writes it: array positions in brackets
/// (`query.filter.creation_source.values[0]`, `service_charges[0].calculation_phase`).
fn square_path(dotted: &str) -> String {
    let mut out = String::with_capacity(dotted.len() + 2);
    for segment in dotted.split('.') {
        if !out.is_empty() && !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(segment);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
    }
    out
}

/// Maps neutral field errors onto Square's validation codes and detail texts.
pub fn from_field_errors(errors: &[FieldError]) -> Vec<SquareError> {
    errors
        .iter()
        .map(|e| {
            let path = square_path(&e.field);
            let field = path.as_str();
            if e.location == Location::Header && e.field.eq_ignore_ascii_case("square-version") {
                let sent = e.value.as_ref().map(display).unwrap_or_default();
                return version_format(&sent);
            }
            let (code, detail) = match &e.kind {
                FieldErrorKind::Missing => (
                    "MISSING_REQUIRED_PARAMETER",
                    "Field must be set".to_string(),
                ),
                FieldErrorKind::Type { expected } if field.is_empty() => (
                    "EXPECTED_JSON_BODY",
                    format!(
                        "The request body must be {} {}.",
                        article(*expected),
                        expected.name()
                    ),
                ),
                FieldErrorKind::Type { expected } => (
                    type_code(*expected),
                    format!("Expected {} {} value.", article(*expected), expected.name()),
                ),
                FieldErrorKind::Enum { .. } => (
                    "INVALID_ENUM_VALUE",
                    format!(
                        "`{}` is not a valid enum value for `{field}`.",
                        e.value.as_ref().map(display).unwrap_or_default(),
                    ),
                ),
                FieldErrorKind::TooLong { max } => (
                    "VALUE_TOO_LONG",
                    format!("Field must not be greater than {max} length"),
                ),
                FieldErrorKind::TooShort { min } if *min == 1 => {
                    ("VALUE_EMPTY", "Field must not be blank".to_string())
                }
                FieldErrorKind::TooShort { min } => (
                    "VALUE_TOO_SHORT",
                    format!("Field must not be less than {min} length"),
                ),
                FieldErrorKind::TooSmall { min } => (
                    "VALUE_TOO_LOW",
                    format!("Field must not be less than {min}"),
                ),
                FieldErrorKind::TooLarge { max } => (
                    "VALUE_TOO_HIGH",
                    format!("Field must not be greater than {max}"),
                ),
                FieldErrorKind::TooFewItems { min } => (
                    "ARRAY_LENGTH_TOO_SHORT",
                    format!("Array must have at least {min} items"),
                ),
                FieldErrorKind::TooManyItems { max } => (
                    "ARRAY_LENGTH_TOO_LONG",
                    format!("Array must not have more than {max} items"),
                ),
                FieldErrorKind::Unknown if e.location == Location::Query => (
                    "UNKNOWN_QUERY_PARAMETER",
                    "Unknown query parameter".to_string(),
                ),
                FieldErrorKind::Unknown => (
                    "UNKNOWN_BODY_PARAMETER",
                    "Unknown body parameter".to_string(),
                ),
                FieldErrorKind::Pattern { .. } => {
                    ("INVALID_VALUE", "Field has an invalid value".to_string())
                }
                FieldErrorKind::Invalid { reason } => ("INVALID_VALUE", format!("Field {reason}")),
            };
            SquareError::new(code, Some(&detail), (!field.is_empty()).then_some(field))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_positions_are_written_in_brackets() {
        assert_eq!(
            square_path("query.filter.creation_source.values.0"),
            "query.filter.creation_source.values[0]"
        );
        assert_eq!(
            square_path("cards.2.billing_address.country"),
            "cards[2].billing_address.country"
        );
        assert_eq!(square_path("given_name"), "given_name");
        assert_eq!(square_path(""), "");
    }

    #[test]
    fn the_catalogue_parses_and_covers_the_seed_codes() {
        let c = Catalogue::load();
        for code in [
            "CARD_EXPIRED",
            "CARD_TOKEN_EXPIRED",
            "CARD_TOKEN_USED",
            "INVALID_CARD",
            "INVALID_CARD_DATA",
            "INVALID_EXPIRATION",
            "UNSUPPORTED_ENTRY_METHOD",
            "VERIFY_AVS_FAILURE",
            "VERIFY_CVV_FAILURE",
            "CARD_PROCESSING_NOT_ENABLED",
        ] {
            assert!(c.contains(code), "{code}");
        }
    }

    #[test]
    fn status_follows_the_first_error_and_empty_parts_are_omitted() {
        let reply = Catalogue::load().render(&[
            SquareError::new("VERIFY_CVV_FAILURE", None, None),
            SquareError::new("CARD_TOKEN_USED", None, Some("card_nonce")),
        ]);
        assert_eq!(reply.status, 402);
        assert_eq!(
            reply.tree(),
            Some(json!({"errors": [
                {"category": "PAYMENT_METHOD_ERROR", "code": "VERIFY_CVV_FAILURE"},
                {"category": "INVALID_REQUEST_ERROR", "code": "CARD_TOKEN_USED", "detail": "Card nonce already used; please request new nonce.", "field": "card_nonce"}
            ]}))
        );
    }

    #[test]
    fn version_dates_are_checked() {
        assert!(is_version_date("2025-08-20"));
        assert!(!is_version_date("2025-13-01"));
        assert!(!is_version_date("2026-13-45"));
        assert!(!is_version_date("2025-02-29"));
        assert!(is_version_date("2024-02-29"));
        assert!(!is_version_date("2025-04-31"));
        assert!(!is_version_date("+025-04-01"));
        assert!(!is_version_date("2025-0٣-01"));
        assert!(!is_version_date("yesterday"));
    }

    #[test]
    fn a_missing_field_is_missing_required_parameter() {
        let e = FieldError::new(Location::Body, "card_nonce", FieldErrorKind::Missing);
        assert_eq!(
            from_field_errors(&[e]),
            vec![SquareError::new(
                "MISSING_REQUIRED_PARAMETER",
                Some("Field must be set"),
                Some("card_nonce")
            )]
        );
    }
}
