//! Save-card rules beyond the schema: Luhn, expiry against the sandbox clock, network against
//! the card's BIN, each version's vocabulary, v2's consent, and the authorization reference
//! number Rupay and AMEX need.
//!
//! Every problem is reported at once, at most one per field, ordered by the request schema's
//! property order (identifier, cardholder_name, card_number, nickname, expiry_month,
//! expiry_year, network, card_type, card_holder_consent, authorization_reference_number);
//! schema errors come first for a field and suppress the module's checks of that field.

use super::cards::{self, CardType, Network};
use super::errors;
use super::version::ApiVersion;
use crate::card;
use crate::problem::{FieldError, FieldErrorKind, Location};
use serde_json::{Map, Value};

/// One problem as Eximpe's envelope names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub attr: String,
    pub detail: String,
}

impl Problem {
    pub(super) fn new(attr: &str, detail: impl Into<String>) -> Self {
        Problem {
            attr: attr.to_string(),
            detail: detail.into(),
        }
    }
}

pub const EXPIRED: &str = "Card has expired.";
pub const NETWORK_MISMATCH: &str = "Card number does not match the selected network.";
pub const CONSENT_NOT_GIVEN: &str = "Card holder consent is required to save the card.";
pub const BLANK: &str = "This field may not be blank.";

/// The schema's errors in Eximpe's wording: attr is the top-level field (or the parameter).
pub fn from_schema(errors: &[FieldError]) -> Vec<Problem> {
    let attr_of = |e: &FieldError| match e.location {
        Location::Body if e.field.is_empty() => "non_field_errors".to_string(),
        Location::Body => e.field.split('.').next().unwrap_or_default().to_string(),
        _ => e.field.clone(),
    };
    let mut problems: Vec<Problem> = Vec::new();
    for (i, e) in errors.iter().enumerate() {
        let attr = attr_of(e);
        if problems.iter().any(|p| p.attr == attr) {
            continue;
        }
        // Django REST Framework stops at a field's first failing check and says one thing:
        // null is "may not be null"; a choice field quotes what was sent ("1" for 1) rather
        // than also calling it not a string.
        let detail = if e.value.as_ref().is_some_and(Value::is_null)
            && matches!(
                e.kind,
                FieldErrorKind::Enum { .. } | FieldErrorKind::Type { .. }
            ) {
            "This field may not be null.".to_string()
        } else {
            let choice = errors[i..].iter().find(|other| {
                matches!(other.kind, FieldErrorKind::Enum { .. }) && attr_of(other) == attr
            });
            errors::detail(choice.unwrap_or(e))
        };
        problems.push(Problem { attr, detail });
    }
    problems
}

/// Orders problems: body-wide first, then parameters, then body fields in `field_order`.
/// The sort is stable, so a field's own problems keep the order they were found in.
pub fn order(mut problems: Vec<Problem>, field_order: &[String]) -> Vec<Problem> {
    let rank = |attr: &str| -> usize {
        if attr == "non_field_errors" {
            return 0;
        }
        match field_order.iter().position(|f| f == attr) {
            Some(i) => i + 2,
            None if attr.starts_with("X-") => 1,
            None => usize::MAX,
        }
    };
    problems.sort_by_key(|p| rank(&p.attr));
    problems
}

/// The card a valid save body describes, borrowed from the body (the card number is never
/// copied).
#[derive(Debug)]
pub struct NewCard<'a> {
    pub identifier: &'a str,
    pub cardholder_name: &'a str,
    pub nickname: Option<&'a str>,
    pub card_number: &'a str,
    pub network: Network,
    pub card_type: CardType,
    pub expiry_month: u32,
    pub expiry_year: i64,
}

/// The body fields this module reads.
const FIELDS: [&str; 10] = [
    "identifier",
    "cardholder_name",
    "card_number",
    "nickname",
    "expiry_month",
    "expiry_year",
    "network",
    "card_type",
    "card_holder_consent",
    "authorization_reference_number",
];

/// The body's [`FIELDS`], found in one pass over the object: looking each up in the object by
/// name would hash the name again for every lookup, on the busiest path there is.
struct Fields<'a>([Option<&'a Value>; FIELDS.len()]);

impl<'a> Fields<'a> {
    fn of(body: &'a Map<String, Value>) -> Self {
        let mut found = [None; FIELDS.len()];
        for (name, value) in body {
            if let Some(i) = FIELDS.iter().position(|f| f == name) {
                found[i] = Some(value);
            }
        }
        Fields(found)
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        FIELDS
            .iter()
            .position(|f| *f == name)
            .and_then(|i| self.0[i])
    }
}

/// Checks a save body (after the schema found `schema` problems) for `version`, today being
/// `(year, month)`. Returns the card, or every problem found.
pub fn check<'a>(
    body: Option<&'a Value>,
    version: ApiVersion,
    today: (i64, u32),
    schema: Vec<Problem>,
    field_order: &[String],
) -> Result<NewCard<'a>, Vec<Problem>> {
    let mut problems = schema;
    let flagged: Vec<String> = problems.iter().map(|p| p.attr.clone()).collect();
    let Some(body) = body.and_then(Value::as_object) else {
        if problems.is_empty() {
            problems.push(Problem::new(
                "non_field_errors",
                "Invalid data. Expected a dictionary.",
            ));
        }
        return Err(order(problems, field_order));
    };
    let body = Fields::of(body);
    // Fields the schema already rejected are not looked at again.
    let field = |name: &str| {
        if flagged.iter().any(|f| f == name) {
            None
        } else {
            body.get(name)
        }
    };
    let text = |name: &str| field(name).and_then(Value::as_str);

    let required_text = |name: &str, problems: &mut Vec<Problem>| {
        let v = text(name).map(str::trim);
        if v == Some("") {
            problems.push(Problem::new(name, BLANK));
        }
        v.filter(|s| !s.is_empty())
    };
    let identifier = required_text("identifier", &mut problems);
    let cardholder_name = required_text("cardholder_name", &mut problems);

    let card_number = text("card_number");
    let luhn_ok = card_number.is_some_and(card::luhn);
    if card_number.is_some() && !luhn_ok {
        problems.push(Problem::new("card_number", "Invalid card number format."));
    }

    let month = field("expiry_month")
        .and_then(Value::as_u64)
        .and_then(|m| u32::try_from(m).ok());
    let year = field("expiry_year").and_then(Value::as_i64);
    if let (Some(m), Some(y)) = (month, year) {
        if y < today.0 {
            problems.push(Problem::new("expiry_year", EXPIRED));
        } else if y == today.0 && m < today.1 {
            problems.push(Problem::new("expiry_month", EXPIRED));
        }
    }

    let network_text = text("network");
    let network = network_text.and_then(|n| Network::parse(n, version));
    if let Some(sent) = network_text {
        match network {
            None => problems.push(Problem::new(
                "network",
                format!("\"{sent}\" is not a valid choice."),
            )),
            Some(n) => {
                if let Some(number) = card_number.filter(|_| luhn_ok)
                    && !cards::bin_matches(number, n)
                {
                    problems.push(Problem::new("network", NETWORK_MISMATCH));
                }
            }
        }
    }

    let card_type_text = text("card_type");
    let card_type = card_type_text.and_then(|t| CardType::parse(t, version));
    if let (Some(sent), None) = (card_type_text, card_type) {
        problems.push(Problem::new(
            "card_type",
            format!("\"{sent}\" is not a valid choice."),
        ));
    }

    if version == ApiVersion::V2 && !flagged.iter().any(|f| f == "card_holder_consent") {
        match body.get("card_holder_consent") {
            None => problems.push(Problem::new(
                "card_holder_consent",
                "This field is required.",
            )),
            Some(Value::Bool(false)) => {
                problems.push(Problem::new("card_holder_consent", CONSENT_NOT_GIVEN));
            }
            _ => {}
        }
    }

    // The reference rule follows the network whichever casing was sent: a Rupay card
    // without its reference is reported even when the network word itself is also wrong.
    if let Some(message) = body
        .get("network")
        .and_then(Value::as_str)
        .and_then(Network::parse_any)
        .and_then(Network::reference_required)
    {
        let reference = body
            .get("authorization_reference_number")
            .and_then(Value::as_str)
            .map(str::trim);
        if !flagged
            .iter()
            .any(|f| f == "authorization_reference_number")
            && reference.is_none_or(str::is_empty)
        {
            problems.push(Problem::new("authorization_reference_number", message));
        }
    }

    if !problems.is_empty() {
        return Err(order(problems, field_order));
    }
    let nickname = body
        .get("nickname")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match (
        identifier,
        cardholder_name,
        card_number,
        network,
        card_type,
        month,
        year,
    ) {
        (
            Some(identifier),
            Some(cardholder_name),
            Some(card_number),
            Some(network),
            Some(card_type),
            Some(expiry_month),
            Some(expiry_year),
        ) => Ok(NewCard {
            identifier,
            cardholder_name,
            nickname,
            card_number,
            network,
            card_type,
            expiry_month,
            expiry_year,
        }),
        // Only reachable if the schema stopped requiring a field; say which is missing.
        (identifier, cardholder_name, card_number, network, card_type, month, year) => {
            let missing = [
                ("identifier", identifier.is_none()),
                ("cardholder_name", cardholder_name.is_none()),
                ("card_number", card_number.is_none()),
                ("expiry_month", month.is_none()),
                ("expiry_year", year.is_none()),
                ("network", network.is_none()),
                ("card_type", card_type.is_none()),
            ];
            Err(missing
                .iter()
                .filter(|(_, m)| *m)
                .map(|(f, _)| Problem::new(f, "This field is required."))
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order_of_spec() -> Vec<String> {
        [
            "identifier",
            "cardholder_name",
            "card_number",
            "nickname",
            "expiry_month",
            "expiry_year",
            "network",
            "card_type",
            "card_holder_consent",
            "authorization_reference_number",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn visa() -> Value {
        json!({"identifier": "u1", "card_number": "4111111111111111", "cardholder_name": "John Doe",
               "expiry_month": 12, "expiry_year": 2030, "network": "visa", "card_type": "credit_card"})
    }

    fn attrs(r: Result<NewCard, Vec<Problem>>) -> Vec<(String, String)> {
        r.unwrap_err()
            .into_iter()
            .map(|p| (p.attr, p.detail))
            .collect()
    }

    #[test]
    fn a_valid_v1_body_gives_the_card() {
        let body = visa();
        let card = check(
            Some(&body),
            ApiVersion::V1,
            (2026, 1),
            vec![],
            &order_of_spec(),
        )
        .unwrap();
        assert_eq!(card.network, Network::Visa);
        assert_eq!(card.card_type, CardType::Credit);
        assert_eq!(card.nickname, None);
    }

    #[test]
    fn expiry_is_judged_against_today() {
        let mut body = visa();
        body["expiry_year"] = json!(2026);
        body["expiry_month"] = json!(3);
        assert!(
            check(
                Some(&body),
                ApiVersion::V1,
                (2026, 3),
                vec![],
                &order_of_spec()
            )
            .is_ok()
        );
        assert_eq!(
            attrs(check(
                Some(&body),
                ApiVersion::V1,
                (2026, 4),
                vec![],
                &order_of_spec()
            )),
            vec![("expiry_month".to_string(), EXPIRED.to_string())]
        );
        assert_eq!(
            attrs(check(
                Some(&body),
                ApiVersion::V1,
                (2027, 1),
                vec![],
                &order_of_spec()
            )),
            vec![("expiry_year".to_string(), EXPIRED.to_string())]
        );
    }

    #[test]
    fn v2_wants_consent_and_accepts_both_casings() {
        let mut body = visa();
        body["network"] = json!("VISA");
        body["card_type"] = json!("PREPAID");
        assert_eq!(
            attrs(check(
                Some(&body),
                ApiVersion::V2,
                (2026, 1),
                vec![],
                &order_of_spec()
            )),
            vec![(
                "card_holder_consent".to_string(),
                "This field is required.".to_string()
            )]
        );
        body["card_holder_consent"] = json!(true);
        assert!(
            check(
                Some(&body),
                ApiVersion::V2,
                (2026, 1),
                vec![],
                &order_of_spec()
            )
            .is_ok()
        );
        let mut lower = visa();
        lower["card_holder_consent"] = json!(true);
        assert!(
            check(
                Some(&lower),
                ApiVersion::V2,
                (2026, 1),
                vec![],
                &order_of_spec()
            )
            .is_ok()
        );
        assert_eq!(
            attrs(check(
                Some(&body),
                ApiVersion::V1,
                (2026, 1),
                vec![],
                &order_of_spec()
            )),
            vec![
                (
                    "network".to_string(),
                    "\"VISA\" is not a valid choice.".to_string()
                ),
                (
                    "card_type".to_string(),
                    "\"PREPAID\" is not a valid choice.".to_string()
                )
            ]
        );
    }

    #[test]
    fn problems_follow_the_field_order() {
        let body = json!({"identifier": " ", "card_number": "4111111111111112", "cardholder_name": "A",
            "expiry_month": 1, "expiry_year": 2030, "network": "rupay", "card_type": "debit_card"});
        assert_eq!(
            attrs(check(
                Some(&body),
                ApiVersion::V1,
                (2026, 1),
                vec![],
                &order_of_spec()
            )),
            vec![
                ("identifier".to_string(), BLANK.to_string()),
                (
                    "card_number".to_string(),
                    "Invalid card number format.".to_string()
                ),
                (
                    "authorization_reference_number".to_string(),
                    "Authorization reference number is required for Rupay cards.".to_string()
                ),
            ]
        );
    }
}
