//! The in-memory cache of one shard's share of one partition: every point written since the
//! last snapshot, by series key and field.
//!
//! Owned by the shard, one per WAL partition, so the partition threads never contend on one
//! lock: a series is routed to exactly one partition, hence lives in exactly one of a shard's
//! caches. Writers (the partition thread) hold the write lock for one record; readers (queries,
//! snapshots) hold the read lock while they copy one column.
//!
//! Layout: a series holds one time vector for all its fields, and each field its values (of
//! one type) and, only when it skipped some of the series' points, the index of each value's
//! point. With 10 fields that is ~8.8 bytes a float value instead of 16, and one allocation
//! per field instead of three (its key is inline when short): what the cache costs decides
//! the peak memory under ingest, and at 1M series the per-field overhead dominates.
//!
//! Invariants: a field's values have one type (a value of another type is counted as a
//! conflict and not stored; the write path's type registry makes this rare); a field without
//! positions has value `i` at point `i`; times may arrive out of order or repeat, in which
//! case the series is marked not normal and its columns are normalised (sorted, last write
//! wins) on read and on snapshot. `bytes` approximates the heap held.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::ingest::record::{FieldType, StoredValue};
use crate::storage::column::{Column, ColumnValues, ColumnView};

/// Per-entry overhead added to the byte count (hash slot, key box, vectors' headers).
const ENTRY_OVERHEAD_BYTES: usize = 96;
/// Overhead counted for each new field of a series (its slot, grown with the fields vector).
const FIELD_OVERHEAD_BYTES: usize = 16;

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

/// Bytes of a field key kept inline in its [`FieldKey`] (longer keys get a heap copy).
const INLINE_KEY_BYTES: usize = 22;

/// A field key, inline when short (nearly always): no allocation per field of each series,
/// and finding a point's field compares inline bytes instead of following a pointer (that
/// cache miss per field per point was the partition threads' top cost under full ingest).
#[derive(Clone, Debug)]
pub enum FieldKey {
    /// keys of at most [`INLINE_KEY_BYTES`]
    Inline {
        /// bytes used
        length: u8,
        /// the key, zero-padded
        bytes: [u8; INLINE_KEY_BYTES],
    },
    /// longer keys
    Heap(Box<[u8]>),
}

impl FieldKey {
    /// The key for `key`.
    pub fn of(key: &[u8]) -> FieldKey {
        match u8::try_from(key.len()) {
            Ok(length) if key.len() <= INLINE_KEY_BYTES => {
                let mut bytes = [0u8; INLINE_KEY_BYTES];
                if let Some(target) = bytes.get_mut(..key.len()) {
                    target.copy_from_slice(key);
                }
                FieldKey::Inline { length, bytes }
            }
            _ => FieldKey::Heap(key.into()),
        }
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            FieldKey::Inline { length, bytes } => bytes.get(..usize::from(*length)).unwrap_or(&[]),
            FieldKey::Heap(key) => key,
        }
    }

    /// Heap bytes held.
    fn heap_bytes(&self) -> usize {
        match self {
            FieldKey::Inline { .. } => 0,
            FieldKey::Heap(key) => key.len(),
        }
    }
}

/// One field of a cached series: its values, and which of the series' points they belong to.
#[derive(Clone, Debug)]
pub struct CacheField {
    key: FieldKey,
    /// the values in arrival order
    values: ColumnValues,
    /// For each value, its point's index in the series' `times`. `None` while the field has
    /// been in every point of the series so far: value `i` then belongs to point `i`, and no
    /// index is stored (the usual case: one shared time vector for all the fields).
    // Boxed on purpose: 8 bytes in every field for the usual `None`, not 24.
    #[allow(clippy::box_collection)]
    positions: Option<Box<Vec<u32>>>,
}

impl CacheField {
    fn heap_bytes(&self) -> usize {
        self.values.buffer_bytes()
            + self.positions.as_ref().map_or(0, |p| p.capacity() * 4)
            + self.key.heap_bytes()
    }

    /// The field's times, from the series' times.
    fn times(&self, series_times: &[i64]) -> Vec<i64> {
        match &self.positions {
            None => series_times
                .get(..self.values.len())
                .unwrap_or(series_times)
                .to_vec(),
            Some(positions) => positions
                .iter()
                .filter_map(|p| series_times.get(*p as usize).copied())
                .collect(),
        }
    }
}

/// The points of one series: one time vector shared by its fields, and the fields in
/// first-written order (few per series: a linear scan).
#[derive(Clone, Debug)]
pub struct CacheSeries {
    /// one time per point, in arrival order
    times: Vec<i64>,
    /// whether `times` ascends strictly and no field has two values for one point
    normal: bool,
    fields: Vec<CacheField>,
}

impl Default for CacheSeries {
    /// No points yet: normal.
    fn default() -> CacheSeries {
        CacheSeries {
            times: Vec::new(),
            normal: true,
            fields: Vec::new(),
        }
    }
}

impl CacheSeries {
    /// The series' field keys and types, in first-written order.
    pub fn fields(&self) -> impl Iterator<Item = (&[u8], FieldType)> + '_ {
        self.fields
            .iter()
            .map(|field| (field.key.as_bytes(), field.values.field_type()))
    }

    fn field(&self, key: &[u8]) -> Option<&CacheField> {
        self.fields.iter().find(|field| field.key.as_bytes() == key)
    }

    /// A normal copy of field `key`'s points within `[min_time, max_time]`.
    fn read(&self, key: &[u8], min_time: i64, max_time: i64) -> Option<Column> {
        let field = self.field(key)?;
        if self.normal && field.positions.is_none() {
            // The common case: copy the range straight from the shared times.
            let times = self.times.get(..field.values.len()).unwrap_or(&self.times);
            let start = times.partition_point(|t| *t < min_time);
            let end = times.partition_point(|t| *t <= max_time).max(start);
            return Some(Column {
                times: times.get(start..end).unwrap_or(&[]).to_vec(),
                values: copy_values_range(&field.values, start, end),
            });
        }
        let mut column = Column {
            times: field.times(&self.times),
            values: field.values.clone(),
        };
        if !self.normal {
            column.normalize();
        }
        column.trim(min_time, max_time);
        column.times.shrink_to_fit();
        Some(column)
    }

    /// Hands `visit` each field's whole column, in field-key order: borrowed straight from
    /// the cache when the series is normal and the field dense (the usual case, no copy),
    /// else a normalised copy. Fields without values (their only value was refused for its
    /// type) are skipped. Stops at the first error.
    pub fn visit_columns_in_key_order<E>(
        &self,
        mut visit: impl FnMut(&[u8], ColumnView<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut order: Vec<&CacheField> = self.fields.iter().collect();
        order.sort_unstable_by(|a, b| a.key.as_bytes().cmp(b.key.as_bytes()));
        for field in order {
            if field.values.is_empty() {
                continue;
            }
            if self.normal && field.positions.is_none() {
                let times = self.times.get(..field.values.len()).unwrap_or(&self.times);
                visit(
                    field.key.as_bytes(),
                    ColumnView {
                        times,
                        values: field.values.view(),
                    },
                )?;
            } else if let Some(column) = self.read(field.key.as_bytes(), i64::MIN, i64::MAX) {
                if !column.is_empty() {
                    visit(field.key.as_bytes(), column.view())?;
                }
            }
        }
        Ok(())
    }

    /// The series rebuilt from normal columns (after a delete): the union of their times,
    /// each field dense when it covers a prefix of them.
    fn from_columns(columns: Vec<(FieldKey, Column)>) -> CacheSeries {
        let mut times: Vec<i64> = columns
            .iter()
            .flat_map(|(_, column)| column.times.iter().copied())
            .collect();
        times.sort_unstable();
        times.dedup();
        let fields = columns
            .into_iter()
            .map(|(key, column)| {
                let positions: Vec<u32> = column
                    .times
                    .iter()
                    .map(|t| times.partition_point(|u| u < t) as u32)
                    .collect();
                let dense = positions
                    .iter()
                    .enumerate()
                    .all(|(index, position)| *position as usize == index);
                CacheField {
                    key,
                    values: column.values,
                    positions: (!dense).then(|| Box::new(positions)),
                }
            })
            .collect();
        CacheSeries {
            times,
            normal: true,
            fields,
        }
    }
}

/// Points by series key.
#[derive(Clone, Debug, Default)]
pub struct CacheMap {
    /// series key → its points
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
        self.series.get(series_key)?.read(field, min_time, max_time)
    }

    /// Removes the points of a series with `min_time <= time <= max_time`.
    pub fn delete(&mut self, series_key: &[u8], min_time: i64, max_time: i64) {
        let Some(series) = self.series.get(series_key) else {
            return;
        };
        let mut columns = Vec::with_capacity(series.fields.len());
        for field in &series.fields {
            if let Some(mut column) = series.read(field.key.as_bytes(), i64::MIN, i64::MAX) {
                column.remove_range(min_time, max_time);
                if !column.is_empty() {
                    columns.push((field.key.clone(), column));
                }
            }
        }
        if columns.is_empty() {
            self.series.remove(series_key);
        } else if let Some(series) = self.series.get_mut(series_key) {
            *series = CacheSeries::from_columns(columns);
        }
    }

    /// The type of a field of a series, if cached.
    pub fn field_type(&self, series_key: &[u8], field: &[u8]) -> Option<FieldType> {
        self.series
            .get(series_key)?
            .field(field)
            .map(|entry| entry.values.field_type())
    }
}

/// Appends one point's fields to a series; returns (heap bytes added, type conflicts).
fn insert_fields(
    series: &mut CacheSeries,
    timestamp_ns: i64,
    fields: &[(&[u8], StoredValue<'_>)],
) -> (usize, u64) {
    let Ok(position) = u32::try_from(series.times.len()) else {
        // Four billion points of one series in one cache cannot happen under the cache's
        // memory bound; refuse rather than mis-index.
        return (0, fields.len() as u64);
    };
    let mut added = 0;
    let mut conflicts = 0;
    let times_before = series.times.capacity();
    if series
        .times
        .last()
        .is_some_and(|last| *last >= timestamp_ns)
    {
        series.normal = false;
    }
    if series.times.capacity() == 0 {
        // Many series get one point per cache generation (high cardinality): room for one,
        // not the four a first push reserves.
        series.times.reserve_exact(1);
    }
    series.times.push(timestamp_ns);
    added += (series.times.capacity() - times_before) * 8;
    let fields_before = series.fields.capacity();
    if series.fields.is_empty() {
        // A series' points nearly always carry the same fields: no doubling slack.
        series.fields.reserve_exact(fields.len());
    }
    for (index, (key, value)) in fields.iter().enumerate() {
        // Points of a series usually carry the same fields in the same order.
        let found = match series.fields.get(index) {
            Some(field) if field.key.as_bytes() == *key => Some(index),
            _ => series
                .fields
                .iter()
                .position(|field| field.key.as_bytes() == *key),
        };
        let field = match found.and_then(|i| series.fields.get_mut(i)) {
            Some(field) => field,
            None => {
                added += FIELD_OVERHEAD_BYTES;
                series.fields.push(CacheField {
                    key: FieldKey::of(key),
                    values: ColumnValues::with_capacity(value.field_type(), 1),
                    // Dense only if it is there from the series' first point on.
                    positions: (position != 0).then(Box::default),
                });
                match series.fields.last_mut() {
                    Some(field) => field,
                    None => continue,
                }
            }
        };
        let before = field.heap_bytes();
        if field.positions.is_none() && field.values.len() != position as usize {
            // The field missed a point (or a value was refused): from now on its points are
            // listed. Until here value `i` belonged to point `i`.
            field.positions = Some(Box::new((0..field.values.len() as u32).collect()));
        }
        if !field.values.push(*value) {
            conflicts += 1;
            continue;
        }
        if let Some(positions) = &mut field.positions {
            if positions.last() == Some(&position) {
                series.normal = false; // two values for one point: the last one wins
            }
            positions.push(position);
        }
        if let StoredValue::String(bytes) = value {
            added += bytes.len();
        }
        added += field.heap_bytes().saturating_sub(before);
    }
    added += (series.fields.capacity() - fields_before) * std::mem::size_of::<CacheField>();
    (added, conflicts)
}

/// A copy of `values[start..end]`.
fn copy_values_range(values: &ColumnValues, start: usize, end: usize) -> ColumnValues {
    match values {
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
    }
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
                let mut copy = (**map).clone();
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

#[cfg(test)]
mod model_tests {
    //! The cache against a map model: random points (fields skipped, repeated, out of
    //! order, of a conflicting type), deletes and reads.

    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    const SERIES: [&[u8]; 2] = [b"cpu,host=a", b"cpu,host=b"];
    const FIELDS: [&[u8]; 3] = [b"v", b"w", b"a_field_key_longer_than_inline"];

    #[derive(Clone, Debug)]
    enum Step {
        /// series, time, fields (index, integer value or a float when `true`)
        Point(usize, i64, Vec<(usize, i64, bool)>),
        /// series, min, max
        Delete(usize, i64, i64),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            8 => (
                0..SERIES.len(),
                0i64..30,
                proptest::collection::vec((0..FIELDS.len(), 0i64..1000, proptest::bool::weighted(0.05)), 0..4)
            )
                .prop_map(|(series, time, fields)| Step::Point(series, time, fields)),
            1 => (0..SERIES.len(), 0i64..30, 0i64..10)
                .prop_map(|(series, min, span)| Step::Delete(series, min, min + span)),
        ]
    }

    type Model = BTreeMap<(usize, usize), (FieldType, BTreeMap<i64, i64>)>;

    proptest! {
        #[test]
        fn reads_match_a_model(steps in proptest::collection::vec(step(), 1..60)) {
            let mut cache = CacheMap::default();
            let mut model: Model = BTreeMap::new();
            let mut conflicts = 0u64;
            for step in &steps {
                match step {
                    Step::Point(series, time, fields) => {
                        let values: Vec<(&[u8], StoredValue<'_>)> = fields
                            .iter()
                            .map(|(field, value, float)| {
                                let stored = if *float {
                                    StoredValue::Float(*value as f64)
                                } else {
                                    StoredValue::Integer(*value)
                                };
                                (FIELDS[*field], stored)
                            })
                            .collect();
                        cache.insert_point(SERIES[*series], *time, &values);
                        for (field, value, float) in fields {
                            let kind = if *float { FieldType::Float } else { FieldType::Integer };
                            let entry = model
                                .entry((*series, *field))
                                .or_insert_with(|| (kind, BTreeMap::new()));
                            if entry.0 == kind {
                                entry.1.insert(*time, *value);
                            } else {
                                conflicts += 1;
                            }
                        }
                    }
                    Step::Delete(series, min, max) => {
                        cache.delete(SERIES[*series], *min, *max);
                        for ((s, _), (_, points)) in model.iter_mut() {
                            if s == series {
                                points.retain(|t, _| t < min || t > max);
                            }
                        }
                        // A field left without points is gone, and its type with it.
                        model.retain(|_, (_, points)| !points.is_empty());
                    }
                }
            }
            prop_assert_eq!(cache.type_conflicts, conflicts);
            for (series_index, series) in SERIES.iter().enumerate() {
                for (field_index, field) in FIELDS.iter().enumerate() {
                    let expected = model.get(&(series_index, field_index));
                    for (min, max) in [(i64::MIN, i64::MAX), (5, 20), (31, 40)] {
                        let column = cache.read(series, field, min, max);
                        let expected_points: Vec<(i64, i64)> = expected
                            .map(|(_, points)| {
                                points.range(min..=max).map(|(t, v)| (*t, *v)).collect()
                            })
                            .unwrap_or_default();
                        let Some(column) = column else {
                            prop_assert!(
                                expected.is_none(),
                                "missing {:?}/{:?}", series_index, field_index
                            );
                            continue;
                        };
                        let actual: Vec<(i64, i64)> = column
                            .times
                            .iter()
                            .enumerate()
                            .map(|(i, t)| {
                                let value = match column.values.get(i) {
                                    Some(StoredValue::Integer(v)) => v,
                                    Some(StoredValue::Float(v)) => v as i64,
                                    _ => i64::MIN,
                                };
                                (*t, value)
                            })
                            .collect();
                        prop_assert_eq!(actual, expected_points);
                        let kind = expected.map(|(kind, _)| *kind);
                        prop_assert_eq!(Some(column.values.field_type()), kind);
                    }
                }
            }
        }
    }
}
