//! Merging the partial aggregates that owners compute for a fanned-out query, so that
//! `count`, `sum`, `min`, `max`, `first`, `last` and `mean` can be pushed down to the owner
//! of each shard and give the answer one node holding every shard would give, bit for bit.
//!
//! The unit of a partial is one (series, shard): 1.6.7 (and `query::select::reduce`) already
//! computes these functions per (shard, series) and then folds the partials in order (a
//! float `sum` adds the per-unit sums; `mean` adds `(sum_u / n_u) · n_u` and divides by
//! `Σ n_u`). An owner computes the partial of each unit it holds ([`partial_of`]); the
//! querying node sorts every owner's units by [`UnitKey`] (series, then shard time, then
//! shard id: the order a single node folds them in) and folds them with the very same
//! accumulator ([`merge`]). So the result does not depend on how shards are spread over
//! owners nor on the order answers arrive, and equals the single-node computation exactly,
//! including float rounding and the tie rules of the selectors (min/max: the earlier of
//! equal values; first/last: per series the earlier/later point, then 1.6.7's choice among
//! series, `reduce::pick_edge`).
//!
//! Why the merge reuses `reduce::Accumulator` rather than its own arithmetic: one
//! implementation of the fold means the pushed-down answer cannot drift from the local one.
//! A unit's partial is small (a count, a sum, or one point), so an owner's answer is
//! O(series × shards) values, never its points. What is left for the query fan-out RPC: the
//! wire form of a [`Partial`] and the request that asks an owner for its units.

use crate::query::result::Value;
use crate::query::select::reduce::{finish, Accumulator, CallArgs, EdgePick, Point};

/// The functions whose partials merge exactly.
pub const MERGEABLE_FUNCTIONS: [&str; 7] = ["count", "sum", "mean", "min", "max", "first", "last"];

/// Where a partial comes from, in the order a single node folds partials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitKey {
    /// the series' index in its group (the `origin` of its points)
    pub series: u32,
    /// the shard's start time, ns
    pub shard_start_ns: i64,
    /// the shard's id (two shards of one time range: placement order)
    pub shard_id: u64,
}

/// The partial aggregate of one unit, as an owner computes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Partial {
    /// `count`: points
    Count(i64),
    /// `sum` of floats: the unit's sum, in point order
    SumFloat(f64),
    /// `sum` of integers (wrapping, as 1.6.7 sums)
    SumInteger(i64),
    /// `sum` of unsigned integers (wrapping)
    SumUnsigned(u64),
    /// `mean`: the unit's float sum, integer sum and point count
    Mean {
        /// Σ of float values (and of non-integer numbers)
        float_sum: f64,
        /// Σ of integer values, wrapping
        integer_sum: i64,
        /// points
        count: u64,
    },
    /// `min`, `max`, `first`, `last`: the unit's chosen point (`None`: no point)
    Selected(Option<Point>),
}

/// The partial of `function` over one unit's points (in time order, as a shard reads them);
/// `None` for a function whose partials do not merge exactly, or no points. `pick` must be
/// the query's, as for [`merge`]: with `EdgePick::Best`, a series' `first`/`last` keeps the
/// larger of two values at its edge time.
pub fn partial_of(
    function: &str,
    pick: EdgePick,
    points: &[(i64, Value)],
    series: u32,
) -> Option<Partial> {
    let (_, sample) = points.first()?;
    if !MERGEABLE_FUNCTIONS.contains(&function) {
        return None;
    }
    let mut accumulator = Accumulator::new(function, sample).with_edge_pick(pick);
    for (time, value) in points {
        accumulator.push(*time, value, series);
    }
    Some(match accumulator {
        Accumulator::Count(count) => Partial::Count(count),
        Accumulator::SumFloat { partial, .. } => Partial::SumFloat(partial),
        Accumulator::SumInteger(sum) => Partial::SumInteger(sum.unwrap_or(0)),
        Accumulator::SumUnsigned(sum) => Partial::SumUnsigned(sum.unwrap_or(0)),
        Accumulator::Mean {
            partial_sum,
            partial_integer,
            partial_count,
            ..
        } => Partial::Mean {
            float_sum: partial_sum,
            integer_sum: partial_integer,
            count: partial_count,
        },
        Accumulator::Selector(_, best) => Partial::Selected(best),
        Accumulator::EdgePerSeries(_, _, mut per_series) => Partial::Selected(per_series.pop()),
        _ => panic!("BUG: {function} is mergeable but has no partial form"),
    })
}

/// Folds the units of every owner (in any order, each unit once) into `function`'s result
/// over the window at `window_time`, exactly as one node holding every unit computes it.
/// `sample` is a value of the field (it picks the integer or float `sum`); `pick` is how
/// `first`/`last` choose among series for this query's shape.
pub fn merge(
    function: &str,
    sample: &Value,
    pick: EdgePick,
    mut units: Vec<(UnitKey, Partial)>,
    window_time: i64,
) -> Vec<Point> {
    units.sort_by_key(|(key, _)| *key);
    let mut accumulator = Accumulator::new(function, sample).with_edge_pick(pick);
    for (key, partial) in units {
        fold_unit(&mut accumulator, key, partial);
    }
    finish(function, accumulator, &CallArgs::default(), window_time)
}

/// Adds one unit to `accumulator` as if its points had been pushed, then ends the unit.
fn fold_unit(accumulator: &mut Accumulator, key: UnitKey, partial: Partial) {
    match (&mut *accumulator, partial) {
        (Accumulator::Count(count), Partial::Count(n)) => *count += n,
        (Accumulator::SumFloat { partial, seen, .. }, Partial::SumFloat(sum)) => {
            *partial = sum;
            *seen = true;
        }
        (Accumulator::SumInteger(total), Partial::SumInteger(sum)) => {
            *total = Some(total.unwrap_or(0).wrapping_add(sum));
        }
        (Accumulator::SumUnsigned(total), Partial::SumUnsigned(sum)) => {
            *total = Some(total.unwrap_or(0).wrapping_add(sum));
        }
        (
            Accumulator::Mean {
                partial_sum,
                partial_integer,
                partial_count,
                ..
            },
            Partial::Mean {
                float_sum,
                integer_sum,
                count,
            },
        ) => {
            *partial_sum = float_sum;
            *partial_integer = integer_sum;
            *partial_count = count;
        }
        (Accumulator::Selector(..) | Accumulator::EdgePerSeries(..), Partial::Selected(best)) => {
            if let Some(point) = best {
                accumulator.push(point.time, &point.value, key.series);
            }
        }
        (accumulator, partial) => {
            panic!("BUG: a {partial:?} partial folded into a {accumulator:?} accumulator")
        }
    }
    accumulator.end_partial();
}

#[cfg(test)]
mod tests;
