//! Eximpe: tokenised saved cards (`/pg/tokens/`), API versions 1 and 2.
//!
//! Envelopes (both `success: false`): `validation_error` with every field error at once, in
//! Django REST Framework's wording, and the coded `{code, message, details}` form.
//!
//! Tenants are the client id plus the sub-merchant id (`X-Merchant-ID`, PSP clients). The
//! accepted credentials, the clients without permission and the default API version are
//! settings (see `settings.rs`, also reachable through `admin.rs`).

mod admin;
mod cards;
mod errors;
mod handlers;
mod save;
mod settings;
mod state;
mod version;

use super::{AdminCall, Call, Provider, Tenant};
use crate::env::Env;
use crate::problem::{BodyProblem, FieldError};
use crate::reply::Reply;
use crate::spec::Operation;
use crate::state::Tenants;
use hyper::Method;
use hyper::header::HeaderName;
use parking_lot::RwLock;
use serde_json::Value;
use settings::{Access, Settings};
use std::sync::Arc;

pub use errors::Catalogue;

pub const NAME: &str = "eximpe";

/// Credential headers, parsed once (see [`Call::header`]).
const CLIENT_ID: HeaderName = HeaderName::from_static("x-client-id");
const CLIENT_SECRET: HeaderName = HeaderName::from_static("x-client-secret");
const MERCHANT_ID: HeaderName = HeaderName::from_static("x-merchant-id");

/// The client credentials `paysandbox compare` replays recordings with (theirs are redacted).
const REPLAY_CLIENT_ID: &str = "paysandbox-compare";
const REPLAY_CLIENT_SECRET: &str = "paysandbox-compare-secret";
const REPLAY_MERCHANT_ID: &str = "paysandbox-compare-merchant";

pub struct Eximpe {
    env: Arc<Env>,
    errors: Catalogue,
    settings: RwLock<Settings>,
    state: Tenants<state::TenantState>,
}

/// The tenant key of a client (and sub-merchant). The parts are escaped so that no client id
/// containing the separator can reach another client's cards.
pub fn tenant_key(client_id: &str, merchant_id: &str) -> String {
    let mut key = String::with_capacity(client_id.len() + merchant_id.len() + 1);
    push_escaped(&mut key, client_id);
    key.push('/');
    push_escaped(&mut key, merchant_id);
    key
}

/// `%` and `/` escaped, so the separator cannot come from either part.
fn push_escaped(key: &mut String, part: &str) {
    let mut rest = part;
    while let Some(at) = rest.find(['%', '/']) {
        key.push_str(&rest[..at]);
        key.push_str(if rest.as_bytes()[at] == b'%' {
            "%25"
        } else {
            "%2F"
        });
        rest = &rest[at + 1..];
    }
    key.push_str(rest);
}

impl Eximpe {
    pub fn new(env: Arc<Env>) -> Self {
        Eximpe {
            env,
            errors: Catalogue::load(),
            settings: RwLock::new(Settings::default()),
            state: Tenants::default(),
        }
    }

    pub fn error(&self, code: &str) -> Reply {
        self.errors.reply(code).unwrap_or_else(errors::internal)
    }
}

impl Provider for Eximpe {
    fn name(&self) -> &'static str {
        NAME
    }

    fn authenticate(&self, call: &Call) -> Result<Tenant, Reply> {
        let present = |name| call.header(name).map(str::trim).filter(|v| !v.is_empty());
        let (Some(id), Some(secret)) = (present(&CLIENT_ID), present(&CLIENT_SECRET)) else {
            return Err(self.error("ERR_AUTH_000"));
        };
        match self.settings.read().access(id, secret) {
            Access::Granted => {}
            Access::InvalidCredentials => return Err(self.error("invalid_credentials")),
            Access::Forbidden => return Err(self.error("ERR_AUTH_001")),
        }
        // PSP clients act for a sub-merchant; each sub-merchant's cards are its own.
        let merchant = call.header(&MERCHANT_ID).map(str::trim).unwrap_or_default();
        Ok(Tenant {
            key: tenant_key(id, merchant),
        })
    }

    /// A bare client id (`"my-client"`) names the client acting for itself; the escaped
    /// `CLIENT/MERCHANT` form, as keys are written, names a sub-merchant.
    fn tenant_key(&self, named: &str) -> String {
        if named.contains('/') {
            named.to_string()
        } else {
            tenant_key(named, "")
        }
    }

    fn invalid(&self, call: &Call, errors: &[FieldError]) -> Reply {
        let version = match self.version(call) {
            Ok(v) => v,
            Err(reply) => return reply,
        };
        let schema = save::from_schema(errors);
        let problems = if call.op.id == "saveCardToken" {
            match save::check(
                call.body,
                version,
                self.today(),
                schema,
                &call.op.body_fields,
            ) {
                Err(problems) => problems,
                // Unreachable with schema problems present; never answer success from here.
                Ok(_) => return errors::render_invalid(errors),
            }
        } else {
            save::order(schema, &call.op.body_fields)
        };
        handlers::problems_reply(problems)
    }

    fn unreadable(&self, _op: Option<&Operation>, problem: &BodyProblem) -> Reply {
        match problem {
            BodyProblem::TooLarge { .. } => self.error("ERR_REQUEST_002"),
            BodyProblem::Malformed { line, column, .. } => errors::validation(vec![(
                "parse_error".to_string(),
                format!("JSON parse error - invalid JSON at line {line} column {column}"),
                "non_field_errors".to_string(),
            )]),
            BodyProblem::Incomplete => errors::validation(vec![(
                "parse_error".to_string(),
                "JSON parse error - the request body did not arrive in full".to_string(),
                "non_field_errors".to_string(),
            )]),
            BodyProblem::Empty => errors::validation(vec![(
                "invalid".to_string(),
                "No data provided".to_string(),
                "non_field_errors".to_string(),
            )]),
        }
    }

    fn not_found(&self, _method: &Method, _path: &str) -> Reply {
        self.error("ERR_REQUEST_000")
    }

    fn method_not_allowed(&self, method: &Method, _path: &str, _allowed: &[Method]) -> Reply {
        let mut reply = self.error("ERR_REQUEST_001");
        if let Some(body) = reply.tree_mut() {
            body["error"]["details"]["method"] = format!("Method \"{method}\" not allowed.").into();
        }
        reply
    }

    fn catalogue_error(&self, code: &str) -> Option<Reply> {
        self.errors.reply(code)
    }

    fn catalogue_codes(&self) -> Vec<String> {
        self.errors.codes()
    }

    fn sandbox_misuse(&self, message: &str) -> Reply {
        errors::validation(vec![(
            "invalid".to_string(),
            message.to_string(),
            "non_field_errors".to_string(),
        )])
    }

    fn handle(&self, call: &Call, tenant: &Tenant) -> Option<Reply> {
        let version = match self.version(call) {
            Ok(v) => v,
            Err(reply) => return Some(reply),
        };
        match call.op.id.as_str() {
            "saveCardToken" => Some(self.save(call, tenant, version)),
            "listCardTokens" => Some(self.list(call, tenant, version)),
            "deleteCardToken" | "deleteCardTokenByDelete" => Some(self.delete(call, tenant)),
            _ => None,
        }
    }

    fn admin(&self, call: &AdminCall) -> Option<Reply> {
        self.serve_admin(call)
    }

    fn replay_credentials(&self, headers: &mut Vec<(String, String)>) {
        // Stand-ins for the redacted client credentials, registered so the replay is
        // accepted even when only registered clients are (`only_registered`).
        let mut replaced = false;
        for (name, value) in headers.iter_mut() {
            if value != "REDACTED" {
                continue;
            }
            match name.as_str() {
                "x-client-id" => *value = REPLAY_CLIENT_ID.into(),
                "x-client-secret" => *value = REPLAY_CLIENT_SECRET.into(),
                "x-merchant-id" => *value = REPLAY_MERCHANT_ID.into(),
                _ => continue,
            }
            replaced = true;
        }
        if replaced {
            let mut settings = self.settings.write();
            let _ = settings.apply(&serde_json::json!({
                "credentials": { REPLAY_CLIENT_ID: REPLAY_CLIENT_SECRET }
            }));
        }
    }

    fn configure(&self, settings: &Value) -> Result<(), String> {
        self.settings.write().apply(settings)
    }

    fn reset(&self, tenant: Option<&str>) {
        self.state.reset(tenant);
    }

    fn tenants(&self) -> Vec<String> {
        self.state.keys_where(|t| !t.is_empty())
    }

    fn export(&self, tenant: &str) -> Option<Value> {
        self.state.existing(tenant).map(|t| t.lock().export())
    }

    fn import(&self, tenant: &str, state: &Value) -> Result<(), String> {
        self.state.with(tenant, |t| t.import(state, &self.env))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tenant_keys_cannot_be_forged_with_the_separator() {
        assert_ne!(tenant_key("a/b", ""), tenant_key("a", "b/"));
        assert_eq!(tenant_key("client", "m1"), "client/m1");
        assert_eq!(tenant_key("a%/b", "/%ü"), "a%25%2Fb/%2F%25ü");
    }

    #[test]
    fn state_round_trips_through_export_and_import() {
        let p = Eximpe::new(Arc::new(Env::new(Some(3))));
        let key = tenant_key("client", "");
        p.import(
            &key,
            &json!({"cards": [{"card_token": "c8a28bca2021ead49124", "identifier": "USER_1",
                               "card_number": "378282246310005", "card_type": "credit_card"}]}),
        )
        .unwrap();
        assert_eq!(p.tenants(), vec![key.clone()]);
        let dump = p.export(&key).unwrap();
        assert_eq!(dump["cards"][0]["network"], "AMEX");
        assert_eq!(dump["cards"][0]["card_type"], "CREDIT");
        assert_eq!(dump["cards"][0]["first_six"], "378282");
        assert!(!dump.to_string().contains("378282246310005"));

        let other = Eximpe::new(Arc::new(Env::new(Some(4))));
        other.import(&key, &dump).unwrap();
        assert_eq!(other.export(&key), Some(dump));

        p.reset(Some(&key));
        assert!(p.tenants().is_empty());
        assert_eq!(p.export(&key), None);
        assert!(p.import(&key, &json!({"customers": []})).is_err());
    }
}
