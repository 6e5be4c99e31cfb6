//! Mercado Pago: customers, card tokens, saved cards and payment profiles.
//!
//! Envelope: `{"message", "error", "status", "cause": [{"code", "description"}]}`, with the
//! customer/card catalogue codes (100–208) in `cause`.

//!
//! State belongs to the access token (`Tenant::key`): another token sees none of it. Card
//! tokens are the exception that the API itself makes: they live in one store, made with a
//! public key and consumed with an access token (rules in `tokens`).

mod account;
mod brands;
mod cards;
mod customers;
mod errors;
mod profiles;
mod settings;
mod state;
mod store;
mod testvalues;
mod timefmt;
mod tokens;

use super::{Call, Provider, Tenant, bearer_token};
use crate::env::Env;
use crate::problem::{BodyProblem, FieldError};
use crate::reply::Reply;
use crate::spec::Operation;
use crate::state::idempotency::{Seen, fingerprint};
use crate::state::{ShardedMap, Tenants};
use hyper::Method;
use parking_lot::{Mutex, RwLock};
use serde_json::Value;
use std::sync::Arc;

pub use errors::Catalogue;
use settings::Settings;
use state::{CardToken, Export};
use store::Account;

pub const NAME: &str = "mercadopago";

/// The access token `paysandbox compare` replays recordings with (theirs are redacted).
pub const REPLAY_ACCESS_TOKEN: &str = "TEST-1000000000000001-010100-paysandboxcompare-100000001";

pub struct MercadoPago {
    env: Arc<Env>,
    errors: Catalogue,
    brands: brands::Brands,
    settings: RwLock<Settings>,
    accounts: Tenants<Account>,
    /// Every card token by id, whoever created it.
    tokens: Mutex<ShardedMap<String, CardToken>>,
}

impl MercadoPago {
    pub fn new(env: Arc<Env>) -> Self {
        MercadoPago {
            env,
            errors: Catalogue::load(),
            brands: brands::Brands::load(),
            settings: RwLock::new(Settings::default()),
            accounts: Tenants::default(),
            tokens: Mutex::new(ShardedMap::default()),
        }
    }

    fn settings(&self) -> Settings {
        self.settings.read().clone()
    }

    /// Runs a creation under the tenant's lock, honouring `X-Idempotency-Key`: the same key
    /// with the same request answers the first answer again and creates nothing; with
    /// another request it is a conflict. Failed attempts are not remembered.
    fn idempotent(
        &self,
        call: &Call,
        tenant: &str,
        create: impl FnOnce(&mut Account) -> Reply,
    ) -> Reply {
        self.accounts.with(tenant, |acct| {
            let Some(key) = call.header("x-idempotency-key").filter(|k| !k.is_empty()) else {
                return create(acct);
            };
            let now = call.env.clock.now_ms();
            let body = call.body.map(Value::to_string).unwrap_or_default();
            let query: Vec<String> = call
                .query
                .0
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let print = fingerprint(&[
                &call.op.id,
                call.path.trim_end_matches('/'),
                &query.join("&"),
                &body,
            ]);
            match acct.keys.check(key, print, now) {
                Seen::Replay(reply) => reply,
                Seen::Conflict => self.error("idempotency_key_conflict"),
                Seen::New => {
                    let reply = create(acct);
                    if reply.is_success() {
                        acct.keys.remember(key, print, &reply, now);
                    }
                    reply
                }
            }
        })
    }

    /// The answer for a catalogue code. Every code used in this module is in the data file
    /// (a unit test checks them), so the fallback is never sent in practice.
    pub fn error(&self, code: &str) -> Reply {
        self.errors
            .reply(code)
            .unwrap_or_else(|| self.errors.internal())
    }
}

/// Access tokens are `TEST-...` (sandbox credentials) or `APP_USR-...` (production).
fn is_access_token(token: &str) -> bool {
    let rest = token
        .strip_prefix("TEST-")
        .or_else(|| token.strip_prefix("APP_USR-"));
    rest.is_some_and(|r| {
        !r.is_empty()
            && r.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

impl Provider for MercadoPago {
    fn name(&self) -> &'static str {
        NAME
    }

    fn authenticate(&self, call: &Call) -> Result<Tenant, Reply> {
        // Card tokens are created from the browser with the public key, as a query parameter
        // (MercadoPago.js) or header; the bearer access token works too (the SDKs' own tests).
        if call.op.id == "createCardToken" {
            let public_key = call
                .query
                .get("public_key")
                .or_else(|| call.header("x-public-key"));
            if let Some(key) = public_key.filter(|k| !k.is_empty()) {
                if is_access_token(key) {
                    return Ok(Tenant {
                        key: format!("public:{key}"),
                    });
                }
                return Err(self.error("unauthorized"));
            }
        }
        match bearer_token(call.headers) {
            Ok(Some(token)) if is_access_token(token) => Ok(Tenant {
                key: token.to_string(),
            }),
            Ok(Some(_)) => Err(self.error("unauthorized")),
            // The Python SDK sends `Bearer ` and the Node SDK `Bearer` when no token is set:
            // both mean "no credentials", as does a missing header.
            Ok(None) | Err(_)
                if call
                    .header("authorization")
                    .is_none_or(|v| v.trim().eq_ignore_ascii_case("bearer")) =>
            {
                Err(self.error("missing_access_token"))
            }
            Ok(None) | Err(_) => Err(self.error("unauthorized")),
        }
    }

    fn invalid(&self, call: &Call, errors: &[FieldError]) -> Reply {
        let errors = crate::problem::only_type_errors_for_wrong_types(errors);
        errors::render_invalid(&self.errors, &call.op.id, &errors)
    }

    fn unreadable(&self, _op: Option<&Operation>, problem: &BodyProblem) -> Reply {
        match problem {
            BodyProblem::TooLarge { .. } => self.error("request_too_large"),
            BodyProblem::Malformed { .. } | BodyProblem::Empty | BodyProblem::Incomplete => {
                self.error("118")
            }
        }
    }

    fn not_found(&self, _method: &Method, _path: &str) -> Reply {
        self.error("resource_not_found_path")
    }

    fn method_not_allowed(&self, _method: &Method, _path: &str, _allowed: &[Method]) -> Reply {
        self.error("method_not_allowed")
    }

    fn catalogue_error(&self, code: &str) -> Option<Reply> {
        self.errors.reply(code)
    }

    fn catalogue_codes(&self) -> Vec<String> {
        self.errors.codes()
    }

    fn sandbox_misuse(&self, message: &str) -> Reply {
        Reply::json(
            400,
            serde_json::json!({"message": message, "error": "bad_request", "status": 400, "cause": []}),
        )
    }

    fn handle(&self, call: &Call, tenant: &Tenant) -> Option<Reply> {
        let t = tenant.key.as_str();
        let a = &self.accounts;
        Some(match call.op.id.as_str() {
            "createCustomer" => {
                self.idempotent(call, t, |acct| self.create_customer(call, t, acct))
            }
            "searchCustomers" => a.with(t, |acct| self.search_customers(call, t, acct)),
            "getCustomer" => a.with(t, |acct| self.get_customer(call, t, acct)),
            "updateCustomer" => a.with(t, |acct| self.update_customer(call, t, acct)),
            "deleteCustomer" => a.with(t, |acct| self.delete_customer(call, t, acct)),
            "createCardToken" => {
                self.idempotent(call, t, |acct| self.create_card_token(call, t, acct))
            }
            "getCardToken" => self.get_card_token(call, t),
            "saveCard" => self.idempotent(call, t, |acct| self.save_card(call, t, acct)),
            "listCards" => a.with(t, |acct| self.list_cards(call, t, acct)),
            "getCard" => a.with(t, |acct| self.get_card(call, t, acct)),
            "updateCard" => a.with(t, |acct| self.update_card(call, t, acct)),
            "deleteCard" => a.with(t, |acct| self.delete_card(call, t, acct)),
            "createPaymentProfile" => {
                self.idempotent(call, t, |acct| self.create_payment_profile(call, t, acct))
            }
            "getPaymentProfile" => a.with(t, |acct| self.get_payment_profile(call, acct)),
            "updatePaymentProfile" => a.with(t, |acct| self.update_payment_profile(call, acct)),
            "addPaymentMethod" => {
                self.idempotent(call, t, |acct| self.add_payment_method(call, t, acct))
            }
            _ => return None,
        })
    }

    fn replay_credentials(&self, headers: &mut Vec<(String, String)>) {
        // Mercado Pago refuses anything but a TEST-/APP_USR- token; one stand-in for every
        // recording keeps a replayed sequence (create, then retrieve) in one tenant.
        for (name, value) in headers.iter_mut() {
            if !value.ends_with("REDACTED") {
                continue;
            }
            match name.as_str() {
                "authorization" => *value = format!("Bearer {REPLAY_ACCESS_TOKEN}"),
                "x-public-key" => *value = REPLAY_ACCESS_TOKEN.to_string(),
                _ => {}
            }
        }
    }

    fn configure(&self, settings: &Value) -> Result<(), String> {
        let mut current = self.settings.write();
        *current = current.updated(settings)?;
        Ok(())
    }

    fn reset(&self, tenant: Option<&str>) {
        self.accounts.reset(tenant);
        let mut tokens = self.tokens.lock();
        match tenant {
            Some(t) => tokens.retain(|_, token| token.creator != t),
            None => tokens.clear(),
        }
    }

    fn tenants(&self) -> Vec<String> {
        let mut keys = self.accounts.keys_where(|acct| !acct.is_empty());
        for token in self.tokens.lock().values() {
            if !keys.contains(&token.creator) {
                keys.push(token.creator.clone());
            }
        }
        keys.sort();
        keys
    }

    fn export(&self, tenant: &str) -> Option<Value> {
        let mut export = Export::default();
        if let Some(acct) = self.accounts.existing(tenant) {
            let acct = acct.lock();
            export.customers = acct.customers().into_iter().cloned().collect();
            export.payment_profiles = acct.profiles().into_iter().cloned().collect();
        }
        let mut tokens: Vec<CardToken> = self
            .tokens
            .lock()
            .values()
            .filter(|t| t.creator == tenant)
            .cloned()
            .collect();
        tokens.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        export.card_tokens = tokens;
        if export.customers.is_empty()
            && export.payment_profiles.is_empty()
            && export.card_tokens.is_empty()
        {
            return None;
        }
        serde_json::to_value(export).ok()
    }

    fn import(&self, tenant: &str, state: &Value) -> Result<(), String> {
        let mut seed = Export::parse(state)?;
        let ttl_ms = (self.settings().card_token_ttl_seconds as i64).saturating_mul(1000);
        seed.complete(tenant, &self.brands, self.env.clock.now_ms(), ttl_ms);
        self.accounts.with(tenant, |acct| {
            for c in seed.customers {
                acct.put_customer(c);
            }
            for p in seed.payment_profiles {
                acct.put_profile(p);
            }
            let mut tokens = self.tokens.lock();
            for t in seed.card_tokens {
                tokens.insert(t.id.clone(), t);
            }
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_have_a_known_prefix() {
        assert!(is_access_token("TEST-1234-abc"));
        assert!(is_access_token("APP_USR-99-x_y"));
        assert!(!is_access_token("TEST-"));
        assert!(!is_access_token("sk_live_123"));
        assert!(!is_access_token("TEST-has space"));
    }

    #[test]
    fn a_brief_seed_imports_and_exports_back_losslessly() {
        let mp = MercadoPago::new(Arc::new(Env::new(Some(1))));
        let tenant = "TEST-1-2-3-448870796";
        mp.import(
            tenant,
            &serde_json::json!({"customers": [{"id": "cust-1", "email": "test_payer_1@testuser.com"}]}),
        )
        .expect("a partial seed imports");
        assert_eq!(mp.tenants(), vec![tenant.to_string()]);
        let exported = mp.export(tenant).expect("state");
        assert_eq!(exported["customers"][0]["id"], "cust-1");
        assert_eq!(
            exported["customers"][0]["email"],
            "test_payer_1@testuser.com"
        );
        assert!(
            !exported["customers"][0]["date_created"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );

        // Export → import into a fresh sandbox → export gives the same state.
        let other = MercadoPago::new(Arc::new(Env::new(Some(2))));
        let mut full = exported.clone();
        full["customers"][0]["cards"] = serde_json::json!([{"id": "1562188766852", "first_six_digits": "423564", "last_four_digits": "5682"}]);
        full["card_tokens"] = serde_json::json!([{"id": "9b2d63e00d66a8c721607214ceda233a", "first_six_digits": "503143", "last_four_digits": "6351"}]);
        full["payment_profiles"] = serde_json::json!([{"id": "7036b192b541454fa9b9990660dfa1b5", "customer_id": "cust-1"}]);
        other.import(tenant, &full).expect("imports");
        let once = other.export(tenant).expect("state");
        assert_eq!(
            once["customers"][0]["cards"][0]["payment_method"]["id"],
            "visa"
        );
        assert_eq!(once["card_tokens"][0]["status"], "active");
        let third = MercadoPago::new(Arc::new(Env::new(Some(3))));
        third.import(tenant, &once).expect("re-imports");
        assert_eq!(third.export(tenant), Some(once));

        // What cannot be read is refused, naming the field.
        let err = mp
            .import(
                tenant,
                &serde_json::json!({"customers": [{"email": "x@example.com"}]}),
            )
            .unwrap_err();
        assert!(err.contains("customers[0].id"), "{err}");
        let err = mp
            .import(
                tenant,
                &serde_json::json!({"customers": [{"id": "c", "cards": "many"}]}),
            )
            .unwrap_err();
        assert!(err.contains("cards"), "{err}");

        mp.reset(Some(tenant));
        assert!(mp.tenants().is_empty());
        assert_eq!(mp.export(tenant), None);
    }

    #[test]
    fn an_export_lists_customers_and_profiles_in_creation_order() {
        let mp = MercadoPago::new(Arc::new(Env::new(Some(1))));
        let tenant = "TEST-1-2-3-448870796";
        let customer =
            |id: &str| serde_json::json!({"id": id, "email": format!("{id}@example.com")});
        let profile = |id: &str, c: &str| serde_json::json!({"id": id, "customer_id": c});
        let seed = serde_json::json!({
            "customers": [customer("c3"), customer("c1"), customer("c2")],
            "payment_profiles": [profile("p2", "c1"), profile("p1", "c3")],
        });
        mp.import(tenant, &seed).expect("imports");
        mp.accounts.with(tenant, |acct| {
            acct.remove_customer("c1");
            acct.remove_profiles_of("c1");
        });
        // c2 is replaced in place; c1 comes back last.
        let again = serde_json::json!({
            "customers": [customer("c1"), {"id": "c2", "email": "new@example.com"}],
            "payment_profiles": [profile("p0", "c2")],
        });
        mp.import(tenant, &again).expect("imports");
        let exported = mp.export(tenant).expect("state");
        let ids = |kind: &str| -> Vec<String> {
            exported[kind]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v["id"].as_str().map(str::to_string))
                .collect()
        };
        assert_eq!(ids("customers"), ["c3", "c2", "c1"]);
        assert_eq!(exported["customers"][1]["email"], "new@example.com");
        assert_eq!(ids("payment_profiles"), ["p1", "p0"]);
        let other = MercadoPago::new(Arc::new(Env::new(Some(2))));
        other.import(tenant, &exported).expect("re-imports");
        assert_eq!(other.export(tenant), Some(exported));
    }

    #[test]
    fn every_code_the_handlers_send_is_in_the_catalogue() {
        let mp = MercadoPago::new(Arc::new(Env::new(Some(1))));
        for code in [
            "101",
            "106",
            "115",
            "119",
            "120",
            "122",
            "124",
            "126",
            "127",
            "128",
            "129",
            "140",
            "150",
            "201",
            "202",
            "203",
            "206",
            "207",
            "208",
            "209",
            "224",
            "325",
            "326",
            "3003",
            "E203",
            "E301",
            "token_205",
            "token_208",
            "card_token_expired",
            "customer_not_found",
            "card_token_not_found",
            "idempotency_key_conflict",
            "resource_not_found",
            "customer_id_mismatch",
            "profile_modification_not_allowed",
            "more_than_two_payment_methods_not_allowed",
            "two_cards_with_token_not_allowed",
            "duplicate_payment_method_not_allowed",
            "payment_method_id_cannot_be_blank",
            "payment_methods_required",
            "payment_methods_cannot_be_null",
            "payment_method_not_approved",
            "validation_error",
        ] {
            assert!(mp.catalogue_error(code).is_some(), "missing {code}");
        }
    }
}
