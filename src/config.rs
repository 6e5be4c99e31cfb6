//! Run-time settings shared by the CLI and the embedding API.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

/// How a sandbox runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Load specs from this directory instead of the embedded ones.
    pub specs_dir: Option<PathBuf>,
    /// Verify the embedded specs whole at load, as other specs are (`paysandbox check`).
    pub verify_embedded_specs: bool,
    /// Validate every answer against its spec; a violation becomes a 500.
    pub strict: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Seed for generated ids and data.
    pub seed: Option<u64>,
    /// When set, the admin API also answers non-loopback clients that send this token.
    pub admin_token: Option<String>,
    /// Serve the admin API on the main port too (false when it has a port of its own).
    pub admin_on_main_port: bool,
    /// A separate port for the admin API.
    pub admin_port: Option<u16>,
    /// How many exchanges the request journal keeps (0 turns it off).
    pub journal_size: usize,
    /// Load state from this file at start-up and write it on shutdown and periodically.
    pub state_file: Option<PathBuf>,
    /// Seconds between periodic snapshots (0: only on shutdown).
    pub snapshot_interval_secs: u64,
    /// A connection is closed when a request's headers take longer than this to arrive, or
    /// when it sits idle between requests longer than this.
    pub idle_timeout: Duration,
    /// Most connections served at once; more get a quick 503 and are closed.
    pub max_connections: usize,
    /// How long in-flight requests get to finish once shutdown starts.
    pub drain_timeout: Duration,
    /// Extra scenario directories (`--scenarios DIR`), loaded after the embedded ones.
    pub scenario_dirs: Vec<PathBuf>,
    /// Scenarios active for every tenant (`--scenario NAME`).
    pub scenarios: Vec<String>,
    /// Providers forwarded to a real upstream (`--proxy PROVIDER=URL`): (provider, base URL).
    pub proxies: Vec<(String, String)>,
    /// Write every proxied exchange as a scenario file here (`--record DIR`).
    pub record_dir: Option<PathBuf>,
    /// PEM certificates trusted for outbound https (proxy upstreams, webhook receivers)
    /// besides the built-in webpki roots (`--ca-file`).
    pub ca_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 4010,
            specs_dir: None,
            verify_embedded_specs: false,
            strict: false,
            body_limit: 1024 * 1024,
            seed: None,
            admin_token: None,
            admin_on_main_port: true,
            admin_port: None,
            journal_size: 1000,
            state_file: None,
            snapshot_interval_secs: 30,
            idle_timeout: Duration::from_secs(30),
            max_connections: 4096,
            drain_timeout: Duration::from_secs(10),
            scenario_dirs: Vec::new(),
            scenarios: Vec::new(),
            proxies: Vec::new(),
            record_dir: None,
            ca_file: None,
        }
    }
}
