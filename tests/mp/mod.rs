//! Helpers shared by the Mercado Pago stories: credentials, requests and expected bodies.
#![allow(dead_code)]

use crate::common::{Answer, TestSandbox};
use reqwest::Method;
use serde_json::{Value, json};

/// A real-shaped test access token: application 8237283748732847, user 448870796.
pub const ALICE: &str = "TEST-8237283748732847-052210-6b2f3c9e4d5a6b7c8d9e0f1a2b3c4d5e-448870796";
pub const ALICE_USER: i64 = 448870796;
pub const ALICE_CLIENT: i64 = 8237283748732847;
/// Another account.
pub const BOB: &str = "TEST-5550001112223334-052210-0f0e0d0c0b0a09080706050403020100-123456789";

pub const MASTER_MLB: &str = "5031433215406351";
pub const VISA_MLB: &str = "4235647728025682";
pub const AMEX_MLB: &str = "375365153556885";

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

pub async fn call(
    sb: &TestSandbox,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Answer {
    let auth = bearer(token);
    sb.send(method, path, &[("Authorization", auth.as_str())], body)
        .await
}

/// A Mercado Pago timestamp at the sandbox's fixed offset, e.g. `2024-05-22T10:03:28.653-04:00`.
pub fn mp_time(v: &Value) -> String {
    let s = v.as_str().unwrap_or_else(|| panic!("not a timestamp: {v}"));
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    assert!(
        s.len() == 29
            && digits(0..4)
            && b[4] == b'-'
            && b[10] == b'T'
            && b[19] == b'.'
            && digits(20..23)
            && s.ends_with("-04:00"),
        "not Mercado Pago's timestamp form: {s}"
    );
    s.to_string()
}

pub fn str_of(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}

/// The catalogue's usual 400 envelope for a customer/card code.
pub fn bad_request(code: &str, description: &str) -> Value {
    json!({
        "message": description,
        "error": "bad_request",
        "status": 400,
        "cause": [{"code": code, "description": description}]
    })
}

pub fn customer_not_found() -> Value {
    json!({"message": "customer not found", "error": "not_found", "status": 404, "cause": [[]]})
}

/// A payment-profile error: the key is the `error`, `cause` is empty.
pub fn profile_error(status: u16, error: &str, message: &str) -> Value {
    json!({"message": message, "error": error, "status": status, "cause": []})
}

pub async fn create_customer(sb: &TestSandbox, token: &str, email: &str) -> Value {
    let a = call(
        sb,
        Method::POST,
        "/v1/customers",
        token,
        Some(json!({"email": email})),
    )
    .await;
    assert_eq!(a.status, 201, "{:#}", a.body);
    a.body
}

pub fn card_data(number: &str, holder: &str) -> Value {
    let code = if number.starts_with("37") {
        "1234"
    } else {
        "123"
    };
    json!({
        "card_number": number,
        "expiration_month": 11,
        "expiration_year": 2035,
        "security_code": code,
        "cardholder": {"name": holder, "identification": {"type": "CPF", "number": "12345678909"}}
    })
}

/// Creates a card token with the access token and returns its id.
pub async fn card_token(sb: &TestSandbox, token: &str, number: &str, holder: &str) -> String {
    let a = call(
        sb,
        Method::POST,
        "/v1/card_tokens",
        token,
        Some(card_data(number, holder)),
    )
    .await;
    assert_eq!(a.status, 201, "{:#}", a.body);
    str_of(&a.body["id"])
}

pub async fn save_card(sb: &TestSandbox, token: &str, customer: &str, card_token: &str) -> Answer {
    call(
        sb,
        Method::POST,
        &format!("/v1/customers/{customer}/cards"),
        token,
        Some(json!({"token": card_token})),
    )
    .await
}

pub fn payment_method(id: &str, name: &str, kind: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "payment_type_id": kind,
        "thumbnail": format!("http://img.mlstatic.com/org-img/MP3/API/logos/{id}.gif"),
        "secure_thumbnail": format!("https://www.mercadopago.com/org-img/MP3/API/logos/{id}.gif"),
    })
}

/// A visa number with the Luhn check digit, distinct for each `n`.
pub fn visa_number(n: u32) -> String {
    let body = format!("423564{n:09}");
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}
