//! Run-time settings shared by the CLI and the embedding API.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

/// How a sandbox runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub host: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    /// Load specs from this directory instead of the embedded ones.
    pub specs_dir: Option<PathBuf>,
    /// Validate every answer against its spec; a violation becomes a 500.
    pub strict: bool,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Seed for generated ids and data.
    pub seed: Option<u64>,
    /// When set, the admin API also answers non-loopback clients that send this token.
    pub admin_token: Option<String>,
    /// Extra scenario directories (`--scenarios DIR`), loaded after the embedded ones.
    pub scenario_dirs: Vec<PathBuf>,
    /// Scenarios active for every tenant (`--scenario NAME`).
    pub scenarios: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 4010,
            specs_dir: None,
            strict: false,
            body_limit: 1024 * 1024,
            seed: None,
            admin_token: None,
            scenario_dirs: Vec::new(),
            scenarios: Vec::new(),
        }
    }
}
