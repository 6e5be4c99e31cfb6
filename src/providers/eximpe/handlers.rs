//! The stateful answers: save, list and delete card tokens.

use super::Eximpe;
use super::cards;
use super::errors;
use super::save::{self, Problem};
use super::state::{self, SavedCard};
use super::version::{self, ApiVersion};
use crate::providers::{Call, Tenant};
use crate::reply::Reply;
use compact_str::CompactString;
use serde::Serialize;
use serde_json::{Value, json};

/// Eximpe's success envelope.
#[derive(Serialize)]
struct Success<'a, D> {
    success: bool,
    message: &'a str,
    data: D,
}

impl<'a, D: Serialize> Success<'a, D> {
    fn reply(message: &'a str, data: D) -> Reply {
        Reply::typed(
            200,
            &Success {
                success: true,
                message,
                data,
            },
        )
    }
}

/// A saved card's answer. 2.0.0 adds the network token and an always-null issuer token.
#[derive(Serialize)]
struct Saved<'a> {
    card_label: &'a str,
    card_token: &'a str,
    /// `Some(None)` writes `"issuer_token": null`; `None` leaves the field out (1.0.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer_token: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network_token: Option<&'a str>,
}

/// A card as the list answer shows it.
#[derive(Serialize)]
struct Listed<'a> {
    card_token: &'a str,
    identifier: &'a str,
    cardholder_name: &'a str,
    nickname: Option<&'a str>,
    card_type: &'static str,
    network: &'static str,
    masked_pan: String,
    expiry_month: u32,
    expiry_year: i64,
}

impl<'a> Listed<'a> {
    fn new(card: &'a SavedCard, version: ApiVersion) -> Self {
        Listed {
            card_token: &card.card_token,
            identifier: &card.identifier,
            cardholder_name: &card.cardholder_name,
            nickname: card.nickname.as_deref(),
            card_type: card.card_type.name(version),
            network: card.network.name(version),
            masked_pan: cards::masked_pan(card.card_length, &card.last_four),
            expiry_month: card.expiry_month,
            expiry_year: card.expiry_year,
        }
    }
}

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
        let sent = call.header_lossy(&version::HEADER_NAME);
        ApiVersion::resolve(sent.as_deref(), default).map_err(|sent| {
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
        let fingerprint = cards::fingerprint(card.card_number);
        let first_six = CompactString::new(crate::card::first_six(card.card_number));
        let last_four = CompactString::new(crate::card::last_four(card.card_number));
        let length = card.card_number.len();
        // Everything that does not read the tenant's cards is worked out before its lock.
        let network_token = state::network_token(&first_six, length, &self.env);
        let saved = SavedCard {
            card_token: CompactString::default(),
            identifier: card.identifier.into(),
            cardholder_name: card.cardholder_name.into(),
            nickname: card.nickname.map(CompactString::new),
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
        Success::reply(
            "Card details saved successfully",
            Saved {
                card_label: &card_label,
                card_token: &card_token,
                issuer_token: network_token.as_ref().map(|_| None),
                network_token: network_token.as_deref(),
            },
        )
    }

    /// A candidate token: 20 lower-case hex characters, like Eximpe's examples (the tenant's
    /// state draws again while one is taken).
    fn new_token(&self) -> CompactString {
        self.env.ids.hex_compact(20)
    }

    pub(super) fn list(&self, call: &Call, tenant: &Tenant, version: ApiVersion) -> Reply {
        let identifier = call.query.get("identifier").unwrap_or_default().trim();
        // Written under the tenant's lock, straight from the stored cards: no copies.
        let listed = self.state.existing(&tenant.key).and_then(|t| {
            let cards = t.lock();
            let listed: Vec<Listed> = cards
                .of_identifier(identifier)
                .map(|c| Listed::new(c, version))
                .collect();
            (!listed.is_empty())
                .then(|| Success::reply("Card details fetched successfully", listed))
        });
        listed.unwrap_or_else(|| self.error("ERR_TOKEN_001"))
    }

    pub(super) fn delete(&self, call: &Call, tenant: &Tenant) -> Reply {
        let text = |name: &str| {
            call.body_field(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or_default()
        };
        let (card_token, identifier) = (text("card_token"), text("identifier"));
        // Blank is a validation error, as on save and list; only a pair that matches no card
        // is "not found".
        let blank: Vec<Problem> = [("card_token", card_token), ("identifier", identifier)]
            .into_iter()
            .filter(|(name, v)| v.is_empty() && call.body_field(name).is_some_and(Value::is_string))
            .map(|(name, _)| Problem::new(name, save::BLANK))
            .collect();
        if !blank.is_empty() {
            return problems_reply(blank);
        }
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
fn label(card: &SavedCard) -> CompactString {
    match &card.nickname {
        Some(n) => n.clone(),
        None => compact_str::format_compact!(
            "{} **** {}",
            card.network.name(ApiVersion::V2),
            card.last_four
        ),
    }
}
