//! Idempotency records: a key remembers the request it came with and the answer it got.
//!
//! Same key + same request → the first answer again, nothing created; same key + another
//! request → a conflict the provider renders in its own envelope. Records are bounded per
//! tenant (oldest evicted first) and expire, so a long-running sandbox does not grow.

use crate::reply::Reply;
use std::collections::{HashMap, VecDeque};

/// How many keys one tenant remembers.
pub const MAX_KEYS_PER_TENANT: usize = 10_000;
/// How long a key is remembered (Square and Mercado Pago keep keys for at least 24 hours).
pub const KEY_TTL_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone)]
struct Record {
    fingerprint: u64,
    reply: Reply,
    at_ms: i64,
}

/// What a key says about a request.
#[derive(Debug, PartialEq)]
pub enum Seen {
    /// A new key: go ahead and create.
    New,
    /// The same request again: answer this.
    Replay(Reply),
    /// The key was used for a different request.
    Conflict,
}

#[derive(Debug, Default)]
pub struct IdempotencyKeys {
    records: HashMap<String, Record>,
    order: VecDeque<String>,
}

/// A stable fingerprint of what makes two requests "the same": operation, path, body.
pub fn fingerprint(parts: &[&str]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    h.finish()
}

impl IdempotencyKeys {
    pub fn check(&self, key: &str, fingerprint: u64, now_ms: i64) -> Seen {
        match self.records.get(key) {
            Some(r) if now_ms - r.at_ms <= KEY_TTL_MS => {
                if r.fingerprint == fingerprint {
                    Seen::Replay(r.reply.clone())
                } else {
                    Seen::Conflict
                }
            }
            _ => Seen::New,
        }
    }

    /// Remembers the answer a key got. Only successful creations need remembering: a failed
    /// request created nothing and may be retried with the same key.
    pub fn remember(&mut self, key: &str, fingerprint: u64, reply: &Reply, now_ms: i64) {
        if self.records.len() >= MAX_KEYS_PER_TENANT
            && let Some(oldest) = self.order.pop_front()
        {
            self.records.remove(&oldest);
        }
        if self
            .records
            .insert(
                key.to_string(),
                Record {
                    fingerprint,
                    reply: reply.clone(),
                    at_ms: now_ms,
                },
            )
            .is_none()
        {
            self.order.push_back(key.to_string());
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_key_replays_the_same_request_and_refuses_another() {
        let mut keys = IdempotencyKeys::default();
        let reply = Reply::json(200, json!({"id": 1}));
        let fp = fingerprint(&["CreateCard", "{}"]);
        assert_eq!(keys.check("k", fp, 0), Seen::New);
        keys.remember("k", fp, &reply, 0);
        assert_eq!(keys.check("k", fp, 10), Seen::Replay(reply));
        assert_eq!(keys.check("k", fp + 1, 10), Seen::Conflict);
        assert_eq!(keys.check("k", fp, KEY_TTL_MS + 1), Seen::New);
    }
}
