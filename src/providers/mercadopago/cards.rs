//! Saved cards: save from a card token (the seed operation), list, get, update, delete.

use super::MercadoPago;
use super::state::{Card, CardToken, PaymentMethodInfo};
use super::store::Account;
use super::timefmt;
use super::tokens::{cardholder_from, expiry, number};
use crate::providers::Call;
use crate::reply::Reply;
use serde_json::Value;

/// A token to save, with the caller's optional brand and issuer.
pub struct TokenUse<'a> {
    pub token_id: &'a str,
    pub payment_method_id: Option<&'a str>,
    pub issuer: Option<&'a Value>,
}

/// What saving a token produced.
pub enum Saved {
    Created(Card),
    /// The customer already holds this card (same fingerprint): the existing card.
    Existing(Card),
}

impl Saved {
    pub fn card(&self) -> &Card {
        match self {
            Saved::Created(c) | Saved::Existing(c) => c,
        }
    }
}

fn issuer_id(v: &Value) -> Option<i64> {
    number(v)
}

impl MercadoPago {
    /// Builds a card for `token`, with the brand from the BIN unless the caller names one.
    fn card_from_token(
        &self,
        token: &CardToken,
        payment_method_id: Option<&str>,
        issuer: Option<&Value>,
    ) -> Result<Card, Reply> {
        let method = match payment_method_id {
            Some(id) => self.brands.method(id),
            None => self.brands.by_bin(&token.first_six_digits),
        }
        .ok_or_else(|| self.error("127"))?;
        // A method of another network than the card's own cannot be resolved for it (`amex`
        // for a Mastercard); credit and debit of one network share its issuer.
        if let Some(own) = self.brands.by_test_bin(&token.first_six_digits)
            && own.issuer.id != method.issuer.id
        {
            return Err(self.error("127"));
        }
        let issuer = match issuer {
            None => method.issuer.clone(),
            Some(v) => {
                let id = issuer_id(v).ok_or_else(|| self.error("124"))?;
                self.brands
                    .issuer(id)
                    .ok_or_else(|| self.error("127"))?
                    .clone()
            }
        };
        Ok(Card {
            expiration_month: token.expiration_month,
            expiration_year: token.expiration_year,
            first_six_digits: token.first_six_digits.clone(),
            last_four_digits: token.last_four_digits.clone(),
            fingerprint: token.fingerprint.clone(),
            payment_method: PaymentMethodInfo::of(method),
            security_code: method.security_code.clone(),
            issuer,
            cardholder: token.cardholder.clone(),
            ..Card::default()
        })
    }

    /// Consumes a token into a card of the customer, under the tenant's lock and the token
    /// store's lock (in that order everywhere), so the card limit and single use hold under
    /// concurrency. The same card again returns the card already saved.
    pub(super) fn save_token(
        &self,
        call: &Call,
        tenant: &str,
        acct: &mut Account,
        customer_id: &str,
        wanted: TokenUse,
    ) -> Result<Saved, Reply> {
        let TokenUse {
            token_id,
            payment_method_id,
            issuer,
        } = wanted;
        let now = call.env.clock.now_ms();
        if acct.customer(customer_id).is_none() {
            return Err(self.error("customer_not_found"));
        }
        let mut tokens = self.tokens.lock();
        let token = self.usable_token(&tokens, tenant, token_id, now)?;
        let max = self.settings().max_cards_per_customer;
        let Some(customer) = acct.customer(customer_id) else {
            return Err(self.error("customer_not_found"));
        };
        if let Some(existing) = customer
            .cards
            .iter()
            .find(|c| c.fingerprint == token.fingerprint)
        {
            Self::consume_token(&mut tokens, tenant, token_id, now);
            return Ok(Saved::Existing(existing.clone()));
        }
        if customer.cards.len() as u64 >= max {
            return Err(self.error("129"));
        }
        let mut card = self.card_from_token(&token, payment_method_id, issuer)?;
        let stamp = timefmt::offset(now);
        card.id = card_id(&call.env.ids);
        card.customer_id = customer.id.clone();
        card.date_created = stamp.clone();
        card.date_last_updated = stamp.clone();
        Self::consume_token(&mut tokens, tenant, token_id, now);
        if let Some(customer) = acct.add_card(customer_id, card.clone()) {
            customer.default_card = Some(card.id.clone());
            customer.date_last_updated = stamp;
        }
        Ok(Saved::Created(card))
    }

    pub(super) fn save_card(&self, call: &Call, tenant: &str, acct: &mut Account) -> Reply {
        let customer_id = call.param("customer_id");
        if acct.customer(customer_id).is_none() {
            return self.error("customer_not_found");
        }
        let token = call
            .body_field("token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if token.is_empty() {
            return self.error("119");
        }
        let payment_method_id = call
            .body_field("payment_method_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let issuer = call.body_field("issuer_id").filter(|v| !v.is_null());
        match self.save_token(
            call,
            tenant,
            acct,
            customer_id,
            TokenUse {
                token_id: token,
                payment_method_id,
                issuer,
            },
        ) {
            Ok(saved) => Reply::json(201, saved.card().render(tenant)),
            Err(reply) => reply,
        }
    }

    pub(super) fn list_cards(&self, call: &Call, tenant: &str, acct: &Account) -> Reply {
        match acct.customer(call.param("customer_id")) {
            Some(c) => Reply::json(
                200,
                Value::Array(c.cards.iter().map(|card| card.render(tenant)).collect()),
            ),
            None => self.error("customer_not_found"),
        }
    }

    pub(super) fn get_card(&self, call: &Call, tenant: &str, acct: &Account) -> Reply {
        let Some(customer) = acct.customer(call.param("customer_id")) else {
            return self.error("customer_not_found");
        };
        match customer
            .cards
            .iter()
            .find(|c| c.id == call.param("card_id"))
        {
            Some(card) => Reply::json(200, card.render(tenant)),
            None => self.error("120"),
        }
    }

    pub(super) fn update_card(&self, call: &Call, tenant: &str, acct: &mut Account) -> Reply {
        let now = call.env.clock.now_ms();
        let body = call.body.cloned().unwrap_or(Value::Null);
        let card_id = call.param("card_id");
        let Some(customer) = acct.customer(call.param("customer_id")) else {
            return self.error("customer_not_found");
        };
        let Some(mut card) = customer.cards.iter().find(|c| c.id == card_id).cloned() else {
            return self.error("120");
        };
        // A new token replaces the card's data; the card keeps its id.
        let new_token = body
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty());
        let mut tokens = self.tokens.lock();
        if let Some(token_id) = new_token {
            let token = match self.usable_token(&tokens, tenant, token_id, now) {
                Ok(t) => t,
                Err(reply) => return reply,
            };
            let fresh = match self.card_from_token(&token, None, None) {
                Ok(c) => c,
                Err(reply) => return reply,
            };
            card = Card {
                id: card.id,
                customer_id: card.customer_id,
                date_created: card.date_created,
                ..fresh
            };
        }
        if body.get("expiration_month").is_some() || body.get("expiration_year").is_some() {
            let month = body
                .get("expiration_month")
                .cloned()
                .unwrap_or(Value::from(card.expiration_month));
            let year = body
                .get("expiration_year")
                .cloned()
                .unwrap_or(Value::from(card.expiration_year));
            match expiry(&month, &year, now, "122", "122") {
                Ok((m, y)) => {
                    card.expiration_month = m;
                    card.expiration_year = y;
                }
                Err(code) => return self.error(code),
            }
        }
        if let Some(holder) = cardholder_from(body.get("cardholder")) {
            card.cardholder.name = holder.name.or(card.cardholder.name);
            card.cardholder.identification.kind = holder
                .identification
                .kind
                .or(card.cardholder.identification.kind);
            card.cardholder.identification.number = holder
                .identification
                .number
                .or(card.cardholder.identification.number);
        }
        if let Some(token_id) = new_token {
            Self::consume_token(&mut tokens, tenant, token_id, now);
        }
        drop(tokens);
        card.date_last_updated = timefmt::offset(now);
        let reply = Reply::json(200, card.render(tenant));
        if let Some(customer) = acct.customer_mut(call.param("customer_id"))
            && let Some(slot) = customer.cards.iter_mut().find(|c| c.id == card_id)
        {
            *slot = card;
        }
        reply
    }

    pub(super) fn delete_card(&self, call: &Call, tenant: &str, acct: &mut Account) -> Reply {
        let customer_id = call.param("customer_id");
        if acct.customer(customer_id).is_none() {
            return self.error("customer_not_found");
        }
        let Some(card) = acct.remove_card(customer_id, call.param("card_id")) else {
            return self.error("120");
        };
        if let Some(customer) = acct.customer_mut(customer_id) {
            if customer.default_card.as_deref() == Some(card.id.as_str()) {
                customer.default_card = customer.cards.last().map(|c| c.id.clone());
            }
            customer.date_last_updated = timefmt::offset(call.env.clock.now_ms());
        }
        Reply::json(200, card.render(tenant))
    }
}

/// A card id as Mercado Pago writes them, thirteen digits, drawn so that it fails the Luhn
/// check: a 13-digit run that passes it is masked as a possible card number wherever the
/// sandbox shows it (journal, state dumps), and an id must stay readable there.
fn card_id(ids: &crate::env::Ids) -> String {
    let mut id = ids.digits(13);
    if crate::card::luhn(&id) {
        // Any other last digit fails the check.
        let last = id.pop().map_or(0, |d| d as u8 - b'0');
        id.push(char::from(b'0' + (last + 1) % 10));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_ids_are_thirteen_digits_that_fail_the_luhn_check() {
        let ids = crate::env::Ids::new(Some(7));
        for _ in 0..2000 {
            let id = card_id(&ids);
            assert_eq!(id.len(), 13, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
            assert!(!crate::card::luhn(&id), "{id}");
            assert_eq!(crate::mask::mask_text(&id), id.as_str(), "shown as it is");
        }
    }
}
