//! Naming a tenant in the admin API, as a QA engineer does it: an Eximpe client id works the
//! same for every endpoint, a misspelt field is refused instead of widening the action to
//! everyone, and the journal says which scenario answered.

mod common;

use reqwest::Method;
use serde_json::{Value, json};

const CLIENT: &str = "qa-client";

fn eximpe_headers(client: &str) -> [(&str, &str); 3] {
    [
        ("X-Client-ID", client),
        ("X-Client-Secret", "qa-secret"),
        ("X-API-Version", "1.0.0"),
    ]
}

fn card(identifier: &str) -> Value {
    json!({"identifier": identifier, "card_number": "4111111111111111",
           "cardholder_name": "Priya Sharma", "expiry_month": 5, "expiry_year": 2030,
           "network": "visa", "card_type": "credit_card", "nickname": "Travel card"})
}

async fn save(
    sb: &common::TestSandbox,
    client: &str,
    identifier: &str,
    scenario: Option<&str>,
) -> common::Answer {
    let mut headers = eximpe_headers(client).to_vec();
    if let Some(s) = scenario {
        headers.push(("X-Sandbox-Scenario", s));
    }
    sb.send(
        Method::POST,
        "/pg/tokens/",
        &headers,
        Some(card(identifier)),
    )
    .await
}

async fn admin(
    sb: &common::TestSandbox,
    method: Method,
    path: &str,
    body: Value,
) -> common::Answer {
    sb.send(method, &format!("/__sandbox{path}"), &[], Some(body))
        .await
}

async fn listed(sb: &common::TestSandbox, client: &str, identifier: &str) -> u16 {
    sb.send(
        Method::GET,
        &format!("/pg/tokens/?identifier={identifier}"),
        &eximpe_headers(client),
        None,
    )
    .await
    .status
}

#[tokio::test]
async fn a_misspelt_tenant_is_refused_and_nobody_loses_state() {
    let sb = common::start().await;
    assert_eq!(save(&sb, CLIENT, "user-1", None).await.status, 200);

    let refused = admin(
        &sb,
        Method::POST,
        "/reset",
        json!({"tennant": "someone-else"}),
    )
    .await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body,
        json!({"error": {"status": 400,
            "message": "unknown field \"tennant\" in the body; this endpoint reads provider, tenant"}})
    );
    assert_eq!(
        listed(&sb, CLIENT, "user-1").await,
        200,
        "the card survives"
    );

    for (path, body, reads) in [
        (
            "/clock/advance",
            json!({"seconds": 10, "tenat": "x"}),
            "seconds, tenant",
        ),
        ("/clock/reset", json!({"tenat": "x"}), "tenant"),
        (
            "/state",
            json!({"provider": "eximpe", "tenant": "x", "state": {}, "extra": 1}),
            "provider, tenant, state",
        ),
        (
            "/scenarios/eximpe-save-card-500/activate",
            json!({"tenat": "x"}),
            "tenant",
        ),
    ] {
        let a = admin(&sb, Method::POST, path, body.clone()).await;
        assert_eq!(a.status, 400, "{path} {body}");
        let message = a.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("unknown field") && message.ends_with(reads),
            "{path}: {message}"
        );
    }
    let clock = sb.send(Method::GET, "/__sandbox/clock", &[], None).await;
    assert_eq!(clock.body["offset_seconds"], 0.0, "the clock did not move");
    let saved = save(&sb, CLIENT, "user-2", None).await;
    assert_eq!(saved.status, 200, "no scenario was activated for everyone");

    let ill_typed = admin(&sb, Method::POST, "/reset", json!({"tenant": 42})).await;
    assert_eq!(
        ill_typed.body,
        json!({"error": {"status": 400, "message": "`tenant` must be a non-empty string"}})
    );
    assert_eq!(listed(&sb, CLIENT, "user-1").await, 200);
}

#[tokio::test]
async fn an_eximpe_client_id_names_the_same_tenant_everywhere() {
    let sb = common::start().await;
    assert_eq!(save(&sb, CLIENT, "user-1", None).await.status, 200);
    assert_eq!(save(&sb, "other-client", "user-1", None).await.status, 200);

    // A scenario activated for the client id fires for that client only.
    let on = admin(
        &sb,
        Method::POST,
        "/scenarios/eximpe-save-card-500/activate",
        json!({"tenant": CLIENT}),
    )
    .await;
    assert_eq!(
        on.body,
        json!({"scenario": "eximpe-save-card-500", "tenant": CLIENT, "activated": true})
    );
    assert_eq!(save(&sb, CLIENT, "user-2", None).await.status, 500);
    assert_eq!(save(&sb, "other-client", "user-2", None).await.status, 200);
    let off = admin(
        &sb,
        Method::POST,
        "/scenarios/eximpe-save-card-500/deactivate",
        json!({"tenant": CLIENT}),
    )
    .await;
    assert_eq!(off.body["deactivated"], true);
    assert_eq!(save(&sb, CLIENT, "user-3", None).await.status, 200);

    // The journal counts the client's exchanges under its id.
    let count = sb
        .send(
            Method::GET,
            &format!("/__sandbox/journal/count?tenant={CLIENT}"),
            &[],
            None,
        )
        .await;
    assert_eq!(count.body, json!({"count": 3}));

    // Its clock moves alone.
    let moved = admin(
        &sb,
        Method::POST,
        "/clock/advance",
        json!({"seconds": 3600, "tenant": CLIENT}),
    )
    .await;
    assert_eq!(moved.body["offset_seconds"], 3600.0);
    let own = sb
        .send(
            Method::GET,
            &format!("/__sandbox/clock?tenant={CLIENT}/"),
            &[],
            None,
        )
        .await;
    assert_eq!(
        own.body["offset_seconds"], 3600.0,
        "the key its requests use moved"
    );
    let everyone = sb.send(Method::GET, "/__sandbox/clock", &[], None).await;
    assert_eq!(everyone.body["offset_seconds"], 0.0);

    // A reset of the client forgets its cards and nobody else's.
    let reset = admin(&sb, Method::POST, "/reset", json!({"tenant": CLIENT})).await;
    assert_eq!(reset.status, 200);
    assert_eq!(listed(&sb, CLIENT, "user-1").await, 404);
    assert_eq!(listed(&sb, "other-client", "user-1").await, 200);
}

#[tokio::test]
async fn the_journal_names_the_rule_that_answered() {
    let sb = common::start().await;
    assert_eq!(save(&sb, CLIENT, "user-1", None).await.status, 200);
    let forced = save(&sb, CLIENT, "user-2", Some("eximpe-save-card-500")).await;
    assert_eq!(forced.status, 500);
    assert_eq!(
        forced.header("x-sandbox-scenario-rule"),
        Some("eximpe-save-card-500#0")
    );

    let journal = sb.send(Method::GET, "/__sandbox/journal", &[], None).await;
    let scenarios: Vec<&Value> = journal.body["entries"]
        .as_array()
        .map(|entries| entries.iter().map(|e| &e["scenario"]).collect())
        .unwrap_or_default();
    assert_eq!(scenarios, [&Value::Null, &json!("eximpe-save-card-500#0")]);
    for filter in ["eximpe-save-card-500", "eximpe-save-card-500%230"] {
        let count = sb
            .send(
                Method::GET,
                &format!("/__sandbox/journal/count?scenario={filter}"),
                &[],
                None,
            )
            .await;
        assert_eq!(count.body, json!({"count": 1}), "{filter}");
    }
    let none = sb
        .send(
            Method::GET,
            "/__sandbox/journal/count?scenario=eximpe-save-card-409",
            &[],
            None,
        )
        .await;
    assert_eq!(none.body, json!({"count": 0}));
}

#[tokio::test]
async fn a_mercado_pago_state_dump_seeds_another_tenant_as_it_was() {
    let sb = common::start().await;
    let auth = "Bearer TEST-4444444444-112233-dddddddd-444444444";
    let customer = sb
        .send(
            Method::POST,
            "/v1/customers",
            &[("Authorization", auth)],
            Some(json!({"email": "test_payer_9@testuser.com"})),
        )
        .await;
    assert_eq!(customer.status, 201, "{}", customer.body);
    let customer_id = customer.body["id"].as_str().unwrap_or_default().to_string();
    let token = sb
        .send(
            Method::POST,
            "/v1/card_tokens",
            &[("Authorization", auth)],
            Some(json!({"card_number": "5031433215406351", "expiration_month": 11,
                        "expiration_year": 2030, "security_code": "123",
                        "cardholder": {"name": "APRO",
                                       "identification": {"type": "CPF", "number": "12345678909"}}})),
        )
        .await;
    let saved = sb
        .send(
            Method::POST,
            &format!("/v1/customers/{customer_id}/cards"),
            &[("Authorization", auth)],
            Some(json!({"token": token.body["id"]})),
        )
        .await;
    assert_eq!(saved.status, 201, "{}", saved.body);
    let card_id = saved.body["id"].as_str().unwrap_or_default().to_string();
    let card_path = format!("/v1/customers/{customer_id}/cards/{card_id}");
    assert_eq!(
        sb.send(Method::GET, &card_path, &[("Authorization", auth)], None)
            .await
            .status,
        200
    );

    // The journal shows the card's path and id as they are, and the card number masked.
    let count = sb
        .send(
            Method::GET,
            &format!("/__sandbox/journal/count?path={card_path}"),
            &[],
            None,
        )
        .await;
    assert_eq!(count.body, json!({"count": 1}));
    let journal = sb.send(Method::GET, "/__sandbox/journal", &[], None).await;
    let entries = journal.body["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(entries[2]["response"]["body"]["id"], card_id.as_str());
    assert_eq!(
        entries[2]["response"]["body"]["security_code"],
        json!({"length": 3, "card_location": "back"})
    );
    assert_eq!(
        entries[1]["request"]["body"]["card_number"],
        "503143******6351"
    );

    // What GET /__sandbox/state shows seeds another tenant to the same state.
    let dump = sb
        .send(
            Method::GET,
            "/__sandbox/state?tenant=TEST-4444444444-112233-dddddddd-444444444&provider=mercadopago",
            &[],
            None,
        )
        .await;
    let state = dump.body["providers"]["mercadopago"].clone();
    assert_eq!(state["customers"][0]["default_card"], card_id.as_str());
    let other = "TEST-5555555555-112233-eeeeeeee-555555555";
    let seeded = admin(
        &sb,
        Method::POST,
        "/state",
        json!({"provider": "mercadopago", "tenant": other, "state": state}),
    )
    .await;
    assert_eq!(seeded.status, 200, "{}", seeded.body);
    let card = sb
        .send(
            Method::GET,
            &card_path,
            &[("Authorization", &format!("Bearer {other}"))],
            None,
        )
        .await;
    assert_eq!(card.status, 200, "{}", card.body);
    let mut original = saved.body.clone();
    let mut copy = card.body.clone();
    // The same card; only its owner is the seeded tenant's user.
    for c in [&mut original, &mut copy] {
        c.as_object_mut().map(|o| o.remove("date_last_updated"));
    }
    assert_eq!(copy["user_id"], "555555555");
    copy["user_id"] = original["user_id"].clone();
    assert_eq!(copy, original);
}

#[tokio::test]
async fn a_wrong_method_on_an_admin_endpoint_names_the_right_one() {
    let sb = common::start().await;
    for (method, path, allowed) in [
        (Method::GET, "/__sandbox/reset", "POST"),
        (Method::POST, "/__sandbox/journal/count", "GET, HEAD"),
        (Method::PUT, "/__sandbox/state", "GET, HEAD, POST"),
        (Method::POST, "/__sandbox/clock", "GET, HEAD"),
        (
            Method::GET,
            "/__sandbox/scenarios/eximpe-save-card-500/activate",
            "POST",
        ),
        (Method::DELETE, "/__sandbox/scenarios", "GET, POST"),
    ] {
        let a = sb.send(method.clone(), path, &[], None).await;
        assert_eq!(a.status, 405, "{method} {path}");
        assert_eq!(a.header("allow"), Some(allowed), "{method} {path}");
        assert_eq!(
            a.body,
            json!({"error": {"status": 405,
                "message": format!("{method} is not allowed on {path}; use {allowed}")}})
        );
    }
    let unknown = sb.send(Method::GET, "/__sandbox/nothing", &[], None).await;
    assert_eq!(unknown.status, 404);
}
