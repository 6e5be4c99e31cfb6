//! What the sandbox remembers for a Square seller (customer profiles, cards on file, the
//! nonces minted for it) in the admin state shape: only an entity's id is needed to import
//! it, everything else has a default. The live state is `store::TenantState`.

use super::testvalues::Outcome;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Customer fields a client may set (and `null` out on update).
pub const CUSTOMER_FIELDS: &[&str] = &[
    "given_name",
    "family_name",
    "company_name",
    "nickname",
    "email_address",
    "address",
    "phone_number",
    "reference_id",
    "note",
    "birthday",
    "tax_ids",
];

/// Customer fields Square maintains itself but that a seed may carry.
const CUSTOMER_SEED_ONLY_FIELDS: &[&str] = &["group_ids", "segment_ids"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
    #[serde(default)]
    pub version: i64,
    #[serde(default = "third_party")]
    pub creation_source: String,
    #[serde(default = "subscribed")]
    pub preferences: Value,
    /// The client-settable fields (see [`CUSTOMER_FIELDS`]), only those that are set.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

fn third_party() -> String {
    "THIRD_PARTY".into()
}

fn subscribed() -> Value {
    serde_json::json!({ "email_unsubscribed": false })
}

impl Customer {
    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Card {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default = "other_brand")]
    pub card_brand: String,
    #[serde(default)]
    pub last_4: String,
    #[serde(default)]
    pub bin: String,
    #[serde(default)]
    pub exp_month: Option<i64>,
    #[serde(default)]
    pub exp_year: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cardholder_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Value>,
    #[serde(default)]
    pub fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "credit")]
    pub card_type: String,
    #[serde(default = "not_prepaid")]
    pub prepaid_type: String,
    #[serde(default = "one")]
    pub version: i64,
    #[serde(default)]
    pub created_at: String,
    /// The nonce the card was saved from (CreateCustomerCard is idempotent per nonce).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

fn other_brand() -> String {
    "OTHER_BRAND".into()
}
fn yes() -> bool {
    true
}
fn credit() -> String {
    "CREDIT".into()
}
fn not_prepaid() -> String {
    "NOT_PREPAID".into()
}
fn one() -> i64 {
    1
}

/// A single-use nonce minted by the sandbox endpoint: the card it stands for, without the
/// card number.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nonce {
    pub nonce: String,
    pub card_brand: String,
    pub last_4: String,
    pub bin: String,
    pub fingerprint: String,
    pub exp_month: i64,
    pub exp_year: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    pub outcome: Outcome,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    /// Set once the nonce has been saved as a card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used: Option<NonceUse>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonceUse {
    pub customer_id: String,
    pub card_id: String,
}

/// A seller's state as `export` writes it and `import` reads it.
#[derive(Debug, Default, Deserialize)]
// The name import errors have always given (`expected struct TenantState`).
#[serde(rename = "TenantState", deny_unknown_fields)]
pub struct Snapshot {
    #[serde(default)]
    pub customers: Vec<Customer>,
    #[serde(default)]
    pub cards: Vec<Card>,
    #[serde(default)]
    pub nonces: Vec<Nonce>,
}

/// A [`Snapshot`] of the live state, borrowed so an export copies nothing.
#[derive(Serialize)]
pub struct SnapshotView<'a> {
    pub customers: Vec<&'a Customer>,
    pub cards: Vec<&'a Card>,
    pub nonces: Vec<&'a Nonce>,
}

impl Snapshot {
    /// Checks what the types cannot, naming the first entity refused, and fills what a
    /// brief seed leaves out: missing timestamps become `now`.
    pub fn prepare(&mut self, now: &str) -> Result<(), String> {
        for (i, customer) in self.customers.iter_mut().enumerate() {
            if customer.id.is_empty() {
                return Err(format!("customers[{i}].id must not be empty"));
            }
            if let Some(field) = customer.fields.keys().find(|k| {
                !CUSTOMER_FIELDS.contains(&k.as_str())
                    && !CUSTOMER_SEED_ONLY_FIELDS.contains(&k.as_str())
            }) {
                return Err(format!("customers[{i}].{field} is not a customer field"));
            }
            customer.fields.retain(|_, v| !v.is_null());
            if customer.created_at.is_empty() {
                customer.created_at = now.to_string();
            }
            if customer.updated_at.is_empty() {
                customer.updated_at = customer.created_at.clone();
            }
        }
        for (i, card) in self.cards.iter_mut().enumerate() {
            if card.id.is_empty() {
                return Err(format!("cards[{i}].id must not be empty"));
            }
            if card.created_at.is_empty() {
                card.created_at = now.to_string();
            }
        }
        for (i, nonce) in self.nonces.iter().enumerate() {
            if nonce.nonce.is_empty() {
                return Err(format!("nonces[{i}].nonce must not be empty"));
            }
        }
        Ok(())
    }
}
