//! `paysandbox check --scenarios DIR` (and start-up) refuse a bad scenario file with its
//! file, line, column and the problem; `paysandbox scenarios` lists what is loaded.

use std::path::PathBuf;
use std::process::Command;

fn dir_with(files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "paysandbox-scenarios-{}-{}",
        std::process::id(),
        files[0].0
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

fn check(dir: &PathBuf) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_paysandbox"))
        .args(["check", "--scenarios"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn each_kind_of_mistake_is_reported_where_it_is() {
    let dir = dir_with(&[
        (
            "a-unknown-op.yaml",
            "name: a-unknown-op\nprovider: mercadopago\nrules:\n  - when:\n      operation: saveCrd\n    respond: {error: \"129\"}\n",
        ),
        (
            "b-unknown-code.yaml",
            "name: b-unknown-code\nprovider: square\nrules:\n  - when: {operation: CreateCustomerCard}\n    respond:\n      error: CARD_TOKEN_USD\n",
        ),
        (
            "c-bad-regex.yaml",
            "name: c-bad-regex\nprovider: eximpe\nrules:\n  - when:\n      operation: saveCardToken\n      body: {card_number: {regex: \"^(4[0-9\"}}\n    respond: {error: card_number_invalid}\n",
        ),
        (
            "d-unknown-field.yaml",
            "name: d-unknown-field\nprovider: mercadopago\nrules:\n  - when: {operation: saveCard}\n    respnd: {error: \"129\"}\n",
        ),
        (
            "e-wrong-name.yaml",
            "name: something-else\nprovider: mercadopago\nrules:\n  - when: {operation: saveCard}\n    fault: reset\n",
        ),
        (
            "f-unknown-provider.yaml",
            "name: f-unknown-provider\nprovider: mercadopag\nrules: []\n",
        ),
        (
            "g-bad-fault.yaml",
            "name: g-bad-fault\nprovider: square\nrules:\n  - when: {operation: CreateCustomerCard}\n    fault: rest\n",
        ),
        (
            "h-bad-path-param.yaml",
            "name: h-bad-path-param\nprovider: mercadopago\nrules:\n  - when: {operation: saveCard, path: {customerid: x}}\n    delay_ms: [500, 100]\n",
        ),
        ("i-not-yaml.yaml", "name: i-not-yaml\nrules: [\n"),
        (
            "j-settings.yaml",
            "name: j-settings\nprovider: square\nsettings: {max_cards: 1}\n",
        ),
        (
            "k-does-nothing.yaml",
            "name: k-does-nothing\nprovider: square\nrules:\n  - when: {operation: CreateCustomerCard}\n    times: 0\n",
        ),
        (
            "l-wrong-type.yaml",
            "name: l-wrong-type\nprovider: eximpe\nrules:\n  - when: {operation: saveCardToken}\n    respond: {error: ERR_SERVER_000}\n    times: \"two\"\n",
        ),
        (
            "m-framing-header.yaml",
            "name: m-framing-header\nprovider: square\nrules:\n  - when: {operation: ListCards}\n    respond: {status: 200, headers: {Transfer-Encoding: chunked}}\n",
        ),
        (
            "n-no-content-body.yaml",
            "name: n-no-content-body\nprovider: square\nrules:\n  - when: {operation: ListCards}\n    respond: {status: 204, body: {cards: []}}\n",
        ),
    ]);
    let (ok, stdout, stderr) = check(&dir);
    assert!(!ok, "check must fail: {stdout}");
    let d = dir.display();
    let expected = [
        format!(
            "error: {d}/a-unknown-op.yaml:5:18: unknown operation \"saveCrd\" for provider mercadopago (did you mean saveCard?)"
        ),
        format!(
            "{d}/b-unknown-code.yaml:6:14: unknown error code \"CARD_TOKEN_USD\" for provider square (did you mean CARD_TOKEN_USED?)"
        ),
        format!(
            "{d}/c-bad-regex.yaml:6:35: bad regex \"^(4[0-9\": error: unclosed character class"
        ),
        format!(
            "{d}/d-unknown-field.yaml:5:5: unknown field `respnd`, expected one of `when`, `respond`, `delay_ms`, `fault`, `times`, `after`, `then_state`"
        ),
        format!(
            "{d}/e-wrong-name.yaml:1:7: the name \"something-else\" differs from the file name \"e-wrong-name\": one scenario per file, named after it"
        ),
        format!(
            "{d}/f-unknown-provider.yaml:2:11: unknown provider \"mercadopag\" (did you mean mercadopago?) (known: mercadopago, square, eximpe)"
        ),
        format!("{d}/f-unknown-provider.yaml:1:1: a scenario needs rules, a seed or settings"),
        format!(
            "{d}/g-bad-fault.yaml:5:12: unknown fault \"rest\" (did you mean reset?) (one of reset, empty_response, close_after_headers, slow_body)"
        ),
        format!(
            "{d}/h-bad-path-param.yaml:4:40: unknown path parameter \"customerid\" for saveCard (did you mean customer_id?)"
        ),
        format!(
            "{d}/h-bad-path-param.yaml:5:15: delay_ms is milliseconds (0-600000), or a range [min, max] with min <= max"
        ),
        format!(
            "{d}/i-not-yaml.yaml:3:1: while parsing a node, did not find expected node content"
        ),
        format!(
            "{d}/j-settings.yaml:3:11: square refuses these settings: square has no setting `max_cards` (known: access_tokens, nonce_ttl_seconds, webhooks)"
        ),
        format!(
            "{d}/k-does-nothing.yaml:4:5: this rule does nothing: give it respond, delay_ms, fault or then_state"
        ),
        format!("{d}/k-does-nothing.yaml:5:12: times must be at least 1"),
        format!(
            "{d}/l-wrong-type.yaml:6:12: rules[0].times: invalid type: string \"two\", expected u64"
        ),
        format!(
            "{d}/m-framing-header.yaml:5:57: \"Transfer-Encoding\" frames the HTTP message, which paysandbox writes itself (a wrong one leaves the client reading nothing); use a fault for a broken answer"
        ),
        format!(
            "{d}/n-no-content-body.yaml:5:34: a 204 answer has no body (RFC 9110); drop body or use another status"
        ),
    ];
    assert_eq!(
        stderr.trim_end().lines().collect::<Vec<_>>(),
        expected,
        "\n{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_good_directory_adds_its_scenarios_and_the_listing_shows_them() {
    let dir = dir_with(&[(
        "qa-checkout-declined.yaml",
        "name: qa-checkout-declined\ndescription: Our checkout's decline path.\nprovider: square\nrules:\n  - when: {operation: CreateCustomerCard, body: {cardholder_name: {regex: \"(?i)decline\"}}}\n    respond: {error: VERIFY_CVV_FAILURE}\n",
    )]);
    let (ok, stdout, stderr) = check(&dir);
    assert!(ok, "{stderr}");
    let embedded = paysandbox::scenario::embedded().len();
    assert_eq!(
        stdout,
        format!("ok: 3 specs, 32 operations, {} scenarios\n", embedded + 1)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_paysandbox"))
        .args(["scenarios", "--scenarios"])
        .arg(&dir)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert_eq!(listing.lines().count(), embedded + 1);
    let line = listing
        .lines()
        .find(|l| l.starts_with("qa-checkout-declined "))
        .unwrap();
    assert!(
        line.ends_with("  square       Our checkout's decline path."),
        "{line:?}"
    );
    assert!(listing.lines().any(|l| l.starts_with("mp-save-card-129 ")));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_bad_scenario_stops_the_sandbox_from_starting() {
    let dir = dir_with(&[(
        "zz-bad.yaml",
        "name: zz-bad\nprovider: square\nrules:\n  - when: {operation: CreateCard}\n    respond: {status: 700}\n",
    )]);
    let err = paysandbox::Sandbox::builder()
        .scenarios_dir(&dir)
        .start()
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "{}/zz-bad.yaml:5:23: status must be between 200 and 599",
            dir.display()
        )
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn declared_webhook_subscriptions_are_checked_where_they_are() {
    let dir = dir_with(&[
        (
            "l-webhook-type.yaml",
            "name: l-webhook-type\nprovider: square\nsettings:\n  webhooks:\n    subscriptions:\n      - tenant: EAAAseller\n        notification_url: http://127.0.0.1:9/hooks\n        event_types: [customer.created, card.update]\n",
        ),
        (
            "m-webhook-field.yaml",
            "name: m-webhook-field\nprovider: square\nsettings:\n  webhooks:\n    delay_ms: 10\n    subscriptions:\n      - tenant: EAAAseller\n        notification_url: ftp://127.0.0.1:9/hooks\n        event_types: [card.created]\n",
        ),
    ]);
    let (ok, stdout, stderr) = check(&dir);
    assert!(!ok, "check must fail: {stdout}");
    let d = dir.display();
    assert_eq!(
        stderr.trim_end().lines().collect::<Vec<_>>(),
        [
            format!(
                "error: {d}/l-webhook-type.yaml:8:41: square refuses these settings: webhooks.subscriptions[0].event_types[1]: unknown event type `card.update` (did you mean card.updated?) (known: card.created, card.disabled, card.forgotten, card.updated, customer.created, customer.updated, customer.deleted)"
            ),
            format!(
                "{d}/m-webhook-field.yaml:8:27: square refuses these settings: webhooks.subscriptions[0].notification_url: notification_url must be an http:// or https:// URL"
            ),
        ],
        "\n{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
