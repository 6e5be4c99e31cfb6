//! Connection hygiene, over raw sockets: slow-header and idle clients are cut off, a cap
//! bounds open connections, pipelining, `Expect: 100-continue` and chunked bodies work — and
//! none of it stalls other clients.

mod common;

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SQ_GET: &[u8] =
    b"GET /v2/cards HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer EAAA-hygiene\r\n\r\n";

async fn read_some(stream: &mut TcpStream, wait: Duration) -> Vec<u8> {
    let mut buf = vec![0u8; 65536];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(n)) => buf[..n].to_vec(),
        _ => Vec::new(),
    }
}

/// Reads until the peer closes (or `wait` passes); returns what arrived and whether it closed.
async fn read_to_close(stream: &mut TcpStream, wait: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let deadline = Instant::now() + wait;
    loop {
        let mut buf = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => return (out, true),
            Err(_) => return (out, false),
        }
    }
}

async fn quick_get(addr: std::net::SocketAddr) -> String {
    let text = common::raw_exchange(addr, SQ_GET).await;
    text.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn slow_header_and_idle_clients_are_cut_off_without_stalling_others() {
    let sb =
        common::start_with(paysandbox::Sandbox::builder().idle_timeout(Duration::from_secs(2)))
            .await;
    let addr = sb.sandbox.addr();

    // A client that never finishes its headers.
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    slow.write_all(b"GET /v2/cards HTTP/1.1\r\nHost: sandbox\r\n")
        .await
        .expect("write");
    // A keep-alive client that goes quiet after one request.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(SQ_GET).await.expect("write");
    let first = read_some(&mut idle, Duration::from_secs(5)).await;
    assert!(
        first.starts_with(b"HTTP/1.1 200 OK"),
        "{}",
        String::from_utf8_lossy(&first)
    );

    // Meanwhile everyone else is served — while the slow client still holds its connection.
    assert_eq!(quick_get(addr).await, "HTTP/1.1 200 OK");
    let (early, closed_early) = read_to_close(&mut slow, Duration::from_millis(1)).await;
    assert!(
        early.is_empty() && !closed_early,
        "served before the slow client was cut off"
    );

    let (_, slow_closed) = read_to_close(&mut slow, Duration::from_secs(5)).await;
    assert!(slow_closed, "the slow-header connection must be closed");
    let (rest, idle_closed) = read_to_close(&mut idle, Duration::from_secs(5)).await;
    assert!(
        idle_closed && rest.is_empty(),
        "the idle connection must be closed"
    );
}

#[tokio::test]
async fn connections_over_the_cap_get_a_quick_503_and_slots_free_up() {
    let sb = common::start_with(paysandbox::Sandbox::builder().max_connections(2)).await;
    let addr = sb.sandbox.addr();
    let mut held: Vec<TcpStream> = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(SQ_GET).await.expect("write");
        assert!(
            read_some(&mut s, Duration::from_secs(5))
                .await
                .starts_with(b"HTTP/1.1 200 OK")
        );
        held.push(s);
    }
    let mut third = TcpStream::connect(addr).await.expect("connect");
    let (answer, closed) = read_to_close(&mut third, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(closed);
    assert!(
        text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{text}"
    );
    assert!(text.contains("retry-after: 1\r\n"), "{text}");
    assert!(
        text.ends_with(
            r#"{"error":{"status":503,"message":"too many open connections; retry in a moment"}}"#
        ),
        "{text}"
    );

    drop(held.pop());
    // The slot frees as soon as the server sees the close.
    let mut ok = false;
    for _ in 0..50 {
        if quick_get(addr).await == "HTTP/1.1 200 OK" {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "a freed slot serves the next client");
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let sb = common::start().await;
    let mut s = TcpStream::connect(sb.sandbox.addr())
        .await
        .expect("connect");
    let pipelined = b"GET /__sandbox/health HTTP/1.1\r\nHost: x\r\n\r\nGET /v2/nothing HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer EAAA-p\r\n\r\nGET /__sandbox/journal/count HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    s.write_all(pipelined).await.expect("write");
    let (all, closed) = read_to_close(&mut s, Duration::from_secs(5)).await;
    assert!(closed);
    let text = String::from_utf8_lossy(&all);
    let statuses: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &text[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, vec!["200", "404", "200"], "{text}");
    assert!(
        text.ends_with(r#"{"count":1}"#),
        "the third answer sees the second request: {text}"
    );
}

#[tokio::test]
async fn expect_100_continue_gets_its_interim_answer_before_the_body() {
    let sb = common::start().await;
    let mut s = TcpStream::connect(sb.sandbox.addr())
        .await
        .expect("connect");
    let body = br#"{"given_name": "Amelia"}"#;
    let head = format!(
        "POST /v2/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer EAAA-continue\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write");
    let interim = read_some(&mut s, Duration::from_secs(5)).await;
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue\r\n"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    s.write_all(body).await.expect("write");
    let answer = read_some(&mut s, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains(r#""given_name":"Amelia""#), "{text}");
}

#[tokio::test]
async fn chunked_bodies_are_read_and_still_size_limited() {
    let sb = common::start_with(paysandbox::Sandbox::builder().body_limit(512)).await;
    let body = r#"{"given_name": "Amelia", "family_name": "Earhart"}"#;
    let (a, b) = body.split_at(10);
    let request = format!(
        "POST /v2/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer EAAA-chunked\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
        a.len(),
        b.len()
    );
    let text = common::raw_exchange(sb.sandbox.addr(), request.as_bytes()).await;
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains(r#""family_name":"Earhart""#), "{text}");

    let chunk = "x".repeat(400);
    let request = format!(
        "POST /v2/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer EAAA-chunked\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len(),
        chunk.len()
    );
    let text = common::raw_exchange(sb.sandbox.addr(), request.as_bytes()).await;
    assert!(
        text.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{text}"
    );
    assert!(
        text.contains(r#""code":"REQUEST_ENTITY_TOO_LARGE""#),
        "{text}"
    );
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_the_body_is_sent() {
    let sb = common::start_with(paysandbox::Sandbox::builder().body_limit(512)).await;
    let addr = sb.sandbox.addr();
    let mut client = TcpStream::connect(addr).await.expect("connect");
    // The client waits for `100 Continue` before sending 5 MB; it gets the 413 instead.
    client
        .write_all(
            b"POST /v1/customers HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer TEST-1-2-3-4\r\n\
              Content-Type: application/json\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .expect("write");
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut answer))
        .await
        .expect("answered before the body")
        .expect("read");
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(
        text.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{text}"
    );
    assert!(
        text.contains(r#"{"message":"the request body is too large.","error":"request_entity_too_large","status":413,"cause":[]}"#),
        "{text}"
    );
    assert!(!text.contains("100 Continue"), "{text}");
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_answered_not_held() {
    let sb =
        common::start_with(paysandbox::Sandbox::builder().idle_timeout(Duration::from_secs(1)))
            .await;
    let addr = sb.sandbox.addr();
    let mut short = TcpStream::connect(addr).await.expect("connect");
    short
        .write_all(
            b"POST /pg/tokens/ HTTP/1.1\r\nHost: sandbox\r\nX-Client-ID: c\r\nX-Client-Secret: s\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":",
        )
        .await
        .expect("write");
    // Others are served meanwhile.
    let mut other = TcpStream::connect(addr).await.expect("connect");
    other.write_all(SQ_GET).await.expect("write");
    let served = read_some(&mut other, Duration::from_secs(5)).await;
    assert!(
        served.starts_with(b"HTTP/1.1 200 OK"),
        "{}",
        String::from_utf8_lossy(&served)
    );
    // After the idle timeout the short body gets Eximpe's answer for a broken body, and the
    // connection is closed: its body never ended.
    let (answer, closed) = read_to_close(&mut short, Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400 Bad Request"), "{text}");
    assert!(
        text.ends_with(r#"{"success":false,"error":{"type":"validation_error","errors":[{"code":"parse_error","detail":"JSON parse error - the request body did not arrive in full","attr":"non_field_errors"}]}}"#),
        "{text}"
    );
    assert!(closed, "the connection is closed");
}
