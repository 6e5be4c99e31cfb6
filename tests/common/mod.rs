//! Shared test support: a strict sandbox on a random port and a small HTTP client.
#![allow(dead_code)]

use paysandbox::Sandbox;
use reqwest::{Client, Method, Response};
use serde_json::Value;

/// A strict sandbox (every answer validated against the spec) and a client for it.
pub struct TestSandbox {
    pub sandbox: Sandbox,
    pub client: Client,
}

pub async fn start() -> TestSandbox {
    start_with(Sandbox::builder()).await
}

pub async fn start_with(builder: paysandbox::SandboxBuilder) -> TestSandbox {
    let sandbox = builder.strict(true).start().await.expect("sandbox starts");
    TestSandbox {
        sandbox,
        client: Client::builder().build().expect("client"),
    }
}

/// An answer, read whole: status, headers and JSON body (`Value::Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub async fn read(response: Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "answer is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        // Strict mode turns a spec violation into a 500 naming the schema: never acceptable.
        assert!(
            body.get("paysandbox_strict_violation").is_none(),
            "the sandbox broke its own spec: {body:#}"
        );
        Answer {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestSandbox {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sandbox.url(), path)
    }

    /// Sends a request with the given headers and optional JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Answer::read(req.send().await.expect("request sent")).await
    }

    /// Sends raw bytes as the body (for malformed input).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let mut req = self.client.request(method, self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Answer::read(req.body(body).send().await.expect("request sent")).await
    }
}

/// Writes raw bytes on a fresh connection and returns everything the server answers.
pub async fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(bytes).await.expect("write");
    let _ = stream.shutdown().await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut out),
    )
    .await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs a Python interop script (tests/interop/NAME) against the sandbox at `base_url` with
/// the interpreter named by `PAYSANDBOX_PYTHON` (`.ci/run` points it at a venv holding the
/// official SDKs from tests/interop/requirements.txt). Panics with the script's output if it
/// fails. Without the SDK installed the test fails too, naming the install command, unless
/// `PAYSANDBOX_SKIP_INTEROP=1` is set.
pub fn run_interop(script: &str, base_url: &str, module: &str) {
    let python = std::env::var("PAYSANDBOX_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_module = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_module {
        if std::env::var("PAYSANDBOX_SKIP_INTEROP").as_deref() == Ok("1") {
            eprintln!("skipping {script}: python module {module} not installed");
            return;
        }
        panic!(
            "{script} needs the Python module `{module}`: run `python3 -m venv .venv && .venv/bin/pip install -r tests/interop/requirements.txt` and set PAYSANDBOX_PYTHON=.venv/bin/python (or PAYSANDBOX_SKIP_INTEROP=1)"
        );
    }
    let path = format!("{}/tests/interop/{script}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(&python)
        .arg(&path)
        .arg(base_url)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{script} failed:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
