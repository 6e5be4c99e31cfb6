//! State partitioned by tenant: one lock per tenant, none global on the hot path.
//!
//! Each provider keeps its own tenant type (customers, cards, tokens...) in a [`Tenants`]
//! map. Operations take the tenant's lock for their whole read-check-write, which is what
//! makes limits exact under concurrency (N parallel saves against a limit L create exactly
//! min(N, L) cards).

use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

pub mod idempotency;
pub mod sharded;

pub use sharded::ShardedMap;

/// An entity and its place in creation order: state maps keep entities by id, and the views
/// users see in order (lists, cursors, exports) sort by `seq`.
#[derive(Debug, Clone)]
pub struct Held<T> {
    pub seq: u64,
    pub item: T,
}

/// The items, in creation order.
pub fn in_creation_order<T>(mut held: Vec<&Held<T>>) -> Vec<&T> {
    held.sort_unstable_by_key(|h| h.seq);
    held.into_iter().map(|h| &h.item).collect()
}

/// The hasher of state maps keyed by ids, tokens and credentials: eight bytes per step,
/// each folded in with a 64×64→128-bit multiply. SipHash's resistance to crafted collisions
/// buys a local test double nothing while costing a noticeable part of every save, and a
/// byte-at-a-time hash (FNV) was still 3% of a save's CPU on 20-byte keys.
pub struct KeyHasher(u64);

const SEED: u64 = 0x243f_6a88_85a3_08d3;
/// 2^64 divided by the golden ratio: multiplying by it spreads bits (Fibonacci hashing).
const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// The high and low halves of the full product, folded: every input bit reaches every
/// output bit within a step or two.
#[inline]
fn fold_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

impl Default for KeyHasher {
    fn default() -> Self {
        KeyHasher(SEED)
    }
}

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = fold_multiply(self.0 ^ u64::from_le_bytes(word), MULTIPLIER);
        }
        let rest = chunks.remainder();
        // The tail's length goes in with it, so "ab" and "ab\0" hash apart.
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        let tail = u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59);
        self.0 = fold_multiply(self.0 ^ tail, MULTIPLIER);
    }

    #[inline]
    fn write_u8(&mut self, b: u8) {
        self.0 = fold_multiply(self.0 ^ u64::from(b), MULTIPLIER);
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = fold_multiply(self.0 ^ n, MULTIPLIER);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Tables index by the low bits and tag by the top seven: one more fold spreads both.
        fold_multiply(self.0, SEED)
    }
}

/// The hasher of state maps.
pub type FastHash = BuildHasherDefault<KeyHasher>;
/// A `HashMap` with [`FastHash`].
pub type FastMap<K, V> = HashMap<K, V, FastHash>;

pub struct Tenants<T> {
    /// Sharded: with ten thousand tenants, growing one map would hold the write lock (and so
    /// every request) for the whole rehash.
    map: RwLock<ShardedMap<String, Arc<Mutex<T>>>>,
}

impl<T: Default> Default for Tenants<T> {
    fn default() -> Self {
        Tenants {
            map: RwLock::new(ShardedMap::default()),
        }
    }
}

impl<T: Default> Tenants<T> {
    /// The tenant's state, created empty on first use.
    pub fn get(&self, key: &str) -> Arc<Mutex<T>> {
        if let Some(t) = self.map.read().get(key) {
            return t.clone();
        }
        self.map.write().entry(key.to_string()).or_default().clone()
    }

    /// The tenant's state if it has any.
    pub fn existing(&self, key: &str) -> Option<Arc<Mutex<T>>> {
        self.map.read().get(key).cloned()
    }

    /// Runs `f` on the tenant's state under its lock.
    pub fn with<R>(&self, key: &str, f: impl FnOnce(&mut T) -> R) -> R {
        let tenant = self.get(key);
        let mut guard = tenant.lock();
        f(&mut guard)
    }

    /// Forgets one tenant, or every tenant.
    pub fn reset(&self, key: Option<&str>) {
        match key {
            Some(k) => {
                self.map.write().remove(k);
            }
            None => self.map.write().clear(),
        }
    }

    pub fn keys(&self) -> Vec<String> {
        self.map.read().iter().map(|(k, _)| k.clone()).collect()
    }

    /// The keys of the tenants whose state `keep` accepts, sorted.
    pub fn keys_where(&self, keep: impl Fn(&T) -> bool) -> Vec<String> {
        // Each tenant is locked after the map's lock is released, as everywhere else: a
        // tenant's lock is never awaited while holding the map's.
        let tenants: Vec<(String, Arc<Mutex<T>>)> = self
            .map
            .read()
            .iter()
            .map(|(k, t)| (k.clone(), t.clone()))
            .collect();
        let mut keys: Vec<String> = tenants
            .into_iter()
            .filter(|(_, t)| keep(&t.lock()))
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        keys
    }

    pub fn len(&self) -> usize {
        self.map.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::Hash;

    #[test]
    fn tenants_are_isolated_and_resettable() {
        let t: Tenants<Vec<u32>> = Tenants::default();
        t.with("a", |v| v.push(1));
        t.with("b", |v| v.push(2));
        assert_eq!(t.with("a", |v| v.clone()), vec![1]);
        t.reset(Some("a"));
        assert!(t.with("a", |v| v.is_empty()));
        assert_eq!(t.with("b", |v| v.clone()), vec![2]);
    }

    #[test]
    fn keys_where_lists_the_kept_tenants_in_order() {
        let t: Tenants<Vec<u32>> = Tenants::default();
        t.with("c", |v| v.push(3));
        t.with("b", |v| v.clear());
        t.with("a", |v| v.push(1));
        assert_eq!(t.keys_where(|v| !v.is_empty()), ["a", "c"]);
        assert_eq!(t.keys_where(|_| true), ["a", "b", "c"]);
    }

    fn key_hash(key: &str) -> u64 {
        let mut h = KeyHasher::default();
        key.hash(&mut h);
        h.finish()
    }

    #[test]
    fn key_hashes_spread_over_low_and_high_bits() {
        // Ids as the providers draw them: a shared prefix, a counter, lengths around eight.
        let keys: Vec<String> = (0..100_000).map(|n| format!("card_{n:07}")).collect();
        let hashes: HashSet<u64> = keys.iter().map(|k| key_hash(k)).collect();
        assert_eq!(hashes.len(), keys.len(), "no two of these keys may collide");
        for shift in [0, 57] {
            // Tables index by the low bits and tag by the top seven: both must be balanced.
            let mut buckets = [0usize; 64];
            for h in &hashes {
                buckets[((h >> shift) & 63) as usize] += 1;
            }
            let (min, max) = (buckets.iter().min(), buckets.iter().max());
            assert!(
                min > Some(&1400) && max < Some(&1750),
                "bits from {shift}: {buckets:?}"
            );
        }
    }

    #[test]
    fn key_hash_sees_every_byte_and_the_length() {
        assert_ne!(key_hash("abcdefgh"), key_hash("abcdefgi"));
        assert_ne!(key_hash("abcdefgh1"), key_hash("abcdefgh2"));
        assert_ne!(key_hash("ab"), key_hash("ab\0"));
        assert_ne!(key_hash(""), key_hash("\0"));
        assert_eq!(key_hash("same"), key_hash("same"));
    }
}
