//! One OpenAPI document through the spec loader and, when it loads, the router.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paysandbox::spec::{self, SpecSource};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sources = [SpecSource::new("fuzz.yaml", text)];
    if let Ok(specs) = spec::load_all(&sources, paysandbox::providers::NAMES) {
        let _ = spec::Router::build(&specs);
    }
});
