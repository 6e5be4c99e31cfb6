//! The binary as an operator runs it: readable or JSON logs with one line per request and no
//! card numbers, a clean exit on SIGTERM, and reproducible ids with `--seed`.

mod common;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const PAN: &str = "4111111111111111";

struct Running {
    child: Child,
    url: String,
    /// The "paysandbox ready" line.
    ready: String,
    lines: std::sync::mpsc::Receiver<String>,
}

/// Starts the binary on a free port and reads its address from the ready line.
fn spawn(args: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paysandbox"))
        .args(["serve", "--port", "0"])
        .args(args)
        .env("PAYSANDBOX_LOG", "debug")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("paysandbox starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let ready = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a ready line");
    let addr = ready
        .split(|c: char| c.is_whitespace() || c == '"')
        .find_map(|w| w.strip_prefix("addr="))
        .map(str::to_string)
        .or_else(|| {
            serde_json::from_str::<Value>(&ready)
                .ok()
                .and_then(|v| v["fields"]["addr"].as_str().map(str::to_string))
        })
        .unwrap_or_else(|| panic!("no address in {ready:?}"));
    Running {
        child,
        url: format!("http://{addr}"),
        ready,
        lines: rx,
    }
}

fn stop(mut r: Running) -> Vec<String> {
    let _ = Command::new("kill")
        .args(["-TERM", &r.child.id().to_string()])
        .status();
    let status = r.child.wait().expect("exits");
    assert!(status.success(), "exit status {status}");
    let mut lines = Vec::new();
    while let Ok(l) = r.lines.recv_timeout(Duration::from_secs(2)) {
        lines.push(l);
    }
    lines
}

async fn save_card(url: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{url}/pg/tokens/"))
        .header("X-Client-ID", "ops")
        .header("X-Client-Secret", "ops-secret")
        .header("X-API-Version", "1.0.0")
        .json(&json!({"identifier": "U1", "card_number": PAN, "cardholder_name": "Ana", "expiry_month": 12,
                      "expiry_year": 2030, "network": "visa", "card_type": "credit_card"}))
        .send()
        .await
        .expect("sent")
        .status()
}

#[tokio::test]
async fn text_logs_have_one_line_per_request_and_no_card_numbers() {
    let r = spawn(&[]);
    assert_eq!(save_card(&r.url).await, 200);
    assert_eq!(save_card(&r.url).await, 409);
    let url = r.url.clone();
    let lines = stop(r);
    let requests: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("paysandbox::request"))
        .collect();
    assert_eq!(requests.len(), 2, "{lines:#?}");
    assert!(
        requests[0].contains("operation=\"saveCardToken\"") && requests[0].contains("status=200"),
        "{}",
        requests[0]
    );
    assert!(
        lines.iter().any(|l| l.contains("shutting down")),
        "{lines:#?}"
    );
    let all = lines.join("\n");
    assert!(!all.contains(PAN) && !all.contains("ops-secret"), "{all}");
    assert!(!url.is_empty());
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let r = spawn(&["--log-format", "json"]);
    assert_eq!(save_card(&r.url).await, 200);
    let lines = stop(r);
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let request = parsed
        .iter()
        .find(|v| v["target"] == "paysandbox::request")
        .expect("a request line");
    assert_eq!(request["fields"]["status"], 200);
    assert_eq!(request["fields"]["operation"], "saveCardToken");
    assert!(!lines.join("\n").contains(PAN));
}

#[tokio::test]
async fn workers_default_to_half_the_cores_and_follow_the_operators_choice() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let r = spawn(&[]);
    assert!(
        r.ready.contains(&format!("workers={}", (cores / 2).max(1))),
        "{cores} cores: {}",
        r.ready
    );
    stop(r);

    let r = spawn(&["--workers", "3"]);
    assert!(r.ready.contains("workers=3"), "{}", r.ready);
    assert_eq!(save_card(&r.url).await, 200);
    stop(r);
}

#[test]
fn zero_workers_is_refused_with_the_option_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_paysandbox"))
        .args(["serve", "--port", "0", "--workers", "0"])
        .output()
        .expect("paysandbox runs");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid value '0' for '--workers <WORKERS>'"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_same_seed_generates_the_same_ids() {
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let sb = common::start_with(paysandbox::Sandbox::builder().seed(42)).await;
        let mut run = Vec::new();
        for id in ["U1", "U2", "U3"] {
            let a = sb
                .send(
                    reqwest::Method::POST,
                    "/pg/tokens/",
                    &[("X-Client-ID", "c"), ("X-Client-Secret", "s"), ("X-API-Version", "1.0.0")],
                    Some(json!({"identifier": id, "card_number": PAN, "cardholder_name": "Ana", "expiry_month": 12,
                                "expiry_year": 2030, "network": "visa", "card_type": "credit_card"})),
                )
                .await;
            run.push(a.body["data"]["card_token"].clone());
        }
        tokens.push(run);
    }
    assert_eq!(tokens[0], tokens[1]);
    assert_ne!(tokens[0][0], tokens[0][1]);
}
