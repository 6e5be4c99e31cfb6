//! Square: customers and cards on file (Customers API and Cards API).
//!
//! Envelope: `{"errors": [{"category", "code", "detail", "field"}]}`, `detail` and `field`
//! omitted when empty, the HTTP status following the first error.

mod errors;

use super::{Call, Provider, Tenant, bearer_token};
use crate::env::Env;
use crate::problem::{BodyProblem, FieldError};
use crate::reply::Reply;
use crate::spec::Operation;
use hyper::Method;
use std::sync::Arc;

pub use errors::{Catalogue, SquareError};

pub const NAME: &str = "square";

/// The Square-Version answered when a client sends none (the spec release paysandbox follows).
pub const DEFAULT_VERSION: &str = "2025-08-20";

const MISSING_AUTH: &str = "Your request did not include an `Authorization` http header with an access token. The header value is expected to be of the format \"Bearer TOKEN\" (without quotation marks), where TOKEN is to be replaced with your access token (e.g. \"Bearer ABC123def456GHI789jkl0\"). For more information, see https://developer.squareup.com/docs/build-basics/access-tokens. If you are seeing this error message while using one of our officially supported SDKs, please report this to developers@squareup.com.";
const MALFORMED_AUTH: &str = "The `Authorization` http header of your request was malformed. The header value is expected to be of the format \"Bearer TOKEN\" (without quotation marks), where TOKEN is to be replaced with your access token (e.g. \"Bearer ABC123def456GHI789jkl0\"). For more information, see https://developer.squareup.com/docs/build-basics/access-tokens. If you are seeing this error message while using one of our officially supported SDKs, please report this to developers@squareup.com.";

pub struct Square {
    #[allow(dead_code)]
    env: Arc<Env>,
    errors: Catalogue,
}

impl Square {
    pub fn new(env: Arc<Env>) -> Self {
        Square {
            env,
            errors: Catalogue::load(),
        }
    }

    /// One error answer: `code` from the catalogue, with an optional detail and field.
    pub fn error(&self, code: &str, detail: Option<&str>, field: Option<&str>) -> Reply {
        self.errors.render(&[SquareError::new(code, detail, field)])
    }
}

/// Square access tokens are opaque; a well-formed one is a single run of URL-safe characters.
fn is_well_formed_token(token: &str) -> bool {
    token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '='))
}

impl Provider for Square {
    fn name(&self) -> &'static str {
        NAME
    }

    fn authenticate(&self, call: &Call) -> Result<Tenant, Reply> {
        match bearer_token(call.headers) {
            Ok(Some(token)) if is_well_formed_token(token) => Ok(Tenant {
                key: token.to_string(),
            }),
            Ok(None) => Err(self.error("UNAUTHORIZED", Some(MISSING_AUTH), None)),
            Ok(Some(_)) | Err(_) => Err(self.error("UNAUTHORIZED", Some(MALFORMED_AUTH), None)),
        }
    }

    fn invalid(&self, _call: &Call, errors: &[FieldError]) -> Reply {
        self.errors.render(&errors::from_field_errors(errors))
    }

    fn unreadable(&self, _op: Option<&Operation>, problem: &BodyProblem) -> Reply {
        match problem {
            BodyProblem::TooLarge { limit } => self.error(
                "REQUEST_ENTITY_TOO_LARGE",
                Some(&format!(
                    "The request body exceeds the maximum size of {limit} bytes."
                )),
                None,
            ),
            BodyProblem::Malformed { line, column, .. } => self.error(
                "EXPECTED_JSON_BODY",
                Some(&format!(
                    "The request body is not valid JSON (line {line}, character {column})."
                )),
                None,
            ),
            BodyProblem::Empty => self.error(
                "EXPECTED_JSON_BODY",
                Some("The request body must be a JSON object."),
                None,
            ),
        }
    }

    fn not_found(&self, method: &Method, path: &str) -> Reply {
        self.error(
            "NOT_FOUND",
            Some(&format!(
                "API endpoint for URL path `{path}` and HTTP method `{method}` is not found."
            )),
            None,
        )
    }

    fn method_not_allowed(&self, method: &Method, path: &str, _allowed: &[Method]) -> Reply {
        self.error(
            "METHOD_NOT_ALLOWED",
            Some(&format!(
                "HTTP method `{method}` is not allowed for URL path `{path}`."
            )),
            None,
        )
    }

    fn catalogue_error(&self, code: &str) -> Option<Reply> {
        self.errors
            .contains(code)
            .then(|| self.error(code, None, None))
    }

    fn catalogue_codes(&self) -> Vec<String> {
        self.errors.codes()
    }

    fn handle(&self, _call: &Call, _tenant: &Tenant) -> Option<Reply> {
        None
    }

    fn finish(&self, call: &Call, reply: &mut Reply) {
        // Square echoes the version it served; a malformed one was refused in validation.
        let version = call
            .header("square-version")
            .filter(|v| errors::is_version_date(v))
            .unwrap_or(DEFAULT_VERSION);
        reply
            .headers
            .push(("square-version".into(), version.to_string()));
    }
}
