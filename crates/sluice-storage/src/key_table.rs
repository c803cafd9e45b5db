//! Byte strings with dense `u32` ids: an append-only arena plus an open-addressing hash table.
//!
//! The series index uses two of these: one for series keys (id = series id) and one for the
//! interned, unescaped names (measurements, tag keys, tag values; id = symbol). Each cache map
//! uses one for its series keys (id = position of the series' points).
//!
//! Layout, per id and per slot (no allocation per string):
//!
//! ```text
//! chunks   : Vec<Vec<u8>>  strings back to back; a chunk holds at most ARENA_CHUNK_BYTES and a
//!                          string never spans two chunks (strings are at most 65,535 bytes)
//! locators : Vec<u64>      per id: arena offset << 16 | length; DELETED_LOCATOR once removed
//!                          (arena offset = chunk number * ARENA_CHUNK_BYTES + offset in chunk)
//! slots    : Vec<u64>      2^slot_bits slots: hash >> 32 << 32 | id, or EMPTY_SLOT
//! ```
//!
//! The table probes linearly from a string's *home* slot, the top `slot_bits` bits of its
//! hash. A slot keeps the top 32 bits of the hash, so the home of an entry is known without
//! the string (growth never rehashes a string) and most probes that end on another string
//! are rejected without touching the arena. A match is confirmed by comparing arena bytes.
//! Removal shifts later entries of the probe run back (no tombstones).
//!
//! Invariants: every live id has exactly one slot; a slot's id is live; the load stays at
//! most `LOAD_MAX_NUMERATOR / LOAD_MAX_DENOMINATOR`; ids are never reused (a removed id's
//! arena bytes stay until the table is dropped; the series index's, until it is rebuilt from
//! its log).

use sluice_model::limits::SERIES_KEY_MAX_BYTES;

/// Bytes of one arena chunk: large enough for the longest string.
pub(crate) const ARENA_CHUNK_BYTES: usize = 1 << 20;
/// Length field of a locator.
const LOCATOR_LENGTH_BITS: u32 = 16;
/// Longest string a table holds (the length field of a locator).
pub(crate) const STRING_MAX_BYTES: usize = (1 << LOCATOR_LENGTH_BITS) - 1;
/// Locator of a removed (or never created) id.
const DELETED_LOCATOR: u64 = u64::MAX;
/// An unused slot. Its id half is `u32::MAX`, which is therefore never an id.
const EMPTY_SLOT: u64 = u64::MAX;
/// Largest id a table hands out.
pub(crate) const ID_MAX: u32 = u32::MAX - 1;
/// Slot count exponent of a new, empty table.
const SLOT_BITS_MIN: u32 = 4;
/// Slot count exponent limit: a slot keeps 32 hash bits, from which the home is taken.
const SLOT_BITS_MAX: u32 = 32;
/// The table grows once live entries would pass this fraction of the slots.
const LOAD_MAX_NUMERATOR: usize = 3;
/// See [`LOAD_MAX_NUMERATOR`].
const LOAD_MAX_DENOMINATOR: usize = 4;

const _: () = assert!(ARENA_CHUNK_BYTES >= STRING_MAX_BYTES);
const _: () = assert!(SERIES_KEY_MAX_BYTES <= STRING_MAX_BYTES);

/// Multipliers of the hash (odd constants with well-spread bits).
const HASH_MULTIPLIER_A: u64 = 0x9e37_79b9_7f4a_7c15;
/// See [`HASH_MULTIPLIER_A`].
const HASH_MULTIPLIER_B: u64 = 0xd6e8_feb8_6659_fd93;

/// The 128-bit product of `a` and `b`, folded to 64 bits.
#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// Reads up to 8 bytes little-endian, missing bytes as zero.
#[inline]
fn read_u64_padded(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    for (target, source) in word.iter_mut().zip(bytes) {
        *target = *source;
    }
    u64::from_le_bytes(word)
}

/// A seeded 64-bit hash of `bytes` (16 bytes per multiply). The seed is random per table
/// ([`random_seed`]), so colliding keys cannot be prepared offline.
#[inline]
pub(crate) fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut state = seed ^ (bytes.len() as u64).wrapping_mul(HASH_MULTIPLIER_A);
    let mut blocks = bytes.chunks_exact(16);
    for block in &mut blocks {
        let (low, high) = block.split_at(8);
        state = folded_multiply(
            read_u64_padded(low) ^ state ^ HASH_MULTIPLIER_A,
            read_u64_padded(high) ^ HASH_MULTIPLIER_B,
        );
    }
    let rest = blocks.remainder();
    let (low, high) = rest.split_at(rest.len().min(8));
    state = folded_multiply(
        read_u64_padded(low) ^ state ^ HASH_MULTIPLIER_A,
        read_u64_padded(high) ^ HASH_MULTIPLIER_B ^ rest.len() as u64,
    );
    folded_multiply(state, HASH_MULTIPLIER_A ^ HASH_MULTIPLIER_B)
}

/// A seed that differs between processes and tables (for [`hash_bytes`]).
pub(crate) fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    hasher.finish()
}

/// Strings with dense ids; see the module doc.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyTable {
    /// The arena; every chunk but the last is closed.
    chunks: Vec<Vec<u8>>,
    /// Per id: where its string is, or [`DELETED_LOCATOR`].
    locators: Vec<u64>,
    /// The hash table; empty or `1 << slot_bits` long.
    slots: Vec<u64>,
    /// log2 of `slots.len()` once allocated.
    slot_bits: u32,
    /// Ids with a string (not deleted).
    live_count: usize,
}

impl KeyTable {
    /// An empty table sized for `expected` strings.
    pub(crate) fn with_capacity(expected: usize) -> KeyTable {
        let mut table = KeyTable::default();
        table.locators.reserve_exact(expected);
        let mut bits = SLOT_BITS_MIN;
        while bits < SLOT_BITS_MAX && !Self::fits(expected, bits) {
            bits += 1;
        }
        table.slot_bits = bits;
        table.slots = vec![EMPTY_SLOT; 1 << bits];
        table
    }

    /// Whether `count` entries fit in `1 << bits` slots under the load limit.
    fn fits(count: usize, bits: u32) -> bool {
        count.saturating_mul(LOAD_MAX_DENOMINATOR) <= (1usize << bits) * LOAD_MAX_NUMERATOR
    }

    /// The id the next insert gets (ids given so far, deleted ones included).
    pub(crate) fn next_id(&self) -> u32 {
        // At most ID_MAX + 1 locators exist (insert checks), so this fits.
        self.locators.len() as u32
    }

    /// Strings present.
    pub(crate) fn live_count(&self) -> usize {
        self.live_count
    }

    /// The string of `id`, if it is live.
    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<&[u8]> {
        let locator = *self.locators.get(id as usize)?;
        if locator == DELETED_LOCATOR {
            return None;
        }
        let length = (locator & ((1 << LOCATOR_LENGTH_BITS) - 1)) as usize;
        let offset = (locator >> LOCATOR_LENGTH_BITS) as usize;
        let chunk = self.chunks.get(offset / ARENA_CHUNK_BYTES)?;
        let start = offset % ARENA_CHUNK_BYTES;
        chunk.get(start..start + length)
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    #[inline]
    fn home(&self, slot: u64) -> usize {
        // slot_bits >= SLOT_BITS_MIN > 0, so the shift is below 32.
        ((slot >> 32) >> (32 - self.slot_bits)) as usize
    }

    /// The id of `string` (whose hash is `hash`), if present.
    #[inline]
    pub(crate) fn find(&self, string: &[u8], hash: u64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let tag = hash >> 32;
        let mask = self.mask();
        let mut index = self.home(hash);
        loop {
            let slot = *self.slots.get(index)?;
            if slot == EMPTY_SLOT {
                return None;
            }
            if slot >> 32 == tag {
                let id = slot as u32;
                if self.get(id) == Some(string) {
                    return Some(id);
                }
            }
            index = (index + 1) & mask;
        }
    }

    /// Appends `string` as a new id; the caller has checked it is absent. `None` when the
    /// string is too long or ids are exhausted.
    pub(crate) fn insert_new(&mut self, string: &[u8], hash: u64) -> Option<u32> {
        if string.len() > STRING_MAX_BYTES || self.locators.len() > ID_MAX as usize {
            return None;
        }
        if !Self::fits(self.live_count + 1, self.slot_bits) || self.slots.is_empty() {
            if self.slot_bits >= SLOT_BITS_MAX && !self.slots.is_empty() {
                return None;
            }
            self.grow();
        }
        let id = self.next_id();
        let offset = self.append_to_arena(string);
        self.locators
            .push((offset as u64) << LOCATOR_LENGTH_BITS | string.len() as u64);
        self.place((hash >> 32) << 32 | u64::from(id));
        self.live_count += 1;
        Some(id)
    }

    /// Marks ids up to (not including) `id` that were never given as deleted, so the next
    /// insert gets `id` (log replay: ids of deleted series leave gaps).
    pub(crate) fn skip_to(&mut self, id: u32) {
        while self.locators.len() < id as usize {
            self.locators.push(DELETED_LOCATOR);
        }
    }

    /// Removes live `id`, whose string has hash `hash`. Returns whether it was live.
    pub(crate) fn remove(&mut self, id: u32, hash: u64) -> bool {
        if self.get(id).is_none() || self.slots.is_empty() {
            return false;
        }
        let wanted = (hash >> 32) << 32 | u64::from(id);
        let mask = self.mask();
        let mut index = self.home(hash);
        loop {
            match self.slots.get(index) {
                Some(&slot) if slot == wanted => break,
                Some(&slot) if slot != EMPTY_SLOT => index = (index + 1) & mask,
                _ => panic!("BUG: live id {id} has no slot in its probe run"),
            }
        }
        self.shift_back(index);
        if let Some(locator) = self.locators.get_mut(id as usize) {
            *locator = DELETED_LOCATOR;
        }
        self.live_count -= 1;
        true
    }

    /// Empties slot `hole` and moves later entries of its probe run back into it.
    fn shift_back(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut index = hole;
        loop {
            index = (index + 1) & mask;
            let slot = self.slots.get(index).copied().unwrap_or(EMPTY_SLOT);
            if slot == EMPTY_SLOT {
                break;
            }
            let home = self.home(slot);
            // The entry may move to the hole when its home is not in (hole, index].
            if index.wrapping_sub(home) & mask >= index.wrapping_sub(hole) & mask {
                if let Some(target) = self.slots.get_mut(hole) {
                    *target = slot;
                }
                hole = index;
            }
        }
        if let Some(target) = self.slots.get_mut(hole) {
            *target = EMPTY_SLOT;
        }
    }

    /// Puts `slot` into the first empty slot of its probe run; there is one (load < 1).
    fn place(&mut self, slot: u64) {
        let mask = self.mask();
        let mut index = self.home(slot);
        while let Some(existing) = self.slots.get_mut(index) {
            if *existing == EMPTY_SLOT {
                *existing = slot;
                return;
            }
            index = (index + 1) & mask;
        }
        panic!("BUG: key table has no slots");
    }

    /// Doubles the slots (or allocates the first ones) and places every entry again.
    fn grow(&mut self) {
        let old = std::mem::take(&mut self.slots);
        self.slot_bits = if old.is_empty() {
            SLOT_BITS_MIN
        } else {
            self.slot_bits + 1
        };
        self.slots = vec![EMPTY_SLOT; 1 << self.slot_bits];
        for slot in old.into_iter().filter(|&slot| slot != EMPTY_SLOT) {
            self.place(slot);
        }
    }

    /// Copies `string` into the arena; returns its arena offset.
    fn append_to_arena(&mut self, string: &[u8]) -> usize {
        let needs_chunk = match self.chunks.last() {
            Some(chunk) => chunk.len() + string.len() > ARENA_CHUNK_BYTES,
            None => true,
        };
        if needs_chunk {
            // The first chunk grows on demand (small databases stay small); later ones are
            // allocated whole.
            let capacity = if self.chunks.is_empty() {
                0
            } else {
                ARENA_CHUNK_BYTES
            };
            self.chunks.push(Vec::with_capacity(capacity));
        }
        let chunk_number = self.chunks.len() - 1;
        let Some(chunk) = self.chunks.last_mut() else {
            panic!("BUG: arena has no chunk after pushing one");
        };
        if chunk.len() + string.len() > chunk.capacity() {
            let wanted = (chunk.capacity() * 2)
                .max(chunk.len() + string.len())
                .min(ARENA_CHUNK_BYTES);
            chunk.reserve_exact(wanted - chunk.len());
        }
        let offset = chunk_number * ARENA_CHUNK_BYTES + chunk.len();
        chunk.extend_from_slice(string);
        offset
    }

    /// Heap bytes held (capacities).
    pub(crate) fn memory_bytes(&self) -> usize {
        let arena: usize = self.chunks.iter().map(Vec::capacity).sum();
        arena
            + self.chunks.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.locators.capacity() * std::mem::size_of::<u64>()
            + self.slots.capacity() * std::mem::size_of::<u64>()
    }

    /// Checks the invariants of the module doc; for tests and the fuzz target.
    pub(crate) fn check(&self, seed: u64) -> Result<(), String> {
        let occupied = self
            .slots
            .iter()
            .filter(|&&slot| slot != EMPTY_SLOT)
            .count();
        if occupied != self.live_count {
            return Err(format!("{occupied} slots for {} live ids", self.live_count));
        }
        let mut live = 0;
        for id in 0..self.next_id() {
            if let Some(string) = self.get(id) {
                live += 1;
                if self.find(string, hash_bytes(seed, string)) != Some(id) {
                    return Err(format!("id {id} is not found by its string"));
                }
            }
        }
        if live != self.live_count {
            return Err(format!(
                "{live} live locators, count says {}",
                self.live_count
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: u64 = 0x1234_5678;

    fn insert(table: &mut KeyTable, string: &[u8]) -> u32 {
        let hash = hash_bytes(SEED, string);
        assert_eq!(table.find(string, hash), None);
        table.insert_new(string, hash).unwrap()
    }

    #[test]
    fn ids_are_dense_and_survive_growth_and_removal() {
        let mut table = KeyTable::default();
        let strings: Vec<Vec<u8>> = (0..5000).map(|n| format!("s{n}").into_bytes()).collect();
        for (expected, string) in strings.iter().enumerate() {
            assert_eq!(insert(&mut table, string), expected as u32);
        }
        for id in (0..5000).step_by(3) {
            let string = &strings[id];
            assert!(table.remove(id as u32, hash_bytes(SEED, string)));
            assert!(!table.remove(id as u32, hash_bytes(SEED, string)));
        }
        table.check(SEED).unwrap();
        for (id, string) in strings.iter().enumerate() {
            let found = table.find(string, hash_bytes(SEED, string));
            let expected = (id % 3 != 0).then_some(id as u32);
            assert_eq!(found, expected, "string {id}");
            assert_eq!(table.get(id as u32).is_some(), id % 3 != 0);
        }
        assert_eq!(insert(&mut table, b"s0"), 5000);
    }

    #[test]
    fn colliding_hashes_are_told_apart_by_bytes() {
        let mut table = KeyTable::default();
        // Every string gets the same hash: one long probe run with removals inside it.
        let hash = 0xdead_beef_0000_0001;
        let strings: Vec<Vec<u8>> = (0..40).map(|n| vec![b'a'; n + 1]).collect();
        for string in &strings {
            table.insert_new(string, hash).unwrap();
        }
        for id in [0u32, 7, 39, 20] {
            assert!(table.remove(id, hash));
        }
        for (id, string) in strings.iter().enumerate() {
            let expected = (![0, 7, 39, 20].contains(&id)).then_some(id as u32);
            assert_eq!(table.find(string, hash), expected);
        }
    }

    #[test]
    fn long_strings_fill_chunks_without_spanning() {
        let mut table = KeyTable::default();
        let long = vec![b'x'; STRING_MAX_BYTES];
        for n in 0..40u8 {
            let mut string = long.clone();
            string[0] = n;
            insert(&mut table, &string);
        }
        assert!(table.chunks.len() > 1);
        for id in 0..40u32 {
            assert_eq!(table.get(id).unwrap().len(), STRING_MAX_BYTES);
            assert_eq!(table.get(id).unwrap()[0], id as u8);
        }
        assert!(table
            .insert_new(&vec![b'y'; STRING_MAX_BYTES + 1], 1)
            .is_none());
    }

    #[test]
    fn hash_depends_on_every_byte_and_the_length() {
        let base = b"cpu,host=host123456,region=r12,rack=r7".to_vec();
        let hash = hash_bytes(SEED, &base);
        for index in 0..base.len() {
            let mut changed = base.clone();
            changed[index] ^= 1;
            assert_ne!(hash_bytes(SEED, &changed), hash, "byte {index}");
        }
        assert_ne!(hash_bytes(SEED, &base[..base.len() - 1]), hash);
        assert_ne!(hash_bytes(SEED, b""), hash_bytes(SEED, b"\0"));
        assert_ne!(hash_bytes(SEED + 1, &base), hash);
    }
}
