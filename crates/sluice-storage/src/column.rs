//! A column in memory: the (time, value) pairs of one series' field, as the cache holds them,
//! files store them and reads return them.
//!
//! Owns the merge rules every layer shares: a column is *normal* when its times ascend strictly
//! (no duplicates); [`Column::normalize`] makes it so, keeping the value written last for a
//! repeated time; [`Column::merge_newer`] overlays a newer column on an older one, the newer
//! value winning on equal times. Values of one column always have one type.

use sluice_model::record::{FieldType, StoredValue};

/// The values of a column, one vector per type.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnValues {
    /// floats
    Float(Vec<f64>),
    /// signed integers
    Integer(Vec<i64>),
    /// unsigned integers
    Unsigned(Vec<u64>),
    /// booleans
    Boolean(Vec<bool>),
    /// strings (unescaped bytes)
    String(Vec<Vec<u8>>),
}

/// Times and values of one (series, field); `times.len() == values.len()`.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// nanoseconds since the epoch
    pub times: Vec<i64>,
    /// the values, same length as `times`
    pub values: ColumnValues,
}

/// Runs `$body` with `$v` bound to the vector inside a `ColumnValues` whatever its type.
macro_rules! with_values {
    ($values:expr, $v:ident => $body:expr) => {
        match $values {
            ColumnValues::Float($v) => $body,
            ColumnValues::Integer($v) => $body,
            ColumnValues::Unsigned($v) => $body,
            ColumnValues::Boolean($v) => $body,
            ColumnValues::String($v) => $body,
        }
    };
}

impl ColumnValues {
    /// Empty values of `field_type`.
    pub fn empty(field_type: FieldType) -> ColumnValues {
        match field_type {
            FieldType::Float => ColumnValues::Float(Vec::new()),
            FieldType::Integer => ColumnValues::Integer(Vec::new()),
            FieldType::Unsigned => ColumnValues::Unsigned(Vec::new()),
            FieldType::Boolean => ColumnValues::Boolean(Vec::new()),
            FieldType::String => ColumnValues::String(Vec::new()),
        }
    }

    /// Empty values of `field_type` with room for `capacity` values.
    pub fn with_capacity(field_type: FieldType, capacity: usize) -> ColumnValues {
        match field_type {
            FieldType::Float => ColumnValues::Float(Vec::with_capacity(capacity)),
            FieldType::Integer => ColumnValues::Integer(Vec::with_capacity(capacity)),
            FieldType::Unsigned => ColumnValues::Unsigned(Vec::with_capacity(capacity)),
            FieldType::Boolean => ColumnValues::Boolean(Vec::with_capacity(capacity)),
            FieldType::String => ColumnValues::String(Vec::with_capacity(capacity)),
        }
    }

    /// The values' type.
    pub fn field_type(&self) -> FieldType {
        match self {
            ColumnValues::Float(_) => FieldType::Float,
            ColumnValues::Integer(_) => FieldType::Integer,
            ColumnValues::Unsigned(_) => FieldType::Unsigned,
            ColumnValues::Boolean(_) => FieldType::Boolean,
            ColumnValues::String(_) => FieldType::String,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        with_values!(self, v => v.len())
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `value`; false (nothing appended) when its type differs.
    pub fn push(&mut self, value: StoredValue<'_>) -> bool {
        match (self, value) {
            (ColumnValues::Float(v), StoredValue::Float(x)) => v.push(x),
            (ColumnValues::Integer(v), StoredValue::Integer(x)) => v.push(x),
            (ColumnValues::Unsigned(v), StoredValue::Unsigned(x)) => v.push(x),
            (ColumnValues::Boolean(v), StoredValue::Boolean(x)) => v.push(x),
            (ColumnValues::String(v), StoredValue::String(x)) => v.push(x.to_vec()),
            _ => return false,
        }
        true
    }

    /// The value at `index` as a borrowed [`StoredValue`].
    pub fn get(&self, index: usize) -> Option<StoredValue<'_>> {
        Some(match self {
            ColumnValues::Float(v) => StoredValue::Float(*v.get(index)?),
            ColumnValues::Integer(v) => StoredValue::Integer(*v.get(index)?),
            ColumnValues::Unsigned(v) => StoredValue::Unsigned(*v.get(index)?),
            ColumnValues::Boolean(v) => StoredValue::Boolean(*v.get(index)?),
            ColumnValues::String(v) => StoredValue::String(v.get(index)?.as_slice()),
        })
    }

    /// Heap bytes held (approximate; strings count their lengths plus a vector header).
    pub fn heap_bytes(&self) -> usize {
        match self {
            ColumnValues::Float(v) => v.capacity() * 8,
            ColumnValues::Integer(v) => v.capacity() * 8,
            ColumnValues::Unsigned(v) => v.capacity() * 8,
            ColumnValues::Boolean(v) => v.capacity(),
            ColumnValues::String(v) => {
                v.capacity() * std::mem::size_of::<Vec<u8>>()
                    + v.iter().map(|s| s.capacity()).sum::<usize>()
            }
        }
    }

    /// Bytes of the values vector's own buffer (capacity × element size; string contents not
    /// included): cheap, for counting growth.
    pub fn buffer_bytes(&self) -> usize {
        match self {
            ColumnValues::Float(v) => v.capacity() * 8,
            ColumnValues::Integer(v) => v.capacity() * 8,
            ColumnValues::Unsigned(v) => v.capacity() * 8,
            ColumnValues::Boolean(v) => v.capacity(),
            ColumnValues::String(v) => v.capacity() * std::mem::size_of::<Vec<u8>>(),
        }
    }

    /// Keeps the values at the indices `keep` (ascending).
    fn select(&mut self, keep: &[usize]) {
        fn pick<T: Clone>(v: &mut Vec<T>, keep: &[usize]) {
            let picked: Vec<T> = keep.iter().filter_map(|i| v.get(*i).cloned()).collect();
            *v = picked;
        }
        with_values!(self, v => pick(v, keep))
    }

    /// Keeps values `start..end`.
    fn keep_range(&mut self, start: usize, end: usize) {
        with_values!(self, v => {
            v.truncate(end);
            v.drain(..start.min(v.len()));
        })
    }
}

/// Borrowed values of a column: a slice of one [`ColumnValues`] vector.
#[derive(Clone, Copy, Debug)]
pub enum ValuesView<'a> {
    /// floats
    Float(&'a [f64]),
    /// signed integers
    Integer(&'a [i64]),
    /// unsigned integers
    Unsigned(&'a [u64]),
    /// booleans
    Boolean(&'a [bool]),
    /// strings
    String(&'a [Vec<u8>]),
}

impl<'a> ValuesView<'a> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            ValuesView::Float(v) => v.len(),
            ValuesView::Integer(v) => v.len(),
            ValuesView::Unsigned(v) => v.len(),
            ValuesView::Boolean(v) => v.len(),
            ValuesView::String(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values' type.
    pub fn field_type(&self) -> FieldType {
        match self {
            ValuesView::Float(_) => FieldType::Float,
            ValuesView::Integer(_) => FieldType::Integer,
            ValuesView::Unsigned(_) => FieldType::Unsigned,
            ValuesView::Boolean(_) => FieldType::Boolean,
            ValuesView::String(_) => FieldType::String,
        }
    }

    /// Values `start..end` (clamped to the values held).
    pub fn range(&self, start: usize, end: usize) -> ValuesView<'a> {
        fn cut<T>(v: &[T], start: usize, end: usize) -> &[T] {
            let end = end.min(v.len());
            v.get(start.min(end)..end).unwrap_or(&[])
        }
        match *self {
            ValuesView::Float(v) => ValuesView::Float(cut(v, start, end)),
            ValuesView::Integer(v) => ValuesView::Integer(cut(v, start, end)),
            ValuesView::Unsigned(v) => ValuesView::Unsigned(cut(v, start, end)),
            ValuesView::Boolean(v) => ValuesView::Boolean(cut(v, start, end)),
            ValuesView::String(v) => ValuesView::String(cut(v, start, end)),
        }
    }
}

impl ValuesView<'_> {
    /// An owned copy of the values.
    pub fn to_values(&self) -> ColumnValues {
        match *self {
            ValuesView::Float(v) => ColumnValues::Float(v.to_vec()),
            ValuesView::Integer(v) => ColumnValues::Integer(v.to_vec()),
            ValuesView::Unsigned(v) => ColumnValues::Unsigned(v.to_vec()),
            ValuesView::Boolean(v) => ColumnValues::Boolean(v.to_vec()),
            ValuesView::String(v) => ColumnValues::String(v.to_vec()),
        }
    }
}

impl ColumnValues {
    /// All the values, borrowed.
    pub fn view(&self) -> ValuesView<'_> {
        match self {
            ColumnValues::Float(v) => ValuesView::Float(v),
            ColumnValues::Integer(v) => ValuesView::Integer(v),
            ColumnValues::Unsigned(v) => ValuesView::Unsigned(v),
            ColumnValues::Boolean(v) => ValuesView::Boolean(v),
            ColumnValues::String(v) => ValuesView::String(v),
        }
    }
}

/// A borrowed column: times and values of equal length, e.g. a cached series' dense field
/// written to a file without a copy.
#[derive(Clone, Copy, Debug)]
pub struct ColumnView<'a> {
    /// nanoseconds since the epoch
    pub times: &'a [i64],
    /// the values, same length as `times`
    pub values: ValuesView<'a>,
}

impl<'a> ColumnView<'a> {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The column's type.
    pub fn field_type(&self) -> FieldType {
        self.values.field_type()
    }
}

/// The indexes of the points of `times` a normal column keeps, in time order: for a time
/// written more than once, the last write. Sorts (time, index) pairs, which is several times
/// faster than sorting indexes by a looked-up key.
pub fn normal_order(times: &[i64]) -> Vec<usize> {
    let mut pairs: Vec<(i64, usize)> = times.iter().copied().zip(0..).collect();
    // Equal times order by index, i.e. write order: the last of a run is the newest.
    pairs.sort_unstable();
    let mut keep = Vec::with_capacity(pairs.len());
    let mut pairs = pairs.into_iter().peekable();
    while let Some((time, index)) = pairs.next() {
        if pairs.peek().is_none_or(|(next_time, _)| *next_time != time) {
            keep.push(index);
        }
    }
    keep
}

impl Column {
    /// An empty column of `field_type`.
    pub fn new(field_type: FieldType) -> Column {
        Column {
            times: Vec::new(),
            values: ColumnValues::empty(field_type),
        }
    }

    /// An empty column of `field_type` (the same as [`Column::new`]).
    pub fn empty(field_type: FieldType) -> Column {
        Column::new(field_type)
    }

    /// Keeps only the first `length` points.
    pub(crate) fn retain_first(&mut self, length: usize) {
        self.times.truncate(length);
        self.values.keep_range(0, length);
    }

    /// Keeps only points with `min_time <= time <= max_time` (the column must be normal).
    pub fn retain_time_range(&mut self, min_time: i64, max_time: i64) {
        self.trim(min_time, max_time)
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// The column's type.
    pub fn field_type(&self) -> FieldType {
        self.values.field_type()
    }

    /// The column, borrowed.
    pub fn view(&self) -> ColumnView<'_> {
        ColumnView {
            times: &self.times,
            values: self.values.view(),
        }
    }

    /// Whether times ascend strictly.
    pub fn is_normal(&self) -> bool {
        self.times.windows(2).all(|pair| pair[0] < pair[1])
    }

    /// Sorts by time, keeping the value written last for a repeated time.
    pub fn normalize(&mut self) {
        if self.is_normal() {
            return;
        }
        let keep = normal_order(&self.times);
        let times: Vec<i64> = keep
            .iter()
            .filter_map(|i| self.times.get(*i).copied())
            .collect();
        self.values.select(&keep);
        self.times = times;
    }

    /// Keeps only points with `min_time <= time <= max_time` (the column must be normal).
    pub fn trim(&mut self, min_time: i64, max_time: i64) {
        let start = self.times.partition_point(|t| *t < min_time);
        let end = self.times.partition_point(|t| *t <= max_time).max(start);
        if start == 0 && end == self.times.len() {
            return;
        }
        self.times.truncate(end);
        self.times.drain(..start);
        self.values.keep_range(start, end);
    }

    /// Removes points with `min_time <= time <= max_time` (the column must be normal).
    pub fn remove_range(&mut self, min_time: i64, max_time: i64) {
        let start = self.times.partition_point(|t| *t < min_time);
        let end = self.times.partition_point(|t| *t <= max_time).max(start);
        if start == end {
            return;
        }
        let keep: Vec<usize> = (0..start).chain(end..self.times.len()).collect();
        self.values.select(&keep);
        self.times.drain(start..end);
    }

    /// Merges `newer` into `self` (both normal, same type): the result is normal and holds
    /// every time of both, with `newer`'s value on equal times. A `newer` of another type
    /// is ignored (a type conflict cannot be stored) and `false` returned.
    pub fn merge_newer(&mut self, newer: Column) -> bool {
        if newer.field_type() != self.field_type() {
            return false;
        }
        if newer.is_empty() {
            return true;
        }
        let appends = match (self.times.last(), newer.times.first()) {
            (None, _) => true,
            (Some(last), Some(first)) => last < first,
            (Some(_), None) => true,
        };
        if appends {
            self.times.extend_from_slice(&newer.times);
            append_values(&mut self.values, newer.values);
            return true;
        }
        let older = std::mem::replace(self, Column::new(newer.field_type()));
        *self = merge_two(older, newer);
        true
    }
}

fn append_values(into: &mut ColumnValues, from: ColumnValues) {
    match (into, from) {
        (ColumnValues::Float(a), ColumnValues::Float(b)) => a.extend(b),
        (ColumnValues::Integer(a), ColumnValues::Integer(b)) => a.extend(b),
        (ColumnValues::Unsigned(a), ColumnValues::Unsigned(b)) => a.extend(b),
        (ColumnValues::Boolean(a), ColumnValues::Boolean(b)) => a.extend(b),
        (ColumnValues::String(a), ColumnValues::String(b)) => a.extend(b),
        _ => {}
    }
}

/// Which input each output point of a two-way merge comes from.
#[derive(Clone, Copy)]
enum Side {
    Older(usize),
    Newer(usize),
}

fn merge_two(older: Column, newer: Column) -> Column {
    let mut plan: Vec<Side> = Vec::with_capacity(older.len() + newer.len());
    let (mut i, mut j) = (0, 0);
    while i < older.times.len() || j < newer.times.len() {
        match (older.times.get(i), newer.times.get(j)) {
            (Some(a), Some(b)) if a < b => {
                plan.push(Side::Older(i));
                i += 1;
            }
            (Some(a), Some(b)) if a == b => {
                plan.push(Side::Newer(j));
                i += 1;
                j += 1;
            }
            (_, Some(_)) => {
                plan.push(Side::Newer(j));
                j += 1;
            }
            (Some(_), None) => {
                plan.push(Side::Older(i));
                i += 1;
            }
            (None, None) => break,
        }
    }
    let times = plan
        .iter()
        .filter_map(|side| match side {
            Side::Older(i) => older.times.get(*i).copied(),
            Side::Newer(j) => newer.times.get(*j).copied(),
        })
        .collect();
    fn pick<T: Clone>(a: &[T], b: &[T], plan: &[Side]) -> Vec<T> {
        plan.iter()
            .filter_map(|side| match side {
                Side::Older(i) => a.get(*i).cloned(),
                Side::Newer(j) => b.get(*j).cloned(),
            })
            .collect()
    }
    let values = match (&older.values, &newer.values) {
        (ColumnValues::Float(a), ColumnValues::Float(b)) => ColumnValues::Float(pick(a, b, &plan)),
        (ColumnValues::Integer(a), ColumnValues::Integer(b)) => {
            ColumnValues::Integer(pick(a, b, &plan))
        }
        (ColumnValues::Unsigned(a), ColumnValues::Unsigned(b)) => {
            ColumnValues::Unsigned(pick(a, b, &plan))
        }
        (ColumnValues::Boolean(a), ColumnValues::Boolean(b)) => {
            ColumnValues::Boolean(pick(a, b, &plan))
        }
        (ColumnValues::String(a), ColumnValues::String(b)) => {
            ColumnValues::String(pick(a, b, &plan))
        }
        _ => return older,
    };
    Column { times, values }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn column(points: &[(i64, i64)]) -> Column {
        Column {
            times: points.iter().map(|p| p.0).collect(),
            values: ColumnValues::Integer(points.iter().map(|p| p.1).collect()),
        }
    }

    fn model(column: &Column) -> BTreeMap<i64, i64> {
        let ColumnValues::Integer(values) = &column.values else {
            panic!("integer column expected")
        };
        column
            .times
            .iter()
            .copied()
            .zip(values.iter().copied())
            .collect()
    }

    proptest! {
        #[test]
        fn normalize_keeps_last_write(points in prop::collection::vec((0i64..50, any::<i64>()), 0..200)) {
            let mut expected = BTreeMap::new();
            for (t, v) in &points { expected.insert(*t, *v); }
            let mut c = column(&points);
            c.normalize();
            prop_assert!(c.is_normal());
            prop_assert_eq!(model(&c), expected);
        }

        #[test]
        fn merge_newer_wins(a in prop::collection::vec((0i64..60, any::<i64>()), 0..100),
                            b in prop::collection::vec((0i64..60, any::<i64>()), 0..100),
                            lo in 0i64..60, hi in 0i64..60) {
            let mut older = column(&a); older.normalize();
            let mut newer = column(&b); newer.normalize();
            let mut expected = model(&older);
            expected.extend(model(&newer));
            let mut merged = older.clone();
            prop_assert!(merged.merge_newer(newer));
            prop_assert!(merged.is_normal());
            prop_assert_eq!(model(&merged), expected.clone());
            let mut trimmed = merged.clone();
            trimmed.trim(lo, hi);
            let want: BTreeMap<i64, i64> =
                expected.iter().filter(|(t, _)| **t >= lo && **t <= hi).map(|(t, v)| (*t, *v)).collect();
            prop_assert_eq!(model(&trimmed), want);
            let mut removed = merged;
            removed.remove_range(lo, hi);
            let want: BTreeMap<i64, i64> =
                expected.into_iter().filter(|(t, _)| *t < lo || *t > hi).collect();
            prop_assert_eq!(model(&removed), want);
        }
    }

    #[test]
    fn merge_of_other_type_is_refused() {
        let mut a = column(&[(1, 1)]);
        let b = Column {
            times: vec![2],
            values: ColumnValues::Float(vec![1.0]),
        };
        assert!(!a.merge_newer(b));
        assert_eq!(a.len(), 1);
    }
}
