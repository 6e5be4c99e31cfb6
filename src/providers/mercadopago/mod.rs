//! Mercado Pago: customers, card tokens, saved cards and payment profiles.
//!
//! Envelope: `{"message", "error", "status", "cause": [{"code", "description"}]}`, with the
//! customer/card catalogue codes (100–208) in `cause`.

mod errors;

use super::{Call, Provider, Tenant, bearer_token};
use crate::env::Env;
use crate::problem::{BodyProblem, FieldError};
use crate::reply::Reply;
use crate::spec::Operation;
use hyper::Method;
use std::sync::Arc;

pub use errors::Catalogue;

pub const NAME: &str = "mercadopago";

pub struct MercadoPago {
    #[allow(dead_code)]
    env: Arc<Env>,
    errors: Catalogue,
}

impl MercadoPago {
    pub fn new(env: Arc<Env>) -> Self {
        MercadoPago {
            env,
            errors: Catalogue::load(),
        }
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
        errors::render_invalid(&self.errors, &call.op.id, errors)
    }

    fn unreadable(&self, _op: Option<&Operation>, problem: &BodyProblem) -> Reply {
        match problem {
            BodyProblem::TooLarge { .. } => self.error("request_too_large"),
            BodyProblem::Malformed { .. } | BodyProblem::Empty => self.error("118"),
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

    fn handle(&self, _call: &Call, _tenant: &Tenant) -> Option<Reply> {
        None
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
}
