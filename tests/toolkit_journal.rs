//! The test-double toolkit as a CI user meets it: the journal shows exactly what was sent
//! (masked), the admin API answers on loopback, a corrupt state file is refused.

mod common;

use common::start;
use reqwest::Method;
use serde_json::{Value, json};

const MP_A: &str = "TEST-1111111111-112233-aaaaaaaa-111111111";
const MP_B: &str = "TEST-2222222222-112233-bbbbbbbb-222222222";
const PAN: &str = "5031433215406351";

async fn admin(
    sb: &common::TestSandbox,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> common::Answer {
    sb.send(method, &format!("/__sandbox{path}"), &[], body)
        .await
}

#[tokio::test]
async fn the_journal_records_each_exchange_with_card_numbers_masked() {
    let sb = start().await;
    let token_body = json!({"card_number": PAN, "expiration_month": 11, "expiration_year": 2030, "security_code": "123",
                            "cardholder": {"name": "APRO", "identification": {"type": "CPF", "number": "12345678909"}}});
    let auth_a = format!("Bearer {MP_A}");
    sb.send(
        Method::POST,
        "/v1/card_tokens",
        &[("Authorization", auth_a.as_str())],
        Some(token_body),
    )
    .await;
    sb.send(Method::GET, "/v2/nothing", &[], None).await;

    let a = admin(&sb, Method::GET, "/journal", None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["count"], 2);
    let first = &a.body["entries"][0];
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], "/v1/card_tokens");
    assert_eq!(first["provider"], "mercadopago");
    assert_eq!(first["operation"], "createCardToken");
    assert_eq!(first["tenant"], "TEST-111...1111");
    assert_eq!(
        first["request"]["headers"]["authorization"],
        "Bearer TEST-111...1111"
    );
    assert_eq!(first["request"]["body"]["card_number"], "503143******6351");
    assert_eq!(first["request"]["body"]["security_code"], "***");
    let second = &a.body["entries"][1];
    assert_eq!(
        (
            second["provider"].clone(),
            second["operation"].clone(),
            second["status"].clone()
        ),
        (json!("square"), Value::Null, json!(404))
    );

    // Nothing the admin API shows holds the card number or the access token.
    let everything = a.body.to_string();
    assert!(!everything.contains(PAN), "{everything}");
    assert!(!everything.contains(MP_A), "{everything}");
}

#[tokio::test]
async fn the_journal_filters_by_provider_operation_tenant_status_and_sequence() {
    let sb = start().await;
    let (auth_a, auth_b) = (format!("Bearer {MP_A}"), format!("Bearer {MP_B}"));
    for auth in [&auth_a, &auth_a, &auth_b] {
        sb.send(
            Method::POST,
            "/v1/customers/1-A/cards",
            &[("Authorization", auth.as_str())],
            Some(json!({})),
        )
        .await;
    }
    sb.send(Method::GET, "/pg/tokens/?identifier=U1", &[], None)
        .await;

    let count = |q: String| {
        let sb = &sb;
        async move {
            admin(sb, Method::GET, &format!("/journal/count?{q}"), None)
                .await
                .body["count"]
                .clone()
        }
    };
    assert_eq!(count(String::new()).await, 4);
    assert_eq!(count("provider=mercadopago".into()).await, 3);
    assert_eq!(count("operation=saveCard&status=400".into()).await, 3);
    assert_eq!(count(format!("tenant={MP_A}")).await, 2);
    assert_eq!(
        count(format!("tenant={MP_B}&provider=mercadopago")).await,
        1
    );
    assert_eq!(count("provider=eximpe&status=401".into()).await, 1);
    assert_eq!(count("since=3".into()).await, 1);

    let a = admin(&sb, Method::GET, "/journal?limit=1", None).await;
    assert_eq!(a.body["entries"][0]["seq"], 4);
    let a = admin(&sb, Method::GET, "/journal?status=abc", None).await;
    assert_eq!(
        (a.status, a.body),
        (
            400,
            json!({"error": {"status": 400, "message": "`status` must be a non-negative integer, got \"abc\""}})
        )
    );
    // A misspelt filter would count nothing and make "exactly one save" assertions lie.
    let a = admin(&sb, Method::GET, "/journal/count?operaton=saveCard", None).await;
    assert_eq!(
        (a.status, a.body),
        (
            400,
            json!({"error": {"status": 400, "message": "unknown journal filter `operaton`; known: provider, operation, tenant, status, scenario, method, path, since, limit"}})
        )
    );
    let a = admin(&sb, Method::GET, "/journal?provider=mercado", None).await;
    assert_eq!(
        (a.status, a.body),
        (
            400,
            json!({"error": {"status": 400, "message": "unknown provider \"mercado\"; known: mercadopago, square, eximpe"}})
        )
    );
    let a = admin(
        &sb,
        Method::GET,
        "/journal/count?provider=eximpe&operation=saveCard",
        None,
    )
    .await;
    assert_eq!(a.status, 400);
    let message = a.body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("unknown operation \"saveCard\" for eximpe; known: ")
            && message.contains("saveCardToken"),
        "{message}"
    );

    let a = admin(&sb, Method::DELETE, "/journal", None).await;
    assert_eq!(a.body, json!({"cleared": true}));
    assert_eq!(count(String::new()).await, 0);
}

#[tokio::test]
async fn the_embedded_api_reads_the_same_journal() {
    let sb = start().await;
    sb.send(
        Method::GET,
        "/v2/cards",
        &[("Authorization", "Bearer EAAA-embedded")],
        None,
    )
    .await;
    let entries = sb.sandbox.journal(&paysandbox::journal::Filter {
        operation: Some("ListCards".into()),
        ..Default::default()
    });
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, 200);
    sb.sandbox.reset();
    assert!(sb.sandbox.journal(&Default::default()).is_empty());
}

#[tokio::test]
async fn health_and_clock_answer_on_the_admin_api() {
    let sb = start().await;
    let a = admin(&sb, Method::GET, "/health", None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["status"], "ready");
    assert_eq!(a.body["specs"], 3);
    assert_eq!(
        a.body["providers"],
        json!(["mercadopago", "square", "eximpe"])
    );

    let a = admin(
        &sb,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 3600})),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["offset_seconds"], 3600.0);
    let a = admin(
        &sb,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 60, "tenant": MP_A})),
    )
    .await;
    assert_eq!(a.body["offset_seconds"], 3660.0);
    let a = admin(&sb, Method::GET, "/clock", None).await;
    assert_eq!(a.body["offset_seconds"], 3600.0);
    let a = admin(
        &sb,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": -5})),
    )
    .await;
    assert_eq!(a.status, 400);
    let a = admin(&sb, Method::POST, "/clock/reset", None).await;
    assert_eq!(a.body["offset_seconds"], 0.0);
    let a = admin(&sb, Method::GET, "/nope", None).await;
    assert_eq!(
        (a.status, a.body),
        (
            404,
            json!({"error": {"status": 404, "message": "no sandbox endpoint GET /__sandbox/nope"}})
        )
    );
}

#[tokio::test]
async fn the_admin_api_can_live_on_its_own_port() {
    let mut config = paysandbox::Config {
        admin_port: Some(0),
        admin_on_main_port: false,
        strict: true,
        port: 0,
        ..Default::default()
    };
    config.journal_size = 10;
    let sandbox = paysandbox::Sandbox::builder()
        .config(config)
        .start()
        .await
        .expect("starts");
    let client = reqwest::Client::new();
    let on_main = client
        .get(format!("{}/__sandbox/health", sandbox.url()))
        .send()
        .await
        .expect("sent");
    assert_eq!(on_main.status().as_u16(), 404);
    let on_admin = client
        .get(format!("{}/health", sandbox.admin_url()))
        .send()
        .await
        .expect("sent");
    assert_eq!(on_admin.status().as_u16(), 200);
    let provider_on_admin = client
        .get(format!(
            "{}/v2/cards",
            sandbox.admin_url().trim_end_matches("/__sandbox")
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(provider_on_admin.status().as_u16(), 404);
}

#[tokio::test]
async fn a_corrupt_or_future_state_file_is_refused_with_its_reason() {
    let dir = std::env::temp_dir().join(format!("paysandbox-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let corrupt = dir.join("corrupt.json");
    std::fs::write(
        &corrupt,
        b"{\"format\": \"paysandbox-state\", \"version\": 1, \"providers\": {",
    )
    .expect("write");
    let err = paysandbox::Sandbox::builder()
        .state_file(&corrupt)
        .start()
        .await
        .err()
        .expect("refused");
    assert!(
        err.to_string().starts_with(&format!(
            "cannot load state: {}: not a paysandbox state file (invalid JSON at line 1",
            corrupt.display()
        )),
        "{err}"
    );

    let future = dir.join("future.json");
    std::fs::write(&future, br#"{"format": "paysandbox-state", "version": 99, "saved_at": "", "clock_offset_ms": 0, "providers": {}}"#).expect("write");
    let err = paysandbox::Sandbox::builder()
        .state_file(&future)
        .start()
        .await
        .err()
        .expect("refused");
    assert_eq!(
        err.to_string(),
        format!(
            "cannot load state: {}: state format version 99 is newer than this paysandbox understands (1); upgrade paysandbox or start without --state-file",
            future.display()
        )
    );
}
