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

/// The Python interpreter for interop tests: `PAYSANDBOX_PYTHON` if set, otherwise a venv
/// under `target/interop-venv` created on first use with the official SDKs pinned in
/// tests/interop/requirements.txt (so `cargo test` works on a fresh machine).
fn interop_python() -> Result<String, String> {
    static PYTHON: std::sync::OnceLock<Result<String, String>> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Ok(p) = std::env::var("PAYSANDBOX_PYTHON") {
                return Ok(p);
            }
            let root = env!("CARGO_MANIFEST_DIR");
            let venv = format!("{root}/target/interop-venv");
            let python = format!("{venv}/bin/python");
            let requirements = format!("{root}/tests/interop/requirements.txt");
            let wanted = std::fs::read_to_string(&requirements)
                .map_err(|e| format!("{requirements}: {e}"))?;
            let marker = format!("{venv}/installed-requirements.txt");
            if std::fs::read_to_string(&marker).ok().as_deref() == Some(wanted.as_str()) {
                return Ok(python);
            }
            let run = |cmd: &mut std::process::Command| -> Result<(), String> {
                let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
                if out.status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "{cmd:?} failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    ))
                }
            };
            run(std::process::Command::new("python3").args(["-m", "venv", &venv]))?;
            run(std::process::Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "-q",
                "-r",
                &requirements,
            ]))?;
            std::fs::write(&marker, wanted).map_err(|e| format!("{marker}: {e}"))?;
            Ok(python)
        })
        .clone()
}

/// Runs a Python interop script (tests/interop/NAME) against the sandbox at `base_url`,
/// checking first that `module` (the SDK) imports. Panics with the script's output if it
/// fails. `PAYSANDBOX_SKIP_INTEROP=1` skips interop tests on machines without Python.
pub fn run_interop(script: &str, base_url: &str, module: &str) {
    if std::env::var("PAYSANDBOX_SKIP_INTEROP").as_deref() == Ok("1") {
        eprintln!("skipping {script}: PAYSANDBOX_SKIP_INTEROP=1");
        return;
    }
    let python = interop_python()
        .unwrap_or_else(|e| panic!("{script}: cannot prepare the interop Python: {e}"));
    let import = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .expect("python runs");
    assert!(
        import.status.success(),
        "{script}: `import {module}` fails with {python}: {}",
        String::from_utf8_lossy(&import.stderr)
    );
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
