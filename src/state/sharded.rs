//! A map for state that grows without bound (a tenant's cards, customers, tokens) whose
//! growth never stalls the tenant for long.
//!
//! A hash map grows by rehashing every entry at once, under the tenant's lock: with a
//! million cards that is milliseconds during which every request of the tenant waits, and it
//! shows as the p99 of a busy tenant. Past [`SHARD_AT`] entries this map splits into
//! [`SHARDS`] maps that grow one at a time, so a growth step moves a 256th of the
//! entries. Small maps (most tenants) stay one map and cost nothing extra.

use super::{FastMap, KeyHasher, MULTIPLIER};
use std::borrow::Borrow;
use std::collections::hash_map::Entry;
use std::hash::{Hash, Hasher};

/// Entries at which a map splits into shards.
pub const SHARD_AT: usize = 4096;
/// Shards of a split map (a power of two).
pub const SHARDS: usize = 256;

#[derive(Debug, Clone)]
pub struct ShardedMap<K, V> {
    inner: Inner<K, V>,
}

#[derive(Debug, Clone)]
enum Inner<K, V> {
    One(FastMap<K, V>),
    Sharded(Box<[FastMap<K, V>]>),
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            inner: Inner::One(FastMap::default()),
        }
    }
}

/// The shard of a key. The shards' own tables index by the same hash's low bits and tag by
/// its top seven; the shard is picked from a multiplied hash so that neither is narrowed.
fn shard_of<Q: Hash + ?Sized>(key: &Q) -> usize {
    let mut h = KeyHasher::default();
    key.hash(&mut h);
    (h.finish().wrapping_mul(MULTIPLIER) >> (64 - SHARDS.trailing_zeros())) as usize
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> &FastMap<K, V> {
        match &self.inner {
            Inner::One(map) => map,
            Inner::Sharded(shards) => &shards[shard_of(key)],
        }
    }

    fn shard_mut<Q: Hash + ?Sized>(&mut self, key: &Q) -> &mut FastMap<K, V> {
        match &mut self.inner {
            Inner::One(map) => map,
            Inner::Sharded(shards) => &mut shards[shard_of(key)],
        }
    }

    fn shards(&self) -> &[FastMap<K, V>] {
        match &self.inner {
            Inner::One(map) => std::slice::from_ref(map),
            Inner::Sharded(shards) => shards,
        }
    }

    /// Splits a single map that has reached [`SHARD_AT`] entries.
    fn split_if_full(&mut self) {
        let Inner::One(map) = &mut self.inner else {
            return;
        };
        if map.len() < SHARD_AT {
            return;
        }
        let mut shards: Box<[FastMap<K, V>]> = (0..SHARDS).map(|_| FastMap::default()).collect();
        for (k, v) in map.drain() {
            shards[shard_of(&k)].insert(k, v);
        }
        self.inner = Inner::Sharded(shards);
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard(key).get(key)
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard_mut(key).get_mut(key)
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard(key).contains_key(key)
    }

    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.split_if_full();
        self.shard_mut(&key).insert(key, value)
    }

    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        self.split_if_full();
        self.shard_mut(&key).entry(key)
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard_mut(key).remove(key)
    }

    pub fn len(&self) -> usize {
        self.shards().iter().map(FastMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.shards().iter().all(FastMap::is_empty)
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards().iter().flat_map(|shard| shard.iter())
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.shards().iter().flat_map(|shard| shard.values())
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        let shards: &mut [FastMap<K, V>] = match &mut self.inner {
            Inner::One(map) => std::slice::from_mut(map),
            Inner::Sharded(shards) => shards,
        };
        shards.iter_mut().flat_map(|shard| shard.values_mut())
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let shards: &mut [FastMap<K, V>] = match &mut self.inner {
            Inner::One(map) => std::slice::from_mut(map),
            Inner::Sharded(shards) => shards,
        };
        for shard in shards {
            shard.retain(&mut keep);
        }
    }

    pub fn clear(&mut self) {
        self.inner = Inner::One(FastMap::default());
    }
}

/// A map of lists, for indexes from one key to many ids (a customer's cards, an email's
/// customers).
impl<K: Hash + Eq, V> ShardedMap<K, Vec<V>> {
    /// Adds `value` to the list under `key`, starting one if there is none.
    pub fn list_push<Q>(&mut self, key: &Q, value: V)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        match self.get_mut(key) {
            Some(list) => list.push(value),
            None => {
                self.insert(key.to_owned(), vec![value]);
            }
        }
    }

    /// Removes one `value` from the list under `key` (the list's order is not kept), and
    /// the key with its last value; whether there was one.
    pub fn list_remove<Q, R>(&mut self, key: &Q, value: &R) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: PartialEq<R>,
        R: ?Sized,
    {
        let Some(list) = self.get_mut(key) else {
            return false;
        };
        let Some(pos) = list.iter().position(|v| v == value) else {
            return false;
        };
        list.swap_remove(pos);
        if list.is_empty() {
            self.remove(key);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_that_splits_keeps_every_entry_findable() {
        let mut map = ShardedMap::default();
        for i in 0..SHARD_AT * 3 {
            assert_eq!(map.insert(format!("tok_{i}"), i), None);
        }
        assert!(matches!(map.inner, Inner::Sharded(_)));
        assert_eq!(map.len(), SHARD_AT * 3);
        for i in 0..SHARD_AT * 3 {
            assert_eq!(map.get(format!("tok_{i}").as_str()), Some(&i));
        }
        assert_eq!(map.insert("tok_7".into(), 1_000_000), Some(7));
        assert_eq!(map.remove("tok_8"), Some(8));
        assert!(!map.contains_key("tok_8"));
        *map.entry("tok_9".into()).or_default() += 1;
        assert_eq!(map.get("tok_9"), Some(&10));
        assert_eq!(map.len(), SHARD_AT * 3 - 1);
        let keys: std::collections::HashSet<&String> = map.iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), SHARD_AT * 3 - 1);
        assert_eq!(map.values().count(), SHARD_AT * 3 - 1);
        map.retain(|_, v| *v % 2 == 0);
        assert!(map.values().all(|v| v % 2 == 0));
        map.clear();
        assert!(map.is_empty());
    }

    #[test]
    fn lists_gain_and_lose_values_and_drop_when_empty() {
        let mut index: ShardedMap<String, Vec<String>> = ShardedMap::default();
        index.list_push("c1", "card_a".to_string());
        index.list_push("c1", "card_b".to_string());
        index.list_push("c1", "card_a".to_string());
        assert_eq!(index.get("c1").map(Vec::len), Some(3));
        assert!(index.list_remove("c1", "card_a"));
        assert_eq!(index.get("c1").map(Vec::len), Some(2));
        assert!(!index.list_remove("c1", "card_z"));
        assert!(!index.list_remove("c2", "card_a"));
        assert!(index.list_remove("c1", "card_a"));
        assert!(index.list_remove("c1", "card_b"));
        assert!(!index.contains_key("c1"));
        assert!(index.is_empty());
    }

    #[test]
    fn shards_share_keys_evenly() {
        let mut counts = [0usize; SHARDS];
        for i in 0..SHARDS * 1000 {
            counts[shard_of(format!("USER_{i}").as_str())] += 1;
        }
        // 1 000 each on average; a poor spread would leave some shards far fuller.
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }
}
