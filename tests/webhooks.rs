//! Square webhooks over real HTTP: a wiremock receiver gets signed events, in order, retried
//! on failure, and late / duplicated / swapped when a scenario says so. Signatures are
//! checked with the `hmac` and `sha2` crates directly (not paysandbox's digest module).

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use paysandbox::Sandbox;
use paysandbox::journal::Filter;
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "whsec-test-key-123";

fn expected_signature(key: &str, url: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).expect("key");
    mac.update(url.as_bytes());
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

struct Seller {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Seller {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("sent");
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body:#}");
        body
    }

    async fn nonce(&self) -> String {
        let minted = self
            .call(
                reqwest::Method::POST,
                "/__sandbox/square/nonces",
                Some(json!({"card_number": "4111 1111 1111 1111", "exp_month": 11, "exp_year": 2031, "cvv": "111", "postal_code": "94103"})),
            )
            .await;
        minted["nonce"].as_str().expect("nonce").to_string()
    }

    async fn customer(&self, name: &str) -> String {
        let c = self
            .call(
                reqwest::Method::POST,
                "/v2/customers",
                Some(json!({"given_name": name})),
            )
            .await;
        c["customer"]["id"].as_str().expect("id").to_string()
    }
}

async fn subscribe(sb: &Sandbox, tenant: &str, url: &str, extra: Value) -> Value {
    let mut body = json!({
        "tenant": tenant,
        "notification_url": url,
        "event_types": ["card.created", "card.disabled", "card.forgotten", "card.updated",
                        "customer.created", "customer.updated", "customer.deleted"],
    });
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let res = reqwest::Client::new()
        .post(format!("{}/square/webhooks/subscriptions", sb.admin_url()))
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.expect("json")["subscription"].clone()
}

/// Waits until the receiver has `n` requests (or fails after a while).
async fn received(server: &MockServer, n: usize) -> Vec<wiremock::Request> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = server.received_requests().await.unwrap_or_default();
        if got.len() >= n || Instant::now() > deadline {
            assert_eq!(got.len(), n, "deliveries received");
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn event(r: &wiremock::Request) -> Value {
    serde_json::from_slice(&r.body).expect("a JSON event")
}

fn header<'a>(r: &'a wiremock::Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

async fn start() -> (Sandbox, Seller) {
    let sb = Sandbox::builder()
        .strict(true)
        .seed(11)
        .start()
        .await
        .expect("starts");
    let seller = Seller {
        http: reqwest::Client::new(),
        base: sb.url(),
        token: "EAAAwebhook-seller-token".into(),
    };
    (sb, seller)
}

#[tokio::test]
async fn card_on_file_changes_are_sent_signed_in_order_and_journaled() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/square/hooks"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (sb, s) = start().await;
    let url = format!("{}/square/hooks", receiver.uri());
    let sub = subscribe(&sb, &s.token, &url, json!({"signature_key": KEY})).await;
    assert_eq!(sub["signature_key"], KEY);
    assert!(sub["id"].as_str().expect("id").starts_with("wbhk_"));

    // Another seller's changes and failed calls publish nothing.
    let other = Seller {
        token: "EAAAsomeone-else".into(),
        ..Seller {
            http: s.http.clone(),
            base: s.base.clone(),
            token: String::new(),
        }
    };
    other.customer("Not mine").await;
    let refused = s
        .http
        .post(format!("{}/v2/customers", s.base))
        .bearer_auth(&s.token)
        .json(&json!({"note": "no name"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 400);

    let customer = s.customer("Amelia").await;
    s.call(
        reqwest::Method::PUT,
        &format!("/v2/customers/{customer}"),
        Some(json!({"family_name": "Earhart"})),
    )
    .await;
    let nonce = s.nonce().await;
    let card = s
        .call(
            reqwest::Method::POST,
            "/v2/cards",
            Some(json!({"idempotency_key": "k1", "source_id": nonce, "card": {"customer_id": customer}})),
        )
        .await["card"]["id"]
        .as_str()
        .expect("card id")
        .to_string();
    // An idempotent replay changes nothing and publishes nothing.
    s.call(
        reqwest::Method::POST,
        "/v2/cards",
        Some(
            json!({"idempotency_key": "k1", "source_id": nonce, "card": {"customer_id": customer}}),
        ),
    )
    .await;
    s.call(
        reqwest::Method::POST,
        &format!("/v2/cards/{card}/disable"),
        None,
    )
    .await;
    // Disabling again changes nothing.
    s.call(
        reqwest::Method::POST,
        &format!("/v2/cards/{card}/disable"),
        None,
    )
    .await;
    let nonce2 = s.nonce().await;
    let legacy = s
        .call(
            reqwest::Method::POST,
            &format!("/v2/customers/{customer}/cards"),
            Some(json!({"card_nonce": nonce2})),
        )
        .await["card"]["id"]
        .as_str()
        .expect("card id")
        .to_string();
    s.call(
        reqwest::Method::DELETE,
        &format!("/v2/customers/{customer}/cards/{legacy}"),
        None,
    )
    .await;
    s.call(
        reqwest::Method::DELETE,
        &format!("/v2/customers/{customer}"),
        None,
    )
    .await;

    let got = received(&receiver, 7).await;
    let events: Vec<Value> = got.iter().map(event).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "customer.created",
            "customer.updated",
            "card.created",
            "card.disabled",
            "card.created",
            "card.forgotten",
            "customer.deleted"
        ]
    );
    let merchant = events[0]["merchant_id"]
        .as_str()
        .expect("merchant")
        .to_string();
    let mut ids = std::collections::HashSet::new();
    for (r, e) in got.iter().zip(&events) {
        assert_eq!(
            header(r, "x-square-hmacsha256-signature"),
            Some(expected_signature(KEY, &url, &r.body).as_str()),
            "signature of {}",
            e["type"]
        );
        assert_eq!(header(r, "square-environment"), Some("Sandbox"));
        assert_eq!(header(r, "content-type"), Some("application/json"));
        let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["merchant_id", "type", "event_id", "created_at", "data"]
        );
        assert_eq!(e["merchant_id"], merchant.as_str());
        assert!(ids.insert(e["event_id"].as_str().unwrap().to_string()));
        let (kind, _) = e["type"].as_str().unwrap().split_once('.').unwrap();
        assert_eq!(e["data"]["type"], kind);
        assert_eq!(e["data"]["object"][kind]["id"], e["data"]["id"]);
    }
    assert_eq!(events[0]["data"]["id"], customer.as_str());
    assert_eq!(
        events[1]["data"]["object"]["customer"]["family_name"],
        "Earhart"
    );
    assert_eq!(events[2]["data"]["object"]["card"]["enabled"], true);
    assert_eq!(events[2]["data"]["object"]["card"]["last_4"], "1111");
    assert_eq!(events[3]["data"]["object"]["card"]["enabled"], false);
    assert_eq!(events[5]["data"]["id"], legacy.as_str());
    assert_eq!(
        events[5]["data"]["object"]["card"],
        json!({"id": legacy, "customer_id": customer, "enabled": false, "version": 2, "merchant_id": merchant})
    );
    assert_eq!(
        events[6]["data"]["object"]["customer"]["given_name"],
        "Amelia"
    );
    // No card number in any event.
    for r in &got {
        assert!(!String::from_utf8_lossy(&r.body).contains("4111111111111111"));
    }

    // The journal shows every delivery, outbound, with the receiver's status. A delivery is
    // journaled once the receiver's answer is read, just after the receiver counted it.
    let outbound = || -> Vec<_> {
        sb.journal(&Filter::default())
            .into_iter()
            .filter(|e| e.direction == paysandbox::journal::OUTBOUND)
            .collect()
    };
    let mut deliveries = outbound();
    for _ in 0..100 {
        if deliveries.len() >= 7 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        deliveries = outbound();
    }
    assert_eq!(deliveries.len(), 7);
    assert!(deliveries.iter().all(|e| e.status == 200
        && e.method == "POST"
        && e.path == "/square/hooks"
        && e.provider.as_deref() == Some("square")));
    let created = sb.journal(&Filter {
        operation: Some("webhook:card.created".into()),
        ..Filter::default()
    });
    assert_eq!(created.len(), 2);
    assert_eq!(created[0].to_json()["direction"], "outbound");
    // The same count over the admin API, as a test in another language asks for it.
    let counted: Value = reqwest::get(format!(
        "{}/journal/count?provider=square&operation=webhook:card.created",
        sb.admin_url()
    ))
    .await
    .expect("sent")
    .json()
    .await
    .expect("json");
    assert_eq!(counted, json!({"count": 2}));

    // Unsubscribed: nothing more is sent.
    let res = reqwest::Client::new()
        .delete(format!(
            "{}/square/webhooks/subscriptions/{}",
            sb.admin_url(),
            sub["id"].as_str().unwrap()
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 200);
    s.customer("Later").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.received_requests().await.unwrap().len(), 7);
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_backoff_and_every_attempt_is_journaled() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&receiver)
        .await;
    let (sb, s) = start().await;
    let url = format!("{}/hook", receiver.uri());
    let sub = subscribe(
        &sb,
        &s.token,
        &url,
        json!({"delivery": {"max_attempts": 5, "backoff_ms": 100}}),
    )
    .await;
    let key = sub["signature_key"]
        .as_str()
        .expect("generated key")
        .to_string();
    assert!(key.len() >= 16);
    let started = Instant::now();
    s.customer("Retry").await;
    // Three attempts take at least 300 ms of backoff: an API answer that waited for delivery
    // would find them all made.
    assert!(
        receiver.received_requests().await.map_or(0, |r| r.len()) < 3,
        "the API answer does not wait for delivery"
    );
    let got = received(&receiver, 3).await;
    // 100 ms, then 200 ms of backoff.
    assert!(started.elapsed() >= Duration::from_millis(300));
    let first = event(&got[0]);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(
            event(r)["event_id"],
            first["event_id"],
            "same event retried"
        );
        assert_eq!(
            header(r, "x-square-hmacsha256-signature"),
            Some(expected_signature(&key, &url, &r.body).as_str())
        );
        let retry = (i > 0).then(|| i.to_string());
        assert_eq!(header(r, "square-retry-number"), retry.as_deref());
    }
    // Each attempt is journaled once its answer is read, just after the receiver counted it.
    let mut statuses: Vec<u16> = Vec::new();
    for _ in 0..100 {
        let attempts = sb.journal(&Filter {
            operation: Some("webhook:customer.created".into()),
            ..Filter::default()
        });
        statuses = attempts.iter().map(|e| e.status).collect();
        if statuses.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(statuses, [503, 503, 200]);

    // Bounded: a receiver that never answers 2xx gets max_attempts tries, then is left.
    let dead = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&dead)
        .await;
    subscribe(
        &sb,
        &s.token,
        &format!("{}/dead", dead.uri()),
        json!({"event_types": ["customer.updated"], "delivery": {"max_attempts": 3, "backoff_ms": 10}}),
    )
    .await;
    let id = s.customer("Bounded").await;
    s.call(
        reqwest::Method::PUT,
        &format!("/v2/customers/{id}"),
        Some(json!({"note": "x"})),
    )
    .await;
    received(&dead, 3).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(dead.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_scenario_makes_deliveries_late_duplicated_and_swapped() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let dir = std::env::temp_dir().join(format!(
        "paysandbox-webhook-scenario-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("square-webhooks-chaos.yaml"),
        "name: square-webhooks-chaos\nprovider: square\ndescription: late, duplicated, swapped webhooks\n\
         settings:\n  webhooks: {delay_ms: 150, duplicate: true, reorder: true, hold_ms: 2000}\n",
    )
    .expect("written");
    let sb = Sandbox::builder()
        .seed(5)
        .scenarios_dir(&dir)
        .scenario("square-webhooks-chaos")
        .start()
        .await
        .expect("starts");
    let s = Seller {
        http: reqwest::Client::new(),
        base: sb.url(),
        token: "EAAAchaos".into(),
    };
    let url = format!("{}/h", receiver.uri());
    subscribe(
        &sb,
        &s.token,
        &url,
        json!({"event_types": ["customer.created"]}),
    )
    .await;
    let started = Instant::now();
    let a = s.customer("First").await;
    let b = s.customer("Second").await;
    let got = received(&receiver, 4).await;
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "each copy is late"
    );
    let ids: Vec<Value> = got.iter().map(|r| event(r)["data"]["id"].clone()).collect();
    // Swapped (the second change arrives first), each one twice with the same event_id.
    assert_eq!(ids, [json!(b), json!(b), json!(a), json!(a)]);
    assert_eq!(event(&got[0])["event_id"], event(&got[1])["event_id"]);
    assert_ne!(event(&got[1])["event_id"], event(&got[2])["event_id"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn subscriptions_are_listed_checked_and_removed() {
    let (sb, _s) = start().await;
    let http = reqwest::Client::new();
    let base = format!("{}/square/webhooks/subscriptions", sb.admin_url());
    let bad = http
        .post(&base)
        .json(&json!({"tenant": "t", "notification_url": "http://127.0.0.1:1/x", "event_types": ["payment.created"]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown event type `payment.created`"),
        "{body}"
    );
    subscribe(&sb, "EAAAlisted", "http://127.0.0.1:1/x", json!({})).await;
    let list: Value = http
        .get(format!("{base}?tenant=EAAAlisted"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(list["subscriptions"].as_array().unwrap().len(), 1);
    assert_eq!(list["subscriptions"][0]["delivery"]["max_attempts"], 5);
    assert_eq!(list["subscriptions"][0]["delivery"]["backoff_ms"], 1000);
    let none: Value = http
        .get(format!("{base}?tenant=other"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(none["subscriptions"], json!([]));
}

/// Sends a sandbox-only request and returns its status and JSON body.
async fn admin(sb: &Sandbox, m: reqwest::Method, p: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(m, format!("{}{p}", sb.admin_url()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("sent");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_account_updater_refreshes_an_expiry_and_subscribers_get_card_updated() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/square/hooks"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let (sb, s) = start().await;
    let url = format!("{}/square/hooks", receiver.uri());
    subscribe(
        &sb,
        &s.token,
        &url,
        json!({"signature_key": KEY, "event_types": ["card.updated"]}),
    )
    .await;
    let customer = s.customer("Amelia").await;
    let nonce = s.nonce().await;
    let saved = s
        .call(
            reqwest::Method::POST,
            "/v2/cards",
            Some(json!({"idempotency_key": "u1", "source_id": nonce, "card": {"customer_id": customer}})),
        )
        .await["card"]
        .clone();
    let card_id = saved["id"].as_str().expect("card id").to_string();
    assert_eq!(
        (
            saved["exp_month"].clone(),
            saved["exp_year"].clone(),
            saved["version"].clone()
        ),
        (json!(11), json!(2031), json!(1))
    );

    // The card was reissued: Square's account updater sets the new expiry.
    let (status, answer) = admin(
        &sb,
        reqwest::Method::POST,
        &format!("/square/cards/{card_id}/update"),
        Some(json!({"exp_month": 12, "exp_year": 2034, "cardholder_name": "Amelia Earhart"})),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["updated"], true);
    assert_eq!(answer["card"]["exp_month"], 12);
    assert_eq!(answer["card"]["exp_year"], 2034);
    assert_eq!(answer["card"]["version"], 2);

    // The API shows the change.
    let retrieved = s
        .call(reqwest::Method::GET, &format!("/v2/cards/{card_id}"), None)
        .await["card"]
        .clone();
    assert_eq!(retrieved, answer["card"]);
    let mut expected = saved.clone();
    expected["exp_month"] = json!(12);
    expected["exp_year"] = json!(2034);
    expected["cardholder_name"] = json!("Amelia Earhart");
    expected["version"] = json!(2);
    assert_eq!(
        retrieved, expected,
        "only the updated fields and the version change"
    );
    let listed = s
        .call(
            reqwest::Method::GET,
            &format!("/v2/cards?customer_id={customer}"),
            None,
        )
        .await;
    assert_eq!(listed["cards"], json!([expected]));

    // The subscriber gets card.updated, signed, with the card in the Cards API shape.
    let got = received(&receiver, 1).await;
    let e = event(&got[0]);
    assert_eq!(
        header(&got[0], "x-square-hmacsha256-signature"),
        Some(expected_signature(KEY, &url, &got[0].body).as_str())
    );
    assert_eq!(e["type"], "card.updated");
    assert_eq!(e["merchant_id"], saved["merchant_id"]);
    assert_eq!(e["data"]["type"], "card");
    assert_eq!(e["data"]["id"], card_id.as_str());
    assert_eq!(e["data"]["object"], json!({"card": expected}));

    // The same values again change nothing and publish nothing.
    let (status, again) = admin(
        &sb,
        reqwest::Method::POST,
        &format!("/square/cards/{card_id}/update"),
        Some(json!({"exp_month": 12, "tenant": s.token})),
    )
    .await;
    assert_eq!(
        (status, &again["updated"], &again["card"]["version"]),
        (200, &json!(false), &json!(2))
    );

    // Mistakes are named.
    let (status, body) = admin(
        &sb,
        reqwest::Method::POST,
        "/square/cards/ccof:nope/update",
        Some(json!({"exp_month": 1})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"error": {"status": 404, "message": "no card on file ccof:nope"}})
        )
    );
    let (status, body) = admin(
        &sb,
        reqwest::Method::POST,
        &format!("/square/cards/{card_id}/update"),
        Some(json!({"exp_month": 13})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": {"status": 400, "message": "`exp_month` must be an integer from 1 to 12"}})
        )
    );
    let (status, body) = admin(
        &sb,
        reqwest::Method::POST,
        &format!("/square/cards/{card_id}/update"),
        Some(json!({"last_4": "4242"})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"error": {"status": 400, "message": "`last_4` cannot be updated (updatable: exp_month, exp_year, cardholder_name, billing_address)"}})
        )
    );
    // A disabled card is no longer updated.
    s.call(
        reqwest::Method::POST,
        &format!("/v2/cards/{card_id}/disable"),
        None,
    )
    .await;
    let (status, body) = admin(
        &sb,
        reqwest::Method::POST,
        &format!("/square/cards/{card_id}/update"),
        Some(json!({"exp_year": 2035})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (
            409,
            Some(
                format!("card {card_id} is disabled: only enabled cards on file are updated")
                    .as_str()
            )
        )
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.received_requests().await.unwrap().len(), 1);
}

fn scenario_dir(tag: &str, files: &[(&str, String)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "paysandbox-hooks-{tag}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    for (name, text) in files {
        std::fs::write(dir.join(name), text).expect("written");
    }
    dir
}

async fn subscriptions(sb: &Sandbox, tenant: &str) -> Vec<Value> {
    let (status, body) = admin(
        sb,
        reqwest::Method::GET,
        &format!("/square/webhooks/subscriptions?tenant={tenant}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    body["subscriptions"].as_array().expect("list").clone()
}

#[tokio::test]
async fn a_scenario_declares_subscriptions_and_reset_keeps_them_but_not_runtime_ones() {
    let from_scenario = MockServer::start().await;
    let at_runtime = MockServer::start().await;
    for r in [&from_scenario, &at_runtime] {
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200))
            .mount(r)
            .await;
    }
    let token = "EAAAscenario-seller";
    let declared_url = format!("{}/scenario/hooks", from_scenario.uri());
    let dir = scenario_dir(
        "declared",
        &[(
            "square-hooks.yaml",
            format!(
                "name: square-hooks\nprovider: square\nsettings:\n  webhooks:\n    subscriptions:\n      - tenant: {token}\n        notification_url: {declared_url}\n        event_types: [customer.created]\n        signature_key: scenario-key\n        delivery: {{max_attempts: 1}}\n"
            ),
        )],
    );
    let sb = Sandbox::builder()
        .strict(true)
        .scenarios_dir(&dir)
        .scenario("square-hooks")
        .start()
        .await
        .expect("starts");
    let s = Seller {
        http: reqwest::Client::new(),
        base: sb.url(),
        token: token.into(),
    };
    let listed = subscriptions(&sb, token).await;
    assert_eq!(listed.len(), 1);
    let declared = listed[0].clone();
    assert_eq!(declared["origin"], "settings");
    assert_eq!(declared["notification_url"], declared_url.as_str());
    assert_eq!(declared["event_types"], json!(["customer.created"]));
    assert_eq!(declared["signature_key"], "scenario-key");
    assert_eq!(declared["delivery"]["max_attempts"], 1);
    let runtime_url = format!("{}/runtime/hooks", at_runtime.uri());
    let runtime = subscribe(&sb, token, &runtime_url, json!({"signature_key": KEY})).await;
    assert_eq!(runtime["origin"], "runtime");

    s.customer("Both").await;
    let got = received(&from_scenario, 1).await;
    assert_eq!(event(&got[0])["type"], "customer.created");
    assert_eq!(
        header(&got[0], "x-square-hmacsha256-signature"),
        Some(expected_signature("scenario-key", &declared_url, &got[0].body).as_str())
    );
    received(&at_runtime, 1).await;

    // Reset returns to the started state: the scenario's subscription stays, the one
    // registered at run time goes (for one tenant, then for everyone).
    let (status, _) = admin(
        &sb,
        reqwest::Method::POST,
        "/reset",
        Some(json!({"tenant": token})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(subscriptions(&sb, token).await, vec![declared.clone()]);
    subscribe(&sb, token, &runtime_url, json!({})).await;
    let (status, _) = admin(&sb, reqwest::Method::POST, "/reset", None).await;
    assert_eq!(status, 200);
    assert_eq!(subscriptions(&sb, token).await, vec![declared.clone()]);
    s.customer("After reset").await;
    received(&from_scenario, 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(at_runtime.received_requests().await.unwrap().len(), 1);

    // Activating the scenario again replaces its subscription instead of doubling it.
    let (status, _) = admin(
        &sb,
        reqwest::Method::POST,
        "/scenarios/square-hooks/activate",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let again = subscriptions(&sb, token).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["id"], declared["id"]);
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn runtime_subscriptions_survive_a_restart_and_travel_in_the_state_export() {
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let dir = scenario_dir("snapshot", &[]);
    let state_file = dir.join("state.json");
    let token = "EAAAsnapshot-seller";
    let url = format!("{}/hooks", receiver.uri());
    let first = Sandbox::builder()
        .state_file(&state_file)
        .start()
        .await
        .expect("starts");
    let sub = subscribe(
        &first,
        token,
        &url,
        json!({"signature_key": KEY, "event_types": ["customer.created"], "delivery": {"max_attempts": 2, "backoff_ms": 50}}),
    )
    .await;
    first.shutdown().await;
    let saved: Value =
        serde_json::from_slice(&std::fs::read(&state_file).expect("state file")).expect("json");
    assert_eq!(
        saved["providers"]["square"][token]["webhook_subscriptions"],
        json!([{
            "id": sub["id"], "notification_url": url, "event_types": ["customer.created"],
            "signature_key": KEY, "created_at": sub["created_at"],
            "delivery": {"max_attempts": 2, "backoff_ms": 50, "delay_ms": 0, "duplicate": false,
                         "reorder": false, "hold_ms": 1000, "timeout_ms": 10000}
        }])
    );

    // Restarted on the same file: the same subscription, delivering with the same key.
    let second = Sandbox::builder()
        .state_file(&state_file)
        .start()
        .await
        .expect("restarts");
    assert_eq!(subscriptions(&second, token).await, vec![sub.clone()]);
    let s = Seller {
        http: reqwest::Client::new(),
        base: second.url(),
        token: token.into(),
    };
    s.customer("Restarted").await;
    let got = received(&receiver, 1).await;
    assert_eq!(
        header(&got[0], "x-square-hmacsha256-signature"),
        Some(expected_signature(KEY, &url, &got[0].body).as_str())
    );

    // The admin state export carries it; importing it elsewhere restores it.
    let (status, exported) = admin(
        &second,
        reqwest::Method::GET,
        &format!("/state?tenant={token}&provider=square"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let state = exported["providers"]["square"].clone();
    assert_eq!(state["webhook_subscriptions"][0]["id"], sub["id"]);
    let third = Sandbox::builder().start().await.expect("starts");
    let (status, body) = admin(
        &third,
        reqwest::Method::POST,
        "/state",
        Some(json!({"provider": "square", "tenant": token, "state": state})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(subscriptions(&third, token).await, vec![sub.clone()]);
    // A bad subscription in an import is refused, naming it, and changes nothing.
    let (status, body) = admin(
        &third,
        reqwest::Method::POST,
        "/state",
        Some(json!({"provider": "square", "tenant": "EAAAother", "state": {
            "customers": [{"id": "C1"}],
            "webhook_subscriptions": [{"id": "wbhk_x", "notification_url": url, "event_types": ["card.create"]}]
        }})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "square state at `webhook_subscriptions[0].event_types[0]`: unknown event type `card.create` (did you mean card.created?) (known: card.created, card.disabled, card.forgotten, card.updated, customer.created, customer.updated, customer.deleted)"
    );
    assert_eq!(
        subscriptions(&third, "EAAAother").await,
        Vec::<Value>::new()
    );
    assert_eq!(third.state("square", "EAAAother"), None);
    second.shutdown().await;
    third.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
