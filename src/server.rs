//! The HTTP/1.1 listener: one task per connection, graceful shutdown on a signal.

use crate::app::App;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// The answer to a connection over the cap: a complete HTTP response, then close.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 81\r\n\r\n{\"error\":{\"status\":503,\"message\":\"too many open connections; retry in a moment\"}}";

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
    let permits = Arc::new(Semaphore::new(app.config.max_connections.max(1)));
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
                // Past the cap, a connection gets a quick 503 instead of a slot: slow or dead
                // clients can hold every slot, never the whole server.
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    connections.spawn(async move {
                        let mut stream = stream;
                        let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
                        let _ = stream.shutdown().await;
                    });
                    continue;
                };
                let (app, shutdown) = (app.clone(), shutdown.clone());
                connections.spawn(async move {
                    serve_connection(stream, peer, app, role, shutdown).await;
                    drop(permit);
                });
            }
            _ = shutdown.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let drained = tokio::time::timeout(app.config.drain_timeout, async {
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
    let service_app = app.clone();
    let service = service_fn(move |req| {
        let (app, tap) = (service_app.clone(), tap.clone());
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
    // hyper's header read timeout runs both while a request's headers arrive (slow-header
    // clients) and while a keep-alive connection waits for its next request: one setting
    // closes both kinds of idle connection.
    let idle = app.config.idle_timeout;
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(idle)
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
