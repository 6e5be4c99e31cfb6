//! Raw bytes from one client connection, through the real hyper connection code and the whole
//! pipeline (routing, auth, validation, handlers, scenarios, admin API, strict mode).
//!
//! Besides panics, an answer strict mode had to replace (the sandbox breaking its own spec)
//! is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paysandbox::app::App;
use paysandbox::fuzzing;
use paysandbox::scenario::model::Scenario;
use std::sync::{Arc, Mutex, OnceLock};

struct World {
    /// The app and its scenario library as built.
    app: Mutex<(Arc<App>, Vec<Arc<Scenario>>)>,
    runtime: tokio::runtime::Runtime,
}

fn fresh() -> (Arc<App>, Vec<Arc<Scenario>>) {
    let app = fuzzing::app();
    let library = fuzzing::library(&app);
    (app, library)
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World {
        app: Mutex::new(fresh()),
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime"),
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let (app, library) = w.app.lock().expect("one fuzzing thread").clone();
    fuzzing::reset(&app);
    w.runtime.block_on(fuzzing::exchange(app.clone(), data));
    let broken = fuzzing::strict_violations(&app);
    assert!(broken.is_empty(), "strict mode violations: {broken:#?}");
    // A reset cannot unload scenarios loaded at run time: such an input gets a fresh app
    // after it, so every input starts from the same sandbox.
    if fuzzing::library_changed(&app, &library) {
        *w.app.lock().expect("one fuzzing thread") = fresh();
    }
});
