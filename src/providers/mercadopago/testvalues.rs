//! Mercado Pago's sandbox test values: the cardholder name chooses the outcome of any
//! charge made with the card (catalogue `test_cardholder_names`). Tokens and cards store
//! and echo the name as sent; the payment-method validation of payment profiles (a test
//! charge at Mercado Pago) follows it.

/// Names whose charges are declined or rejected.
const DECLINED: &[&str] = &[
    "OTHE", "CALL", "FUND", "SECU", "EXPI", "FORM", "CARD", "INST", "DUPL", "LOCK", "CTNA", "ATTE",
    "BLAC", "UNSU",
];

/// The outcome of validating a card with a test charge.
#[derive(Debug, PartialEq, Eq)]
pub enum Validation {
    Approved,
    /// `CONT`: the charge stays pending, and so does the payment method.
    Pending,
    Declined,
}

pub fn validation(cardholder_name: Option<&str>) -> Validation {
    let name = cardholder_name
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    if name == "CONT" {
        Validation::Pending
    } else if DECLINED.contains(&name.as_str()) {
        Validation::Declined
    } else {
        Validation::Approved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cardholder_names_choose_the_outcome() {
        assert_eq!(validation(Some("APRO")), Validation::Approved);
        assert_eq!(validation(Some("Ana Silva")), Validation::Approved);
        assert_eq!(validation(None), Validation::Approved);
        assert_eq!(validation(Some("CONT")), Validation::Pending);
        assert_eq!(validation(Some("othe")), Validation::Declined);
        assert_eq!(validation(Some("FUND")), Validation::Declined);
    }
}
