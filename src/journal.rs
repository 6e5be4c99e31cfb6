//! The request journal: the last N exchanges, for tests that assert on what was sent.
//!
//! A bounded ring buffer (oldest dropped first). Card numbers and secrets are masked when an
//! entry is recorded, so the journal never holds a full card number. Bodies are kept as the
//! bytes that crossed the wire (cheap to record) and rendered as JSON when read.

use crate::mask;
use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{Value, json};
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

/// What the pipeline knows about a request when it records it.
#[derive(Debug, Default)]
pub struct Trace {
    pub provider: Option<String>,
    pub operation: Option<String>,
    pub tenant: Option<String>,
    pub scenario: Option<String>,
    pub request_body: Bytes,
    /// `None`: [`INBOUND`].
    pub direction: Option<&'static str>,
}

/// A stable short digest of a tenant credential.
pub fn tenant_id(key: &str) -> String {
    format!("{:016x}", crate::digest::fnv1a(key.as_bytes()))
}

fn masked_bytes(bytes: &Bytes) -> Bytes {
    match mask::mask_body_bytes(bytes) {
        std::borrow::Cow::Borrowed(_) => bytes.clone(),
        std::borrow::Cow::Owned(masked) => Bytes::from(masked),
    }
}

/// Filters for reading the journal; `None` matches everything.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub provider: Option<String>,
    pub operation: Option<String>,
    /// The tenant's credential (compared by digest).
    pub tenant: Option<String>,
    pub status: Option<u16>,
    pub method: Option<String>,
    pub path: Option<String>,
    /// Only entries with a sequence number above this one.
    pub since: Option<u64>,
    pub limit: Option<usize>,
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        self.provider
            .as_ref()
            .is_none_or(|p| e.provider.as_ref() == Some(p))
            && self
                .operation
                .as_ref()
                .is_none_or(|o| e.operation.as_ref() == Some(o))
            && self
                .tenant
                .as_ref()
                .is_none_or(|t| e.tenant_id.as_deref() == Some(tenant_id(t).as_str()))
            && self.status.is_none_or(|s| e.status == s)
            && self
                .method
                .as_ref()
                .is_none_or(|m| e.method.eq_ignore_ascii_case(m))
            && self.path.as_ref().is_none_or(|p| &e.path == p)
            && self.since.is_none_or(|s| e.seq > s)
    }
}

pub struct Journal {
    capacity: usize,
    entries: Mutex<VecDeque<Entry>>,
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
        trace: Trace,
        status: u16,
        latency_us: u64,
        response_body: &Bytes,
    ) {
        if !self.enabled() {
            return;
        }
        // One pass over the request's headers (a lookup per kept name hashed each name).
        let request_headers = headers
            .iter()
            .filter(|(name, _)| KEPT_HEADERS.contains(&name.as_str()))
            .map(|(name, v)| {
                (
                    name.as_str().to_string(),
                    mask::mask_header(name.as_str(), &String::from_utf8_lossy(v.as_bytes())),
                )
            })
            .collect();
        let entry = Entry {
            seq: self.next.fetch_add(1, Ordering::Relaxed),
            at_ms,
            method: method.to_string(),
            path: mask::mask_text(path).into_owned(),
            query: query.map(|q| mask::mask_text(q).into_owned()),
            provider: trace.provider,
            operation: trace.operation,
            tenant: trace.tenant.as_deref().map(mask::mask_secret),
            tenant_id: trace.tenant.as_deref().map(tenant_id),
            status,
            scenario: trace.scenario,
            direction: trace.direction.unwrap_or(INBOUND),
            latency_us,
            request_headers,
            request_body: masked_bytes(&trace.request_body),
            response_body: masked_bytes(response_body),
        };
        let evicted = {
            let mut entries = self.entries.lock();
            let evicted = if entries.len() >= self.capacity {
                entries.pop_front()
            } else {
                None
            };
            entries.push_back(entry);
            evicted
        };
        // Freeing an entry (a dozen allocations) happens outside the lock every request
        // thread takes.
        drop(evicted);
    }

    /// Matching entries, oldest first (the last `limit` if set).
    pub fn entries(&self, filter: &Filter) -> Vec<Entry> {
        let entries = self.entries.lock();
        let mut out: Vec<Entry> = entries
            .iter()
            .filter(|e| filter.matches(e))
            .cloned()
            .collect();
        if let Some(limit) = filter.limit
            && out.len() > limit
        {
            out.drain(..out.len() - limit);
        }
        out
    }

    pub fn count(&self, filter: &Filter) -> usize {
        self.entries
            .lock()
            .iter()
            .filter(|e| filter.matches(e))
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
