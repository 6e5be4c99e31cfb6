//! Mercado Pago saved cards: the seed operation's stories, over HTTP against a strict sandbox.

mod common;
mod mp;

use mp::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

fn expected_master_card(card: &Value, customer_id: &str) -> Value {
    let created = mp_time(&card["date_created"]);
    json!({
        "id": str_of(&card["id"]),
        "expiration_month": 11,
        "expiration_year": 2035,
        "first_six_digits": "503143",
        "last_four_digits": "6351",
        "payment_method": payment_method("master", "Mastercard", "credit_card"),
        "security_code": {"length": 3, "card_location": "back"},
        "issuer": {"id": 24, "name": "Mastercard"},
        "cardholder": {"name": "APRO", "identification": {"number": "12345678909", "type": "CPF"}},
        "date_created": created,
        "date_last_updated": mp_time(&card["date_last_updated"]),
        "customer_id": customer_id,
        "user_id": ALICE_USER.to_string(),
        "live_mode": false
    })
}

#[tokio::test]
async fn a_customer_saves_a_card_lists_it_reads_it_cannot_reuse_the_token_and_deletes_it() {
    let sb = common::start().await;
    let customer = create_customer(&sb, ALICE, "ana@example.com").await;
    let cid = str_of(&customer["id"]);
    assert!(
        cid.starts_with(&format!("{ALICE_USER}-")) && cid.len() == 9 + 1 + 14,
        "{cid}"
    );

    // The card token, from raw card data.
    let a = call(
        &sb,
        Method::POST,
        "/v1/card_tokens",
        ALICE,
        Some(card_data(MASTER_MLB, "APRO")),
    )
    .await;
    assert_eq!(a.status, 201);
    let token = str_of(&a.body["id"]);
    assert!(
        token.len() == 32
            && token
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let created = mp_time(&a.body["date_created"]);
    let due = mp_time(&a.body["date_due"]);
    assert_ne!(created, due);
    assert_eq!(
        a.body,
        json!({
            "id": token,
            "card_id": null,
            "first_six_digits": "503143",
            "last_four_digits": "6351",
            "expiration_month": 11,
            "expiration_year": 2035,
            "cardholder": {"name": "APRO", "identification": {"type": "CPF", "number": "12345678909"}},
            "status": "active",
            "date_created": created,
            "date_last_updated": created,
            "date_due": due,
            "luhn_validation": true,
            "live_mode": false,
            "require_esc": false,
            "card_number_length": 16,
            "security_code_length": 3
        })
    );

    // Save it.
    let saved = save_card(&sb, ALICE, &cid, &token).await;
    assert_eq!(saved.status, 201);
    let card_id = str_of(&saved.body["id"]);
    assert!(card_id.len() == 13 && card_id.bytes().all(|b| b.is_ascii_digit()));
    let card = expected_master_card(&saved.body, &cid);
    assert_eq!(saved.body, card);

    // The token is now used.
    let t = call(
        &sb,
        Method::GET,
        &format!("/v1/card_tokens/{token}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(t.status, 200);
    assert_eq!(t.body["status"], "used");

    // List (a bare array) and get.
    let list = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/cards"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        (list.status, list.body.clone()),
        (200, json!([card.clone()]))
    );
    let got = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/cards/{card_id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!((got.status, got.body.clone()), (200, card.clone()));

    // The customer shows the card and makes it the default.
    let c = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(c.body["cards"], json!([card.clone()]));
    assert_eq!(c.body["default_card"], json!(card_id));

    // Tokens are single use.
    let again = save_card(&sb, ALICE, &cid, &token).await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.body,
        json!({
            "message": "Invalid card_token_id",
            "error": "bad_request",
            "status": 400,
            "cause": [{"code": 3003, "description": "Invalid card_token_id", "data": null}]
        })
    );

    // Delete answers with the deleted card; it is gone afterwards.
    let del = call(
        &sb,
        Method::DELETE,
        &format!("/v1/customers/{cid}/cards/{card_id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!((del.status, del.body), (200, card));
    let list = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/cards"),
        ALICE,
        None,
    )
    .await;
    assert_eq!((list.status, list.body), (200, json!([])));
    let gone = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/cards/{card_id}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(
        (gone.status, gone.body),
        (400, bad_request("120", "card not found."))
    );
}

#[tokio::test]
async fn brands_come_from_the_bin_and_amex_codes_are_four_digits_on_the_front() {
    let sb = common::start().await;
    let cid = str_of(&create_customer(&sb, ALICE, "brands@example.com").await["id"]);
    let amex = card_token(&sb, ALICE, AMEX_MLB, "OTHE").await;
    let a = save_card(&sb, ALICE, &cid, &amex).await;
    assert_eq!(a.status, 201);
    assert_eq!(
        a.body["payment_method"],
        payment_method("amex", "American Express", "credit_card")
    );
    assert_eq!(
        a.body["security_code"],
        json!({"length": 4, "card_location": "front"})
    );
    assert_eq!(
        a.body["issuer"],
        json!({"id": 310, "name": "American Express"})
    );
    // The test cardholder name is kept as sent.
    assert_eq!(a.body["cardholder"]["name"], "OTHE");

    let elo = card_token(&sb, ALICE, "5067766783888311", "CONT").await;
    let e = save_card(&sb, ALICE, &cid, &elo).await;
    assert_eq!(
        e.body["payment_method"],
        payment_method("debelo", "Elo Debito", "debit_card")
    );

    // A three-digit code for an amex is refused at tokenisation.
    let mut data = card_data(AMEX_MLB, "APRO");
    data["security_code"] = json!("123");
    let bad = call(&sb, Method::POST, "/v1/card_tokens", ALICE, Some(data)).await;
    assert_eq!(
        (bad.status, bad.body),
        (400, bad_request("E203", "invalid parameter securityCode"))
    );
}

#[tokio::test]
async fn a_payment_method_of_another_network_cannot_be_resolved_for_the_card() {
    let sb = common::start().await;
    let cid = str_of(&create_customer(&sb, ALICE, "methods@example.com").await["id"]);
    let master = card_token(&sb, ALICE, MASTER_MLB, "APRO").await;
    for other in ["amex", "visa"] {
        let refused = call(
            &sb,
            Method::POST,
            &format!("/v1/customers/{cid}/cards"),
            ALICE,
            Some(json!({"token": master, "payment_method_id": other})),
        )
        .await;
        assert_eq!(
            (refused.status, refused.body),
            (
                400,
                bad_request(
                    "127",
                    "invalid parameter. Cannot resolve the payment method of card, check the payment_method_id and issuer_id."
                )
            ),
            "{other}"
        );
    }
    // The card's own network, credit or debit, is the client's to name.
    let saved = call(
        &sb,
        Method::POST,
        &format!("/v1/customers/{cid}/cards"),
        ALICE,
        Some(json!({"token": master, "payment_method_id": "master"})),
    )
    .await;
    assert_eq!(saved.status, 201, "{}", saved.body);
    assert_eq!(
        saved.body["payment_method"],
        payment_method("master", "Mastercard", "credit_card")
    );
}

#[tokio::test]
async fn card_numbers_failing_luhn_and_missing_fields_are_refused_with_the_tokenisation_codes() {
    let sb = common::start().await;
    let bad = call(
        &sb,
        Method::POST,
        "/v1/card_tokens",
        ALICE,
        Some(card_data("5031433215406352", "APRO")),
    )
    .await;
    assert_eq!(
        (bad.status, bad.body),
        (400, bad_request("E301", "invalid parameter cardNumber"))
    );

    let mut data = card_data(VISA_MLB, "APRO");
    data.as_object_mut().map(|o| o.remove("card_number"));
    let missing = call(&sb, Method::POST, "/v1/card_tokens", ALICE, Some(data)).await;
    assert_eq!(
        (missing.status, missing.body),
        (
            400,
            bad_request("205", "parameter cardNumber can not be null/empty")
        )
    );

    // Null and empty are "null/empty" too, as the description says.
    for blank in [json!(null), json!("")] {
        for (field, code) in [("card_number", "205"), ("security_code", "224")] {
            let mut data = card_data(VISA_MLB, "APRO");
            data[field] = blank.clone();
            let a = call(&sb, Method::POST, "/v1/card_tokens", ALICE, Some(data)).await;
            assert_eq!(
                (a.status, &a.body["cause"][0]["code"]),
                (400, &json!(code)),
                "{field}: {blank}: {}",
                a.body
            );
        }
    }

    let mut data = card_data(VISA_MLB, "APRO");
    data["expiration_year"] = json!(99999);
    let year = call(&sb, Method::POST, "/v1/card_tokens", ALICE, Some(data)).await;
    assert_eq!(
        (year.status, year.body),
        (400, bad_request("326", "invalid parameter expirationYear"))
    );

    let mut data = card_data(VISA_MLB, "APRO");
    data["expiration_month"] = json!("13");
    let month = call(&sb, Method::POST, "/v1/card_tokens", ALICE, Some(data)).await;
    assert_eq!(
        (month.status, month.body),
        (400, bad_request("325", "invalid parameter expirationMonth"))
    );

    let mut data = card_data(VISA_MLB, "APRO");
    data["expiration_year"] = json!(2001);
    let year = call(&sb, Method::POST, "/v1/card_tokens", ALICE, Some(data)).await;
    assert_eq!(
        (year.status, year.body),
        (400, bad_request("326", "invalid parameter expirationYear"))
    );
}

#[tokio::test]
async fn the_node_sdk_shape_with_string_expiry_and_no_cardholder_is_accepted() {
    let sb = common::start().await;
    let body = json!({
        "site_id": "MLB", "card_number": MASTER_MLB, "expiration_year": "2099",
        "expiration_month": "11", "security_code": "123"
    });
    let a = call(&sb, Method::POST, "/v1/card_tokens", ALICE, Some(body)).await;
    assert_eq!(a.status, 201, "{:#}", a.body);
    assert_eq!(a.body["expiration_month"], 11);
    assert_eq!(a.body["expiration_year"], 2099);
    assert_eq!(
        a.body["cardholder"],
        json!({"name": null, "identification": {"type": null, "number": null}})
    );
    let cid = str_of(&create_customer(&sb, ALICE, "node@example.com").await["id"]);
    let saved = save_card(&sb, ALICE, &cid, &str_of(&a.body["id"])).await;
    assert_eq!(saved.status, 201);
    assert_eq!(
        saved.body["cardholder"],
        json!({"name": null, "identification": {"number": null, "type": null}})
    );
}

#[tokio::test]
async fn the_card_limit_is_reached_exactly() {
    let sb = common::start().await;
    let s = sb
        .send(
            Method::POST,
            "/__sandbox/mercadopago/settings",
            &[],
            Some(json!({"max_cards_per_customer": 3})),
        )
        .await;
    assert_eq!(s.status, 200);
    let cid = str_of(&create_customer(&sb, ALICE, "limit@example.com").await["id"]);
    for n in 0..3 {
        let t = card_token(&sb, ALICE, &visa_number(n), "APRO").await;
        assert_eq!(save_card(&sb, ALICE, &cid, &t).await.status, 201);
    }
    let fourth = card_token(&sb, ALICE, &visa_number(3), "APRO").await;
    let refused = save_card(&sb, ALICE, &cid, &fourth).await;
    assert_eq!(
        (refused.status, refused.body),
        (
            400,
            bad_request(
                "129",
                "the customer has reached the maximum allowed number of cards."
            )
        )
    );
    // The refused token was not consumed: once a card is deleted it can be saved.
    let list = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/cards"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(3));
    let first = str_of(&list.body[0]["id"]);
    call(
        &sb,
        Method::DELETE,
        &format!("/v1/customers/{cid}/cards/{first}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(save_card(&sb, ALICE, &cid, &fourth).await.status, 201);
}

#[tokio::test]
async fn forty_concurrent_saves_against_a_limit_of_ten_create_exactly_ten_cards() {
    let sb = common::start().await;
    let s = sb
        .send(
            Method::POST,
            "/__sandbox/mercadopago/settings",
            &[],
            Some(json!({"max_cards_per_customer": 10})),
        )
        .await;
    assert_eq!(s.status, 200);
    let cid = str_of(&create_customer(&sb, ALICE, "race@example.com").await["id"]);
    let mut tokens = Vec::new();
    for n in 0..40 {
        tokens.push(card_token(&sb, ALICE, &visa_number(100 + n), "APRO").await);
    }
    let sb = std::sync::Arc::new(sb);
    let saves: Vec<_> = tokens
        .into_iter()
        .map(|t| {
            let sb = sb.clone();
            let cid = cid.clone();
            tokio::spawn(async move { save_card(&sb, ALICE, &cid, &t).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for s in saves {
        let a = s.await.expect("task");
        if a.status == 400 {
            assert_eq!(
                a.body,
                bad_request(
                    "129",
                    "the customer has reached the maximum allowed number of cards."
                )
            );
        }
        statuses.push(a.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 10);
    assert_eq!(statuses.iter().filter(|s| **s == 400).count(), 30);
    let list = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/cards"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(10));
}

#[tokio::test]
async fn saving_the_same_card_twice_returns_the_card_already_saved() {
    let sb = common::start().await;
    let cid = str_of(&create_customer(&sb, ALICE, "twice@example.com").await["id"]);
    let first = save_card(
        &sb,
        ALICE,
        &cid,
        &card_token(&sb, ALICE, MASTER_MLB, "APRO").await,
    )
    .await;
    let second = save_card(
        &sb,
        ALICE,
        &cid,
        &card_token(&sb, ALICE, MASTER_MLB, "APRO").await,
    )
    .await;
    assert_eq!((second.status, second.body), (201, first.body));
    let list = call(
        &sb,
        Method::GET,
        &format!("/v1/customers/{cid}/cards"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn save_card_errors_unknown_customer_missing_and_unknown_token_expired_token() {
    let sb = common::start().await;
    let cid = str_of(&create_customer(&sb, ALICE, "errors@example.com").await["id"]);
    let token = card_token(&sb, ALICE, VISA_MLB, "APRO").await;

    let nobody = save_card(&sb, ALICE, "448870796-NOSUCHCUSTOMER", &token).await;
    assert_eq!((nobody.status, nobody.body), (404, customer_not_found()));

    let missing = call(
        &sb,
        Method::POST,
        &format!("/v1/customers/{cid}/cards"),
        ALICE,
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (missing.status, missing.body),
        (400, bad_request("119", "the card is required."))
    );

    let unknown = save_card(&sb, ALICE, &cid, "0123456789abcdef0123456789abcdef").await;
    assert_eq!(
        (unknown.status, unknown.body),
        (400, bad_request("120", "card not found."))
    );

    // Seven days (the default lifetime) later, an unused token has expired.
    sb.sandbox
        .advance_clock(Duration::from_secs(7 * 24 * 3600 - 60));
    let t = call(
        &sb,
        Method::GET,
        &format!("/v1/card_tokens/{token}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(t.body["status"], "active");
    sb.sandbox.advance_clock(Duration::from_secs(120));
    let t = call(
        &sb,
        Method::GET,
        &format!("/v1/card_tokens/{token}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(t.body["status"], "expired");
    let expired = save_card(&sb, ALICE, &cid, &token).await;
    assert_eq!(
        (expired.status, expired.body),
        (
            400,
            json!({
                "message": "Invalid card_token_id",
                "error": "bad_request",
                "status": 400,
                "cause": [{"code": 3003, "description": "Invalid card_token_id", "data": null}]
            })
        )
    );
}

#[tokio::test]
async fn the_token_lifetime_is_a_setting() {
    let sb = common::start().await;
    let s = sb
        .send(
            Method::POST,
            "/__sandbox/mercadopago/settings",
            &[],
            Some(json!({"card_token_ttl_seconds": 60})),
        )
        .await;
    assert_eq!(s.status, 200);
    let token = card_token(&sb, ALICE, VISA_MLB, "APRO").await;
    sb.sandbox.advance_clock(Duration::from_secs(61));
    let t = call(
        &sb,
        Method::GET,
        &format!("/v1/card_tokens/{token}"),
        ALICE,
        None,
    )
    .await;
    assert_eq!(t.body["status"], "expired");

    let bad = sb
        .send(
            Method::POST,
            "/__sandbox/mercadopago/settings",
            &[],
            Some(json!({"card_token_ttl": 60})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("card_token_ttl")
    );
}

#[tokio::test]
async fn a_card_is_updated_in_place_and_a_saved_card_can_be_tokenised_again() {
    let sb = common::start().await;
    let cid = str_of(&create_customer(&sb, ALICE, "update@example.com").await["id"]);
    let saved = save_card(
        &sb,
        ALICE,
        &cid,
        &card_token(&sb, ALICE, MASTER_MLB, "APRO").await,
    )
    .await;
    let card_id = str_of(&saved.body["id"]);

    sb.sandbox.advance_clock(Duration::from_secs(5));
    let upd = call(
        &sb,
        Method::PUT,
        &format!("/v1/customers/{cid}/cards/{card_id}"),
        ALICE,
        Some(json!({"expiration_month": "12", "expiration_year": 2036, "cardholder": {"name": "OTHE", "identification": {"type": "CNPJ", "number": "12345678000195"}}})),
    )
    .await;
    assert_eq!(upd.status, 200);
    let mut expected = saved.body.clone();
    expected["expiration_month"] = json!(12);
    expected["expiration_year"] = json!(2036);
    expected["cardholder"] =
        json!({"name": "OTHE", "identification": {"number": "12345678000195", "type": "CNPJ"}});
    expected["date_last_updated"] = json!(mp_time(&upd.body["date_last_updated"]));
    assert_ne!(
        upd.body["date_last_updated"],
        saved.body["date_last_updated"]
    );
    assert_eq!(upd.body, expected);

    // A token from the saved card (card_id + security code) is single use like any other.
    let t = call(
        &sb,
        Method::POST,
        "/v1/card_tokens",
        ALICE,
        Some(json!({"card_id": card_id, "security_code": "123"})),
    )
    .await;
    assert_eq!(t.status, 201);
    assert_eq!(t.body["card_id"], json!(card_id));
    assert_eq!(t.body["first_six_digits"], "503143");
    assert_eq!(t.body["cardholder"]["name"], "OTHE");
    let again = save_card(&sb, ALICE, &cid, &str_of(&t.body["id"])).await;
    assert_eq!(
        (again.status, again.body["id"].clone()),
        (201, json!(card_id))
    );

    let unknown = call(
        &sb,
        Method::PUT,
        &format!("/v1/customers/{cid}/cards/999"),
        ALICE,
        Some(json!({"expiration_month": 1})),
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.body),
        (400, bad_request("120", "card not found."))
    );
}

#[tokio::test]
async fn tokens_belong_to_their_creator_and_public_key_tokens_to_the_same_environment() {
    let sb = common::start().await;
    let alice_customer = str_of(&create_customer(&sb, ALICE, "alice@example.com").await["id"]);
    let bob_customer = str_of(&create_customer(&sb, BOB, "bob@example.com").await["id"]);

    // Alice's access-token token cannot be saved by Bob.
    let alices = card_token(&sb, ALICE, VISA_MLB, "APRO").await;
    let stolen = save_card(&sb, BOB, &bob_customer, &alices).await;
    assert_eq!(
        (stolen.status, stolen.body),
        (400, bad_request("140", "invalid card owner."))
    );
    let read = call(
        &sb,
        Method::GET,
        &format!("/v1/card_tokens/{alices}"),
        BOB,
        None,
    )
    .await;
    assert_eq!(
        (read.status, read.body),
        (
            404,
            json!({"message": "card_token not found", "error": "not_found", "status": 404, "cause": [[]]})
        )
    );

    // A token made in the browser with a TEST public key (query parameter or header).
    let by_query = sb
        .send(
            Method::POST,
            "/v1/card_tokens?public_key=TEST-0f1e2d3c-public",
            &[],
            Some(card_data(MASTER_MLB, "APRO")),
        )
        .await;
    assert_eq!(by_query.status, 201);
    assert_eq!(by_query.body["live_mode"], false);
    let saved = save_card(&sb, ALICE, &alice_customer, &str_of(&by_query.body["id"])).await;
    assert_eq!(saved.status, 201);

    let by_header = sb
        .send(
            Method::POST,
            "/v1/card_tokens",
            &[("X-Public-Key", "TEST-0f1e2d3c-public")],
            Some(card_data(VISA_MLB, "APRO")),
        )
        .await;
    assert_eq!(by_header.status, 201);
    // A production account cannot use a test public key's token.
    let prod = "APP_USR-8237283748732847-052210-aa-448870796";
    let prod_customer = str_of(&create_customer(&sb, prod, "prod@example.com").await["id"]);
    let wrong_env = save_card(&sb, prod, &prod_customer, &str_of(&by_header.body["id"])).await;
    assert_eq!(
        (wrong_env.status, wrong_env.body),
        (400, bad_request("150", "invalid users involved."))
    );
    // Nor a test access token's: across environments it is 150 too, not 140.
    let alices_test = card_token(&sb, ALICE, VISA_MLB, "APRO").await;
    let across = save_card(&sb, prod, &prod_customer, &alices_test).await;
    assert_eq!(
        (across.status, across.body),
        (400, bad_request("150", "invalid users involved."))
    );
}
