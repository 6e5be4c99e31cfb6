//! Raw bytes from one client connection, through the real hyper connection code and the whole
//! pipeline (routing, auth, validation, handlers, scenarios, admin API, strict mode).
//!
//! Besides panics, an answer strict mode had to replace (the sandbox breaking its own spec)
//! is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paysandbox::app::App;
use std::sync::{Arc, Mutex, OnceLock};

struct World {
    app: Mutex<Arc<App>>,
    runtime: tokio::runtime::Runtime,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World {
        app: Mutex::new(paysandbox::fuzzing::app()),
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime"),
    })
}

fn mentions(data: &[u8], word: &[u8]) -> bool {
    data.windows(word.len()).any(|w| w == word)
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let app = w.app.lock().expect("one fuzzing thread").clone();
    paysandbox::fuzzing::reset(&app);
    w.runtime
        .block_on(paysandbox::fuzzing::exchange(app.clone(), data));
    let broken = paysandbox::fuzzing::strict_violations(&app);
    assert!(broken.is_empty(), "strict mode violations: {broken:#?}");
    // Provider settings outlive a reset: an input that may have changed them gets a fresh
    // app after it, so every input starts from the defaults.
    if mentions(data, b"settings") || mentions(data, b"credentials") {
        *w.app.lock().expect("one fuzzing thread") = paysandbox::fuzzing::app();
    }
});
