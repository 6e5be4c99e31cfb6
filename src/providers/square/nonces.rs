//! Card nonces: Square's fixed sandbox nonces, and single-use nonces minted by the sandbox
//! endpoint `POST /__sandbox/square/nonces` (what the Web Payments SDK does in a browser).
//! A nonce's test-value outcome is reported when it is saved, as at Square, not when minted.

use super::Square;
use super::state::{Card, Nonce};
use super::store::TenantState;
use super::testvalues::{self, Outcome};
use crate::card;
use crate::providers::{AdminCall, admin_error, bearer_token};
use crate::reply::Reply;
use crate::time;
use serde_json::{Value, json};

/// How many minted nonces one tenant keeps; the oldest is forgotten first.
const MAX_NONCES_PER_TENANT: usize = 10_000;

/// The card a nonce stands for, without its number.
#[derive(Debug, Clone)]
pub struct NonceCard {
    pub brand: String,
    pub last_4: String,
    pub bin: String,
    pub fingerprint: String,
    pub exp_month: i64,
    pub exp_year: i64,
    pub postal_code: Option<String>,
}

/// What a nonce allows.
#[derive(Debug)]
pub enum Resolved {
    /// Save this card; `minted` names the single-use nonce to mark as used.
    Fresh {
        card: NonceCard,
        minted: Option<String>,
    },
    /// The nonce was already saved for this customer: the card it made.
    Saved(String),
}

#[derive(Debug, PartialEq)]
pub enum Problem {
    NotFound,
    Used,
    Expired,
    Refused(Outcome),
}

/// The Visa behind every fixed test nonce; it expires in December, three years on.
fn fixed_card(now_ms: i64) -> NonceCard {
    let pan = testvalues::TEST_NONCE_PAN;
    NonceCard {
        brand: testvalues::brand(pan).into(),
        last_4: card::last_four(pan).into(),
        bin: card::first_six(pan).into(),
        fingerprint: testvalues::fingerprint(pan),
        exp_month: 12,
        exp_year: time::year_month(now_ms).0 + 3,
        postal_code: Some(testvalues::TEST_NONCE_POSTAL_CODE.into()),
    }
}

/// Looks a nonce up for saving it for `customer_id`. With `per_nonce` (CreateCustomerCard),
/// a nonce already saved for the same customer answers the card it made.
pub fn resolve(
    state: &TenantState,
    nonce: &str,
    customer_id: &str,
    per_nonce: bool,
    now_ms: i64,
) -> Result<Resolved, Problem> {
    let saved_for_customer = |card_id: Option<&str>| {
        let saved = |c: &&Card| {
            c.enabled
                && c.customer_id.as_deref() == Some(customer_id)
                && c.nonce.as_deref() == Some(nonce)
        };
        match card_id {
            Some(id) => state.card(id).filter(saved),
            None => state.customer_cards(customer_id).into_iter().find(saved),
        }
        .map(|c| c.id.clone())
    };
    if let Some(outcome) = testvalues::fixed_nonce(nonce) {
        return match outcome {
            Outcome::Ok => match saved_for_customer(None).filter(|_| per_nonce) {
                Some(id) => Ok(Resolved::Saved(id)),
                None => Ok(Resolved::Fresh {
                    card: fixed_card(now_ms),
                    minted: None,
                }),
            },
            Outcome::AlreadyUsed => Err(Problem::Used),
            other => Err(Problem::Refused(other)),
        };
    }
    let Some(minted) = state.nonce(nonce) else {
        return Err(Problem::NotFound);
    };
    if let Some(used) = &minted.used {
        return match saved_for_customer(Some(&used.card_id)).filter(|_| per_nonce) {
            Some(id) if used.customer_id == customer_id => Ok(Resolved::Saved(id)),
            _ => Err(Problem::Used),
        };
    }
    if now_ms > minted.expires_at_ms {
        return Err(Problem::Expired);
    }
    if minted.outcome != Outcome::Ok {
        return Err(Problem::Refused(minted.outcome));
    }
    Ok(Resolved::Fresh {
        card: NonceCard {
            brand: minted.card_brand.clone(),
            last_4: minted.last_4.clone(),
            bin: minted.bin.clone(),
            fingerprint: minted.fingerprint.clone(),
            exp_month: minted.exp_month,
            exp_year: minted.exp_year,
            postal_code: minted.postal_code.clone(),
        },
        minted: Some(nonce.to_string()),
    })
}

/// A month (1-12) or year sent as a number or a numeric string.
fn int_field(body: &Value, name: &str) -> Result<Option<i64>, String> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("`{name}` must be an integer")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("`{name}` must be an integer")),
        Some(_) => Err(format!("`{name}` must be an integer")),
    }
}

fn text_field<'a>(body: &'a Value, name: &str) -> Result<Option<&'a str>, String> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(format!("`{name}` must be a string")),
    }
}

/// `POST /__sandbox/square/nonces`: turns a test card into a fresh single-use nonce for a
/// tenant (the access token in `Authorization`, or a `tenant` field).
pub fn mint(sq: &Square, call: &AdminCall) -> Reply {
    let body = match &call.body {
        Ok(Some(b)) if b.is_object() => b.clone(),
        Ok(_) => {
            return admin_error(
                400,
                "send the card as a JSON object: {card_number, exp_month, exp_year, cvv, postal_code}",
            );
        }
        Err(e) => return admin_error(400, e.clone()),
    };
    let tenant = match (bearer_token(call.headers), text_field(&body, "tenant")) {
        (Ok(Some(token)), _) => token.to_string(),
        (_, Ok(Some(t))) if !t.is_empty() => t.to_string(),
        (Err(_), _) => return admin_error(400, "the Authorization header is malformed"),
        _ => {
            return admin_error(
                400,
                "name the tenant: send its access token as `Authorization: Bearer <token>` or a `tenant` field",
            );
        }
    };
    match mint_for(sq, &tenant, &body) {
        Ok(answer) => Reply::json(200, answer),
        Err(message) => admin_error(400, message),
    }
}

fn mint_for(sq: &Square, tenant: &str, body: &Value) -> Result<Value, String> {
    // The nonce lives on the tenant's own clock, like its saves.
    let _clock = sq.env.clock.enter_tenant(tenant);
    let number = text_field(body, "card_number")?.ok_or("`card_number` is required")?;
    let pan: String = number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if pan.is_empty() || !pan.chars().all(|c| c.is_ascii_digit()) || pan.len() > 19 {
        return Err("`card_number` must be up to 19 digits (spaces and dashes allowed)".into());
    }
    let exp_month = int_field(body, "exp_month")?.ok_or("`exp_month` is required")?;
    if !(1..=12).contains(&exp_month) {
        return Err("`exp_month` must be between 1 and 12".into());
    }
    let mut exp_year = int_field(body, "exp_year")?.ok_or("`exp_year` is required")?;
    if (0..100).contains(&exp_year) {
        exp_year += 2000;
    }
    if !(1900..=9999).contains(&exp_year) {
        return Err("`exp_year` must be a year such as 2030".into());
    }
    let cvv = text_field(body, "cvv")?;
    let postal_code = text_field(body, "postal_code")?;
    let now = sq.env.clock.now_ms();
    let outcome = testvalues::outcome(
        &pan,
        exp_month as u32,
        exp_year,
        cvv,
        postal_code,
        time::year_month(now),
    );
    let nonce = Nonce {
        nonce: format!("cnon:CA4SE{}", sq.env.ids.alnum(27)),
        card_brand: testvalues::brand(&pan).into(),
        last_4: card::last_four(&pan).into(),
        bin: card::first_six(&pan).into(),
        fingerprint: testvalues::fingerprint(&pan),
        exp_month,
        exp_year,
        postal_code: postal_code.map(str::to_string),
        outcome,
        created_at_ms: now,
        expires_at_ms: now.saturating_add(sq.nonce_ttl_seconds().saturating_mul(1000)),
        used: None,
    };
    let answer = json!({
        "nonce": nonce.nonce,
        "card": {
            "card_brand": nonce.card_brand,
            "last_4": nonce.last_4,
            "exp_month": nonce.exp_month,
            "exp_year": nonce.exp_year,
            "bin": nonce.bin,
        },
        "expires_at": time::rfc3339_ms(nonce.expires_at_ms),
    });
    sq.tenants.with(tenant, |state| {
        // Bounded, so a long-running sandbox minting in a loop does not grow without end.
        if state.nonce_count() >= MAX_NONCES_PER_TENANT {
            state.forget_oldest_nonce();
        }
        state.put_nonce(nonce)
    });
    Ok(answer)
}
