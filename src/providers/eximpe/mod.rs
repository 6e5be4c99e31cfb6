//! Eximpe: tokenised saved cards (`/pg/tokens/`), API versions 1 and 2.
//!
//! Envelopes (both `success: false`): `validation_error` with every field error at once, in
//! Django REST Framework's wording, and the coded `{code, message, details}` form.

mod errors;

use super::{Call, Provider, Tenant};
use crate::env::Env;
use crate::problem::{BodyProblem, FieldError};
use crate::reply::Reply;
use crate::spec::Operation;
use hyper::Method;
use std::sync::Arc;

pub use errors::Catalogue;

pub const NAME: &str = "eximpe";

pub struct Eximpe {
    #[allow(dead_code)]
    env: Arc<Env>,
    errors: Catalogue,
}

impl Eximpe {
    pub fn new(env: Arc<Env>) -> Self {
        Eximpe {
            env,
            errors: Catalogue::load(),
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
        let id = call
            .header("x-client-id")
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let secret = call
            .header("x-client-secret")
            .map(str::trim)
            .filter(|v| !v.is_empty());
        let (Some(id), Some(_secret)) = (id, secret) else {
            return Err(self.error("ERR_AUTH_000"));
        };
        // PSP clients act for a sub-merchant; each sub-merchant's cards are its own.
        let merchant = call
            .header("x-merchant-id")
            .map(str::trim)
            .unwrap_or_default();
        Ok(Tenant {
            key: format!("{id}/{merchant}"),
        })
    }

    fn invalid(&self, _call: &Call, errors: &[FieldError]) -> Reply {
        errors::render_invalid(errors)
    }

    fn unreadable(&self, _op: Option<&Operation>, problem: &BodyProblem) -> Reply {
        match problem {
            BodyProblem::TooLarge { .. } => self.error("ERR_REQUEST_002"),
            BodyProblem::Malformed { line, column, .. } => errors::validation(vec![(
                "parse_error".to_string(),
                format!("JSON parse error - invalid JSON at line {line} column {column}"),
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
        if let Some(body) = reply.body.as_mut() {
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

    fn handle(&self, _call: &Call, _tenant: &Tenant) -> Option<Reply> {
        None
    }
}
