//! One seller's state (an access token's partition): customer profiles, cards on file, the
//! nonces minted for it and its idempotency keys. Serialisable as the admin state shape;
//! only an entity's id is needed to import it, everything else has a default.

use super::testvalues::Outcome;
use crate::state::idempotency::IdempotencyKeys;
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

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantState {
    #[serde(default)]
    pub customers: Vec<Customer>,
    #[serde(default)]
    pub cards: Vec<Card>,
    #[serde(default)]
    pub nonces: Vec<Nonce>,
    /// Remembered answers are transient (they expire after a day) and not part of the state.
    #[serde(skip)]
    pub idempotency: IdempotencyKeys,
}

impl TenantState {
    pub fn customer(&self, id: &str) -> Option<&Customer> {
        self.customers.iter().find(|c| c.id == id)
    }

    pub fn customer_mut(&mut self, id: &str) -> Option<&mut Customer> {
        self.customers.iter_mut().find(|c| c.id == id)
    }

    pub fn card(&self, id: &str) -> Option<&Card> {
        self.cards.iter().find(|c| c.id == id)
    }

    pub fn card_mut(&mut self, id: &str) -> Option<&mut Card> {
        self.cards.iter_mut().find(|c| c.id == id)
    }

    pub fn nonce_mut(&mut self, nonce: &str) -> Option<&mut Nonce> {
        self.nonces.iter_mut().find(|n| n.nonce == nonce)
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty() && self.cards.is_empty() && self.nonces.is_empty()
    }

    /// Merges an imported state: entities replace those with the same id, others are added.
    /// Missing timestamps become `now`.
    pub fn merge(&mut self, incoming: TenantState, now: &str) -> Result<(), String> {
        for (i, mut customer) in incoming.customers.into_iter().enumerate() {
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
            match self.customer_mut(&customer.id) {
                Some(existing) => *existing = customer,
                None => self.customers.push(customer),
            }
        }
        for (i, mut card) in incoming.cards.into_iter().enumerate() {
            if card.id.is_empty() {
                return Err(format!("cards[{i}].id must not be empty"));
            }
            if card.created_at.is_empty() {
                card.created_at = now.to_string();
            }
            match self.card_mut(&card.id) {
                Some(existing) => *existing = card,
                None => self.cards.push(card),
            }
        }
        for (i, nonce) in incoming.nonces.into_iter().enumerate() {
            if nonce.nonce.is_empty() {
                return Err(format!("nonces[{i}].nonce must not be empty"));
            }
            match self.nonce_mut(&nonce.nonce) {
                Some(existing) => *existing = nonce,
                None => self.nonces.push(nonce),
            }
        }
        Ok(())
    }
}
