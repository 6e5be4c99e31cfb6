//! Eximpe's error catalogue (data in `catalogue.yaml`) and its `validation_error` envelope.

use crate::problem::{FieldError, FieldErrorKind, JsonKind};
use crate::reply::{Reply, object};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize)]
struct Entry {
    code: String,
    status: u16,
    error: Value,
}

impl crate::catalogue::Entry for Entry {
    fn code(&self) -> &str {
        &self.code
    }
}

pub struct Catalogue(crate::catalogue::Catalogue<Entry>);

impl Catalogue {
    pub fn load() -> Self {
        Catalogue(crate::catalogue::Catalogue::embedded(include_str!(
            "catalogue.yaml"
        )))
    }

    pub fn codes(&self) -> Vec<String> {
        self.0.codes()
    }

    pub fn reply(&self, code: &str) -> Option<Reply> {
        let e = self.0.get(code)?;
        Some(Reply::json(
            e.status,
            json!({ "success": false, "error": e.error }),
        ))
    }
}

pub fn internal() -> Reply {
    Reply::json(
        500,
        json!({"success": false, "error": {"code": "ERR_SERVER_000", "message": "Internal server error", "details": {"server": "Internal server error."}}}),
    )
}

/// A 400 `validation_error` answer from `(code, detail, attr)` triples, in order.
pub fn validation(errors: Vec<(String, String, String)>) -> Reply {
    let errors: Vec<Value> = errors
        .into_iter()
        .map(|(code, detail, attr)| {
            // Details quote what the client sent ("\"4111…\" is not a valid choice."); a card
            // number typed into the wrong field is still never echoed.
            let detail = match crate::mask::mask_text(&detail) {
                std::borrow::Cow::Borrowed(_) => detail,
                std::borrow::Cow::Owned(masked) => masked,
            };
            object([
                ("code", code.into()),
                ("detail", detail.into()),
                ("attr", attr.into()),
            ])
        })
        .collect();
    Reply::json(
        400,
        object([
            ("success", false.into()),
            (
                "error",
                object([
                    ("type", "validation_error".into()),
                    ("errors", Value::Array(errors)),
                ]),
            ),
        ]),
    )
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

/// Django REST Framework's wording for each kind of field problem (Eximpe's backend).
pub fn detail(error: &FieldError) -> String {
    match &error.kind {
        FieldErrorKind::Missing => "This field is required.".into(),
        FieldErrorKind::Type { expected } => match expected {
            JsonKind::Integer => "A valid integer is required.".into(),
            JsonKind::Number => "A valid number is required.".into(),
            JsonKind::Boolean => "Must be a valid boolean.".into(),
            JsonKind::String => "Not a valid string.".into(),
            JsonKind::Array => "Expected a list of items.".into(),
            JsonKind::Object if error.field.is_empty() => {
                "Invalid data. Expected a dictionary.".into()
            }
            JsonKind::Object => "Expected a dictionary of items.".into(),
            JsonKind::Null => "This field may not be null.".into(),
        },
        FieldErrorKind::Enum { .. } => {
            let sent = error
                .value
                .as_ref()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .unwrap_or_default();
            format!("\"{sent}\" is not a valid choice.")
        }
        FieldErrorKind::Pattern { .. } if error.field == "card_number" => {
            "Invalid card number format.".into()
        }
        FieldErrorKind::Pattern { .. } => "This value does not match the required pattern.".into(),
        FieldErrorKind::TooLong { max } => {
            format!("Ensure this field has no more than {max} characters.")
        }
        FieldErrorKind::TooShort { min: 1 } => "This field may not be blank.".into(),
        FieldErrorKind::TooShort { min } => {
            format!("Ensure this field has at least {min} characters.")
        }
        FieldErrorKind::TooSmall { min } => format!(
            "Ensure this value is greater than or equal to {}.",
            number(*min)
        ),
        FieldErrorKind::TooLarge { max } => format!(
            "Ensure this value is less than or equal to {}.",
            number(*max)
        ),
        FieldErrorKind::TooFewItems { min } => {
            format!("Ensure this field has at least {min} elements.")
        }
        FieldErrorKind::TooManyItems { max } => {
            format!("Ensure this field has no more than {max} elements.")
        }
        FieldErrorKind::Unknown => "Unknown field.".into(),
        FieldErrorKind::Invalid { .. } => "Invalid value.".into(),
    }
}

/// Every field error at once, in the order validation produced them (spec field order).
pub fn render_invalid(errors: &[FieldError]) -> Reply {
    validation(
        errors
            .iter()
            .map(|e| {
                let attr = if e.field.is_empty() {
                    "non_field_errors".to_string()
                } else {
                    e.field.clone()
                };
                ("invalid".to_string(), detail(e), attr)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Location;

    #[test]
    fn the_catalogue_parses() {
        let c = Catalogue::load();
        for code in [
            "ERR_AUTH_000",
            "authorization_reference_number_required",
            "ERR_TOKEN_003",
            "ERR_SERVER_000",
        ] {
            assert!(c.reply(code).is_some(), "{code}");
        }
    }

    #[test]
    fn all_field_errors_are_reported_at_once_in_drf_wording() {
        let reply = render_invalid(&[
            FieldError::new(Location::Body, "cardholder_name", FieldErrorKind::Missing),
            FieldError::new(
                Location::Body,
                "card_number",
                FieldErrorKind::Pattern {
                    pattern: "x".into(),
                },
            ),
        ]);
        assert_eq!(
            reply.tree(),
            Some(
                json!({"success": false, "error": {"type": "validation_error", "errors": [
                    {"code": "invalid", "detail": "This field is required.", "attr": "cardholder_name"},
                    {"code": "invalid", "detail": "Invalid card number format.", "attr": "card_number"}
                ]}})
            )
        );
    }
}
