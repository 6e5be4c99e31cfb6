//! Scenario files: force any documented provider error, delay or fault — from a file
//! (`--scenario NAME`), one request header (`X-Sandbox-Scenario: NAME`), or the admin API
//! for one tenant.
//!
//! - [`load`] reads YAML/JSON with positions and checks it against the loaded specs and the
//!   provider's error catalogue;
//! - [`engine`] keeps the library and activations and decides each request (the pipeline
//!   calls [`Engine::intercept`] after validation, before the handler);
//! - [`wire`] carries out delays and connection faults as the answer is delivered;
//! - [`admin`] serves `/__sandbox/scenarios`.

pub mod admin;
mod embedded;
pub mod engine;
pub mod load;
pub mod model;
pub mod wire;
mod yaml;

pub use engine::{Engine, HEADER};
pub use load::{LoadErrors, Problem};
pub use yaml::Pos;

/// The scenario files compiled into the binary: (file name, text).
pub fn embedded() -> &'static [(&'static str, &'static str)] {
    embedded::FILES
}
