//! Record and proxy over real HTTP, with wiremock standing in for the real sandbox:
//! transparent forwarding, journaled exchanges, redacted recordings that replay to the same
//! answers, and `compare` flagging drift.

use paysandbox::Sandbox;
use paysandbox::journal::Filter;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "EAAAl-real-looking-access-token-0123456789";
const PAN: &str = "4111111111111111";

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "paysandbox-{tag}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("recorded dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    out.sort();
    out
}

async fn send(
    base: &str,
    m: reqwest::Method,
    p: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new()
        .request(m, format!("{base}{p}"))
        .bearer_auth(TOKEN)
        .header("square-version", "2025-08-20")
        .header("x-trace-id", "trace-77");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("sent");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.text().await.expect("body"))
}

#[tokio::test]
async fn proxying_is_transparent_journaled_and_recordings_replay_redacted() {
    let upstream = MockServer::start().await;
    let created = json!({"customer": {"id": "UPSTREAM1", "given_name": "Ana", "note": format!("card {PAN}"), "version": 0}});
    Mock::given(method("POST"))
        .and(path("/v2/customers"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("x-trace-id", "trace-77"))
        .and(body_json(
            json!({"given_name": "Ana", "note": format!("card {PAN}")}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-upstream", "real")
                .set_body_json(&created),
        )
        .mount(&upstream)
        .await;
    let conflict =
        r#"{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"CONFLICT","detail":"stale"}]}"#;
    Mock::given(method("PUT"))
        .and(path("/v2/customers/UPSTREAM1"))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_raw(conflict.as_bytes().to_vec(), "application/json"),
        )
        .mount(&upstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/cards"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"cards": []})))
        .mount(&upstream)
        .await;

    let dir = temp_dir("record");
    let sb = Sandbox::builder()
        .proxy("square", upstream.uri())
        .record(&dir)
        .start()
        .await
        .expect("starts");
    let base = sb.url();

    let (status, headers, body) = send(
        &base,
        reqwest::Method::POST,
        "/v2/customers",
        Some(json!({"given_name": "Ana", "note": format!("card {PAN}")})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("x-upstream").unwrap(), "real");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), created);
    let (status, _, body) = send(
        &base,
        reqwest::Method::PUT,
        "/v2/customers/UPSTREAM1",
        Some(json!({"version": 3})),
    )
    .await;
    assert_eq!((status, body.as_str()), (409, conflict), "byte for byte");
    let (status, _, body) = send(
        &base,
        reqwest::Method::GET,
        "/v2/cards?customer_id=UPSTREAM1",
        None,
    )
    .await;
    assert_eq!((status, body.as_str()), (200, r#"{"cards":[]}"#));
    assert_eq!(upstream.received_requests().await.unwrap().len(), 3);
    // Other providers are still emulated.
    let mp = reqwest::Client::new()
        .get(format!("{base}/v1/customers/search"))
        .send()
        .await
        .expect("sent");
    assert_eq!(mp.status(), 401);

    // The journal holds both sides of each proxied exchange (masked).
    let proxied: Vec<_> = sb
        .journal(&Filter::default())
        .into_iter()
        .filter(|e| e.direction == paysandbox::journal::PROXIED)
        .collect();
    assert_eq!(proxied.len(), 3);
    assert_eq!(proxied[0].operation.as_deref(), Some("CreateCustomer"));
    assert_eq!(proxied[1].status, 409);
    let shown = proxied[0].to_json();
    assert_eq!(shown["response"]["body"]["customer"]["id"], "UPSTREAM1");
    assert!(!shown.to_string().contains(PAN));
    assert!(!shown.to_string().contains(TOKEN));

    // One file per exchange, with no secret and no card number in any of them.
    let recorded = files(&dir);
    assert_eq!(recorded.len(), 3);
    for f in &recorded {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains(PAN), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains("real-looking"), "{text}");
    }
    let first: Value =
        serde_json::from_str(&std::fs::read_to_string(&recorded[0]).unwrap()).unwrap();
    assert_eq!(first["rules"][0]["when"]["operation"], "CreateCustomer");
    assert_eq!(
        first["example"]["request"]["headers"]["authorization"],
        "Bearer REDACTED"
    );
    assert_eq!(
        first["rules"][0]["respond"]["body"]["customer"]["note"],
        "card 411111******1111"
    );
    let second: Value =
        serde_json::from_str(&std::fs::read_to_string(&recorded[1]).unwrap()).unwrap();
    assert_eq!(
        second["rules"][0]["when"],
        json!({"operation": "UpdateCustomer", "path": {"customer_id": "UPSTREAM1"}})
    );
    // HEAD goes through with the upstream's Content-Length, and is not recorded: it has no
    // body to replay.
    Mock::given(method("HEAD"))
        .and(path("/v2/cards"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"cards": []})))
        .mount(&upstream)
        .await;
    let (status, headers, body) = send(&base, reqwest::Method::HEAD, "/v2/cards", None).await;
    assert_eq!((status, body.as_str()), (200, ""));
    assert_eq!(
        headers.get("content-length").and_then(|v| v.to_str().ok()),
        Some("12")
    );
    assert_eq!(files(&dir).len(), 3);
    sb.shutdown().await;

    // The recordings load as scenarios and, activated, answer as the upstream did.
    let mut builder = Sandbox::builder().scenarios_dir(&dir);
    for f in &recorded {
        builder = builder.scenario(f.file_stem().unwrap().to_string_lossy());
    }
    let replay = builder.start().await.expect("recordings load");
    let (status, _, body) = send(
        &replay.url(),
        reqwest::Method::POST,
        "/v2/customers",
        Some(json!({"given_name": "Ana"})),
    )
    .await;
    assert_eq!(status, 200);
    let mut masked = created.clone();
    masked["customer"]["note"] = json!("card 411111******1111");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), masked);
    let (status, _, body) = send(
        &replay.url(),
        reqwest::Method::PUT,
        "/v2/customers/UPSTREAM1",
        Some(json!({"version": 3})),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        serde_json::from_str::<Value>(conflict).unwrap()
    );
    let (status, _, body) = send(&replay.url(), reqwest::Method::GET, "/v2/cards", None).await;
    assert_eq!((status, body.as_str()), (200, r#"{"cards":[]}"#));
    // The rule matches its path parameters only: another customer is emulated.
    let (status, _, _) = send(
        &replay.url(),
        reqwest::Method::PUT,
        "/v2/customers/OTHER",
        Some(json!({"version": 3})),
    )
    .await;
    assert_eq!(status, 404);
    replay.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Records one CreateCustomer whose upstream answer is `answer`.
async fn record_create(answer: &Value) -> PathBuf {
    let upstream = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&upstream)
        .await;
    let dir = temp_dir("compare");
    let sb = Sandbox::builder()
        .proxy("square", upstream.uri())
        .record(&dir)
        .start()
        .await
        .expect("starts");
    let (status, _, _) = send(
        &sb.url(),
        reqwest::Method::POST,
        "/v2/customers",
        Some(json!({"given_name": "Ana", "email_address": "ana@example.com"})),
    )
    .await;
    assert_eq!(status, 200);
    sb.shutdown().await;
    dir
}

#[tokio::test]
async fn compare_reports_drift_in_field_types_and_exits_non_zero() {
    // What the emulation answers, as a faithful upstream would.
    let emulation = Sandbox::builder().start().await.expect("starts");
    let (_, _, body) = send(
        &emulation.url(),
        reqwest::Method::POST,
        "/v2/customers",
        Some(json!({"given_name": "Ana", "email_address": "ana@example.com"})),
    )
    .await;
    emulation.shutdown().await;
    let faithful: Value = serde_json::from_str(&body).unwrap();

    let same = record_create(&faithful).await;
    let report = paysandbox::proxy::compare::compare(&same, paysandbox::Config::default())
        .await
        .expect("compared");
    assert_eq!(report.exchanges, 1);
    assert_eq!(report.differences, vec![]);

    let mut drifted = faithful.clone();
    drifted["customer"]["version"] = json!("0");
    drifted["customer"]["segment_ids"] = json!(["S1"]);
    let changed = record_create(&drifted).await;
    let report = paysandbox::proxy::compare::compare(&changed, paysandbox::Config::default())
        .await
        .expect("compared");
    let found: Vec<(String, String, String)> = report
        .differences
        .iter()
        .map(|d| (d.at.clone(), d.recorded.clone(), d.emulated.clone()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "/customer/version".into(),
                "string".into(),
                "integer".into()
            ),
            (
                "/customer/segment_ids".into(),
                "array".into(),
                "missing".into()
            ),
        ]
    );

    // The command line: 0 without differences, 1 with, each difference on its own line.
    let bin = env!("CARGO_BIN_EXE_paysandbox");
    let ok = std::process::Command::new(bin)
        .args(["compare", same.to_str().unwrap()])
        .output()
        .expect("runs");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let bad = std::process::Command::new(bin)
        .args(["compare", changed.to_str().unwrap()])
        .output()
        .expect("runs");
    assert_eq!(bad.status.code(), Some(1));
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(
        out.contains("type /customer/version: recorded string, emulated integer"),
        "{out}"
    );
    assert!(out.contains("1 exchanges compared, 2 differences"), "{out}");
    let _ = std::fs::remove_dir_all(&same);
    let _ = std::fs::remove_dir_all(&changed);
}

const MP_TOKEN: &str = "TEST-8237283748732847-052210-6b2f3c9e4d5a6b7c8d9e0f1a2b3c4d5e-448870796";

/// One request of a recorded integration: method, path, headers, body.
struct Step {
    method: reqwest::Method,
    path: String,
    headers: Vec<(&'static str, &'static str)>,
    body: Option<Value>,
}

async fn run(base: &str, step: &Step) -> (u16, Value) {
    let mut req =
        reqwest::Client::new().request(step.method.clone(), format!("{base}{}", step.path));
    for (k, v) in &step.headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = &step.body {
        req = req.json(b);
    }
    let res = req.send().await.expect("sent");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

const MP: &[(&str, &str)] = &[(
    "authorization",
    "Bearer TEST-8237283748732847-052210-6b2f3c9e4d5a6b7c8d9e0f1a2b3c4d5e-448870796",
)];
const EXIMPE: &[(&str, &str)] = &[
    ("x-client-id", "shop-real-client"),
    ("x-client-secret", "real-secret-value"),
    ("x-api-version", "1.0.0"),
];

/// A Mercado Pago customer created then retrieved, and an Eximpe card saved, listed and
/// deleted — each later step naming what an earlier one created.
async fn integration(base: &str) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    let created = run(
        base,
        &Step {
            method: reqwest::Method::POST,
            path: "/v1/customers".into(),
            headers: MP.to_vec(),
            body: Some(json!({"email": "compare_payer@testuser.com", "first_name": "Ana"})),
        },
    )
    .await;
    let customer = created.1["id"].as_str().expect("customer id").to_string();
    out.push(created);
    out.push(
        run(
            base,
            &Step {
                method: reqwest::Method::GET,
                path: format!("/v1/customers/{customer}"),
                headers: MP.to_vec(),
                body: None,
            },
        )
        .await,
    );
    let saved = run(
        base,
        &Step {
            method: reqwest::Method::POST,
            path: "/pg/tokens/".into(),
            headers: EXIMPE.to_vec(),
            body: Some(json!({"identifier": "USER_CMP_1", "card_number": PAN, "cardholder_name": "John Doe",
                              "expiry_month": 5, "expiry_year": 2040, "network": "visa", "card_type": "credit_card"})),
        },
    )
    .await;
    let token = saved.1["data"]["card_token"]
        .as_str()
        .expect("card token")
        .to_string();
    out.push(saved);
    out.push(
        run(
            base,
            &Step {
                method: reqwest::Method::GET,
                path: "/pg/tokens/?identifier=USER_CMP_1".into(),
                headers: EXIMPE.to_vec(),
                body: None,
            },
        )
        .await,
    );
    out.push(
        run(
            base,
            &Step {
                method: reqwest::Method::POST,
                path: "/pg/tokens/delete/".into(),
                headers: EXIMPE.to_vec(),
                body: Some(json!({"card_token": token, "identifier": "USER_CMP_1"})),
            },
        )
        .await,
    );
    out
}

#[tokio::test]
async fn mercadopago_and_eximpe_recordings_compare_clean_with_stand_in_credentials_and_ids() {
    // The provider's real shapes: what a faithful upstream answers (the emulation itself).
    let faithful = Sandbox::builder()
        .strict(true)
        .start()
        .await
        .expect("starts");
    let answers = integration(&faithful.url()).await;
    faithful.shutdown().await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [201, 200, 200, 200, 200]);
    let customer = answers[0].1["id"].as_str().unwrap().to_string();

    let upstream = MockServer::start().await;
    let mount = |m: &'static str, p: String, i: usize| {
        let (status, body) = answers[i].clone();
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
    };
    mount("POST", "/v1/customers".into(), 0)
        .mount(&upstream)
        .await;
    mount("GET", format!("/v1/customers/{customer}"), 1)
        .mount(&upstream)
        .await;
    mount("POST", "/pg/tokens/".into(), 2)
        .mount(&upstream)
        .await;
    mount("GET", "/pg/tokens/".into(), 3).mount(&upstream).await;
    mount("POST", "/pg/tokens/delete/".into(), 4)
        .mount(&upstream)
        .await;

    let dir = temp_dir("compare-mp-eximpe");
    let recorder = Sandbox::builder()
        .proxy("mercadopago", upstream.uri())
        .proxy("eximpe", upstream.uri())
        .record(&dir)
        .start()
        .await
        .expect("starts");
    assert_eq!(
        integration(&recorder.url()).await,
        answers,
        "proxied unchanged"
    );
    recorder.shutdown().await;
    let recorded = files(&dir);
    assert_eq!(recorded.len(), 5);
    for f in &recorded {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            !text.contains(MP_TOKEN) && !text.contains("real-secret-value") && !text.contains(PAN),
            "{text}"
        );
    }

    // Replayed with credentials the emulation accepts, and with the emulation's own ids in
    // place of the upstream's: no 401, no 404, no difference.
    let report = paysandbox::proxy::compare::compare(&dir, paysandbox::Config::default())
        .await
        .expect("compared");
    assert_eq!(report.exchanges, 5);
    assert_eq!(report.differences, vec![]);
    let bin = env!("CARGO_BIN_EXE_paysandbox");
    let out = std::process::Command::new(bin)
        .args(["compare", dir.to_str().unwrap()])
        .output()
        .expect("runs");
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
        ),
        (Some(0), "5 exchanges compared, 0 differences\n".to_string())
    );

    // A field the upstream answers differently is still flagged.
    let save = recorded
        .iter()
        .find(|f| f.to_string_lossy().ends_with("-savecardtoken.yaml"))
        .expect("the save's recording");
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(save).unwrap()).unwrap();
    doc["example"]["response"]["body"]["data"]["card_label"] = json!(42);
    std::fs::write(save, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let report = paysandbox::proxy::compare::compare(&dir, paysandbox::Config::default())
        .await
        .expect("compared");
    let found: Vec<(&str, &str, &str, &str)> = report
        .differences
        .iter()
        .map(|d| {
            (
                d.kind,
                d.at.as_str(),
                d.recorded.as_str(),
                d.emulated.as_str(),
            )
        })
        .collect();
    assert_eq!(found, [("type", "/data/card_label", "integer", "string")]);
    let _ = std::fs::remove_dir_all(&dir);
}
