//! Activating scenarios: per request (header), per tenant (admin API), for everyone
//! (`--scenario`), loading one at run time; `times`/`after` counted exactly under
//! concurrency; delays measured.

mod common;

use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const CUSTOMER: &str = "1234567890-AbCdEfGhIjKlMn";
const CARD_PATH: &str = "/v1/customers/1234567890-AbCdEfGhIjKlMn/cards";
const A: &str = "Bearer TEST-1111111111-tenant-a";
const B: &str = "Bearer TEST-2222222222-tenant-b";

/// Gives the tenant behind `auth` the customer the saves go to (seeded over the admin API).
async fn setup(sb: &common::TestSandbox, auth: &str) {
    let seeded = sb
        .send(
            Method::POST,
            "/__sandbox/state",
            &[],
            Some(json!({"provider": "mercadopago", "tenant": auth.trim_start_matches("Bearer "),
                        "state": {"customers": [{"id": CUSTOMER, "email": "test_payer_1@testuser.com"}]}})),
        )
        .await;
    assert_eq!(seeded.status, 200, "{}", seeded.body);
}

/// A fresh single-use card token of the tenant behind `auth`.
async fn fresh_token(sb: &common::TestSandbox, auth: &str) -> String {
    let token = sb
        .send(
            Method::POST,
            "/v1/card_tokens",
            &[("Authorization", auth)],
            Some(json!({"card_number": "4235647728025682", "expiration_month": 11, "expiration_year": 2030,
                        "security_code": "123", "cardholder": {"name": "APRO", "identification": {"type": "CPF", "number": "12345678909"}}})),
        )
        .await;
    assert_eq!(token.status, 201, "{}", token.body);
    token.body["id"].as_str().unwrap_or_default().to_string()
}

/// Saves a card with a fresh token; without a firing rule the provider answers 201.
async fn save_card(sb: &common::TestSandbox, auth: &str, scenario: Option<&str>) -> common::Answer {
    let token = fresh_token(sb, auth).await;
    let mut h = vec![("Authorization", auth)];
    if let Some(s) = scenario {
        h.push(("X-Sandbox-Scenario", s));
    }
    sb.send(Method::POST, CARD_PATH, &h, Some(json!({"token": token})))
        .await
}

/// The provider's own answer for a save to a customer that does not exist.
fn customer_not_found() -> Value {
    json!({"message": "customer not found", "error": "not_found", "status": 404, "cause": [[]]})
}

async fn load(sb: &common::TestSandbox, yaml: &str) -> common::Answer {
    let response = sb
        .client
        .post(sb.url("/__sandbox/scenarios"))
        .header("Content-Type", "application/yaml")
        .body(yaml.to_string())
        .send()
        .await
        .unwrap();
    common::Answer::read(response).await
}

#[tokio::test]
async fn a_header_scenario_applies_to_that_request_only() {
    let sb = common::start().await;
    setup(&sb, A).await;
    assert_eq!(
        save_card(&sb, A, Some("mp-save-card-129")).await.status,
        400
    );
    let plain = save_card(&sb, A, None).await;
    assert_eq!(plain.status, 201);
    assert_eq!(plain.header("x-sandbox-scenario-rule"), None);
    // Several names, first firing rule wins; names of another provider are ignored.
    let got = save_card(
        &sb,
        A,
        Some("square-create-customer-card-card-expired, mp-save-card-451,mp-save-card-129"),
    )
    .await;
    assert_eq!(got.status, 451);
    assert_eq!(
        got.header("x-sandbox-scenario-rule"),
        Some("mp-save-card-451#0")
    );
}

#[tokio::test]
async fn an_unknown_scenario_in_the_header_is_refused_loudly_in_the_providers_envelope() {
    let sb = common::start().await;
    let got = save_card(&sb, A, Some("mp-save-card-1299")).await;
    // The SDK under test reads it as a provider error and shows the message.
    assert_eq!(
        (got.status, got.body),
        (
            400,
            json!({"message": "X-Sandbox-Scenario: unknown scenario \"mp-save-card-1299\" (similar: mp-save-card-129, mp-save-card-109, mp-save-card-119, mp-save-card-120, mp-save-card-121)",
                "error": "bad_request", "status": 400, "cause": []})
        )
    );

    let square = sb
        .send(
            Method::GET,
            "/v2/customers",
            &[
                ("Authorization", "Bearer EAAA-scenario-typo"),
                ("X-Sandbox-Scenario", "nope"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (square.status, &square.body),
        (
            400,
            &json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "BAD_REQUEST",
                "detail": "X-Sandbox-Scenario: unknown scenario \"nope\" (GET /__sandbox/scenarios lists them)"}]})
        )
    );
    assert_eq!(square.header("square-version"), Some("2025-08-20"));

    let eximpe = sb
        .send(
            Method::GET,
            "/pg/tokens/?identifier=U1",
            &[
                ("X-Client-ID", "client-typo"),
                ("X-Client-Secret", "secret"),
                ("X-Sandbox-Scenario", "nope"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (eximpe.status, eximpe.body),
        (
            400,
            json!({"success": false, "error": {"type": "validation_error", "errors": [{"code": "invalid",
                "detail": "X-Sandbox-Scenario: unknown scenario \"nope\" (GET /__sandbox/scenarios lists them)",
                "attr": "non_field_errors"}]}})
        )
    );
}

#[tokio::test]
async fn a_card_number_sent_as_a_scenario_name_is_not_echoed() {
    let sb = common::start().await;
    for name in ["4509953566233704", "4509\t9535\t6623\t3704"] {
        let got = save_card(&sb, A, Some(name)).await;
        assert_eq!(
            (got.status, got.body),
            (
                400,
                json!({"message": "X-Sandbox-Scenario: unknown scenario \"450995******3704\" (GET /__sandbox/scenarios lists them)",
                    "error": "bad_request", "status": 400, "cause": []})
            ),
            "{name:?}"
        );
    }
}

#[tokio::test]
async fn the_admin_api_activates_a_scenario_for_one_tenant() {
    let sb = common::start().await;
    setup(&sb, A).await;
    setup(&sb, B).await;
    let activate = sb
        .send(
            Method::POST,
            "/__sandbox/scenarios/mp-save-card-129/activate",
            &[],
            Some(json!({"tenant": "TEST-1111111111-tenant-a"})),
        )
        .await;
    assert_eq!(activate.status, 200);
    assert_eq!(
        activate.body,
        json!({"scenario": "mp-save-card-129", "tenant": "TEST-1111111111-tenant-a", "activated": true})
    );
    assert_eq!(save_card(&sb, A, None).await.status, 400);
    assert_eq!(save_card(&sb, B, None).await.status, 201);

    let listed = sb
        .send(Method::GET, "/__sandbox/scenarios", &[], None)
        .await;
    let entry = listed.body["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "mp-save-card-129")
        .unwrap()
        .clone();
    assert_eq!(
        entry,
        json!({"name": "mp-save-card-129", "provider": "mercadopago",
            "description": "Save card answers 400 with cause 129: the customer has reached the maximum allowed number of cards.",
            "source": "scenarios/mp-save-card-129.yaml", "rules": 1,
            "active": {"global": false, "tenants": ["TEST-1111111111-tenant-a"]}})
    );

    let off = sb
        .send(
            Method::POST,
            "/__sandbox/scenarios/mp-save-card-129/deactivate",
            &[],
            Some(json!({"tenant": "TEST-1111111111-tenant-a"})),
        )
        .await;
    assert_eq!(
        off.body,
        json!({"scenario": "mp-save-card-129", "tenant": "TEST-1111111111-tenant-a", "deactivated": true})
    );
    assert_eq!(save_card(&sb, A, None).await.status, 201);

    let missing = sb
        .send(
            Method::POST,
            "/__sandbox/scenarios/nope/activate",
            &[],
            None,
        )
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        json!({"error": {"status": 404, "message": "unknown scenario \"nope\""}})
    );
}

#[tokio::test]
async fn a_start_up_scenario_applies_to_every_tenant() {
    let sb = common::start_with(paysandbox::Sandbox::builder().scenario("mp-save-card-451")).await;
    assert_eq!(save_card(&sb, A, None).await.status, 451);
    assert_eq!(save_card(&sb, B, None).await.status, 451);
}

#[tokio::test]
async fn an_unknown_start_up_scenario_stops_the_start() {
    let err = paysandbox::Sandbox::builder()
        .scenario("mp-save-crad-129")
        .start()
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "--scenario: unknown scenario \"mp-save-crad-129\" (similar: mp-save-card-129, mp-save-card-109, mp-save-card-119, mp-save-card-120, mp-save-card-121)"
    );
}

#[tokio::test]
async fn times_and_after_are_counted_exactly_under_20_concurrent_requests() {
    let sb = common::start().await;
    let loaded = load(
        &sb,
        "name: qa-third-to-seventh-fail\nprovider: mercadopago\nrules:\n  - when: {operation: saveCard}\n    after: 3\n    times: 5\n    respond: {error: internal_server_error}\n",
    )
    .await;
    assert_eq!(loaded.status, 201, "{:#}", loaded.body);
    setup(&sb, A).await;
    setup(&sb, B).await;
    let sb = std::sync::Arc::new(sb);
    let run = |auth: &'static str| {
        let sb = sb.clone();
        async move {
            let tasks: Vec<_> = (0..20)
                .map(|_| {
                    let sb = sb.clone();
                    tokio::spawn(async move {
                        save_card(&sb, auth, Some("qa-third-to-seventh-fail"))
                            .await
                            .status
                    })
                })
                .collect();
            let mut statuses = Vec::new();
            for t in tasks {
                statuses.push(t.await.unwrap());
            }
            statuses
        }
    };
    let a = run(A).await;
    assert_eq!(a.iter().filter(|s| **s == 500).count(), 5, "{a:?}");
    assert_eq!(a.iter().filter(|s| **s == 201).count(), 15, "{a:?}");
    // Another tenant has its own count.
    let b = run(B).await;
    assert_eq!(b.iter().filter(|s| **s == 500).count(), 5, "{b:?}");
    // Sequentially the window is exactly matches 3..=7.
    let reset = sb
        .send(
            Method::POST,
            "/__sandbox/reset",
            &[],
            Some(json!({"tenant": "TEST-1111111111-tenant-a"})),
        )
        .await;
    assert_eq!(reset.status, 200);
    setup(&sb, A).await;
    let mut seq = Vec::new();
    for _ in 0..9 {
        seq.push(
            save_card(&sb, A, Some("qa-third-to-seventh-fail"))
                .await
                .status,
        );
    }
    assert_eq!(seq, vec![201, 201, 500, 500, 500, 500, 500, 201, 201]);
}

#[tokio::test]
async fn a_delay_holds_the_answer_at_least_that_long() {
    let sb = common::start().await;
    let loaded = load(&sb, "name: qa-slow\nprovider: mercadopago\nrules:\n  - when: {operation: saveCard}\n    delay_ms: 1000\n").await;
    assert_eq!(loaded.status, 201);
    setup(&sb, A).await;
    let started = Instant::now();
    let got = save_card(&sb, A, Some("qa-slow")).await;
    let took = started.elapsed();
    assert_eq!(got.status, 201);
    assert!(
        took >= Duration::from_millis(1000),
        "answered after {took:?}"
    );
    // Delays run concurrently: ten delayed requests take about one delay, not ten (10 s).
    let started = Instant::now();
    let sb = std::sync::Arc::new(sb);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let sb = sb.clone();
            tokio::spawn(async move { save_card(&sb, A, Some("qa-slow")).await.status })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test]
async fn rules_match_on_path_query_headers_and_nested_body_fields() {
    let sb = common::start().await;
    let yaml = r#"
name: qa-matchers
provider: mercadopago
rules:
  - when:
      operation: saveCard
      path: {customer_id: {regex: "^999-"}}
      headers: {X-Test-Case: declined}
      body: {/token: {regex: "^dead"}, payment_method_id: {present: false}}
    respond: {status: 402, headers: {X-Why: qa}, body: {declined: true}}
"#;
    assert_eq!(load(&sb, yaml).await.status, 201);
    let send = |path: &'static str, case: &'static str, token: &'static str| {
        let sb = &sb;
        async move {
            sb.send(
                Method::POST,
                path,
                &[
                    ("Authorization", A),
                    ("X-Test-Case", case),
                    ("X-Sandbox-Scenario", "qa-matchers"),
                ],
                Some(json!({"token": token})),
            )
            .await
        }
    };
    let hit = send(
        "/v1/customers/999-x/cards",
        "declined",
        "deadbeef00000000000000000000000000",
    )
    .await;
    assert_eq!(
        (hit.status, hit.body.clone()),
        (402, json!({"declined": true}))
    );
    assert_eq!(hit.header("x-why"), Some("qa"));
    // Whenever one condition fails the rule does not fire: the provider answers itself
    // (no such customer here), and no rule is named.
    for (path, case, token) in [
        (
            "/v1/customers/998-x/cards",
            "declined",
            "deadbeef00000000000000000000000000",
        ),
        (
            "/v1/customers/999-x/cards",
            "other",
            "deadbeef00000000000000000000000000",
        ),
        (
            "/v1/customers/999-x/cards",
            "declined",
            "beefdead00000000000000000000000000",
        ),
    ] {
        let missed = send(path, case, token).await;
        assert_eq!(
            (missed.status, missed.body.clone()),
            (404, customer_not_found()),
            "{path} {case} {token}"
        );
        assert_eq!(missed.header("x-sandbox-scenario-rule"), None);
    }
}

#[tokio::test]
async fn a_scenario_with_a_mistake_is_refused_by_the_admin_api_with_its_position() {
    let sb = common::start().await;
    let got = load(&sb, "name: qa-bad\nprovider: square\nrules:\n  - when: {operation: CreateCustomerCrd}\n    respond: {error: CARD_TOKEN_USD}\n").await;
    assert_eq!(got.status, 400);
    assert_eq!(
        got.body,
        json!({"error": {"status": 400,
        "message": "<request body>:4:23: unknown operation \"CreateCustomerCrd\" for provider square (did you mean CreateCustomerCard?)\n<request body>:5:22: unknown error code \"CARD_TOKEN_USD\" for provider square (did you mean CARD_TOKEN_USED?)",
        "problems": [
            {"line": 4, "column": 23, "message": "unknown operation \"CreateCustomerCrd\" for provider square (did you mean CreateCustomerCard?)"},
            {"line": 5, "column": 22, "message": "unknown error code \"CARD_TOKEN_USD\" for provider square (did you mean CARD_TOKEN_USED?)"}
        ]}})
    );
}

#[tokio::test]
async fn the_card_token_used_story_saves_once_then_refuses_the_nonce() {
    let sb = common::start().await;
    let send = || {
        sb.send(
            Method::POST,
            "/v2/customers/JDKYHBWT1D4F8MFH63DBMEN8Y4/cards",
            &[
                ("Authorization", "Bearer EAAA-story"),
                ("Square-Version", "2025-08-20"),
                ("X-Sandbox-Scenario", "square-card-token-used"),
            ],
            Some(json!({"card_nonce": "cnon:card-nonce-ok"})),
        )
    };
    let first = send().await;
    assert_eq!(first.status, 200, "{:#}", first.body);
    assert!(first.body["card"]["id"].is_string());
    for _ in 0..2 {
        let again = send().await;
        assert_eq!(again.status, 400);
        assert_eq!(
            again.body,
            json!({"errors": [{"category": "INVALID_REQUEST_ERROR", "code": "CARD_TOKEN_USED", "detail": "Card nonce already used; please request new nonce."}]})
        );
    }
}

#[tokio::test]
async fn then_state_changes_the_requesting_tenants_state_after_the_answer() {
    let sb = common::start().await;
    let yaml = r#"
name: qa-card-appears
provider: eximpe
rules:
  - when: {operation: listCardTokens, query: {identifier: USER_T}}
    times: 1
    then_state:
      cards:
        - card_token: tok_then_state_0001
          identifier: USER_T
          cardholder_name: Priya Sharma
          network: visa
          card_type: credit_card
          card_number: "4111111111111111"
          expiry_month: 5
          expiry_year: 2030
"#;
    assert_eq!(load(&sb, yaml).await.status, 201);
    let headers = |client: &'static str| {
        vec![
            ("X-Client-ID", client),
            ("X-Client-Secret", "secret"),
            ("X-API-Version", "1.0.0"),
            ("X-Sandbox-Scenario", "qa-card-appears"),
        ]
    };
    let first = sb
        .send(
            Method::GET,
            "/pg/tokens/?identifier=USER_T",
            &headers("client-t"),
            None,
        )
        .await;
    assert_eq!(
        first.status, 404,
        "the answer comes before the change: {}",
        first.body
    );
    let second = sb
        .send(
            Method::GET,
            "/pg/tokens/?identifier=USER_T",
            &headers("client-t"),
            None,
        )
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(
        second.body["data"],
        json!([{"card_token": "tok_then_state_0001", "identifier": "USER_T", "cardholder_name": "Priya Sharma",
                "nickname": null, "card_type": "credit_card", "network": "visa", "masked_pan": "XXXXXXXXXXXX1111",
                "expiry_month": 5, "expiry_year": 2030}])
    );
    // Only the requesting tenant's state changed.
    let other = sb
        .send(
            Method::GET,
            "/pg/tokens/?identifier=USER_T",
            &headers("client-u"),
            None,
        )
        .await;
    assert_eq!(other.status, 404, "{}", other.body);
}
