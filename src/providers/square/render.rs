//! Entities as Square sends them, and the opaque page cursors of list endpoints.

use super::Square;
use super::state::{Card, Customer};
use crate::digest;
use crate::reply::Reply;
use serde_json::{Map, Value, json};

/// `Customer.cards` was retired at this Square-Version: later versions never see it.
pub const CUSTOMER_CARDS_RETIRED: &str = "2024-12-18";

/// A customer profile. `cards` (the customer's enabled cards, legacy shape) is only sent
/// to clients pinned before the field's retirement, and only when there are some.
pub fn customer(c: &Customer, cards: &[&Card], square_version: &str) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(c.id));
    out.insert("created_at".into(), json!(c.created_at));
    out.insert("updated_at".into(), json!(c.updated_at));
    for (k, v) in &c.fields {
        out.insert(k.clone(), v.clone());
    }
    if square_version < CUSTOMER_CARDS_RETIRED && !cards.is_empty() {
        out.insert(
            "cards".into(),
            Value::Array(cards.iter().map(|card| legacy_card(card)).collect()),
        );
    }
    out.insert("preferences".into(), c.preferences.clone());
    out.insert("creation_source".into(), json!(c.creation_source));
    out.insert("version".into(), json!(c.version));
    Value::Object(out)
}

/// The fields both of Square's card shapes start with, in Square's order.
fn card_core(c: &Card) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("id".into(), json!(c.id));
    out.insert("card_brand".into(), json!(c.card_brand));
    out.insert("last_4".into(), json!(c.last_4));
    out.insert("exp_month".into(), json!(c.exp_month));
    out.insert("exp_year".into(), json!(c.exp_year));
    if let Some(name) = &c.cardholder_name {
        out.insert("cardholder_name".into(), json!(name));
    }
    if let Some(address) = &c.billing_address {
        out.insert("billing_address".into(), address.clone());
    }
    out
}

/// The small card of the deprecated customer-card endpoints.
pub fn legacy_card(c: &Card) -> Value {
    Value::Object(card_core(c))
}

/// A Cards API card.
pub fn card(c: &Card, merchant_id: &str) -> Value {
    let mut out = card_core(c);
    out.insert("fingerprint".into(), json!(c.fingerprint));
    if let Some(customer) = &c.customer_id {
        out.insert("customer_id".into(), json!(customer));
    }
    out.insert("merchant_id".into(), json!(merchant_id));
    if let Some(reference) = &c.reference_id {
        out.insert("reference_id".into(), json!(reference));
    }
    out.insert("enabled".into(), json!(c.enabled));
    out.insert("card_type".into(), json!(c.card_type));
    out.insert("prepaid_type".into(), json!(c.prepaid_type));
    out.insert("bin".into(), json!(c.bin));
    out.insert("version".into(), json!(c.version));
    out.insert("hsa_fsa".into(), json!(false));
    Value::Object(out)
}

/// A cursor for the page starting at `offset` of a listing named `kind`.
pub fn cursor(kind: &str, offset: usize) -> String {
    digest::base64url(format!("{kind}:{offset}").as_bytes())
}

/// The offset a cursor stands for; `None` when it is not one of ours for this listing.
pub fn read_cursor(kind: &str, cursor: &str) -> Option<usize> {
    let bytes = digest::from_base64url(cursor)?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix(kind)?.strip_prefix(':')?.parse().ok()
}

/// The offset a list request's `cursor` asks for (0 without one), or Square's
/// `INVALID_CURSOR` answer when it is not one of this listing's.
pub fn page_offset(sq: &Square, kind: &str, cursor: Option<&str>) -> Result<usize, Reply> {
    match cursor.filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(c) => read_cursor(kind, c).ok_or_else(|| {
            sq.error(
                "INVALID_CURSOR",
                Some("The pagination cursor included in the request is invalid."),
                Some("cursor"),
            )
        }),
    }
}

/// One page of `items` starting at `offset`, and the cursor of the next page if any.
pub fn page<T>(items: Vec<T>, offset: usize, size: usize, kind: &str) -> (Vec<T>, Option<String>) {
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(size).collect();
    let next = (offset + size < total).then(|| cursor(kind, offset + size));
    (page, next)
}

/// JSON with object keys sorted, so two equal bodies compare equal whatever their key order
/// (idempotency fingerprints).
pub fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", json!(k), canonical(&map[k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_strangers() {
        let c = cursor("cards", 25);
        assert_eq!(read_cursor("cards", &c), Some(25));
        assert_eq!(read_cursor("customers", &c), None);
        assert_eq!(read_cursor("cards", "not a cursor"), None);
    }

    #[test]
    fn pages_end_without_a_cursor() {
        let (items, next) = page((0..60).collect(), 50, 25, "cards");
        assert_eq!(items, (50..60).collect::<Vec<_>>());
        assert_eq!(next, None);
        let (items, next) = page((0..60).collect::<Vec<i32>>(), 0, 25, "cards");
        assert_eq!(items.len(), 25);
        assert_eq!(next.and_then(|c| read_cursor("cards", &c)), Some(25));
    }

    #[test]
    fn canonical_json_ignores_key_order() {
        assert_eq!(
            canonical(&json!({"b": 1, "a": {"d": [1, 2], "c": null}})),
            canonical(&json!({"a": {"c": null, "d": [1, 2]}, "b": 1}))
        );
    }
}
