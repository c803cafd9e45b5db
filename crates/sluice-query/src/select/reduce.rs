//! Aggregates, selectors and transformations over the points of one group, with InfluxDB
//! 1.6.7's arithmetic and tie rules.
//!
//! * Streaming (constant memory per window): `count`, `sum`, `mean`, `min`, `max`, `first`,
//!   `last`, `spread`. `sum` and `mean` of floats are folded per (shard, series) first and
//!   then combined, as 1.6.7's pushed-down call iterators do, so float results match
//!   bit for bit: `mean = Σ (sum_s / n_s) · n_s / Σ n_s`.
//! * Collecting (all points of a window): `median`, `mode`, `stddev`, `percentile`,
//!   `distinct`, `count(distinct)`, `top`, `bottom`, `sample`.
//! * Tie rules: `min`/`max` keep the earlier point of equal values; `first`/`last` keep
//!   each series' best point and choose among them as 1.6.7's merge does ([`pick_edge`]).
//! * Collected points are put in 1.6.7's merge order (a replay of its heap over the
//!   series) before order-sensitive functions (`stddev`, `mode`, `distinct`) see them.
//! * Transformations (`derivative`, `difference`, `moving_average`, `cumulative_sum`,
//!   `elapsed` and their non-negative forms) run over a time-ordered point list.

use std::ops::Range;

use super::column_value;
use crate::result::Value;
use sluice_ingest::record::FieldType;
use sluice_storage::column::{Column, ColumnValues};
use sluice_storage::engine::summary::BlockSummary;

/// A point fed to a reducer: its time, value and where it came from (for the other
/// fields and tags of a selected point).
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// nanoseconds
    pub time: i64,
    /// the value
    pub value: Value,
    /// index of the series in its group (`u32::MAX`: computed, no origin)
    pub origin: u32,
}

/// Which streaming selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelectorKind {
    /// smallest value, earlier on ties
    Min,
    /// largest value, earlier on ties
    Max,
    /// earliest time, larger value on ties
    First,
    /// latest time, larger value on ties
    Last,
}

/// How 1.6.7 chooses `first`/`last` among the best points of several series (it differs
/// with the shape of the query; equal times are the only case where it shows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgePick {
    /// no GROUP BY time(), no other field: the better of the first two points Go's heap
    /// hands out (earliest first for `first`, latest first for `last`)
    HeapFirstTwo,
    /// no GROUP BY time(), other fields beside the selector: the better of the first two in
    /// series key order among the earliest (`first`), of the last two among the latest
    /// (`last`)
    KeyOrderFirstTwo,
    /// GROUP BY time(), or over a subquery: the best of all (earlier/later, then larger)
    Best,
}

/// The state of one function in one window.
#[derive(Clone, Debug)]
pub enum Accumulator {
    /// `count`
    Count(i64),
    /// `sum` of floats: the folded total and the current (shard, series) partial
    SumFloat {
        /// folded partials
        total: f64,
        /// partial of the series being fed
        partial: f64,
        /// any point seen
        seen: bool,
    },
    /// `sum` of integers
    SumInteger(Option<i64>),
    /// `sum` of unsigned integers
    SumUnsigned(Option<u64>),
    /// `mean`: folded weighted sum and count, and the current partial
    Mean {
        /// Σ of folded partial means × their counts
        total: f64,
        /// Σ of folded counts
        count: u64,
        /// partial sum of the series being fed (floats)
        partial_sum: f64,
        /// partial sum of the series being fed (integers: a wrapping i64, as 1.6.7 sums them)
        partial_integer: i64,
        /// partial count of the series being fed
        partial_count: u64,
    },
    /// `min`, `max`
    Selector(SelectorKind, Option<Point>),
    /// `first`, `last`: the best point of each series (by `origin`, in the order first
    /// seen); [`pick_edge`] chooses among them as 1.6.7 does
    EdgePerSeries(SelectorKind, EdgePick, Vec<Point>),
    /// `spread`: smallest and largest value
    Spread(Option<(Value, Value)>),
    /// every point, for the collecting functions
    Collect(Vec<Point>),
}

fn as_f64(value: &Value) -> f64 {
    match value {
        Value::Float(v) => *v,
        Value::Integer(v) => *v as f64,
        Value::Unsigned(v) => *v as f64,
        Value::Boolean(b) => f64::from(u8::from(*b)),
        _ => f64::NAN,
    }
}

/// Orders two values of one column: numbers by value, booleans false < true, strings
/// bytewise.
pub fn value_cmp(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Unsigned(x), Value::Unsigned(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Boolean(x), Value::Boolean(y)) => x.cmp(y),
        _ => as_f64(a).partial_cmp(&as_f64(b)).unwrap_or(Ordering::Equal),
    }
}

fn better(kind: SelectorKind, candidate: &Point, current: &Point) -> bool {
    let by_value = value_cmp(&candidate.value, &current.value);
    better_by(kind, by_value, candidate.time, current.time)
}

/// [`better`] given how the candidate's value compares with the current one's.
#[inline]
fn better_by(
    kind: SelectorKind,
    by_value: std::cmp::Ordering,
    candidate_time: i64,
    current_time: i64,
) -> bool {
    use std::cmp::Ordering::*;
    match kind {
        SelectorKind::Min => {
            by_value == Less || (by_value == Equal && candidate_time < current_time)
        }
        SelectorKind::Max => {
            by_value == Greater || (by_value == Equal && candidate_time < current_time)
        }
        // Within one series (across shards): the earlier / the later point.
        SelectorKind::First => candidate_time < current_time,
        SelectorKind::Last => candidate_time > current_time,
    }
}

impl Accumulator {
    /// The empty state of function `name` for values like `sample` (its type).
    pub fn new(name: &str, sample: &Value) -> Accumulator {
        match name {
            "count" => Accumulator::Count(0),
            "sum" => match sample {
                Value::Integer(_) => Accumulator::SumInteger(None),
                Value::Unsigned(_) => Accumulator::SumUnsigned(None),
                _ => Accumulator::SumFloat {
                    total: 0.0,
                    partial: 0.0,
                    seen: false,
                },
            },
            "mean" => Accumulator::Mean {
                total: 0.0,
                count: 0,
                partial_sum: 0.0,
                partial_integer: 0,
                partial_count: 0,
            },
            "min" => Accumulator::Selector(SelectorKind::Min, None),
            "max" => Accumulator::Selector(SelectorKind::Max, None),
            "first" => {
                Accumulator::EdgePerSeries(SelectorKind::First, EdgePick::HeapFirstTwo, Vec::new())
            }
            "last" => {
                Accumulator::EdgePerSeries(SelectorKind::Last, EdgePick::HeapFirstTwo, Vec::new())
            }
            "spread" => Accumulator::Spread(None),
            _ => Accumulator::Collect(Vec::new()),
        }
    }

    /// The accumulator with `first`/`last` choosing among series by `pick`.
    pub fn with_edge_pick(mut self, pick: EdgePick) -> Accumulator {
        if let Accumulator::EdgePerSeries(_, current, _) = &mut self {
            *current = pick;
        }
        self
    }

    /// Feeds one point.
    #[inline]
    pub fn push(&mut self, time: i64, value: &Value, origin: u32) {
        match self {
            Accumulator::Count(count) => *count += 1,
            Accumulator::SumFloat { partial, seen, .. } => {
                *partial += as_f64(value);
                *seen = true;
            }
            Accumulator::SumInteger(sum) => {
                if let Value::Integer(v) = value {
                    *sum = Some(sum.unwrap_or(0).wrapping_add(*v));
                }
            }
            Accumulator::SumUnsigned(sum) => {
                if let Value::Unsigned(v) = value {
                    *sum = Some(sum.unwrap_or(0).wrapping_add(*v));
                }
            }
            Accumulator::Mean {
                partial_sum,
                partial_integer,
                partial_count,
                ..
            } => {
                match value {
                    Value::Integer(v) => *partial_integer = partial_integer.wrapping_add(*v),
                    _ => *partial_sum += as_f64(value),
                }
                *partial_count += 1;
            }
            Accumulator::Selector(kind, best) => {
                let candidate = Point {
                    time,
                    value: value.clone(),
                    origin,
                };
                match best {
                    Some(current) if !better(*kind, &candidate, current) => {}
                    _ => *best = Some(candidate),
                }
            }
            Accumulator::EdgePerSeries(kind, pick, per_series) => {
                let candidate = Point {
                    time,
                    value: value.clone(),
                    origin,
                };
                match per_series.iter_mut().rev().find(|p| p.origin == origin) {
                    Some(current) => {
                        // Best: equal times keep the larger value, whatever the origin
                        // (a subquery's rows all come from one origin).
                        let larger_at_same_time = *pick == EdgePick::Best
                            && candidate.time == current.time
                            && value_cmp(&candidate.value, &current.value).is_gt();
                        if better(*kind, &candidate, current) || larger_at_same_time {
                            *current = candidate;
                        }
                    }
                    None => per_series.push(candidate),
                }
            }
            Accumulator::Spread(range) => match range {
                None => *range = Some((value.clone(), value.clone())),
                Some((low, high)) => {
                    if value_cmp(value, low).is_lt() {
                        *low = value.clone();
                    }
                    if value_cmp(value, high).is_gt() {
                        *high = value.clone();
                    }
                }
            },
            Accumulator::Collect(points) => points.push(Point {
                time,
                value: value.clone(),
                origin,
            }),
        }
    }

    /// Whether [`Accumulator::push_summary`] of `summary` gives this accumulator the state
    /// that pushing the block's points one by one would: `count` always; `min`/`max` from
    /// the block's statistics; `sum`/`mean` from the statistics of integers (their wrapping
    /// sums do not depend on the order; float sums do, so those blocks are decoded).
    pub fn takes_summary(&self, summary: &BlockSummary) -> bool {
        let stats = summary.stats.is_some();
        match self {
            Accumulator::Count(_) => true,
            Accumulator::Selector(SelectorKind::Min | SelectorKind::Max, _) => stats,
            Accumulator::SumInteger(_) | Accumulator::Mean { .. } => {
                stats && summary.field_type == FieldType::Integer
            }
            Accumulator::SumUnsigned(_) => stats && summary.field_type == FieldType::Unsigned,
            _ => false,
        }
    }

    /// Feeds a block from its metadata, as pushing its points would (see
    /// [`Accumulator::takes_summary`], which the caller has asked).
    pub fn push_summary(&mut self, summary: &BlockSummary, origin: u32) {
        let stats = summary.stats;
        let integer_sum = stats.map_or(0, |s| s.sum_bits as i64);
        match (self, stats) {
            (Accumulator::Count(count), _) => *count += summary.count as i64,
            (Accumulator::Selector(kind, best), Some(stats)) => {
                let (bits, time) = match kind {
                    SelectorKind::Min => (stats.min_bits, stats.min_at),
                    _ => (stats.max_bits, stats.max_at),
                };
                let value = match summary.field_type {
                    FieldType::Float => Value::Float(f64::from_bits(bits)),
                    FieldType::Unsigned => Value::Unsigned(bits),
                    _ => Value::Integer(bits as i64),
                };
                let candidate = Point {
                    time,
                    value,
                    origin,
                };
                if best
                    .as_ref()
                    .is_none_or(|current| better(*kind, &candidate, current))
                {
                    *best = Some(candidate);
                }
            }
            (Accumulator::SumInteger(sum), Some(_)) => {
                *sum = Some(sum.unwrap_or(0).wrapping_add(integer_sum));
            }
            (Accumulator::SumUnsigned(sum), Some(stats)) => {
                *sum = Some(sum.unwrap_or(0).wrapping_add(stats.sum_bits));
            }
            (
                Accumulator::Mean {
                    partial_integer,
                    partial_count,
                    ..
                },
                Some(_),
            ) => {
                *partial_integer = partial_integer.wrapping_add(integer_sum);
                *partial_count += summary.count;
            }
            (other, _) => panic!("BUG: a block summary fed to {other:?}"),
        }
    }

    /// Feeds the points `range` of `column` (time-ordered, one series), exactly as
    /// [`Accumulator::push`] would one by one; `count` only adds the run's length.
    pub fn push_run(&mut self, column: &Column, range: Range<usize>, origin: u32) {
        let times = column.times.get(range.clone()).unwrap_or(&[]);
        if let Accumulator::Count(count) = self {
            *count += times.len() as i64;
            return;
        }
        match &column.values {
            ColumnValues::Float(values) => {
                let values = values.get(range).unwrap_or(&[]);
                self.push_floats(times, values, origin);
            }
            ColumnValues::Integer(values) => {
                let values = values.get(range).unwrap_or(&[]);
                for (time, value) in times.iter().zip(values) {
                    self.push(*time, &Value::Integer(*value), origin);
                }
            }
            other => {
                for (time, index) in times.iter().zip(range) {
                    self.push(*time, &column_value(other, index), origin);
                }
            }
        }
    }

    /// [`Accumulator::push`] of each float point, with the per-point work of the common
    /// functions done on `f64` directly (same operations, same order, same result).
    fn push_floats(&mut self, times: &[i64], values: &[f64], origin: u32) {
        match self {
            Accumulator::SumFloat { partial, seen, .. } => {
                for value in values.iter().take(times.len()) {
                    *partial += *value;
                    *seen = true;
                }
            }
            Accumulator::Mean {
                partial_sum,
                partial_count,
                ..
            } => {
                for value in values.iter().take(times.len()) {
                    *partial_sum += *value;
                    *partial_count += 1;
                }
            }
            Accumulator::Selector(kind, best) => {
                let values = values.get(..times.len()).unwrap_or(values);
                if let Some(index) = run_extreme(*kind, values) {
                    // The run's best point, then the usual comparison with the best so far:
                    // the same winner as feeding every point (see `run_extreme`).
                    if let (Some(time), Some(value)) = (times.get(index), values.get(index)) {
                        let candidate = Point {
                            time: *time,
                            value: Value::Float(*value),
                            origin,
                        };
                        match best {
                            Some(current) if !better(*kind, &candidate, current) => {}
                            _ => *best = Some(candidate),
                        }
                    }
                    return;
                }
                for (time, value) in times.iter().zip(values) {
                    let replace = match best {
                        Some(Point {
                            value: Value::Float(current),
                            time: current_time,
                            ..
                        }) => {
                            let by_value = value
                                .partial_cmp(current)
                                .unwrap_or(std::cmp::Ordering::Equal);
                            better_by(*kind, by_value, *time, *current_time)
                        }
                        Some(current) => {
                            let candidate = Point {
                                time: *time,
                                value: Value::Float(*value),
                                origin,
                            };
                            better(*kind, &candidate, current)
                        }
                        None => true,
                    };
                    if replace {
                        *best = Some(Point {
                            time: *time,
                            value: Value::Float(*value),
                            origin,
                        });
                    }
                }
            }
            _ => {
                for (time, value) in times.iter().zip(values) {
                    self.push(*time, &Value::Float(*value), origin);
                }
            }
        }
    }

    /// Ends the points of one (shard, series): folds the partial sums as 1.6.7's
    /// per-series call iterators hand them on.
    pub fn end_partial(&mut self) {
        match self {
            Accumulator::SumFloat { total, partial, .. } => {
                *total += *partial;
                *partial = 0.0;
            }
            Accumulator::Mean {
                total,
                count,
                partial_sum,
                partial_integer,
                partial_count,
            } => {
                let partial = *partial_sum + *partial_integer as f64;
                if *partial_count >= 2 {
                    let mean = partial / *partial_count as f64;
                    *total += mean * *partial_count as f64;
                } else {
                    *total += partial;
                }
                *count += *partial_count;
                *partial_sum = 0.0;
                *partial_integer = 0;
                *partial_count = 0;
            }
            _ => {}
        }
    }

    /// Whether the answer depends on the order (shard, series) partials are folded in:
    /// float sums round differently in another order (`sum` of floats, `mean` of any type).
    pub fn folds_in_merge_order(&self) -> bool {
        matches!(
            self,
            Accumulator::SumFloat { .. } | Accumulator::Mean { .. }
        )
    }

    /// Folds the open partial of `series` (an accumulator of the same function fed one
    /// (shard, series) and not ended) as [`Accumulator::end_partial`] would have folded it
    /// here. Other kinds are left alone ([`Accumulator::folds_in_merge_order`] picks the
    /// callers).
    pub fn absorb_partial(&mut self, series: &Accumulator) {
        match (&mut *self, series) {
            (
                Accumulator::SumFloat { partial, seen, .. },
                Accumulator::SumFloat {
                    partial: theirs,
                    seen: their_seen,
                    ..
                },
            ) => {
                *partial = *theirs;
                *seen |= *their_seen;
            }
            (
                Accumulator::Mean {
                    partial_sum,
                    partial_integer,
                    partial_count,
                    ..
                },
                Accumulator::Mean {
                    partial_sum: sum,
                    partial_integer: integer,
                    partial_count: count,
                    ..
                },
            ) => {
                *partial_sum = *sum;
                *partial_integer = *integer;
                *partial_count = *count;
            }
            _ => return,
        }
        self.end_partial();
    }

    /// Makes the folded state the open partial (and nothing folded): what 1.6.7's reducer
    /// of one shard hands on to the reducer over shards, for [`Accumulator::absorb_partial`]
    /// (`sum`: the total; `mean`: the weighted total and count, so that it is folded as the
    /// shard's mean times its count).
    pub fn reopen_as_partial(&mut self) {
        match self {
            Accumulator::SumFloat { total, partial, .. } => {
                *partial = *total;
                *total = 0.0;
            }
            Accumulator::Mean {
                total,
                count,
                partial_sum,
                partial_integer,
                partial_count,
            } => {
                *partial_sum = *total;
                *partial_integer = 0;
                *partial_count = *count;
                *total = 0.0;
                *count = 0;
            }
            _ => {}
        }
    }

    /// Whether any point was fed.
    pub fn is_empty(&self) -> bool {
        match self {
            Accumulator::Count(count) => *count == 0,
            Accumulator::SumFloat { seen, .. } => !seen,
            Accumulator::SumInteger(sum) => sum.is_none(),
            Accumulator::SumUnsigned(sum) => sum.is_none(),
            Accumulator::Mean {
                count,
                partial_count,
                ..
            } => *count == 0 && *partial_count == 0,
            Accumulator::Selector(_, best) => best.is_none(),
            Accumulator::EdgePerSeries(_, _, per_series) => per_series.is_empty(),
            Accumulator::Spread(range) => range.is_none(),
            Accumulator::Collect(points) => points.is_empty(),
        }
    }
}

/// The index of the point `min`/`max` keeps of a run of one series' floats (times
/// ascending): the first of the smallest/largest value, as pushing them one by one keeps
/// (a later equal value never replaces an earlier one). `None` for an empty run or one
/// holding a NaN: NaN compares equal to everything in [`better`], which is not an order,
/// so only the point-by-point feed gives the exact answer then.
fn run_extreme(kind: SelectorKind, values: &[f64]) -> Option<usize> {
    let mut best_index = 0;
    let mut best_value = *values.first()?;
    let mut any_nan = false;
    for (index, value) in values.iter().enumerate().skip(1) {
        any_nan |= value.is_nan();
        let better = match kind {
            SelectorKind::Max => *value > best_value,
            _ => *value < best_value,
        };
        if better {
            best_index = index;
            best_value = *value;
        }
    }
    (!any_nan && !best_value.is_nan()).then_some(best_index)
}

/// Arguments of a function besides its field.
#[derive(Clone, Debug, Default)]
pub struct CallArgs {
    /// `percentile(x, p)`
    pub percentile: f64,
    /// `top/bottom/sample(x, n)`, `moving_average(x, n)`
    pub count: usize,
    /// `count(distinct(x))`
    pub count_distinct: bool,
    /// `top`/`bottom` see only this many points of the window, in merge order (1.6.7 with
    /// a LIMIT and no GROUP BY time(): LIMIT + OFFSET + 1)
    pub raw_points_limit: Option<usize>,
    /// the query runs ORDER BY time DESC: `stddev` sees the points latest first, as 1.6.7's
    /// descending merge hands them on (its float sums round in that order)
    pub descending: bool,
}

/// The points a finished window yields for function `name`; `window_time` is the time
/// given to results that are not a selected point.
pub fn finish(
    name: &str,
    mut accumulator: Accumulator,
    args: &CallArgs,
    window_time: i64,
) -> Vec<Point> {
    accumulator.end_partial();
    let at = |value: Value| {
        vec![Point {
            time: window_time,
            value,
            origin: u32::MAX,
        }]
    };
    match accumulator {
        Accumulator::Count(count) => at(Value::Integer(count)),
        Accumulator::SumFloat { total, seen, .. } => {
            if seen {
                at(Value::Float(total))
            } else {
                Vec::new()
            }
        }
        Accumulator::SumInteger(sum) => sum.map_or_else(Vec::new, |s| at(Value::Integer(s))),
        Accumulator::SumUnsigned(sum) => sum.map_or_else(Vec::new, |s| at(Value::Unsigned(s))),
        Accumulator::Mean { total, count, .. } => {
            if count == 0 {
                Vec::new()
            } else {
                at(Value::Float(total / count as f64))
            }
        }
        Accumulator::Selector(_, best) => best.into_iter().collect(),
        Accumulator::EdgePerSeries(kind, pick, per_series) => pick_edge(kind, pick, per_series),
        Accumulator::Spread(range) => match range {
            None => Vec::new(),
            Some((Value::Integer(low), Value::Integer(high))) => {
                at(Value::Integer(high.wrapping_sub(low)))
            }
            Some((Value::Unsigned(low), Value::Unsigned(high))) => {
                at(Value::Unsigned(high.wrapping_sub(low)))
            }
            Some((low, high)) => at(Value::Float(as_f64(&high) - as_f64(&low))),
        },
        Accumulator::Collect(points) => finish_collected(name, points, args, window_time),
    }
}

/// `first`/`last` of a window from the best point of each series, as 1.6.7 picks it
/// ([`EdgePick`]). With equal times across several series the answer is therefore not
/// always the largest value (`func/first-equal-times-*`: of three series tied, the heap
/// hands out the first and the third).
fn pick_edge(kind: SelectorKind, pick: EdgePick, mut per_series: Vec<Point>) -> Vec<Point> {
    let last = kind == SelectorKind::Last;
    let wins = |candidate: &Point, best: &Point| {
        let earlier = if last {
            candidate.time > best.time
        } else {
            candidate.time < best.time
        };
        earlier || (candidate.time == best.time && value_cmp(&candidate.value, &best.value).is_gt())
    };
    let ordered: Vec<Point> = match pick {
        EdgePick::Best => per_series,
        EdgePick::HeapFirstTwo => {
            let runs: Vec<Vec<Point>> = per_series.into_iter().map(|p| vec![p]).collect();
            if last {
                super::heap_merge(runs, |a: &Point, b: &Point| a.time > b.time)
            } else {
                super::heap_merge(runs, |a: &Point, b: &Point| a.time < b.time)
            }
        }
        EdgePick::KeyOrderFirstTwo => {
            per_series.sort_by_key(|p| p.origin);
            if last {
                per_series.reverse();
                per_series.sort_by_key(|p| std::cmp::Reverse(p.time));
            } else {
                per_series.sort_by_key(|p| p.time);
            }
            per_series
        }
    };
    let considered = if pick == EdgePick::Best {
        usize::MAX
    } else {
        2
    };
    let mut best: Option<Point> = None;
    for point in ordered.into_iter().take(considered) {
        match &best {
            Some(current) if !wins(&point, current) => {}
            _ => best = Some(point),
        }
    }
    best.into_iter().collect()
}

fn finish_collected(
    name: &str,
    mut points: Vec<Point>,
    args: &CallArgs,
    window_time: i64,
) -> Vec<Point> {
    points = merge_order(points);
    let at = |value: Value| {
        vec![Point {
            time: window_time,
            value,
            origin: u32::MAX,
        }]
    };
    if points.is_empty() {
        return Vec::new();
    }
    match name {
        "count" if args.count_distinct => at(Value::Integer(distinct(points).len() as i64)),
        "distinct" => distinct(points)
            .into_iter()
            .map(|value| Point {
                time: window_time,
                value,
                origin: u32::MAX,
            })
            .collect(),
        "median" => {
            points.sort_by(|a, b| value_cmp(&a.value, &b.value));
            let n = points.len();
            let middle = |i: usize| points.get(i).map_or(f64::NAN, |p| as_f64(&p.value));
            if n % 2 == 1 {
                at(Value::Float(middle(n / 2)))
            } else {
                let (low, high) = (middle(n / 2 - 1), middle(n / 2));
                at(Value::Float(low + (high - low) / 2.0))
            }
        }
        "mode" => mode(points).map_or_else(Vec::new, &at),
        "stddev" => {
            let ordered;
            let points = if args.descending {
                ordered = descending_merge_order(points.clone());
                &ordered
            } else {
                &points
            };
            let values: Vec<f64> = points.iter().map(|p| as_f64(&p.value)).collect();
            if values.len() < 2 {
                return at(Value::Null);
            }
            let mut mean = 0.0;
            let mut count = 0usize;
            for value in values.iter().filter(|v| !v.is_nan()) {
                count += 1;
                mean += (value - mean) / count as f64;
            }
            let variance: f64 = values
                .iter()
                .filter(|v| !v.is_nan())
                .map(|v| (v - mean).powi(2))
                .sum();
            at(Value::Float((variance / (count as f64 - 1.0)).sqrt()))
        }
        "percentile" => {
            points.sort_by(|a, b| value_cmp(&a.value, &b.value));
            let index = (points.len() as f64 * args.percentile / 100.0 + 0.5).floor() as i64 - 1;
            if index < 0 {
                return Vec::new();
            }
            points.into_iter().nth(index as usize).into_iter().collect()
        }
        "top" | "bottom" => {
            let top = name == "top";
            if let Some(limit) = args.raw_points_limit {
                points.truncate(limit);
            }
            points.sort_by(|a, b| {
                let by_value = value_cmp(&a.value, &b.value);
                let by_value = if top { by_value.reverse() } else { by_value };
                by_value.then(a.time.cmp(&b.time))
            });
            points.truncate(args.count);
            points.sort_by_key(|p| p.time);
            points
        }
        "sample" => sample(points, args.count),
        _ => Vec::new(),
    }
}

/// The most frequent value of `points`, as 1.6.7's mode reducers pick it (`None` for no
/// points).
///
/// Booleans: true unless false is more frequent. Other types: the points are sorted by
/// value (strings by bytes), then by time, and walked run by run. The first run counts
/// its first point; every later run starts counting at its second point, so a later value
/// seen once never wins; among runs of the same length the one whose earliest point is
/// earlier wins.
fn mode(mut points: Vec<Point>) -> Option<Value> {
    if matches!(points.first().map(|p| &p.value), Some(Value::Boolean(_))) {
        let trues = points
            .iter()
            .filter(|p| p.value == Value::Boolean(true))
            .count();
        return Some(Value::Boolean(trues * 2 >= points.len()));
    }
    points.sort_by(|a, b| value_cmp(&a.value, &b.value).then(a.time.cmp(&b.time)));
    let first = points.first()?;
    let (mut most_value, mut most_count, mut most_time) = (&first.value, 0usize, first.time);
    let (mut current_value, mut current_count, mut current_time) = (&first.value, 0, first.time);
    for point in &points {
        if point.value != *current_value {
            (current_value, current_count, current_time) = (&point.value, 1, point.time);
            continue;
        }
        current_count += 1;
        if most_count > current_count || (most_count == current_count && current_time > most_time) {
            continue;
        }
        (most_value, most_count, most_time) = (current_value, current_count, current_time);
    }
    Some(most_value.clone())
}

/// The points in the order 1.6.7's sorted merge of the series would hand them on: the
/// points arrive series after series (each in time order) and are merged by time with
/// a replay of Go's heap.
fn merge_order(points: Vec<Point>) -> Vec<Point> {
    let mut runs: Vec<Vec<Point>> = Vec::new();
    for point in points {
        match runs.last_mut() {
            Some(run)
                if run
                    .last()
                    .is_some_and(|p| p.origin == point.origin && p.time <= point.time) =>
            {
                run.push(point)
            }
            _ => runs.push(vec![point]),
        }
    }
    super::heap_merge(runs, |a: &Point, b: &Point| a.time < b.time)
}

/// `points` (in ascending merge order, series runs in time order) as 1.6.7's descending
/// merge hands them on: each series run latest first, merged by descending time with a
/// replay of Go's heap.
fn descending_merge_order(points: Vec<Point>) -> Vec<Point> {
    let mut runs: Vec<Vec<Point>> = Vec::new();
    for point in points {
        match runs
            .iter_mut()
            .find(|run| run.first().is_some_and(|p| p.origin == point.origin))
        {
            Some(run) => run.push(point),
            None => runs.push(vec![point]),
        }
    }
    for run in &mut runs {
        run.sort_by_key(|p| std::cmp::Reverse(p.time));
    }
    super::heap_merge(runs, |a: &Point, b: &Point| a.time > b.time)
}

/// Distinct values in order of first appearance.
/// The distinct values of `points`, ordered as 1.6.7 emits them: each value at the time it
/// first occurs, sorted by that time, then by value.
fn distinct(mut points: Vec<Point>) -> Vec<Value> {
    // Sorting by value (then time) puts each value's first occurrence first among its
    // equals: O(n log n), where looking each value up in the ones seen was O(n²).
    points.sort_by(|a, b| value_cmp(&a.value, &b.value).then(a.time.cmp(&b.time)));
    points.dedup_by(|later, first| later.value == first.value);
    points.sort_by(|a, b| a.time.cmp(&b.time).then(value_cmp(&a.value, &b.value)));
    points.into_iter().map(|p| p.value).collect()
}

/// Seed of `sample()`'s reservoir (fixed: the same query gives the same answer).
const SAMPLE_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

fn sample(mut points: Vec<Point>, size: usize) -> Vec<Point> {
    if points.len() > size {
        let mut state = SAMPLE_SEED;
        let mut reservoir: Vec<Point> = Vec::with_capacity(size);
        for (index, point) in points.into_iter().enumerate() {
            if index < size {
                reservoir.push(point);
                continue;
            }
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let slot = (state % (index as u64 + 1)) as usize;
            if let Some(entry) = reservoir.get_mut(slot) {
                *entry = point;
            }
        }
        points = reservoir;
    }
    // 1.6.7 sorts the sample by time, then by value.
    points.sort_by(|a, b| a.time.cmp(&b.time).then(value_cmp(&a.value, &b.value)));
    points
}

/// `top(x, tag, n)` / `bottom(...)`: the best point of each tag value, then the best `n`
/// of those, in time order. `tag_of` gives a point's tag value.
pub fn top_by_tag(
    name: &str,
    points: Vec<Point>,
    count: usize,
    tag_of: &dyn Fn(&Point) -> String,
) -> Vec<Point> {
    let kind = if name == "top" {
        SelectorKind::Max
    } else {
        SelectorKind::Min
    };
    let mut best: Vec<(String, Point)> = Vec::new();
    for point in points {
        let tag = tag_of(&point);
        match best.iter_mut().find(|(t, _)| *t == tag) {
            Some((_, current)) => {
                if better(kind, &point, current) {
                    *current = point;
                }
            }
            None => best.push((tag, point)),
        }
    }
    let finalists: Vec<Point> = best.into_iter().map(|(_, p)| p).collect();
    finish_collected(
        name,
        finalists,
        &CallArgs {
            count,
            ..CallArgs::default()
        },
        0,
    )
}

/// Integral by the trapezium rule, per window, carrying the previous point across window
/// edges with linear interpolation (1.6.7's integral reducer). `points` are in time
/// order; `window_of` gives `(start, end)` of a time's window (`None`: one window).
pub fn integral(
    points: &[Point],
    unit_ns: i64,
    window_of: Option<&dyn Fn(i64) -> (i64, i64)>,
    single_window_time: i64,
) -> Vec<Point> {
    let mut result = Vec::new();
    let mut previous: Option<(i64, f64)> = None;
    let mut window = (0i64, 0i64);
    let mut sum = 0.0;
    let unit = unit_ns as f64;
    for point in points {
        let value = as_f64(&point.value);
        let Some((prev_time, prev_value)) = previous else {
            previous = Some((point.time, value));
            if let Some(window_of) = window_of {
                window = window_of(point.time);
            }
            continue;
        };
        if prev_time == point.time {
            previous = Some((point.time, value));
            continue;
        }
        let (mut prev_time, mut prev_value) = (prev_time, prev_value);
        // what the segment after a window's end starts from (see below)
        let mut segment_value = value;
        if let Some(window_of) = window_of {
            if point.time >= window.1 {
                if prev_time != window.1 {
                    // Go's slope times offset, for its rounding.
                    let slope = (value - prev_value) / (point.time - prev_time) as f64;
                    let edge = slope * (window.1 - prev_time) as f64 + prev_value;
                    let elapsed = (window.1 - prev_time) as f64 / unit;
                    sum += 0.5 * (edge + prev_value) * elapsed;
                    prev_time = window.1;
                    if matches!(point.value, Value::Integer(_)) {
                        // 1.6.7's integer integral keeps the previous point's value and
                        // takes the edge for the new point's: the next window's first
                        // segment runs from the old value to the edge (probed:
                        // gen-func/integral/integer/by-time-tag).
                        segment_value = edge;
                    } else {
                        prev_value = edge;
                    }
                }
                result.push(Point {
                    time: window.0,
                    value: Value::Float(sum),
                    origin: u32::MAX,
                });
                window = window_of(point.time);
                sum = 0.0;
            }
        }
        let elapsed = (point.time - prev_time) as f64 / unit;
        sum += 0.5 * (segment_value + prev_value) * elapsed;
        previous = Some((point.time, value));
    }
    // 1.6.7 drops the last window when its last point is at the window's start: there is
    // no area in it (`gen-subquery/integral/agg-by-time-tag/*`).
    let last_has_area = match previous {
        Some((prev_time, _)) => window_of.is_none() || prev_time != window.0,
        None => false,
    };
    if last_has_area {
        let time = if window_of.is_some() {
            window.0
        } else {
            single_window_time
        };
        result.push(Point {
            time,
            value: Value::Float(sum),
            origin: u32::MAX,
        });
    }
    result
}

/// Parameters of a transformation.
#[derive(Clone, Copy, Debug)]
pub struct Transform<'a> {
    /// the function name
    pub name: &'a str,
    /// `derivative`/`elapsed` unit, ns
    pub unit_ns: i64,
    /// `moving_average` window
    pub window: usize,
    /// points run in ascending time order
    pub ascending: bool,
}

/// Applies a transformation to a group's points (in output order, nulls skipped).
pub fn transform(points: &[Point], spec: Transform<'_>) -> Vec<Point> {
    let mut result = Vec::new();
    let usable = points.iter().filter(|p| p.value != Value::Null);
    match spec.name {
        "derivative"
        | "non_negative_derivative"
        | "difference"
        | "non_negative_difference"
        | "elapsed" => {
            let mut previous: Option<&Point> = None;
            for point in usable {
                let Some(prev) = previous else {
                    previous = Some(point);
                    continue;
                };
                if prev.time == point.time && spec.name != "elapsed" {
                    continue;
                }
                // 1.6.7 drops a non-negative point by its change, not its rate: with
                // points out of time order (selectors of an inner query) they differ.
                let mut decreasing = false;
                let value = match spec.name {
                    "elapsed" => Value::Integer((point.time - prev.time) / spec.unit_ns.max(1)),
                    "difference" | "non_negative_difference" => {
                        let value = difference(&point.value, &prev.value);
                        decreasing = match &value {
                            Value::Float(v) => *v < 0.0,
                            Value::Integer(v) => *v < 0,
                            _ => false,
                        };
                        value
                    }
                    _ => {
                        let mut elapsed = (point.time - prev.time) as f64;
                        if !spec.ascending {
                            elapsed = -elapsed;
                        }
                        // Integers change by a wrapping i64 difference, as in 1.6.7.
                        let change = match (&point.value, &prev.value) {
                            (Value::Integer(a), Value::Integer(b)) => a.wrapping_sub(*b) as f64,
                            (a, b) => as_f64(a) - as_f64(b),
                        };
                        decreasing = change < 0.0;
                        Value::Float(change / (elapsed / spec.unit_ns as f64))
                    }
                };
                previous = Some(point);
                if spec.name.starts_with("non_negative") && decreasing {
                    continue;
                }
                result.push(Point {
                    time: point.time,
                    value,
                    origin: u32::MAX,
                });
            }
        }
        "moving_average" => {
            // Integers are summed in a wrapping i64 (1.6.7: {i64::MIN, i64::MAX} averages
            // to -0.5), everything else in f64.
            let mut window: std::collections::VecDeque<Value> = std::collections::VecDeque::new();
            let mut sum = 0.0;
            let mut sum_integer: i64 = 0;
            for point in usable {
                let value = &point.value;
                // The oldest value leaves the sum before the new one joins it, in 1.6.7's
                // order (the float rounding differs the other way round).
                if window.len() == spec.window {
                    match window.pop_front() {
                        Some(Value::Integer(v)) => sum_integer = sum_integer.wrapping_sub(v),
                        Some(other) => sum -= as_f64(&other),
                        None => {}
                    }
                }
                if let Value::Integer(v) = value {
                    sum_integer = sum_integer.wrapping_add(*v);
                } else {
                    sum += as_f64(value);
                }
                window.push_back(value.clone());
                if window.len() == spec.window {
                    let total = sum + sum_integer as f64;
                    result.push(Point {
                        time: point.time,
                        value: Value::Float(total / spec.window as f64),
                        origin: u32::MAX,
                    });
                }
            }
        }
        "cumulative_sum" => {
            let mut total: Option<Value> = None;
            for point in usable {
                let next = match (&total, &point.value) {
                    (None, value) => value.clone(),
                    (Some(Value::Integer(a)), Value::Integer(b)) => {
                        Value::Integer(a.wrapping_add(*b))
                    }
                    (Some(Value::Unsigned(a)), Value::Unsigned(b)) => {
                        Value::Unsigned(a.wrapping_add(*b))
                    }
                    (Some(a), b) => Value::Float(as_f64(a) + as_f64(b)),
                };
                total = Some(next.clone());
                result.push(Point {
                    time: point.time,
                    value: next,
                    origin: u32::MAX,
                });
            }
        }
        _ => {}
    }
    result
}

fn difference(current: &Value, previous: &Value) -> Value {
    match (current, previous) {
        (Value::Integer(a), Value::Integer(b)) => Value::Integer(a.wrapping_sub(*b)),
        (Value::Unsigned(a), Value::Unsigned(b)) => Value::Unsigned(a.wrapping_sub(*b)),
        (a, b) => Value::Float(as_f64(a) - as_f64(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[(i64, f64)]) -> Vec<Point> {
        values
            .iter()
            .map(|&(time, value)| Point {
                time,
                value: Value::Float(value),
                origin: 0,
            })
            .collect()
    }

    #[test]
    fn integral_by_window_matches_influxd() {
        const S: i64 = 1_000_000_000;
        let window_of = |t: i64| {
            let start = t - t.rem_euclid(20 * S);
            (start, start + 20 * S)
        };
        // gen-func/integral/integer/by-time-tag (host b's `i`), as influxd 1.6.7 answers:
        // after the gap the window at 80 s starts from 3 (the value before the gap) to the
        // edge 2.333..., not from the edge to 1.
        let integers: Vec<Point> = [(0, 10), (10, 8), (20, 8), (30, 12), (40, 7), (50, 3)]
            .into_iter()
            .chain([(80, 1), (90, -2), (100, 15), (110, 4)])
            .map(|(t, v)| Point {
                time: t * S,
                value: Value::Integer(v),
                origin: 0,
            })
            .collect();
        let sums: Vec<(i64, Value)> = integral(&integers, S, Some(&window_of), 0)
            .into_iter()
            .map(|p| (p.time / S, p.value))
            .collect();
        assert_eq!(
            sums,
            [
                (0, Value::Float(170.0)),
                (20, Value::Float(195.0)),
                (40, Value::Float(76.66666666666666)),
                (80, Value::Float(113.33333333333333)),
                (100, Value::Float(95.0)),
            ]
        );
        // A last window whose only point is at its start has no area and no row.
        let floats = points(&[(0, 1.0), (10 * S, 3.0), (20 * S, 5.0)]);
        let sums = integral(&floats, S, Some(&window_of), 0);
        assert_eq!(sums.len(), 1);
        assert_eq!(sums[0].value, Value::Float(20.0 + 40.0));
    }

    #[test]
    fn non_negative_derivative_drops_by_change_not_rate() {
        // Points out of time order (selectors of an inner query): 21 at 110 s, then 40 at
        // 100 s (a rise over negative time, rate -1.9, kept), then 3 at 50 s (a fall,
        // rate 0.74, dropped), as influxd 1.6.7 answers.
        let input = points(&[
            (110_000_000_000, 21.0),
            (100_000_000_000, 40.0),
            (50_000_000_000, 3.0),
        ]);
        let spec = |name| Transform {
            name,
            unit_ns: 1_000_000_000,
            window: 0,
            ascending: true,
        };
        let kept = transform(&input, spec("non_negative_derivative"));
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].time, 100_000_000_000);
        assert_eq!(kept[0].value, Value::Float(-1.9));
        let kept = transform(&input, spec("non_negative_difference"));
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].value, Value::Float(19.0));
    }

    /// Feeds `columns` (one per series, in order) point by point and by runs of the given
    /// lengths; both must finish to the same points, bit for bit.
    fn assert_runs_match_points(name: &str, sample: &Value, columns: &[Column], run: usize) {
        let args = CallArgs::default();
        let mut by_point = Accumulator::new(name, sample);
        let mut by_run = Accumulator::new(name, sample);
        for (origin, column) in columns.iter().enumerate() {
            for index in 0..column.len() {
                let value = column_value(&column.values, index);
                by_point.push(column.times[index], &value, origin as u32);
            }
            let mut begin = 0;
            while begin < column.len() {
                let end = (begin + run).min(column.len());
                by_run.push_run(column, begin..end, origin as u32);
                begin = end;
            }
            by_point.end_partial();
            by_run.end_partial();
        }
        let expected = format!("{:?}", finish(name, by_point, &args, 7));
        assert_eq!(
            format!("{:?}", finish(name, by_run, &args, 7)),
            expected,
            "{name} run {run}"
        );
    }

    #[test]
    fn push_run_matches_pushing_each_point() {
        // Seed printed so a failure can be replayed.
        let seed: u64 = 0x0c01_5eed;
        println!("seed {seed:#x}");
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            state >> 33
        };
        let mut float_columns = Vec::new();
        let mut integer_columns = Vec::new();
        for _ in 0..5 {
            let length = (next() % 40) as usize;
            let times: Vec<i64> = (0..length as i64).map(|i| i * 10).collect();
            // Few distinct values, so ties (equal values, equal times across series) happen.
            // -0.0 beside 0.0 (equal, told apart in the answer); in one column of five a NaN
            // (equal to everything in `better`, so not an order).
            let with_nan = float_columns.len() == 2;
            let mut floats: Vec<f64> = times
                .iter()
                .map(|_| match next() % 9 {
                    7 => -0.0,
                    8 if with_nan => f64::NAN,
                    8 => 0.0,
                    n => n as f64 * 0.1 - 0.3,
                })
                .collect();
            if let (true, Some(first)) = (with_nan, floats.first_mut()) {
                // A NaN first: point by point it is kept only if nothing came before.
                *first = f64::NAN;
            }
            let integers = times.iter().map(|_| (next() % 7) as i64 - 3).collect();
            float_columns.push(Column {
                times: times.clone(),
                values: ColumnValues::Float(floats),
            });
            integer_columns.push(Column {
                times,
                values: ColumnValues::Integer(integers),
            });
        }
        // A NaN at the start of a run that does not win (an equal time is not earlier), and
        // a larger value after it that does.
        let nan_first = [
            Column {
                times: vec![0],
                values: ColumnValues::Float(vec![1.0]),
            },
            Column {
                times: vec![0, 10],
                values: ColumnValues::Float(vec![f64::NAN, 5.0]),
            },
        ];
        for name in ["min", "max"] {
            assert_runs_match_points(name, &Value::Float(0.0), &nan_first, 2);
        }
        let mut mixed = integer_columns.clone();
        mixed.extend(float_columns.iter().cloned());
        for name in [
            "count", "sum", "mean", "min", "max", "first", "last", "spread", "median",
        ] {
            for run in [1, 3, 1000] {
                assert_runs_match_points(name, &Value::Float(0.0), &float_columns, run);
                assert_runs_match_points(name, &Value::Integer(0), &integer_columns, run);
                assert_runs_match_points(name, &Value::Float(0.0), &mixed, run);
            }
        }
    }

    fn run(name: &str, values: &[(i64, f64)], args: &CallArgs) -> Vec<Point> {
        let mut accumulator = Accumulator::new(name, &Value::Float(0.0));
        for point in points(values) {
            accumulator.push(point.time, &point.value, 0);
        }
        finish(name, accumulator, args, 0)
    }

    #[test]
    fn streaming_aggregates() {
        let data = [(1, 2.0), (2, 4.0), (3, 4.0), (4, 1.0)];
        let args = CallArgs::default();
        assert_eq!(run("count", &data, &args)[0].value, Value::Integer(4));
        assert_eq!(run("sum", &data, &args)[0].value, Value::Float(11.0));
        assert_eq!(run("mean", &data, &args)[0].value, Value::Float(2.75));
        assert_eq!(run("spread", &data, &args)[0].value, Value::Float(3.0));
        let max = run("max", &data, &args);
        assert_eq!((max[0].time, &max[0].value), (2, &Value::Float(4.0)));
        let last = run("last", &data, &args);
        assert_eq!(last[0].time, 4);
        assert!(run("sum", &[], &args).is_empty());
    }

    #[test]
    fn first_and_last_of_equal_times_follow_the_heap() {
        // One point per series, all at one time: 1.6.7 compares only the first two series
        // its heap hands out (a and c of three, a and e of five).
        let at_once = |values: &[f64]| -> Vec<Point> {
            values
                .iter()
                .enumerate()
                .map(|(origin, v)| Point {
                    time: 10,
                    value: Value::Float(*v),
                    origin: origin as u32,
                })
                .collect()
        };
        for kind in [SelectorKind::First, SelectorKind::Last] {
            let picked = |values: &[f64]| {
                pick_edge(kind, EdgePick::HeapFirstTwo, at_once(values))[0]
                    .value
                    .clone()
            };
            assert_eq!(picked(&[1.0, 2.0, 0.0]), Value::Float(1.0));
            assert_eq!(picked(&[5.0, 9.0, 7.0]), Value::Float(7.0));
            assert_eq!(picked(&[2.0, 4.0, 1.0, 3.0, 5.0]), Value::Float(5.0));
            assert_eq!(picked(&[1.0, 2.0]), Value::Float(2.0));
        }
    }

    #[test]
    fn collecting_aggregates() {
        let data = [(1, 5.0), (2, 7.0), (3, 9.0), (4, 6.0)];
        let args = CallArgs {
            percentile: 50.0,
            count: 2,
            count_distinct: false,
            raw_points_limit: None,
            descending: false,
        };
        assert_eq!(run("median", &data, &args)[0].value, Value::Float(6.5));
        assert_eq!(run("percentile", &data, &args)[0].value, Value::Float(6.0));
        let top = run("top", &data, &args);
        assert_eq!(top.iter().map(|p| p.time).collect::<Vec<_>>(), vec![2, 3]);
        let stddev = run("stddev", &[(1, 1.0)], &args);
        assert_eq!(stddev[0].value, Value::Null);
        let zero = CallArgs {
            percentile: 0.0,
            ..args
        };
        assert!(run("percentile", &data, &zero).is_empty());
    }

    #[test]
    fn transformations() {
        let data = points(&[(0, 30.0), (10_000_000_000, 28.5), (20_000_000_000, 31.0)]);
        let spec = Transform {
            name: "derivative",
            unit_ns: 1_000_000_000,
            window: 0,
            ascending: true,
        };
        let derivative = transform(&data, spec);
        assert_eq!(derivative.len(), 2);
        assert_eq!(derivative[0].value, Value::Float(-0.15));
        let average = transform(
            &data,
            Transform {
                name: "moving_average",
                window: 2,
                ..spec
            },
        );
        assert_eq!(average[0].value, Value::Float(29.25));
        let cumulative = transform(
            &data,
            Transform {
                name: "cumulative_sum",
                ..spec
            },
        );
        assert_eq!(cumulative[2].value, Value::Float(89.5));
    }

    #[test]
    fn integral_interpolates_window_edges() {
        let second = 1_000_000_000;
        let data = points(&[(0, 30.0), (50 * second, 33.5), (70 * second, 29.0)]);
        let window = |t: i64| {
            let start = t - t.rem_euclid(60 * second);
            (start, start + 60 * second)
        };
        let result = integral(&data, 10 * second, Some(&window), 0);
        assert_eq!(result.len(), 2);
        // 0..50: (30 + 33.5) / 2 * 5 = 158.75; 50..60 to the edge value 31.25: 32.375
        assert_eq!(result[0].value, Value::Float(158.75 + 32.375));
    }
}
