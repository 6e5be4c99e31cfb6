//! One access token's data, kept by id so that a request costs the same however many
//! customers the tenant holds.
//!
//! Searches and exports show customers and profiles in creation order (an import replacing
//! one keeps its place), which the maps do not keep: each entity is held with the sequence
//! number it was first stored under, and ordered views sort by it.
//!
//! The indexes follow every change made through this type. [`Account::customer_mut`] hands
//! out a customer for everything but its email and which cards it holds (a card may be
//! changed in place if it keeps its id): those change through [`Account::put_customer`],
//! [`Account::add_card`] and [`Account::remove_card`].

use super::state::{Card, Customer, PaymentProfile};
use crate::state::idempotency::IdempotencyKeys;
use crate::state::{Held, ShardedMap, in_creation_order};

/// Lookups other than by a customer's or profile's own id. Imports may repeat an email or a
/// card id, so each key lists every holder (a customer once per card it holds).
#[derive(Default)]
struct Index {
    /// Lower-cased email → customer ids.
    by_email: ShardedMap<String, Vec<String>>,
    /// Card id → ids of the customers holding it.
    card_holders: ShardedMap<String, Vec<String>>,
    /// Customer id → its payment profiles' ids.
    profiles_of: ShardedMap<String, Vec<String>>,
}

impl Index {
    fn add_customer(&mut self, c: &Customer) {
        self.by_email
            .list_push(c.email.to_ascii_lowercase().as_str(), c.id.clone());
        for card in &c.cards {
            self.card_holders.list_push(card.id.as_str(), c.id.clone());
        }
    }

    fn remove_customer(&mut self, c: &Customer) {
        self.by_email
            .list_remove(c.email.to_ascii_lowercase().as_str(), c.id.as_str());
        for card in &c.cards {
            self.card_holders
                .list_remove(card.id.as_str(), c.id.as_str());
        }
    }
}

/// One access token's data.
#[derive(Default)]
pub struct Account {
    customers: ShardedMap<String, Held<Customer>>,
    profiles: ShardedMap<String, Held<PaymentProfile>>,
    index: Index,
    /// The last sequence number given out.
    seq: u64,
    pub keys: IdempotencyKeys,
}

impl Account {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty() && self.profiles.is_empty()
    }

    pub fn customer(&self, id: &str) -> Option<&Customer> {
        self.customers.get(id).map(|h| &h.item)
    }

    /// The customer, to change anything but its email and its cards' ids (see the module doc).
    pub fn customer_mut(&mut self, id: &str) -> Option<&mut Customer> {
        self.customers.get_mut(id).map(|h| &mut h.item)
    }

    /// Whether a customer has this email, in any case.
    pub fn email_taken(&self, email: &str) -> bool {
        self.index
            .by_email
            .contains_key(email.to_ascii_lowercase().as_str())
    }

    /// Every customer, in creation order.
    pub fn customers(&self) -> Vec<&Customer> {
        in_creation_order(self.customers.values().collect())
    }

    /// The customers a search can match, in creation order: the one with `id` if it names
    /// one, else those with `email` (in any case) if it names one, else all.
    pub fn search_candidates(&self, id: Option<&str>, email: Option<&str>) -> Vec<&Customer> {
        if let Some(id) = id {
            return self.customer(id).into_iter().collect();
        }
        let Some(email) = email else {
            return self.customers();
        };
        let ids = self.index.by_email.get(email.to_ascii_lowercase().as_str());
        in_creation_order(
            ids.into_iter()
                .flatten()
                .filter_map(|id| self.customers.get(id.as_str()))
                .collect(),
        )
    }

    /// Stores a customer; one with the same id is replaced and keeps its place.
    pub fn put_customer(&mut self, customer: Customer) {
        self.index.add_customer(&customer);
        let id = customer.id.clone();
        let replaced = match self.customers.get_mut(&id) {
            Some(held) => Some(std::mem::replace(&mut held.item, customer)),
            None => {
                let seq = self.next_seq();
                self.customers.insert(
                    id,
                    Held {
                        seq,
                        item: customer,
                    },
                );
                None
            }
        };
        if let Some(old) = replaced {
            self.index.remove_customer(&old);
        }
    }

    /// Forgets a customer and its cards (its payment profiles stay: see
    /// [`Account::remove_profiles_of`]).
    pub fn remove_customer(&mut self, id: &str) -> Option<Customer> {
        let held = self.customers.remove(id)?;
        self.index.remove_customer(&held.item);
        Some(held.item)
    }

    /// Adds a card to the customer's; the customer, or `None` when there is none.
    pub fn add_card(&mut self, customer_id: &str, card: Card) -> Option<&mut Customer> {
        let held = self.customers.get_mut(customer_id)?;
        self.index
            .card_holders
            .list_push(card.id.as_str(), customer_id.to_string());
        held.item.cards.push(card);
        Some(&mut held.item)
    }

    /// Takes a card from the customer's.
    pub fn remove_card(&mut self, customer_id: &str, card_id: &str) -> Option<Card> {
        let cards = &mut self.customers.get_mut(customer_id)?.item.cards;
        let pos = cards.iter().position(|c| c.id == card_id)?;
        let card = cards.remove(pos);
        self.index.card_holders.list_remove(card_id, customer_id);
        Some(card)
    }

    /// A saved card: the named customer's, or else the first customer's (in creation order)
    /// to hold a card with this id.
    pub fn card(&self, card_id: &str, customer_id: Option<&str>) -> Option<&Card> {
        let holder = match customer_id {
            Some(id) => self.customers.get(id)?,
            None => self
                .index
                .card_holders
                .get(card_id)?
                .iter()
                .filter_map(|id| self.customers.get(id.as_str()))
                .min_by_key(|h| h.seq)?,
        };
        holder.item.cards.iter().find(|c| c.id == card_id)
    }

    pub fn profile(&self, id: &str) -> Option<&PaymentProfile> {
        self.profiles.get(id).map(|h| &h.item)
    }

    /// The profile, to change anything but its customer.
    pub fn profile_mut(&mut self, id: &str) -> Option<&mut PaymentProfile> {
        self.profiles.get_mut(id).map(|h| &mut h.item)
    }

    /// Every payment profile, in creation order.
    pub fn profiles(&self) -> Vec<&PaymentProfile> {
        in_creation_order(self.profiles.values().collect())
    }

    /// Stores a payment profile; one with the same id is replaced and keeps its place.
    pub fn put_profile(&mut self, profile: PaymentProfile) {
        self.index
            .profiles_of
            .list_push(profile.customer_id.as_str(), profile.id.clone());
        let id = profile.id.clone();
        let replaced = match self.profiles.get_mut(&id) {
            Some(held) => Some(std::mem::replace(&mut held.item, profile)),
            None => {
                let seq = self.next_seq();
                self.profiles.insert(id, Held { seq, item: profile });
                None
            }
        };
        if let Some(old) = replaced {
            self.index
                .profiles_of
                .list_remove(old.customer_id.as_str(), old.id.as_str());
        }
    }

    /// Forgets the payment profiles of a customer.
    pub fn remove_profiles_of(&mut self, customer_id: &str) {
        for id in self
            .index
            .profiles_of
            .remove(customer_id)
            .unwrap_or_default()
        {
            self.profiles.remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sharded::SHARD_AT;

    fn customer(id: &str, email: &str, cards: &[&str]) -> Customer {
        Customer {
            id: id.into(),
            email: email.into(),
            cards: cards
                .iter()
                .map(|c| Card {
                    id: (*c).into(),
                    customer_id: id.into(),
                    ..Card::default()
                })
                .collect(),
            ..Customer::default()
        }
    }

    fn profile(id: &str, customer_id: &str) -> PaymentProfile {
        PaymentProfile {
            id: id.into(),
            customer_id: customer_id.into(),
            ..PaymentProfile::default()
        }
    }

    fn ids(customers: Vec<&Customer>) -> Vec<&str> {
        customers.into_iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn customers_and_profiles_keep_creation_order() {
        let mut acct = Account::default();
        for id in ["c", "a", "d", "b"] {
            acct.put_customer(customer(id, &format!("{id}@example.com"), &[]));
            acct.put_profile(profile(&format!("p-{id}"), id));
        }
        assert!(acct.remove_customer("a").is_some());
        acct.remove_profiles_of("a");
        // Replacing keeps the place; a re-added customer goes last.
        acct.put_customer(customer("d", "D@example.com", &[]));
        acct.put_customer(customer("a", "a@example.com", &[]));
        acct.put_profile(profile("p-c", "b"));
        assert_eq!(ids(acct.customers()), ["c", "d", "b", "a"]);
        assert_eq!(
            ids(acct.search_candidates(None, Some("d@EXAMPLE.com"))),
            ["d"]
        );
        let profiles: Vec<(&str, &str)> = acct
            .profiles()
            .iter()
            .map(|p| (p.id.as_str(), p.customer_id.as_str()))
            .collect();
        assert_eq!(profiles, [("p-c", "b"), ("p-d", "d"), ("p-b", "b")]);
        acct.remove_profiles_of("b");
        assert_eq!(acct.profiles().len(), 1);
        assert!(acct.profile("p-d").is_some());
        acct.remove_profiles_of("c");
        assert_eq!(acct.profiles().len(), 1);
    }

    #[test]
    fn emails_and_cards_are_found_through_their_indexes() {
        let mut acct = Account::default();
        acct.put_customer(customer("c1", "Ana@example.com", &["card-1"]));
        acct.put_customer(customer("c2", "ana@EXAMPLE.com", &["card-1", "card-2"]));
        assert!(acct.email_taken("ANA@example.com"));
        assert_eq!(
            ids(acct.search_candidates(None, Some("ana@example.com"))),
            ["c1", "c2"]
        );
        assert_eq!(ids(acct.search_candidates(Some("c2"), None)), ["c2"]);
        assert_eq!(
            acct.card("card-1", None).map(|c| c.customer_id.as_str()),
            Some("c1")
        );
        assert_eq!(
            acct.card("card-1", Some("c2"))
                .map(|c| c.customer_id.as_str()),
            Some("c2")
        );
        assert!(acct.card("card-2", Some("c1")).is_none());

        assert!(acct.remove_card("c1", "card-1").is_some());
        assert_eq!(
            acct.card("card-1", None).map(|c| c.customer_id.as_str()),
            Some("c2")
        );
        let card = Card {
            id: "card-3".into(),
            customer_id: "c1".into(),
            ..Card::default()
        };
        assert!(acct.add_card("c1", card.clone()).is_some());
        assert!(acct.add_card("nobody", card).is_none());
        assert!(acct.card("card-3", None).is_some());

        // A replaced customer is indexed by what it now holds.
        acct.put_customer(customer("c2", "bea@example.com", &["card-4"]));
        assert!(acct.card("card-1", None).is_none());
        assert!(acct.card("card-4", None).is_some());
        assert_eq!(
            ids(acct.search_candidates(None, Some("ana@example.com"))),
            ["c1"]
        );
        assert!(acct.remove_customer("c1").is_some());
        assert!(!acct.email_taken("ana@example.com"));
        assert!(acct.card("card-3", None).is_none());
        assert!(acct.remove_customer("c1").is_none());
    }

    #[test]
    fn lookups_hold_once_the_maps_split() {
        let mut acct = Account::default();
        let n = SHARD_AT + 500;
        for i in 0..n {
            let id = format!("cust-{i}");
            acct.put_customer(customer(
                &id,
                &format!("p{i}@example.com"),
                &[&format!("card-{i}")],
            ));
            acct.put_profile(profile(&format!("prof-{i}"), &id));
        }
        for i in (0..n).step_by(7) {
            let id = format!("cust-{i}");
            assert_eq!(acct.customer(&id).map(|c| c.id.as_str()), Some(id.as_str()));
            assert!(acct.email_taken(&format!("P{i}@example.com")));
            let card = acct.card(&format!("card-{i}"), None);
            assert_eq!(card.map(|c| c.customer_id.as_str()), Some(id.as_str()));
            assert!(acct.profile(&format!("prof-{i}")).is_some());
        }
        assert!(acct.remove_customer("cust-3").is_some());
        acct.remove_profiles_of("cust-3");
        assert!(acct.customer("cust-3").is_none());
        assert!(acct.profile("prof-3").is_none());
        let order = acct.customers();
        assert_eq!(order.len(), n - 1);
        assert!(
            order
                .iter()
                .map(|c| c.id["cust-".len()..].parse::<usize>().unwrap_or(usize::MAX))
                .is_sorted()
        );
    }
}
