//! Outbound https: a provider's own sandbox and webhook receivers are https, so paysandbox
//! proxies to and delivers over TLS, trusting the webpki roots plus `--ca-file`. Here the
//! "real" upstream and the receiver are wiremock servers behind a TLS front with a
//! certificate made in the test; an untrusted certificate fails loudly, naming the problem.
#![cfg(feature = "tls")]

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use paysandbox::Sandbox;
use paysandbox::journal::{Entry, Filter};
use serde_json::{Value, json};
use sha2::Sha256;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_rustls::rustls;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "EAAAtls-seller-access-token";

/// A wiremock server reachable only over https, at `https://127.0.0.1:PORT`, with a
/// self-signed certificate whose PEM is in `ca_file`.
struct TlsFront {
    mock: MockServer,
    url: String,
    ca_file: PathBuf,
    dir: PathBuf,
}

impl TlsFront {
    async fn start() -> TlsFront {
        let mock = MockServer::start().await;
        let certified = rcgen::generate_simple_self_signed(vec![
            "127.0.0.1".to_string(),
            "localhost".to_string(),
        ])
        .expect("certificate");
        let dir = std::env::temp_dir().join(format!(
            "paysandbox-tls-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let ca_file = dir.join("upstream-ca.pem");
        std::fs::write(&ca_file, certified.cert.pem()).expect("pem written");
        let key =
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("https://{}", listener.local_addr().expect("addr"));
        let backend = *mock.address();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to do.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    if let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    }
                });
            }
        });
        TlsFront {
            mock,
            url,
            ca_file,
            dir,
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn post(base: &str, p: &str, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{base}{p}"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("sent");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn subscribe(sb: &Sandbox, url: &str, delivery: Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/square/webhooks/subscriptions", sb.admin_url()))
        .json(&json!({
            "tenant": TOKEN,
            "notification_url": url,
            "event_types": ["customer.created"],
            "signature_key": "tls-key",
            "delivery": delivery,
        }))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

/// Waits for `n` journaled delivery attempts of customer.created.
async fn attempts(sb: &Sandbox, n: usize) -> Vec<Entry> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = sb.journal(&Filter {
            operation: Some("webhook:customer.created".into()),
            ..Filter::default()
        });
        if got.len() >= n || Instant::now() > deadline {
            assert_eq!(got.len(), n, "journaled attempts");
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_provider_sandbox_over_https_is_proxied_when_its_certificate_is_trusted() {
    let upstream = TlsFront::start().await;
    let created = json!({"customer": {"id": "TLSUPSTREAM1", "given_name": "Ana", "version": 0}});
    Mock::given(method("POST"))
        .and(path("/v2/customers"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(&created))
        .mount(&upstream.mock)
        .await;
    let sb = Sandbox::builder()
        .proxy("square", &upstream.url)
        .ca_file(&upstream.ca_file)
        .start()
        .await
        .expect("starts");

    let (status, body) = post(&sb.url(), "/v2/customers", json!({"given_name": "Ana"})).await;

    assert_eq!((status, body), (200, created));
    assert_eq!(upstream.mock.received_requests().await.unwrap().len(), 1);
    let proxied = sb.journal(&Filter::default());
    assert_eq!(proxied.len(), 1);
    assert_eq!(proxied[0].direction, paysandbox::journal::PROXIED);
    assert_eq!(proxied[0].status, 200);
    // The command line accepts the https upstream the library was given.
    assert_eq!(
        paysandbox::proxy::parse_proxy(&format!("square={}/", upstream.url)),
        Ok(("square".to_string(), upstream.url.clone()))
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn an_upstream_with_an_untrusted_certificate_answers_502_naming_the_problem() {
    let upstream = TlsFront::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&upstream.mock)
        .await;
    // No --ca-file: the self-signed certificate is not among the webpki roots.
    let sb = Sandbox::builder()
        .proxy("square", &upstream.url)
        .start()
        .await
        .expect("starts");

    let (status, body) = post(&sb.url(), "/v2/customers", json!({"given_name": "Ana"})).await;

    assert_eq!(status, 502);
    assert_eq!(
        body,
        json!({"error": {"status": 502, "message": format!(
            "upstream {} unreachable: client error (Connect): invalid peer certificate: UnknownIssuer",
            upstream.url
        )}})
    );
    assert_eq!(upstream.mock.received_requests().await.unwrap().len(), 0);
    let journaled = sb.journal(&Filter::default());
    assert_eq!(journaled.len(), 1);
    assert_eq!(journaled[0].status, 502);
    sb.shutdown().await;
}

#[tokio::test]
async fn webhooks_reach_an_https_receiver_signed_over_the_https_url() {
    let receiver = TlsFront::start().await;
    Mock::given(method("POST"))
        .and(path("/square/hooks"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver.mock)
        .await;
    let sb = Sandbox::builder()
        .strict(true)
        .ca_file(&receiver.ca_file)
        .start()
        .await
        .expect("starts");
    let url = format!("{}/square/hooks", receiver.url);
    subscribe(&sb, &url, json!({"max_attempts": 1})).await;

    let (status, created) = post(&sb.url(), "/v2/customers", json!({"given_name": "Tls"})).await;
    assert_eq!(status, 200);

    let journaled = attempts(&sb, 1).await;
    assert_eq!(journaled[0].status, 200);
    let got = receiver.mock.received_requests().await.unwrap();
    assert_eq!(got.len(), 1);
    let event: Value = serde_json::from_slice(&got[0].body).expect("json event");
    assert_eq!(event["type"], "customer.created");
    assert_eq!(event["data"]["object"]["customer"], created["customer"]);
    // Square signs the notification URL as registered (https) followed by the body.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"tls-key").expect("key");
    mac.update(url.as_bytes());
    mac.update(&got[0].body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(
        got[0]
            .headers
            .get("x-square-hmacsha256-signature")
            .and_then(|v| v.to_str().ok()),
        Some(expected.as_str())
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn a_receiver_with_an_untrusted_certificate_is_a_journaled_failed_attempt() {
    let receiver = TlsFront::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver.mock)
        .await;
    let sb = Sandbox::builder()
        .strict(true)
        .start()
        .await
        .expect("starts");
    let url = format!("{}/square/hooks", receiver.url);
    subscribe(&sb, &url, json!({"max_attempts": 2, "backoff_ms": 10})).await;

    let (status, _) = post(&sb.url(), "/v2/customers", json!({"given_name": "Tls"})).await;
    assert_eq!(status, 200);

    // Both attempts fail at the handshake: status 0 (no HTTP answer), the reason named.
    let journaled = attempts(&sb, 2).await;
    for entry in &journaled {
        let shown = entry.to_json();
        assert_eq!(shown["direction"], "outbound");
        assert_eq!(shown["status"], 0);
        assert_eq!(shown["path"], "/square/hooks");
        assert_eq!(
            shown["response"]["body"],
            "delivery failed: client error (Connect): invalid peer certificate: UnknownIssuer"
        );
    }
    assert_eq!(receiver.mock.received_requests().await.unwrap().len(), 0);
    sb.shutdown().await;
}

#[test]
fn an_unreadable_ca_file_stops_start_up_with_its_name() {
    let missing = std::env::temp_dir().join("paysandbox-no-such-ca.pem");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_paysandbox"))
        .args(["serve", "--port", "0", "--ca-file"])
        .arg(&missing)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: --ca-file {}: No such file or directory",
            missing.display()
        )),
        "{stderr}"
    );
}
