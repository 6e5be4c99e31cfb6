//! Connection faults, as a real client sees them: a reset, a connection closed with no
//! answer, a connection closed after the headers, and a body that trickles.

mod common;

use serde_json::json;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn save_card_request(scenario: &str) -> Vec<u8> {
    let body = r#"{"token":"9b2d63e00d66a8c721607214ceda233a"}"#;
    format!(
        "POST /v1/customers/1234567890-AbCdEfGhIjKlMn/cards HTTP/1.1\r\nHost: sandbox\r\n\
         Authorization: Bearer TEST-1234567890-112233-abcdef-448870796\r\n\
         X-Sandbox-Scenario: {scenario}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends raw bytes and reads until the server closes: what arrived, and how it ended.
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> (Vec<u8>, std::io::Result<()>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Err(_) => panic!(
                "the server neither answered nor closed: {:?}",
                String::from_utf8_lossy(&got)
            ),
            Ok(Ok(0)) => break Ok(()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => break Err(e),
        }
    };
    (got, end)
}

#[tokio::test]
async fn a_reset_scenario_resets_the_connection() {
    let sb = common::start().await;
    let (got, end) = exchange(
        sb.sandbox.addr(),
        &save_card_request("mp-save-card-connection-reset"),
    )
    .await;
    assert!(
        got.is_empty(),
        "no byte of answer: {:?}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(end.unwrap_err().kind(), std::io::ErrorKind::ConnectionReset);

    // An HTTP client reports it as a failed request, not as an answer.
    let err = sb
        .client
        .post(sb.url("/v1/customers/1234567890-AbCdEfGhIjKlMn/cards"))
        .header(
            "Authorization",
            "Bearer TEST-1234567890-112233-abcdef-448870796",
        )
        .header("X-Sandbox-Scenario", "mp-save-card-connection-reset")
        .json(&json!({"token": "9b2d63e00d66a8c721607214ceda233a"}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    // The sandbox is unharmed: the next request gets the provider's own answer (this
    // tenant has no such customer).
    let ok = sb
        .send(
            reqwest::Method::POST,
            "/v1/customers/1234567890-AbCdEfGhIjKlMn/cards",
            &[(
                "Authorization",
                "Bearer TEST-1234567890-112233-abcdef-448870796",
            )],
            Some(json!({"token": "9b2d63e00d66a8c721607214ceda233a"})),
        )
        .await;
    assert_eq!(
        (ok.status, ok.body),
        (
            404,
            json!({"message": "customer not found", "error": "not_found", "status": 404, "cause": [[]]})
        )
    );
}

#[tokio::test]
async fn an_empty_response_scenario_closes_without_answering() {
    let sb = common::start().await;
    let (got, end) = exchange(
        sb.sandbox.addr(),
        &save_card_request("mp-save-card-empty-response"),
    )
    .await;
    assert!(end.is_ok(), "a clean close, not a reset: {end:?}");
    assert!(
        got.is_empty(),
        "no byte of answer: {:?}",
        String::from_utf8_lossy(&got)
    );

    let err = sb
        .client
        .post(sb.url("/v1/customers/1234567890-AbCdEfGhIjKlMn/cards"))
        .header(
            "Authorization",
            "Bearer TEST-1234567890-112233-abcdef-448870796",
        )
        .header("X-Sandbox-Scenario", "mp-save-card-empty-response")
        .json(&json!({"token": "9b2d63e00d66a8c721607214ceda233a"}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_request(), "{err:?}");
}

#[tokio::test]
async fn close_after_headers_sends_the_head_then_drops_the_body() {
    let sb = common::start().await;
    let seeded = sb
        .send(
            reqwest::Method::POST,
            "/__sandbox/state",
            &[],
            Some(json!({"provider": "square", "tenant": "EAAA-faults",
                        "state": {"customers": [{"id": "JDKYHBWT1D4F8MFH63DBMEN8Y4", "given_name": "Amelia"}]}})),
        )
        .await;
    assert_eq!(seeded.status, 200, "{}", seeded.body);
    let body = r#"{"card_nonce":"cnon:card-nonce-ok"}"#;
    let request = format!(
        "POST /v2/customers/JDKYHBWT1D4F8MFH63DBMEN8Y4/cards HTTP/1.1\r\nHost: sandbox\r\n\
         Authorization: Bearer EAAA-faults\r\nSquare-Version: 2025-08-20\r\n\
         X-Sandbox-Scenario: square-create-customer-card-close-after-headers\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (got, _) = exchange(sb.sandbox.addr(), request.as_bytes()).await;
    let text = String::from_utf8_lossy(&got).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").expect("a complete head");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(|v| v.trim().parse().unwrap())
        })
        .expect("content-length");
    assert!(length > 0);
    assert_eq!(rest, "", "no byte of the body");
    assert!(
        head.to_ascii_lowercase()
            .contains("x-sandbox-scenario-rule: square-create-customer-card-close-after-headers#0")
    );

    // reqwest gets the status and headers, then fails reading the body.
    let response = sb
        .client
        .post(sb.url("/v2/customers/JDKYHBWT1D4F8MFH63DBMEN8Y4/cards"))
        .header("Authorization", "Bearer EAAA-faults")
        .header(
            "X-Sandbox-Scenario",
            "square-create-customer-card-close-after-headers",
        )
        .json(&json!({"card_nonce": "cnon:card-nonce-ok"}))
        .send()
        .await
        .expect("the head arrives");
    assert_eq!(response.status(), 200);
    let err = response.bytes().await.unwrap_err();
    assert!(
        err.is_body() || err.is_decode() || err.is_request(),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_slow_body_trickles_but_arrives_whole() {
    let sb = common::start().await;
    let body = json!({"identifier": "USER_PS_001", "card_number": "4111111111111111", "cardholder_name": "Priya Sharma",
        "expiry_month": 5, "expiry_year": 2030, "network": "visa", "card_type": "credit_card", "nickname": "Travel card"});
    let headers = [
        ("X-Client-ID", "client-a"),
        ("X-Client-Secret", "secret-a"),
        ("X-API-Version", "1.0.0"),
    ];
    let plain = sb
        .send(
            reqwest::Method::POST,
            "/pg/tokens/",
            &headers,
            Some(body.clone()),
        )
        .await;
    assert_eq!(plain.status, 200, "{}", plain.body);
    let size = serde_json::to_vec(&plain.body).unwrap().len();
    // Another owner, so the slow save is not a duplicate of the plain one.
    let mut body = body;
    body["identifier"] = json!("USER_PS_002");
    let mut slow_headers = headers.to_vec();
    slow_headers.push(("X-Sandbox-Scenario", "eximpe-save-card-slow-body"));
    let started = Instant::now();
    let slow = sb
        .send(
            reqwest::Method::POST,
            "/pg/tokens/",
            &slow_headers,
            Some(body),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(slow.status, plain.status);
    let mut expected = plain.body.clone();
    expected["data"]["card_token"] = slow.body["data"]["card_token"].clone();
    assert_eq!(slow.body, expected, "the same answer, only slower");
    assert_ne!(
        slow.body["data"]["card_token"],
        plain.body["data"]["card_token"]
    );
    // 8 bytes every 250 ms: the last chunk leaves (chunks - 1) intervals after the first.
    let chunks = size.div_ceil(8) as u32;
    assert!(
        took >= Duration::from_millis(250) * (chunks - 1),
        "{size} bytes in {took:?}"
    );
}
