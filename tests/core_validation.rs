//! The spec-driven core, as a user meets it: every provider answers bad requests in its own
//! envelope, exactly as its documentation shows.

mod common;

use common::start;
use reqwest::Method;
use serde_json::json;

const MP: (&str, &str) = (
    "Authorization",
    "Bearer TEST-1234567890-112233-abcdef-448870796",
);
const SQ: (&str, &str) = ("Authorization", "Bearer EAAAl-sandbox-token-for-tests");
const EX_ID: (&str, &str) = ("X-Client-ID", "client-a");
const EX_SECRET: (&str, &str) = ("X-Client-Secret", "secret-a");

// ---- Mercado Pago ------------------------------------------------------------------------

#[tokio::test]
async fn mercadopago_save_card_without_a_token_is_cause_119() {
    let sb = start().await;
    let a = sb
        .send(
            Method::POST,
            "/v1/customers/448870796-7ZjwhKGxILixxN/cards",
            &[MP],
            Some(json!({})),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        json!({"message": "the card is required.", "error": "bad_request", "status": 400,
               "cause": [{"code": "119", "description": "the card is required."}]})
    );
}

#[tokio::test]
async fn mercadopago_a_body_that_is_not_an_object_is_error_118() {
    let sb = start().await;
    let expected = json!({"message": "the body must be a Json object", "error": "bad_request", "status": 400,
                          "cause": [{"code": "118", "description": "the body must be a Json object"}]});
    for body in [
        &b"[1,2]"[..],
        b"\"token\"",
        b"{\"token\": ",
        b"\xff\xfe\x00garbage",
    ] {
        let a = sb
            .send_raw(
                Method::POST,
                "/v1/customers/1-ABC/cards",
                &[MP, ("Content-Type", "application/json")],
                body.to_vec(),
            )
            .await;
        assert_eq!(a.status, 400, "body {body:?}");
        assert_eq!(a.body, expected, "body {body:?}");
    }
}

#[tokio::test]
async fn mercadopago_a_customer_email_of_the_wrong_type_is_cause_106() {
    let sb = start().await;
    let a = sb
        .send(
            Method::POST,
            "/v1/customers",
            &[MP],
            Some(json!({"email": 42})),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        json!({"message": "the email format is invalid.", "error": "bad_request", "status": 400,
               "cause": [{"code": "106", "description": "the email format is invalid."}]})
    );
}

#[tokio::test]
async fn mercadopago_without_credentials_answers_401_in_its_shape() {
    let sb = start().await;
    let expected = json!({"message": "Must provide your access_token to proceed", "error": "unauthorized", "status": 401,
                          "cause": [{"code": 5, "description": "Must provide your access_token to proceed", "data": null}]});
    // No header at all, the Python SDK's `Bearer ` and the Node SDK's `Bearer`.
    for headers in [
        vec![],
        vec![("Authorization", "Bearer ")],
        vec![("Authorization", "Bearer")],
    ] {
        let a = sb
            .send(Method::GET, "/v1/customers/search", &headers, None)
            .await;
        assert_eq!((a.status, &a.body), (401, &expected), "headers {headers:?}");
    }
    let a = sb
        .send(
            Method::GET,
            "/v1/customers/search",
            &[("Authorization", "Bearer sk_not_mp")],
            None,
        )
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.body,
        json!({"message": "invalid access token", "error": "unauthorized", "status": 401,
               "cause": [{"code": 2, "description": "invalid access token", "data": null}]})
    );
}

#[tokio::test]
async fn mercadopago_add_payment_method_without_idempotency_key_is_401_header_missing() {
    let sb = start().await;
    let a = sb
        .send(
            Method::POST,
            "/v1/customers/1-ABC/payment-profiles/7036b192b541454fa9b9990660dfa1b5/payment-methods",
            &[MP],
            Some(json!({"id": "visa", "type": "credit_card", "token": "9b2d63e00d66a8c721607214ceda233a"})),
        )
        .await;
    assert_eq!(a.status, 401);
    assert_eq!(
        a.body,
        json!({"message": "Request failed because a required header is missing. Make sure that all necessary authentication headers are being sent.",
               "error": "header_missing", "status": 401, "cause": []})
    );
}

// ---- Square ------------------------------------------------------------------------------

#[tokio::test]
async fn square_create_customer_card_without_a_nonce_is_missing_required_parameter() {
    let sb = start().await;
    let a = sb
        .send(
            Method::POST,
            "/v2/customers/JDKYHBWT1D4F8MFH63DBMEN8Y4/cards",
            &[SQ],
            Some(json!({"cardholder_name": "Amelia"})),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "MISSING_REQUIRED_PARAMETER",
                           "detail": "Field must be set", "field": "card_nonce"}]})
    );
}

#[tokio::test]
async fn square_wrong_types_and_lengths_are_reported_field_by_field() {
    let sb = start().await;
    let a = sb
        .send(
            Method::POST,
            "/v2/cards",
            &[SQ],
            Some(json!({"idempotency_key": 5, "source_id": "cnon:card-nonce-ok", "card": {"customer_id": "JDKYHBWT1D4F8MFH63DBMEN8Y4"}})),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "EXPECTED_STRING",
                           "detail": "Expected a string value.", "field": "idempotency_key"}]})
    );
    let long_key = "k".repeat(46);
    let a = sb
        .send(
            Method::POST,
            "/v2/cards",
            &[SQ],
            Some(json!({"idempotency_key": long_key, "source_id": "cnon:card-nonce-ok", "card": {"customer_id": "JDKYHBWT1D4F8MFH63DBMEN8Y4"}})),
        )
        .await;
    assert_eq!(
        a.body,
        json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "VALUE_TOO_LONG",
                           "detail": "Field must not be greater than 45 length", "field": "idempotency_key"}]})
    );
}

#[tokio::test]
async fn square_a_bad_enum_in_the_query_is_invalid_enum_value() {
    let sb = start().await;
    let a = sb
        .send(Method::GET, "/v2/cards?sort_order=SIDEWAYS", &[SQ], None)
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_ENUM_VALUE",
                           "detail": "`SIDEWAYS` is not a valid enum value for `sort_order`.", "field": "sort_order"}]})
    );
}

#[tokio::test]
async fn square_malformed_json_is_expected_json_body() {
    let sb = start().await;
    let a = sb
        .send_raw(
            Method::POST,
            "/v2/customers",
            &[SQ],
            b"{\"given_name\": ".to_vec(),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "EXPECTED_JSON_BODY",
                           "detail": "The request body is not valid JSON (line 1, character 15)."}]})
    );
}

#[tokio::test]
async fn square_a_malformed_version_header_is_invalid_square_version_format() {
    let sb = start().await;
    let a = sb
        .send(
            Method::GET,
            "/v2/cards",
            &[SQ, ("Square-Version", "last-tuesday")],
            None,
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.body,
        json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_SQUARE_VERSION_FORMAT",
                           "detail": "Invalid Square-Version format: `last-tuesday`. Expected YYYY-MM-DD."}]})
    );
    // Shaped like a date but no day of the calendar: refused too, not served as the default.
    for not_a_day in ["2026-13-45", "2025-02-30"] {
        let a = sb
            .send(
                Method::GET,
                "/v2/cards",
                &[SQ, ("Square-Version", not_a_day)],
                None,
            )
            .await;
        assert_eq!(
            (a.status, a.body),
            (
                400,
                json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "INVALID_SQUARE_VERSION_FORMAT",
                                   "detail": format!("Invalid Square-Version format: `{not_a_day}`. Expected YYYY-MM-DD.")}]})
            )
        );
    }
    let leap = sb
        .send(
            Method::GET,
            "/v2/cards",
            &[SQ, ("Square-Version", "2024-02-29")],
            None,
        )
        .await;
    assert_eq!(leap.status, 200);
    assert_eq!(leap.header("square-version"), Some("2024-02-29"));
}

#[tokio::test]
async fn square_without_credentials_answers_401_unauthorized() {
    let sb = start().await;
    let a = sb.send(Method::GET, "/v2/customers", &[], None).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body["errors"][0]["code"], "UNAUTHORIZED");
    assert_eq!(a.body["errors"][0]["category"], "AUTHENTICATION_ERROR");
    assert!(
        a.body["errors"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Your request did not include an `Authorization` http header")
    );
    let a = sb
        .send(
            Method::GET,
            "/v2/customers",
            &[("Authorization", "Token abc")],
            None,
        )
        .await;
    assert_eq!(a.status, 401);
    assert!(
        a.body["errors"][0]["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("The `Authorization` http header of your request was malformed.")
    );
}

// ---- Eximpe ------------------------------------------------------------------------------

#[tokio::test]
async fn eximpe_reports_every_field_error_at_once() {
    let sb = start().await;
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &[EX_ID, EX_SECRET, ("X-API-Version", "1.0.0")],
            Some(json!({"identifier": "USER_PS_001", "card_number": "55069-0048", "expiry_month": 13, "expiry_year": 2030,
                        "network": "visa", "card_type": "credit_card"})),
        )
        .await;
    assert_eq!(a.status, 400);
    let errors = a.body["error"]["errors"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(a.body["success"], false);
    assert_eq!(a.body["error"]["type"], "validation_error");
    for expected in [
        json!({"code": "invalid", "detail": "This field is required.", "attr": "cardholder_name"}),
        json!({"code": "invalid", "detail": "Invalid card number format.", "attr": "card_number"}),
        json!({"code": "invalid", "detail": "Ensure this value is less than or equal to 12.", "attr": "expiry_month"}),
    ] {
        assert!(
            errors.contains(&expected),
            "missing {expected} in {errors:?}"
        );
    }
}

#[tokio::test]
async fn eximpe_missing_credentials_is_err_auth_000() {
    let sb = start().await;
    let expected = json!({"success": false, "error": {"code": "ERR_AUTH_000", "message": "Missing credentials",
                                                       "details": {"authentication": "Missing credentials."}}});
    for headers in [vec![], vec![EX_ID], vec![EX_SECRET]] {
        let a = sb
            .send(Method::GET, "/pg/tokens/?identifier=USER_1", &headers, None)
            .await;
        assert_eq!((a.status, &a.body), (401, &expected), "headers {headers:?}");
    }
}

// ---- Routing, for every provider ---------------------------------------------------------

#[tokio::test]
async fn head_answers_what_get_would_without_the_body() {
    let sb = start().await;
    let created = sb
        .send(
            Method::POST,
            "/v2/customers",
            &[SQ],
            Some(json!({"given_name": "Ada"})),
        )
        .await;
    assert_eq!(created.status, 200);
    let get = sb.send(Method::GET, "/v2/customers", &[SQ], None).await;
    let head = sb.send(Method::HEAD, "/v2/customers", &[SQ], None).await;
    assert_eq!((head.status, &head.body), (200, &serde_json::Value::Null));
    assert_eq!(
        head.header("content-length"),
        get.header("content-length").filter(|l| *l != "0")
    );
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert_eq!(head.header("square-version"), Some("2025-08-20"));

    // A probe: no scenario answers it, so it uses up no rule.
    let loaded = sb
        .send(
            Method::POST,
            "/__sandbox/scenarios",
            &[],
            Some(
                json!({"name": "head-probe", "provider": "square", "rules": [
                {"when": {"operation": "ListCustomers"}, "respond": {"status": 503}, "times": 1}]}),
            ),
        )
        .await;
    assert_eq!(loaded.status, 201, "{}", loaded.body);
    let probe = [SQ, ("X-Sandbox-Scenario", "head-probe")];
    let head = sb.send(Method::HEAD, "/v2/customers", &probe, None).await;
    assert_eq!(head.status, 200);
    let get = sb.send(Method::GET, "/v2/customers", &probe, None).await;
    assert_eq!(get.status, 503);
    // A misspelt name is still refused, as for GET.
    let typo = [SQ, ("X-Sandbox-Scenario", "head-prob")];
    let head = sb.send(Method::HEAD, "/v2/customers", &typo, None).await;
    assert_eq!(head.status, 400);

    // HEAD is refused where GET is, and a 405 on a GET path lists it.
    let post_only = sb
        .send(Method::HEAD, "/v2/customers/search", &[SQ], None)
        .await;
    assert_eq!(
        (post_only.status, post_only.header("allow")),
        (405, Some("POST"))
    );
    let patch = sb.send(Method::PATCH, "/v2/customers", &[SQ], None).await;
    assert_eq!(
        (patch.status, patch.header("allow")),
        (405, Some("GET, POST, HEAD"))
    );

    // The admin API's reads too, and its 405s name the method sent.
    for path in [
        "/__sandbox/health",
        "/__sandbox/journal/count",
        "/__sandbox/scenarios",
    ] {
        let head = sb.send(Method::HEAD, path, &[], None).await;
        assert_eq!(
            (head.status, &head.body),
            (200, &serde_json::Value::Null),
            "{path}"
        );
    }
    let reset = sb.send(Method::HEAD, "/__sandbox/reset", &[], None).await;
    assert_eq!((reset.status, reset.header("allow")), (405, Some("POST")));
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_answer_in_the_owning_providers_envelope() {
    let sb = start().await;
    let a = sb.send(Method::GET, "/v1/nothing/here", &[MP], None).await;
    assert_eq!(
        (a.status, a.body),
        (
            404,
            json!({"message": "resource not found", "error": "not_found", "status": 404, "cause": []})
        )
    );
    let a = sb.send(Method::PATCH, "/v1/customers", &[MP], None).await;
    assert_eq!(a.header("allow"), Some("POST"));
    assert_eq!(
        (a.status, a.body),
        (
            405,
            json!({"message": "Method not allowed", "error": "method_not_allowed", "status": 405, "cause": []})
        )
    );

    let a = sb.send(Method::GET, "/v2/nothing", &[SQ], None).await;
    assert_eq!(
        (a.status, a.body),
        (
            404,
            json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "NOT_FOUND",
                                  "detail": "API endpoint for URL path `/v2/nothing` and HTTP method `GET` is not found."}]})
        )
    );
    let a = sb.send(Method::PATCH, "/v2/cards", &[SQ], None).await;
    assert_eq!(
        (a.status, a.body),
        (
            405,
            json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "METHOD_NOT_ALLOWED",
                                  "detail": "HTTP method `PATCH` is not allowed for URL path `/v2/cards`."}]})
        )
    );

    let a = sb
        .send(Method::GET, "/pg/unknown/", &[EX_ID, EX_SECRET], None)
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            404,
            json!({"success": false, "error": {"code": "ERR_REQUEST_000", "message": "Not found",
                                                  "details": {"path": "The requested resource was not found."}}})
        )
    );
    let a = sb
        .send(Method::PUT, "/pg/tokens/", &[EX_ID, EX_SECRET], None)
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            405,
            json!({"success": false, "error": {"code": "ERR_REQUEST_001", "message": "Method not allowed",
                                                  "details": {"method": "Method \"PUT\" not allowed."}}})
        )
    );

    let a = sb.send(Method::GET, "/nobody/serves/this", &[], None).await;
    assert_eq!(
        (a.status, a.body),
        (
            404,
            json!({"error": {"status": 404, "message": "no provider serves this path"}})
        )
    );
}

#[tokio::test]
async fn oversized_bodies_are_refused_in_the_providers_envelope() {
    let sb = common::start_with(paysandbox::Sandbox::builder().body_limit(1024)).await;
    let big = format!("{{\"token\": \"{}\"}}", "a".repeat(4096));
    let a = sb
        .send_raw(
            Method::POST,
            "/v1/customers/1-A/cards",
            &[MP],
            big.clone().into_bytes(),
        )
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            413,
            json!({"message": "the request body is too large.", "error": "request_entity_too_large", "status": 413, "cause": []})
        )
    );
    let a = sb
        .send_raw(
            Method::POST,
            "/v2/customers",
            &[SQ],
            big.clone().into_bytes(),
        )
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            413,
            json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "REQUEST_ENTITY_TOO_LARGE",
                                  "detail": "The request body exceeds the maximum size of 1024 bytes."}]})
        )
    );
    let a = sb
        .send_raw(
            Method::POST,
            "/pg/tokens/",
            &[EX_ID, EX_SECRET],
            big.into_bytes(),
        )
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            413,
            json!({"success": false, "error": {"code": "ERR_REQUEST_002", "message": "Request body too large",
                                                  "details": {"body": "Request body exceeds the maximum allowed size."}}})
        )
    );
}

#[tokio::test]
async fn eximpe_says_one_thing_per_field_as_django_rest_framework_does() {
    let sb = start().await;
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &[EX_ID, EX_SECRET, ("X-API-Version", "1.0.0")],
            Some(
                json!({"identifier": "USER_PS_002", "card_number": "4111111111111111",
                        "cardholder_name": "Priya Sharma", "expiry_month": 5, "expiry_year": 2040,
                        "network": 1, "card_type": null}),
            ),
        )
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            400,
            json!({"success": false, "error": {"type": "validation_error", "errors": [
                {"code": "invalid", "detail": "\"1\" is not a valid choice.", "attr": "network"},
                {"code": "invalid", "detail": "This field may not be null.", "attr": "card_type"}]}})
        )
    );
}
