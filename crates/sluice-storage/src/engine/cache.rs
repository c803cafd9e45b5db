//! The in-memory cache of one shard's share of one partition: every point written since the
//! last snapshot, by series key and field.
//!
//! Owned by the shard, one per WAL partition, so the partition threads never contend on one
//! lock: a series is routed to exactly one partition, hence lives in exactly one of a shard's
//! caches. Writers (the partition thread) hold the write lock for one record; readers (queries,
//! snapshots) hold the read lock while they copy one column.
//!
//! Layout: what the cache costs decides the peak memory under ingest, and at high
//! cardinality a series holds one point or a few per cache generation, so the per-series
//! overhead dominates. A series whose points all carry the same fields (the same keys, order
//! and non-string types: what agents and load generators send) is *row-stored*: one word
//! vector of rows (time, then each field's value), its field list a [`RowSchema`] shared by
//! `Arc` with the other series of the map that have it. One allocation per series instead of
//! one per field plus a time vector and a field list: a 10-field point costs ~250 bytes at
//! one point per series instead of ~1,100, and a snapshot frees one block per series. The
//! first point of another shape turns the series into *columns*: one time vector shared by
//! the fields, and each field its values (of one type) and, only when it skipped some of the
//! series' points, the index of each value's point (keys inline when short).
//!
//! Invariants: a row-stored series' rows all have its schema's width and types (a point
//! that does not match converts the series first); a field's values have one type (a value
//! of another type is counted as a conflict and not stored; the write path's type registry
//! makes this rare); a field without positions has value `i` at point `i`; times may arrive
//! out of order or repeat, in which case the series is marked not normal and its columns are
//! normalised (sorted, last write wins) on read and on snapshot. `bytes` approximates the
//! heap held.

use std::sync::Arc;

use crate::column::{normal_order, Column, ColumnValues, ColumnView, ValuesView};
use crate::key_table::{hash_bytes, random_seed, KeyTable};
use sluice_model::record::{FieldType, StoredValue};

/// Per-series overhead added to the byte count: its slot in the key table (8 bytes at a
/// load of 3/8 to 3/4), its locator (8), its `CacheSeries` (56) with the slack of the
/// vector of them.
const ENTRY_OVERHEAD_BYTES: usize = 112;
/// Overhead counted for each new field of a series (its slot, grown with the fields vector).
const FIELD_OVERHEAD_BYTES: usize = 16;
/// Overhead counted for a new row schema (its `Arc` counts and allocation).
const SCHEMA_OVERHEAD_BYTES: usize = 32;

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

/// One field of a column-stored series: its values, and which of the series' points they
/// belong to.
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

/// The field keys and types every point of a row-stored series carries, in order; shared
/// (by `Arc`) by the series of a map that have the same.
#[derive(Debug)]
pub struct RowSchema {
    fields: Box<[(FieldKey, FieldType)]>,
    /// Positions in `fields`, in key order: the order a snapshot writes the columns in,
    /// sorted once per schema instead of once per series.
    key_order: Box<[usize]>,
}

impl RowSchema {
    fn new(fields: Box<[(FieldKey, FieldType)]>) -> RowSchema {
        let mut key_order: Vec<usize> = (0..fields.len()).collect();
        key_order.sort_unstable_by(|a, b| {
            let key = |i: &usize| fields.get(*i).map(|(key, _)| key.as_bytes());
            key(a).cmp(&key(b))
        });
        RowSchema {
            fields,
            key_order: key_order.into_boxed_slice(),
        }
    }

    fn index_of(&self, key: &[u8]) -> Option<usize> {
        self.fields.iter().position(|(k, _)| k.as_bytes() == key)
    }

    /// Whether `point` carries exactly these fields, in this order, with these types.
    fn matches(&self, point: &[(&[u8], StoredValue<'_>)]) -> bool {
        self.fields.len() == point.len()
            && self
                .fields
                .iter()
                .zip(point)
                .all(|((key, field_type), (point_key, value))| {
                    key.as_bytes() == *point_key && *field_type == value.field_type()
                })
    }

    /// Words of one row: the time, then one per field.
    fn stride(&self) -> usize {
        1 + self.fields.len()
    }

    fn heap_bytes(&self) -> usize {
        self.fields.len() * std::mem::size_of::<(FieldKey, FieldType)>()
            + self
                .fields
                .iter()
                .map(|(key, _)| key.heap_bytes())
                .sum::<usize>()
    }
}

/// Most fields a point may have to be stored as a row (wider points go to columns).
const ROW_FIELDS_MAX: usize = 64;

/// Whether a series whose first point is `point` can be row-stored: 1 ..= [`ROW_FIELDS_MAX`]
/// fields, none a string, no key twice.
fn row_storable(point: &[(&[u8], StoredValue<'_>)]) -> bool {
    !point.is_empty()
        && point.len() <= ROW_FIELDS_MAX
        && point
            .iter()
            .all(|(_, value)| !matches!(value, StoredValue::String(_)))
        && point
            .iter()
            .enumerate()
            .all(|(i, (key, _))| point.iter().skip(i + 1).all(|(other, _)| other != key))
}

/// A non-string value as one word (floats by their bits).
fn value_word(value: StoredValue<'_>) -> u64 {
    match value {
        StoredValue::Float(x) => x.to_bits(),
        StoredValue::Integer(x) => x as u64,
        StoredValue::Unsigned(x) => x,
        StoredValue::Boolean(x) => u64::from(x),
        StoredValue::String(_) => 0,
    }
}

/// Buffers [`CacheSeries::visit_columns_in_key_order`] reuses from one series to the next
/// (a snapshot visits every series of a map: at 100k series, a few allocations per column
/// were a tenth of the snapshot thread).
#[derive(Default)]
pub struct VisitScratch {
    times: Vec<i64>,
    floats: Vec<f64>,
    integers: Vec<i64>,
    unsigned: Vec<u64>,
    booleans: Vec<bool>,
}

impl VisitScratch {
    /// The values of one row-stored field, gathered from `words` into the buffer of its type.
    fn gather(
        &mut self,
        field_type: FieldType,
        words: impl Iterator<Item = u64>,
    ) -> ValuesView<'_> {
        match field_type {
            FieldType::Float => {
                self.floats.clear();
                self.floats.extend(words.map(f64::from_bits));
                ValuesView::Float(&self.floats)
            }
            FieldType::Integer => {
                self.integers.clear();
                self.integers.extend(words.map(|w| w as i64));
                ValuesView::Integer(&self.integers)
            }
            FieldType::Unsigned => {
                self.unsigned.clear();
                self.unsigned.extend(words);
                ValuesView::Unsigned(&self.unsigned)
            }
            FieldType::Boolean => {
                self.booleans.clear();
                self.booleans.extend(words.map(|w| w != 0));
                ValuesView::Boolean(&self.booleans)
            }
            // Never row-stored (`row_storable`).
            FieldType::String => ValuesView::String(&[]),
        }
    }
}

/// Values of `field_type` from their words (the inverse of [`value_word`]).
fn values_from_words(field_type: FieldType, words: impl Iterator<Item = u64>) -> ColumnValues {
    match field_type {
        FieldType::Float => ColumnValues::Float(words.map(f64::from_bits).collect()),
        FieldType::Integer => ColumnValues::Integer(words.map(|w| w as i64).collect()),
        FieldType::Unsigned => ColumnValues::Unsigned(words.collect()),
        FieldType::Boolean => ColumnValues::Boolean(words.map(|w| w != 0).collect()),
        FieldType::String => ColumnValues::String(Vec::new()),
    }
}

/// How a cached series holds its points.
#[derive(Clone, Debug)]
enum SeriesPoints {
    /// Every point so far carried exactly the schema's fields: one word vector, a row per
    /// point (time, then each field's value). At high cardinality a series holds a point or
    /// a few per cache generation, and this is one allocation for them instead of one per
    /// field plus the time vector and the field list (~250 bytes a 10-field point instead of
    /// ~1,100).
    Rows {
        schema: Arc<RowSchema>,
        words: Vec<u64>,
    },
    /// Anything else (fields skipped or added, strings, a refused value): one time vector
    /// shared by the fields, and the fields in first-written order (a linear scan).
    Columns {
        /// one time per point, in arrival order
        times: Vec<i64>,
        fields: Vec<CacheField>,
    },
}

/// The points of one series.
#[derive(Clone, Debug)]
pub struct CacheSeries {
    points: SeriesPoints,
    /// whether times ascend strictly and no field has two values for one point
    normal: bool,
}

impl Default for CacheSeries {
    /// No points yet, column-stored: normal.
    fn default() -> CacheSeries {
        CacheSeries {
            points: SeriesPoints::Columns {
                times: Vec::new(),
                fields: Vec::new(),
            },
            normal: true,
        }
    }
}

impl CacheSeries {
    /// An empty row-stored series.
    fn rows(schema: Arc<RowSchema>) -> CacheSeries {
        let words = Vec::with_capacity(schema.stride());
        CacheSeries {
            points: SeriesPoints::Rows { schema, words },
            normal: true,
        }
    }

    /// The series' field keys and types, in first-written order.
    pub fn fields(&self) -> Box<dyn Iterator<Item = (&[u8], FieldType)> + '_> {
        match &self.points {
            SeriesPoints::Rows { schema, .. } => Box::new(
                schema
                    .fields
                    .iter()
                    .map(|(key, field_type)| (key.as_bytes(), *field_type)),
            ),
            SeriesPoints::Columns { fields, .. } => Box::new(
                fields
                    .iter()
                    .map(|field| (field.key.as_bytes(), field.values.field_type())),
            ),
        }
    }

    /// The type of field `key`, if the series has it.
    fn field_type(&self, key: &[u8]) -> Option<FieldType> {
        self.fields()
            .find(|(field, _)| *field == key)
            .map(|(_, field_type)| field_type)
    }

    /// Heap bytes held by the points (not the schema, shared, nor the key).
    fn heap_bytes(&self) -> usize {
        match &self.points {
            SeriesPoints::Rows { words, .. } => words.capacity() * 8,
            SeriesPoints::Columns { times, fields } => {
                times.capacity() * 8
                    + fields.capacity() * std::mem::size_of::<CacheField>()
                    + fields.iter().map(CacheField::heap_bytes).sum::<usize>()
            }
        }
    }

    /// A normal copy of field `key`'s points within `[min_time, max_time]`.
    fn read(&self, key: &[u8], min_time: i64, max_time: i64) -> Option<Column> {
        let mut column = match &self.points {
            SeriesPoints::Rows { schema, words } => {
                let index = schema.index_of(key)?;
                let (_, field_type) = schema.fields.get(index)?;
                let rows = words.chunks_exact(schema.stride());
                let (start, end) = if self.normal {
                    // Times ascend: find the range's rows, copy only those.
                    let row_time = |row: usize| {
                        words
                            .get(row * schema.stride())
                            .map_or(i64::MAX, |w| *w as i64)
                    };
                    let count = words.len() / schema.stride();
                    let start = partition_rows(count, |row| row_time(row) < min_time);
                    let end = partition_rows(count, |row| row_time(row) <= max_time).max(start);
                    (start, end)
                } else {
                    (0, usize::MAX)
                };
                let rows = || rows.clone().skip(start).take(end.saturating_sub(start));
                Column {
                    times: rows()
                        .map(|row| row.first().map_or(0, |w| *w as i64))
                        .collect(),
                    values: values_from_words(
                        *field_type,
                        rows().map(|row| row.get(1 + index).copied().unwrap_or(0)),
                    ),
                }
            }
            SeriesPoints::Columns { times, fields } => {
                let field = fields.iter().find(|field| field.key.as_bytes() == key)?;
                if self.normal && field.positions.is_none() {
                    // The common case: copy the range straight from the shared times.
                    let times = times.get(..field.values.len()).unwrap_or(times);
                    let start = times.partition_point(|t| *t < min_time);
                    let end = times.partition_point(|t| *t <= max_time).max(start);
                    return Some(Column {
                        times: times.get(start..end).unwrap_or(&[]).to_vec(),
                        values: field.values.view().range(start, end).to_values(),
                    });
                }
                Column {
                    times: field.times(times),
                    values: field.values.clone(),
                }
            }
        };
        if !self.normal {
            column.normalize();
        }
        column.trim(min_time, max_time);
        column.times.shrink_to_fit();
        Some(column)
    }

    /// Hands `visit` each field's whole column, normal, in field-key order. A row-stored
    /// series is put in time order once and each field gathered from the rows; a
    /// column-stored one lends a normal, dense field straight from the cache and copies the
    /// others. Fields without values (their only value was refused for its type) are
    /// skipped. Stops at the first error.
    pub fn visit_columns_in_key_order<E>(
        &self,
        scratch: &mut VisitScratch,
        mut visit: impl FnMut(&[u8], ColumnView<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if let SeriesPoints::Rows { schema, words } = &self.points {
            // Put the rows in time order once for all the fields (the per-field read would
            // sort the same times once per field).
            let stride = schema.stride();
            let row_time = |row: usize| words.get(row * stride).map_or(0, |w| *w as i64);
            let row_count = words.len() / stride;
            if row_count == 0 {
                return Ok(());
            }
            let order: Option<Vec<usize>> = if self.normal {
                None
            } else {
                let times: Vec<i64> = (0..row_count).map(row_time).collect();
                Some(normal_order(&times))
            };
            let mut times = std::mem::take(&mut scratch.times);
            times.clear();
            match &order {
                None => times.extend((0..row_count).map(row_time)),
                Some(order) => times.extend(order.iter().map(|row| row_time(*row))),
            }
            let mut result = Ok(());
            for &index in schema.key_order.iter() {
                let Some((key, field_type)) = schema.fields.get(index) else {
                    continue;
                };
                let word = |row: usize| words.get(row * stride + 1 + index).copied().unwrap_or(0);
                let values = match &order {
                    None => scratch.gather(*field_type, (0..row_count).map(word)),
                    Some(order) => scratch.gather(*field_type, order.iter().map(|row| word(*row))),
                };
                result = visit(
                    key.as_bytes(),
                    ColumnView {
                        times: &times,
                        values,
                    },
                );
                if result.is_err() {
                    break;
                }
            }
            scratch.times = times;
            return result;
        }
        let mut keys: Vec<&[u8]> = self.fields().map(|(key, _)| key).collect();
        keys.sort_unstable();
        for key in keys {
            if let SeriesPoints::Columns { times, fields } = &self.points {
                let dense = fields
                    .iter()
                    .find(|field| field.key.as_bytes() == key)
                    .filter(|field| self.normal && field.positions.is_none());
                if let Some(field) = dense {
                    if !field.values.is_empty() {
                        let times = times.get(..field.values.len()).unwrap_or(times);
                        visit(
                            key,
                            ColumnView {
                                times,
                                values: field.values.view(),
                            },
                        )?;
                    }
                    continue;
                }
            }
            if let Some(column) = self.read(key, i64::MIN, i64::MAX) {
                if !column.is_empty() {
                    visit(key, column.view())?;
                }
            }
        }
        Ok(())
    }

    /// The series rebuilt from normal columns (after a delete): column-stored, with the
    /// union of their times, each field dense when it covers a prefix of them.
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
            points: SeriesPoints::Columns { times, fields },
            normal: true,
        }
    }

    /// Turns a row-stored series into columns, every field dense (same points, same order).
    fn convert_to_columns(&mut self) {
        let SeriesPoints::Rows { schema, words } = &self.points else {
            return;
        };
        let stride = schema.stride();
        let times: Vec<i64> = words
            .chunks_exact(stride)
            .map(|row| row.first().map_or(0, |w| *w as i64))
            .collect();
        let fields = schema
            .fields
            .iter()
            .enumerate()
            .map(|(index, (key, field_type))| CacheField {
                key: key.clone(),
                values: values_from_words(
                    *field_type,
                    words
                        .chunks_exact(stride)
                        .map(|row| row.get(1 + index).copied().unwrap_or(0)),
                ),
                positions: None,
            })
            .collect();
        self.points = SeriesPoints::Columns { times, fields };
    }
}

/// The number of leading rows (of `count`) for which `before` holds (`before` must hold for
/// a prefix only, as `slice::partition_point`).
fn partition_rows(count: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, count);
    while low < high {
        let middle = low + (high - low) / 2;
        if before(middle) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    low
}

/// Schemas a map remembers for sharing with its next new series (the few measurements'
/// field sets a load cycles through).
const RECENT_SCHEMAS: usize = 8;

/// Points by series key.
///
/// The keys are in a [`KeyTable`] (an arena and a table of 8-byte slots, each with 32 bits of
/// the key's hash), and the points in a vector by the key's id. At 100k series a map is
/// rebuilt every snapshot: a key per series was an allocation and a free, and each lookup
/// compared the key through its own pointer, a cache miss; arena keys are written back to
/// back, and other keys' slots are passed over without touching them.
#[derive(Clone, Debug)]
pub struct CacheMap {
    /// series key → id
    keys: KeyTable,
    /// seed of the keys' hashes
    seed: u64,
    /// id → the series' points (a removed series leaves an empty entry)
    series: Vec<CacheSeries>,
    /// approximate heap bytes
    pub bytes: usize,
    /// values refused because their type differed from the column's
    pub type_conflicts: u64,
    /// row schemas recently given to new series, for the next ones to share
    recent_schemas: Vec<Arc<RowSchema>>,
    /// where the next new schema replaces one in `recent_schemas`
    next_schema_slot: usize,
}

impl Default for CacheMap {
    fn default() -> CacheMap {
        CacheMap::with_capacity(0)
    }
}

impl CacheMap {
    /// An empty map with room for `series` series without growing its table.
    pub fn with_capacity(series: usize) -> CacheMap {
        CacheMap {
            keys: KeyTable::with_capacity(series),
            seed: random_seed(),
            series: Vec::with_capacity(series),
            bytes: 0,
            type_conflicts: 0,
            recent_schemas: Vec::new(),
            next_schema_slot: 0,
        }
    }

    /// Series held.
    pub fn len(&self) -> usize {
        self.keys.live_count()
    }

    /// Whether the map holds no series.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn id_of(&self, series_key: &[u8]) -> Option<usize> {
        let hash = hash_bytes(self.seed, series_key);
        self.keys.find(series_key, hash).map(|id| id as usize)
    }

    /// The points of a series.
    pub fn get(&self, series_key: &[u8]) -> Option<&CacheSeries> {
        self.series.get(self.id_of(series_key)?)
    }

    fn get_mut(&mut self, series_key: &[u8]) -> Option<&mut CacheSeries> {
        let id = self.id_of(series_key)?;
        self.series.get_mut(id)
    }

    /// Whether the map holds series `series_key`.
    pub fn contains(&self, series_key: &[u8]) -> bool {
        self.id_of(series_key).is_some()
    }

    /// Every series and its points, in the order they were first written.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &CacheSeries)> + '_ {
        self.series
            .iter()
            .enumerate()
            .filter_map(|(id, series)| Some((self.keys.get(id as u32)?, series)))
    }

    /// Adds series `series_key` (absent; its hash is `hash`) with `series`. `None` (nothing
    /// stored) when the key table is full or the key too long for it.
    fn push_new(
        &mut self,
        series_key: &[u8],
        hash: u64,
        series: CacheSeries,
    ) -> Option<&mut CacheSeries> {
        let id = self.keys.insert_new(series_key, hash)? as usize;
        // Ids are dense and given in order, so the id is the next position.
        debug_assert_eq!(id, self.series.len(), "BUG: cache map ids out of step");
        self.series.push(series);
        self.series.get_mut(id)
    }

    /// Adds series `series_key` with `series`, or replaces its points.
    #[cfg(test)]
    fn insert_series(&mut self, series_key: &[u8], series: CacheSeries) {
        match self.get_mut(series_key) {
            Some(slot) => *slot = series,
            None => {
                let hash = hash_bytes(self.seed, series_key);
                self.push_new(series_key, hash, series);
            }
        }
    }

    fn remove(&mut self, series_key: &[u8]) {
        let hash = hash_bytes(self.seed, series_key);
        if let Some(id) = self.keys.find(series_key, hash) {
            self.keys.remove(id, hash);
            if let Some(slot) = self.series.get_mut(id as usize) {
                *slot = CacheSeries::default();
            }
        }
    }

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
        let hash = hash_bytes(self.seed, series_key);
        let found = self.keys.find(series_key, hash);
        if let Some(series) = found.and_then(|id| self.series.get_mut(id as usize)) {
            let (added, conflicts) = insert_fields(series, timestamp_ns, fields);
            self.bytes += added;
            self.type_conflicts += conflicts;
            return (added, false);
        }
        let mut added = series_key.len() + ENTRY_OVERHEAD_BYTES;
        let series = if row_storable(fields) {
            let (schema, schema_bytes) = self.schema_for(fields);
            added += schema_bytes;
            CacheSeries::rows(schema)
        } else {
            CacheSeries::default()
        };
        let Some(series) = self.push_new(series_key, hash, series) else {
            // Four billion series in one cache cannot happen under its memory bound (and
            // series keys are shorter than the table's longest string); should it, the values
            // are counted as refused, like a type conflict's.
            self.type_conflicts += fields.len() as u64;
            return (0, false);
        };
        let (point_bytes, conflicts) = insert_fields(series, timestamp_ns, fields);
        added += point_bytes;
        self.bytes += added;
        self.type_conflicts += conflicts;
        (added, true)
    }

    /// A schema for row-stored points like `point`: a recent one if it matches, else a new
    /// one (remembered). Returns it and the bytes newly held.
    fn schema_for(&mut self, point: &[(&[u8], StoredValue<'_>)]) -> (Arc<RowSchema>, usize) {
        if let Some(schema) = self.recent_schemas.iter().find(|s| s.matches(point)) {
            return (Arc::clone(schema), 0);
        }
        let schema = Arc::new(RowSchema::new(
            point
                .iter()
                .map(|(key, value)| (FieldKey::of(key), value.field_type()))
                .collect(),
        ));
        let bytes = schema.heap_bytes() + SCHEMA_OVERHEAD_BYTES;
        if self.recent_schemas.len() < RECENT_SCHEMAS {
            self.recent_schemas.push(Arc::clone(&schema));
        } else if let Some(slot) = self.recent_schemas.get_mut(self.next_schema_slot) {
            *slot = Arc::clone(&schema);
            self.next_schema_slot = (self.next_schema_slot + 1) % RECENT_SCHEMAS;
        }
        (schema, bytes)
    }

    /// A normal copy of one column, trimmed to `[min_time, max_time]`.
    pub fn read(
        &self,
        series_key: &[u8],
        field: &[u8],
        min_time: i64,
        max_time: i64,
    ) -> Option<Column> {
        self.get(series_key)?.read(field, min_time, max_time)
    }

    /// Removes the points of a series with `min_time <= time <= max_time`.
    pub fn delete(&mut self, series_key: &[u8], min_time: i64, max_time: i64) {
        let Some(series) = self.get(series_key) else {
            return;
        };
        let mut columns = Vec::new();
        for (key, _) in series.fields() {
            if let Some(mut column) = series.read(key, i64::MIN, i64::MAX) {
                column.remove_range(min_time, max_time);
                if !column.is_empty() {
                    columns.push((FieldKey::of(key), column));
                }
            }
        }
        if columns.is_empty() {
            self.remove(series_key);
        } else if let Some(series) = self.get_mut(series_key) {
            *series = CacheSeries::from_columns(columns);
        }
    }

    /// The type of a field of a series, if cached.
    pub fn field_type(&self, series_key: &[u8], field: &[u8]) -> Option<FieldType> {
        self.get(series_key)?.field_type(field)
    }
}

/// Appends one point's fields to a series; returns (heap bytes added, type conflicts).
fn insert_fields(
    series: &mut CacheSeries,
    timestamp_ns: i64,
    fields: &[(&[u8], StoredValue<'_>)],
) -> (usize, u64) {
    if let SeriesPoints::Rows { schema, words } = &mut series.points {
        if schema.matches(fields) {
            let last_time = words
                .len()
                .checked_sub(schema.stride())
                .and_then(|start| words.get(start))
                .map(|w| *w as i64);
            let before = words.capacity();
            let stride = schema.stride();
            if words.capacity() - words.len() < stride {
                // Grow by half (whole rows), not double: the slack of a doubling vector is a
                // quarter of the cache on average, and the cache is most of the memory.
                let rows = words.len() / stride;
                words.reserve_exact(stride * (rows / 2).max(1));
            }
            if last_time.is_some_and(|last| last >= timestamp_ns) {
                if series.normal && insert_row_in_order(words, stride, timestamp_ns, fields) {
                    return ((words.capacity() - before) * 8, 0);
                }
                series.normal = false;
            }
            words.push(timestamp_ns as u64);
            words.extend(fields.iter().map(|(_, value)| value_word(*value)));
            return ((words.capacity() - before) * 8, 0);
        }
        // Another field set, order or type: the series goes on as columns.
        let before = series.heap_bytes();
        series.convert_to_columns();
        let grown = series.heap_bytes().saturating_sub(before);
        let (added, conflicts) = insert_column_fields(series, timestamp_ns, fields);
        return (grown + added, conflicts);
    }
    insert_column_fields(series, timestamp_ns, fields)
}

/// Rows an out-of-order point may move to keep a row-stored series in time order. Points
/// a little late (two writers sending interleaved batches) stay cheap to read: a series left
/// out of order is sorted by every read until its snapshot. Further back than this the
/// series is marked not normal instead, so a writer sending points backwards does not cost
/// a quadratic number of moved words.
const ROWS_MOVED_IN_ORDER_MAX: usize = 256;

/// Puts the row (`timestamp_ns`, `fields`) of a normal row-stored series (`words`, rows of
/// `stride` words, a time not after the last row's) at its place in time order: over the
/// row of an equal time (every field of the new row replaces the old one's, as a newer
/// write wins), or inserted before the later rows. Returns false, leaving `words`
/// unchanged, if more than [`ROWS_MOVED_IN_ORDER_MAX`] rows would move.
fn insert_row_in_order(
    words: &mut Vec<u64>,
    stride: usize,
    timestamp_ns: i64,
    fields: &[(&[u8], StoredValue<'_>)],
) -> bool {
    let rows = words.len() / stride;
    let row_time = |row: usize| words.get(row * stride).map_or(i64::MAX, |w| *w as i64);
    let position = partition_rows(rows, |row| row_time(row) < timestamp_ns);
    if rows - position > ROWS_MOVED_IN_ORDER_MAX {
        return false;
    }
    let start = position * stride;
    if row_time(position) == timestamp_ns {
        let values = fields.iter().map(|(_, value)| value_word(*value));
        for (slot, word) in words
            .iter_mut()
            .skip(start + 1)
            .take(stride - 1)
            .zip(values)
        {
            *slot = word;
        }
        return true;
    }
    let row = std::iter::once(timestamp_ns as u64)
        .chain(fields.iter().map(|(_, value)| value_word(*value)));
    words.splice(start..start, row);
    true
}

/// Fields of a series looked up by scanning; a series with more is looked up through a map.
const CACHE_FIELD_SCAN_MAX: usize = 64;

/// [`insert_fields`] for a column-stored series.
fn insert_column_fields(
    series: &mut CacheSeries,
    timestamp_ns: i64,
    fields: &[(&[u8], StoredValue<'_>)],
) -> (usize, u64) {
    let normal = &mut series.normal;
    let SeriesPoints::Columns {
        times: series_times,
        fields: series_fields,
    } = &mut series.points
    else {
        return (0, fields.len() as u64);
    };
    let Ok(position) = u32::try_from(series_times.len()) else {
        // Four billion points of one series in one cache cannot happen under the cache's
        // memory bound; refuse rather than mis-index.
        return (0, fields.len() as u64);
    };
    let mut added = 0;
    let mut conflicts = 0;
    let times_before = series_times.capacity();
    if series_times
        .last()
        .is_some_and(|last| *last >= timestamp_ns)
    {
        *normal = false;
    }
    if series_times.capacity() == 0 {
        // Many series get one point per cache generation (high cardinality): room for one,
        // not the four a first push reserves.
        series_times.reserve_exact(1);
    }
    series_times.push(timestamp_ns);
    added += (series_times.capacity() - times_before) * 8;
    let fields_before = series_fields.capacity();
    if series_fields.is_empty() {
        // A series' points nearly always carry the same fields: no doubling slack.
        series_fields.reserve_exact(fields.len());
    }
    // A series with many fields finds them in a map built at its first miss: a scan per
    // field made one 40,000-field line cost 1.6 billion comparisons (18 s in a debug build).
    let mut wide_index: Option<std::collections::HashMap<Vec<u8>, usize>> = None;
    for (index, (key, value)) in fields.iter().enumerate() {
        // Points of a series usually carry the same fields in the same order.
        let found = match series_fields.get(index) {
            Some(field) if field.key.as_bytes() == *key => Some(index),
            _ if series_fields.len() < CACHE_FIELD_SCAN_MAX => series_fields
                .iter()
                .position(|field| field.key.as_bytes() == *key),
            _ => wide_index
                .get_or_insert_with(|| {
                    series_fields
                        .iter()
                        .enumerate()
                        .map(|(i, field)| (field.key.as_bytes().to_vec(), i))
                        .collect()
                })
                .get(*key)
                .copied(),
        };
        let field = match found.and_then(|i| series_fields.get_mut(i)) {
            Some(field) => field,
            None => {
                added += FIELD_OVERHEAD_BYTES;
                if let Some(wide_index) = wide_index.as_mut() {
                    wide_index.insert(key.to_vec(), series_fields.len());
                }
                series_fields.push(CacheField {
                    key: FieldKey::of(key),
                    values: ColumnValues::with_capacity(value.field_type(), 1),
                    // Dense only if it is there from the series' first point on.
                    positions: (position != 0).then(Box::default),
                });
                match series_fields.last_mut() {
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
                *normal = false; // two values for one point: the last one wins
            }
            positions.push(position);
        }
        if let StoredValue::String(bytes) = value {
            added += bytes.len();
        }
        added += field.heap_bytes().saturating_sub(before);
    }
    added += (series_fields.capacity() - fields_before) * std::mem::size_of::<CacheField>();
    (added, conflicts)
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
        if self.live.is_empty() {
            return 0;
        }
        // The next generation likely holds as many series: no table growth on the way.
        let next = CacheMap::with_capacity(self.live.len());
        let map = std::mem::replace(&mut self.live, next);
        let bytes = map.bytes;
        self.frozen.push(Arc::new(map));
        bytes
    }

    /// Removes the points of a series with `min_time <= time <= max_time` from the live and
    /// frozen maps (frozen maps are copied, as a snapshot may be reading them).
    pub fn delete(&mut self, series_key: &[u8], min_time: i64, max_time: i64) {
        self.live.delete(series_key, min_time, max_time);
        for map in &mut self.frozen {
            if map.contains(series_key) {
                let mut copy = (**map).clone();
                copy.delete(series_key, min_time, max_time);
                *map = Arc::new(copy);
            }
        }
    }

    /// Whether a frozen or the live map holds series `series_key`.
    pub fn holds_series(&self, series_key: &[u8]) -> bool {
        self.live.contains(series_key) || self.frozen.iter().any(|m| m.contains(series_key))
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

    fn point(values: &[f64]) -> Vec<(&'static [u8], StoredValue<'static>)> {
        const KEYS: [&[u8]; 3] = [b"usage_user", b"usage_system", b"usage_idle"];
        KEYS.iter()
            .zip(values)
            .map(|(key, value)| (*key, StoredValue::Float(*value)))
            .collect()
    }

    #[test]
    fn same_shaped_points_stay_rows_sharing_one_schema() {
        let mut map = CacheMap::default();
        for host in 0..100 {
            let key = format!("cpu,host=h{host}");
            for t in 0..3 {
                map.insert_point(key.as_bytes(), t, &point(&[1.0, 2.0, t as f64]));
            }
        }
        let schemas: Vec<&Arc<RowSchema>> = map
            .iter()
            .filter_map(|(_, series)| match &series.points {
                SeriesPoints::Rows { schema, .. } => Some(schema),
                SeriesPoints::Columns { .. } => None,
            })
            .collect();
        assert_eq!(schemas.len(), 100, "every series row-stored");
        assert!(schemas.iter().all(|s| Arc::ptr_eq(s, schemas[0])));
        let column = map.read(b"cpu,host=h7", b"usage_idle", 1, 2).unwrap();
        assert_eq!(column.times, vec![1, 2]);
        assert_eq!(column.values, ColumnValues::Float(vec![1.0, 2.0]));
        assert_eq!(
            map.field_type(b"cpu,host=h7", b"usage_user"),
            Some(FieldType::Float)
        );
        assert_eq!(map.field_type(b"cpu,host=h7", b"nope"), None);
    }

    #[test]
    fn a_point_of_another_shape_turns_rows_into_columns_keeping_every_point() {
        let mut map = CacheMap::default();
        map.insert_point(b"cpu", 10, &point(&[1.0, 2.0, 3.0]));
        map.insert_point(b"cpu", 5, &point(&[4.0, 5.0, 6.0]));
        // Two fields only: usage_idle skips this point.
        map.insert_point(b"cpu", 20, &point(&[7.0, 8.0]));
        let series = map.get(b"cpu").unwrap();
        assert!(matches!(series.points, SeriesPoints::Columns { .. }));
        let idle = map.read(b"cpu", b"usage_idle", i64::MIN, i64::MAX).unwrap();
        assert_eq!(idle.times, vec![5, 10]);
        assert_eq!(idle.values, ColumnValues::Float(vec![6.0, 3.0]));
        let user = map.read(b"cpu", b"usage_user", i64::MIN, i64::MAX).unwrap();
        assert_eq!(user.times, vec![5, 10, 20]);
        assert_eq!(user.values, ColumnValues::Float(vec![4.0, 1.0, 7.0]));
        let mut visited = Vec::new();
        series
            .visit_columns_in_key_order(&mut VisitScratch::default(), |key, column| {
                visited.push((key.to_vec(), column.times.to_vec()));
                Ok::<(), ()>(())
            })
            .unwrap();
        assert_eq!(
            visited,
            vec![
                (b"usage_idle".to_vec(), vec![5, 10]),
                (b"usage_system".to_vec(), vec![5, 10, 20]),
                (b"usage_user".to_vec(), vec![5, 10, 20]),
            ]
        );
    }

    #[test]
    fn series_are_found_iterated_in_first_written_order_and_removed_across_table_growth() {
        let mut map = CacheMap::default();
        let keys: Vec<String> = (0..500).map(|i| format!("cpu,host=h{i}")).collect();
        for (time, key) in keys.iter().enumerate() {
            map.insert_point(key.as_bytes(), time as i64, &point(&[1.0]));
        }
        // A second point of each: found, not added.
        for key in &keys {
            let (_, created) = map.insert_point(key.as_bytes(), 1_000, &point(&[2.0]));
            assert!(!created);
        }
        assert_eq!(map.len(), 500);
        let order: Vec<&[u8]> = map.iter().map(|(key, _)| key).collect();
        let want: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
        assert_eq!(order, want);
        // Delete every other series' points; the rest are untouched.
        for key in keys.iter().step_by(2) {
            map.delete(key.as_bytes(), i64::MIN, i64::MAX);
        }
        assert_eq!(map.len(), 250);
        for (index, key) in keys.iter().enumerate() {
            assert_eq!(map.get(key.as_bytes()).is_some(), index % 2 == 1, "{key}");
        }
        assert!(map.iter().all(|(key, _)| map.contains(key)));
        // A removed series comes back as new.
        let (_, created) = map.insert_point(keys[0].as_bytes(), 5, &point(&[3.0]));
        assert!(created);
        let column = map.read(keys[0].as_bytes(), b"usage_user", i64::MIN, i64::MAX);
        assert_eq!(column.map(|c| c.times), Some(vec![5]));
    }

    #[test]
    fn a_row_stored_point_costs_a_fraction_of_a_column_stored_one() {
        // One 10-field point per series, the high-cardinality case: what the map counts.
        let keys: Vec<Vec<u8>> = (0..10).map(|i| format!("field{i}").into_bytes()).collect();
        let fields: Vec<(&[u8], StoredValue<'_>)> = keys
            .iter()
            .map(|k| (k.as_slice(), StoredValue::Float(1.0)))
            .collect();
        let mut rows = CacheMap::default();
        let mut columns = CacheMap::default();
        for series in 0..1000 {
            let key = format!("m,host=h{series}");
            rows.insert_point(key.as_bytes(), 1, &fields);
            let mut column_series = CacheSeries::default();
            let (added, _) = insert_fields(&mut column_series, 1, &fields);
            columns.insert_series(key.as_bytes(), column_series);
            columns.bytes += added + key.len() + ENTRY_OVERHEAD_BYTES;
        }
        assert!(
            rows.bytes * 3 < columns.bytes,
            "rows {} vs columns {}",
            rows.bytes,
            columns.bytes
        );
    }

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

    /// Late points of a row-stored series are put in place (so reads need not sort), an
    /// equal time replaces the row, and a point further back than the bound marks the
    /// series not normal instead: every read gives the newest value per time, in order.
    #[test]
    fn late_rows_are_put_in_order_within_the_bound() {
        let mut map = CacheMap::default();
        let key = b"cpu,host=a";
        let mut model = std::collections::BTreeMap::new();
        let mut write = |map: &mut CacheMap, t: i64, v: f64| {
            map.insert_point(key, t, &point(&[v, -v, t as f64]));
            model.insert(t, v);
            let column = map.read(key, b"usage_user", i64::MIN, i64::MAX).unwrap();
            let want: Vec<(i64, f64)> = model.iter().map(|(t, v)| (*t, *v)).collect();
            let ColumnValues::Float(values) = &column.values else {
                panic!("not floats");
            };
            let got: Vec<(i64, f64)> = column.times.iter().copied().zip(values.clone()).collect();
            assert_eq!(got, want);
            map.get(key).map(|series| series.normal)
        };
        for t in (100..200).chain(50..60).chain([150, 199, 55]) {
            assert_eq!(write(&mut map, t, t as f64 * 2.0), Some(true), "time {t}");
        }
        let far_back = 200 - ROWS_MOVED_IN_ORDER_MAX as i64 - 100;
        for t in 1000..1000 + ROWS_MOVED_IN_ORDER_MAX as i64 + 1 {
            write(&mut map, t, 1.0);
        }
        assert_eq!(write(&mut map, far_back, 3.0), Some(false));
        assert_eq!(write(&mut map, 1001, 4.0), Some(false));
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
            // The same two fields, in order, as loads write them: row-stored until a point
            // of another shape comes.
            8 => (0..SERIES.len(), 0i64..30, 0i64..1000, 0i64..1000)
                .prop_map(|(series, time, a, b)| {
                    Step::Point(series, time, vec![(0, a, false), (1, b, false)])
                }),
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
            // What a snapshot writes is what reads return.
            for (series_key, series) in cache.iter() {
                let mut visited = Vec::new();
                series
                    .visit_columns_in_key_order(&mut VisitScratch::default(), |key, column| {
                        visited.push((key.to_vec(), column.times.to_vec(), format!("{:?}", column.values)));
                        Ok::<(), ()>(())
                    })
                    .map_err(|()| TestCaseError::fail("visit failed"))?;
                let mut keys: Vec<&[u8]> = series.fields().map(|(key, _)| key).collect();
                keys.sort_unstable();
                let read: Vec<(Vec<u8>, Vec<i64>, String)> = keys
                    .into_iter()
                    .filter_map(|key| {
                        let column = cache.read(series_key, key, i64::MIN, i64::MAX)?;
                        (!column.is_empty()).then(|| {
                            (key.to_vec(), column.times.clone(), format!("{:?}", column.values.view()))
                        })
                    })
                    .collect();
                prop_assert_eq!(visited, read);
            }
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
