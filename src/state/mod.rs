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

/// FNV-1a with a final mix, for state maps keyed by ids, tokens and credentials: these
/// keys are short, and SipHash's resistance to crafted collisions buys a local test double
/// nothing while costing a noticeable part of every save.
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        // FNV's low bits see only the bytes' low bits; tables index by low bits.
        let h = (self.0 ^ (self.0 >> 32)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^ (h >> 29)
    }
}

/// The hasher of state maps.
pub type FastHash = BuildHasherDefault<Fnv>;
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
}
