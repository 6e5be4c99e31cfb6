//! The HTTP client for what paysandbox sends out: proxied requests to a provider's own
//! sandbox (`--proxy`) and webhook deliveries to receivers.
//!
//! With the `tls` feature (on by default) it speaks `https://` too, through rustls with the
//! `ring` provider, trusting the Mozilla roots of `webpki-roots` plus whatever `--ca-file`
//! adds (a corporate proxy's root, a self-signed test upstream). The real sandboxes are
//! https only, so the feature is on by default; `--no-default-features` builds a plain-http
//! binary that refuses `https://` URLs with a message saying why.
//!
//! The client is built on first use, not at start-up: most runs never send anything out,
//! and parsing the root store would only add to the start-up time.

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::path::Path;
use std::sync::OnceLock;

#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;

/// The client type for outbound requests.
pub type Client = hyper_util::client::legacy::Client<Connector, Full<Bytes>>;

/// Whether this build can reach `https://` URLs.
pub const TLS: bool = cfg!(feature = "tls");

/// Outbound HTTP(S): the extra trusted roots, read at start-up, and the client built from
/// them on first use.
#[derive(Default)]
pub struct Outbound {
    /// DER certificates from `--ca-file`, trusted besides the webpki roots.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    extra_roots: Vec<Vec<u8>>,
    client: OnceLock<Result<Client, String>>,
}

impl Outbound {
    /// Reads the extra roots of a PEM file, so a missing or unreadable file stops start-up
    /// instead of failing the first delivery.
    pub fn new(ca_file: Option<&Path>) -> Result<Outbound, String> {
        let Some(path) = ca_file else {
            return Ok(Outbound::default());
        };
        read_roots(path).map(|extra_roots| Outbound {
            extra_roots,
            client: OnceLock::new(),
        })
    }

    /// The client; `Err` only when TLS cannot be set up at all (then nothing can be sent).
    pub fn client(&self) -> Result<&Client, String> {
        self.client
            .get_or_init(|| build(&self.extra_roots))
            .as_ref()
            .map_err(Clone::clone)
    }
}

#[cfg(feature = "tls")]
fn read_roots(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let shown = path.display();
    let text = std::fs::read(path).map_err(|e| format!("--ca-file {shown}: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--ca-file {shown}: not a PEM certificate file ({e})"))?;
    if certs.is_empty() {
        return Err(format!(
            "--ca-file {shown}: no \"BEGIN CERTIFICATE\" block in it"
        ));
    }
    // Each one must be usable as a trust anchor; say which is not rather than failing later.
    let mut store = rustls::RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        store
            .add(cert.clone())
            .map_err(|e| format!("--ca-file {shown}: certificate {} is unusable: {e}", i + 1))?;
    }
    Ok(certs.into_iter().map(|c| c.to_vec()).collect())
}

#[cfg(not(feature = "tls"))]
fn read_roots(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    Err(format!(
        "--ca-file {}: this paysandbox was built without the `tls` feature (no https client)",
        path.display()
    ))
}

#[cfg(feature = "tls")]
fn build(extra_roots: &[Vec<u8>]) -> Result<Client, String> {
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for der in extra_roots {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| format!("--ca-file: {e}"))?;
    }
    // An explicit provider: no process-wide default to install, and no aws-lc.
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector))
}

#[cfg(not(feature = "tls"))]
fn build(_extra_roots: &[Vec<u8>]) -> Result<Client, String> {
    Ok(hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http())
}

/// Checks an outbound URL's scheme and host; `what` names it in the message.
pub fn check_url(what: &str, url: &str) -> Result<(), String> {
    let https = url.starts_with("https://");
    if !https && !url.starts_with("http://") {
        return Err(format!("{what} must be an http:// or https:// URL"));
    }
    if https && !TLS {
        return Err(format!(
            "{what}: this paysandbox was built without the `tls` feature, so it cannot reach https:// URLs"
        ));
    }
    match url.parse::<hyper::Uri>() {
        Ok(uri) if uri.host().is_some_and(|h| !h.is_empty()) => Ok(()),
        _ => Err(format!("{what} is not a valid URL")),
    }
}

/// An error with its causes, so a TLS failure reads "... invalid peer certificate:
/// UnknownIssuer" rather than hyper's bare "client error (Connect)".
pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        assert_eq!(check_url("u", "http://127.0.0.1:9/x"), Ok(()));
        assert_eq!(
            check_url("u", "ftp://x"),
            Err("u must be an http:// or https:// URL".into())
        );
        assert_eq!(
            check_url("u", "http://"),
            Err("u is not a valid URL".into())
        );
        assert_eq!(check_url("u", "https://example.test/").is_ok(), TLS);
    }

    #[test]
    fn a_ca_file_must_hold_certificates() {
        let dir = std::env::temp_dir().join(format!("paysandbox-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let err = Outbound::new(Some(&empty)).err().expect("refused");
        assert!(
            err.starts_with(&format!("--ca-file {}: ", empty.display())),
            "{err}"
        );
        let missing = dir.join("missing.pem");
        assert!(Outbound::new(Some(&missing)).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
