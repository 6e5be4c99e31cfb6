//! Connection-level behaviour of scenarios: delays and faults happen after the pipeline has
//! decided the answer, where the bytes meet the socket.
//!
//! The pipeline records what a firing rule wants in a task-local [`Outcome`] (set up by
//! [`deliver`] around each request), so the synchronous pipeline needs no extra parameters.
//! Faults that must not send a byte (reset, empty answer) or must stop after the head are
//! carried out by [`Tapped`], the connection's I/O wrapper; a slow body is a [`Body`].

use super::model::Fault;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Response;
use hyper::body::{Frame, SizeHint};
use hyper::header::HeaderValue;
use parking_lot::Mutex;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

/// What a firing rule asked of the connection, for one request.
#[derive(Debug, Default)]
pub struct Outcome {
    pub delay: Option<Duration>,
    pub fault: Option<Fault>,
    /// The scenario answered (not the handler): strict mode leaves the answer alone.
    pub forced: bool,
    /// `scenario#rule`, sent back as `X-Sandbox-Scenario-Rule`.
    pub label: Option<String>,
}

tokio::task_local! {
    static OUTCOME: Arc<Mutex<Outcome>>;
}

/// Records into the current request's outcome (no-op outside [`deliver`]).
pub fn record(f: impl FnOnce(&mut Outcome)) {
    let _ = OUTCOME.try_with(|o| f(&mut o.lock()));
}

/// Whether a scenario answered the current request.
pub fn forced() -> bool {
    OUTCOME.try_with(|o| o.lock().forced).unwrap_or(false)
}

// Mode 0 is normal operation.
const RESET: u8 = 1;
const EMPTY: u8 = 2;
const AFTER_HEAD: u8 = 3;

/// The connection's fault switch, shared by its I/O wrapper and its requests.
#[derive(Debug, Default)]
pub struct Tap {
    mode: AtomicU8,
}

/// A stream that can abort hard: a TCP socket resets (RST) rather than closing (FIN).
pub trait Abortable: AsyncRead + AsyncWrite + Unpin {
    /// Makes the coming close a reset where the transport has one.
    fn prepare_reset(&self);
}

impl Abortable for TcpStream {
    fn prepare_reset(&self) {
        // SO_LINGER 0: closing the socket now sends RST instead of FIN.
        let _ = self.set_zero_linger();
    }
}

/// In-memory connections (the fuzz targets) have no reset; the error alone ends them.
impl Abortable for tokio::io::DuplexStream {
    fn prepare_reset(&self) {}
}

/// A connection that can be told to reset, close silently, or close after the head.
pub struct Tapped<S = TcpStream> {
    inner: S,
    tap: Arc<Tap>,
    /// Bytes of `\r\n\r\n` seen so far, while stopping after the head.
    head_end: u8,
    head_done: bool,
}

/// Wraps an accepted stream; the [`Tap`] goes to every request of the connection.
pub fn tap<S: Abortable>(stream: S) -> (Tapped<S>, Arc<Tap>) {
    let tap = Arc::new(Tap::default());
    (
        Tapped {
            inner: stream,
            tap: tap.clone(),
            head_end: 0,
            head_done: false,
        },
        tap,
    )
}

fn scan_head(mut state: u8, bytes: &[u8]) -> (u8, Option<usize>) {
    for (i, b) in bytes.iter().enumerate() {
        state = match (state, b) {
            (0 | 2, b'\r') => state + 1,
            (1 | 3, b'\n') => state + 1,
            (_, b'\r') => 1,
            _ => 0,
        };
        if state == 4 {
            return (state, Some(i + 1));
        }
    }
    (state, None)
}

impl<S: Abortable> AsyncRead for Tapped<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: Abortable> AsyncWrite for Tapped<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.tap.mode.load(Ordering::Acquire) {
            RESET => {
                this.inner.prepare_reset();
                Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
            }
            EMPTY => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "scenario: close without answering",
            ))),
            AFTER_HEAD if this.head_done => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "scenario: close after the headers",
            ))),
            AFTER_HEAD => {
                let (_, end) = scan_head(this.head_end, buf);
                let upto = end.unwrap_or(buf.len());
                let written =
                    std::task::ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..upto]))?;
                let (state, end) = scan_head(this.head_end, &buf[..written]);
                this.head_end = state;
                this.head_done = end.is_some();
                Poll::Ready(Ok(written))
            }
            _ => Pin::new(&mut this.inner).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.tap.mode.load(Ordering::Acquire) == RESET {
            this.inner.prepare_reset();
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

/// A response body: whole, or trickled a few bytes at a time (the slow-body fault).
pub struct Body {
    data: Bytes,
    /// 0: send everything at once.
    chunk: usize,
    interval: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Body {
    pub fn full(data: Bytes) -> Body {
        Body {
            data,
            chunk: 0,
            interval: Duration::ZERO,
            sleep: None,
        }
    }

    pub fn trickle(data: Bytes, chunk: usize, interval: Duration) -> Body {
        Body {
            data,
            chunk: chunk.max(1),
            interval,
            sleep: None,
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if this.data.is_empty() {
            return Poll::Ready(None);
        }
        if this.chunk == 0 {
            return Poll::Ready(Some(Ok(Frame::data(std::mem::take(&mut this.data)))));
        }
        if let Some(sleep) = this.sleep.as_mut() {
            std::task::ready!(sleep.as_mut().poll(cx));
            this.sleep = None;
        }
        let part = this.data.split_to(this.chunk.min(this.data.len()));
        if !this.data.is_empty() {
            this.sleep = Some(Box::pin(tokio::time::sleep(this.interval)));
        }
        Poll::Ready(Some(Ok(Frame::data(part))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.len() as u64)
    }
}

/// Runs one request's pipeline and delivers its answer as the firing rule asked: after its
/// delay, with its fault.
pub async fn deliver<F>(tap: &Tap, pipeline: F) -> Response<Body>
where
    F: Future<Output = Response<Full<Bytes>>>,
{
    let slot = Arc::new(Mutex::new(Outcome::default()));
    let response = OUTCOME.scope(slot.clone(), pipeline).await;
    let outcome = std::mem::take(&mut *slot.lock());
    if let Some(delay) = outcome.delay {
        tokio::time::sleep(delay).await;
    }
    let (mut parts, body) = response.into_parts();
    if let Some(label) = outcome.label.and_then(|l| HeaderValue::try_from(l).ok()) {
        parts.headers.insert("x-sandbox-scenario-rule", label);
    }
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let body = match outcome.fault {
        None => Body::full(bytes),
        Some(Fault::SlowBody {
            chunk_bytes,
            interval,
        }) => Body::trickle(bytes, chunk_bytes, interval),
        Some(fault) => {
            let mode = match fault {
                Fault::Reset => RESET,
                Fault::EmptyResponse => EMPTY,
                _ => AFTER_HEAD,
            };
            tap.mode.store(mode, Ordering::Release);
            Body::full(bytes)
        }
    };
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_ends_at_the_first_blank_line_even_across_writes() {
        assert_eq!(
            scan_head(0, b"HTTP/1.1 200 OK\r\na: b\r\n\r\n{}"),
            (4, Some(25))
        );
        let (state, end) = scan_head(0, b"HTTP/1.1 200 OK\r\n\r");
        assert_eq!(end, None);
        assert_eq!(scan_head(state, b"\n{}"), (4, Some(1)));
        assert_eq!(scan_head(0, b"a\r\nb\r\r\n\r\n").1, Some(9));
    }
}
