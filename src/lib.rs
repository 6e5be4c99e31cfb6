//! paysandbox: a local sandbox for the card-on-file APIs of Mercado Pago, Square and Eximpe.
//!
//! The binary is the usual way in; this library starts the same sandbox inside a Rust test,
//! on a free port, with its own state — many can run in one process:
//!
//! ```
//! use paysandbox::Sandbox;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::builder().strict(true).seed(7).start().await?;
//!
//! // Point the code under test at `sandbox.url()` instead of the provider.
//! let answer = reqwest::Client::new()
//!     .post(format!("{}/pg/tokens/", sandbox.url()))
//!     .header("X-Client-ID", "shop-1")
//!     .header("X-Client-Secret", "s3cret")
//!     .header("X-API-Version", "1.0.0")
//!     .json(&serde_json::json!({
//!         "identifier": "USER_1", "card_number": "4111111111111111", "cardholder_name": "Ana",
//!         "expiry_month": 12, "expiry_year": 2030, "network": "visa", "card_type": "credit_card"
//!     }))
//!     .send()
//!     .await?;
//! assert_eq!(answer.status(), 200);
//!
//! // See what was sent (card numbers masked), move time, start over.
//! let saved = sandbox.journal(&paysandbox::journal::Filter {
//!     operation: Some("saveCardToken".into()),
//!     ..Default::default()
//! });
//! assert_eq!(saved.len(), 1);
//! sandbox.advance_clock(Duration::from_secs(3600));
//! sandbox.reset();
//! sandbox.shutdown().await; // also happens when the handle is dropped
//! # Ok(()) }
//! ```

pub mod admin;
pub mod app;
pub mod card;
pub mod catalogue;
pub mod config;
pub mod digest;
pub mod env;
#[doc(hidden)]
pub mod fuzzing;
pub mod journal;
pub mod logs;
pub mod mask;
pub mod outbound;
pub mod problem;
pub mod providers;
pub mod proxy;
pub mod reply;
pub mod request_body;
pub mod request_log;
pub mod scenario;
pub mod server;
pub mod snapshot;
pub mod spec;
pub mod state;
pub mod time;
pub mod webhooks;

pub use config::Config;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Why a sandbox could not start.
#[derive(Debug)]
pub enum StartError {
    Spec(spec::SpecError),
    /// The state file exists but cannot be loaded.
    State(String),
    Scenario(scenario::LoadErrors),
    Bind(std::io::Error),
    /// Outbound https cannot be set up (`--ca-file`).
    Outbound(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Spec(e) => write!(f, "{e}"),
            StartError::State(e) => write!(f, "cannot load state: {e}"),
            StartError::Scenario(e) => write!(f, "{e}"),
            StartError::Bind(e) => write!(f, "cannot listen: {e}"),
            StartError::Outbound(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Loads the configured specs (embedded unless `specs_dir` is set) and compiles the app,
/// then loads and checks the scenarios against it.
pub fn build_app(config: Config) -> Result<(app::App, app::LoadReport), StartError> {
    let sources = match &config.specs_dir {
        Some(dir) => spec::from_dir(dir).map_err(StartError::Spec)?,
        None => spec::embedded()
            .into_iter()
            .map(|s| spec::SpecSource {
                verified: s.verified && !config.verify_embedded_specs,
                ..s
            })
            .collect(),
    };
    let specs = spec::load_all(&sources, providers::NAMES).map_err(StartError::Spec)?;
    let outbound =
        outbound::Outbound::new(config.ca_file.as_deref()).map_err(StartError::Outbound)?;
    let (mut app, report) = app::App::new(config, specs).map_err(StartError::Spec)?;
    app.outbound = Arc::new(outbound);
    app.env.webhooks.attach_outbound(app.outbound.clone());
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
    port_set: bool,
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

    /// Forwards a provider's requests to a real upstream (as `--proxy PROVIDER=URL`).
    pub fn proxy(mut self, provider: impl Into<String>, url: impl Into<String>) -> Self {
        let url: String = url.into();
        self.config
            .proxies
            .push((provider.into(), url.trim_end_matches('/').to_string()));
        self
    }

    /// Trusts the PEM certificates of this file for outbound https, besides the webpki
    /// roots (as `--ca-file`).
    pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config.ca_file = Some(path.into());
        self
    }

    /// Writes every proxied exchange as a scenario file in this directory (as `--record`).
    pub fn record(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config.record_dir = Some(dir.into());
        self
    }

    /// Largest request body accepted, in bytes.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }

    /// How many exchanges the journal keeps (0 turns it off).
    pub fn journal_size(mut self, entries: usize) -> Self {
        self.config.journal_size = entries;
        self
    }

    /// Load state from this file at start-up and write it back on shutdown.
    pub fn state_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config.state_file = Some(path.into());
        self
    }

    /// Close connections whose headers are slower, or that idle longer, than this.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// Most connections served at once; more get a quick 503.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.config.max_connections = n;
        self
    }

    /// Listen on this port (default: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.config.port = port;
        self.port_set = true;
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self.port_set = true;
        self
    }

    /// Starts on 127.0.0.1 with a free port (unless a port was configured).
    pub async fn start(mut self) -> Result<Sandbox, StartError> {
        if !self.port_set {
            self.config.port = 0;
        }
        Sandbox::start(self.config).await
    }
}

/// A running sandbox. Dropping it shuts the server down (without the final snapshot: call
/// [`Sandbox::shutdown`] to drain and save).
pub struct Sandbox {
    addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    app: Arc<app::App>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// Starts a sandbox with an explicit configuration.
    pub async fn start(config: Config) -> Result<Sandbox, StartError> {
        let started = Instant::now();
        let (app, report) = build_app(config)?;
        if let Some(path) = &app.config.state_file {
            snapshot::remove_stale_temps(path);
        }
        if let Some(path) = &app.config.state_file
            && let Some(snap) = snapshot::read(path).map_err(StartError::State)?
        {
            snapshot::restore(&app, &snap)
                .map_err(|e| StartError::State(format!("{}: {e}", path.display())))?;
        }
        let listener = tokio::net::TcpListener::bind((app.config.host, app.config.port))
            .await
            .map_err(StartError::Bind)?;
        let addr = listener.local_addr().map_err(StartError::Bind)?;
        let admin_listener = match app.config.admin_port {
            Some(port) => Some(
                tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port))
                    .await
                    .map_err(StartError::Bind)?,
            ),
            None => None,
        };
        let admin_addr = admin_listener.as_ref().and_then(|l| l.local_addr().ok());
        tracing::info!(
            specs = report.specs,
            operations = report.operations,
            startup_ms = started.elapsed().as_secs_f64() * 1000.0,
            workers = tokio::runtime::Handle::current().metrics().num_workers(),
            %addr,
            "paysandbox ready"
        );
        let app = Arc::new(app);
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(server::run(
            listener,
            app.clone(),
            server::Role::Main,
            rx.clone(),
        ))];
        if let Some(l) = admin_listener {
            tasks.push(tokio::spawn(server::run(
                l,
                app.clone(),
                server::Role::Admin,
                rx.clone(),
            )));
        }
        if let Some(path) = app.config.state_file.clone()
            && app.config.snapshot_interval_secs > 0
        {
            tasks.push(tokio::spawn(periodic_snapshots(
                app.clone(),
                path,
                Duration::from_secs(app.config.snapshot_interval_secs),
                rx,
            )));
        }
        Ok(Sandbox {
            addr,
            admin_addr,
            app,
            shutdown,
            tasks,
        })
    }

    /// The running app (for `compare`, which asks its providers for replay credentials).
    pub(crate) fn app(&self) -> &Arc<app::App> {
        &self.app
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the admin API: its own port if configured, else the main one.
    pub fn admin_url(&self) -> String {
        format!(
            "http://{}{}",
            self.admin_addr.unwrap_or(self.addr),
            admin::PREFIX
        )
    }

    /// Moves the sandbox clock forward for everyone (token, nonce and card expiry follow it),
    /// stopping at 9000-01-01T00:00:00Z like `POST /__sandbox/clock/advance`: past it the
    /// providers' timestamps would lose their four-digit years.
    pub fn advance_clock(&self, by: Duration) {
        self.app.env.clock.advance(by);
    }

    /// The recorded exchanges matching `filter`, oldest first (masked: no card numbers).
    pub fn journal(&self, filter: &journal::Filter) -> Vec<journal::Entry> {
        if filter.tenant.is_none() || !filter.tenant_keys.is_empty() {
            return self.app.journal.entries(filter);
        }
        let filter = journal::Filter {
            tenant_keys: self.app.filter_tenant_keys(filter.tenant.as_deref()),
            ..filter.clone()
        };
        self.app.journal.entries(&filter)
    }

    /// Forgets every tenant's state, scenario counters and seeds, the journal, and clock
    /// offsets.
    pub fn reset(&self) {
        for p in self.app.providers() {
            p.reset(None);
        }
        self.app.scenarios.forget(None);
        self.app.journal.clear();
        self.app.env.clock.reset();
    }

    /// One tenant's state at one provider, as `GET /__sandbox/state` shows it.
    pub fn state(&self, provider: &str, tenant: &str) -> Option<serde_json::Value> {
        let provider = self.app.providers().find(|p| p.name() == provider)?;
        admin::masked_state(provider.as_ref(), tenant)
    }

    /// Everything the providers hold, as a snapshot (what `--state-file` writes).
    pub fn snapshot(&self) -> snapshot::Snapshot {
        snapshot::capture(&self.app)
    }

    /// Stops accepting, drains in-flight requests, writes the state file if configured, and
    /// waits for the server to end.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.wait().await;
    }

    /// Resolves when the server has stopped (after a signal-triggered shutdown), having
    /// written the final snapshot if a state file is configured.
    pub async fn wait(mut self) {
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        if let Some(path) = self.app.config.state_file.clone() {
            let snap = snapshot::capture(&self.app);
            match tokio::task::spawn_blocking(move || snapshot::write(&path, &snap)).await {
                Ok(Ok(())) => tracing::info!("state saved"),
                Ok(Err(e)) => tracing::error!(error = %e, "cannot write the state file"),
                Err(e) => tracing::error!(error = %e, "cannot write the state file"),
            }
        }
    }

    /// A handle that can trigger shutdown from elsewhere (signal handlers).
    pub fn shutdown_trigger(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

async fn periodic_snapshots(
    app: Arc<app::App>,
    path: std::path::PathBuf,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let snap = snapshot::capture(&app);
                let path = path.clone();
                match tokio::task::spawn_blocking(move || snapshot::write(&path, &snap)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "periodic snapshot failed"),
                    Err(e) => tracing::error!(error = %e, "periodic snapshot failed"),
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
