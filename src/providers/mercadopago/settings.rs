//! Provider settings, set with `POST /__sandbox/mercadopago/settings`.

use serde_json::Value;

/// Mercado Pago enforces a per-customer card limit (error 129) without publishing it; 25
/// leaves room for ordinary tests while keeping the limit reachable.
pub const DEFAULT_MAX_CARDS: u64 = 25;
/// Mercado Pago's OpenAPI document: "Expires in 7 days or after first use".
pub const DEFAULT_TOKEN_TTL_SECONDS: u64 = 7 * 24 * 60 * 60;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Cards one customer may hold; saving one more answers 129.
    pub max_cards_per_customer: u64,
    /// Lifetime of an unused card token (`date_due`).
    pub card_token_ttl_seconds: u64,
    /// With TEST- credentials, accept only `test_payer_[0-9]{1,10}@testuser.com` customer
    /// emails (error 128), as Mercado Pago does. Off by default so ordinary test emails work.
    pub strict_test_emails: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_cards_per_customer: DEFAULT_MAX_CARDS,
            card_token_ttl_seconds: DEFAULT_TOKEN_TTL_SECONDS,
            strict_test_emails: false,
        }
    }
}

impl Settings {
    /// Applies the given settings on a copy; nothing changes unless every one is valid.
    pub fn updated(&self, json: &Value) -> Result<Settings, String> {
        let map = json
            .as_object()
            .ok_or_else(|| "settings must be a JSON object".to_string())?;
        let mut next = self.clone();
        for (name, value) in map {
            match name.as_str() {
                "max_cards_per_customer" => {
                    next.max_cards_per_customer = value
                        .as_u64()
                        .ok_or_else(|| format!("{name} must be a non-negative integer"))?;
                }
                "card_token_ttl_seconds" => {
                    next.card_token_ttl_seconds = value
                        .as_u64()
                        .filter(|v| (1..=10 * 365 * 24 * 3600).contains(v))
                        .ok_or_else(|| format!("{name} must be an integer from 1 to 315360000"))?;
                }
                "strict_test_emails" => {
                    next.strict_test_emails = value
                        .as_bool()
                        .ok_or_else(|| format!("{name} must be true or false"))?;
                }
                other => {
                    return Err(format!(
                        "unknown mercadopago setting {other:?} (known: max_cards_per_customer, card_token_ttl_seconds, strict_test_emails)"
                    ));
                }
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_are_checked_by_name_and_type() {
        let s = Settings::default();
        let next = s
            .updated(&json!({"max_cards_per_customer": 10, "strict_test_emails": true}))
            .expect("valid");
        assert_eq!(next.max_cards_per_customer, 10);
        assert!(next.strict_test_emails);
        assert!(
            s.updated(&json!({"max_cards_per_customer": "10"}))
                .unwrap_err()
                .contains("max_cards_per_customer")
        );
        assert!(s.updated(&json!({"card_token_ttl_seconds": 0})).is_err());
        assert!(
            s.updated(&json!({"colour": 1}))
                .unwrap_err()
                .contains("colour")
        );
    }
}
