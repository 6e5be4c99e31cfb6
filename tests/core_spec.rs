//! Every operation of every embedded spec answers a documented request with a body that
//! validates against its own response schema (the sandbox runs strict), and broken specs are
//! refused by `paysandbox check` with the file and the location of the problem.

mod common;

use reqwest::Method;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn credentials(provider: &str) -> Vec<(&'static str, &'static str)> {
    match provider {
        "mercadopago" => vec![(
            "Authorization",
            "Bearer TEST-1234567890-112233-abcdef-448870796",
        )],
        "square" => vec![("Authorization", "Bearer EAAAl-sandbox-token-for-tests")],
        _ => vec![("X-Client-ID", "client-a"), ("X-Client-Secret", "secret-a")],
    }
}

fn spec_doc(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("specs")
        .join(name);
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).expect("spec readable"))
        .expect("spec parses")
}

fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    match node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(pointer) => doc.pointer(pointer).unwrap_or(node),
        None => node,
    }
}

fn example_of(doc: &Value, param: &Value) -> Option<String> {
    let schema = param.get("schema").map(|s| resolve(doc, s));
    let value = param
        .get("example")
        .or_else(|| {
            param
                .get("examples")
                .and_then(|e| e.as_object())
                .and_then(|m| m.values().next())
                .and_then(|e| e.get("value"))
        })
        .or_else(|| schema.and_then(|s| s.get("example")))
        .or_else(|| schema.and_then(|s| s.get("default")))
        .or_else(|| schema.and_then(|s| s.get("enum")).and_then(|e| e.get(0)))?;
    Some(
        value
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string()),
    )
}

#[tokio::test]
async fn every_operation_answers_a_documented_request_within_its_spec() {
    let sb = common::start().await;
    let mut exercised = 0;
    for file in ["mercadopago.yaml", "square.yaml", "eximpe.yaml"] {
        let doc = spec_doc(file);
        let provider = doc["info"]["x-paysandbox-provider"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in ["get", "post", "put", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let params: Vec<&Value> = item
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .chain(
                        op.get("parameters")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten(),
                    )
                    .map(|p| resolve(&doc, p))
                    .collect();
                let mut url = path.clone();
                let mut query = Vec::new();
                let mut headers = credentials(&provider)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>();
                for p in &params {
                    let name = p["name"].as_str().unwrap_or_default();
                    let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                    let value = example_of(&doc, p);
                    match p["in"].as_str() {
                        Some("path") => {
                            url = url.replace(
                                &format!("{{{name}}}"),
                                &value.unwrap_or_else(|| "x1".into()),
                            )
                        }
                        Some("query") if required => {
                            query.push(format!("{name}={}", value.unwrap_or_else(|| "x".into())))
                        }
                        Some("header")
                            if required
                                && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) =>
                        {
                            headers
                                .push((name.to_string(), value.unwrap_or_else(|| "key-1".into())))
                        }
                        _ => {}
                    }
                }
                if !query.is_empty() {
                    url = format!("{url}?{}", query.join("&"));
                }
                let body = op
                    .get("requestBody")
                    .map(|rb| resolve(&doc, rb))
                    .and_then(|rb| {
                        let content = rb.pointer("/content/application~1json")?;
                        content
                            .get("example")
                            .or_else(|| {
                                content
                                    .get("examples")
                                    .and_then(Value::as_object)
                                    .and_then(|m| m.values().next())
                                    .and_then(|e| e.get("value"))
                            })
                            .cloned()
                    });
                let header_refs: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                // Answer::read fails the test on any strict-mode violation.
                let a = sb.send(m, &url, &header_refs, body).await;
                assert!(
                    a.status < 500,
                    "{} {method} {url}: {} {}",
                    provider,
                    a.status,
                    a.body
                );
                exercised += 1;
            }
        }
    }
    assert!(exercised >= 30, "only {exercised} operations exercised");
}

/// A scratch directory removed when the test ends, pass or fail.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch_dir(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("paysandbox-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    Scratch(dir)
}

fn copy_specs(into: &Path) {
    for f in ["mercadopago.yaml", "square.yaml", "eximpe.yaml"] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("specs").join(f),
            into.join(f),
        )
        .expect("copy");
    }
}

/// The shipped specs in a scratch dir, with the first `from` in `file` replaced by `to`.
fn specs_with_edit(name: &str, file: &str, from: &str, to: &str) -> Scratch {
    let dir = scratch_dir(name);
    copy_specs(&dir);
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    let edited = text.replacen(from, to, 1);
    assert_ne!(text, edited, "the fixture must change the spec");
    std::fs::write(&path, edited).expect("write");
    dir
}

fn check(dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_paysandbox"))
        .args(["check", "--specs"])
        .arg(dir)
        .output()
        .expect("paysandbox runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn check_accepts_the_shipped_specs() {
    let dir = scratch_dir("ok");
    copy_specs(&dir);
    let (ok, out) = check(&dir);
    assert!(ok, "{out}");
    assert!(out.contains("ok: 3 specs"), "{out}");
}

#[test]
fn check_names_the_file_and_pointer_of_a_dangling_reference() {
    let dir = specs_with_edit(
        "dangling",
        "eximpe.yaml",
        "$ref: '#/components/schemas/SavedCard'",
        "$ref: '#/components/schemas/NoSuchCard'",
    );
    let (ok, out) = check(&dir);
    assert!(!ok);
    assert!(
        out.contains(
            "eximpe.yaml: #/paths/~1pg~1tokens~1/get/responses/200/content/application~1json/schema"
        ),
        "{out}"
    );
    assert!(out.contains("NoSuchCard"), "{out}");
}

#[test]
fn check_names_the_line_of_a_yaml_syntax_error() {
    let dir = scratch_dir("syntax");
    copy_specs(&dir);
    std::fs::write(
        dir.join("square.yaml"),
        "openapi: 3.0.3\ninfo:\n  title: [unclosed\n",
    )
    .expect("write");
    let (ok, out) = check(&dir);
    assert!(!ok);
    assert!(out.contains("square.yaml: line "), "{out}");
}

#[test]
fn check_refuses_an_example_that_breaks_its_own_schema() {
    let dir = specs_with_edit(
        "example",
        "eximpe.yaml",
        "card_label: HDFC Regalia Credit Card",
        "card_label: 42",
    );
    let (ok, out) = check(&dir);
    assert!(!ok);
    assert!(out.contains("eximpe.yaml: #/paths/~1pg~1tokens~1/post/responses/200/content/application~1json/example: example does not match its schema at `/data/card_label`"), "{out}");
}

#[test]
fn check_names_both_specs_when_two_serve_the_same_path() {
    let dir = scratch_dir("collision");
    copy_specs(&dir);
    let twin = std::fs::read_to_string(dir.join("eximpe.yaml")).expect("read");
    std::fs::write(dir.join("zz-eximpe-copy.yaml"), twin).expect("write");
    let (ok, out) = check(&dir);
    assert!(!ok);
    assert!(
        out.contains("zz-eximpe-copy.yaml")
            && out.contains("collides with")
            && out.contains("eximpe.yaml"),
        "{out}"
    );
}

#[test]
fn check_refuses_a_header_parameter_whose_name_no_http_header_can_have() {
    let dir = specs_with_edit(
        "header-name",
        "eximpe.yaml",
        "- name: X-API-Version",
        "- name: X API Version",
    );
    let (ok, out) = check(&dir);
    assert!(!ok);
    assert!(
        out.contains("eximpe.yaml: #/paths/~1pg~1tokens~1/post/parameters/")
            && out.contains("/name: \"X API Version\" is not a valid HTTP header name"),
        "{out}"
    );
}
