//! State as a CI user manages it: reset one tenant without touching the others, read and
//! seed state over the admin API, survive a restart through the state file, and never see a
//! card number or a client secret in anything the sandbox shows.

mod common;

use common::start;
use reqwest::Method;
use serde_json::{Value, json};

const PAN: &str = "5506900480000008";
const SECRET: &str = "secret-for-client-a";

fn creds(client: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("X-Client-ID", client),
        ("X-Client-Secret", SECRET),
        ("X-API-Version", "1.0.0"),
    ]
}

fn card(identifier: &str) -> Value {
    json!({"identifier": identifier, "card_number": PAN, "cardholder_name": "Priya Sharma", "expiry_month": 5,
           "expiry_year": 2030, "network": "mastercard", "card_type": "credit_card", "nickname": "HDFC Regalia Credit Card"})
}

async fn list(sb: &common::TestSandbox, client: &'static str, identifier: &str) -> common::Answer {
    sb.send(
        Method::GET,
        &format!("/pg/tokens/?identifier={identifier}"),
        &creds(client),
        None,
    )
    .await
}

#[tokio::test]
async fn resetting_one_tenant_leaves_the_others_intact() {
    let sb = start().await;
    for client in ["client-a", "client-b"] {
        let a = sb
            .send(
                Method::POST,
                "/pg/tokens/",
                &creds(client),
                Some(card("USER_1")),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let a = sb
        .send(
            Method::POST,
            "/__sandbox/reset",
            &[],
            Some(json!({"provider": "eximpe", "tenant": "client-a"})),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(list(&sb, "client-a", "USER_1").await.status, 404);
    let b = list(&sb, "client-b", "USER_1").await;
    assert_eq!(b.status, 200);
    assert_eq!(b.body["data"].as_array().map(Vec::len), Some(1));

    let a = sb
        .send(
            Method::POST,
            "/__sandbox/reset",
            &[],
            Some(json!({"provider": "nobody"})),
        )
        .await;
    assert_eq!(
        (a.status, a.body),
        (
            404,
            json!({"error": {"status": 404, "message": "unknown provider \"nobody\""}})
        )
    );
}

#[tokio::test]
async fn state_is_read_and_seeded_over_the_admin_api_without_card_numbers() {
    let sb = start().await;
    let saved = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &creds("client-a"),
            Some(card("USER_1")),
        )
        .await;
    let token = saved.body["data"]["card_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let a = sb
        .send(
            Method::GET,
            "/__sandbox/state?provider=eximpe&tenant=client-a",
            &[],
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    let cards = &a.body["providers"]["eximpe"]["cards"];
    assert_eq!(cards[0]["card_token"], token.as_str());
    assert!(!a.body.to_string().contains(PAN), "{}", a.body);

    // Seed client-b with the same state shape and see it through the provider API.
    let state = a.body["providers"]["eximpe"].clone();
    let a = sb
        .send(
            Method::POST,
            "/__sandbox/state",
            &[],
            Some(json!({"provider": "eximpe", "tenant": "client-b", "state": state})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let b = list(&sb, "client-b", "USER_1").await;
    assert_eq!(b.body["data"][0]["card_token"], token.as_str());

    let a = sb
        .send(
            Method::POST,
            "/__sandbox/state",
            &[],
            Some(json!({"provider": "eximpe"})),
        )
        .await;
    assert_eq!(a.status, 400);
    let a = sb.send(Method::GET, "/__sandbox/state", &[], None).await;
    assert_eq!(a.status, 400);
}

#[tokio::test]
async fn a_snapshot_survives_a_restart_unchanged() {
    let path =
        std::env::temp_dir().join(format!("paysandbox-snapshot-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let sb = common::start_with(paysandbox::Sandbox::builder().state_file(&path)).await;
    for (client, id) in [
        ("client-a", "USER_1"),
        ("client-a", "USER_2"),
        ("client-b", "USER_1"),
    ] {
        let a = sb
            .send(Method::POST, "/pg/tokens/", &creds(client), Some(card(id)))
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let before = sb.sandbox.snapshot().providers;
    let listed_before = list(&sb, "client-a", "USER_2").await.body;
    sb.sandbox.shutdown().await;

    let file = std::fs::read_to_string(&path).expect("the state file was written on shutdown");
    assert!(!file.contains(PAN), "the state file holds a card number");

    let sb = common::start_with(paysandbox::Sandbox::builder().state_file(&path)).await;
    assert_eq!(sb.sandbox.snapshot().providers, before);
    assert_eq!(list(&sb, "client-a", "USER_2").await.body, listed_before);
    // The same card again is still a duplicate after the restart.
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &creds("client-b"),
            Some(card("USER_1")),
        )
        .await;
    assert_eq!(a.status, 409);
    sb.sandbox.shutdown().await;
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn nothing_the_sandbox_shows_holds_a_card_number_or_a_client_secret() {
    let sb = start().await;
    let mut seen = String::new();
    let a = sb
        .send(
            Method::POST,
            "/pg/tokens/",
            &creds("client-a"),
            Some(card("USER_1")),
        )
        .await;
    seen.push_str(&a.body.to_string());
    let mut bad = card("USER_2");
    bad["card_number"] = json!("5506900480000009");
    seen.push_str(
        &sb.send(Method::POST, "/pg/tokens/", &creds("client-a"), Some(bad))
            .await
            .body
            .to_string(),
    );
    seen.push_str(&list(&sb, "client-a", "USER_1").await.body.to_string());
    for path in ["/journal", "/state?tenant=client-a", "/journal/count"] {
        seen.push_str(
            &sb.send(Method::GET, &format!("/__sandbox{path}"), &[], None)
                .await
                .body
                .to_string(),
        );
    }
    seen.push_str(&serde_json::to_string(&sb.sandbox.snapshot()).expect("serialises"));
    for secret in [PAN, "5506900480000009", SECRET] {
        assert!(!seen.contains(secret), "found {secret} in {seen}");
    }
}
