//! Masking of card numbers and secrets in everything the sandbox keeps or shows: the request
//! journal, state dumps and logs. A full card number (PAN) is never kept: any run of 13 to 19
//! digits becomes its first six and last four digits around asterisks, as providers print
//! them; secrets keep a short recognisable prefix and suffix.

use crate::card;
use serde_json::Value;
use std::borrow::Cow;

/// Body fields whose whole value is secret.
const SECRET_FIELDS: &[&str] = &[
    "security_code",
    "cvv",
    "cvc",
    "card_cvv",
    "client_secret",
    "access_token",
    "password",
    "authorization_reference_number",
];

/// Headers whose values are secret.
pub const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "x-client-secret",
    "x-sandbox-admin-token",
    "cookie",
];

fn is_digit_run_start(bytes: &[u8], i: usize) -> bool {
    bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit())
}

/// Whether a text holds a run of 13+ digits (a possible card number). Cheap: one pass.
pub fn has_long_digit_run(bytes: &[u8]) -> bool {
    let mut run = 0;
    for b in bytes {
        if b.is_ascii_digit() {
            run += 1;
            if run >= 13 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Masks every run of 13–19 digits in a text: `4509953566233704` → `450995******3704`.
/// Longer runs (not card numbers) are masked whole.
pub fn mask_text(text: &str) -> Cow<'_, str> {
    if !has_long_digit_run(text.as_bytes()) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if is_digit_run_start(bytes, i) {
            let end = (i..bytes.len())
                .find(|&j| !bytes[j].is_ascii_digit())
                .unwrap_or(bytes.len());
            let run = &text[i..end];
            match run.len() {
                13..=19 => {
                    out.push_str(card::first_six(run));
                    out.push_str(&"*".repeat(run.len() - 10));
                    out.push_str(card::last_four(run));
                }
                n if n > 19 => out.push_str(&"*".repeat(n)),
                _ => out.push_str(run),
            }
            i = end;
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Cow::Owned(out)
}

/// Masks card numbers and secret fields anywhere in a JSON value.
pub fn mask_json(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(masked) = mask_text(s) {
                *s = masked;
            }
        }
        Value::Number(n) => {
            let text = n.to_string();
            if let Cow::Owned(masked) = mask_text(&text) {
                *value = Value::String(masked);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if SECRET_FIELDS.contains(&k.to_ascii_lowercase().as_str()) && !v.is_null() {
                    *v = Value::String("***".into());
                } else {
                    mask_json(v);
                }
            }
        }
        _ => {}
    }
}

/// Masks a raw body: JSON is masked field by field; anything else digit run by digit run.
pub fn mask_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(mut v) => {
            mask_json(&mut v);
            v
        }
        Err(_) => Value::String(mask_text(&String::from_utf8_lossy(bytes)).into_owned()),
    }
}

/// A secret shown only by its ends: `TEST-1234...6796`.
pub fn mask_secret(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 12 {
        return "***".into();
    }
    let head: String = chars[..8].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}...{tail}")
}

/// A header value as the journal shows it.
pub fn mask_header(name: &str, value: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower == "authorization" {
        return match value.split_once(' ') {
            Some((scheme, token)) => format!("{scheme} {}", mask_secret(token.trim())),
            None => mask_secret(value),
        };
    }
    if SECRET_HEADERS.contains(&lower.as_str()) {
        return "***".into();
    }
    mask_text(value).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn card_numbers_keep_first_six_and_last_four() {
        assert_eq!(
            mask_text("pan 4509953566233704 end"),
            "pan 450995******3704 end"
        );
        assert_eq!(mask_text("378282246310005"), "378282*****0005");
        assert_eq!(mask_text("order 123456 ok"), "order 123456 ok");
        assert_eq!(
            mask_text("ünïcode 5031433215406351"),
            "ünïcode 503143******6351"
        );
    }

    #[test]
    fn json_bodies_lose_card_numbers_and_secrets() {
        let mut v = json!({"card_number": "5031433215406351", "security_code": "123",
                           "nested": [{"pan": 4235647728025682u64}], "name": "APRO"});
        mask_json(&mut v);
        assert_eq!(
            v,
            json!({"card_number": "503143******6351", "security_code": "***",
                   "nested": [{"pan": "423564******5682"}], "name": "APRO"})
        );
    }

    #[test]
    fn secrets_show_only_their_ends() {
        assert_eq!(
            mask_header("Authorization", "Bearer TEST-1234567890-448870796"),
            "Bearer TEST-123...0796"
        );
        assert_eq!(mask_header("X-Client-Secret", "s3cr3t"), "***");
        assert_eq!(mask_secret("short"), "***");
    }
}
