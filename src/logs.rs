//! The log writer: request threads append formatted lines to a shared buffer and go on; one
//! background thread writes the buffer to stderr every few milliseconds.
//!
//! Why not a channel per line: under load every line woke the writer thread (a futex call and
//! a context switch per request), which cost more than formatting the line. Appending under a
//! short lock costs a copy; the writer wakes on its own clock, or early when a burst fills the
//! buffer. Nothing is dropped: when stderr is slower than the lines come, a request thread
//! that finds the buffer over its hard limit writes it out itself.

use parking_lot::{Condvar, Mutex};
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the writer thread flushes what has accumulated.
const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// A buffer this full wakes the writer thread early.
const WAKE_AT: usize = 64 * 1024;
/// A buffer this full is written by the thread that fills it (stderr cannot keep up).
const HARD_LIMIT: usize = 4 * 1024 * 1024;

struct Shared<W> {
    buffer: Mutex<Vec<u8>>,
    wake: Condvar,
    /// Serialises writes to the sink, so batches keep their order.
    sink: Mutex<W>,
    closing: AtomicBool,
}

impl<W: Write> Shared<W> {
    /// Moves the buffer out under the lock and writes it without holding it.
    fn drain(&self, spare: &mut Vec<u8>) {
        let mut sink = self.sink.lock();
        {
            let mut buffer = self.buffer.lock();
            if buffer.is_empty() {
                return;
            }
            std::mem::swap(&mut *buffer, spare);
        }
        // A log line that cannot be written has nowhere else to go.
        let _ = sink.write_all(spare);
        let _ = sink.flush();
        spare.clear();
    }
}

/// A cloneable writer for `tracing_subscriber` (`MakeWriter` via `Clone + Write`).
pub struct BatchWriter<W: Write + Send + 'static> {
    shared: Arc<Shared<W>>,
}

impl<W: Write + Send + 'static> Clone for BatchWriter<W> {
    fn clone(&self) -> Self {
        BatchWriter {
            shared: self.shared.clone(),
        }
    }
}

/// Flushes what is left and stops the writer thread when dropped (at process end).
pub struct FlushGuard<W: Write + Send + 'static> {
    shared: Arc<Shared<W>>,
    thread: Option<JoinHandle<()>>,
}

/// A batch writer over `sink`, with its background thread.
pub fn batched<W: Write + Send + 'static>(sink: W) -> io::Result<(BatchWriter<W>, FlushGuard<W>)> {
    let shared = Arc::new(Shared {
        buffer: Mutex::new(Vec::with_capacity(WAKE_AT)),
        wake: Condvar::new(),
        sink: Mutex::new(sink),
        closing: AtomicBool::new(false),
    });
    let worker = shared.clone();
    let thread = std::thread::Builder::new()
        .name("paysandbox-logs".into())
        .spawn(move || {
            let mut spare = Vec::with_capacity(WAKE_AT);
            loop {
                {
                    let mut buffer = worker.buffer.lock();
                    if buffer.len() < WAKE_AT && !worker.closing.load(Ordering::Acquire) {
                        worker.wake.wait_for(&mut buffer, FLUSH_EVERY);
                    }
                }
                worker.drain(&mut spare);
                if worker.closing.load(Ordering::Acquire) {
                    worker.drain(&mut spare);
                    return;
                }
            }
        })?;
    Ok((
        BatchWriter {
            shared: shared.clone(),
        },
        FlushGuard {
            shared,
            thread: Some(thread),
        },
    ))
}

impl<'a, W: Write + Send + 'static> tracing_subscriber::fmt::MakeWriter<'a> for BatchWriter<W> {
    type Writer = &'a BatchWriter<W>;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

impl<W: Write + Send + 'static> Write for BatchWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        (&*self).write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write + Send + 'static> Write for &BatchWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let len = {
            let mut buffer = self.shared.buffer.lock();
            buffer.extend_from_slice(bytes);
            buffer.len()
        };
        if len >= HARD_LIMIT {
            self.shared.drain(&mut Vec::new());
        } else if len >= WAKE_AT {
            self.shared.wake.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Lines are flushed by the writer thread; flushing per line is what this avoids.
        Ok(())
    }
}

impl<W: Write + Send + 'static> Drop for FlushGuard<W> {
    fn drop(&mut self) {
        self.shared.closing.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.shared.drain(&mut Vec::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_from_every_thread_arrives_whole_and_in_each_threads_order() {
        let sink = Sink::default();
        let (writer, guard) = batched(sink.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut w = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000 {
                        w.write_all(format!("thread {t} line {i}\n").as_bytes())
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(guard);
        let text = String::from_utf8(sink.0.lock().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 80_000);
        for t in 0..4 {
            let mine: Vec<&str> = lines
                .iter()
                .copied()
                .filter(|l| l.starts_with(&format!("thread {t} ")))
                .collect();
            let expected: Vec<String> = (0..20_000)
                .map(|i| format!("thread {t} line {i}"))
                .collect();
            assert_eq!(mine, expected);
        }
    }

    #[test]
    fn a_quiet_writer_still_flushes_within_moments() {
        let sink = Sink::default();
        let (mut writer, _guard) = batched(sink.clone()).unwrap();
        writer.write_all(b"one line\n").unwrap();
        for _ in 0..200 {
            if !sink.0.lock().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.0.lock().as_slice(), b"one line\n");
    }
}
