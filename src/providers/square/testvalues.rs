//! Square's sandbox test values: card numbers, the fixed `cnon:card-nonce-*` nonces, and what
//! a card's details make a save do. Pure functions; the full card number never leaves here.

use crate::{card, digest};

/// What saving a card from a nonce does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Declined,
    CvvFailure,
    AvsFailure,
    InvalidExpiration,
    CardExpired,
    InvalidCard,
    /// Square's `cnon:card-nonce-already-used`: a nonce that reads as spent.
    AlreadyUsed,
}

/// The card number behind every fixed test nonce (Square's sandbox Visa).
pub const TEST_NONCE_PAN: &str = "4111111111111111";
/// The billing postal code the fixed test nonces carry (inferred, see the module docs).
pub const TEST_NONCE_POSTAL_CODE: &str = "94103";
/// Square's "decline" test card number.
const DECLINED_PAN: &str = "4000000000000002";
const CVV_FAILURE: &str = "911";
const AVS_FAILURE_POSTAL: &str = "99999";

/// Square's fixed sandbox nonces and what each does.
pub fn fixed_nonce(nonce: &str) -> Option<Outcome> {
    Some(match nonce {
        "cnon:card-nonce-ok" => Outcome::Ok,
        "cnon:card-nonce-declined" => Outcome::Declined,
        "cnon:card-nonce-rejected-cvv" => Outcome::CvvFailure,
        "cnon:card-nonce-rejected-postalcode" => Outcome::AvsFailure,
        "cnon:card-nonce-rejected-expiration" => Outcome::InvalidExpiration,
        "cnon:card-nonce-already-used" => Outcome::AlreadyUsed,
        _ => return None,
    })
}

/// Square's `CardBrand` for a card number, from its leading digits.
pub fn brand(pan: &str) -> &'static str {
    let prefix = |n: usize| {
        pan.get(..n)
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    match () {
        _ if pan.starts_with("7783") => "SQUARE_GIFT_CARD",
        _ if pan.starts_with('4') => "VISA",
        _ if (51..=55).contains(&prefix(2)) || (2221..=2720).contains(&prefix(4)) => "MASTERCARD",
        _ if matches!(prefix(2), 34 | 37) => "AMERICAN_EXPRESS",
        _ if (300..=305).contains(&prefix(3)) || matches!(prefix(2), 36 | 38 | 39) => {
            "DISCOVER_DINERS"
        }
        _ if (3528..=3589).contains(&prefix(4)) => "JCB",
        _ if prefix(2) == 62 => "CHINA_UNIONPAY",
        _ if prefix(4) == 6011 || prefix(2) == 65 || (644..=649).contains(&prefix(3)) => "DISCOVER",
        _ => "OTHER_BRAND",
    }
}

/// A stable, one-way fingerprint of a card number: the same card always gets the same one.
pub fn fingerprint(pan: &str) -> String {
    let digest = digest::sha256(format!("paysandbox/square/card/{pan}").as_bytes());
    format!("sq-1-{}", digest::base64url(&digest))
}

/// A seller's merchant id (13 upper-case alphanumerics), stable per access token.
pub fn merchant_id(token: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    digest::sha256(format!("paysandbox/square/merchant/{token}").as_bytes())
        .iter()
        .take(13)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// What Square's sandbox does with a card entered in its payment form: the outcome a save
/// reports later. `now` is the sandbox (year, month).
pub fn outcome(
    pan: &str,
    exp_month: u32,
    exp_year: i64,
    cvv: Option<&str>,
    postal_code: Option<&str>,
    now: (i64, u32),
) -> Outcome {
    let brand = brand(pan);
    // China UnionPay numbers need not pass Luhn (Square's own UnionPay test number fails it).
    if !(12..=19).contains(&pan.len()) || (brand != "CHINA_UNIONPAY" && !card::luhn(pan)) {
        return Outcome::InvalidCard;
    }
    if (exp_year, exp_month) < now {
        return Outcome::CardExpired;
    }
    // Square's documented "invalid expiration" test value is 01/40.
    if (exp_year, exp_month) == (2040, 1) {
        return Outcome::InvalidExpiration;
    }
    if pan == DECLINED_PAN {
        return Outcome::Declined;
    }
    if cvv == Some(CVV_FAILURE) {
        return Outcome::CvvFailure;
    }
    if postal_code == Some(AVS_FAILURE_POSTAL) {
        return Outcome::AvsFailure;
    }
    Outcome::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: (i64, u32) = (2026, 6);

    #[test]
    fn brands_follow_the_leading_digits() {
        assert_eq!(brand("4111111111111111"), "VISA");
        assert_eq!(brand("5105105105105100"), "MASTERCARD");
        assert_eq!(brand("2221000000000009"), "MASTERCARD");
        assert_eq!(brand("340000000000009"), "AMERICAN_EXPRESS");
        assert_eq!(brand("6011000000000004"), "DISCOVER");
        assert_eq!(brand("30000000000004"), "DISCOVER_DINERS");
        assert_eq!(brand("3569990010095841"), "JCB");
        assert_eq!(brand("6222988812340000"), "CHINA_UNIONPAY");
        assert_eq!(brand("7783320000000000"), "SQUARE_GIFT_CARD");
        assert_eq!(brand("9999999999999995"), "OTHER_BRAND");
    }

    #[test]
    fn test_values_decide_the_outcome() {
        let ok = |pan| outcome(pan, 12, 2030, Some("111"), Some("94103"), NOW);
        assert_eq!(ok("4111111111111111"), Outcome::Ok);
        assert_eq!(ok("6222988812340000"), Outcome::Ok);
        assert_eq!(ok("4111111111111112"), Outcome::InvalidCard);
        assert_eq!(ok("4111"), Outcome::InvalidCard);
        assert_eq!(ok("4000000000000002"), Outcome::Declined);
        let pan = "4111111111111111";
        assert_eq!(
            outcome(pan, 12, 2030, Some("911"), None, NOW),
            Outcome::CvvFailure
        );
        assert_eq!(
            outcome(pan, 12, 2030, None, Some("99999"), NOW),
            Outcome::AvsFailure
        );
        assert_eq!(outcome(pan, 5, 2026, None, None, NOW), Outcome::CardExpired);
        assert_eq!(outcome(pan, 6, 2026, None, None, NOW), Outcome::Ok);
        assert_eq!(
            outcome(pan, 1, 2040, None, None, NOW),
            Outcome::InvalidExpiration
        );
    }

    #[test]
    fn fingerprints_and_merchant_ids_are_stable_and_opaque() {
        let f = fingerprint("4111111111111111");
        assert_eq!(f, fingerprint("4111111111111111"));
        assert_ne!(f, fingerprint("5105105105105100"));
        assert!(!f.contains("4111111111111111"));
        let m = merchant_id("token-a");
        assert_eq!(m.len(), 13);
        assert!(
            m.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );
        assert_eq!(m, merchant_id("token-a"));
        assert_ne!(m, merchant_id("token-b"));
    }

    #[test]
    fn fingerprints_and_merchant_ids_keep_their_published_values() {
        // Saved cards, exports and seller ids carry these: changing them breaks every
        // duplicate check and merchant id made before.
        assert_eq!(
            fingerprint("4111111111111111"),
            "sq-1-Kd7qTe2ePI0pNbYbAVg6w0P9kjxnY9qJAZGRi1u0Qz8"
        );
        assert_eq!(merchant_id("token-a"), "GEJE5T618RC8J");
    }

    #[test]
    fn fixed_nonces_are_known() {
        assert_eq!(fixed_nonce("cnon:card-nonce-ok"), Some(Outcome::Ok));
        assert_eq!(
            fixed_nonce("cnon:card-nonce-already-used"),
            Some(Outcome::AlreadyUsed)
        );
        assert_eq!(fixed_nonce("cnon:other"), None);
    }
}
