//! The inverted index: measurement → series, and measurement → tag key → tag value → series.
//!
//! Names are symbols (ids of the index's symbol table, whose strings are unescaped), so a map
//! key is 4 bytes and no name is stored twice. A tag value that one series carries — the
//! common case at high cardinality (`host=...`) — keeps that series id inline instead of a
//! bitmap ([`Postings::One`]); a second series moves it to a `RoaringBitmap` in a pool.
//!
//! Invariants: no empty postings, tag key entry or measurement entry is kept (removing the
//! last series of one removes it); a tag key entry's `series` is the union of its values'
//! postings; a measurement's `series` contains every series of its tag keys.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use roaring::RoaringBitmap;

/// A symbol: an id in the symbol table.
pub(super) type Symbol = u32;

/// Hasher for symbols: they are dense small integers chosen by the index, not by clients,
/// so a multiply spreads them well enough and cannot be attacked.
#[derive(Default)]
pub(super) struct SymbolHasher(u64);

/// Spreads the symbol over the hash bits (Fibonacci hashing).
const SYMBOL_HASH_MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for SymbolHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(SYMBOL_HASH_MULTIPLIER);
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.0 = (self.0 ^ u64::from(value)).wrapping_mul(SYMBOL_HASH_MULTIPLIER);
    }
}

/// A map keyed by symbol.
pub(super) type SymbolMap<V> = HashMap<Symbol, V, BuildHasherDefault<SymbolHasher>>;

/// The series of one tag value: 8 bytes, so a value's map entry is 12.
#[derive(Clone, Copy)]
pub(super) enum Postings {
    /// exactly one series
    One(u32),
    /// two or more series: the bitmap at this index of the [`BitmapPool`]
    Many(u32),
}

/// The bitmaps of [`Postings::Many`], kept apart so a posting stays 8 bytes (a boxed bitmap
/// in the enum would make every value's map entry 24 bytes, at high cardinality ~25 bytes a
/// series). Freed slots are reused.
#[derive(Default)]
pub(super) struct BitmapPool {
    bitmaps: Vec<RoaringBitmap>,
    free: Vec<u32>,
}

impl BitmapPool {
    fn allocate(&mut self, bitmap: RoaringBitmap) -> u32 {
        if let Some(index) = self.free.pop() {
            if let Some(slot) = self.bitmaps.get_mut(index as usize) {
                *slot = bitmap;
                return index;
            }
        }
        self.bitmaps.push(bitmap);
        // Every pooled bitmap holds two series or more, so there are fewer than u32::MAX.
        (self.bitmaps.len() - 1) as u32
    }

    fn release(&mut self, index: u32) {
        if let Some(slot) = self.bitmaps.get_mut(index as usize) {
            *slot = RoaringBitmap::new();
            self.free.push(index);
        }
    }

    /// The bitmap at `index`; `None` only for an index no posting holds (a bug).
    fn get(&self, index: u32) -> Option<&RoaringBitmap> {
        self.bitmaps.get(index as usize)
    }

    fn get_mut(&mut self, index: u32) -> Option<&mut RoaringBitmap> {
        self.bitmaps.get_mut(index as usize)
    }

    fn memory_bytes(&self) -> usize {
        self.bitmaps.capacity() * std::mem::size_of::<RoaringBitmap>()
            + self.free.capacity() * std::mem::size_of::<u32>()
            + self.bitmaps.iter().map(bitmap_memory_bytes).sum::<usize>()
    }
}

impl Postings {
    fn insert(&mut self, pool: &mut BitmapPool, id: u32) {
        match *self {
            Postings::One(existing) if existing == id => {}
            Postings::One(existing) => {
                let mut bitmap = RoaringBitmap::new();
                bitmap.insert(existing);
                bitmap.insert(id);
                *self = Postings::Many(pool.allocate(bitmap));
            }
            Postings::Many(index) => {
                if let Some(bitmap) = pool.get_mut(index) {
                    insert_id(bitmap, id);
                }
            }
        }
    }

    /// Removes `id`; returns whether the postings are now empty (their bitmap is released).
    fn remove(&mut self, pool: &mut BitmapPool, id: u32) -> bool {
        match *self {
            Postings::One(existing) => existing == id,
            Postings::Many(index) => {
                let empty = pool.get_mut(index).is_none_or(|bitmap| {
                    bitmap.remove(id);
                    bitmap.is_empty()
                });
                if empty {
                    pool.release(index);
                }
                empty
            }
        }
    }

    /// Adds these series to `out`.
    pub(super) fn union_into(self, pool: &BitmapPool, out: &mut RoaringBitmap) {
        match self {
            Postings::One(id) => {
                out.insert(id);
            }
            Postings::Many(index) => {
                if let Some(bitmap) = pool.get(index) {
                    *out |= bitmap;
                }
            }
        }
    }

    /// Whether any of these series is in `series`.
    pub(super) fn intersects(self, pool: &BitmapPool, series: &RoaringBitmap) -> bool {
        match self {
            Postings::One(id) => series.contains(id),
            Postings::Many(index) => pool
                .get(index)
                .is_some_and(|bitmap| !bitmap.is_disjoint(series)),
        }
    }

    /// These series as a bitmap.
    pub(super) fn to_bitmap(self, pool: &BitmapPool) -> RoaringBitmap {
        match self {
            Postings::One(id) => RoaringBitmap::from_sorted_iter([id]).unwrap_or_default(),
            Postings::Many(index) => pool.get(index).cloned().unwrap_or_default(),
        }
    }
}

/// Inserts `id`; a new series has the largest id so far, which `try_push` appends cheaply.
fn insert_id(bitmap: &mut RoaringBitmap, id: u32) {
    if bitmap.try_push(id).is_err() {
        bitmap.insert(id);
    }
}

/// Approximate heap bytes of a bitmap: its serialized size is its containers' payload.
fn bitmap_memory_bytes(bitmap: &RoaringBitmap) -> usize {
    bitmap.serialized_size()
}

/// Approximate heap bytes of a map's table (entries and control bytes).
fn map_memory_bytes<V>(map: &SymbolMap<V>) -> usize {
    map.capacity() * (std::mem::size_of::<(Symbol, V)>() + 1)
}

/// One tag key of one measurement.
#[derive(Default)]
pub(super) struct TagKeyEntry {
    /// series that have this tag key
    pub(super) series: RoaringBitmap,
    /// value → series
    pub(super) values: SymbolMap<Postings>,
    /// the keys of `values` in their names' byte order, built by the first reader that needs
    /// them and dropped whenever a value comes or goes (listing values is frequent, new
    /// values rare once a measurement has its hosts)
    pub(super) sorted_values: std::sync::OnceLock<Box<[Symbol]>>,
}

/// One measurement.
#[derive(Default)]
pub(super) struct MeasurementEntry {
    /// every series of the measurement
    pub(super) series: RoaringBitmap,
    /// tag key → its entry
    pub(super) tag_keys: SymbolMap<TagKeyEntry>,
}

/// The inverted index; see the module doc.
#[derive(Default)]
pub(super) struct InvertedIndex {
    /// measurement → its entry
    pub(super) measurements: SymbolMap<MeasurementEntry>,
    /// bitmaps of the tag values with more than one series
    pub(super) pool: BitmapPool,
    /// the most values any one tag key of any measurement has had since the index was
    /// opened (never lowered by deletes: an upper bound for the write path's quick check)
    pub(super) largest_tag_key_values: usize,
}

impl InvertedIndex {
    /// Adds series `id` of `measurement` with `tags` (key, value symbols).
    pub(super) fn add(&mut self, id: u32, measurement: Symbol, tags: &[(Symbol, Symbol)]) {
        let entry = self.measurements.entry(measurement).or_default();
        insert_id(&mut entry.series, id);
        for &(tag_key, value) in tags {
            let key_entry = entry.tag_keys.entry(tag_key).or_default();
            insert_id(&mut key_entry.series, id);
            match key_entry.values.entry(value) {
                std::collections::hash_map::Entry::Occupied(mut postings) => {
                    postings.get_mut().insert(&mut self.pool, id)
                }
                std::collections::hash_map::Entry::Vacant(vacant) => {
                    vacant.insert(Postings::One(id));
                    key_entry.sorted_values = std::sync::OnceLock::new();
                    self.largest_tag_key_values =
                        self.largest_tag_key_values.max(key_entry.values.len());
                }
            }
        }
    }

    /// Removes series `id`, added with the same `measurement` and `tags`.
    pub(super) fn remove(&mut self, id: u32, measurement: Symbol, tags: &[(Symbol, Symbol)]) {
        let Some(entry) = self.measurements.get_mut(&measurement) else {
            return;
        };
        for &(tag_key, value) in tags {
            let Some(key_entry) = entry.tag_keys.get_mut(&tag_key) else {
                continue;
            };
            key_entry.series.remove(id);
            if let Some(postings) = key_entry.values.get_mut(&value) {
                if postings.remove(&mut self.pool, id) {
                    key_entry.values.remove(&value);
                    key_entry.sorted_values = std::sync::OnceLock::new();
                }
            }
            if key_entry.series.is_empty() {
                entry.tag_keys.remove(&tag_key);
            }
        }
        entry.series.remove(id);
        if entry.series.is_empty() {
            self.measurements.remove(&measurement);
        }
    }

    /// Approximate heap bytes.
    pub(super) fn memory_bytes(&self) -> usize {
        let mut total = map_memory_bytes(&self.measurements) + self.pool.memory_bytes();
        for entry in self.measurements.values() {
            total += bitmap_memory_bytes(&entry.series) + map_memory_bytes(&entry.tag_keys);
            for key_entry in entry.tag_keys.values() {
                total += bitmap_memory_bytes(&key_entry.series);
                total += map_memory_bytes(&key_entry.values);
                total += key_entry
                    .sorted_values
                    .get()
                    .map_or(0, |sorted| std::mem::size_of_val::<[Symbol]>(sorted));
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_go_from_one_to_many_and_back_to_nothing() {
        let mut pool = BitmapPool::default();
        let mut postings = Postings::One(3);
        postings.insert(&mut pool, 3);
        assert!(matches!(postings, Postings::One(3)));
        postings.insert(&mut pool, 9);
        assert_eq!(postings.to_bitmap(&pool).iter().collect::<Vec<_>>(), [3, 9]);
        assert!(!postings.remove(&mut pool, 3));
        assert!(postings.remove(&mut pool, 9));
        assert_eq!(pool.free, [0]);
        // The freed bitmap is reused by the next value with two series.
        let mut other = Postings::One(1);
        other.insert(&mut pool, 2);
        assert!(matches!(other, Postings::Many(0)));
        assert_eq!(std::mem::size_of::<(Symbol, Postings)>(), 12);
    }

    #[test]
    fn removing_the_last_series_removes_every_entry() {
        let mut index = InvertedIndex::default();
        index.add(0, 1, &[(2, 3), (4, 5)]);
        index.add(1, 1, &[(2, 6)]);
        index.remove(0, 1, &[(2, 3), (4, 5)]);
        let entry = &index.measurements[&1];
        assert_eq!(entry.series.iter().collect::<Vec<_>>(), [1]);
        assert!(!entry.tag_keys.contains_key(&4));
        assert!(!entry.tag_keys[&2].values.contains_key(&3));
        index.remove(1, 1, &[(2, 6)]);
        assert!(index.measurements.is_empty());
    }
}
