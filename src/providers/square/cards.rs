//! Cards on file: the deprecated customer-card endpoints and the Cards API share one store,
//! so a card saved either way is listed, retrieved and disabled by both.

use super::Square;
use super::customers;
use super::nonces::{self, NonceCard, Problem, Resolved};
use super::render;
use super::state::{Card, NonceUse};
use super::store::TenantState;
use super::testvalues::Outcome;
use crate::providers::{Call, Tenant};
use crate::reply::Reply;
use crate::time;
use serde_json::{Map, Value, json};

const PAGE_KIND: &str = "cards";
/// ListCards answers at most this many cards per page.
const PAGE_SIZE: usize = 25;
const CARD_NOT_FOUND: &str = "Card on file not found";

/// Which endpoint is saving: they name the same failures differently.
#[derive(Clone, Copy, PartialEq)]
enum Via {
    CustomerCard,
    CardsApi,
}

fn refused(sq: &Square, via: Via, problem: Problem) -> Reply {
    let field = match via {
        Via::CustomerCard => None,
        Via::CardsApi => Some("source_id"),
    };
    let code = match (problem, via) {
        (Problem::NotFound, Via::CustomerCard) => {
            return sq.error("NOT_FOUND", Some("Card nonce not found"), None);
        }
        // Square's CreateCard answers an unknown source id as invalid card data.
        (Problem::NotFound, Via::CardsApi) => "INVALID_CARD_DATA",
        (Problem::Used, Via::CustomerCard) => "CARD_TOKEN_USED",
        (Problem::Used, Via::CardsApi) => "SOURCE_USED",
        (Problem::Expired, Via::CustomerCard) => "CARD_TOKEN_EXPIRED",
        (Problem::Expired, Via::CardsApi) => "SOURCE_EXPIRED",
        (Problem::Refused(outcome), _) => outcome_code(outcome),
    };
    sq.error(code, None, field)
}

fn outcome_code(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Declined => "CARD_DECLINED",
        Outcome::CvvFailure => "VERIFY_CVV_FAILURE",
        Outcome::AvsFailure => "VERIFY_AVS_FAILURE",
        Outcome::InvalidExpiration => "INVALID_EXPIRATION",
        Outcome::CardExpired => "CARD_EXPIRED",
        Outcome::InvalidCard => "INVALID_CARD",
        Outcome::AlreadyUsed => "CARD_TOKEN_USED",
        Outcome::Ok => "INTERNAL_SERVER_ERROR",
    }
}

/// A billing postal code must match the one the nonce was made with.
fn postal_mismatch(card: &NonceCard, billing_address: Option<&Value>) -> bool {
    let sent = billing_address
        .and_then(|a| a.get("postal_code"))
        .and_then(Value::as_str);
    match (sent, card.postal_code.as_deref()) {
        (Some(sent), Some(known)) => !sent.trim().eq_ignore_ascii_case(known.trim()),
        _ => false,
    }
}

/// Everything a save needs besides the nonce.
struct Save<'a> {
    customer_id: &'a str,
    nonce: &'a str,
    cardholder_name: Option<String>,
    billing_address: Option<Value>,
    reference_id: Option<String>,
}

/// Resolves the nonce, checks it, stores the card and spends the nonce. `Ok(id)` is the
/// card (new, or the one this nonce already made for this customer).
fn save(sq: &Square, state: &mut TenantState, via: Via, save: Save) -> Result<String, Reply> {
    let now = sq.env.clock.now_ms();
    let per_nonce = via == Via::CustomerCard;
    let (card, minted) = match nonces::resolve(state, save.nonce, save.customer_id, per_nonce, now)
    {
        Ok(Resolved::Saved(id)) => return Ok(id),
        Ok(Resolved::Fresh { card, minted }) => (card, minted),
        Err(problem) => return Err(refused(sq, via, problem)),
    };
    if postal_mismatch(&card, save.billing_address.as_ref()) {
        return Err(refused(sq, via, Problem::Refused(Outcome::AvsFailure)));
    }
    let id = format!("ccof:{}", sq.env.ids.alnum(19));
    state.put_card(Card {
        id: id.clone(),
        customer_id: Some(save.customer_id.to_string()),
        card_brand: card.brand,
        last_4: card.last_4,
        bin: card.bin,
        exp_month: Some(card.exp_month),
        exp_year: Some(card.exp_year),
        cardholder_name: save.cardholder_name,
        billing_address: save.billing_address,
        fingerprint: card.fingerprint,
        reference_id: save.reference_id,
        enabled: true,
        card_type: "CREDIT".into(),
        prepaid_type: "NOT_PREPAID".into(),
        version: 1,
        created_at: time::rfc3339_ms(now),
        nonce: Some(save.nonce.to_string()),
    });
    if let Some(minted) = minted
        && let Some(n) = state.nonce_mut(&minted)
    {
        n.used = Some(NonceUse {
            customer_id: save.customer_id.to_string(),
            card_id: id.clone(),
        });
    }
    Ok(id)
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

fn object(v: Option<&Value>) -> Option<Value> {
    v.filter(|a| a.is_object()).cloned()
}

/// `POST /v2/customers/{customer_id}/cards` (deprecated; idempotent per nonce).
pub fn create_customer_card(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let customer_id = call.param("customer_id");
    let nonce = call
        .body_field("card_nonce")
        .and_then(Value::as_str)
        .unwrap_or_default();
    sq.tenants.with(&tenant.key, |state| {
        if state.customer(customer_id).is_none() {
            return customers::not_found(sq, customer_id);
        }
        let request = Save {
            customer_id,
            nonce,
            cardholder_name: text(call.body_field("cardholder_name")),
            billing_address: object(call.body_field("billing_address")),
            reference_id: None,
        };
        match save(sq, state, Via::CustomerCard, request) {
            Ok(id) => match state.card(&id) {
                Some(card) => Reply::json(
                    200,
                    crate::reply::object([("card", render::legacy_card(card))]),
                ),
                None => sq.error("INTERNAL_SERVER_ERROR", None, None),
            },
            Err(reply) => reply,
        }
    })
}

/// `DELETE /v2/customers/{customer_id}/cards/{card_id}`: the card is disabled, as Square
/// keeps cards on record; it no longer belongs to the customer's cards on file.
pub fn delete_customer_card(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let customer_id = call.param("customer_id");
    let card_id = call.param("card_id");
    sq.tenants.with(&tenant.key, |state| {
        if state.customer(customer_id).is_none() {
            return customers::not_found(sq, customer_id);
        }
        match state.card_mut(card_id) {
            Some(card) if card.enabled && card.customer_id.as_deref() == Some(customer_id) => {
                card.enabled = false;
                card.version += 1;
                Reply::json(200, json!({}))
            }
            _ => sq.error("NOT_FOUND", Some(CARD_NOT_FOUND), None),
        }
    })
}

/// `POST /v2/cards`.
pub fn create(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let body = call.body.cloned().unwrap_or_else(|| json!({}));
    let key = body.get("idempotency_key").and_then(Value::as_str);
    let source_id = body
        .get("source_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let card = body.get("card").cloned().unwrap_or_else(|| json!({}));
    let customer_id = card
        .get("customer_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let merchant = sq.merchant_id(tenant);
    sq.tenants.with(&tenant.key, |state| {
        sq.idempotent(state, call, key, |state| {
            if state.customer(customer_id).is_none() {
                return sq.error("CUSTOMER_NOT_FOUND", None, Some("card.customer_id"));
            }
            let request = Save {
                customer_id,
                nonce: source_id,
                cardholder_name: text(card.get("cardholder_name")),
                billing_address: object(card.get("billing_address")),
                reference_id: text(card.get("reference_id")),
            };
            match save(sq, state, Via::CardsApi, request) {
                Ok(id) => match state.card(&id) {
                    Some(card) => Reply::json(
                        200,
                        crate::reply::object([("card", render::card(card, &merchant))]),
                    ),
                    None => sq.error("INTERNAL_SERVER_ERROR", None, None),
                },
                Err(reply) => reply,
            }
        })
    })
}

/// `GET /v2/cards`.
pub fn list(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let customer = call.query.get("customer_id");
    let reference = call.query.get("reference_id");
    let include_disabled = call.query.get("include_disabled") == Some("true");
    let descending = call.query.get("sort_order") == Some("DESC");
    let offset = match render::page_offset(sq, PAGE_KIND, call.query.get("cursor")) {
        Ok(offset) => offset,
        Err(reply) => return reply,
    };
    let merchant = sq.merchant_id(tenant);
    sq.tenants.with(&tenant.key, |state| {
        let candidates = match customer {
            Some(id) => state.customer_cards(id),
            None => state.cards(),
        };
        let mut found: Vec<&Card> = candidates
            .into_iter()
            .filter(|c| include_disabled || c.enabled)
            .filter(|c| customer.is_none_or(|id| c.customer_id.as_deref() == Some(id)))
            .filter(|c| reference.is_none_or(|r| c.reference_id.as_deref() == Some(r)))
            .collect();
        if descending {
            found.reverse();
        }
        let (page, next) = render::page(found, offset, PAGE_SIZE, PAGE_KIND);
        let mut out = Map::new();
        if !page.is_empty() {
            out.insert(
                "cards".into(),
                Value::Array(page.iter().map(|c| render::card(c, &merchant)).collect()),
            );
        }
        if let Some(next) = next {
            out.insert("cursor".into(), json!(next));
        }
        Reply::json(200, Value::Object(out))
    })
}

/// `GET /v2/cards/{card_id}`.
pub fn retrieve(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let id = call.param("card_id");
    let merchant = sq.merchant_id(tenant);
    sq.tenants.with(&tenant.key, |state| match state.card(id) {
        Some(card) => Reply::json(
            200,
            crate::reply::object([("card", render::card(card, &merchant))]),
        ),
        None => sq.error("NOT_FOUND", Some(CARD_NOT_FOUND), None),
    })
}

/// `POST /v2/cards/{card_id}/disable`: disabling a disabled card changes nothing.
pub fn disable(sq: &Square, call: &Call, tenant: &Tenant) -> Reply {
    let id = call.param("card_id");
    let merchant = sq.merchant_id(tenant);
    sq.tenants
        .with(&tenant.key, |state| match state.card_mut(id) {
            Some(card) => {
                if card.enabled {
                    card.enabled = false;
                    card.version += 1;
                }
                Reply::json(
                    200,
                    crate::reply::object([("card", render::card(card, &merchant))]),
                )
            }
            None => sq.error("NOT_FOUND", Some(CARD_NOT_FOUND), None),
        })
}

/// The fields `POST /__sandbox/square/cards/{card_id}/update` may change: what Square's
/// automatic account updater (a reissued card's new expiry) or a seller in the Dashboard
/// changes on a card on file, outside any API call.
const UPDATABLE: [&str; 4] = [
    "exp_month",
    "exp_year",
    "cardholder_name",
    "billing_address",
];

/// The checked changes of an update request.
#[derive(Default)]
struct CardChanges {
    exp_month: Option<i64>,
    exp_year: Option<i64>,
    cardholder_name: Option<String>,
    billing_address: Option<Value>,
}

fn card_changes(body: &Map<String, Value>) -> Result<CardChanges, String> {
    let mut out = CardChanges::default();
    for (name, value) in body {
        match name.as_str() {
            "tenant" => {}
            "exp_month" => match value.as_i64() {
                Some(m) if (1..=12).contains(&m) => out.exp_month = Some(m),
                _ => return Err("`exp_month` must be an integer from 1 to 12".into()),
            },
            "exp_year" => match value.as_i64() {
                Some(y) if (2000..=9999).contains(&y) => out.exp_year = Some(y),
                _ => return Err("`exp_year` must be a four-digit year such as 2031".into()),
            },
            "cardholder_name" => match value.as_str() {
                Some(n) => out.cardholder_name = Some(n.to_string()),
                None => return Err("`cardholder_name` must be a string".into()),
            },
            "billing_address" if value.is_object() => out.billing_address = Some(value.clone()),
            "billing_address" => {
                return Err("`billing_address` must be an object (Square's Address)".into());
            }
            other => {
                return Err(format!(
                    "`{other}` cannot be updated (updatable: {})",
                    UPDATABLE.join(", ")
                ));
            }
        }
    }
    if out.exp_month.is_none()
        && out.exp_year.is_none()
        && out.cardholder_name.is_none()
        && out.billing_address.is_none()
    {
        return Err(format!("send at least one of {}", UPDATABLE.join(", ")));
    }
    Ok(out)
}

/// Applies the changes; whether anything differs (an update to the same values is no change,
/// so it neither bumps the version nor publishes).
fn apply(card: &mut Card, changes: CardChanges) -> bool {
    let before = (
        card.exp_month,
        card.exp_year,
        card.cardholder_name.clone(),
        card.billing_address.clone(),
    );
    if let Some(m) = changes.exp_month {
        card.exp_month = Some(m);
    }
    if let Some(y) = changes.exp_year {
        card.exp_year = Some(y);
    }
    if let Some(n) = changes.cardholder_name {
        card.cardholder_name = Some(n);
    }
    if let Some(a) = changes.billing_address {
        card.billing_address = Some(a);
    }
    let changed = before
        != (
            card.exp_month,
            card.exp_year,
            card.cardholder_name.clone(),
            card.billing_address.clone(),
        );
    if changed {
        card.version += 1;
    }
    changed
}

/// `POST /__sandbox/square/cards/{card_id}/update`: changes a card on file as Square does
/// outside the API (account updater, Dashboard), so RetrieveCard and ListCards show it and
/// subscribers get `card.updated`. The tenant is the `Authorization` bearer token or a
/// `tenant` field; without either the card is looked up in every tenant.
pub fn admin_update(sq: &Square, call: &crate::providers::AdminCall, card_id: &str) -> Reply {
    use crate::providers::{admin_error, bearer_token};
    let body = match &call.body {
        Ok(Some(Value::Object(map))) => map.clone(),
        Ok(_) => {
            return admin_error(
                400,
                format!(
                    "send the changes as a JSON object with any of {}",
                    UPDATABLE.join(", ")
                ),
            );
        }
        Err(e) => return admin_error(400, e.clone()),
    };
    let changes = match card_changes(&body) {
        Ok(c) => c,
        Err(e) => return admin_error(400, e),
    };
    let named = match (bearer_token(call.headers), body.get("tenant")) {
        (Err(_), _) => return admin_error(400, "the Authorization header is malformed"),
        (Ok(Some(token)), _) => Some(token.to_string()),
        (_, Some(Value::String(t))) if !t.is_empty() => Some(t.clone()),
        (_, None | Some(Value::Null)) => None,
        (_, Some(_)) => return admin_error(400, "`tenant` must be the access token (a string)"),
    };
    let holders: Vec<String> = match named {
        Some(t) => vec![t],
        None => sq
            .tenants
            .keys()
            .into_iter()
            .filter(|t| sq.tenants.with(t, |s| s.card(card_id).is_some()))
            .collect(),
    };
    let tenant = match holders.as_slice() {
        [one] => one.clone(),
        [] => return admin_error(404, format!("no card on file {card_id}")),
        many => {
            return admin_error(
                400,
                format!(
                    "card {card_id} is on file for {} tenants: name one with `tenant` or Authorization",
                    many.len()
                ),
            );
        }
    };
    let merchant = sq.merchant_id(&Tenant {
        key: tenant.clone(),
    });
    let outcome = sq.tenants.existing(&tenant).and_then(|state| {
        let mut state = state.lock();
        let card = state.card_mut(card_id)?;
        if !card.enabled {
            return Some(Err(card_id.to_string()));
        }
        let changed = apply(card, changes);
        Some(Ok((changed, render::card(card, &merchant))))
    });
    match outcome {
        None => admin_error(404, format!("no card on file {card_id}")),
        Some(Err(id)) => admin_error(
            409,
            format!("card {id} is disabled: only enabled cards on file are updated"),
        ),
        Some(Ok((changed, rendered))) => {
            if changed {
                super::events::card_updated(sq, &tenant, &merchant, card_id, &rendered);
            }
            Reply::json(
                200,
                crate::reply::object([("card", rendered), ("updated", changed.into())]),
            )
        }
    }
}
