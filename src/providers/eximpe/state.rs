//! Saved cards per tenant, and their lossless JSON form for export, import and snapshots.
//! A card number is never kept: only its first six and last four digits, its length and a
//! fingerprint.

use super::cards::{self, CardType, Network};
use crate::card;
use crate::env::Env;
use crate::state::{Held, ShardedMap, in_creation_order};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A saved card. Its short texts (a token is 20 characters, digits fewer, most identifiers
/// and names under 24) are `CompactString`s, held inside the card: as `String`s they were
/// ten small allocations a save, counting the index keys, and most of a card's memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedCard {
    pub card_token: CompactString,
    pub identifier: CompactString,
    pub cardholder_name: CompactString,
    pub nickname: Option<CompactString>,
    pub card_type: CardType,
    pub network: Network,
    pub first_six: CompactString,
    pub last_four: CompactString,
    pub card_length: usize,
    /// Recognises the same card saved again; absent for seeded cards given no number.
    pub fingerprint: Option<String>,
    pub expiry_month: u32,
    pub expiry_year: i64,
    pub network_token: CompactString,
}

/// One tenant's cards, indexed by token and by identifier so a save, list or delete costs the
/// same with a million cards as with ten. An identifier's list keeps save order (lists answer
/// in it); each card's place in the save order is kept for exports.
#[derive(Debug, Default, Clone)]
pub struct TenantState {
    /// Boxed: a card is ~300 bytes, and a table that grows moves (and keeps spare room for)
    /// every entry it holds. Inline, each growth of a large tenant's shard copied megabytes
    /// and faulted in fresh pages under the tenant's lock.
    cards: ShardedMap<CompactString, Held<Box<SavedCard>>>,
    by_identifier: ShardedMap<CompactString, Vec<CompactString>>,
    saved: u64,
}

impl TenantState {
    pub fn of_identifier<'a>(&'a self, identifier: &'a str) -> impl Iterator<Item = &'a SavedCard> {
        self.by_identifier
            .get(identifier)
            .into_iter()
            .flatten()
            .filter_map(|token| self.cards.get(token).map(|slot| &*slot.item))
    }

    pub fn is_empty(&self) -> bool {
        self.cards.is_empty()
    }

    fn next_seq(&mut self) -> u64 {
        self.saved += 1;
        self.saved
    }

    #[cfg(test)]
    pub fn contains_token(&self, card_token: &str) -> bool {
        self.cards.contains_key(card_token)
    }

    /// Saves a card under a new token (the first `draw` gives that no card holds), unless its
    /// identifier already holds the same card: `None` then. Each index is probed once: in a
    /// tenant with a million cards every probe is a cache miss, and they were most of a save.
    pub fn save_new(
        &mut self,
        mut card: SavedCard,
        mut draw: impl FnMut() -> CompactString,
    ) -> Option<CompactString> {
        // Drawn before the index is borrowed; a refused duplicate leaves a gap, which orders
        // the same.
        let seq = self.next_seq();
        let tokens = self
            .by_identifier
            .entry(card.identifier.clone())
            .or_default();
        let duplicate = card.fingerprint.is_some()
            && tokens.iter().any(|t| {
                self.cards
                    .get(t)
                    .is_some_and(|slot| slot.item.fingerprint == card.fingerprint)
            });
        if duplicate {
            return None;
        }
        loop {
            let token = draw();
            if let std::collections::hash_map::Entry::Vacant(place) = self.cards.entry(token) {
                let token = place.key().clone();
                card.card_token = token.clone();
                place.insert(Held {
                    seq,
                    item: Box::new(card),
                });
                tokens.push(token.clone());
                return Some(token);
            }
        }
    }

    /// Adds a card, or replaces the card with the same token.
    pub fn push(&mut self, card: SavedCard) {
        if let Some(old) = self.cards.get_mut(&card.card_token) {
            // A saved token keeps its place in the save order; only the stored fields change,
            // and the identifier lists only when the card moved to another identifier.
            let moved = old.item.identifier != card.identifier;
            let old_identifier = std::mem::replace(&mut *old.item, card).identifier;
            if moved {
                let identifier = old.item.identifier.clone();
                let token = old.item.card_token.clone();
                self.unindex(&old_identifier, &token);
                self.by_identifier
                    .entry(identifier)
                    .or_default()
                    .push(token);
            }
            return;
        }
        self.by_identifier
            .entry(card.identifier.clone())
            .or_default()
            .push(card.card_token.clone());
        let seq = self.next_seq();
        self.cards.insert(
            card.card_token.clone(),
            Held {
                seq,
                item: Box::new(card),
            },
        );
    }

    fn unindex(&mut self, identifier: &str, card_token: &str) {
        if let Some(tokens) = self.by_identifier.get_mut(identifier) {
            tokens.retain(|t| t != card_token);
            if tokens.is_empty() {
                self.by_identifier.remove(identifier);
            }
        }
    }

    /// Removes the card when it exists and belongs to the identifier.
    pub fn remove(&mut self, card_token: &str, identifier: &str) -> bool {
        if self
            .cards
            .get(card_token)
            .is_none_or(|slot| slot.item.identifier != identifier)
        {
            return false;
        }
        self.cards.remove(card_token);
        self.unindex(identifier, card_token);
        true
    }

    /// Every card, in save order.
    pub fn in_save_order(&self) -> Vec<&SavedCard> {
        in_creation_order(self.cards.values().collect())
            .into_iter()
            .map(|card| &**card)
            .collect()
    }

    pub fn export(&self) -> Value {
        json!({ "cards": self.in_save_order() })
    }

    /// Merges seeded cards by token: given fields replace, omitted ones keep the stored
    /// value (or a default for a new card). Nothing changes unless every card reads.
    pub fn import(&mut self, state: &Value, env: &Env) -> Result<(), String> {
        let seed: Seed = serde_path_to_error::deserialize(state)
            .map_err(|e| format!("eximpe state: {}: {}", e.path(), e.inner()))?;
        let mut next = self.clone();
        for (i, partial) in seed.cards.into_iter().enumerate() {
            let base = match next.cards.get(&partial.card_token) {
                Some(existing) => (*existing.item).clone(),
                None => default_card(&partial.card_token, env),
            };
            let card = partial
                .apply(base, env)
                .map_err(|e| format!("eximpe state: cards[{i}].{e}"))?;
            next.push(card);
        }
        *self = next;
        Ok(())
    }
}

/// A Luhn-valid stand-in number on the card's network, as Eximpe's v2 returns with a save.
pub fn network_token(first_six: &str, length: usize, env: &Env) -> CompactString {
    let prefix_end = first_six
        .char_indices()
        .nth(4)
        .map_or(first_six.len(), |(i, _)| i);
    let prefix = &first_six[..prefix_end];
    let middle = length.saturating_sub(prefix.len() + 1).max(1);
    let mut token = CompactString::with_capacity(prefix.len() + middle + 1);
    token.push_str(prefix);
    token.push_str(&env.ids.digits(middle));
    let check = card::luhn_check_digit(&token);
    token.push(check);
    token
}

fn current_year(env: &Env) -> i64 {
    crate::time::year_month(env.clock.now_ms()).0
}

fn default_card(card_token: &str, env: &Env) -> SavedCard {
    SavedCard {
        card_token: card_token.into(),
        identifier: CompactString::default(),
        cardholder_name: CompactString::default(),
        nickname: None,
        card_type: CardType::Credit,
        network: Network::Visa,
        first_six: "411111".into(),
        last_four: "1111".into(),
        card_length: 16,
        fingerprint: None,
        expiry_month: 12,
        expiry_year: current_year(env) + 5,
        network_token: CompactString::default(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    #[serde(default)]
    cards: Vec<PartialCard>,
}

/// A seeded card: only `card_token` is required. `card_number` may be given instead of
/// first_six/last_four/card_length/fingerprint; it is reduced to those and not kept.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialCard {
    card_token: CompactString,
    identifier: Option<CompactString>,
    cardholder_name: Option<CompactString>,
    #[serde(default, deserialize_with = "double_option")]
    nickname: Option<Option<CompactString>>,
    card_type: Option<String>,
    network: Option<String>,
    card_number: Option<String>,
    first_six: Option<CompactString>,
    last_four: Option<CompactString>,
    card_length: Option<usize>,
    #[serde(default, deserialize_with = "double_option")]
    fingerprint: Option<Option<String>>,
    expiry_month: Option<u32>,
    expiry_year: Option<i64>,
    network_token: Option<CompactString>,
}

/// A field that may be given as `null` (`Some(None)`) or left out (`None`).
fn double_option<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

impl PartialCard {
    fn apply(self, mut card: SavedCard, env: &Env) -> Result<SavedCard, String> {
        if self.card_token.is_empty() {
            return Err("card_token: may not be empty".into());
        }
        if let Some(number) = self.card_number {
            if !digits(&number, 13, 19) {
                return Err("card_number: must be 13 to 19 digits".into());
            }
            card.first_six = card::first_six(&number).into();
            card.last_four = card::last_four(&number).into();
            card.card_length = number.len();
            card.fingerprint = Some(cards::fingerprint(&number));
            if self.network.is_none()
                && let Some(n) = [
                    Network::Visa,
                    Network::Mastercard,
                    Network::Amex,
                    Network::Rupay,
                    Network::Discover,
                ]
                .into_iter()
                .find(|n| cards::bin_matches(&number, *n))
            {
                card.network = n;
            }
        }
        if let Some(v) = self.identifier {
            card.identifier = v;
        }
        if let Some(v) = self.cardholder_name {
            card.cardholder_name = v;
        }
        if let Some(v) = self.nickname {
            card.nickname = v;
        }
        if let Some(v) = self.card_type {
            card.card_type =
                CardType::parse_any(&v).ok_or("card_type: must be CREDIT, DEBIT or PREPAID")?;
        }
        if let Some(v) = self.network {
            card.network = Network::parse_any(&v)
                .ok_or("network: must be VISA, MASTERCARD, AMEX, DISCOVER or RUPAY")?;
        }
        if let Some(v) = self.first_six {
            if !digits(&v, 6, 6) {
                return Err("first_six: must be 6 digits".into());
            }
            card.first_six = v;
        }
        if let Some(v) = self.last_four {
            if !digits(&v, 4, 4) {
                return Err("last_four: must be 4 digits".into());
            }
            card.last_four = v;
        }
        if let Some(v) = self.card_length {
            if !(13..=19).contains(&v) {
                return Err("card_length: must be 13 to 19".into());
            }
            card.card_length = v;
        }
        if let Some(v) = self.fingerprint {
            card.fingerprint = v;
        }
        if let Some(v) = self.expiry_month {
            if !(1..=12).contains(&v) {
                return Err("expiry_month: must be 1 to 12".into());
            }
            card.expiry_month = v;
        }
        if let Some(v) = self.expiry_year {
            card.expiry_year = v;
        }
        if let Some(v) = self.network_token {
            card.network_token = v;
        }
        if card.network_token.is_empty() {
            card.network_token = network_token(&card.first_six, card.card_length, env);
        }
        Ok(card)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::new(Some(1))
    }

    #[test]
    fn export_then_import_restores_the_same_cards() {
        let env = env();
        let mut a = TenantState::default();
        a.import(
            &json!({"cards": [{"card_token": "t1", "identifier": "u1", "card_number": "5506900480000008", "nickname": "Work"}]}),
            &env,
        )
        .unwrap();
        let dump = a.export();
        assert!(!dump.to_string().contains("5506900480000008"));
        let mut b = TenantState::default();
        b.import(&dump, &env).unwrap();
        assert_eq!(a.in_save_order(), b.in_save_order());
        assert_eq!(b.in_save_order()[0].network, Network::Mastercard);
        assert_eq!(b.in_save_order()[0].last_four, "0008");
        assert!(card::luhn(&b.in_save_order()[0].network_token));
    }

    #[test]
    fn a_partial_seed_keeps_what_it_omits() {
        let env = env();
        let mut s = TenantState::default();
        s.import(
            &json!({"cards": [{"card_token": "t1", "identifier": "u1"}]}),
            &env,
        )
        .unwrap();
        s.import(
            &json!({"cards": [{"card_token": "t1", "nickname": "Travel"}]}),
            &env,
        )
        .unwrap();
        assert_eq!(s.cards.len(), 1);
        assert_eq!(s.in_save_order()[0].identifier, "u1");
        assert_eq!(s.in_save_order()[0].nickname.as_deref(), Some("Travel"));
    }

    #[test]
    fn unreadable_seeds_name_the_field_and_change_nothing() {
        let env = env();
        let mut s = TenantState::default();
        let err = s
            .import(
                &json!({"cards": [{"card_token": "ok"}, {"card_token": "t2", "last_four": "12"}]}),
                &env,
            )
            .unwrap_err();
        assert!(err.contains("cards[1].last_four"), "{err}");
        assert!(s.cards.is_empty());
        let err = s
            .import(&json!({"cards": [{"identifier": "x"}]}), &env)
            .unwrap_err();
        assert!(err.contains("card_token"), "{err}");
    }

    #[test]
    fn the_indexes_follow_saves_replacements_and_removals() {
        let env = env();
        let card = |token: &str, identifier: &str| SavedCard {
            identifier: identifier.into(),
            ..default_card(token, &env)
        };
        let mut s = TenantState::default();
        s.push(card("t1", "u1"));
        s.push(card("t2", "u2"));
        s.push(card("t3", "u1"));
        let tokens = |s: &TenantState, id: &str| {
            s.of_identifier(id)
                .map(|c| c.card_token.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(tokens(&s, "u1"), ["t1", "t3"]);
        // Replacing under the same identifier keeps the place; moving it re-files it.
        s.push(SavedCard {
            nickname: Some("renamed".into()),
            ..card("t1", "u1")
        });
        assert_eq!(tokens(&s, "u1"), ["t1", "t3"]);
        s.push(card("t3", "u2"));
        assert_eq!(
            (tokens(&s, "u1"), tokens(&s, "u2")),
            (
                vec![CompactString::from("t1")],
                vec![CompactString::from("t2"), CompactString::from("t3")]
            )
        );
        // Removal needs the owning identifier.
        assert!(!s.remove("t2", "u1"));
        assert!(s.remove("t2", "u2"));
        assert!(!s.contains_token("t2"));
        assert_eq!(tokens(&s, "u2"), ["t3"]);
        assert_eq!(
            s.in_save_order()
                .iter()
                .map(|c| c.card_token.as_str())
                .collect::<Vec<_>>(),
            ["t1", "t3"]
        );
    }

    #[test]
    fn a_tenant_with_more_cards_than_one_map_holds_keeps_save_order_and_finds_each() {
        let env = env();
        let card = |token: &str, identifier: &str| SavedCard {
            identifier: identifier.into(),
            ..default_card(token, &env)
        };
        let mut s = TenantState::default();
        let n = crate::state::sharded::SHARD_AT * 2;
        for i in 0..n {
            s.push(card(&format!("t{i}"), &format!("u{}", i % 7)));
        }
        assert!(s.remove("t5", "u5"));
        let order: Vec<String> = s
            .in_save_order()
            .iter()
            .map(|c| c.card_token.to_string())
            .collect();
        let expected: Vec<String> = (0..n)
            .filter(|&i| i != 5)
            .map(|i| format!("t{i}"))
            .collect();
        assert_eq!(order, expected);
        assert!(s.contains_token(&format!("t{}", n - 1)));
        assert_eq!(
            s.of_identifier("u3").count(),
            n / 7 + usize::from(n % 7 > 3)
        );
    }

    #[test]
    fn a_save_refuses_the_same_card_for_the_same_identifier_and_skips_taken_tokens() {
        let env = env();
        let card = |identifier: &str, fingerprint: &str| SavedCard {
            identifier: identifier.into(),
            fingerprint: Some(fingerprint.into()),
            ..default_card("", &env)
        };
        let mut s = TenantState::default();
        let mut draws = ["t1", "t1", "t2", "t3"]
            .into_iter()
            .map(CompactString::from);
        assert_eq!(
            s.save_new(card("u1", "f1"), || draws.next().unwrap()),
            Some("t1".into())
        );
        // The same card again for u1: refused, and no token drawn.
        assert_eq!(s.save_new(card("u1", "f1"), || unreachable!()), None);
        // "t1" is taken: the next draw is used.
        assert_eq!(
            s.save_new(card("u2", "f1"), || draws.next().unwrap()),
            Some("t2".into())
        );
        assert_eq!(
            s.save_new(card("u1", "f2"), || draws.next().unwrap()),
            Some("t3".into())
        );
        let listed = |id: &str| {
            s.of_identifier(id)
                .map(|c| c.card_token.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(listed("u1"), ["t1", "t3"]);
        assert_eq!(listed("u2"), ["t2"]);
        let order: Vec<&str> = s
            .in_save_order()
            .iter()
            .map(|c| c.card_token.as_str())
            .collect();
        assert_eq!(order, ["t1", "t2", "t3"]);
    }
}
