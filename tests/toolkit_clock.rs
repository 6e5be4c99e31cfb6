//! Moving the sandbox clock over the admin API makes tokens and nonces expire with each
//! provider's own error — for everyone, or for one tenant only.

mod common;

use common::start;
use reqwest::Method;
use serde_json::{Value, json};

const MP: &str = "Bearer TEST-5555555555-112233-cccccccc-555555555";

async fn mp_token_and_customer(sb: &common::TestSandbox) -> (String, String) {
    let customer = sb
        .send(
            Method::POST,
            "/v1/customers",
            &[("Authorization", MP)],
            Some(json!({"email": "test_payer_7@testuser.com"})),
        )
        .await;
    assert_eq!(customer.status, 201, "{}", customer.body);
    let token = sb
        .send(
            Method::POST,
            "/v1/card_tokens",
            &[("Authorization", MP)],
            Some(json!({"card_number": "5031433215406351", "expiration_month": 11, "expiration_year": 2030, "security_code": "123",
                        "cardholder": {"name": "APRO", "identification": {"type": "CPF", "number": "12345678909"}}})),
        )
        .await;
    assert_eq!(token.status, 201, "{}", token.body);
    (
        customer.body["id"].as_str().unwrap_or_default().to_string(),
        token.body["id"].as_str().unwrap_or_default().to_string(),
    )
}

async fn advance(sb: &common::TestSandbox, body: Value) {
    let a = sb
        .send(Method::POST, "/__sandbox/clock/advance", &[], Some(body))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
}

#[tokio::test]
async fn a_week_later_a_mercado_pago_card_token_is_expired() {
    let sb = start().await;
    let (customer, token) = mp_token_and_customer(&sb).await;
    advance(&sb, json!({"seconds": 7 * 24 * 3600 + 1})).await;

    let read = sb
        .send(
            Method::GET,
            &format!("/v1/card_tokens/{token}"),
            &[("Authorization", MP)],
            None,
        )
        .await;
    assert_eq!(read.body["status"], "expired");
    let saved = sb
        .send(
            Method::POST,
            &format!("/v1/customers/{customer}/cards"),
            &[("Authorization", MP)],
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(
        (saved.status, saved.body),
        (
            400,
            json!({"message": "Invalid card_token_id", "error": "bad_request", "status": 400,
                     "cause": [{"code": 3003, "description": "Invalid card_token_id", "data": null}]})
        )
    );
}

#[tokio::test]
async fn a_day_later_a_minted_square_nonce_is_expired_but_only_for_the_tenant_whose_clock_moved() {
    let sb = start().await;
    let mut nonces = Vec::new();
    let mut customers = Vec::new();
    for seller in ["EAAA-clock-moved", "EAAA-clock-still"] {
        let auth = format!("Bearer {seller}");
        let c = sb
            .send(
                Method::POST,
                "/v2/customers",
                &[("Authorization", auth.as_str())],
                Some(json!({"given_name": "Amelia"})),
            )
            .await;
        customers.push(
            c.body["customer"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        let n = sb
            .send(
                Method::POST,
                "/__sandbox/square/nonces",
                &[("Authorization", auth.as_str())],
                Some(json!({"card_number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvv": "111", "postal_code": "94103"})),
            )
            .await;
        assert!(n.status == 200 || n.status == 201, "{}", n.body);
        nonces.push(n.body["nonce"].as_str().unwrap_or_default().to_string());
    }
    advance(
        &sb,
        json!({"seconds": 24 * 3600 + 1, "tenant": "EAAA-clock-moved"}),
    )
    .await;

    let expired = sb
        .send(
            Method::POST,
            &format!("/v2/customers/{}/cards", customers[0]),
            &[("Authorization", "Bearer EAAA-clock-moved")],
            Some(json!({"card_nonce": nonces[0]})),
        )
        .await;
    assert_eq!(
        (expired.status, expired.body),
        (
            400,
            json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "CARD_TOKEN_EXPIRED",
                                  "detail": "Card nonce expired; please request new nonce."}]})
        )
    );
    let fresh = sb
        .send(
            Method::POST,
            &format!("/v2/customers/{}/cards", customers[1]),
            &[("Authorization", "Bearer EAAA-clock-still")],
            Some(json!({"card_nonce": nonces[1]})),
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(fresh.body["card"]["last_4"], "1111");
}

#[tokio::test]
async fn the_rust_api_stops_the_clock_at_the_same_limit() {
    let sb = start().await;
    sb.sandbox.advance_clock(std::time::Duration::MAX);
    let clock = sb.send(Method::GET, "/__sandbox/clock", &[], None).await;
    let now = clock.body["now"].as_str().unwrap_or_default();
    assert!(now.starts_with("9000-01-01T00:00:0"), "{}", clock.body);
    // No room is left: a further advance moves it no more.
    sb.sandbox
        .advance_clock(std::time::Duration::from_secs(3600));
    let later = sb.send(Method::GET, "/__sandbox/clock", &[], None).await;
    assert_eq!(later.body["offset_seconds"], clock.body["offset_seconds"]);
}

#[tokio::test]
async fn the_clock_cannot_be_moved_past_what_a_timestamp_can_show() {
    let sb = start().await;
    let try_advance = |body: Value| {
        let sb = &sb;
        async move {
            sb.send(Method::POST, "/__sandbox/clock/advance", &[], Some(body))
                .await
        }
    };
    let mut room = 0;
    for seconds in [
        json!(1e12),
        json!(1e300),
        json!(9_223_372_036_854_775_807_u64),
    ] {
        let refused = try_advance(json!({ "seconds": seconds })).await;
        assert_eq!(refused.status, 400, "{seconds}: {}", refused.body);
        let message = refused.body["error"]["message"]
            .as_str()
            .unwrap_or_default();
        let prefix = "`seconds` would move the clock past 9000-01-01T00:00:00Z (answers must keep four-digit years); at most ";
        assert!(message.starts_with(prefix), "{message}");
        room = message[prefix.len()..]
            .trim_end_matches(" from now")
            .parse::<i64>()
            .expect("the room left, in seconds");
    }
    let clock = sb.send(Method::GET, "/__sandbox/clock", &[], None).await;
    assert_eq!(clock.body["offset_seconds"], json!(0.0));

    // One tenant moved most of the way: everyone's clock may no longer move that far.
    let ahead = try_advance(json!({"seconds": room - 3600, "tenant": "TEST-ahead"})).await;
    assert_eq!(ahead.status, 200, "{}", ahead.body);
    let everyone = try_advance(json!({"seconds": 7200})).await;
    assert_eq!(everyone.status, 400, "{}", everyone.body);
    let again = try_advance(json!({"seconds": 7200, "tenant": "TEST-ahead"})).await;
    assert_eq!(again.status, 400, "{}", again.body);
    // Up to the limit is fine, and answers still carry four-digit years.
    let fine = try_advance(json!({"seconds": 1800, "tenant": "TEST-ahead"})).await;
    assert_eq!(fine.status, 200, "{}", fine.body);
    let now = fine.body["now"].as_str().unwrap_or_default();
    assert!(now.starts_with("8999-12-31T"), "{now}");
}
