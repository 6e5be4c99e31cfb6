//! Card-number facts every provider shares: the Luhn check and the parts of a number that
//! may be kept (its first six digits, the BIN, and its last four). Which numbers a provider
//! takes, and its BIN → brand tables, stay with the provider.

/// The Luhn (mod 10) check every real card number passes; false for anything that is not
/// all digits, and for the empty string.
pub fn luhn(digits: &str) -> bool {
    !digits.is_empty() && luhn_sum(digits, 1).is_some_and(|sum| sum.is_multiple_of(10))
}

/// The digit that makes `partial` followed by it Luhn-valid.
pub fn luhn_check_digit(partial: &str) -> char {
    // With the check digit appended, the partial's last digit is the first one doubled.
    match luhn_sum(partial, 0) {
        Some(sum) => char::from(b'0' + ((10 - sum % 10) % 10) as u8),
        None => '0',
    }
}

/// Luhn's sum over `digits`, doubling every second digit from the right starting at
/// position `doubled` (0: the last digit, 1: the one before it). `None` unless all digits.
fn luhn_sum(digits: &str, doubled: usize) -> Option<u32> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == doubled {
                let d = d * 2;
                if d > 9 { d - 9 } else { d }
            } else {
                d
            }
        })
        .sum();
    Some(sum)
}

/// The first six digits (the BIN); the whole of a shorter number.
pub fn first_six(pan: &str) -> &str {
    pan.get(..pan.len().min(6)).unwrap_or_default()
}

/// The last four digits; the whole of a shorter number.
pub fn last_four(pan: &str) -> &str {
    pan.get(pan.len().saturating_sub(4)..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn check_digits_complete_luhn_valid_numbers() {
        for partial in [
            "411111111111111",
            "550690048000000",
            "37828224631000",
            "6",
            "",
        ] {
            let full = format!("{partial}{}", luhn_check_digit(partial));
            assert!(luhn(&full), "{full}");
        }
        assert_eq!(luhn_check_digit("411111111111111"), '1');
        assert_eq!(luhn_check_digit("12a"), '0');
    }

    use super::*;

    #[test]
    fn published_sample_cards_pass_luhn() {
        for pan in [
            "4111111111111111",
            "5506900480000008",
            "6521123456789012",
            "378282246310005",
            "4706131211212123",
            "5105105105105100",
            "6074825972083818",
            "6528591234543575",
            "6011111111111117",
            "6011000000000004",
            "30000000000004",
            "3569990010095841",
            "340000000000009",
        ] {
            assert!(luhn(pan), "{pan}");
        }
        assert!(!luhn("4111111111111112"));
        assert!(!luhn("6222988812340000"));
    }

    #[test]
    fn luhn_rejects_typos_and_non_digits() {
        assert!(!luhn("5031433215406352"));
        assert!(!luhn("50314332154063a1"));
        assert!(!luhn("41111111x1111111"));
        assert!(!luhn(""));
    }

    #[test]
    fn check_digits_complete_numbers() {
        assert_eq!(luhn_check_digit("411111111111111"), '1');
        assert_eq!(luhn_check_digit("550690048000000"), '8');
    }

    #[test]
    fn only_the_ends_of_a_number_are_kept() {
        assert_eq!(first_six("4509953566233704"), "450995");
        assert_eq!(last_four("4509953566233704"), "3704");
        assert_eq!(first_six("4111"), "4111");
        assert_eq!(last_four("411"), "411");
        assert_eq!(first_six(""), "");
    }
}
