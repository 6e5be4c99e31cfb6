//! The stateful answers: save, list and delete card tokens.

use super::Eximpe;
use super::cards;
use super::errors;
use super::save::{self, Problem};
use super::state::{self, SavedCard};
use super::version::{self, ApiVersion};
use crate::providers::{Call, Tenant};
use crate::reply::{Reply, object};
use serde_json::{Value, json};

/// A 400 validation answer from ordered problems.
pub fn problems_reply(problems: Vec<Problem>) -> Reply {
    errors::validation(
        problems
            .into_iter()
            .map(|p| ("invalid".to_string(), p.detail, p.attr))
            .collect(),
    )
}

impl Eximpe {
    /// The version this request is served in, or the answer for an unsupported one.
    pub(super) fn version(&self, call: &Call) -> Result<ApiVersion, Reply> {
        let default = self.settings.read().default_version();
        ApiVersion::resolve(call.header(&version::HEADER_NAME), default).map_err(|sent| {
            problems_reply(vec![Problem {
                attr: version::HEADER.to_string(),
                detail: ApiVersion::unsupported(&sent),
            }])
        })
    }

    pub(super) fn today(&self) -> (i64, u32) {
        crate::time::year_month(self.env.clock.now_ms())
    }

    pub(super) fn save(&self, call: &Call, tenant: &Tenant, version: ApiVersion) -> Reply {
        let card = match save::check(
            call.body,
            version,
            self.today(),
            Vec::new(),
            &call.op.body_fields,
        ) {
            Ok(card) => card,
            Err(problems) => return problems_reply(problems),
        };
        let fingerprint = cards::fingerprint(&card.card_number);
        let first_six = crate::card::first_six(&card.card_number).to_string();
        let last_four = crate::card::last_four(&card.card_number).to_string();
        let length = card.card_number.len();
        // Everything that does not read the tenant's cards is worked out before its lock.
        let network_token = state::network_token(&first_six, length, &self.env);
        let saved = SavedCard {
            card_token: String::new(),
            identifier: card.identifier,
            cardholder_name: card.cardholder_name,
            nickname: card.nickname,
            card_type: card.card_type,
            network: card.network,
            network_token,
            first_six,
            last_four,
            card_length: length,
            fingerprint: Some(fingerprint),
            expiry_month: card.expiry_month,
            expiry_year: card.expiry_year,
        };
        let card_label = label(&saved);
        let network_token = (version == ApiVersion::V2).then(|| saved.network_token.clone());
        let card_token = self
            .state
            .with(&tenant.key, |t| t.save_new(saved, || self.new_token()));
        let Some(card_token) = card_token else {
            return self.error("ERR_TOKEN_003");
        };
        let mut data = object([
            ("card_label", card_label.into()),
            ("card_token", card_token.into()),
        ]);
        if let Some(network_token) = network_token {
            data["issuer_token"] = Value::Null;
            data["network_token"] = network_token.into();
        }
        Reply::json(
            200,
            object([
                ("success", true.into()),
                ("message", "Card details saved successfully".into()),
                ("data", data),
            ]),
        )
    }

    /// A candidate token: 20 lower-case hex characters, like Eximpe's examples (the tenant's
    /// state draws again while one is taken).
    fn new_token(&self) -> String {
        self.env.ids.hex(20)
    }

    pub(super) fn list(&self, call: &Call, tenant: &Tenant, version: ApiVersion) -> Reply {
        let identifier = call.query.get("identifier").unwrap_or_default().trim();
        let cards: Vec<Value> = self
            .state
            .existing(&tenant.key)
            .map(|t| {
                t.lock()
                    .of_identifier(identifier)
                    .map(|c| listed(c, version))
                    .collect()
            })
            .unwrap_or_default();
        if cards.is_empty() {
            return self.error("ERR_TOKEN_001");
        }
        Reply::json(
            200,
            object([
                ("success", true.into()),
                ("message", "Card details fetched successfully".into()),
                ("data", Value::Array(cards)),
            ]),
        )
    }

    pub(super) fn delete(&self, call: &Call, tenant: &Tenant) -> Reply {
        let text = |name: &str| {
            call.body_field(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or_default()
        };
        let (card_token, identifier) = (text("card_token"), text("identifier"));
        let removed = self
            .state
            .existing(&tenant.key)
            .is_some_and(|t| t.lock().remove(card_token, identifier));
        if !removed {
            return self.error("ERR_TOKEN_002");
        }
        Reply::json(
            200,
            json!({"success": true, "message": "Card details deleted successfully", "data": {}}),
        )
    }
}

/// The nickname, or "<NETWORK> **** <last four>" when none was given (Eximpe documents no
/// fallback).
fn label(card: &SavedCard) -> String {
    match &card.nickname {
        Some(n) => n.clone(),
        None => format!(
            "{} **** {}",
            card.network.name(ApiVersion::V2),
            card.last_four
        ),
    }
}

fn listed(card: &SavedCard, version: ApiVersion) -> Value {
    json!({
        "card_token": card.card_token,
        "identifier": card.identifier,
        "cardholder_name": card.cardholder_name,
        "nickname": card.nickname,
        "card_type": card.card_type.name(version),
        "network": card.network.name(version),
        "masked_pan": cards::masked_pan(card.card_length, &card.last_four),
        "expiry_month": card.expiry_month,
        "expiry_year": card.expiry_year,
    })
}
