//! One seller's live state (an access token's partition), kept by id so that a request
//! costs the same however much the seller holds.
//!
//! Listings, cursors and exports follow creation order (an import replacing an entity keeps
//! its place), which the maps do not keep: each entity is held with the sequence number it
//! was first stored under, and ordered views sort by it.
//!
//! [`TenantState::card_mut`] hands out a card for everything but its id and customer, which
//! the index of a customer's cards follows; [`TenantState::put_card`] may change both.

use super::state::{Card, Customer, Nonce, Snapshot, SnapshotView};
use crate::state::idempotency::IdempotencyKeys;
use crate::state::{Held, ShardedMap, in_creation_order};
use serde::{Serialize, Serializer};
use std::collections::VecDeque;

#[derive(Default)]
pub struct TenantState {
    customers: ShardedMap<String, Held<Customer>>,
    cards: ShardedMap<String, Held<Card>>,
    nonces: ShardedMap<String, Held<Nonce>>,
    /// Customer id → the ids of the cards saved for it, enabled or not.
    by_customer: ShardedMap<String, Vec<String>>,
    /// Minted nonces, oldest first: the per-seller bound forgets from the front.
    nonce_order: VecDeque<String>,
    /// The customer and the card stored last (webhooks announce them).
    newest_customer: Option<String>,
    newest_card: Option<String>,
    /// The last sequence number given out.
    seq: u64,
    /// Remembered answers are transient (they expire after a day) and not part of the state.
    pub idempotency: IdempotencyKeys,
}

impl Serialize for TenantState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SnapshotView {
            customers: self.customers(),
            cards: self.cards(),
            nonces: in_creation_order(self.nonces.values().collect()),
        }
        .serialize(serializer)
    }
}

impl TenantState {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty() && self.cards.is_empty() && self.nonces.is_empty()
    }

    pub fn customer(&self, id: &str) -> Option<&Customer> {
        self.customers.get(id).map(|h| &h.item)
    }

    /// The customer, to change anything but its id.
    pub fn customer_mut(&mut self, id: &str) -> Option<&mut Customer> {
        self.customers.get_mut(id).map(|h| &mut h.item)
    }

    pub fn customer_count(&self) -> usize {
        self.customers.len()
    }

    /// The customer stored last, unless it has been deleted since.
    pub fn newest_customer(&self) -> Option<&Customer> {
        self.customer(self.newest_customer.as_deref()?)
    }

    /// Every customer, in creation order.
    pub fn customers(&self) -> Vec<&Customer> {
        in_creation_order(self.customers.values().collect())
    }

    /// Stores a customer; one with the same id is replaced and keeps its place.
    pub fn put_customer(&mut self, customer: Customer) {
        if let Some(held) = self.customers.get_mut(&customer.id) {
            held.item = customer;
            return;
        }
        let seq = self.next_seq();
        self.newest_customer = Some(customer.id.clone());
        self.customers.insert(
            customer.id.clone(),
            Held {
                seq,
                item: customer,
            },
        );
    }

    /// Forgets a customer profile (its cards stay on record).
    pub fn remove_customer(&mut self, id: &str) -> Option<Customer> {
        self.customers.remove(id).map(|h| h.item)
    }

    pub fn card(&self, id: &str) -> Option<&Card> {
        self.cards.get(id).map(|h| &h.item)
    }

    /// The card, to change anything but its id and customer (see the module doc).
    pub fn card_mut(&mut self, id: &str) -> Option<&mut Card> {
        self.cards.get_mut(id).map(|h| &mut h.item)
    }

    pub fn card_count(&self) -> usize {
        self.cards.len()
    }

    /// The card stored last.
    pub fn newest_card(&self) -> Option<&Card> {
        self.card(self.newest_card.as_deref()?)
    }

    /// Every card, in creation order.
    pub fn cards(&self) -> Vec<&Card> {
        in_creation_order(self.cards.values().collect())
    }

    /// The cards saved for a customer, enabled or not, in creation order.
    pub fn customer_cards(&self, customer_id: &str) -> Vec<&Card> {
        let ids = self.by_customer.get(customer_id);
        in_creation_order(
            ids.into_iter()
                .flatten()
                .filter_map(|id| self.cards.get(id.as_str()))
                .collect(),
        )
    }

    /// Stores a card; one with the same id is replaced and keeps its place.
    pub fn put_card(&mut self, card: Card) {
        if let Some(customer) = &card.customer_id {
            self.by_customer
                .list_push(customer.as_str(), card.id.clone());
        }
        let replaced = match self.cards.get_mut(&card.id) {
            Some(held) => Some(std::mem::replace(&mut held.item, card)),
            None => {
                let seq = self.next_seq();
                self.newest_card = Some(card.id.clone());
                self.cards.insert(card.id.clone(), Held { seq, item: card });
                None
            }
        };
        if let Some(old) = replaced
            && let Some(customer) = &old.customer_id
        {
            self.by_customer
                .list_remove(customer.as_str(), old.id.as_str());
        }
    }

    pub fn nonce(&self, nonce: &str) -> Option<&Nonce> {
        self.nonces.get(nonce).map(|h| &h.item)
    }

    /// The nonce, to change anything but the nonce itself.
    pub fn nonce_mut(&mut self, nonce: &str) -> Option<&mut Nonce> {
        self.nonces.get_mut(nonce).map(|h| &mut h.item)
    }

    pub fn nonce_count(&self) -> usize {
        self.nonces.len()
    }

    /// Stores a nonce; one with the same id is replaced and keeps its place.
    pub fn put_nonce(&mut self, nonce: Nonce) {
        if let Some(held) = self.nonces.get_mut(&nonce.nonce) {
            held.item = nonce;
            return;
        }
        let seq = self.next_seq();
        self.nonce_order.push_back(nonce.nonce.clone());
        self.nonces
            .insert(nonce.nonce.clone(), Held { seq, item: nonce });
    }

    /// Forgets the oldest nonce.
    pub fn forget_oldest_nonce(&mut self) {
        while let Some(id) = self.nonce_order.pop_front() {
            if self.nonces.remove(&id).is_some() {
                return;
            }
        }
    }

    /// Merges an imported state: entities replace those with the same id, others are added.
    pub fn merge(&mut self, incoming: Snapshot) {
        for customer in incoming.customers {
            self.put_customer(customer);
        }
        for card in incoming.cards {
            self.put_card(card);
        }
        for nonce in incoming.nonces {
            self.put_nonce(nonce);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sharded::SHARD_AT;
    use serde_json::json;

    fn customer(id: &str) -> Customer {
        serde_json::from_value(json!({ "id": id })).unwrap_or_else(|e| panic!("{e}"))
    }

    fn card(id: &str, customer_id: &str) -> Card {
        serde_json::from_value(json!({ "id": id, "customer_id": customer_id }))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn nonce(id: &str) -> Nonce {
        serde_json::from_value(json!({"nonce": id, "card_brand": "VISA", "last_4": "1111",
            "bin": "411111", "fingerprint": "f", "exp_month": 1, "exp_year": 2031,
            "outcome": "ok", "created_at_ms": 1, "expires_at_ms": 2}))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn ids<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        items.into_iter().collect()
    }

    #[test]
    fn listings_and_exports_keep_creation_order() {
        let mut state = TenantState::default();
        for id in ["C3", "C1", "C4", "C2"] {
            state.put_customer(customer(id));
        }
        for (id, owner) in [("k3", "C1"), ("k1", "C2"), ("k2", "C1")] {
            state.put_card(card(id, owner));
        }
        assert!(state.remove_customer("C1").is_some());
        state.put_customer(customer("C4"));
        state.put_customer(customer("C1"));
        // The card moves to another customer and keeps its place.
        state.put_card(card("k3", "C2"));
        assert_eq!(
            ids(state.customers().iter().map(|c| c.id.as_str())),
            ["C3", "C4", "C2", "C1"]
        );
        assert_eq!(state.newest_customer().map(|c| c.id.as_str()), Some("C1"));
        assert_eq!(
            ids(state.customer_cards("C2").iter().map(|c| c.id.as_str())),
            ["k3", "k1"]
        );
        assert_eq!(
            ids(state.customer_cards("C1").iter().map(|c| c.id.as_str())),
            ["k2"]
        );
        let exported = serde_json::to_value(&state).unwrap_or_default();
        let listed = |kind: &str, key: &str| -> Vec<String> {
            exported[kind]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v[key].as_str().map(str::to_string))
                .collect()
        };
        assert_eq!(listed("customers", "id"), ["C3", "C4", "C2", "C1"]);
        assert_eq!(listed("cards", "id"), ["k3", "k1", "k2"]);

        let mut again = TenantState::default();
        let snapshot: Snapshot =
            serde_json::from_value(exported.clone()).unwrap_or_else(|e| panic!("{e}"));
        again.merge(snapshot);
        assert_eq!(serde_json::to_value(&again).ok(), Some(exported));
    }

    #[test]
    fn the_oldest_nonce_is_forgotten_first() {
        let mut state = TenantState::default();
        for id in ["n1", "n2", "n3"] {
            state.put_nonce(nonce(id));
        }
        state.put_nonce(nonce("n1"));
        state.forget_oldest_nonce();
        assert!(state.nonce("n1").is_none());
        assert_eq!(state.nonce_count(), 2);
        state.forget_oldest_nonce();
        state.forget_oldest_nonce();
        state.forget_oldest_nonce();
        assert!(state.is_empty());
    }

    #[test]
    fn lookups_hold_once_the_maps_split() {
        let mut state = TenantState::default();
        let n = SHARD_AT + 500;
        for i in 0..n {
            state.put_customer(customer(&format!("C{i}")));
            state.put_card(card(&format!("ccof:{i}"), &format!("C{}", i % 3)));
            state.put_nonce(nonce(&format!("cnon:{i}")));
        }
        for i in (0..n).step_by(7) {
            assert!(state.customer(&format!("C{i}")).is_some());
            let card = state.card(&format!("ccof:{i}"));
            assert_eq!(
                card.and_then(|c| c.customer_id.clone()),
                Some(format!("C{}", i % 3))
            );
            assert!(state.nonce(&format!("cnon:{i}")).is_some());
        }
        let of_c1 = state.customer_cards("C1");
        assert_eq!(of_c1.len(), n / 3);
        let position = |c: &Card| c.id["ccof:".len()..].parse::<usize>().unwrap_or(usize::MAX);
        assert!(of_c1.iter().map(|c| position(c)).is_sorted());
        assert!(state.cards().iter().map(|c| position(c)).is_sorted());
        assert_eq!(
            state.newest_card().map(|c| c.id.clone()),
            Some(format!("ccof:{}", n - 1))
        );
        state.forget_oldest_nonce();
        assert!(state.nonce("cnon:0").is_none());
        assert_eq!(state.nonce_count(), n - 1);
    }
}
