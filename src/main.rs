//! The `paysandbox` command line: `serve` (the default) and `check`.

use clap::{Args, Parser, Subcommand};
use paysandbox::{Config, Sandbox};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "paysandbox",
    version,
    about = "A local sandbox for the card-on-file APIs of Mercado Pago, Square and Eximpe"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the sandbox server (the default command).
    Serve(ServeArgs),
    /// Validate the specs (every schema and example) and the scenario files, and exit
    /// non-zero on any problem.
    Check(CheckArgs),
    /// List the scenarios (embedded and from --scenarios DIR) with their descriptions.
    Scenarios(CheckArgs),
    /// Replay the exchanges recorded with --record DIR against the emulation and report
    /// every difference in status, envelope and field types; exit 1 on any difference.
    Compare(CompareArgs),
}

#[derive(Args)]
struct CompareArgs {
    /// The directory --record wrote.
    dir: PathBuf,
    /// Compare with the specs in this directory instead of the embedded ones.
    #[arg(long, env = "PAYSANDBOX_SPECS")]
    specs: Option<PathBuf>,
    /// Seed for the emulation's generated ids.
    #[arg(long)]
    seed: Option<u64>,
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PAYSANDBOX_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PAYSANDBOX_PORT", default_value_t = 4010)]
    port: u16,
    /// Load OpenAPI specs from this directory instead of the embedded ones.
    #[arg(long, env = "PAYSANDBOX_SPECS")]
    specs: Option<PathBuf>,
    /// Validate every answer against its spec; a violation becomes a loud 500.
    #[arg(long, env = "PAYSANDBOX_STRICT")]
    strict: bool,
    /// Largest request body accepted, in bytes.
    #[arg(long, env = "PAYSANDBOX_BODY_LIMIT", default_value_t = 1024 * 1024)]
    body_limit: usize,
    /// Seed for generated ids and data (reproducible sequential runs).
    #[arg(long, env = "PAYSANDBOX_SEED")]
    seed: Option<u64>,
    /// Let non-loopback clients use the admin API when they send this token
    /// (`X-Sandbox-Admin-Token` header).
    #[arg(long, env = "PAYSANDBOX_ADMIN_TOKEN")]
    admin_token: Option<String>,
    /// Serve the admin API (/__sandbox/...) on this port instead of the main one.
    #[arg(long, env = "PAYSANDBOX_ADMIN_PORT")]
    admin_port: Option<u16>,
    /// How many exchanges the request journal keeps (0 turns it off).
    #[arg(long, env = "PAYSANDBOX_JOURNAL_SIZE", default_value_t = 1000)]
    journal_size: usize,
    /// Load state from this file at start-up; write it on shutdown and periodically.
    #[arg(long, env = "PAYSANDBOX_STATE_FILE")]
    state_file: Option<PathBuf>,
    /// Seconds between periodic snapshots to --state-file (0: only on shutdown).
    #[arg(long, env = "PAYSANDBOX_SNAPSHOT_INTERVAL", default_value_t = 30)]
    snapshot_interval: u64,
    /// Close a connection whose request headers take longer than this many seconds, or that
    /// sits idle between requests longer than this.
    #[arg(long, env = "PAYSANDBOX_IDLE_TIMEOUT", default_value_t = 30)]
    idle_timeout: u64,
    /// Most connections served at once; more get a quick 503.
    #[arg(long, env = "PAYSANDBOX_MAX_CONNECTIONS", default_value_t = 4096)]
    max_connections: usize,
    /// Seconds in-flight requests get to finish on SIGTERM/SIGINT.
    #[arg(long, env = "PAYSANDBOX_DRAIN_TIMEOUT", default_value_t = 10)]
    drain_timeout: u64,
    /// Log format.
    #[arg(long, env = "PAYSANDBOX_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Activate a scenario for every tenant (repeatable, or comma-separated).
    #[arg(long = "scenario", env = "PAYSANDBOX_SCENARIO", value_delimiter = ',')]
    scenario: Vec<String>,
    /// Also load the scenario files (*.yaml) of this directory (repeatable).
    #[arg(long = "scenarios", env = "PAYSANDBOX_SCENARIOS")]
    scenarios: Vec<PathBuf>,
    /// Forward a provider's requests to a real upstream, PROVIDER=URL (repeatable; http or
    /// https).
    #[arg(long = "proxy", env = "PAYSANDBOX_PROXY", value_delimiter = ',', value_parser = paysandbox::proxy::parse_proxy)]
    proxy: Vec<(String, String)>,
    /// Also trust the PEM certificates of this file for https upstreams and webhook
    /// receivers (a corporate proxy's root, a self-signed test server).
    #[arg(long = "ca-file", env = "PAYSANDBOX_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// Write every proxied exchange as a replayable scenario file in this directory.
    #[arg(long = "record", env = "PAYSANDBOX_RECORD")]
    record: Option<PathBuf>,
    /// Worker threads serving requests [default: half the cores, at least one].
    #[arg(long, env = "PAYSANDBOX_WORKERS", value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
}

#[derive(Args)]
struct CheckArgs {
    /// Read the specs of this directory instead of the embedded ones (scenarios are checked
    /// against them).
    #[arg(long, env = "PAYSANDBOX_SPECS")]
    specs: Option<PathBuf>,
    /// Also load the scenario files (*.yaml) of this directory (repeatable).
    #[arg(long = "scenarios", env = "PAYSANDBOX_SCENARIOS")]
    scenarios: Vec<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum LogFormat {
    Text,
    Json,
}

/// Logs go to stderr through a background writer (`paysandbox::logs`): request threads append
/// their line to a buffer and never wait on stderr. The guard flushes what is left when the
/// process ends.
fn init_logs(format: LogFormat) -> Option<paysandbox::logs::FlushGuard<std::io::Stderr>> {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("PAYSANDBOX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let (writer, guard) = match paysandbox::logs::batched(std::io::stderr()) {
        Ok((writer, guard)) => (writer, guard),
        Err(e) => {
            eprintln!("paysandbox: cannot start the log writer thread: {e}");
            return None;
        }
    };
    let request_format = match format {
        LogFormat::Json => paysandbox::request_log::Format::Json,
        LogFormat::Text if ansi => paysandbox::request_log::Format::Ansi,
        LogFormat::Text => paysandbox::request_log::Format::Text,
    };
    let request_writer = writer.clone();
    paysandbox::request_log::install(paysandbox::request_log::Sink {
        format: request_format,
        write: Box::new(move |line| {
            use std::io::Write;
            let _ = (&request_writer).write_all(line);
        }),
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Some(guard)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check(args)) => check(args),
        Some(Command::Scenarios(args)) => list_scenarios(args),
        Some(Command::Compare(args)) => compare(args),
        Some(Command::Serve(args)) => serve(args),
        None => serve(cli.serve),
    }
}

fn check(args: CheckArgs) -> ExitCode {
    let config = Config {
        specs_dir: args.specs,
        verify_embedded_specs: true,
        scenario_dirs: args.scenarios,
        ..Config::default()
    };
    match paysandbox::build_app(config) {
        Ok((app, report)) => {
            println!(
                "ok: {} specs, {} operations, {} scenarios",
                report.specs,
                report.operations,
                app.scenarios.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn compare(args: CompareArgs) -> ExitCode {
    let config = Config {
        specs_dir: args.specs,
        seed: args.seed,
        journal_size: 0,
        ..Config::default()
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(paysandbox::proxy::compare::compare(&args.dir, config)) {
        Ok(report) => {
            for d in &report.differences {
                println!("{d}");
            }
            println!(
                "{} exchanges compared, {} differences",
                report.exchanges,
                report.differences.len()
            );
            if report.differences.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn list_scenarios(args: CheckArgs) -> ExitCode {
    let config = Config {
        specs_dir: args.specs,
        verify_embedded_specs: true,
        scenario_dirs: args.scenarios,
        ..Config::default()
    };
    match paysandbox::build_app(config) {
        Ok((app, _)) => {
            use std::io::Write;
            let list = app.scenarios.list();
            let width = list.iter().map(|s| s.name.len()).max().unwrap_or(0);
            let mut out = std::io::stdout().lock();
            for s in list {
                // A closed pipe (`| head`) just ends the listing.
                if writeln!(
                    out,
                    "{:width$}  {:11}  {}",
                    s.name, s.provider, s.description
                )
                .is_err()
                {
                    break;
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let _logs = init_logs(args.log_format);
    let config = Config {
        host: args.host,
        port: args.port,
        specs_dir: args.specs,
        verify_embedded_specs: false,
        strict: args.strict,
        body_limit: args.body_limit,
        seed: args.seed,
        admin_token: args.admin_token,
        admin_on_main_port: args.admin_port.is_none(),
        admin_port: args.admin_port,
        journal_size: args.journal_size,
        state_file: args.state_file,
        snapshot_interval_secs: args.snapshot_interval,
        idle_timeout: std::time::Duration::from_secs(args.idle_timeout.max(1)),
        max_connections: args.max_connections.max(1),
        drain_timeout: std::time::Duration::from_secs(args.drain_timeout),
        scenario_dirs: args.scenarios,
        scenarios: args.scenario,
        proxies: args.proxy,
        record_dir: args.record,
        ca_file: args.ca_file,
    };
    let workers = args.workers.map_or_else(default_workers, usize::from);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Before start-up logs "ready": a supervisor (or a test) that stops the sandbox as
        // soon as it reads that line must find the handler in place, not the default action.
        let shutdown = shutdown_signal();
        let sandbox = match Sandbox::start(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        let trigger = sandbox.shutdown_trigger();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: draining in-flight requests");
            let _ = trigger.send(true);
        });
        sandbox.wait().await;
        ExitCode::SUCCESS
    })
}

/// Half the machine's cores, at least one. The client that drives a sandbox (a test suite,
/// an SDK, a load generator) nearly always runs on the same machine; a worker per core
/// leaves it none, so the two preempt each other, and every preemption lands in someone's
/// latency. Measured on two cores under 64 connections (bench/README.md): one worker
/// serves as many requests as two, at less CPU per request and a third of the p99.
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// Installs the SIGTERM and SIGINT handlers now, and answers a future that completes on
/// the first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
