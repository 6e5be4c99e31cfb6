//! Mercado Pago's error catalogue (data in `catalogue.yaml`) and the rendering of validation
//! failures into catalogue codes.

use crate::problem::{FieldError, FieldErrorKind, Location};
use crate::reply::Reply;
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
enum CauseShape {
    /// `[{"code": "129", "description": "..."}]`
    #[default]
    Coded,
    /// `[{"code": 5, "description": "...", "data": null}]`
    Numeric,
    /// `[]`
    Empty,
    /// `[[]]`
    Nested,
}

#[derive(Debug, Deserialize)]
struct Entry {
    code: String,
    status: u16,
    error: String,
    message: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    cause: CauseShape,
    /// The `cause[].code` to send when it differs from `code`.
    #[serde(default)]
    cause_code: Option<Value>,
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
        let description = e.description.clone().unwrap_or_else(|| e.message.clone());
        let cause = match e.cause {
            CauseShape::Coded => {
                let code = e
                    .cause_code
                    .clone()
                    .unwrap_or_else(|| Value::String(e.code.clone()));
                json!([{ "code": code, "description": description }])
            }
            CauseShape::Numeric => {
                let code = e.cause_code.clone().unwrap_or_else(|| {
                    e.code
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or(Value::String(e.code.clone()))
                });
                json!([{ "code": code, "description": description, "data": null }])
            }
            CauseShape::Empty => json!([]),
            CauseShape::Nested => json!([[]]),
        };
        Some(Reply::json(
            e.status,
            json!({ "message": e.message, "error": e.error, "status": e.status, "cause": cause }),
        ))
    }

    /// The bare 500, used only if a code is missing from the data (a defect).
    pub fn internal(&self) -> Reply {
        Reply::json(
            500,
            json!({"message": "Oops! Something went wrong...", "error": "internal_server_error", "status": 500, "cause": []}),
        )
    }

    /// The code sent in `cause` for a catalogue key (differs for keys such as `token_205`).
    fn cause_code(&self, code: &str) -> Value {
        self.0
            .get(code)
            .and_then(|e| e.cause_code.clone())
            .unwrap_or_else(|| Value::String(code.to_string()))
    }

    fn description(&self, code: &str) -> String {
        self.0
            .get(code)
            .map(|e| e.description.clone().unwrap_or_else(|| e.message.clone()))
            .unwrap_or_default()
    }
}

/// The catalogue code Mercado Pago reports for a problem with a field. Customer fields have
/// their own codes (106–117); card token fields use the codes MercadoPago.js reports for the
/// same fields (missing vs invalid); anything else is 125 "invalid parameters.".
fn code_for(operation: &str, error: &FieldError) -> &'static str {
    let missing = matches!(error.kind, FieldErrorKind::Missing);
    if error.field.is_empty() {
        return "118";
    }
    if operation == "createCardToken" {
        // MercadoPago.js's "can not be null/empty" codes cover null and "" as well as absent.
        let blank = missing
            || matches!(error.value, Some(Value::Null))
            || error.value.as_ref().and_then(Value::as_str) == Some("");
        return match (error.field.as_str(), blank) {
            ("card_number", true) => "token_205",
            ("card_number", false) => "E301",
            ("expiration_month", true) => "token_208",
            ("expiration_month", false) => "325",
            ("expiration_year", true) => "209",
            ("expiration_year", false) => "326",
            ("security_code", true) => "224",
            ("security_code", false) => "E203",
            ("cardholder.name", true) => "221",
            ("cardholder.name", false) => "316",
            ("cardholder.identification.type", true) => "212",
            ("cardholder.identification.type", false) => "322",
            ("cardholder.identification.number", true) => "214",
            ("cardholder.identification.number", false) => "324",
            _ => "125",
        };
    }
    match error.field.as_str() {
        "token" if missing => "119",
        "token" => "121",
        "payment_method_id" => "123",
        "issuer_id" => "124",
        "email" => "106",
        "first_name" => "107",
        "last_name" => "108",
        "phone.area_code" => "109",
        "phone.number" => "110",
        "identification.type" => "111",
        "identification.number" => "112",
        "address.zip_code" => "113",
        "address.street_name" => "114",
        "date_registered" => "115",
        "description" => "116",
        "metadata" => "117",
        f if f.starts_with("metadata.") => "117",
        _ if matches!(error.kind, FieldErrorKind::TooLong { .. }) => "104",
        _ if matches!(
            error.kind,
            FieldErrorKind::Type {
                expected: crate::problem::JsonKind::Object
            }
        ) =>
        {
            "103"
        }
        _ => "125",
    }
}

/// Renders request validation failures. Payment profiles (a newer API) answer with their own
/// keys: a missing `X-Idempotency-Key` is `401 header_missing`, any other field problem is
/// `validation_error`.
pub fn render_invalid(catalogue: &Catalogue, operation: &str, errors: &[FieldError]) -> Reply {
    let is_profile_api = operation.contains("Payment");
    if errors
        .iter()
        .any(|e| e.location == Location::Header && matches!(e.kind, FieldErrorKind::Missing))
        && is_profile_api
    {
        return catalogue
            .reply("header_missing")
            .unwrap_or_else(|| catalogue.internal());
    }
    if is_profile_api {
        let mut reply = catalogue
            .reply("validation_error")
            .unwrap_or_else(|| catalogue.internal());
        if let Some(body) = reply.tree_mut() {
            body["cause"] = Value::Array(
                errors
                    .iter()
                    .map(|e| json!({ "code": "validation_error", "description": e.describe() }))
                    .collect(),
            );
        }
        return reply;
    }
    if errors.iter().any(|e| e.field.is_empty()) {
        return catalogue
            .reply("118")
            .unwrap_or_else(|| catalogue.internal());
    }
    let mut codes: Vec<&str> = Vec::new();
    for e in errors {
        let code = code_for(operation, e);
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    let cause: Vec<Value> = codes
        .iter()
        .map(
            |c| json!({ "code": catalogue.cause_code(c), "description": catalogue.description(c) }),
        )
        .collect();
    let message = catalogue.description(codes[0]);
    Reply::json(
        400,
        json!({ "message": message, "error": "bad_request", "status": 400, "cause": cause }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_parses_and_knows_the_seed_codes() {
        let c = Catalogue::load();
        for code in [
            "100",
            "118",
            "129",
            "208",
            "3003",
            "header_missing",
            "customer_not_found",
            "too_many_requests",
        ] {
            assert!(c.reply(code).is_some(), "missing {code}");
        }
    }

    #[test]
    fn code_129_renders_the_documented_envelope() {
        let reply = Catalogue::load().reply("129").expect("known");
        assert_eq!(reply.status, 400);
        assert_eq!(
            reply.tree(),
            Some(json!({
                "message": "the customer has reached the maximum allowed number of cards.",
                "error": "bad_request",
                "status": 400,
                "cause": [{"code": "129", "description": "the customer has reached the maximum allowed number of cards."}]
            }))
        );
    }

    #[test]
    fn a_bad_email_is_cause_106() {
        let e = FieldError::new(
            Location::Body,
            "email",
            FieldErrorKind::Pattern {
                pattern: "x".into(),
            },
        );
        let reply = render_invalid(&Catalogue::load(), "createCustomer", &[e]);
        assert_eq!(reply.tree().expect("body")["cause"][0]["code"], "106");
    }

    #[test]
    fn a_missing_idempotency_key_on_payment_profiles_is_header_missing() {
        let e = FieldError::new(
            Location::Header,
            "X-Idempotency-Key",
            FieldErrorKind::Missing,
        );
        let reply = render_invalid(&Catalogue::load(), "addPaymentMethod", &[e]);
        assert_eq!(reply.status, 401);
        assert_eq!(reply.tree().expect("body")["error"], "header_missing");
    }
}
