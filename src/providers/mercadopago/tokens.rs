//! Card tokens: single use, created from raw card data or from a saved card.
//!
//! Sharing rule: tokens live in one store across tenants and remember their creator. A
//! token may be consumed (saved as a card, added to a payment profile) by the access token
//! that created it, or — when it was created with a public key — by any access token of
//! the same environment (a TEST- public key's token by TEST- access tokens, APP_USR- by
//! APP_USR-), since nothing in a public key names its account. Another access token's
//! token answers 140 "invalid card owner"; a public-key token of the other environment
//! answers 150 "invalid users involved".

use super::MercadoPago;
use super::account;
use super::state::{CardToken, Cardholder, Identification, TokenStatus};
use super::store::Account;
use super::timefmt;
use crate::card;
use crate::digest;
use crate::providers::Call;
use crate::reply::Reply;
use crate::state::ShardedMap;
use serde_json::Value;

/// An integer, or a string of digits (as the Node SDK sends expiry fields).
pub fn number(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

pub fn cardholder_from(v: Option<&Value>) -> Option<Cardholder> {
    let v = v?.as_object()?;
    let text = |o: Option<&Value>, f: &str| {
        o.and_then(|o| o.get(f))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let ident = v.get("identification");
    Some(Cardholder {
        name: text(Some(&Value::Object(v.clone())), "name"),
        identification: Identification {
            kind: text(ident, "type"),
            number: text(ident, "number"),
        },
    })
}

/// Reads an expiry, refusing months outside 1–12 (`month_code`) and past dates
/// (`year_code` for an earlier year, `month_code` for an earlier month this year).
pub fn expiry(
    month: &Value,
    year: &Value,
    now_ms: i64,
    month_code: &'static str,
    year_code: &'static str,
) -> Result<(u32, i64), &'static str> {
    let month = number(month)
        .filter(|m| (1..=12).contains(m))
        .ok_or(month_code)? as u32;
    let mut year = number(year).ok_or(year_code)?;
    if year < 100 {
        year += 2000;
    }
    let (now_y, now_m) = timefmt::year_month(now_ms);
    // Four digits at most, as a string is already held to: `99999` is no expiry year.
    if year < now_y || year > 9999 {
        return Err(year_code);
    }
    if year == now_y && month < now_m {
        return Err(month_code);
    }
    Ok((month, year))
}

/// The fingerprint of a card number: deterministic, so the same card saved twice is
/// recognised across restarts and exports without the number being kept; domain-separated
/// so it matches no other digest of it.
pub fn card_fingerprint(pan: &str) -> String {
    digest::sha256_hex(format!("paysandbox/mercadopago/card/v1:{pan}").as_bytes())
}

fn present(body: &Value, field: &str) -> Option<Value> {
    body.get(field)
        .filter(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
}

impl MercadoPago {
    pub(super) fn create_card_token(&self, call: &Call, tenant: &str, acct: &Account) -> Reply {
        let body = call.body.cloned().unwrap_or(Value::Null);
        let now = call.env.clock.now_ms();
        let token = if present(&body, "card_id").is_some() {
            self.token_from_saved_card(&body, tenant, acct)
        } else {
            self.token_from_card_data(&body, now)
        };
        let mut token = match token {
            Ok(t) => t,
            Err(code) => return self.error(code),
        };
        let ttl_ms = (self.settings().card_token_ttl_seconds as i64).saturating_mul(1000);
        token.id = call.env.ids.hex(32);
        token.creator = tenant.to_string();
        token.created_at_ms = now;
        token.updated_at_ms = now;
        token.due_at_ms = now.saturating_add(ttl_ms);
        let reply = Reply::json(201, token.render(now));
        self.tokens.lock().insert(token.id.clone(), token);
        reply
    }

    fn token_from_card_data(&self, body: &Value, now: i64) -> Result<CardToken, &'static str> {
        let number = present(body, "card_number").ok_or("token_205")?;
        let number = number.as_str().unwrap_or_default();
        let month = present(body, "expiration_month").ok_or("token_208")?;
        let year = present(body, "expiration_year").ok_or("209")?;
        let code = present(body, "security_code").ok_or("224")?;
        if !(13..=19).contains(&number.len()) || !card::luhn(number) {
            return Err("E301");
        }
        let (month, year) = expiry(&month, &year, now, "325", "326")?;
        let code = code.as_str().unwrap_or_default();
        let expected = self.brands.by_bin(number).map(|m| m.security_code.length);
        let code_ok = code.bytes().all(|b| b.is_ascii_digit())
            && match expected {
                Some(len) => code.len() == len as usize,
                None => (3..=4).contains(&code.len()),
            };
        if !code_ok {
            return Err("E203");
        }
        let cardholder = cardholder_from(body.get("cardholder")).unwrap_or_default();
        Ok(CardToken {
            first_six_digits: card::first_six(number).to_string(),
            last_four_digits: card::last_four(number).to_string(),
            fingerprint: card_fingerprint(number),
            card_number_length: number.len() as u32,
            security_code_length: code.len() as u32,
            expiration_month: month,
            expiration_year: year,
            cardholder,
            ..CardToken::default()
        })
    }

    /// A token for a saved card and its security code. The card must belong to the caller:
    /// a public key names no account, so this form needs the access token.
    fn token_from_saved_card(
        &self,
        body: &Value,
        tenant: &str,
        acct: &Account,
    ) -> Result<CardToken, &'static str> {
        let card_id = match body.get("card_id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err("120"),
        };
        if account::is_public(tenant) {
            return Err("120");
        }
        let customer = body.get("customer_id").and_then(Value::as_str);
        let card = acct.card(&card_id, customer).ok_or("120")?;
        let code = present(body, "security_code").ok_or("224")?;
        let code = code.as_str().unwrap_or_default();
        if code.len() != card.security_code.length as usize
            || !code.bytes().all(|b| b.is_ascii_digit())
        {
            return Err("E203");
        }
        Ok(CardToken {
            card_id: Some(card.id.clone()),
            first_six_digits: card.first_six_digits.clone(),
            last_four_digits: card.last_four_digits.clone(),
            fingerprint: card.fingerprint.clone(),
            card_number_length: 16,
            security_code_length: code.len() as u32,
            expiration_month: card.expiration_month,
            expiration_year: card.expiration_year,
            cardholder: cardholder_from(body.get("cardholder"))
                .unwrap_or_else(|| card.cardholder.clone()),
            ..CardToken::default()
        })
    }

    /// A token is readable by its creator, by the tenant that used it, and — for tokens
    /// made with a public key — by access tokens of the same environment.
    fn may_read(token: &CardToken, tenant: &str) -> bool {
        token.creator == tenant
            || token.used_by.as_deref() == Some(tenant)
            || (account::is_public(&token.creator)
                && account::live_mode(&token.creator) == account::live_mode(tenant))
    }

    pub(super) fn get_card_token(&self, call: &Call, tenant: &str) -> Reply {
        let tokens = self.tokens.lock();
        match tokens.get(call.param("token_id")) {
            Some(t) if Self::may_read(t, tenant) => {
                Reply::json(200, t.render(call.env.clock.now_ms()))
            }
            _ => self.error("card_token_not_found"),
        }
    }

    /// Checks that `tenant` may consume the token now, without consuming it.
    pub(super) fn usable_token(
        &self,
        tokens: &ShardedMap<String, CardToken>,
        tenant: &str,
        id: &str,
        now: i64,
    ) -> Result<CardToken, Reply> {
        let token = tokens.get(id).ok_or_else(|| self.error("120"))?;
        if token.creator != tenant {
            // Across environments (a TEST token saved with APP_USR credentials) the users
            // involved are invalid whoever made the token; within one, only a public key's
            // token may be saved by an access token other than its maker.
            if account::live_mode(&token.creator) != account::live_mode(tenant) {
                return Err(self.error("150"));
            }
            if !account::is_public(&token.creator) {
                return Err(self.error("140"));
            }
        }
        if token.status == TokenStatus::Used {
            return Err(self.error("3003"));
        }
        if token.expired(now) {
            return Err(self.error("card_token_expired"));
        }
        Ok(token.clone())
    }

    pub(super) fn consume_token(
        tokens: &mut ShardedMap<String, CardToken>,
        tenant: &str,
        id: &str,
        now: i64,
    ) {
        if let Some(t) = tokens.get_mut(id) {
            t.status = TokenStatus::Used;
            t.used_by = Some(tenant.to_string());
            t.updated_at_ms = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expiry_accepts_numbers_and_numeric_strings() {
        let now = 1_716_386_608_653; // May 2024
        assert_eq!(expiry(&json!(11), &json!(99999), now, "m", "y"), Err("y"));
        assert_eq!(
            expiry(&json!(11), &json!(9999), now, "m", "y"),
            Ok((11, 9999))
        );
        assert_eq!(
            expiry(&json!(11), &json!(2030), now, "m", "y"),
            Ok((11, 2030))
        );
        assert_eq!(
            expiry(&json!("11"), &json!("30"), now, "m", "y"),
            Ok((11, 2030))
        );
        assert_eq!(expiry(&json!(13), &json!(2030), now, "m", "y"), Err("m"));
        assert_eq!(expiry(&json!(1), &json!(2023), now, "m", "y"), Err("y"));
        assert_eq!(expiry(&json!(4), &json!(2024), now, "m", "y"), Err("m"));
        assert_eq!(expiry(&json!("x"), &json!(2030), now, "m", "y"), Err("m"));
    }

    #[test]
    fn fingerprints_are_stable_and_hide_the_number() {
        let f = card_fingerprint("5031433215406351");
        assert_eq!(f, card_fingerprint("5031433215406351"));
        assert_ne!(f, card_fingerprint("4235647728025682"));
        assert_eq!(f.len(), 64);
        assert!(!f.contains("5031433215406351"));
    }

    #[test]
    fn fingerprints_keep_their_published_value() {
        // Exported state carries fingerprints: changing one breaks duplicate detection for
        // every card saved before.
        assert_eq!(
            card_fingerprint("5031433215406351"),
            "a8c36516dcc987e4d5116e39e5586a019366e60adb803dcc0fc3600b94868d16"
        );
    }
}
