//! The HTTP/1.1 listener: one task per connection, graceful shutdown on a signal.

use crate::app::App;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long in-flight requests get to finish once shutdown starts.
const DRAIN: Duration = Duration::from_secs(10);
/// A client must send its request headers within this time (slow-header clients).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The provider APIs (and the admin API unless it has its own port).
    Main,
    /// Only the admin API (`--admin-port`).
    Admin,
}

/// Accepts connections until `shutdown` flips to `true`, then drains.
pub async fn run(
    listener: TcpListener,
    app: Arc<App>,
    role: Role,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off rather than spin.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                connections.spawn(serve_connection(stream, peer, app.clone(), role, shutdown.clone()));
            }
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let drained = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            remaining = connections.len(),
            "shutdown: connections still open after the drain period"
        );
        connections.abort_all();
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Arc<App>,
    role: Role,
    shutdown: watch::Receiver<bool>,
) {
    serve_io(stream, peer, app, role, shutdown).await
}

/// Serves one connection over any stream, exactly as an accepted TCP connection is served
/// (the fuzz targets drive it over an in-memory stream).
#[doc(hidden)]
pub async fn serve_io<S>(
    stream: S,
    peer: SocketAddr,
    app: Arc<App>,
    role: Role,
    mut shutdown: watch::Receiver<bool>,
) where
    S: crate::scenario::wire::Abortable + Send + 'static,
{
    // The tap lets scenario faults reset or cut the connection (see scenario::wire).
    let (stream, tap) = crate::scenario::wire::tap(stream);
    let service = service_fn(move |req| {
        let (app, tap) = (app.clone(), tap.clone());
        async move {
            let answer = match role {
                Role::Main => {
                    crate::scenario::wire::deliver(&tap, app.serve(req, Some(peer))).await
                }
                Role::Admin => {
                    crate::scenario::wire::deliver(&tap, app.serve_admin_only(req, Some(peer)))
                        .await
                }
            };
            Ok::<_, Infallible>(answer)
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = shutdown.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
