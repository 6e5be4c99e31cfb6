//! Every shipped scenario answers as documented: its `example` request, sent with
//! `X-Sandbox-Scenario: <name>`, gets exactly the status, headers and body the file
//! documents — and the same request without the header does not.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

fn scenario(text: &str) -> Value {
    serde_yaml_ng::from_str(text).expect("shipped scenario parses")
}

fn headers_of(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn send_example(
    sb: &common::TestSandbox,
    request: &Value,
    scenario: Option<&str>,
) -> common::Answer {
    let mut headers = headers_of(&request["headers"]);
    if let Some(name) = scenario {
        headers.push(("X-Sandbox-Scenario".into(), name.into()));
    }
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let method = Method::from_bytes(request["method"].as_str().unwrap().as_bytes()).unwrap();
    let body = request.get("body").cloned().filter(|b| !b.is_null());
    sb.send(method, request["path"].as_str().unwrap(), &refs, body)
        .await
}

/// Scenarios whose story needs more than one request, or whose answer is a fault: each has
/// its own test (tests/scenario_activation.rs, tests/scenario_faults.rs).
const COVERED_ELSEWHERE: &[&str] = &[
    "square-card-token-used",
    "mp-save-card-connection-reset",
    "mp-save-card-empty-response",
    "mp-save-card-slow",
    "square-create-customer-card-close-after-headers",
    "eximpe-save-card-slow-body",
];

/// Stories whose answer the provider also gives on its own (the scenario pins it down and
/// documents it; the emulation produces it without any scenario).
const BUILT_IN: &[&str] = &["eximpe-rupay-reference-missing"];

#[tokio::test]
async fn every_shipped_scenario_answers_its_documented_example() {
    let sb = common::start().await;
    let mut checked = 0;
    for (file, text) in paysandbox::scenario::embedded() {
        // Each file's story starts from an empty sandbox, as a CI test would.
        sb.sandbox.reset();
        let doc = scenario(text);
        let name = doc["name"].as_str().unwrap();
        assert_eq!(format!("{name}.yaml"), *file);
        let example = &doc["example"];
        assert!(
            example.is_object(),
            "{file}: every shipped scenario documents an example"
        );
        let Some(expected) = example.get("response") else {
            assert!(
                COVERED_ELSEWHERE.contains(&name),
                "{file}: no example response and no own test"
            );
            continue;
        };
        let got = send_example(&sb, &example["request"], Some(name)).await;
        assert_eq!(
            got.status as u64,
            expected["status"].as_u64().unwrap(),
            "{file}: status ({:#})",
            got.body
        );
        assert_eq!(got.body, expected["body"], "{file}: body");
        for (k, v) in headers_of(&expected["headers"]) {
            assert_eq!(got.header(&k), Some(v.as_str()), "{file}: header {k}");
        }
        assert_eq!(
            got.header("x-sandbox-scenario-rule"),
            Some(format!("{name}#0").as_str())
        );
        // Header activation is for that one request: without it, the same request is served
        // normally.
        let plain = send_example(&sb, &example["request"], None).await;
        // Without the header no rule fires (a firing rule always names itself); the provider
        // answers by itself — for stories of its own behaviour, exactly as the scenario does.
        assert_eq!(
            plain.header("x-sandbox-scenario-rule"),
            None,
            "{file}: no rule without the header"
        );
        if BUILT_IN.contains(&name) {
            assert_eq!(
                (plain.status as u64, &plain.body),
                (
                    expected["status"].as_u64().unwrap_or_default(),
                    &expected["body"]
                ),
                "{file}: the provider's own answer"
            );
        }
        checked += 1;
    }
    assert!(checked >= 85, "only {checked} examples checked");
}

#[test]
fn every_file_of_the_scenarios_folder_is_compiled_in() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = paysandbox::scenario::embedded()
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(on_disk, embedded, "run python3 scenarios/generate.py");
}

const MP: (&str, &str) = (
    "Authorization",
    "Bearer TEST-1234567890-112233-abcdef-448870796",
);

#[tokio::test]
async fn mercado_pago_card_limit_129_in_one_header() {
    let sb = common::start().await;
    let got = sb
        .send(
            Method::POST,
            "/v1/customers/1234567890-AbCdEfGhIjKlMn/cards",
            &[MP, ("X-Sandbox-Scenario", "mp-save-card-129")],
            Some(json!({"token": "9b2d63e00d66a8c721607214ceda233a"})),
        )
        .await;
    assert_eq!(got.status, 400);
    assert_eq!(
        got.body,
        json!({
            "message": "the customer has reached the maximum allowed number of cards.",
            "error": "bad_request",
            "status": 400,
            "cause": [{"code": "129", "description": "the customer has reached the maximum allowed number of cards."}]
        })
    );
}

#[tokio::test]
async fn mercado_pago_rate_limit_carries_retry_after() {
    let sb = common::start().await;
    let got = sb
        .send(
            Method::POST,
            "/v1/customers/1234567890-AbCdEfGhIjKlMn/payment-profiles/e0bd4dc8b1d24d5cb7f9c2f44d8cd8a1/payment-methods",
            &[MP, ("X-Idempotency-Key", "k-1"), ("X-Sandbox-Scenario", "mp-add-payment-method-too-many-requests")],
            Some(json!({"id": "visa", "type": "credit_card", "token": "9b2d63e00d66a8c721607214ceda233a"})),
        )
        .await;
    assert_eq!(got.status, 429);
    assert_eq!(got.header("retry-after"), Some("1"));
    assert_eq!(
        got.body,
        json!({"message": "Rate limit exceeded. Retry after the indicated number of seconds.", "error": "too_many_requests", "status": 429, "cause": []})
    );
}

#[tokio::test]
async fn square_card_errors_in_square_envelope_and_status() {
    let sb = common::start().await;
    let cases = [
        (
            "square-create-customer-card-card-token-used",
            400,
            json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "CARD_TOKEN_USED", "detail": "Card nonce already used; please request new nonce."}]}),
        ),
        (
            "square-create-customer-card-verify-cvv-failure",
            402,
            json!({"errors": [{"category": "PAYMENT_METHOD_ERROR", "code": "VERIFY_CVV_FAILURE"}]}),
        ),
        (
            "square-create-customer-card-card-processing-not-enabled",
            403,
            json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "CARD_PROCESSING_NOT_ENABLED"}]}),
        ),
    ];
    for (name, status, body) in cases {
        let got = sb
            .send(
                Method::POST,
                "/v2/customers/JDKYHBWT1D4F8MFH63DBMEN8Y4/cards",
                &[
                    ("Authorization", "Bearer EAAA-qa"),
                    ("Square-Version", "2025-08-20"),
                    ("X-Sandbox-Scenario", name),
                ],
                Some(json!({"card_nonce": "cnon:card-nonce-ok"})),
            )
            .await;
        assert_eq!((got.status, &got.body), (status, &body), "{name}");
        assert_eq!(got.header("square-version"), Some("2025-08-20"));
    }
}

#[tokio::test]
async fn eximpe_rupay_without_reference_and_duplicate_card() {
    let sb = common::start().await;
    let headers = [
        ("X-Client-ID", "client-a"),
        ("X-Client-Secret", "secret-a"),
        ("X-API-Version", "1.0.0"),
    ];
    let rupay = json!({"identifier": "USER_PS_001", "card_number": "6521510000000005", "cardholder_name": "Priya Sharma",
        "expiry_month": 5, "expiry_year": 2030, "network": "rupay", "card_type": "debit_card", "nickname": "Rupay"});
    let mut h = headers.to_vec();
    h.push(("X-Sandbox-Scenario", "eximpe-rupay-reference-missing"));
    let got = sb
        .send(Method::POST, "/pg/tokens/", &h, Some(rupay.clone()))
        .await;
    assert_eq!(got.status, 400);
    assert_eq!(
        got.body,
        json!({"success": false, "error": {"type": "validation_error", "errors": [
            {"code": "invalid", "detail": "Authorization reference number is required for Rupay cards.", "attr": "authorization_reference_number"}]}})
    );
    // The same card with its reference number is not matched by the scenario.
    let mut with_ref = rupay.clone();
    with_ref["authorization_reference_number"] = json!("ARN123456");
    let got = sb
        .send(Method::POST, "/pg/tokens/", &h, Some(with_ref))
        .await;
    assert_eq!(got.status, 200, "{:#}", got.body);
    assert_eq!(got.header("x-sandbox-scenario-rule"), None);

    let mut h = headers.to_vec();
    h.push(("X-Sandbox-Scenario", "eximpe-save-card-409"));
    let got = sb.send(Method::POST, "/pg/tokens/", &h, Some(rupay)).await;
    assert_eq!(got.status, 409);
    assert_eq!(
        got.body,
        json!({"success": false, "error": {"code": "ERR_TOKEN_003", "message": "Card already exists or duplicate identifier",
            "details": {"card_number": "Card already exists or duplicate identifier."}}})
    );
}
