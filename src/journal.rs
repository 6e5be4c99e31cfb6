//! The request journal: the last N exchanges, for tests that assert on what was sent.
//!
//! A bounded ring buffer (oldest dropped first). Card numbers and secrets are masked when an
//! entry is recorded, so the journal never holds a full card number. Bodies are kept as the
//! bytes that crossed the wire (cheap to record) and rendered as JSON when read.

use crate::mask;
use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

/// Request headers worth showing (others are noise for test assertions).
const KEPT_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "user-agent",
    "square-version",
    "x-idempotency-key",
    "x-client-id",
    "x-client-secret",
    "x-merchant-id",
    "x-api-version",
    "x-public-key",
    "x-sandbox-scenario",
    "x-square-hmacsha256-signature",
    "square-environment",
];

/// Directions of a journal entry: a request to the sandbox, a webhook the sandbox sent, an
/// exchange forwarded to a real upstream (`--proxy`).
pub const INBOUND: &str = "inbound";
pub const OUTBOUND: &str = "outbound";
pub const PROXIED: &str = "proxied";

/// One recorded exchange.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    /// Sandbox time when the request arrived, in milliseconds since the epoch.
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub provider: Option<String>,
    pub operation: Option<String>,
    /// The tenant's credential, masked for display.
    pub tenant: Option<String>,
    /// A stable digest of the tenant's credential, for filtering without keeping it.
    pub tenant_id: Option<String>,
    pub status: u16,
    pub scenario: Option<String>,
    /// [`INBOUND`], [`OUTBOUND`] (a webhook delivery attempt; status 0: no answer) or
    /// [`PROXIED`].
    pub direction: &'static str,
    pub latency_us: u64,
    pub request_headers: Vec<(String, String)>,
    pub request_body: Bytes,
    pub response_body: Bytes,
}

/// What the pipeline knows about a request when it records it. Names the pipeline already
/// holds (the operation's id and provider) are borrowed, not copied, per request.
#[derive(Debug, Default)]
pub struct Trace<'a> {
    pub provider: Option<Cow<'a, str>>,
    pub operation: Option<Cow<'a, str>>,
    pub tenant: Option<String>,
    pub scenario: Option<String>,
    pub request_body: Bytes,
    /// `None`: [`INBOUND`].
    pub direction: Option<&'static str>,
}

/// A stable short digest of a tenant credential.
pub fn tenant_id(key: &str) -> String {
    digest_text(crate::digest::fnv1a(key.as_bytes()))
}

fn digest_text(digest: u64) -> String {
    format!("{digest:016x}")
}

/// Filters for reading the journal; `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub provider: Option<String>,
    pub operation: Option<String>,
    /// The tenant's credential (compared by digest).
    pub tenant: Option<String>,
    /// Other keys that count as `tenant`: the key each provider files the named tenant under
    /// (an Eximpe client id `c` is keyed `c/`). The admin API and [`crate::Sandbox::journal`]
    /// fill them in.
    pub tenant_keys: Vec<String>,
    pub status: Option<u16>,
    /// The scenario whose rule answered: its name (any rule) or `<name>#<rule index>`.
    pub scenario: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    /// Only entries with a sequence number above this one.
    pub since: Option<u64>,
    pub limit: Option<usize>,
}

/// A filter with the tenant's digests worked out once per read, not once per entry.
struct Matcher<'a> {
    filter: &'a Filter,
    tenant: Option<Vec<u64>>,
}

impl<'a> Matcher<'a> {
    fn new(filter: &'a Filter) -> Self {
        let digest = |t: &String| crate::digest::fnv1a(t.as_bytes());
        Matcher {
            filter,
            tenant: filter.tenant.as_ref().map(|t| {
                std::iter::once(t)
                    .chain(&filter.tenant_keys)
                    .map(digest)
                    .collect()
            }),
        }
    }

    fn matches(&self, k: &Kept) -> bool {
        let f = self.filter;
        f.provider
            .as_deref()
            .is_none_or(|p| k.text(Field::Provider) == Some(p))
            && f.operation
                .as_deref()
                .is_none_or(|o| k.text(Field::Operation) == Some(o))
            && self
                .tenant
                .as_ref()
                .is_none_or(|keys| k.tenant_digest.is_some_and(|digest| keys.contains(&digest)))
            && f.status.is_none_or(|s| k.status == s)
            && f.scenario.as_deref().is_none_or(|wanted| {
                k.text(Field::Scenario).is_some_and(|fired| {
                    fired == wanted
                        || fired
                            .split_once('#')
                            .is_some_and(|(name, _)| name == wanted)
                })
            })
            && f.method.as_deref().is_none_or(|m| {
                k.text(Field::Method)
                    .is_some_and(|kept| kept.eq_ignore_ascii_case(m))
            })
            && f.path
                .as_deref()
                .is_none_or(|p| k.text(Field::Path) == Some(p))
            && f.since.is_none_or(|s| k.seq > s)
    }
}

/// The text fields of a kept entry, each a span of the entry's one buffer.
#[derive(Debug, Clone, Copy)]
enum Field {
    Method,
    Path,
    Query,
    Provider,
    Operation,
    Tenant,
    Scenario,
    /// `name\0value\0` for each kept header (neither can hold a NUL).
    Headers,
    RequestBody,
    ResponseBody,
}
const FIELDS: usize = 10;

/// An entry as the journal keeps it: every text field (masked) in one buffer. Recording an
/// exchange then costs one buffer, taken from the entry it evicts, instead of a dozen small
/// allocations freed later, often on another thread. Entries are expanded into [`Entry`]
/// only when read.
#[derive(Debug)]
struct Kept {
    seq: u64,
    at_ms: i64,
    status: u16,
    direction: &'static str,
    latency_us: u64,
    tenant_digest: Option<u64>,
    buf: Vec<u8>,
    spans: [Option<(usize, usize)>; FIELDS],
}

impl Kept {
    fn bytes(&self, field: Field) -> Option<&[u8]> {
        self.spans[field as usize].map(|(start, end)| &self.buf[start..end])
    }

    /// Text fields are written from `&str`, so they read back as UTF-8.
    fn text(&self, field: Field) -> Option<&str> {
        self.bytes(field)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
    }

    /// Appends a field to the buffer, as `write` writes it.
    fn put_with(&mut self, field: Field, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.buf.len();
        write(&mut self.buf);
        self.spans[field as usize] = Some((start, self.buf.len()));
    }

    fn put(&mut self, field: Field, text: &str) {
        self.put_with(field, |buf| buf.extend_from_slice(text.as_bytes()));
    }

    fn put_body(&mut self, field: Field, body: &[u8]) {
        self.put_with(field, |buf| mask::mask_body_into(body, buf));
    }

    fn entry(&self) -> Entry {
        let owned = |field| self.text(field).map(str::to_string);
        let headers = self
            .text(Field::Headers)
            .unwrap_or_default()
            .split_terminator('\0')
            .collect::<Vec<_>>();
        Entry {
            seq: self.seq,
            at_ms: self.at_ms,
            method: owned(Field::Method).unwrap_or_default(),
            path: owned(Field::Path).unwrap_or_default(),
            query: owned(Field::Query),
            provider: owned(Field::Provider),
            operation: owned(Field::Operation),
            tenant: owned(Field::Tenant),
            tenant_id: self.tenant_digest.map(digest_text),
            status: self.status,
            scenario: owned(Field::Scenario),
            direction: self.direction,
            latency_us: self.latency_us,
            request_headers: headers
                .chunks_exact(2)
                .map(|pair| (pair[0].to_string(), pair[1].to_string()))
                .collect(),
            request_body: Bytes::copy_from_slice(
                self.bytes(Field::RequestBody).unwrap_or_default(),
            ),
            response_body: Bytes::copy_from_slice(
                self.bytes(Field::ResponseBody).unwrap_or_default(),
            ),
        }
    }
}

/// A buffer larger than this is freed with its entry rather than kept for the next one, so
/// one huge exchange does not pin its size in every thread.
const REUSED_BUFFER_MAX: usize = 64 * 1024;

thread_local! {
    /// The buffer of the entry this thread last evicted, ready for the next one it records.
    static SPARE: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

pub struct Journal {
    capacity: usize,
    entries: Mutex<VecDeque<Kept>>,
    next: AtomicU64,
}

impl Journal {
    /// A journal keeping the last `capacity` exchanges (0 turns recording off).
    pub fn new(capacity: usize) -> Self {
        Journal {
            capacity,
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            next: AtomicU64::new(1),
        }
    }

    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        at_ms: i64,
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &hyper::HeaderMap,
        trace: Trace<'_>,
        status: u16,
        latency_us: u64,
        response_body: &[u8],
    ) {
        if !self.enabled() {
            return;
        }
        let mut buf = SPARE.take();
        buf.clear();
        let mut kept = Kept {
            seq: self.next.fetch_add(1, Ordering::Relaxed),
            at_ms,
            status,
            direction: trace.direction.unwrap_or(INBOUND),
            latency_us,
            tenant_digest: trace
                .tenant
                .as_deref()
                .map(|t| crate::digest::fnv1a(t.as_bytes())),
            buf,
            spans: [None; FIELDS],
        };
        kept.put(Field::Method, method);
        kept.put(Field::Path, &mask::mask_text(path));
        if let Some(q) = query {
            kept.put(Field::Query, &mask::mask_text(q));
        }
        if let Some(p) = &trace.provider {
            kept.put(Field::Provider, p);
        }
        if let Some(o) = &trace.operation {
            kept.put(Field::Operation, o);
        }
        if let Some(t) = &trace.tenant {
            kept.put_with(Field::Tenant, |buf| mask::mask_secret_into(t, buf));
        }
        if let Some(s) = &trace.scenario {
            kept.put(Field::Scenario, s);
        }
        kept.put_with(Field::Headers, |buf| {
            for (name, value) in headers
                .iter()
                .filter(|(name, _)| KEPT_HEADERS.contains(&name.as_str()))
            {
                let value = match value.to_str() {
                    Ok(text) => std::borrow::Cow::Borrowed(text),
                    Err(_) => String::from_utf8_lossy(value.as_bytes()),
                };
                let masked = mask::mask_header(name.as_str(), &value);
                for part in [name.as_str().as_bytes(), b"\0", masked.as_bytes(), b"\0"] {
                    buf.extend_from_slice(part);
                }
            }
        });
        kept.put_body(Field::RequestBody, &trace.request_body);
        kept.put_body(Field::ResponseBody, response_body);

        let evicted = {
            let mut entries = self.entries.lock();
            let evicted = if entries.len() >= self.capacity {
                entries.pop_front()
            } else {
                None
            };
            entries.push_back(kept);
            evicted
        };
        if let Some(old) = evicted
            && old.buf.capacity() <= REUSED_BUFFER_MAX
        {
            SPARE.set(old.buf);
        }
    }

    /// Matching entries, oldest first (the last `limit` if set).
    pub fn entries(&self, filter: &Filter) -> Vec<Entry> {
        let matcher = Matcher::new(filter);
        let entries = self.entries.lock();
        let matching: Vec<&Kept> = entries.iter().filter(|k| matcher.matches(k)).collect();
        let skip = filter
            .limit
            .map_or(0, |limit| matching.len().saturating_sub(limit));
        matching[skip..].iter().map(|k| k.entry()).collect()
    }

    pub fn count(&self, filter: &Filter) -> usize {
        let matcher = Matcher::new(filter);
        self.entries
            .lock()
            .iter()
            .filter(|k| matcher.matches(k))
            .count()
    }

    pub fn clear(&self) {
        self.entries.lock().clear();
    }
}

fn body_json(bytes: &Bytes) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

impl Entry {
    /// The entry as the admin API shows it.
    pub fn to_json(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .request_headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        json!({
            "seq": self.seq,
            "at": crate::time::rfc3339_ms(self.at_ms),
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "provider": self.provider,
            "operation": self.operation,
            "tenant": self.tenant,
            "status": self.status,
            "scenario": self.scenario,
            "direction": self.direction,
            "latency_ms": self.latency_us as f64 / 1000.0,
            "request": { "headers": headers, "body": body_json(&self.request_body) },
            "response": { "body": body_json(&self.response_body) },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(j: &Journal, tenant: &str, status: u16) {
        j.record(
            0,
            "POST",
            "/v1/card_tokens",
            None,
            &hyper::HeaderMap::new(),
            Trace {
                provider: Some("mercadopago".into()),
                operation: Some("createCardToken".into()),
                tenant: Some(tenant.into()),
                scenario: None,
                request_body: Bytes::from_static(br#"{"card_number":"5031433215406351"}"#),
                direction: None,
            },
            status,
            10,
            &Bytes::new(),
        );
    }

    #[test]
    fn secret_fields_are_masked_even_without_a_card_number() {
        // A Mercado Pago token from a saved card: a card id and the CVV, no PAN.
        let j = Journal::new(4);
        j.record(
            0,
            "POST",
            "/v1/card_tokens",
            None,
            &hyper::HeaderMap::new(),
            Trace {
                request_body: Bytes::from_static(br#"{"card_id":"9876543","security_code":"123"}"#),
                ..Trace::default()
            },
            201,
            10,
            &Bytes::from_static(br#"{"id":"tok","first_six_digits":"450995"}"#),
        );
        let entry = &j.entries(&Filter::default())[0];
        assert_eq!(
            entry.to_json()["request"]["body"],
            json!({"card_id": "9876543", "security_code": "***"})
        );
        assert_eq!(
            entry.to_json()["response"]["body"],
            json!({"id": "tok", "first_six_digits": "450995"})
        );
    }

    #[test]
    fn the_journal_is_bounded_and_filters_by_tenant_and_status() {
        let j = Journal::new(3);
        for i in 0..5 {
            record(
                &j,
                if i % 2 == 0 {
                    "TEST-aaaaaaaaaaaa"
                } else {
                    "TEST-bbbbbbbbbbbb"
                },
                200 + i,
            );
        }
        assert_eq!(j.count(&Filter::default()), 3);
        let only_a = Filter {
            tenant: Some("TEST-aaaaaaaaaaaa".into()),
            ..Filter::default()
        };
        assert_eq!(j.count(&only_a), 2);
        let status = Filter {
            status: Some(204),
            ..Filter::default()
        };
        assert_eq!(j.entries(&status)[0].seq, 5);
    }

    #[test]
    fn an_entry_recorded_into_an_evicted_entrys_buffer_shows_only_itself() {
        let j = Journal::new(1);
        let mut headers = hyper::HeaderMap::new();
        headers.insert("x-client-id", "client-a".parse().unwrap());
        j.record(
            0,
            "POST",
            "/pg/tokens/",
            Some("identifier=first"),
            &headers,
            Trace {
                provider: Some("eximpe".into()),
                operation: Some("saveCard".into()),
                tenant: Some("client-a".into()),
                scenario: Some("forced".into()),
                request_body: Bytes::from_static(br#"{"card_number":"5506900480000008"}"#),
                direction: None,
            },
            200,
            10,
            br#"{"success":true}"#,
        );
        j.record(
            1,
            "GET",
            "/pg/tokens/",
            None,
            &hyper::HeaderMap::new(),
            Trace::default(),
            404,
            5,
            b"",
        );
        let entries = j.entries(&Filter::default());
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!((e.seq, e.method.as_str(), e.status), (2, "GET", 404));
        assert_eq!(e.query, None);
        assert_eq!(e.scenario, None);
        assert_eq!(e.provider, None);
        assert_eq!(e.tenant, None);
        assert!(e.request_headers.is_empty());
        assert!(e.request_body.is_empty() && e.response_body.is_empty());
    }

    #[test]
    fn only_the_kept_headers_are_recorded_and_secrets_masked() {
        let j = Journal::new(2);
        let mut headers = hyper::HeaderMap::new();
        headers.insert("x-client-id", "client-a".parse().unwrap());
        headers.insert("x-client-secret", "s3cr3t-value".parse().unwrap());
        headers.insert("x-unrelated", "noise".parse().unwrap());
        headers.insert(
            "authorization",
            "Bearer TEST-1234567890-448870796".parse().unwrap(),
        );
        j.record(
            0,
            "POST",
            "/pg/tokens/",
            None,
            &headers,
            Trace {
                tenant: Some("TEST-1234567890-448870796".into()),
                ..Trace::default()
            },
            200,
            1,
            b"",
        );
        let e = &j.entries(&Filter::default())[0];
        let mut kept = e.request_headers.clone();
        kept.sort();
        assert_eq!(
            kept,
            vec![
                ("authorization".into(), "Bearer TEST-123...0796".into()),
                ("x-client-id".into(), "client-a".into()),
                ("x-client-secret".into(), "***".into()),
            ]
        );
        assert_eq!(e.tenant.as_deref(), Some("TEST-123...0796"));
        assert_eq!(e.tenant_id, Some(tenant_id("TEST-1234567890-448870796")));
    }

    #[test]
    fn recorded_bodies_never_hold_a_card_number() {
        let j = Journal::new(10);
        record(&j, "TEST-aaaaaaaaaaaa", 201);
        let e = &j.entries(&Filter::default())[0];
        assert_eq!(
            e.to_json()["request"]["body"]["card_number"],
            "503143******6351"
        );
        assert!(!String::from_utf8_lossy(&e.request_body).contains("5031433215406351"));
    }
}
