//! The one log line each request writes, formatted here and appended straight to the log
//! buffer.
//!
//! Through `tracing_subscriber`'s formatter this line cost about 4% of a request's CPU (field
//! visitors, `Debug` escaping, timestamp arithmetic per line). Written here it comes out
//! byte for byte as that formatter writes it, in the text (plain or coloured) and JSON
//! formats, and `PAYSANDBOX_LOG` still decides whether it is written. A program that embeds
//! paysandbox, and so installs no sink, gets the line as an ordinary `tracing` event.

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The target the line is filtered and shown under.
pub const TARGET: &str = "paysandbox::request";

/// Where a finished line's bytes go.
pub type Write = Box<dyn Fn(&[u8]) + Send + Sync>;

/// How lines are written: the format, and where the bytes go.
pub struct Sink {
    pub format: Format,
    pub write: Write,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    /// Text with the terminal colours `tracing_subscriber` uses.
    Ansi,
    Json,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sends request lines to `sink` from now on (the `paysandbox` binary does, at start-up).
/// Only the first call takes effect.
pub fn install(sink: Sink) {
    let _ = SINK.set(sink);
}

/// What one line says.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub method: &'a str,
    /// Already masked.
    pub path: &'a str,
    pub operation: &'a str,
    pub status: u16,
    pub micros: u64,
}

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The formatted date and time of the last second a line was written in.
    static SECOND: RefCell<(u64, [u8; 19])> = const { RefCell::new((u64::MAX, [0; 19])) };
}

/// Logs one request, if `PAYSANDBOX_LOG` lets `paysandbox::request` through at info.
pub fn log(line: Line<'_>) {
    if !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
        return;
    }
    let Some(sink) = SINK.get() else {
        event(&line);
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    BUFFER.with_borrow_mut(|out| {
        out.clear();
        format(out, sink.format, now.as_secs(), now.subsec_micros(), &line);
        (sink.write)(out);
    });
}

/// The line as a `tracing` event, for programs with their own subscriber (and the model the
/// direct formatting is tested against).
fn event(line: &Line<'_>) {
    tracing::info!(
        target: TARGET,
        method = %line.method,
        path = %line.path,
        operation = line.operation,
        status = line.status,
        micros = line.micros,
    );
}

/// Appends the line as `tracing_subscriber`'s formatter would write it at that time.
pub fn format(out: &mut Vec<u8>, format: Format, secs: u64, micros: u32, line: &Line<'_>) {
    let mut stamp = [0u8; 27];
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != secs {
            let ms = i64::try_from(secs).unwrap_or(i64::MAX / 1000) * 1000;
            let (y, mo, d, h, mi, s, _) = crate::time::parts(ms, 0);
            let mut cursor = &mut text[..];
            let _ = write!(cursor, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
            *cached = secs;
        }
        stamp[..19].copy_from_slice(&text[..]);
    });
    // `.{micros:06}Z`, written without `core::fmt`: it is a measurable part of a line.
    stamp[19] = b'.';
    let mut rest = micros;
    for digit in stamp[20..26].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    stamp[26] = b'Z';
    let stamp = &stamp[..];
    match format {
        Format::Text | Format::Ansi => {
            let ansi = format == Format::Ansi;
            if ansi {
                out.extend_from_slice(b"\x1b[2m");
                out.extend_from_slice(stamp);
                out.extend_from_slice(
                    b"\x1b[0m \x1b[32m INFO\x1b[0m \x1b[2mpaysandbox::request\x1b[0m\x1b[2m:\x1b[0m",
                );
            } else {
                out.extend_from_slice(stamp);
                out.extend_from_slice(b"  INFO paysandbox::request:");
            }
            // ` name=`, the name in italics and `=` dimmed in colour.
            let name = |out: &mut Vec<u8>, name: &str| {
                let (before, after): (&[u8], &[u8]) = if ansi {
                    (b" \x1b[3m", b"\x1b[0m\x1b[2m=\x1b[0m")
                } else {
                    (b" ", b"=")
                };
                out.extend_from_slice(before);
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(after);
            };
            name(out, "method");
            out.extend_from_slice(line.method.as_bytes());
            name(out, "path");
            out.extend_from_slice(line.path.as_bytes());
            name(out, "operation");
            debug_str(out, line.operation);
            name(out, "status");
            decimal(out, u64::from(line.status));
            name(out, "micros");
            decimal(out, line.micros);
            out.push(b'\n');
        }
        Format::Json => {
            out.extend_from_slice(b"{\"timestamp\":\"");
            out.extend_from_slice(stamp);
            out.extend_from_slice(b"\",\"level\":\"INFO\",\"fields\":{\"method\":");
            json_str(out, line.method);
            out.extend_from_slice(b",\"path\":");
            json_str(out, line.path);
            out.extend_from_slice(b",\"operation\":");
            json_str(out, line.operation);
            out.extend_from_slice(b",\"status\":");
            decimal(out, u64::from(line.status));
            out.extend_from_slice(b",\"micros\":");
            decimal(out, line.micros);
            out.extend_from_slice(b"},\"target\":\"paysandbox::request\"}\n");
        }
    }
}

/// `n` in decimal, as `{}` writes it.
fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

/// Plain printable ASCII needs no escaping in either format.
fn plain(text: &str) -> bool {
    text.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}

/// `text` as `{:?}` writes it.
fn debug_str(out: &mut Vec<u8>, text: &str) {
    if plain(text) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        let _ = write!(out, "{text:?}");
    }
}

/// `text` as a JSON string.
fn json_str(out: &mut Vec<u8>, text: &str) {
    if plain(text) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::fmt::time::FormatTime;

    /// The instant every line in these tests is written at.
    const SECS: u64 = 1_795_395_055; // 2026-11-23T00:50:55Z
    const MICROS: u32 = 7_081;

    struct FixedTime;
    impl FormatTime for FixedTime {
        fn format_time(
            &self,
            w: &mut tracing_subscriber::fmt::format::Writer<'_>,
        ) -> std::fmt::Result {
            write!(w, "2026-11-23T00:50:55.007081Z")
        }
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// The line as `tracing_subscriber` writes it in `format`.
    fn from_tracing(format: Format, line: &Line<'_>) -> String {
        let captured = Captured::default();
        let builder = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_timer(FixedTime)
            .with_ansi(format == Format::Ansi);
        let emit = || event(line);
        match format {
            Format::Json => tracing::subscriber::with_default(builder.json().finish(), emit),
            _ => tracing::subscriber::with_default(builder.finish(), emit),
        }
        let bytes = captured.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    fn ours(format: Format, line: &Line<'_>) -> String {
        let mut out = Vec::new();
        super::format(&mut out, format, SECS, MICROS, line);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lines_match_the_tracing_formatter_byte_for_byte_in_every_format() {
        let lines = [
            Line {
                method: "POST",
                path: "/pg/tokens/",
                operation: "saveCardToken",
                status: 200,
                micros: 81,
            },
            Line {
                method: "DELETE",
                path: "/v2/cards/ccof:card-1/disable",
                operation: "-",
                status: 404,
                micros: 1_234_567,
            },
            Line {
                method: "GET",
                path: "/",
                operation: "-",
                status: 999,
                micros: u64::MAX,
            },
            // Text that needs escaping takes the slow path and must still agree.
            Line {
                method: "GET",
                path: "/v1/customers/a\"b\\c/ü",
                operation: "op\"with\\quotes\tand ü",
                status: 500,
                micros: 0,
            },
        ];
        for format in [Format::Text, Format::Ansi, Format::Json] {
            for line in &lines {
                assert_eq!(ours(format, line), from_tracing(format, line), "{format:?}");
            }
        }
    }

    #[test]
    fn the_cached_second_moves_on_with_the_clock() {
        let line = Line {
            method: "GET",
            path: "/",
            operation: "-",
            status: 200,
            micros: 1,
        };
        let mut out = Vec::new();
        format(&mut out, Format::Text, SECS, 0, &line);
        format(&mut out, Format::Text, SECS + 86_400, 999_999, &line);
        let text = String::from_utf8(out).unwrap();
        let stamps: Vec<&str> = text.lines().map(|l| &l[..27]).collect();
        assert_eq!(
            stamps,
            ["2026-11-23T00:50:55.000000Z", "2026-11-24T00:50:55.999999Z"]
        );
    }
}
