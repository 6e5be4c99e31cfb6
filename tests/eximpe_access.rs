//! Eximpe access over HTTP: credentials (missing, registered, wrong), permissions, and the
//! API version a request is served in.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

fn visa_v1(identifier: &str) -> Value {
    json!({
        "identifier": identifier,
        "card_number": "4111111111111111",
        "nickname": "My VISA Card",
        "cardholder_name": "John Doe",
        "expiry_month": 12,
        "expiry_year": 2040,
        "network": "visa",
        "card_type": "credit_card",
    })
}

fn validation(errors: &[(&str, &str)]) -> Value {
    let errors: Vec<Value> = errors
        .iter()
        .map(|(attr, detail)| json!({"code": "invalid", "detail": detail, "attr": attr}))
        .collect();
    json!({"success": false, "error": {"type": "validation_error", "errors": errors}})
}

fn missing_credentials() -> Value {
    json!({"success": false, "error": {"code": "ERR_AUTH_000", "message": "Missing credentials",
        "details": {"authentication": "Missing credentials."}}})
}

fn invalid_credentials() -> Value {
    json!({"success": false, "error": {"code": "ERR_AUTH_000", "message": "Invalid credentials",
        "details": {"authentication": "Invalid credentials."}}})
}

async fn configure(sb: &common::TestSandbox, settings: Value) {
    let a = sb
        .send(
            Method::POST,
            "/__sandbox/eximpe/settings",
            &[],
            Some(settings),
        )
        .await;
    assert_eq!(a.status, 200, "{:#}", a.body);
}

#[tokio::test]
async fn each_missing_credential_header_is_a_401() {
    let sb = common::start().await;
    let cases: [&[(&str, &str)]; 4] = [
        &[("X-Client-Secret", "s"), ("X-API-Version", "1.0.0")],
        &[("X-Client-ID", "c"), ("X-API-Version", "1.0.0")],
        &[
            ("X-Client-ID", "c"),
            ("X-Client-Secret", " "),
            ("X-API-Version", "1.0.0"),
        ],
        &[],
    ];
    for h in cases {
        let a = sb
            .send(Method::POST, "/pg/tokens/", h, Some(visa_v1("u1")))
            .await;
        assert_eq!(a.status, 401, "{h:?}");
        assert_eq!(a.body, missing_credentials(), "{h:?}");
        let l = sb
            .send(Method::GET, "/pg/tokens/?identifier=u1", h, None)
            .await;
        assert_eq!(l.status, 401, "{h:?}");
        assert_eq!(l.body, missing_credentials(), "{h:?}");
    }
}

#[tokio::test]
async fn a_registered_client_must_send_its_own_secret() {
    let sb = common::start().await;
    configure(&sb, json!({"credentials": {"merchant-a": "s3cret-a"}})).await;
    let right = [
        ("X-Client-ID", "merchant-a"),
        ("X-Client-Secret", "s3cret-a"),
        ("X-API-Version", "1.0.0"),
    ];
    let wrong = [
        ("X-Client-ID", "merchant-a"),
        ("X-Client-Secret", "guess"),
        ("X-API-Version", "1.0.0"),
    ];
    let a = sb
        .send(Method::POST, "/pg/tokens/", &wrong, Some(visa_v1("u1")))
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body, invalid_credentials());
    let a = sb
        .send(Method::POST, "/pg/tokens/", &right, Some(visa_v1("u1")))
        .await;
    assert_eq!(a.status, 200, "{:#}", a.body);

    // Unregistered ids are still welcome until only registered ones are.
    let stranger = [
        ("X-Client-ID", "stranger"),
        ("X-Client-Secret", "x"),
        ("X-API-Version", "1.0.0"),
    ];
    assert_eq!(
        sb.send(Method::GET, "/pg/tokens/?identifier=u1", &stranger, None)
            .await
            .status,
        404
    );
    configure(&sb, json!({"only_registered": true})).await;
    let a = sb
        .send(Method::GET, "/pg/tokens/?identifier=u1", &stranger, None)
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body, invalid_credentials());
    assert_eq!(
        sb.send(Method::GET, "/pg/tokens/?identifier=u1", &right, None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn credentials_can_be_registered_through_the_admin_endpoint() {
    let sb = common::start().await;
    let a = sb
        .send(
            Method::POST,
            "/__sandbox/eximpe/credentials",
            &[],
            Some(json!({"client_id": "ci-client", "client_secret": "ci-secret"})),
        )
        .await;
    assert_eq!(a.status, 201);
    assert_eq!(
        a.body,
        json!({"client_id": "ci-client", "registered": true})
    );
    let listed = sb
        .send(Method::GET, "/__sandbox/eximpe/credentials", &[], None)
        .await;
    assert_eq!(
        listed.body,
        json!({"client_ids": ["ci-client"], "only_registered": false})
    );

    let wrong = [("X-Client-ID", "ci-client"), ("X-Client-Secret", "nope")];
    let a = sb
        .send(Method::GET, "/pg/tokens/?identifier=u1", &wrong, None)
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body, invalid_credentials());

    let a = sb
        .send(
            Method::DELETE,
            "/__sandbox/eximpe/credentials/ci-client",
            &[],
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.body,
        json!({"client_id": "ci-client", "registered": false})
    );
    assert_eq!(
        sb.send(Method::GET, "/pg/tokens/?identifier=u1", &wrong, None)
            .await
            .status,
        404
    );

    let bad = sb
        .send(
            Method::POST,
            "/__sandbox/eximpe/settings",
            &[],
            Some(json!({"credentials": {"x": 1}})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.body,
        json!({"error": {"status": 400, "message": "credentials.x must be a non-empty secret string (or null to unregister)"}})
    );
}

#[tokio::test]
async fn a_client_without_permission_gets_a_403() {
    let sb = common::start().await;
    configure(&sb, json!({"forbidden_clients": ["read-only-client"]})).await;
    let h = [
        ("X-Client-ID", "read-only-client"),
        ("X-Client-Secret", "s"),
        ("X-API-Version", "1.0.0"),
    ];
    let forbidden = json!({"success": false, "error": {"code": "ERR_AUTH_001",
        "message": "Insufficient permissions", "details": {"authorization": "Insufficient permissions."}}});
    let a = sb
        .send(Method::POST, "/pg/tokens/", &h, Some(visa_v1("u1")))
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(a.body, forbidden);
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/delete/",
            &h,
            Some(json!({"card_token": "abc", "identifier": "u1"})),
        )
        .await;
    assert_eq!(a.status, 403);
    assert_eq!(a.body, forbidden);
}

#[tokio::test]
async fn v1_takes_only_lower_case_and_v2_takes_both_with_consent() {
    let sb = common::start().await;
    let v1 = [
        ("X-Client-ID", "c-ver"),
        ("X-Client-Secret", "s"),
        ("X-API-Version", "1.0.0"),
    ];
    let v2 = [
        ("X-Client-ID", "c-ver"),
        ("X-Client-Secret", "s"),
        ("X-API-Version", "2.0.0"),
    ];

    let mut upper = visa_v1("u1");
    upper["network"] = json!("VISA");
    upper["card_type"] = json!("CREDIT");
    let a = sb
        .send(Method::POST, "/pg/tokens/", &v1, Some(upper.clone()))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        validation(&[
            ("network", "\"VISA\" is not a valid choice."),
            ("card_type", "\"CREDIT\" is not a valid choice."),
        ])
    );

    // v2 without consent, then with consent refused, then given.
    let a = sb
        .send(Method::POST, "/pg/tokens/", &v2, Some(upper.clone()))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        validation(&[("card_holder_consent", "This field is required.")])
    );
    upper["card_holder_consent"] = json!(false);
    let a = sb
        .send(Method::POST, "/pg/tokens/", &v2, Some(upper.clone()))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        validation(&[(
            "card_holder_consent",
            "Card holder consent is required to save the card."
        )])
    );
    upper["card_holder_consent"] = json!(true);
    let a = sb.send(Method::POST, "/pg/tokens/", &v2, Some(upper)).await;
    assert_eq!(a.status, 200, "{:#}", a.body);
    assert_eq!(a.body["data"]["card_label"], "My VISA Card");
    assert_eq!(a.body["data"]["issuer_token"], Value::Null);

    // Eximpe's playground sends v1's words under 2.0.0; v2 accepts them.
    let mut lower = visa_v1("u2");
    lower["card_holder_consent"] = json!(true);
    let a = sb.send(Method::POST, "/pg/tokens/", &v2, Some(lower)).await;
    assert_eq!(a.status, 200, "{:#}", a.body);

    // v1 has no consent field: one sent is ignored, and v1 answers without network_token.
    let mut v1_body = visa_v1("u3");
    v1_body["card_holder_consent"] = json!(false);
    let a = sb
        .send(Method::POST, "/pg/tokens/", &v1, Some(v1_body))
        .await;
    assert_eq!(a.status, 200, "{:#}", a.body);
    let token = a.body["data"]["card_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        a.body,
        json!({"success": true, "message": "Card details saved successfully",
               "data": {"card_label": "My VISA Card", "card_token": token}})
    );
}

#[tokio::test]
async fn version_3_from_eximpes_own_example_answers_as_v2() {
    let sb = common::start().await;
    let v3 = [
        ("X-Client-ID", "c-v3"),
        ("X-Client-Secret", "s"),
        ("X-API-Version", "3.0.0"),
    ];
    // v2's rules: consent is required...
    let a = sb
        .send(Method::POST, "/pg/tokens/", &v3, Some(visa_v1("u1")))
        .await;
    assert_eq!(
        a.body,
        validation(&[("card_holder_consent", "This field is required.")])
    );
    // ...and v2's answer, with the network token.
    let mut body = visa_v1("u1");
    body["card_holder_consent"] = json!(true);
    let a = sb.send(Method::POST, "/pg/tokens/", &v3, Some(body)).await;
    assert_eq!(a.status, 200, "{:#}", a.body);
    assert_eq!(a.body["data"]["card_label"], "My VISA Card");
    assert_eq!(a.body["data"]["issuer_token"], Value::Null);
    assert!(a.body["data"]["network_token"].is_string(), "{:#}", a.body);
}

#[tokio::test]
async fn a_card_number_typed_into_another_field_is_not_echoed() {
    let sb = common::start().await;
    let v1 = [
        ("X-Client-ID", "c-echo"),
        ("X-Client-Secret", "s"),
        ("X-API-Version", "1.0.0"),
    ];
    let mut body = visa_v1("u1");
    body["network"] = json!("4111111111111111");
    let a = sb.send(Method::POST, "/pg/tokens/", &v1, Some(body)).await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        validation(&[("network", "\"411111******1111\" is not a valid choice.")])
    );

    // Typed in groups, it is neither quoted back nor kept in the journal.
    let mut body = visa_v1("u2");
    body["network"] = json!("4111 1111 1111 1111");
    let a = sb.send(Method::POST, "/pg/tokens/", &v1, Some(body)).await;
    assert_eq!(
        (a.status, a.body),
        (
            400,
            validation(&[("network", "\"411111******1111\" is not a valid choice.")])
        )
    );
    let journal = sb.send(Method::GET, "/__sandbox/journal", &[], None).await;
    let text = journal.body.to_string();
    assert!(text.contains("411111******1111"), "{text}");
    assert!(!text.contains("4111 1111 1111 1111"), "{text}");
    assert!(!text.contains("4111111111111111"), "{text}");
}

#[tokio::test]
async fn an_unknown_api_version_is_refused_on_every_operation() {
    let sb = common::start().await;
    for version in ["4.0.0", "latest", "2.0"] {
        let h = [
            ("X-Client-ID", "c-unknown"),
            ("X-Client-Secret", "s"),
            ("X-API-Version", version),
        ];
        let expected = validation(&[(
            "X-API-Version",
            &format!("Unsupported API version \"{version}\". Use 1.x.x, 2.x.x or 3.x.x."),
        )]);
        // Only the version is reported: without it the body's rules are unknown.
        let a = sb
            .send(
                Method::POST,
                "/pg/tokens/",
                &h,
                Some(json!({"identifier": "u1"})),
            )
            .await;
        assert_eq!(a.status, 400, "{version}");
        assert_eq!(a.body, expected, "{version}");
        let a = sb
            .send(Method::GET, "/pg/tokens/?identifier=u1", &h, None)
            .await;
        assert_eq!(a.status, 400, "{version}");
        assert_eq!(a.body, expected, "{version}");
        let a = sb
            .send(
                Method::POST,
                "/pg/tokens/delete/",
                &h,
                Some(json!({"card_token": "t", "identifier": "u1"})),
            )
            .await;
        assert_eq!(a.status, 400, "{version}");
        assert_eq!(a.body, expected, "{version}");
    }
}

#[tokio::test]
async fn a_request_without_a_version_is_served_the_account_default() {
    let sb = common::start().await;
    let h = [("X-Client-ID", "c-default"), ("X-Client-Secret", "s")];
    // The default is 2.0.0, as in Eximpe's playground: consent is required.
    let a = sb
        .send(Method::POST, "/pg/tokens/", &h, Some(visa_v1("u1")))
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        validation(&[("card_holder_consent", "This field is required.")])
    );

    configure(&sb, json!({"default_api_version": "1.0.0"})).await;
    let a = sb
        .send(Method::POST, "/pg/tokens/", &h, Some(visa_v1("u1")))
        .await;
    assert_eq!(a.status, 200, "{:#}", a.body);
    let token = a.body["data"]["card_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        a.body,
        json!({"success": true, "message": "Card details saved successfully",
               "data": {"card_label": "My VISA Card", "card_token": token}})
    );
    let settings = sb
        .send(Method::GET, "/__sandbox/eximpe/settings", &[], None)
        .await;
    assert_eq!(
        settings.body,
        json!({"credentials": {}, "only_registered": false, "forbidden_clients": [],
               "default_api_version": "1.0.0"})
    );
    let refused = sb
        .send(
            Method::POST,
            "/__sandbox/eximpe/settings",
            &[],
            Some(json!({"default_api_version": "4.0.0"})),
        )
        .await;
    assert_eq!(refused.status, 400);
}
