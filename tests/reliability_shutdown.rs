//! Shutdown without loss, with the real binary: SIGTERM lets in-flight requests finish, then
//! writes the state file; `kill -9` at any moment — even mid-snapshot — leaves a complete
//! snapshot behind.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const MP: &str = "Bearer TEST-7777777777-112233-dddddddd-777777777";

fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paysandbox"))
        .args(["serve", "--port", "0", "--log-format", "json"])
        .args(args)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("paysandbox starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines.next().expect("a ready line").expect("readable");
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && let Some(addr) = v["fields"]["addr"].as_str()
        {
            break addr.to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, format!("http://{addr}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("paysandbox-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let r = client
        .post(url)
        .header("Authorization", MP)
        .json(&body)
        .send()
        .await
        .expect("sent");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_then_saves_the_state() {
    let dir = scratch("drain");
    let state = dir.join("state.json");
    let (mut child, url) = spawn(&[
        "--state-file",
        state.to_str().unwrap_or_default(),
        "--scenario",
        "mp-save-card-slow",
    ]);
    let client = reqwest::Client::new();
    let (s, customer) = post(
        &client,
        format!("{url}/v1/customers"),
        json!({"email": "test_payer_9@testuser.com"}),
    )
    .await;
    assert_eq!(s, 201, "{customer}");
    let (s, token) = post(
        &client,
        format!("{url}/v1/card_tokens"),
        json!({"card_number": "4235647728025682", "expiration_month": 11, "expiration_year": 2030, "security_code": "123",
               "cardholder": {"name": "APRO", "identification": {"type": "CPF", "number": "12345678909"}}}),
    )
    .await;
    assert_eq!(s, 201, "{token}");

    // The save is held 1.5–3 s by the scenario; SIGTERM arrives while it is in flight.
    let save_url = format!(
        "{url}/v1/customers/{}/cards",
        customer["id"].as_str().unwrap_or_default()
    );
    let save_client = client.clone();
    let save =
        tokio::spawn(
            async move { post(&save_client, save_url, json!({"token": token["id"]})).await },
        );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();

    let (status, card) = save.await.expect("the in-flight request completes");
    assert_eq!(status, 201, "{card}");
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("joined")
        .expect("exits");
    assert!(exit.success(), "{exit}");

    let snapshot: Value =
        serde_json::from_slice(&std::fs::read(&state).expect("state written on shutdown"))
            .expect("JSON");
    let saved = snapshot.to_string();
    assert!(
        saved.contains(card["id"].as_str().unwrap_or("no card id")),
        "the drained save is in the snapshot"
    );
    assert!(
        !saved.contains("4235647728025682"),
        "no card number in the snapshot"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn cards_in(path: &Path) -> usize {
    let snapshot: Value = serde_json::from_slice(&std::fs::read(path).expect("readable"))
        .expect("a complete JSON snapshot");
    assert_eq!(snapshot["format"], "paysandbox-state");
    snapshot["providers"]["eximpe"]
        .as_object()
        .map(|tenants| {
            tenants
                .values()
                .map(|t| t["cards"].as_array().map_or(0, Vec::len))
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn kill_9_at_any_moment_leaves_a_complete_snapshot() {
    let dir = scratch("kill9");
    let state = dir.join("state.json");
    let state_arg = state.to_str().unwrap_or_default().to_string();
    // A state big enough that writing it takes a while: 4 000 saved cards.
    let (mut child, url) = spawn(&[
        "--state-file",
        &state_arg,
        "--snapshot-interval",
        "1",
        "--body-limit",
        "67108864",
    ]);
    let cards: Vec<Value> = (0..4_000)
        .map(|i| json!({"card_token": format!("tok{i:017}"), "identifier": format!("USER_{}", i % 500),
                        "cardholder_name": "Priya Sharma", "network": "visa", "card_type": "credit_card",
                        "expiry_month": 5, "expiry_year": 2030, "card_number": "4111111111111111"}))
        .collect();
    let seeded = reqwest::Client::new()
        .post(format!("{url}/__sandbox/state"))
        .json(&json!({"provider": "eximpe", "tenant": "bulk-client", "state": {"cards": cards}}))
        .send()
        .await
        .expect("sent");
    assert_eq!(seeded.status().as_u16(), 200);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().expect("exits").success());
    assert_eq!(cards_in(&state), 4_000);

    // Now kill -9 repeatedly while periodic snapshots are being written.
    for round in 0..4u64 {
        let (mut child, _) = spawn(&["--state-file", &state_arg, "--snapshot-interval", "1"]);
        tokio::time::sleep(Duration::from_millis(900 + round * 130)).await;
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = child.wait();
        assert_eq!(
            cards_in(&state),
            4_000,
            "round {round}: the snapshot is complete"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
