//! Services every provider shares: the sandbox clock and the id generator.

use compact_str::CompactString;
use parking_lot::{Mutex, RwLock};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

thread_local! {
    /// The clock offset of the tenant whose request this thread is handling.
    static TENANT_OFFSET_MS: Cell<i64> = const { Cell::new(0) };
}

/// Wall-clock time plus offsets the admin API can move forward — for everyone, or for one
/// tenant — so token, nonce and card expiry can be tested without waiting.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
    tenant_offsets: RwLock<HashMap<String, i64>>,
    any_tenant_offset: AtomicBool,
}

/// While alive, the current thread sees the tenant's own clock (see [`Clock::enter_tenant`]).
pub struct TenantTime(());

impl Drop for TenantTime {
    fn drop(&mut self) {
        TENANT_OFFSET_MS.with(|c| c.set(0));
    }
}

impl Clock {
    /// Makes `now()` on this thread include the tenant's offset until the guard drops.
    /// Handlers are synchronous, so the offset cannot leak into another request.
    pub fn enter_tenant(&self, tenant: &str) -> TenantTime {
        if self.any_tenant_offset.load(Ordering::Relaxed) {
            let offset = self.tenant_offsets.read().get(tenant).copied().unwrap_or(0);
            TENANT_OFFSET_MS.with(|c| c.set(offset));
        }
        TenantTime(())
    }

    /// The extra offset of one tenant, in milliseconds.
    pub fn tenant_offset_ms(&self, tenant: &str) -> i64 {
        self.tenant_offsets.read().get(tenant).copied().unwrap_or(0)
    }

    /// The global offset, in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Sets the global offset (restoring a snapshot).
    pub fn set_offset_ms(&self, offset: i64) {
        self.offset_ms.store(offset, Ordering::Relaxed);
    }

    pub fn now(&self) -> SystemTime {
        let offset = self.offset_ms.load(Ordering::Relaxed) + TENANT_OFFSET_MS.with(|c| c.get());
        let real = SystemTime::now();
        if offset >= 0 {
            real + Duration::from_millis(offset as u64)
        } else {
            real - Duration::from_millis(offset.unsigned_abs())
        }
    }

    /// Milliseconds since the Unix epoch, sandbox time.
    pub fn now_ms(&self) -> i64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default()
    }

    /// Moves the clock forward by `by_ms`, for everyone (`tenants` empty) or for the given
    /// tenant keys, unless that takes any clock it moves past `limit_ms`: then nothing moves
    /// and the error is the room left, in milliseconds. One lock orders concurrent advances,
    /// so two of them cannot pass the check together and overshoot.
    pub fn advance_within(&self, tenants: &[String], by_ms: i64, limit_ms: i64) -> Result<(), i64> {
        self.advance_locked(tenants, by_ms, limit_ms, false)
    }

    /// Moves everyone's clock forward by `by`, or up to 9000-01-01 when that is nearer (past
    /// it the providers' timestamps would lose their four-digit years).
    pub fn advance(&self, by: Duration) {
        let by_ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        // Capped, the move always fits.
        let _ = self.advance_locked(&[], by_ms, crate::time::CLOCK_LIMIT_MS, true);
    }

    fn advance_locked(
        &self,
        tenants: &[String],
        mut by_ms: i64,
        limit_ms: i64,
        cap: bool,
    ) -> Result<(), i64> {
        let mut offsets = self.tenant_offsets.write();
        let ahead = if tenants.is_empty() {
            offsets.values().copied().max()
        } else {
            tenants.iter().filter_map(|t| offsets.get(t).copied()).max()
        };
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let furthest = wall
            .saturating_add(self.offset_ms.load(Ordering::Relaxed))
            .saturating_add(ahead.unwrap_or(0).max(0));
        let room = limit_ms.saturating_sub(furthest).max(0);
        if by_ms > room {
            if !cap {
                return Err(room);
            }
            by_ms = room;
        }
        if tenants.is_empty() {
            self.offset_ms.fetch_add(by_ms, Ordering::Relaxed);
        } else {
            for t in tenants {
                *offsets.entry(t.clone()).or_insert(0) += by_ms;
            }
            self.any_tenant_offset.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Back to wall-clock time, for everyone (every tenant offset too).
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
        self.tenant_offsets.write().clear();
        self.any_tenant_offset.store(false, Ordering::Relaxed);
    }

    /// Back to the global time for one tenant.
    pub fn reset_tenant(&self, tenant: &str) {
        self.tenant_offsets.write().remove(tenant);
    }

    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::Relaxed).max(0) as u64)
    }
}

/// Random ids and values. With a seed, a sequential run generates the same ids every time.
pub struct Ids {
    rng: Mutex<StdRng>,
}

const ALNUM_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";

impl Ids {
    pub fn new(seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_rng(&mut rand::rng()),
        };
        Ids {
            rng: Mutex::new(rng),
        }
    }

    /// Written as a `CompactString`: ids kept in large numbers (card tokens) stay inline, and
    /// [`String`] callers get one allocation, as before. Drawn into a byte buffer and copied
    /// once: pushing characters one by one cost more than drawing them.
    fn pick(&self, alphabet: &[u8], len: usize) -> CompactString {
        let mut rng = self.rng.lock();
        let mut stack = [0u8; 64];
        let mut heap = Vec::new();
        let id: &mut [u8] = if len <= stack.len() {
            &mut stack[..len]
        } else {
            heap.resize(len, 0);
            &mut heap
        };
        loop {
            if alphabet.len() == 16 {
                // Hex, the most drawn (a token per saved card): 16 characters from each
                // 64-bit draw, four bits apiece, instead of a ranged draw per character.
                for chunk in id.chunks_mut(16) {
                    let mut bits = rng.next_u64();
                    for c in chunk {
                        *c = alphabet[(bits & 15) as usize];
                        bits >>= 4;
                    }
                }
            } else {
                for c in id.iter_mut() {
                    *c = alphabet[rng.random_range(0..alphabet.len())];
                }
            }
            // An id holding a run of 13+ digits reads as a card number: every dump and the
            // journal would mask it, and an exported state could not be read back. With hex,
            // about one 32-character id in thirty has such a run.
            if !crate::mask::has_long_digit_run(id) {
                // The alphabets are ASCII: this is a plain copy.
                return CompactString::from_utf8_lossy(id);
            }
        }
    }

    /// Upper-case letters and digits (Square ids).
    pub fn upper_alnum(&self, len: usize) -> String {
        self.pick(ALNUM_UPPER, len).into_string()
    }

    /// Mixed-case letters and digits (Mercado Pago customer id suffixes).
    pub fn alnum(&self, len: usize) -> String {
        self.pick(ALNUM, len).into_string()
    }

    /// Lower-case hex (Mercado Pago card tokens and profile ids, webhook subscription ids).
    pub fn hex(&self, len: usize) -> String {
        self.pick(HEX, len).into_string()
    }

    /// [`hex`](Ids::hex) for ids kept in large numbers: up to 24 characters are held
    /// inline, without an allocation.
    pub fn hex_compact(&self, len: usize) -> CompactString {
        self.pick(HEX, len)
    }

    /// Decimal digits, never starting with 0 (Mercado Pago card ids).
    pub fn digits(&self, len: usize) -> String {
        let mut rng = self.rng.lock();
        let mut s = String::with_capacity(len.max(1));
        s.push(char::from(b'1' + rng.random_range(0..9u8)));
        // The rest in chunks of up to 19 digits, one uniform draw below 10^19 each.
        let mut left = len.saturating_sub(1);
        while left > 0 {
            let chunk = left.min(19);
            let mut n = rng.random_range(0..10u64.pow(chunk as u32));
            for _ in 0..chunk {
                s.push(char::from(b'0' + (n % 10) as u8));
                n /= 10;
            }
            left -= chunk;
        }
        s
    }

    /// A random v4 UUID in its canonical text form.
    pub fn uuid(&self) -> String {
        let h = self.hex(32);
        let variant = ["8", "9", "a", "b"][self.rng.lock().random_range(0..4)];
        format!(
            "{}-{}-4{}-{}{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            variant,
            &h[17..20],
            &h[20..32]
        )
    }

    /// Runs `f` with the generator, for libraries (such as `fake`) that take an `Rng`.
    pub fn with_rng<T>(&self, f: impl FnOnce(&mut StdRng) -> T) -> T {
        f(&mut self.rng.lock())
    }
}

/// Shared services handed to every provider.
pub struct Env {
    pub clock: Clock,
    pub ids: Ids,
    /// Webhook subscriptions and delivery (providers emit events through it).
    pub webhooks: crate::webhooks::Hub,
}

impl Env {
    pub fn new(seed: Option<u64>) -> Self {
        Env {
            clock: Clock::default(),
            ids: Ids::new(seed),
            webhooks: crate::webhooks::Hub::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_never_look_like_card_numbers() {
        // Unchecked, about one hex id of 32 characters in thirty holds a run of 13+ digits.
        let ids = Ids::new(Some(7));
        for _ in 0..3_000 {
            for id in [ids.hex(20), ids.hex(32), ids.alnum(27), ids.upper_alnum(26)] {
                assert!(!crate::mask::has_long_digit_run(id.as_bytes()), "{id}");
            }
        }
    }

    #[test]
    fn a_seed_makes_ids_repeatable() {
        let (a, b) = (Ids::new(Some(7)), Ids::new(Some(7)));
        assert_eq!(a.hex(32), b.hex(32));
        assert_eq!(a.upper_alnum(26), b.upper_alnum(26));
    }

    #[test]
    fn every_character_of_an_id_is_drawn_evenly() {
        let ids = Ids::new(Some(3));
        let mut hex = [0usize; 16];
        let mut digits = [0usize; 10];
        let mut leading = [0usize; 10];
        for _ in 0..2_000 {
            for c in ids.hex(20).bytes() {
                hex[HEX.iter().position(|&h| h == c).expect("a hex character")] += 1;
            }
            let d = ids.digits(25);
            assert_eq!(d.len(), 25);
            leading[usize::from(d.as_bytes()[0] - b'0')] += 1;
            for c in d.bytes().skip(1) {
                digits[usize::from(c - b'0')] += 1;
            }
        }
        // 40 000 hex characters: 2 500 expected each; 48 000 digits: 4 800 each.
        assert!(hex.iter().all(|&n| (2_200..2_800).contains(&n)), "{hex:?}");
        assert!(
            digits.iter().all(|&n| (4_400..5_200).contains(&n)),
            "{digits:?}"
        );
        assert_eq!(leading[0], 0, "never a leading zero");
        assert!(
            leading[1..].iter().all(|&n| (150..300).contains(&n)),
            "{leading:?}"
        );
    }

    #[test]
    fn uuids_have_the_v4_shape() {
        let u = Ids::new(Some(1)).uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
    }

    #[test]
    fn the_clock_moves_forward_by_what_it_is_told() {
        let clock = Clock::default();
        let before = clock.now_ms();
        assert_eq!(
            clock.advance_within(&[], 3_600_000, crate::time::CLOCK_LIMIT_MS),
            Ok(())
        );
        assert!(clock.now_ms() - before >= 3_600_000);
        clock.reset();
        assert!(clock.now_ms() - before < 3_600_000);
    }

    #[test]
    fn a_tenant_clock_moves_only_for_that_tenant() {
        let clock = Clock::default();
        let before = clock.now_ms();
        assert_eq!(
            clock.advance_within(&["a".into()], 60_000, i64::MAX),
            Ok(())
        );
        {
            let _t = clock.enter_tenant("a");
            assert!(clock.now_ms() - before >= 60_000);
        }
        assert!(clock.now_ms() - before < 60_000);
        let _t = clock.enter_tenant("b");
        assert!(clock.now_ms() - before < 60_000);
    }
}
