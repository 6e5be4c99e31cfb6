//! Card facts: networks and card types in each API version's vocabulary, BIN ranges,
//! masking, fingerprints.

use super::version::ApiVersion;
use crate::digest;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Network {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Rupay,
}

const NETWORKS: [(Network, &str, &str); 5] = [
    (Network::Visa, "visa", "VISA"),
    (Network::Mastercard, "mastercard", "MASTERCARD"),
    (Network::Amex, "amex", "AMEX"),
    (Network::Discover, "discover", "DISCOVER"),
    (Network::Rupay, "rupay", "RUPAY"),
];

impl Network {
    fn names(self) -> (&'static str, &'static str) {
        NETWORKS
            .iter()
            .find(|(n, _, _)| *n == self)
            .map(|(_, v1, v2)| (*v1, *v2))
            .unwrap_or(("visa", "VISA"))
    }

    /// The network as the given version writes it.
    pub fn name(self, version: ApiVersion) -> &'static str {
        let (v1, v2) = self.names();
        match version {
            ApiVersion::V1 => v1,
            ApiVersion::V2 => v2,
        }
    }

    /// Reads a request's `network`. v1 takes only its lower-case names; v2 takes its upper-case
    /// names and also v1's, because Eximpe's own playground sends lower-case under 2.0.0.
    pub fn parse(value: &str, version: ApiVersion) -> Option<Network> {
        NETWORKS
            .iter()
            .find(|(_, v1, v2)| match version {
                ApiVersion::V1 => value == *v1,
                ApiVersion::V2 => value == *v1 || value == *v2,
            })
            .map(|(n, _, _)| *n)
    }

    /// Either casing, for imported state.
    pub fn parse_any(value: &str) -> Option<Network> {
        Network::parse(value, ApiVersion::V2)
    }

    /// Networks that need the authorization reference number (Rupay's reference, AMEX's AEVV)
    /// to save a card, with the message for its absence.
    pub fn reference_required(self) -> Option<&'static str> {
        match self {
            Network::Rupay => Some("Authorization reference number is required for Rupay cards."),
            Network::Amex => Some("Authorization reference number is required for AMEX cards."),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CardType {
    Credit,
    Debit,
    Prepaid,
}

impl CardType {
    /// v1 has no prepaid type; a prepaid card saved under v2 is listed under v1 with v2's
    /// word, the only one Eximpe has for it.
    pub fn name(self, version: ApiVersion) -> &'static str {
        match (self, version) {
            (CardType::Credit, ApiVersion::V1) => "credit_card",
            (CardType::Debit, ApiVersion::V1) => "debit_card",
            (CardType::Credit, ApiVersion::V2) => "CREDIT",
            (CardType::Debit, ApiVersion::V2) => "DEBIT",
            (CardType::Prepaid, _) => "PREPAID",
        }
    }

    /// v1 takes credit_card/debit_card; v2 takes CREDIT/DEBIT/PREPAID and v1's words too.
    pub fn parse(value: &str, version: ApiVersion) -> Option<CardType> {
        match (value, version) {
            ("credit_card", _) => Some(CardType::Credit),
            ("debit_card", _) => Some(CardType::Debit),
            ("CREDIT", ApiVersion::V2) => Some(CardType::Credit),
            ("DEBIT", ApiVersion::V2) => Some(CardType::Debit),
            ("PREPAID", ApiVersion::V2) => Some(CardType::Prepaid),
            _ => None,
        }
    }

    pub fn parse_any(value: &str) -> Option<CardType> {
        CardType::parse(value, ApiVersion::V2)
    }
}

/// Issuer identification ranges: a number belongs to a network when its first `digits`
/// digits fall in `low..=high`. Ranges overlap (65 is both Discover and RuPay, 6011 sits in
/// RuPay's 60): a number may belong to several networks and any of them is accepted.
const BIN_RANGES: &[(Network, usize, u32, u32)] = &[
    (Network::Visa, 1, 4, 4),
    (Network::Mastercard, 2, 51, 55),
    (Network::Mastercard, 4, 2221, 2720),
    (Network::Amex, 2, 34, 34),
    (Network::Amex, 2, 37, 37),
    (Network::Discover, 4, 6011, 6011),
    (Network::Discover, 2, 65, 65),
    (Network::Discover, 3, 644, 649),
    (Network::Rupay, 2, 60, 60),
    (Network::Rupay, 2, 65, 65),
    (Network::Rupay, 2, 81, 82),
    (Network::Rupay, 3, 508, 508),
    (Network::Rupay, 3, 353, 353),
    (Network::Rupay, 3, 356, 356),
];

/// Whether the (all-digit) card number lies in one of the network's BIN ranges.
pub fn bin_matches(card_number: &str, network: Network) -> bool {
    BIN_RANGES.iter().any(|(n, digits, low, high)| {
        *n == network
            && card_number
                .get(..*digits)
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|p| (*low..=*high).contains(&p))
    })
}

const FINGERPRINT_KEY: &[u8] = b"paysandbox/eximpe/card-fingerprint/v1";

/// The stored stand-in for a card number: equal numbers give equal fingerprints. A keyed
/// digest (HMAC-SHA-256 under a fixed sandbox key) so that it is deterministic — a snapshot
/// exported by one process and imported by another still recognises the same card as a
/// duplicate — and does not reveal the number.
pub fn fingerprint(card_number: &str) -> String {
    static KEY: std::sync::LazyLock<digest::HmacKey> =
        std::sync::LazyLock::new(|| digest::HmacKey::new(FINGERPRINT_KEY));
    digest::hex(&KEY.mac(card_number.as_bytes()))
}

/// X for every digit but the last four.
pub fn masked_pan(length: usize, last_four: &str) -> String {
    format!("{}{last_four}", "X".repeat(length.saturating_sub(4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_identify_networks_including_overlaps() {
        assert!(bin_matches("4111111111111111", Network::Visa));
        assert!(bin_matches("5506900480000008", Network::Mastercard));
        assert!(bin_matches("2223003122003222", Network::Mastercard));
        assert!(!bin_matches("2721000000000000", Network::Mastercard));
        assert!(bin_matches("378282246310005", Network::Amex));
        assert!(bin_matches("6011111111111117", Network::Discover));
        assert!(bin_matches("6011111111111117", Network::Rupay));
        assert!(bin_matches("6521123456789012", Network::Rupay));
        assert!(bin_matches("6521123456789012", Network::Discover));
        assert!(bin_matches("6450000000000000", Network::Discover));
        assert!(!bin_matches("6450000000000000", Network::Rupay));
        assert!(bin_matches("5081590000000001", Network::Rupay));
        assert!(bin_matches("8171999927660000", Network::Rupay));
        assert!(!bin_matches("4111111111111111", Network::Mastercard));
        assert!(!bin_matches("5506900480000008", Network::Visa));
    }

    #[test]
    fn versions_read_their_own_vocabulary() {
        assert_eq!(Network::parse("visa", ApiVersion::V1), Some(Network::Visa));
        assert_eq!(Network::parse("VISA", ApiVersion::V1), None);
        assert_eq!(Network::parse("VISA", ApiVersion::V2), Some(Network::Visa));
        assert_eq!(Network::parse("visa", ApiVersion::V2), Some(Network::Visa));
        assert_eq!(Network::parse("Visa", ApiVersion::V2), None);
        assert_eq!(CardType::parse("CREDIT", ApiVersion::V1), None);
        assert_eq!(
            CardType::parse("debit_card", ApiVersion::V2),
            Some(CardType::Debit)
        );
        assert_eq!(Network::Rupay.name(ApiVersion::V1), "rupay");
        assert_eq!(CardType::Prepaid.name(ApiVersion::V1), "PREPAID");
    }

    #[test]
    fn fingerprints_are_stable_and_distinct() {
        assert_eq!(
            fingerprint("4111111111111111"),
            fingerprint("4111111111111111")
        );
        assert_ne!(
            fingerprint("4111111111111111"),
            fingerprint("4444333322221111")
        );
        assert!(!fingerprint("4111111111111111").contains("4111"));
    }

    #[test]
    fn fingerprints_keep_their_published_value() {
        // Saved state and snapshots carry fingerprints: changing one breaks duplicate
        // detection for every card saved before.
        assert_eq!(
            fingerprint("4111111111111111"),
            "7f0786c2f4cd8b545549222c0671c6c8433cea2185667d2cf96028f72a537f59"
        );
    }

    #[test]
    fn masks_keep_only_the_last_four() {
        assert_eq!(masked_pan(16, "1111"), "XXXXXXXXXXXX1111");
        assert_eq!(masked_pan(15, "0005"), "XXXXXXXXXXX0005");
    }
}
