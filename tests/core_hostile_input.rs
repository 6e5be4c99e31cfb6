//! No input makes the sandbox panic or hang: garbage bytes, invalid UTF-8 and absurd nesting
//! all get provider-shaped 400s, and the server keeps serving.

mod common;

use common::{raw_exchange, start};
use reqwest::Method;
use serde_json::json;

const MP: (&str, &str) = (
    "Authorization",
    "Bearer TEST-1234567890-112233-abcdef-448870796",
);
const SQ: (&str, &str) = ("Authorization", "Bearer EAAAl-sandbox-token-for-tests");

#[tokio::test]
async fn ten_thousand_levels_of_nesting_are_a_400_not_a_crash() {
    let sb = start().await;
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let a = sb
        .send_raw(
            Method::POST,
            "/v2/customers",
            &[SQ],
            deep.clone().into_bytes(),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["errors"][0]["code"], "EXPECTED_JSON_BODY");
    let nested_object = format!("{}1{}", "{\"a\":".repeat(10_000), "}".repeat(10_000));
    let a = sb
        .send_raw(
            Method::POST,
            "/v1/customers",
            &[MP],
            nested_object.into_bytes(),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["cause"][0]["code"], "118");
    // Still serving.
    let a = sb.send(Method::GET, "/v2/cards", &[SQ], None).await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn invalid_utf8_in_a_body_is_a_provider_400() {
    let sb = start().await;
    let a = sb
        .send_raw(
            Method::POST,
            "/pg/tokens/",
            &[("X-Client-ID", "c"), ("X-Client-Secret", "s")],
            b"{\"identifier\": \"\xc3\x28\"}".to_vec(),
        )
        .await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["success"], json!(false));
    assert_eq!(a.body["error"]["type"], "validation_error");
    assert_eq!(a.body["error"]["errors"][0]["code"], "parse_error");
}

#[tokio::test]
async fn garbage_bytes_on_the_wire_get_an_http_error_and_the_server_survives() {
    let sb = start().await;
    let answer = raw_exchange(sb.sandbox.addr(), b"\x00\x01\x02 not http at all\r\n\r\n").await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "got {answer:?}"
    );
    let answer = raw_exchange(
        sb.sandbox.addr(),
        b"GET /v2/cards\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "got {answer:?}"
    );
    let a = sb.send(Method::GET, "/v2/cards", &[SQ], None).await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn what_the_official_clients_really_send_is_accepted() {
    let sb = start().await;
    // Mercado Pago Python: trailing slash and an idempotency key on a GET.
    let a = sb
        .send(
            Method::GET,
            "/v1/customers/search/",
            &[
                MP,
                (
                    "x-idempotency-key",
                    "123456789012345678901234567890123456789",
                ),
            ],
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    // Mercado Pago Node: Content-Type on a body-less GET.
    let a = sb
        .send(
            Method::GET,
            "/v1/customers/search",
            &[MP, ("Content-Type", "application/json")],
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    // Square Node: a body-less POST with no Content-Type, and percent-encoded card ids.
    let a = sb
        .send_raw(
            Method::POST,
            "/v2/cards/ccof%3AuIbfJXhXETSP197M3GB/disable",
            &[SQ],
            Vec::new(),
        )
        .await;
    assert_ne!(a.status, 400, "{:?}", a.body);
    assert!(a.status == 200 || a.status == 404, "{:?}", a.body);
}
