//! Square: customers and cards on file (Customers API and Cards API).
//!
//! Envelope: `{"errors": [{"category", "code", "detail", "field"}]}`, `detail` and `field`
//! omitted when empty, the HTTP status following the first error.

mod cards;
mod customers;
mod errors;
mod events;
mod nonces;
mod render;
mod settings;
mod state;
mod store;
mod testvalues;

use super::{AdminCall, Call, Provider, Tenant, bearer_token};
use crate::env::Env;
use crate::problem::{BodyProblem, FieldError};
use crate::reply::Reply;
use crate::spec::Operation;
use crate::state::Tenants;
use crate::state::idempotency::{Seen, fingerprint};
use hyper::{HeaderMap, Method};
use parking_lot::RwLock;
use serde_json::Value;
use state::Snapshot;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use store::TenantState;

pub use errors::{Catalogue, SquareError};

pub const NAME: &str = "square";

/// The key of a tenant's run-time webhook subscriptions in its state export.
const WEBHOOK_SUBSCRIPTIONS: &str = "webhook_subscriptions";

/// The Square-Version answered when a client sends none (the spec release paysandbox follows).
pub const DEFAULT_VERSION: &str = "2025-08-20";

const MISSING_AUTH: &str = "Your request did not include an `Authorization` http header with an access token. The header value is expected to be of the format \"Bearer TOKEN\" (without quotation marks), where TOKEN is to be replaced with your access token (e.g. \"Bearer ABC123def456GHI789jkl0\"). For more information, see https://developer.squareup.com/docs/build-basics/access-tokens. If you are seeing this error message while using one of our officially supported SDKs, please report this to developers@squareup.com.";
/// The answer to a well-formed token Square does not know (providers.md §1.4).
const INCORRECT_AUTH: &str = "The `Authorization` http header of your request was incorrect or expired. The header value is expected to be of the format \"Bearer TOKEN\" (without quotation marks), where TOKEN is a valid access token (e.g. \"Bearer ABC123def456GHI789jkl0\"). For more information, see https://developer.squareup.com/docs/build-basics/using-rest-api#__set-the-headers__ .";
const MALFORMED_AUTH: &str = "The `Authorization` http header of your request was malformed. The header value is expected to be of the format \"Bearer TOKEN\" (without quotation marks), where TOKEN is to be replaced with your access token (e.g. \"Bearer ABC123def456GHI789jkl0\"). For more information, see https://developer.squareup.com/docs/build-basics/access-tokens. If you are seeing this error message while using one of our officially supported SDKs, please report this to developers@squareup.com.";

/// The Square-Version a request is served with: the one sent, or the default when none (or
/// a malformed one) was sent.
fn version_of(headers: &HeaderMap) -> String {
    headers
        .get("square-version")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| errors::is_version_date(v))
        .unwrap_or(DEFAULT_VERSION)
        .to_string()
}

/// How long a minted nonce can be saved, by default (Square's nonces live about a day).
pub const DEFAULT_NONCE_TTL_SECONDS: i64 = 24 * 60 * 60;

pub struct Square {
    env: Arc<Env>,
    errors: Catalogue,
    tenants: Tenants<TenantState>,
    nonce_ttl_seconds: AtomicI64,
    /// The `access_tokens` setting: when set, every other token is unknown to Square (401).
    access_tokens: RwLock<Option<HashSet<String>>>,
}

impl Square {
    pub fn new(env: Arc<Env>) -> Self {
        Square {
            env,
            errors: Catalogue::load(),
            tenants: Tenants::default(),
            nonce_ttl_seconds: AtomicI64::new(DEFAULT_NONCE_TTL_SECONDS),
            access_tokens: RwLock::new(None),
        }
    }

    /// One error answer: `code` from the catalogue, with an optional detail and field.
    pub fn error(&self, code: &str, detail: Option<&str>, field: Option<&str>) -> Reply {
        self.errors.render(&[SquareError::new(code, detail, field)])
    }

    /// The Square-Version a request is served with.
    fn version(&self, call: &Call) -> String {
        version_of(call.headers)
    }

    /// Now, sandbox time, as Square writes timestamps.
    fn now(&self) -> String {
        crate::time::rfc3339_ms(self.env.clock.now_ms())
    }

    fn merchant_id(&self, tenant: &Tenant) -> String {
        testvalues::merchant_id(&tenant.key)
    }

    fn nonce_ttl_seconds(&self) -> i64 {
        self.nonce_ttl_seconds.load(Ordering::Relaxed)
    }

    /// Runs a creation under an optional idempotency key, inside the tenant's lock: the same
    /// key and request replay the first answer, the same key with another request is refused.
    fn idempotent(
        &self,
        state: &mut TenantState,
        call: &Call,
        key: Option<&str>,
        create: impl FnOnce(&mut TenantState) -> Reply,
    ) -> Reply {
        let Some(key) = key else {
            return create(state);
        };
        let body = call.body.map(render::canonical).unwrap_or_default();
        let print = fingerprint(&[call.op.id.as_str(), call.path, &body]);
        let now = self.env.clock.now_ms();
        match state.idempotency.check(key, print, now) {
            Seen::Replay(reply) => reply,
            Seen::Conflict => self.error("IDEMPOTENCY_KEY_REUSED", None, Some("idempotency_key")),
            Seen::New => {
                let reply = create(state);
                if reply.is_success() {
                    state.idempotency.remember(key, print, &reply, now);
                }
                reply
            }
        }
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
            Ok(Some(token)) if is_well_formed_token(token) => {
                let known = self.access_tokens.read();
                if known.as_ref().is_some_and(|known| !known.contains(token)) {
                    return Err(self.error("UNAUTHORIZED", Some(INCORRECT_AUTH), None));
                }
                Ok(Tenant {
                    key: token.to_string(),
                })
            }
            Ok(None) => Err(self.error("UNAUTHORIZED", Some(MISSING_AUTH), None)),
            Ok(Some(_)) | Err(_) => Err(self.error("UNAUTHORIZED", Some(MALFORMED_AUTH), None)),
        }
    }

    fn invalid(&self, _call: &Call, errors: &[FieldError]) -> Reply {
        let errors = crate::problem::only_type_errors_for_wrong_types(errors);
        self.errors.render(&errors::from_field_errors(&errors))
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
            BodyProblem::Incomplete => self.error(
                "EXPECTED_JSON_BODY",
                Some("The request body did not arrive in full."),
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

    fn handle(&self, call: &Call, tenant: &Tenant) -> Option<Reply> {
        let handler = match call.op.id.as_str() {
            "CreateCustomer" => customers::create,
            "RetrieveCustomer" => customers::retrieve,
            "UpdateCustomer" => customers::update,
            "DeleteCustomer" => customers::delete,
            "ListCustomers" => customers::list,
            "SearchCustomers" => customers::search,
            "CreateCustomerCard" => cards::create_customer_card,
            "DeleteCustomerCard" => cards::delete_customer_card,
            "CreateCard" => cards::create,
            "ListCards" => cards::list,
            "RetrieveCard" => cards::retrieve,
            "DisableCard" => cards::disable,
            _ => return None,
        };
        if let Some(sent) = call.header_lossy("square-version")
            && !errors::is_version_date(sent.trim())
        {
            return Some(self.errors.render(&[errors::version_format(&sent)]));
        }
        Some(events::around(self, call, tenant, handler))
    }

    fn admin(&self, call: &AdminCall) -> Option<Reply> {
        match (call.method, call.path.trim_end_matches('/')) {
            (&Method::POST, "/nonces") => Some(nonces::mint(self, call)),
            (_, p) if p.starts_with("/webhooks/") => events::admin(self, call),
            (&Method::POST, p) => {
                let card_id = p.strip_prefix("/cards/")?.strip_suffix("/update")?;
                let card_id = percent_encoding::percent_decode_str(card_id).decode_utf8_lossy();
                Some(cards::admin_update(self, call, &card_id))
            }
            _ => None,
        }
    }

    fn configure(&self, settings: &Value) -> Result<(), String> {
        // Everything is checked before anything applies, so a bad request changes nothing.
        let parsed = settings::read(settings).map_err(|(_, message)| message)?;
        if let Some(ttl) = parsed.nonce_ttl_seconds {
            self.nonce_ttl_seconds.store(ttl, Ordering::Relaxed);
        }
        if let Some(tokens) = parsed.access_tokens {
            *self.access_tokens.write() =
                (!tokens.is_empty()).then(|| tokens.into_iter().collect());
        }
        if let Some(d) = parsed.delivery {
            self.env.webhooks.set_defaults(d);
        }
        for new in parsed.subscriptions {
            self.env.webhooks.declare(&self.env, new)?;
        }
        Ok(())
    }

    fn check_settings(&self, settings: &Value) -> Result<(), (String, String)> {
        settings::read(settings).map(|_| ())
    }

    fn reset(&self, tenant: Option<&str>) {
        self.tenants.reset(tenant);
        // Subscriptions registered at run time are state; declared ones are settings.
        self.env.webhooks.reset(tenant);
    }

    fn tenants(&self) -> Vec<String> {
        let mut keys = self.tenants.keys_where(|t| !t.is_empty());
        keys.extend(self.env.webhooks.runtime_tenants());
        keys.sort();
        keys.dedup();
        keys
    }

    fn export(&self, tenant: &str) -> Option<Value> {
        let subscriptions = self.env.webhooks.exported(tenant);
        let mut out = match self.tenants.existing(tenant) {
            Some(state) => serde_json::to_value(&*state.lock()).ok()?,
            None if !subscriptions.is_empty() => {
                serde_json::to_value(TenantState::default()).ok()?
            }
            None => return None,
        };
        // Only when there are some, so exports without webhooks keep their old shape.
        if !subscriptions.is_empty() {
            out[WEBHOOK_SUBSCRIPTIONS] = Value::Array(subscriptions);
        }
        Some(out)
    }

    fn import(&self, tenant: &str, incoming: &Value) -> Result<(), String> {
        let mut incoming = incoming.clone();
        let subscriptions = incoming
            .as_object_mut()
            .and_then(|m| m.remove(WEBHOOK_SUBSCRIPTIONS));
        let stored = match &subscriptions {
            Some(list) => settings::stored_subscriptions(tenant, list)?,
            None => Vec::new(),
        };
        let mut parsed: Snapshot = serde_path_to_error::deserialize(&incoming)
            .map_err(|e| format!("square state at `{}`: {}", e.path(), e.inner()))?;
        let now = self.now();
        self.tenants.with(tenant, |state| {
            // Checked whole before anything merges, so a refused import leaves the tenant as
            // it was.
            parsed.prepare(&now)?;
            state.merge(parsed);
            Ok::<(), String>(())
        })?;
        // Checked above, so the state and its subscriptions are imported together or not at all.
        for s in stored {
            self.env
                .webhooks
                .restore(&self.env, tenant, s)
                .map_err(|(at, e)| {
                    format!(
                        "square state at `{WEBHOOK_SUBSCRIPTIONS}{}`: {e}",
                        settings::dotted(&at)
                    )
                })?;
        }
        Ok(())
    }

    fn finish(&self, headers: &HeaderMap, reply: &mut Reply) {
        // Square echoes the version it served on every answer, errors before routing
        // included; a malformed one was refused, and is answered as the default. A scenario
        // that sets the header itself keeps its own value.
        if reply
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("square-version"))
        {
            return;
        }
        reply
            .headers
            .push(("square-version".into(), version_of(headers)));
    }

    fn sandbox_misuse(&self, message: &str) -> Reply {
        self.error("BAD_REQUEST", Some(message), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square() -> Square {
        Square::new(Arc::new(Env::new(Some(7))))
    }

    #[test]
    fn a_brief_seed_imports_and_exports_with_defaults() {
        let sq = square();
        sq.import(
            "seller",
            &json!({"customers": [{"id": "JDKYHBWT1D4F8MFH63DBMEN8Y4", "given_name": "Amelia"}]}),
        )
        .expect("imports");
        let exported = sq.export("seller").expect("exported");
        let customer = &exported["customers"][0];
        assert_eq!(customer["id"], json!("JDKYHBWT1D4F8MFH63DBMEN8Y4"));
        assert_eq!(customer["given_name"], json!("Amelia"));
        assert_eq!(customer["version"], json!(0));
        assert_eq!(customer["creation_source"], json!("THIRD_PARTY"));
        assert_eq!(
            customer["preferences"],
            json!({"email_unsubscribed": false})
        );
        assert_eq!(customer["created_at"], customer["updated_at"]);
        assert_eq!(exported["cards"], json!([]));
        assert_eq!(sq.tenants(), vec!["seller".to_string()]);
    }

    #[test]
    fn an_export_imports_back_to_the_same_state() {
        let sq = square();
        let state = json!({
            "customers": [{"id": "C1", "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-02T00:00:00.000Z",
                "version": 3, "creation_source": "THIRD_PARTY", "preferences": {"email_unsubscribed": true},
                "given_name": "Amelia", "address": {"postal_code": "94103"}, "group_ids": ["G1"]}],
            "cards": [{"id": "ccof:abcdefghijklmnopqrs", "customer_id": "C1", "card_brand": "VISA", "last_4": "1111",
                "bin": "411111", "exp_month": 11, "exp_year": 2031, "fingerprint": "sq-1-x", "enabled": false,
                "card_type": "CREDIT", "prepaid_type": "NOT_PREPAID", "version": 2, "created_at": "2026-01-01T00:00:00.000Z",
                "nonce": "cnon:card-nonce-ok"}],
            "nonces": [{"nonce": "cnon:CA4SEx", "card_brand": "VISA", "last_4": "1111", "bin": "411111",
                "fingerprint": "sq-1-x", "exp_month": 11, "exp_year": 2031, "postal_code": "94103", "outcome": "cvv_failure",
                "created_at_ms": 1, "expires_at_ms": 2, "used": {"customer_id": "C1", "card_id": "ccof:abcdefghijklmnopqrs"}}]
        });
        sq.import("seller", &state).expect("imports");
        let exported = sq.export("seller").expect("exported");
        assert_eq!(exported, state);
        let again = square();
        again.import("other", &exported).expect("re-imports");
        assert_eq!(again.export("other"), Some(state));
    }

    #[test]
    fn an_import_names_what_it_cannot_read_and_changes_nothing() {
        let sq = square();
        let err = sq
            .import("seller", &json!({"customers": [{"id": "C1", "cards": []}]}))
            .expect_err("refused");
        assert_eq!(err, "customers[0].cards is not a customer field");
        let err = sq
            .import(
                "seller",
                &json!({"cards": [{"id": "ccof:x", "pan": "4111111111111111"}]}),
            )
            .expect_err("refused");
        assert!(
            err.starts_with("square state at `cards[0].pan`: unknown field `pan`"),
            "{err}"
        );
        assert!(sq.tenants().is_empty());
        sq.reset(None);
    }

    #[test]
    fn settings_are_checked_before_they_apply() {
        let sq = square();
        assert_eq!(
            sq.configure(&json!({"nonce_ttl_seconds": 5, "other": 1})),
            Err(
                "square has no setting `other` (known: access_tokens, nonce_ttl_seconds, webhooks)"
                    .into()
            )
        );
        assert_eq!(sq.nonce_ttl_seconds(), DEFAULT_NONCE_TTL_SECONDS);
        assert_eq!(sq.configure(&json!({"nonce_ttl_seconds": 5})), Ok(()));
        assert_eq!(sq.nonce_ttl_seconds(), 5);
    }
}
