//! paysandbox: a local sandbox for the card-on-file APIs of Mercado Pago, Square and Eximpe.
//!
//! The binary is the usual way in; this library lets Rust tests start a sandbox in-process:
//!
//! ```no_run
//! # async fn demo() -> Result<(), paysandbox::StartError> {
//! let sandbox = paysandbox::Sandbox::builder().strict(true).start().await?;
//! let base = sandbox.url(); // e.g. http://127.0.0.1:41234
//! # let _ = base;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod app;
pub mod catalogue;
pub mod config;
pub mod env;
pub mod problem;
pub mod providers;
pub mod reply;
pub mod scenario;
pub mod server;
pub mod spec;
pub mod state;

pub use config::Config;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Why a sandbox could not start.
#[derive(Debug)]
pub enum StartError {
    Spec(spec::SpecError),
    Scenario(scenario::LoadErrors),
    Bind(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Spec(e) => write!(f, "{e}"),
            StartError::Scenario(e) => write!(f, "{e}"),
            StartError::Bind(e) => write!(f, "cannot listen: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Loads the configured specs (embedded unless `specs_dir` is set) and compiles the app,
/// then loads and checks the scenarios against it.
pub fn build_app(config: Config) -> Result<(app::App, app::LoadReport), StartError> {
    let sources = match &config.specs_dir {
        Some(dir) => spec::from_dir(dir).map_err(StartError::Spec)?,
        None => spec::embedded(),
    };
    let specs = spec::load_all(&sources, providers::NAMES).map_err(StartError::Spec)?;
    let (mut app, report) = app::App::new(config, specs).map_err(StartError::Spec)?;
    app.scenarios = scenario::Engine::load(
        app.operations(),
        &app.providers().cloned().collect::<Vec<_>>(),
        &app.config.scenario_dirs,
        &app.config.scenarios,
    )
    .map_err(StartError::Scenario)?;
    Ok((app, report))
}

/// Configures and starts a sandbox.
#[derive(Debug, Default)]
pub struct SandboxBuilder {
    config: Config,
}

impl SandboxBuilder {
    /// Validate every answer against the spec (a violation becomes a 500).
    pub fn strict(mut self, yes: bool) -> Self {
        self.config.strict = yes;
        self
    }

    /// Seed for generated ids, so a sequential run is reproducible.
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Load specs from a directory instead of the embedded ones.
    pub fn specs_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config.specs_dir = Some(dir.into());
        self
    }

    /// Activates a scenario for every tenant (as `--scenario NAME`).
    pub fn scenario(mut self, name: impl Into<String>) -> Self {
        self.config.scenarios.push(name.into());
        self
    }

    /// Loads the scenario files of a directory too (as `--scenarios DIR`).
    pub fn scenarios_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config.scenario_dirs.push(dir.into());
        self
    }

    /// Largest request body accepted, in bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }

    /// Starts on 127.0.0.1 with a free port (unless a port was configured).
    pub async fn start(mut self) -> Result<Sandbox, StartError> {
        if self.config.port == Config::default().port {
            self.config.port = 0;
        }
        Sandbox::start(self.config).await
    }
}

/// A running sandbox. Dropping it shuts the server down.
pub struct Sandbox {
    addr: SocketAddr,
    app: Arc<app::App>,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Starts a sandbox with an explicit configuration.
    pub async fn start(config: Config) -> Result<Sandbox, StartError> {
        let started = Instant::now();
        let (app, report) = build_app(config)?;
        let listener = tokio::net::TcpListener::bind((app.config.host, app.config.port))
            .await
            .map_err(StartError::Bind)?;
        let addr = listener.local_addr().map_err(StartError::Bind)?;
        tracing::info!(
            specs = report.specs,
            operations = report.operations,
            startup_ms = started.elapsed().as_secs_f64() * 1000.0,
            %addr,
            "paysandbox ready"
        );
        let app = Arc::new(app);
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(server::run(listener, app.clone(), rx));
        Ok(Sandbox {
            addr,
            app,
            shutdown,
            task: Some(task),
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Moves the sandbox clock forward (token, nonce and card expiry follow it).
    pub fn advance_clock(&self, by: Duration) {
        self.app.env.clock.advance(by);
    }

    /// Stops accepting, drains in-flight requests, and waits for the server to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Resolves when the server has stopped (after a signal-triggered shutdown).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// A handle that can trigger shutdown from elsewhere (signal handlers).
    pub fn shutdown_trigger(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
