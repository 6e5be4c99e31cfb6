//! Eximpe saved cards over HTTP: save in both versions, every validation rule, duplicates,
//! list, delete, and tenant isolation.

mod common;

use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const V1: &str = "1.0.0";
const V2: &str = "2.0.0";

fn headers<'a>(client: &'a str, version: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("X-Client-ID", client),
        ("X-Client-Secret", "any-secret"),
        ("X-API-Version", version),
    ]
}

/// A v1 save body (lower-case network, credit_card/debit_card, no consent).
fn card(identifier: &str, number: &str, network: &str, card_type: &str) -> Value {
    json!({
        "identifier": identifier,
        "card_number": number,
        "cardholder_name": "John Doe",
        "expiry_month": 5,
        "expiry_year": 2040,
        "network": network,
        "card_type": card_type,
    })
}

/// The same card in v2's vocabulary, with consent.
fn card_v2(identifier: &str, number: &str, network: &str, card_type: &str) -> Value {
    let mut body = card(identifier, number, network, card_type);
    body["card_holder_consent"] = json!(true);
    body
}

fn token_of(answer: &common::Answer) -> String {
    let token = answer.body["data"]["card_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no card_token in {:#}", answer.body))
        .to_string();
    assert_eq!(token.len(), 20, "{token}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{token}"
    );
    token
}

fn luhn(number: &str) -> bool {
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn validation(errors: &[(&str, &str)]) -> Value {
    let errors: Vec<Value> = errors
        .iter()
        .map(|(attr, detail)| json!({"code": "invalid", "detail": detail, "attr": attr}))
        .collect();
    json!({"success": false, "error": {"type": "validation_error", "errors": errors}})
}

fn saved_v1(label: &str, token: &str) -> Value {
    json!({"success": true, "message": "Card details saved successfully",
           "data": {"card_label": label, "card_token": token}})
}

#[tokio::test]
async fn a_merchant_saves_each_network_under_v1() {
    let sb = common::start().await;
    let h = headers("client-v1", V1);
    let cases = [
        (
            "4111111111111111",
            "visa",
            "credit_card",
            None,
            "VISA **** 1111",
        ),
        (
            "5506900480000008",
            "mastercard",
            "debit_card",
            None,
            "MASTERCARD **** 0008",
        ),
        (
            "378282246310005",
            "amex",
            "credit_card",
            Some("AEVV_ABC123DEF456"),
            "AMEX **** 0005",
        ),
        (
            "6521123456789012",
            "rupay",
            "debit_card",
            Some("AUTH_REF_789012345"),
            "RUPAY **** 9012",
        ),
        (
            "6011111111111117",
            "discover",
            "credit_card",
            None,
            "DISCOVER **** 1117",
        ),
    ];
    for (number, network, card_type, reference, label) in cases {
        let mut body = card("customer_12345", number, network, card_type);
        if let Some(r) = reference {
            body["authorization_reference_number"] = json!(r);
        }
        let a = sb.send(Method::POST, "/pg/tokens/", &h, Some(body)).await;
        assert_eq!(a.status, 200, "{network}: {:#}", a.body);
        let token = token_of(&a);
        assert_eq!(a.body, saved_v1(label, &token), "{network}");
    }
}

#[tokio::test]
async fn a_merchant_saves_each_network_under_v2_and_gets_a_network_token() {
    let sb = common::start().await;
    let h = headers("client-v2", V2);
    let cases = [
        ("4576238912771450", "VISA", "CREDIT", None),
        ("5105105105105100", "MASTERCARD", "CREDIT", None),
        (
            "378282246310005",
            "AMEX",
            "CREDIT",
            Some("AEVV_AMEX_ABC123DEF456"),
        ),
        (
            "6074825972083818",
            "RUPAY",
            "DEBIT",
            Some("AUTH_REF_SBI_789012345"),
        ),
        ("6011000990139424", "DISCOVER", "PREPAID", None),
    ];
    for (number, network, card_type, reference) in cases {
        let mut body = card_v2("USER_PS_001", number, network, card_type);
        body["nickname"] = json!(format!("My {network} card"));
        if let Some(r) = reference {
            body["authorization_reference_number"] = json!(r);
        }
        let a = sb.send(Method::POST, "/pg/tokens/", &h, Some(body)).await;
        assert_eq!(a.status, 200, "{network}: {:#}", a.body);
        let token = token_of(&a);
        let network_token = a.body["data"]["network_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(network_token.len(), number.len(), "{network_token}");
        assert_eq!(&network_token[..4], &number[..4]);
        assert!(luhn(&network_token), "{network_token}");
        assert_ne!(network_token, number);
        assert_eq!(
            a.body,
            json!({"success": true, "message": "Card details saved successfully", "data": {
                "card_label": format!("My {network} card"),
                "card_token": token,
                "issuer_token": null,
                "network_token": network_token,
            }}),
            "{network}"
        );
    }
}

#[tokio::test]
async fn rupay_and_amex_need_the_authorization_reference_number() {
    let sb = common::start().await;
    let h = headers("client-arn", V1);
    let rupay = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &h,
            Some(card("c1", "6521123456789012", "rupay", "debit_card")),
        )
        .await;
    assert_eq!(rupay.status, 400);
    assert_eq!(
        rupay.body,
        validation(&[(
            "authorization_reference_number",
            "Authorization reference number is required for Rupay cards."
        )])
    );

    let mut amex = card("c1", "378282246310005", "amex", "credit_card");
    amex["authorization_reference_number"] = json!("  ");
    let amex = sb.send(Method::POST, "/pg/tokens/", &h, Some(amex)).await;
    assert_eq!(amex.status, 400);
    assert_eq!(
        amex.body,
        validation(&[(
            "authorization_reference_number",
            "Authorization reference number is required for AMEX cards."
        )])
    );

    // Other networks do not need it; one sent anyway is ignored.
    let mut visa = card("c1", "4111111111111111", "visa", "credit_card");
    visa["authorization_reference_number"] = json!("AUTH_REF_1");
    let visa = sb.send(Method::POST, "/pg/tokens/", &h, Some(visa)).await;
    assert_eq!(visa.status, 200, "{:#}", visa.body);
}

#[tokio::test]
async fn all_validation_errors_come_at_once_in_field_order() {
    let sb = common::start().await;
    // The seed's multiple-errors example.
    let seed_case = json!({
        "identifier": "customer_98765",
        "card_number": "6521-1234",
        "expiry_month": 6,
        "expiry_year": 2040,
        "network": "rupay",
        "card_type": "debit_card",
    });
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &headers("client-many", V1),
            Some(seed_case),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        validation(&[
            ("cardholder_name", "This field is required."),
            ("card_number", "Invalid card number format."),
            (
                "authorization_reference_number",
                "Authorization reference number is required for Rupay cards."
            ),
        ])
    );

    // Everything wrong at once under v2: schema and module errors interleave by field.
    let everything = json!({
        "cardholder_name": "",
        "card_number": "4111111111111112",
        "expiry_month": 13,
        "expiry_year": 2023,
        "network": "AMEX",
        "card_type": "credit",
        "card_holder_consent": false,
    });
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &headers("client-many", V2),
            Some(everything),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        validation(&[
            ("identifier", "This field is required."),
            ("cardholder_name", "This field may not be blank."),
            ("card_number", "Invalid card number format."),
            (
                "expiry_month",
                "Ensure this value is less than or equal to 12."
            ),
            (
                "expiry_year",
                "Ensure this value is greater than or equal to 2024."
            ),
            ("card_type", "\"credit\" is not a valid choice."),
            (
                "card_holder_consent",
                "Card holder consent is required to save the card."
            ),
            (
                "authorization_reference_number",
                "Authorization reference number is required for AMEX cards."
            ),
        ])
    );
}

#[tokio::test]
async fn the_network_must_match_the_card_number() {
    let sb = common::start().await;
    let h = headers("client-bin", V1);
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &h,
            Some(card("c1", "4111111111111111", "mastercard", "credit_card")),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        validation(&[(
            "network",
            "Card number does not match the selected network."
        )])
    );
    // 65xxxx is both Discover and RuPay: either network is accepted.
    let mut rupay = card("c1", "6528591234543575", "rupay", "credit_card");
    rupay["authorization_reference_number"] = json!("AUTH_REF_1");
    assert_eq!(
        sb.send(Method::POST, "/pg/tokens/", &h, Some(rupay))
            .await
            .status,
        200
    );
    let discover = card("c2", "6528591234543575", "discover", "credit_card");
    assert_eq!(
        sb.send(Method::POST, "/pg/tokens/", &h, Some(discover))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn an_expired_card_is_refused_by_the_sandbox_clock() {
    let sb = common::start().await;
    let h = headers("client-expiry", V1);
    let mut body = card("c1", "4111111111111111", "visa", "credit_card");
    body["expiry_year"] = json!(2100);
    body["expiry_month"] = json!(1);
    assert_eq!(
        sb.send(Method::POST, "/pg/tokens/", &h, Some(body.clone()))
            .await
            .status,
        200
    );
    // Eighty years later the same card has expired.
    sb.sandbox
        .advance_clock(Duration::from_secs(80 * 366 * 24 * 3600));
    body["identifier"] = json!("c2");
    let a = sb.send(Method::POST, "/pg/tokens/", &h, Some(body)).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body, validation(&[("expiry_year", "Card has expired.")]));
}

#[tokio::test]
async fn the_same_card_saved_twice_for_one_identifier_conflicts() {
    let sb = common::start().await;
    let h = headers("client-dup", V1);
    let body = card("customer_1", "5506900480000008", "mastercard", "debit_card");
    assert_eq!(
        sb.send(Method::POST, "/pg/tokens/", &h, Some(body.clone()))
            .await
            .status,
        200
    );
    let again = sb.send(Method::POST, "/pg/tokens/", &h, Some(body)).await;
    assert_eq!(again.status, 409);
    assert_eq!(
        again.body,
        json!({"success": false, "error": {"code": "ERR_TOKEN_003",
            "message": "Card already exists or duplicate identifier",
            "details": {"card_number": "Card already exists or duplicate identifier."}}})
    );
    // Another owner may save the same card.
    let other = card("customer_2", "5506900480000008", "mastercard", "debit_card");
    assert_eq!(
        sb.send(Method::POST, "/pg/tokens/", &h, Some(other))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn saved_cards_are_listed_masked_in_the_version_vocabulary() {
    let sb = common::start().await;
    let mut first = card_v2("USER_AS_002", "4444333322221111", "VISA", "CREDIT");
    first["nickname"] = json!("HDFC Millennia Credit Card");
    first["cardholder_name"] = json!("ARJUN SINGH");
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &headers("client-list", V2),
            Some(first),
        )
        .await;
    let t1 = token_of(&a);
    let second = card("USER_AS_002", "6074828163369590", "rupay", "debit_card");
    let mut second = second;
    second["authorization_reference_number"] = json!("AUTH_REF_2");
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &headers("client-list", V1),
            Some(second),
        )
        .await;
    let t2 = token_of(&a);
    // Someone else's card is not listed.
    sb.send(
        Method::POST,
        "/pg/tokens/",
        &headers("client-list", V1),
        Some(card(
            "USER_OTHER",
            "5409162669381034",
            "mastercard",
            "debit_card",
        )),
    )
    .await;

    let v2 = sb
        .send(
            Method::GET,
            "/pg/tokens/?identifier=USER_AS_002",
            &headers("client-list", V2),
            None,
        )
        .await;
    assert_eq!(v2.status, 200);
    assert_eq!(
        v2.body,
        json!({"success": true, "message": "Card details fetched successfully", "data": [
            {"card_token": t1, "identifier": "USER_AS_002", "cardholder_name": "ARJUN SINGH",
             "nickname": "HDFC Millennia Credit Card", "card_type": "CREDIT", "network": "VISA",
             "masked_pan": "XXXXXXXXXXXX1111", "expiry_month": 5, "expiry_year": 2040},
            {"card_token": t2, "identifier": "USER_AS_002", "cardholder_name": "John Doe",
             "nickname": null, "card_type": "DEBIT", "network": "RUPAY",
             "masked_pan": "XXXXXXXXXXXX9590", "expiry_month": 5, "expiry_year": 2040},
        ]})
    );
    let v1 = sb
        .send(
            Method::GET,
            "/pg/tokens/?identifier=USER_AS_002",
            &headers("client-list", V1),
            None,
        )
        .await;
    assert_eq!(v1.status, 200);
    assert_eq!(v1.body["data"][0]["network"], "visa");
    assert_eq!(v1.body["data"][0]["card_type"], "credit_card");
    assert_eq!(v1.body["data"][1]["network"], "rupay");
    assert_eq!(v1.body["data"][1]["card_type"], "debit_card");
    let mut expected = v2.body.clone();
    for (i, (network, card_type)) in [("visa", "credit_card"), ("rupay", "debit_card")]
        .iter()
        .enumerate()
    {
        expected["data"][i]["network"] = json!(network);
        expected["data"][i]["card_type"] = json!(card_type);
    }
    assert_eq!(v1.body, expected);
}

#[tokio::test]
async fn an_identifier_without_cards_is_a_404() {
    let sb = common::start().await;
    let a = sb
        .send(
            Method::GET,
            "/pg/tokens/?identifier=nobody",
            &headers("client-empty", V2),
            None,
        )
        .await;
    assert_eq!(a.status, 404);
    assert_eq!(
        a.body,
        json!({"success": false, "error": {"code": "ERR_TOKEN_001", "message": "No cards found",
            "details": {"identifier": "No cards found."}}})
    );
    let missing = sb
        .send(
            Method::GET,
            "/pg/tokens/",
            &headers("client-empty", V2),
            None,
        )
        .await;
    assert_eq!(missing.status, 400);
    assert_eq!(
        missing.body,
        validation(&[("identifier", "This field is required.")])
    );
    let blank = sb
        .send(
            Method::GET,
            "/pg/tokens/?identifier=",
            &headers("client-empty", V2),
            None,
        )
        .await;
    assert_eq!(
        (blank.status, blank.body),
        (
            400,
            validation(&[("identifier", "This field may not be blank.")])
        )
    );
}

#[tokio::test]
async fn a_card_is_deleted_only_with_its_own_identifier() {
    let sb = common::start().await;
    let h = headers("client-del", V1);
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &h,
            Some(card("owner", "4706131211212123", "visa", "debit_card")),
        )
        .await;
    let token = token_of(&a);
    let not_found = json!({"success": false, "error": {"code": "ERR_TOKEN_002",
        "message": "Card token not found or doesn't belong to identifier",
        "details": {"card_token": "Card token not found or doesn't belong to identifier."}}});

    let wrong = sb
        .send(
            Method::POST,
            "/pg/tokens/delete/",
            &h,
            Some(json!({"card_token": token, "identifier": "intruder"})),
        )
        .await;
    assert_eq!(wrong.status, 404);
    assert_eq!(wrong.body, not_found);

    // Blank fields are a validation error, as on save and list.
    let blank = sb
        .send(
            Method::POST,
            "/pg/tokens/delete/",
            &h,
            Some(json!({"card_token": "", "identifier": "  "})),
        )
        .await;
    assert_eq!(
        (blank.status, blank.body),
        (
            400,
            json!({"success": false, "error": {"type": "validation_error", "errors": [
                {"code": "invalid", "detail": "This field may not be blank.", "attr": "card_token"},
                {"code": "invalid", "detail": "This field may not be blank.", "attr": "identifier"}]}})
        )
    );

    let ok = sb
        .send(
            Method::POST,
            "/pg/tokens/delete/",
            &h,
            Some(json!({"card_token": token, "identifier": "owner"})),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.body,
        json!({"success": true, "message": "Card details deleted successfully", "data": {}})
    );
    let list = sb
        .send(Method::GET, "/pg/tokens/?identifier=owner", &h, None)
        .await;
    assert_eq!(list.status, 404);
    let twice = sb
        .send(
            Method::POST,
            "/pg/tokens/delete/",
            &h,
            Some(json!({"card_token": token, "identifier": "owner"})),
        )
        .await;
    assert_eq!(twice.status, 404);
    assert_eq!(twice.body, not_found);

    // The playground's DELETE form deletes the same way; a deleted card may be saved again.
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &h,
            Some(card("owner", "4706131211212123", "visa", "debit_card")),
        )
        .await;
    assert_eq!(a.status, 200);
    let token = token_of(&a);
    let ok = sb
        .send(
            Method::DELETE,
            "/pg/tokens/delete/",
            &h,
            Some(json!({"card_token": token, "identifier": "owner"})),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        ok.body,
        json!({"success": true, "message": "Card details deleted successfully", "data": {}})
    );

    let incomplete = sb
        .send(Method::POST, "/pg/tokens/delete/", &h, Some(json!({})))
        .await;
    assert_eq!(incomplete.status, 400);
    assert_eq!(
        incomplete.body,
        validation(&[
            ("card_token", "This field is required."),
            ("identifier", "This field is required.")
        ])
    );
}

#[tokio::test]
async fn clients_and_sub_merchants_never_see_each_others_cards() {
    let sb = common::start().await;
    let owner = headers("psp-client", V1);
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &owner,
            Some(card(
                "shared-id",
                "5176539438527826",
                "mastercard",
                "credit_card",
            )),
        )
        .await;
    let token = token_of(&a);
    let list = "/pg/tokens/?identifier=shared-id";
    assert_eq!(sb.send(Method::GET, list, &owner, None).await.status, 200);

    let other_client = headers("another-client", V1);
    let mut sub_merchant = headers("psp-client", V1);
    sub_merchant.push(("X-Merchant-ID", "sub-merchant-7"));
    for h in [&other_client, &sub_merchant] {
        let a = sb.send(Method::GET, list, h, None).await;
        assert_eq!(a.status, 404, "{h:?}");
        assert_eq!(a.body["error"]["code"], "ERR_TOKEN_001");
        let d = sb
            .send(
                Method::POST,
                "/pg/tokens/delete/",
                h,
                Some(json!({"card_token": token, "identifier": "shared-id"})),
            )
            .await;
        assert_eq!(d.status, 404, "{h:?}");
        // Their own save of the same card is no duplicate of the other tenant's.
        let s = sb
            .send(
                Method::POST,
                "/pg/tokens/",
                h,
                Some(card(
                    "shared-id",
                    "5176539438527826",
                    "mastercard",
                    "credit_card",
                )),
            )
            .await;
        assert_eq!(s.status, 200, "{h:?}");
    }
    // The sub-merchant's card stays its own.
    let mine = sb.send(Method::GET, list, &sub_merchant, None).await;
    assert_eq!(mine.body["data"].as_array().map(Vec::len), Some(1));
    let theirs = sb.send(Method::GET, list, &owner, None).await;
    assert_eq!(theirs.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(theirs.body["data"][0]["card_token"], json!(token));
}

#[tokio::test]
async fn parallel_saves_of_one_card_keep_exactly_one() {
    let sb = std::sync::Arc::new(common::start().await);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let sb = sb.clone();
        tasks.push(tokio::spawn(async move {
            sb.send(
                Method::POST,
                "/pg/tokens/",
                &headers("client-race", V1),
                Some(card("racer", "4062288312345026", "visa", "debit_card")),
            )
            .await
            .status
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    statuses.sort();
    assert_eq!(statuses, vec![200, 409, 409, 409, 409, 409, 409, 409]);
    let list = sb
        .send(
            Method::GET,
            "/pg/tokens/?identifier=racer",
            &headers("client-race", V1),
            None,
        )
        .await;
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(1));
}

/// Developers compare our answers with Eximpe's documented examples by eye, and log
/// processors sometimes read them as text: the fields go out in the documented order.
#[tokio::test]
async fn answers_keep_eximpes_field_order_on_the_wire() {
    let sb = common::start().await;
    let text = |version: &'static str, method: Method, path: &'static str, body: Option<Value>| {
        let mut req = sb.client.request(method, sb.url(path));
        for (k, v) in headers("client-wire", version) {
            req = req.header(k, v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move { req.send().await.expect("sent").text().await.expect("text") }
    };
    let mut body = card_v2("USER_WIRE", "4576238912771450", "VISA", "CREDIT");
    body["nickname"] = json!("Travel");
    let saved = text(V2, Method::POST, "/pg/tokens/", Some(body)).await;
    let answer: Value = serde_json::from_str(&saved).expect("json");
    let token = answer["data"]["card_token"].as_str().expect("token");
    let network_token = answer["data"]["network_token"].as_str().expect("nt");
    assert_eq!(
        saved,
        format!(
            r#"{{"success":true,"message":"Card details saved successfully","data":{{"card_label":"Travel","card_token":"{token}","issuer_token":null,"network_token":"{network_token}"}}}}"#
        )
    );

    let saved_v1 = text(
        V1,
        Method::POST,
        "/pg/tokens/",
        Some(card(
            "USER_WIRE",
            "5105105105105100",
            "mastercard",
            "debit_card",
        )),
    )
    .await;
    let v1_token = serde_json::from_str::<Value>(&saved_v1).expect("json")["data"]["card_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(
        saved_v1,
        format!(
            r#"{{"success":true,"message":"Card details saved successfully","data":{{"card_label":"MASTERCARD **** 5100","card_token":"{v1_token}"}}}}"#
        )
    );

    let listed = text(V1, Method::GET, "/pg/tokens/?identifier=USER_WIRE", None).await;
    assert_eq!(
        listed,
        format!(
            concat!(
                r#"{{"success":true,"message":"Card details fetched successfully","data":["#,
                r#"{{"card_token":"{t1}","identifier":"USER_WIRE","cardholder_name":"John Doe","nickname":"Travel","card_type":"credit_card","network":"visa","masked_pan":"XXXXXXXXXXXX1450","expiry_month":5,"expiry_year":2040}},"#,
                r#"{{"card_token":"{t2}","identifier":"USER_WIRE","cardholder_name":"John Doe","nickname":null,"card_type":"debit_card","network":"mastercard","masked_pan":"XXXXXXXXXXXX5100","expiry_month":5,"expiry_year":2040}}]}}"#
            ),
            t1 = token,
            t2 = v1_token
        )
    );
}
