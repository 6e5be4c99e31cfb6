//! The benchmark floor: the least work any server can do for `POST /pg/tokens/` — read the
//! body, parse it as JSON, answer a fixed body. Same hyper, tokio and serde_json as
//! paysandbox (this example shares the crate's Cargo.lock), same runtime shape (multi-thread
//! tokio, HTTP/1.1, TCP_NODELAY), so the gap between the two is paysandbox's own work.
//!
//! `cargo run --release --example bench_floor -- [PORT]` (default 4099). Used by
//! `bench/run.sh`; not part of the product.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use tokio::net::TcpListener;

const ANSWER: &[u8] = br#"{"success":true,"message":"Card details saved successfully","data":{"card_label":"HDFC Regalia Credit Card","card_token":"c8a28bca2021ead49124"}}"#;

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match req.into_body().collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => Bytes::new(),
    };
    // Parse into a tree like a real server would: the floor includes reading the input. One
    // field check keeps the invalid-body workload on the 400 path, as for every contestant.
    let (status, body) = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) if card_number_ok(&v) => (StatusCode::OK, Bytes::from_static(ANSWER)),
        _ => (
            StatusCode::BAD_REQUEST,
            Bytes::from_static(br#"{"success":false}"#),
        ),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

fn card_number_ok(v: &serde_json::Value) -> bool {
    v.get("card_number")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(4099);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench_floor: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async move {
        let listener = match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bench_floor: cannot listen on 127.0.0.1:{port}: {e}");
                std::process::exit(1);
            }
        };
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                    .await;
            });
        }
    });
}
