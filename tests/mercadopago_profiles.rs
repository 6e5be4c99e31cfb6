//! Mercado Pago payment profiles (Automatic Payments): each add-payment-method rule, with
//! the exact error body.

mod common;
mod mp;

use mp::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Creates a customer and an empty profile; returns (customer id, profile id).
async fn profile(sb: &common::TestSandbox, email: &str) -> (String, String) {
    let cid = str_of(&create_customer(sb, ALICE, email).await["id"]);
    let p = call(
        sb,
        Method::POST,
        &format!("/v1/customers/{cid}/payment-profiles"),
        ALICE,
        Some(json!({"description": "Gym", "statement_descriptor": "GYM", "max_day_overdue": 5})),
    )
    .await;
    assert_eq!(p.status, 201, "{:#}", p.body);
    (cid, str_of(&p.body["id"]))
}

async fn add(
    sb: &common::TestSandbox,
    cid: &str,
    pid: &str,
    key: Option<&str>,
    body: Value,
) -> common::Answer {
    let auth = bearer(ALICE);
    let mut headers = vec![("Authorization", auth.as_str())];
    if let Some(k) = key {
        headers.push(("X-Idempotency-Key", k));
    }
    sb.send(
        Method::POST,
        &format!("/v1/customers/{cid}/payment-profiles/{pid}/payment-methods"),
        &headers,
        Some(body),
    )
    .await
}

fn uuid_like(v: &Value) -> String {
    let s = str_of(v);
    assert!(
        s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4,
        "{s}"
    );
    s
}

#[tokio::test]
async fn a_profile_is_created_read_given_a_card_and_cancelled() {
    let sb = common::start().await;
    let cid = str_of(&create_customer(&sb, ALICE, "gym@example.com").await["id"]);
    let created = call(
        &sb,
        Method::POST,
        &format!("/v1/customers/{cid}/payment-profiles"),
        ALICE,
        Some(json!({"description": "Gym", "statement_descriptor": "GYM", "max_day_overdue": 5})),
    )
    .await;
    assert_eq!(created.status, 201);
    let pid = str_of(&created.body["id"]);
    assert!(pid.len() == 32);
    let date = str_of(&created.body["created_date"]);
    assert!(date.ends_with('Z') && date.len() == 24, "{date}");
    let mut expected = json!({
        "id": pid, "customer_id": cid, "created_date": date, "last_updated_date": date,
        "description": "Gym", "max_day_overdue": 5, "statement_descriptor": "GYM",
        "status": "PENDING", "sequence_control": "AUTO", "payment_methods": []
    });
    assert_eq!(created.body, expected);

    let token = card_token(&sb, ALICE, VISA_MLB, "APRO").await;
    let added = add(
        &sb,
        &cid,
        &pid,
        Some("add-1"),
        json!({"id": "visa", "type": "credit_card", "token": token}),
    )
    .await;
    assert_eq!(added.status, 201);
    let card_id = added.body["card_id"].as_i64().expect("card_id is a number");
    let method = json!({
        "payment_method_id": uuid_like(&added.body["payment_method_id"]),
        "id": "visa", "type": "credit_card", "card_id": card_id,
        "status": "READY", "default_method": true
    });
    assert_eq!(added.body, method);
    // The card was saved on the customer.
    let cards = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/cards"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(cards.body[0]["id"], json!(card_id.to_string()));

    let got = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/payment-profiles/{pid}"),
        ALICE,
        None,
    )
    .await;
    expected["status"] = json!("READY");
    expected["payment_methods"] = json!([method]);
    expected["last_updated_date"] = got.body["last_updated_date"].clone();
    assert_eq!((got.status, got.body), (200, expected.clone()));

    let cancel = call(
        &sb,
        Method::PUT,
        &format!("/v1/customers/{cid}/payment-profiles/{pid}"),
        ALICE,
        Some(json!({"status": "CANCELLED"})),
    )
    .await;
    expected["status"] = json!("CANCELLED");
    expected["last_updated_date"] = cancel.body["last_updated_date"].clone();
    assert_eq!((cancel.status, cancel.body), (200, expected));

    // A cancelled profile takes no more methods and no more changes.
    let other = card_token(&sb, ALICE, MASTER_MLB, "APRO").await;
    let refused = add(
        &sb,
        &cid,
        &pid,
        Some("add-2"),
        json!({"id": "master", "type": "credit_card", "token": other}),
    )
    .await;
    let not_allowed = profile_error(
        400,
        "profile_modification_not_allowed",
        "It's not allowed to change a profile with canceled status.",
    );
    assert_eq!((refused.status, refused.body), (400, not_allowed.clone()));
    let upd = call(
        &sb,
        Method::PUT,
        &format!("/v1/customers/{cid}/payment-profiles/{pid}"),
        ALICE,
        Some(json!({"description": "x"})),
    )
    .await;
    assert_eq!((upd.status, upd.body), (400, not_allowed));
}

#[tokio::test]
async fn adding_a_method_needs_an_idempotency_key() {
    let sb = common::start().await;
    let (cid, pid) = profile(&sb, "key@example.com").await;
    let token = card_token(&sb, ALICE, VISA_MLB, "APRO").await;
    let a = add(
        &sb,
        &cid,
        &pid,
        None,
        json!({"id": "visa", "type": "credit_card", "token": token}),
    )
    .await;
    assert_eq!(
        (a.status, a.body),
        (
            401,
            profile_error(
                401,
                "header_missing",
                "Request failed because a required header is missing. Make sure that all necessary authentication headers are being sent."
            )
        )
    );
}

#[tokio::test]
async fn a_profile_holds_at_most_two_methods() {
    let sb = common::start().await;
    let (cid, pid) = profile(&sb, "two@example.com").await;
    for (n, key) in [(1u32, "k1"), (2, "k2")] {
        let t = card_token(&sb, ALICE, &visa_number(n), "APRO").await;
        let a = add(
            &sb,
            &cid,
            &pid,
            Some(key),
            json!({"id": "visa", "type": "credit_card", "token": t}),
        )
        .await;
        assert_eq!(a.status, 201, "{:#}", a.body);
    }
    let t = card_token(&sb, ALICE, &visa_number(3), "APRO").await;
    let third = add(
        &sb,
        &cid,
        &pid,
        Some("k3"),
        json!({"id": "visa", "type": "credit_card", "token": t}),
    )
    .await;
    assert_eq!(
        (third.status, third.body),
        (
            400,
            profile_error(
                400,
                "more_than_two_payment_methods_not_allowed",
                "A payment profile can contain a maximum of two payment methods."
            )
        )
    );
    // The second method became the default only if asked: the first stays default.
    let got = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/payment-profiles/{pid}"),
        ALICE,
        None,
    )
    .await;
    let defaults: Vec<Value> = got.body["payment_methods"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| m["default_method"].clone())
        .collect();
    assert_eq!(defaults, vec![json!(true), json!(false)]);
}

#[tokio::test]
async fn the_same_card_cannot_be_added_twice() {
    let sb = common::start().await;
    let (cid, pid) = profile(&sb, "dup@example.com").await;
    let t = card_token(&sb, ALICE, VISA_MLB, "APRO").await;
    let first = add(
        &sb,
        &cid,
        &pid,
        Some("d1"),
        json!({"id": "visa", "type": "credit_card", "token": t}),
    )
    .await;
    assert_eq!(first.status, 201);
    // By saved card id, and by a fresh token for the same card number.
    let by_id = add(
        &sb,
        &cid,
        &pid,
        Some("d2"),
        json!({"id": "visa", "type": "credit_card", "card_id": first.body["card_id"]}),
    )
    .await;
    let duplicate = profile_error(
        400,
        "duplicate_payment_method_not_allowed",
        "It is not allowed to add a payment method that already exists in the payment profile.",
    );
    assert_eq!((by_id.status, by_id.body), (400, duplicate.clone()));
    let t2 = card_token(&sb, ALICE, VISA_MLB, "APRO").await;
    let by_token = add(
        &sb,
        &cid,
        &pid,
        Some("d3"),
        json!({"id": "visa", "type": "credit_card", "token": t2}),
    )
    .await;
    assert_eq!((by_token.status, by_token.body), (400, duplicate));
}

#[tokio::test]
async fn a_profile_of_another_customer_is_a_mismatch_and_unknown_profiles_are_not_found() {
    let sb = common::start().await;
    let (_cid, pid) = profile(&sb, "owner@example.com").await;
    let other = str_of(&create_customer(&sb, ALICE, "other@example.com").await["id"]);
    let t = card_token(&sb, ALICE, VISA_MLB, "APRO").await;
    let a = add(
        &sb,
        &other,
        &pid,
        Some("m1"),
        json!({"id": "visa", "type": "credit_card", "token": t}),
    )
    .await;
    assert_eq!(
        (a.status, a.body),
        (
            400,
            profile_error(
                400,
                "customer_id_mismatch",
                "The customer_id sent does not match the payment profile."
            )
        )
    );
    let g = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{other}/payment-profiles/{pid}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(g.status, 400);
    assert_eq!(g.body["error"], "customer_id_mismatch");

    let missing = add(
        &sb,
        &other,
        "0123456789abcdef0123456789abcdef",
        Some("m2"),
        json!({"id": "visa", "type": "credit_card", "token": t}),
    )
    .await;
    let not_found = profile_error(
        404,
        "resource_not_found",
        "Request failed because the payment profile was not found. Verify that the payment profile ID, customer ID and caller ID are correct.",
    );
    assert_eq!((missing.status, missing.body), (404, not_found.clone()));
    // Another account does not see the profile at all.
    let bob = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{other}/payment-profiles/{pid}"),
        BOB,
        None,
    )
    .await;
    assert_eq!((bob.status, bob.body), (404, not_found));
}

#[tokio::test]
async fn tokens_must_be_32_or_33_characters() {
    let sb = common::start().await;
    let (cid, pid) = profile(&sb, "len@example.com").await;
    let a = add(
        &sb,
        &cid,
        &pid,
        Some("l1"),
        json!({"id": "visa", "type": "credit_card", "token": "12345"}),
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["error"], "validation_error");
    assert_eq!(
        a.body["message"],
        "The request failed due to a validation error for the sent fields."
    );
    assert_eq!(a.body["cause"].as_array().map(Vec::len), Some(1));
    assert_eq!(a.body["cause"][0]["code"], "validation_error");
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_one_cause_not_two() {
    let sb = common::start().await;
    let (cid, pid) = profile(&sb, "type@example.com").await;
    // `type` is an enum of strings: a number is reported for its type only.
    let a = add(
        &sb,
        &cid,
        &pid,
        Some("t1"),
        json!({"id": "visa", "type": 5, "token": "0123456789abcdef0123456789abcdef"}),
    )
    .await;
    assert_eq!(
        (a.status, &a.body["error"]),
        (400, &json!("validation_error"))
    );
    assert_eq!(
        a.body["cause"].as_array().map(Vec::len),
        Some(1),
        "{:#}",
        a.body
    );
}

#[tokio::test]
async fn the_card_is_validated_by_its_test_cardholder_name() {
    let sb = common::start().await;
    let (cid, pid) = profile(&sb, "declined@example.com").await;
    let t = card_token(&sb, ALICE, VISA_MLB, "FUND").await;
    let a = add(
        &sb,
        &cid,
        &pid,
        Some("v1"),
        json!({"id": "visa", "type": "credit_card", "token": t}),
    )
    .await;
    assert_eq!(
        (a.status, a.body),
        (
            402,
            profile_error(
                402,
                "payment_method_not_approved",
                "The payment for the payment method verification was not approved."
            )
        )
    );
    let pending = card_token(&sb, ALICE, MASTER_MLB, "CONT").await;
    let p = add(
        &sb,
        &cid,
        &pid,
        Some("v2"),
        json!({"id": "master", "type": "credit_card", "token": pending}),
    )
    .await;
    assert_eq!(p.status, 201);
    assert_eq!(p.body["status"], "PENDING");
    let got = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/payment-profiles/{pid}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(got.body["status"], "PENDING");
}

#[tokio::test]
async fn adding_a_method_is_idempotent() {
    let sb = common::start().await;
    let (cid, pid) = profile(&sb, "idem@example.com").await;
    let t = card_token(&sb, ALICE, VISA_MLB, "APRO").await;
    let body = json!({"id": "visa", "type": "credit_card", "token": t});
    let first = add(&sb, &cid, &pid, Some("same"), body.clone()).await;
    let replay = add(&sb, &cid, &pid, Some("same"), body).await;
    assert_eq!(
        (first.status, replay.status, replay.body),
        (201, 201, first.body)
    );
    let got = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/payment-profiles/{pid}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        got.body["payment_methods"].as_array().map(Vec::len),
        Some(1)
    );
    let t2 = card_token(&sb, ALICE, MASTER_MLB, "APRO").await;
    let conflict = add(
        &sb,
        &cid,
        &pid,
        Some("same"),
        json!({"id": "master", "type": "credit_card", "token": t2}),
    )
    .await;
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.body["error"], "conflict");
}

#[tokio::test]
async fn profiles_created_with_methods_follow_the_creation_rules() {
    let sb = common::start().await;
    let cid = str_of(&create_customer(&sb, ALICE, "create@example.com").await["id"]);
    let path = format!("/v1/customers/{cid}/payment-profiles");
    let tokens = [
        card_token(&sb, ALICE, &visa_number(1), "APRO").await,
        card_token(&sb, ALICE, &visa_number(2), "APRO").await,
        card_token(&sb, ALICE, &visa_number(3), "APRO").await,
    ];
    let m = |t: &str| json!({"id": "visa", "type": "credit_card", "token": t});
    let three = call(
        &sb,
        Method::POST,
        &path,
        ALICE,
        Some(json!({"payment_methods": [m(&tokens[0]), m(&tokens[1]), m(&tokens[2])]})),
    )
    .await;
    assert_eq!(
        (three.status, three.body),
        (
            400,
            profile_error(
                400,
                "more_than_two_payment_methods_not_allowed",
                "A payment profile can contain a maximum of two payment methods."
            )
        )
    );
    let two_tokens = call(
        &sb,
        Method::POST,
        &path,
        ALICE,
        Some(json!({"payment_methods": [m(&tokens[0]), m(&tokens[1])]})),
    )
    .await;
    assert_eq!(
        (two_tokens.status, two_tokens.body),
        (
            400,
            profile_error(
                400,
                "two_cards_with_token_not_allowed",
                "It is not allowed to create a payment profile with two cards containing card_token as payment methods."
            )
        )
    );
    let one = call(
        &sb,
        Method::POST,
        &path,
        ALICE,
        Some(json!({"payment_methods": [m(&tokens[0])]})),
    )
    .await;
    assert_eq!(one.status, 201);
    assert_eq!(one.body["status"], "READY");
    assert_eq!(one.body["payment_methods"][0]["default_method"], true);
    let unknown = call(
        &sb,
        Method::POST,
        "/v1/customers/448870796-NOBODY/payment-profiles",
        ALICE,
        Some(json!({})),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["error"], "resource_not_found");
}
