//! What the sandbox remembers for Mercado Pago, in the shape `export` writes and `import`
//! reads (every field but `id` may be omitted on import), and how it is rendered.

use super::account;
use super::brands::{self, Brands, Issuer, SecurityCode};
use super::timefmt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Phone {
    pub area_code: Option<String>,
    pub number: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Identification {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub number: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Address {
    pub id: Option<String>,
    pub zip_code: Option<String>,
    pub street_name: Option<String>,
    /// A number in the docs' examples, a string in SDK fixtures: kept as sent.
    pub street_number: Option<Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Customer {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Phone,
    pub identification: Identification,
    pub address: Address,
    pub default_address: Option<String>,
    pub default_card: Option<String>,
    pub date_registered: Option<String>,
    pub description: Option<String>,
    pub metadata: Map<String, Value>,
    pub date_created: String,
    pub date_last_updated: String,
    pub cards: Vec<Card>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Cardholder {
    pub name: Option<String>,
    pub identification: Identification,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PaymentMethodInfo {
    pub id: String,
    pub name: String,
    pub payment_type_id: String,
    pub thumbnail: String,
    pub secure_thumbnail: String,
}

impl PaymentMethodInfo {
    pub fn of(m: &brands::Method) -> Self {
        PaymentMethodInfo {
            id: m.id.clone(),
            name: m.name.clone(),
            payment_type_id: m.payment_type_id.clone(),
            thumbnail: brands::thumbnail(&m.id),
            secure_thumbnail: brands::secure_thumbnail(&m.id),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Card {
    pub id: String,
    pub customer_id: String,
    pub expiration_month: u32,
    pub expiration_year: i64,
    pub first_six_digits: String,
    pub last_four_digits: String,
    /// Digest of the card number (never the number): the same card saved twice is one card.
    pub fingerprint: String,
    pub payment_method: PaymentMethodInfo,
    pub security_code: SecurityCode,
    pub issuer: Issuer,
    pub cardholder: Cardholder,
    pub date_created: String,
    pub date_last_updated: String,
}

impl Card {
    pub fn render(&self, tenant: &str) -> Value {
        json!({
            "id": self.id,
            "expiration_month": self.expiration_month,
            "expiration_year": self.expiration_year,
            "first_six_digits": self.first_six_digits,
            "last_four_digits": self.last_four_digits,
            "payment_method": self.payment_method,
            "security_code": self.security_code,
            "issuer": self.issuer,
            "cardholder": {
                "name": self.cardholder.name,
                "identification": {
                    "number": self.cardholder.identification.number,
                    "type": self.cardholder.identification.kind,
                },
            },
            "date_created": self.date_created,
            "date_last_updated": self.date_last_updated,
            "customer_id": self.customer_id,
            "user_id": account::user_id(tenant).to_string(),
            "live_mode": account::live_mode(tenant),
        })
    }

    /// Fills what a brief seed left out: brand from the BIN, dates, a fingerprint that
    /// matches no real card.
    fn complete(&mut self, customer_id: &str, brands: &Brands, now: &str) {
        if self.customer_id.is_empty() {
            self.customer_id = customer_id.to_string();
        }
        if self.payment_method.id.is_empty() {
            let method = brands
                .by_bin(&self.first_six_digits)
                .or_else(|| brands.method("visa"));
            if let Some(m) = method {
                self.payment_method = PaymentMethodInfo::of(m);
                if self.issuer.name.is_empty() {
                    self.issuer = m.issuer.clone();
                }
                self.security_code = m.security_code.clone();
            }
        }
        if self.fingerprint.is_empty() {
            self.fingerprint = format!("seeded:{}", self.id);
        }
        if self.expiration_month == 0 {
            self.expiration_month = 11;
        }
        if self.expiration_year == 0 {
            self.expiration_year = 2030;
        }
        fill(&mut self.date_created, now);
        fill(&mut self.date_last_updated, &self.date_created.clone());
    }
}

fn fill(field: &mut String, value: &str) {
    if field.is_empty() {
        *field = value.to_string();
    }
}

impl Customer {
    pub fn render(&self, tenant: &str, status: &str) -> Value {
        let user_id = account::user_id(tenant);
        json!({
            "id": self.id,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "phone": self.phone,
            "identification": self.identification,
            "address": self.address,
            "addresses": [],
            "default_address": self.default_address,
            "default_card": self.default_card,
            "date_registered": self.date_registered,
            "date_created": self.date_created,
            "date_last_updated": self.date_last_updated,
            "description": self.description,
            "metadata": self.metadata,
            "cards": self.cards.iter().map(|c| c.render(tenant)).collect::<Vec<_>>(),
            "user_id": user_id,
            "merchant_id": user_id,
            "client_id": account::client_id(tenant),
            "status": status,
            "live_mode": account::live_mode(tenant),
        })
    }

    fn complete(&mut self, brands: &Brands, now: &str) {
        // `parse` refused what cannot be read; the rest is kept as the API answers it.
        if let Some(date) = self.date_registered.as_deref().and_then(timefmt::normalize) {
            self.date_registered = Some(date);
        }
        fill(&mut self.date_created, now);
        fill(&mut self.date_last_updated, &self.date_created.clone());
        let id = self.id.clone();
        for card in &mut self.cards {
            card.complete(&id, brands, now);
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TokenStatus {
    #[default]
    Active,
    Used,
}

/// A single-use card token. Tokens live in one store across tenants (a token made with a
/// public key is consumed by an access token), each remembering who created it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct CardToken {
    pub id: String,
    /// The tenant key that created it: an access token, or `public:<public key>`.
    #[serde(skip)]
    pub creator: String,
    /// The saved card it was made from, if any.
    pub card_id: Option<String>,
    pub first_six_digits: String,
    pub last_four_digits: String,
    pub fingerprint: String,
    pub card_number_length: u32,
    pub security_code_length: u32,
    pub expiration_month: u32,
    pub expiration_year: i64,
    pub cardholder: Cardholder,
    pub status: TokenStatus,
    /// The tenant that consumed it.
    pub used_by: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub due_at_ms: i64,
}

impl CardToken {
    pub fn expired(&self, now_ms: i64) -> bool {
        self.status == TokenStatus::Active && now_ms > self.due_at_ms
    }

    pub fn render(&self, now_ms: i64) -> Value {
        let status = if self.expired(now_ms) {
            "expired"
        } else if self.status == TokenStatus::Used {
            "used"
        } else {
            "active"
        };
        json!({
            "id": self.id,
            "card_id": self.card_id,
            "first_six_digits": self.first_six_digits,
            "last_four_digits": self.last_four_digits,
            "expiration_month": self.expiration_month,
            "expiration_year": self.expiration_year,
            "cardholder": {
                "name": self.cardholder.name,
                "identification": {
                    "type": self.cardholder.identification.kind,
                    "number": self.cardholder.identification.number,
                },
            },
            "status": status,
            "date_created": timefmt::offset(self.created_at_ms),
            "date_last_updated": timefmt::offset(self.updated_at_ms),
            "date_due": timefmt::offset(self.due_at_ms),
            "luhn_validation": true,
            "live_mode": account::live_mode(&self.creator),
            "require_esc": false,
            "card_number_length": self.card_number_length,
            "security_code_length": self.security_code_length,
        })
    }

    fn complete(&mut self, creator: &str, now_ms: i64, ttl_ms: i64) {
        self.creator = creator.to_string();
        if self.created_at_ms == 0 {
            self.created_at_ms = now_ms;
        }
        if self.updated_at_ms == 0 {
            self.updated_at_ms = self.created_at_ms;
        }
        if self.due_at_ms == 0 {
            self.due_at_ms = self.created_at_ms + ttl_ms;
        }
        if self.fingerprint.is_empty() {
            self.fingerprint = format!("seeded-token:{}", self.id);
        }
        if self.card_number_length == 0 {
            self.card_number_length = 16;
        }
        if self.security_code_length == 0 {
            self.security_code_length = 3;
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ProfileMethod {
    pub payment_method_id: String,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub card_id: Option<i64>,
    pub status: String,
    pub default_method: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PaymentProfile {
    pub id: String,
    pub customer_id: String,
    pub created_date: String,
    pub last_updated_date: String,
    pub description: Option<String>,
    pub max_day_overdue: Option<i64>,
    pub statement_descriptor: Option<String>,
    pub status: String,
    pub sequence_control: String,
    pub payment_methods: Vec<ProfileMethod>,
}

impl PaymentProfile {
    pub fn render(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn complete(&mut self, now: &str) {
        fill(&mut self.created_date, now);
        fill(&mut self.last_updated_date, &self.created_date.clone());
        fill(&mut self.status, "PENDING");
        fill(&mut self.sequence_control, "AUTO");
    }
}

/// The exported form of one tenant.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Export {
    pub customers: Vec<Customer>,
    pub card_tokens: Vec<CardToken>,
    pub payment_profiles: Vec<PaymentProfile>,
}

impl Export {
    /// Reads a seed, naming the field it cannot read.
    pub fn parse(value: &Value) -> Result<Export, String> {
        let export: Export = serde_path_to_error::deserialize(value)
            .map_err(|e| format!("mercadopago state: at `{}`: {}", e.path(), e.inner()))?;
        for (i, c) in export.customers.iter().enumerate() {
            if c.id.is_empty() {
                return Err(format!("mercadopago state: customers[{i}].id is required"));
            }
            if let Some(date) = &c.date_registered
                && timefmt::normalize(date).is_none()
            {
                return Err(format!(
                    "mercadopago state: customers[{i}].date_registered: {date:?} is not a date or date-time from 1900 to 8999"
                ));
            }
            for (j, card) in c.cards.iter().enumerate() {
                if card.id.is_empty() {
                    return Err(format!(
                        "mercadopago state: customers[{i}].cards[{j}].id is required"
                    ));
                }
            }
        }
        for (i, t) in export.card_tokens.iter().enumerate() {
            if t.id.is_empty() {
                return Err(format!(
                    "mercadopago state: card_tokens[{i}].id is required"
                ));
            }
        }
        for (i, p) in export.payment_profiles.iter().enumerate() {
            if p.id.is_empty() {
                return Err(format!(
                    "mercadopago state: payment_profiles[{i}].id is required"
                ));
            }
        }
        Ok(export)
    }

    pub fn complete(&mut self, creator: &str, brands: &Brands, now_ms: i64, ttl_ms: i64) {
        let now = timefmt::offset(now_ms);
        for c in &mut self.customers {
            c.complete(brands, &now);
        }
        for t in &mut self.card_tokens {
            t.complete(creator, now_ms, ttl_ms);
        }
        let now_utc = timefmt::utc(now_ms);
        for p in &mut self.payment_profiles {
            p.complete(&now_utc);
        }
    }
}
