//! Automatic Payments payment profiles and their payment methods.
//!
//! Statuses follow the spec: profiles PENDING | READY | CANCELLED, methods PENDING |
//! READY | REJECTED | DISABLED. A card is validated when added (a test charge at Mercado
//! Pago): the cardholder-name test values decide it (see `testvalues`).

use super::MercadoPago;
use super::cards::TokenUse;
use super::state::{PaymentProfile, ProfileMethod};
use super::store::Account;
use super::testvalues::{self, Validation};
use super::timefmt;
use crate::providers::Call;
use crate::reply::Reply;
use serde_json::{Value, json};

/// A payment method checked and ready to be added.
struct Pending {
    id: String,
    kind: String,
    default_method: bool,
    /// A saved card of the customer, or a token to save first.
    card_id: Option<String>,
    token: Option<String>,
    fingerprint: String,
    status: &'static str,
}

fn text(v: &Value, field: &str) -> Option<String> {
    v.get(field).and_then(Value::as_str).map(str::to_string)
}

impl MercadoPago {
    /// Checks one requested method against the customer's cards and the token store.
    fn check_method(
        &self,
        call: &Call,
        tenant: &str,
        acct: &Account,
        customer_id: &str,
        req: &Value,
    ) -> Result<Pending, Reply> {
        let id = text(req, "id").unwrap_or_default();
        if id.is_empty() {
            return Err(self.error("payment_method_id_cannot_be_blank"));
        }
        let customer = acct
            .customer(customer_id)
            .ok_or_else(|| self.error("resource_not_found"))?;
        let (card_id, token, fingerprint, holder) = match (req.get("card_id"), text(req, "token")) {
            (Some(v), _) if !v.is_null() => {
                let wanted = v.as_i64().map(|n| n.to_string()).unwrap_or_default();
                let card = customer
                    .cards
                    .iter()
                    .find(|c| c.id == wanted)
                    .ok_or_else(|| self.error("validation_error"))?;
                (
                    Some(card.id.clone()),
                    None,
                    card.fingerprint.clone(),
                    card.cardholder.name.clone(),
                )
            }
            (_, Some(token_id)) => {
                let tokens = self.tokens.lock();
                let token =
                    self.usable_token(&tokens, tenant, &token_id, call.env.clock.now_ms())?;
                (
                    None,
                    Some(token_id),
                    token.fingerprint,
                    token.cardholder.name,
                )
            }
            _ => return Err(self.error("payment_methods_required")),
        };
        let status = match testvalues::validation(holder.as_deref()) {
            Validation::Approved => "READY",
            Validation::Pending => "PENDING",
            Validation::Declined => return Err(self.error("payment_method_not_approved")),
        };
        Ok(Pending {
            id,
            kind: text(req, "type").unwrap_or_else(|| "credit_card".into()),
            default_method: req
                .get("default_method")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            card_id,
            token,
            fingerprint,
            status,
        })
    }

    /// The fingerprints of the cards a profile already holds.
    fn profile_fingerprints(acct: &Account, profile: &PaymentProfile) -> Vec<String> {
        let Some(customer) = acct.customer(&profile.customer_id) else {
            return Vec::new();
        };
        profile
            .payment_methods
            .iter()
            .filter_map(|m| m.card_id)
            .filter_map(|id| customer.cards.iter().find(|c| c.id == id.to_string()))
            .map(|c| c.fingerprint.clone())
            .collect()
    }

    /// Saves a pending method's token as a card (or takes the saved card) and builds the
    /// profile's method.
    fn commit_method(
        &self,
        call: &Call,
        tenant: &str,
        acct: &mut Account,
        customer_id: &str,
        p: Pending,
    ) -> Result<ProfileMethod, Reply> {
        let card_id = match (p.card_id, p.token) {
            (Some(id), _) => id,
            (None, Some(token)) => self
                .save_token(
                    call,
                    tenant,
                    acct,
                    customer_id,
                    TokenUse {
                        token_id: &token,
                        payment_method_id: None,
                        issuer: None,
                    },
                )?
                .card()
                .id
                .clone(),
            (None, None) => return Err(self.error("payment_methods_required")),
        };
        Ok(ProfileMethod {
            payment_method_id: call.env.ids.uuid(),
            id: p.id,
            kind: p.kind,
            card_id: card_id.parse().ok(),
            status: p.status.to_string(),
            default_method: p.default_method,
        })
    }

    fn add_to_profile(profile: &mut PaymentProfile, mut method: ProfileMethod) -> ProfileMethod {
        if profile.payment_methods.is_empty() {
            method.default_method = true;
        }
        if method.default_method {
            for m in &mut profile.payment_methods {
                m.default_method = false;
            }
        }
        profile.payment_methods.push(method.clone());
        if profile.payment_methods.iter().any(|m| m.status == "READY") {
            profile.status = "READY".into();
        }
        method
    }

    pub(super) fn create_payment_profile(
        &self,
        call: &Call,
        tenant: &str,
        acct: &mut Account,
    ) -> Reply {
        let customer_id = call.param("customer_id");
        if acct.customer(customer_id).is_none() {
            return self.error("resource_not_found");
        }
        let body = call.body.cloned().unwrap_or(Value::Null);
        let requested = body
            .get("payment_methods")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if requested.len() > 2 {
            return self.error("more_than_two_payment_methods_not_allowed");
        }
        if requested.len() == 2 && requested.iter().all(|m| text(m, "token").is_some()) {
            return self.error("two_cards_with_token_not_allowed");
        }
        let mut pending = Vec::new();
        for req in &requested {
            let p = match self.check_method(call, tenant, acct, customer_id, req) {
                Ok(p) => p,
                Err(reply) => return reply,
            };
            if pending
                .iter()
                .any(|q: &Pending| q.fingerprint == p.fingerprint)
            {
                return self.error("duplicate_payment_method_not_allowed");
            }
            pending.push(p);
        }
        let now = timefmt::utc(call.env.clock.now_ms());
        let mut profile = PaymentProfile {
            id: call.env.ids.hex(32),
            customer_id: customer_id.to_string(),
            created_date: now.clone(),
            last_updated_date: now,
            description: text(&body, "description"),
            max_day_overdue: body.get("max_day_overdue").and_then(Value::as_i64),
            statement_descriptor: text(&body, "statement_descriptor"),
            status: "PENDING".into(),
            sequence_control: text(&body, "sequence_control").unwrap_or_else(|| "AUTO".into()),
            payment_methods: Vec::new(),
        };
        for p in pending {
            match self.commit_method(call, tenant, acct, customer_id, p) {
                Ok(m) => {
                    Self::add_to_profile(&mut profile, m);
                }
                Err(reply) => return reply,
            }
        }
        let reply = Reply::json(201, profile.render());
        acct.put_profile(profile);
        reply
    }

    /// The profile named by the path, checked against the path's customer.
    fn path_profile<'a>(
        &self,
        call: &Call,
        acct: &'a Account,
    ) -> Result<&'a PaymentProfile, Reply> {
        let profile = acct
            .profile(call.param("payment_profile_id"))
            .ok_or_else(|| self.error("resource_not_found"))?;
        if profile.customer_id != call.param("customer_id") {
            return Err(self.error("customer_id_mismatch"));
        }
        Ok(profile)
    }

    /// [`Self::path_profile`], to change it.
    fn path_profile_mut<'a>(
        &self,
        call: &Call,
        acct: &'a mut Account,
    ) -> Result<&'a mut PaymentProfile, Reply> {
        self.path_profile(call, acct)?;
        acct.profile_mut(call.param("payment_profile_id"))
            .ok_or_else(|| self.error("resource_not_found"))
    }

    pub(super) fn get_payment_profile(&self, call: &Call, acct: &Account) -> Reply {
        match self.path_profile(call, acct) {
            Ok(profile) => Reply::json(200, profile.render()),
            Err(reply) => reply,
        }
    }

    pub(super) fn update_payment_profile(&self, call: &Call, acct: &mut Account) -> Reply {
        let body = call.body.cloned().unwrap_or(Value::Null);
        let profile = match self.path_profile_mut(call, acct) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        if profile.status == "CANCELLED" {
            return self.error("profile_modification_not_allowed");
        }
        if let Some(v) = text(&body, "description") {
            profile.description = Some(v);
        }
        if let Some(v) = text(&body, "statement_descriptor") {
            profile.statement_descriptor = Some(v);
        }
        if let Some(v) = body.get("max_day_overdue").and_then(Value::as_i64) {
            profile.max_day_overdue = Some(v);
        }
        if let Some(v) = text(&body, "sequence_control") {
            profile.sequence_control = v;
        }
        if text(&body, "status").as_deref() == Some("CANCELLED") {
            profile.status = "CANCELLED".into();
        }
        profile.last_updated_date = timefmt::utc(call.env.clock.now_ms());
        Reply::json(200, profile.render())
    }

    pub(super) fn add_payment_method(
        &self,
        call: &Call,
        tenant: &str,
        acct: &mut Account,
    ) -> Reply {
        let profile = match self.path_profile(call, acct) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        let body = call.body.cloned().unwrap_or(Value::Null);
        if body.as_object().is_none_or(|o| o.is_empty()) {
            return self.error("payment_methods_cannot_be_null");
        }
        if profile.status == "CANCELLED" {
            return self.error("profile_modification_not_allowed");
        }
        if profile.payment_methods.len() >= 2 {
            return self.error("more_than_two_payment_methods_not_allowed");
        }
        let customer_id = profile.customer_id.clone();
        let held = Self::profile_fingerprints(acct, profile);
        let pending = match self.check_method(call, tenant, acct, &customer_id, &body) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        if held.contains(&pending.fingerprint) {
            return self.error("duplicate_payment_method_not_allowed");
        }
        let method = match self.commit_method(call, tenant, acct, &customer_id, pending) {
            Ok(m) => m,
            Err(reply) => return reply,
        };
        let profile = match self.path_profile_mut(call, acct) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        let method = Self::add_to_profile(profile, method);
        profile.last_updated_date = timefmt::utc(call.env.clock.now_ms());
        Reply::json(201, json!(method))
    }
}
