//! Scenario file text through the loader and every check against the embedded specs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paysandbox::scenario::load::Checker;
use std::sync::OnceLock;

fn checker() -> &'static Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER.get_or_init(|| Checker::new(paysandbox::fuzzing::app().operations()))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // As a file whose name must match, then as a body sent to the admin API.
    let _ = checker().load("fuzz.yaml", Some("fuzz"), text);
    let _ = checker().load("<request body>", None, text);
});
