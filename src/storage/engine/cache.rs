//! The in-memory cache of one shard's share of one partition: every point written since the
//! last snapshot, by series key and field.
//!
//! Owned by the shard, one per WAL partition, so the partition threads never contend on one
//! lock: a series is routed to exactly one partition, hence lives in exactly one of a shard's
//! caches. Writers (the partition thread) hold the write lock for one record; readers (queries,
//! snapshots) hold the read lock while they copy one column.
//!
//! Invariants: a column's values have one type (a value of another type is counted as a
//! conflict and not stored; the write path's type registry makes this rare); times may arrive
//! out of order or repeat, in which case the column is marked not normal and is normalised
//! (sorted, last write wins) on read and on snapshot. `bytes` approximates the heap held.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::ingest::record::{FieldType, StoredValue};
use crate::storage::column::{Column, ColumnValues};

/// Per-entry overhead added to the byte count (hash slot, key box, vectors' headers).
const ENTRY_OVERHEAD_BYTES: usize = 96;

/// FxHash-style hasher for series keys (the keys are not attacker-chosen in a way that
/// matters more than for the partition routing hash, which is the same function).
#[derive(Default)]
pub struct SeriesKeyHasher {
    hash: u64,
}

impl Hasher for SeriesKeyHasher {
    fn finish(&self) -> u64 {
        self.hash
    }

    fn write(&mut self, bytes: &[u8]) {
        self.hash = self.hash.rotate_left(7) ^ crate::ingest::series_hash(bytes);
    }
}

/// Builds [`SeriesKeyHasher`]s.
pub type SeriesKeyHash = BuildHasherDefault<SeriesKeyHasher>;

/// One field's points in the cache.
#[derive(Debug)]
pub struct CacheColumn {
    /// the points in arrival order
    pub column: Column,
    /// whether `column` is normal (times strictly ascending)
    pub normal: bool,
    /// the field key's first bytes and length, kept beside the column
    pub key_head: KeyHead,
}

/// Bytes of a field key kept inline in its [`CacheColumn`].
const KEY_HEAD_BYTES: usize = 16;

/// A field key's length and first [`KEY_HEAD_BYTES`] bytes (zero-padded). Finding a point's
/// field among a series' fields compares these inline bytes: following each key's own heap
/// allocation was a cache miss per field per point, the partition threads' top cost under
/// full ingest. Keys no longer than the head are equal exactly when their heads are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHead {
    length: usize,
    head: [u8; KEY_HEAD_BYTES],
}

impl KeyHead {
    /// The head of `key`.
    pub fn of(key: &[u8]) -> KeyHead {
        let mut head = [0u8; KEY_HEAD_BYTES];
        let shown = key.len().min(KEY_HEAD_BYTES);
        if let (Some(target), Some(source)) = (head.get_mut(..shown), key.get(..shown)) {
            target.copy_from_slice(source);
        }
        KeyHead {
            length: key.len(),
            head,
        }
    }

    /// Whether `key` (with head `key_head`) is `stored` (whose head is `self`).
    fn matches(&self, key_head: &KeyHead, stored: &[u8], key: &[u8]) -> bool {
        self == key_head && (key.len() <= KEY_HEAD_BYTES || stored == key)
    }
}

/// The fields of one series, in first-written order (few per series: a linear scan).
#[derive(Debug, Default)]
pub struct CacheSeries {
    /// (unescaped field key, its points)
    pub fields: Vec<(Box<[u8]>, CacheColumn)>,
}

/// Points by series key.
#[derive(Debug, Default)]
pub struct CacheMap {
    /// series key → fields
    pub series: HashMap<Box<[u8]>, CacheSeries, SeriesKeyHash>,
    /// approximate heap bytes
    pub bytes: usize,
    /// values refused because their type differed from the column's
    pub type_conflicts: u64,
}

impl CacheMap {
    /// Stores one value. Returns the heap bytes added.
    pub fn insert(
        &mut self,
        series_key: &[u8],
        field: &[u8],
        timestamp_ns: i64,
        value: StoredValue<'_>,
    ) -> usize {
        self.insert_point(series_key, timestamp_ns, &[(field, value)])
            .0
    }

    /// Stores every field of one point with one lookup of the series. Returns the heap bytes
    /// added and whether the series was new to this map.
    pub fn insert_point(
        &mut self,
        series_key: &[u8],
        timestamp_ns: i64,
        fields: &[(&[u8], StoredValue<'_>)],
    ) -> (usize, bool) {
        if let Some(series) = self.series.get_mut(series_key) {
            let (added, conflicts) = insert_fields(series, timestamp_ns, fields);
            self.bytes += added;
            self.type_conflicts += conflicts;
            return (added, false);
        }
        let series = self.series.entry(series_key.into()).or_default();
        let (added, conflicts) = insert_fields(series, timestamp_ns, fields);
        let added = added + series_key.len() + ENTRY_OVERHEAD_BYTES;
        self.bytes += added;
        self.type_conflicts += conflicts;
        (added, true)
    }

    /// A normal copy of one column, trimmed to `[min_time, max_time]`.
    pub fn read(
        &self,
        series_key: &[u8],
        field: &[u8],
        min_time: i64,
        max_time: i64,
    ) -> Option<Column> {
        let series = self.series.get(series_key)?;
        let (_, entry) = series.fields.iter().find(|(key, _)| &**key == field)?;
        let mut column = if entry.normal {
            copy_range(&entry.column, min_time, max_time)
        } else {
            let mut copy = entry.column.clone();
            copy.normalize();
            copy.trim(min_time, max_time);
            copy
        };
        column.times.shrink_to_fit();
        Some(column)
    }

    /// Removes the points of a series with `min_time <= time <= max_time`.
    pub fn delete(&mut self, series_key: &[u8], min_time: i64, max_time: i64) {
        let Some(series) = self.series.get_mut(series_key) else {
            return;
        };
        for (_, entry) in series.fields.iter_mut() {
            if !entry.normal {
                entry.column.normalize();
                entry.normal = true;
            }
            entry.column.remove_range(min_time, max_time);
        }
        series.fields.retain(|(_, entry)| !entry.column.is_empty());
        if series.fields.is_empty() {
            self.series.remove(series_key);
        }
    }

    /// The type of a field of a series, if cached.
    pub fn field_type(&self, series_key: &[u8], field: &[u8]) -> Option<FieldType> {
        let series = self.series.get(series_key)?;
        series
            .fields
            .iter()
            .find(|(key, _)| &**key == field)
            .map(|(_, entry)| entry.column.field_type())
    }
}

/// Appends one point's fields to a series; returns (heap bytes added, type conflicts).
fn insert_fields(
    series: &mut CacheSeries,
    timestamp_ns: i64,
    fields: &[(&[u8], StoredValue<'_>)],
) -> (usize, u64) {
    let mut added = 0;
    let mut conflicts = 0;
    for (position, (field, value)) in fields.iter().enumerate() {
        // Points of a series usually carry the same fields in the same order.
        let head = KeyHead::of(field);
        let found = match series.fields.get(position) {
            Some((key, entry)) if entry.key_head.matches(&head, key, field) => Some(position),
            _ => series
                .fields
                .iter()
                .position(|(key, entry)| entry.key_head.matches(&head, key, field)),
        };
        let entry = match found.and_then(|p| series.fields.get_mut(p)) {
            Some((_, entry)) => entry,
            None => {
                added += field.len() + ENTRY_OVERHEAD_BYTES;
                series.fields.push((
                    (*field).into(),
                    CacheColumn {
                        column: Column::new(value.field_type()),
                        normal: true,
                        key_head: head,
                    },
                ));
                match series.fields.last_mut() {
                    Some((_, entry)) => entry,
                    None => continue,
                }
            }
        };
        let before = entry.column.values.buffer_bytes() + entry.column.times.capacity() * 8;
        if !entry.column.values.push(*value) {
            conflicts += 1;
            continue;
        }
        if let StoredValue::String(bytes) = value {
            added += bytes.len();
        }
        if entry
            .column
            .times
            .last()
            .is_some_and(|last| *last >= timestamp_ns)
        {
            entry.normal = false;
        }
        entry.column.times.push(timestamp_ns);
        let after = entry.column.values.buffer_bytes() + entry.column.times.capacity() * 8;
        added += after.saturating_sub(before);
    }
    (added, conflicts)
}

/// The points of `column` (normal) within `[min_time, max_time]`, copied.
fn copy_range(column: &Column, min_time: i64, max_time: i64) -> Column {
    let start = column.times.partition_point(|t| *t < min_time);
    let end = column.times.partition_point(|t| *t <= max_time).max(start);
    let times = column.times.get(start..end).unwrap_or(&[]).to_vec();
    let values = match &column.values {
        ColumnValues::Float(v) => ColumnValues::Float(v.get(start..end).unwrap_or(&[]).to_vec()),
        ColumnValues::Integer(v) => {
            ColumnValues::Integer(v.get(start..end).unwrap_or(&[]).to_vec())
        }
        ColumnValues::Unsigned(v) => {
            ColumnValues::Unsigned(v.get(start..end).unwrap_or(&[]).to_vec())
        }
        ColumnValues::Boolean(v) => {
            ColumnValues::Boolean(v.get(start..end).unwrap_or(&[]).to_vec())
        }
        ColumnValues::String(v) => ColumnValues::String(v.get(start..end).unwrap_or(&[]).to_vec()),
    };
    Column { times, values }
}

/// A shard's cache for one partition: the live map being written, and frozen maps waiting to
/// be written to a file (oldest first).
#[derive(Debug, Default)]
pub struct PartitionCache {
    /// being written by the partition thread
    pub live: CacheMap,
    /// snapshots in progress, oldest first; dropped once their file is installed
    pub frozen: Vec<Arc<CacheMap>>,
}

impl PartitionCache {
    /// Moves the live map to the frozen list (if it holds anything); returns its bytes.
    pub fn freeze(&mut self) -> usize {
        if self.live.series.is_empty() {
            return 0;
        }
        let map = std::mem::take(&mut self.live);
        let bytes = map.bytes;
        self.frozen.push(Arc::new(map));
        bytes
    }

    /// Removes the points of a series with `min_time <= time <= max_time` from the live and
    /// frozen maps (frozen maps are copied, as a snapshot may be reading them).
    pub fn delete(&mut self, series_key: &[u8], min_time: i64, max_time: i64) {
        self.live.delete(series_key, min_time, max_time);
        for map in &mut self.frozen {
            if map.series.contains_key(series_key) {
                let mut copy = CacheMap {
                    bytes: map.bytes,
                    ..CacheMap::default()
                };
                for (key, series) in &map.series {
                    let mut fields = Vec::with_capacity(series.fields.len());
                    for (field, entry) in &series.fields {
                        fields.push((
                            field.clone(),
                            CacheColumn {
                                column: entry.column.clone(),
                                normal: entry.normal,
                                key_head: entry.key_head,
                            },
                        ));
                    }
                    copy.series.insert(key.clone(), CacheSeries { fields });
                }
                copy.delete(series_key, min_time, max_time);
                *map = Arc::new(copy);
            }
        }
    }

    /// Merged, normal copy of a column across frozen and live maps (newest wins).
    pub fn read(
        &self,
        series_key: &[u8],
        field: &[u8],
        min_time: i64,
        max_time: i64,
    ) -> Option<Column> {
        let mut result: Option<Column> = None;
        let maps = self
            .frozen
            .iter()
            .map(|m| &**m)
            .chain(std::iter::once(&self.live));
        for map in maps {
            if let Some(column) = map.read(series_key, field, min_time, max_time) {
                match result.as_mut() {
                    None => result = Some(column),
                    Some(older) => {
                        older.merge_newer(column);
                    }
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_and_repeated_times_read_normalised() {
        let mut cache = PartitionCache::default();
        for (t, v) in [(5, 1.0), (3, 2.0), (5, 3.0), (9, 4.0)] {
            cache
                .live
                .insert(b"cpu,host=a", b"v", t, StoredValue::Float(v));
        }
        cache.freeze();
        cache
            .live
            .insert(b"cpu,host=a", b"v", 3, StoredValue::Float(7.0));
        cache
            .live
            .insert(b"cpu,host=a", b"v", 4, StoredValue::Integer(1));
        let column = cache.read(b"cpu,host=a", b"v", i64::MIN, i64::MAX).unwrap();
        assert_eq!(column.times, vec![3, 5, 9]);
        assert_eq!(column.values, ColumnValues::Float(vec![7.0, 3.0, 4.0]));
        assert_eq!(cache.live.type_conflicts, 1);
        let trimmed = cache.read(b"cpu,host=a", b"v", 4, 8).unwrap();
        assert_eq!(trimmed.times, vec![5]);
        assert!(cache.read(b"cpu,host=b", b"v", 0, 10).is_none());
    }
}
