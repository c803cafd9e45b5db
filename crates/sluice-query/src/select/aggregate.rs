//! Aggregate queries: every outermost reducing call ("leaf") is computed per group as a
//! list of points, the leaves are joined by time into rows, and the field expressions
//! are evaluated per row.
//!
//! Leaf kinds: aggregates and selectors stream each (shard, series) column into
//! per-window accumulators (windows from GROUP BY time, or one window for the whole
//! range), then fill empty windows; `integral` and transformations of raw fields run
//! over the group's time-ordered points; transformations of an aggregate run over its
//! filled windows (nulls skipped).
//!
//! Times: aggregates report the window start (the range start, or 0 without a lower
//! bound, when there is no GROUP BY time); `top`, `bottom` and `sample` report each
//! point's time; other selectors report the point's time only when they are the single
//! call of a query without GROUP BY time.
//!
//! Transformations of an aggregate see its filled windows from one interval before the
//! range (after it, descending) when 1.6.7 widens its iterator for them
//! ([`plan::reads_previous_interval`]); the technical-analysis functions and holt_winters
//! are resolved once per execution ([`plan::TypedTransform`]) and computed by their own
//! modules ([`super::technical`], [`super::holt_winters`]). The raw points of a group reach
//! a transformation merged as 1.6.7's sorted merge hands them on (Go's heap per shard).

use crate::result::Value;
use sluice_influxql::ast::{Call, DataType, Expr, Field, Fill, Literal, VarRef};

use super::eval::{self, RegexCache, Row};
use super::merge_order::{self, Partial};
use super::plan::{self, is_selector, is_transformation, TypedTransform};
use super::raw::{ConditionRow, Cursor};
use super::reduce::{self, Accumulator, CallArgs, EdgePick, Point, Transform};
use super::time::{TimeRange, Windows};
use super::{column_value, heap_merge, holt_winters, technical};
use super::{type_name, Exec, Group, GroupRows, Measurement, SelectContext};
use sluice_ingest::record::FieldType;
use sluice_storage::column::Column;
use sluice_storage::engine::summary::{BlockSummary, Edge};
use sluice_storage::engine::Shard;

pub(super) const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// A point of a leaf with the time it is reported at.
#[derive(Clone, Debug)]
pub(super) struct LeafPoint {
    /// the time of the output row
    pub(super) out_time: i64,
    /// the point (its own time, value, origin series)
    pub(super) point: Point,
}

/// Windows keyed by start, with their accumulators.
#[derive(Default)]
struct WindowSet {
    /// ascending, one per accumulator
    starts: Vec<i64>,
    accumulators: Vec<Accumulator>,
}

impl WindowSet {
    /// The windows as partials, in the query's window order.
    fn into_partials(self, ascending: bool) -> Vec<Partial<Accumulator>> {
        let mut partials: Vec<Partial<Accumulator>> =
            self.starts.into_iter().zip(self.accumulators).collect();
        if !ascending {
            partials.reverse();
        }
        partials
    }

    fn slot(&mut self, start: i64, make: &dyn Fn() -> Accumulator) -> usize {
        match self.starts.binary_search(&start) {
            Ok(index) => index,
            Err(index) => {
                self.starts.insert(index, start);
                self.accumulators.insert(index, make());
                index
            }
        }
    }
}

fn field_of_call(call: &Call) -> Option<(&VarRef, bool)> {
    match call.args.first() {
        Some(Expr::VarRef(var)) => Some((var, false)),
        Some(Expr::Call(inner)) if inner.name == "distinct" => match inner.args.first() {
            Some(Expr::VarRef(var)) => Some((var, true)),
            _ => None,
        },
        _ => None,
    }
}

fn distinct_name(call: &Call) -> Option<String> {
    match call.args.first() {
        Some(Expr::Distinct(name)) => Some(name.clone()),
        _ => None,
    }
}

/// The `unsupported ... iterator type` error 1.6.7 gives for a function of a type it
/// cannot take: a field's stored type, or what the aggregate inside a transformation yields
/// (`derivative(first(s))` reads strings). `typed`: the call resolved, when it is a
/// technical-analysis function or holt_winters.
fn check_leaf_type(
    call: &Call,
    typed: Option<&TypedTransform>,
    measurement: &Measurement,
) -> Result<(), String> {
    let value_type = match call.args.first() {
        Some(Expr::Call(inner)) if is_transformation(&call.name) => {
            check_leaf_type(inner, None, measurement)?;
            let inner_argument = match inner.args.first() {
                Some(Expr::VarRef(var)) => {
                    measurement.field_type(&var.name).map(super::data_type_of)
                }
                _ => None,
            };
            match plan::call_type(&inner.name, inner_argument) {
                Some(data_type) => data_type.as_str(),
                None => return Ok(()),
            }
        }
        Some(Expr::VarRef(var)) => match measurement.field_type(&var.name) {
            Some(field_type) if is_transformation(&call.name) => {
                match cast_type(field_type, var.data_type) {
                    Some(value_type) => value_type,
                    // A cast that cannot apply reads nothing: no rows, not an error.
                    None => return Ok(()),
                }
            }
            Some(field_type) => type_name(field_type),
            None => return Ok(()),
        },
        _ => return Ok(()),
    };
    if plan::accepts_type(&call.name, value_type) {
        return Ok(());
    }
    // influxd names a transformation's iterator in words, the non-negative forms as the
    // plain ones (`non_negative_derivative` → `derivative`, `cumulative_sum` → `cumulative
    // sum`).
    let iterator = if let Some(typed) = typed {
        typed.iterator_name().to_string()
    } else if is_transformation(&call.name) {
        call.name
            .trim_start_matches("non_negative_")
            .replace('_', " ")
    } else {
        call.name.clone()
    };
    Err(format!(
        "unsupported {iterator} iterator type: *query.{value_type}InterruptIterator"
    ))
}

/// Executes an aggregate query over one measurement: `(group tags, rows)` per group.
pub(super) fn execute(
    exec: &Exec<'_>,
    measurement: &Measurement,
    groups: &[Group],
    fields: &[Field],
) -> Result<GroupRows, String> {
    let mut leaves: Vec<Call> = Vec::new();
    let mut auxes: Vec<VarRef> = Vec::new();
    for field in fields {
        for leaf in plan::leaves(&field.expr) {
            if !leaves.contains(leaf) {
                leaves.push(leaf.clone());
            }
        }
        for var in plan::raw_refs(&field.expr) {
            if !auxes.contains(var) {
                auxes.push(var.clone());
            }
        }
    }
    let interval_ns = exec.windows.as_ref().map_or(0, |w| w.interval_ns);
    let mut typed: Vec<Option<TypedTransform>> = Vec::with_capacity(leaves.len());
    for leaf in &leaves {
        let resolved = TypedTransform::resolve(leaf, interval_ns).transpose()?;
        check_leaf_type(leaf, resolved.as_ref(), measurement)?;
        typed.push(resolved);
    }
    let condition_fields = condition_fields(exec, measurement);
    let mut regexes = RegexCache::default();
    let mut output = Vec::new();
    for group in groups {
        let mut leaf_points: Vec<Vec<LeafPoint>> = Vec::with_capacity(leaves.len());
        for (leaf, resolved) in leaves.iter().zip(&typed) {
            let mut points = match resolved {
                Some(resolved) => {
                    typed_leaf(exec, measurement, group, leaf, resolved, &condition_fields)?
                }
                None => compute_leaf(
                    exec,
                    measurement,
                    group,
                    leaf,
                    leaves.len(),
                    &condition_fields,
                )?,
            };
            points.sort_by_key(|p| p.out_time);
            leaf_points.push(points);
        }
        if leaf_points.iter().all(Vec::is_empty) {
            continue;
        }
        let mut rows = join(&leaf_points);
        if !exec.ascending {
            let several_per_window = leaves
                .iter()
                .any(|leaf| matches!(leaf.name.as_str(), "top" | "bottom" | "sample" | "distinct"));
            if several_per_window {
                // 1.6.7 answers the windows last to first, but the points a selector picks
                // inside one window stay in ascending time (rows come joined in ascending
                // time; the sort is stable).
                let window_of = |time: i64| exec.windows.as_ref().map_or(0, |w| w.start_of(time));
                rows.sort_by_key(|row| std::cmp::Reverse(window_of(row.0)));
            } else {
                rows.reverse();
            }
        }
        let mut values = Vec::with_capacity(rows.len());
        // A window fill() made has no point, so its auxiliary fields take what 1.6.7's fill
        // iterator gives them (recorded: `max(f), f, host ... fill(9)` answers 9, 9, 9;
        // fill(previous) repeats the row before in the answer's order; others null).
        let mut previous_aux: Option<Vec<Value>> = None;
        for (time, leaf_values, origin) in rows {
            let filled_window = origin.is_none() && !auxes.is_empty();
            let aux_values = if filled_window {
                match exec.statement.fill {
                    Fill::Integer(number) => vec![Value::Integer(number); auxes.len()],
                    Fill::Number(number) => vec![Value::Float(number); auxes.len()],
                    Fill::Previous => previous_aux
                        .clone()
                        .unwrap_or_else(|| vec![Value::Null; auxes.len()]),
                    Fill::Null | Fill::None | Fill::Linear => vec![Value::Null; auxes.len()],
                }
            } else {
                aux_values(exec, measurement, group, &auxes, origin)?
            };
            previous_aux = Some(aux_values.clone());
            let row = AggregateRow {
                leaves: &leaves,
                leaf_values: &leaf_values,
                auxes: &auxes,
                aux_values: &aux_values,
            };
            let mut out = Vec::with_capacity(fields.len() + 1);
            out.push(Value::Time(time));
            for field in fields {
                out.push(eval::eval(&field.expr, &row, &mut regexes));
            }
            values.push(out);
            if values.len() % super::ROWS_PER_BOUNDS_CHECK == 0 {
                exec.check_bounds()?;
            }
        }
        output.push((group.tags.clone(), values));
    }
    Ok(output)
}

fn condition_fields(exec: &Exec<'_>, measurement: &Measurement) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    if let Some(condition) = &exec.condition {
        condition.walk(&mut |expr| {
            if let Expr::VarRef(var) = expr {
                if measurement.is_field(&var.name, var.data_type) && !names.contains(&var.name) {
                    names.push(var.name.clone());
                }
            }
        });
    }
    names
}

/// Joins leaves by output time; several points at one time pair up by position.
/// A joined row: its time, one value per leaf, and the origin (series index, time) of
/// the first selected point in it.
pub(super) type JoinedRow = (i64, Vec<Value>, Option<(u32, i64)>);

pub(super) fn join(leaves: &[Vec<LeafPoint>]) -> Vec<JoinedRow> {
    let mut positions = vec![0usize; leaves.len()];
    let mut rows = Vec::new();
    loop {
        let next = leaves
            .iter()
            .zip(&positions)
            .filter_map(|(points, &position)| points.get(position).map(|p| p.out_time))
            .min();
        let Some(time) = next else {
            break;
        };
        let mut values = Vec::with_capacity(leaves.len());
        let mut origin = None;
        for (points, position) in leaves.iter().zip(positions.iter_mut()) {
            match points.get(*position) {
                Some(point) if point.out_time == time => {
                    values.push(point.point.value.clone());
                    if origin.is_none() && point.point.origin != u32::MAX {
                        origin = Some((point.point.origin, point.point.time));
                    }
                    *position += 1;
                }
                _ => values.push(Value::Null),
            }
        }
        rows.push((time, values, origin));
    }
    rows
}

/// The values of the raw keys next to a single selector: from the selected point.
fn aux_values(
    exec: &Exec<'_>,
    measurement: &Measurement,
    group: &Group,
    auxes: &[VarRef],
    origin: Option<(u32, i64)>,
) -> Result<Vec<Value>, String> {
    let mut values = Vec::with_capacity(auxes.len());
    let series = origin.and_then(|(index, time)| {
        group
            .series
            .get(usize::try_from(index).ok()?)
            .map(|s| (s, time))
    });
    for var in auxes {
        let Some((series, time)) = series else {
            values.push(Value::Null);
            continue;
        };
        if measurement.is_field(&var.name, var.data_type) {
            let mut found = Value::Null;
            for shard in exec.shards(measurement) {
                if let Some(column) = shard.read(&series.key, var.name.as_bytes(), time, time) {
                    found = eval::cast(column_value(&column.values, 0), var.data_type);
                    break;
                }
            }
            values.push(found);
        } else if var.data_type == Some(DataType::Field) {
            values.push(Value::Null);
        } else {
            values.push(
                series
                    .tag(&var.name)
                    .filter(|v| !v.is_empty())
                    .map_or(Value::Null, |v| Value::String(v.to_string())),
            );
        }
    }
    Ok(values)
}

struct AggregateRow<'r> {
    leaves: &'r [Call],
    leaf_values: &'r [Value],
    auxes: &'r [VarRef],
    aux_values: &'r [Value],
}

impl Row for AggregateRow<'_> {
    fn lookup(&self, name: &str, data_type: Option<DataType>) -> Value {
        self.auxes
            .iter()
            .position(|v| v.name == name && v.data_type == data_type)
            .and_then(|i| self.aux_values.get(i))
            .cloned()
            .unwrap_or(Value::Null)
    }

    fn call_value(&self, call: &Call) -> Value {
        self.leaves
            .iter()
            .position(|leaf| leaf == call)
            .and_then(|i| self.leaf_values.get(i))
            .cloned()
            .unwrap_or(Value::Null)
    }
}

pub(super) fn duration_arg(call: &Call, index: usize) -> Option<i64> {
    match call.args.get(index) {
        Some(Expr::Literal(Literal::Duration(ns))) => Some(*ns),
        _ => None,
    }
}

pub(super) fn integer_arg(call: &Call, index: usize) -> Option<i64> {
    match call.args.get(index) {
        Some(Expr::Literal(Literal::Integer(n))) => Some(*n),
        _ => None,
    }
}

fn compute_leaf(
    exec: &Exec<'_>,
    measurement: &Measurement,
    group: &Group,
    call: &Call,
    leaf_count: usize,
    condition_fields: &[String],
) -> Result<Vec<LeafPoint>, String> {
    let interval_ns = exec.windows.as_ref().map_or(0, |w| w.interval_ns);
    if is_transformation(&call.name) {
        let (points, default_unit_ns) = match call.args.first() {
            Some(Expr::Call(inner)) => {
                let points = if plan::reads_previous_interval(&call.name) {
                    with_previous_interval(exec, |exec| {
                        aggregate_input(exec, measurement, group, inner, condition_fields)
                    })?
                } else {
                    aggregate_input(exec, measurement, group, inner, condition_fields)?
                };
                (points, interval_ns)
            }
            Some(Expr::VarRef(var)) => (
                raw_points(
                    exec,
                    measurement,
                    group,
                    &var.name,
                    var.data_type,
                    condition_fields,
                )?,
                NANOS_PER_SECOND,
            ),
            _ => return Ok(Vec::new()),
        };
        let unit_ns = if call.name == "elapsed" {
            duration_arg(call, 1).unwrap_or(1)
        } else {
            duration_arg(call, 1).unwrap_or(default_unit_ns.max(1))
        };
        let spec = Transform {
            name: &call.name,
            unit_ns,
            window: usize::try_from(integer_arg(call, 1).unwrap_or(0)).unwrap_or(0),
            ascending: exec.ascending,
        };
        let points = reduce::transform(&points, spec)
            .into_iter()
            .map(|point| LeafPoint {
                out_time: point.time,
                point,
            });
        return Ok(in_join_order(exec, points.collect()));
    }
    aggregate_leaf(exec, measurement, group, call, leaf_count, condition_fields)
}

/// A transformation's points (in the order it emitted them, which is the answer's) put in
/// the order `execute` expects: it sorts each leaf by time (stably) and reverses the rows
/// of a descending query, so equal times of a descending run are reversed first.
fn in_join_order(exec: &Exec<'_>, mut points: Vec<LeafPoint>) -> Vec<LeafPoint> {
    if !exec.ascending {
        points.reverse();
    }
    points
}

/// The windows of the aggregate `inner` of a transformation, filled, in the order the
/// query runs (nulls kept: transformations skip them).
fn aggregate_input(
    exec: &Exec<'_>,
    measurement: &Measurement,
    group: &Group,
    inner: &Call,
    condition_fields: &[String],
) -> Result<Vec<Point>, String> {
    let points = aggregate_leaf(exec, measurement, group, inner, 2, condition_fields)?;
    let mut points: Vec<Point> = points
        .into_iter()
        .map(|p| Point {
            time: p.out_time,
            ..p.point
        })
        .collect();
    points.sort_by_key(|p| p.time);
    if !exec.ascending {
        points.reverse();
    }
    Ok(points)
}

/// Runs `compute` with the statement's range widened by one GROUP BY interval before it
/// (after it, descending), as 1.6.7 widens the iterator under most transformations. An
/// unbounded start stays unbounded; without GROUP BY time() nothing changes.
fn with_previous_interval<T>(
    exec: &Exec<'_>,
    compute: impl FnOnce(&Exec<'_>) -> Result<T, String>,
) -> Result<T, String> {
    let Some(windows) = exec.windows.as_ref() else {
        return compute(exec);
    };
    let mut range = exec.range;
    if exec.ascending {
        if !range.has_min() {
            return compute(exec);
        }
        range.min_ns = range.min_ns.saturating_sub(windows.interval_ns);
    } else {
        range.max_ns = range.max_ns.saturating_add(windows.interval_ns);
    }
    let widened = Exec {
        context: exec.context,
        statement: exec.statement,
        range,
        condition: exec.condition.clone(),
        windows: exec.windows.clone(),
        ascending: exec.ascending,
        points_read: std::cell::Cell::new(exec.points_read.get()),
    };
    let result = compute(&widened);
    // Points read through the wider range count against max-select-point too.
    exec.points_read.set(widened.points_read.get());
    result
}

/// A number fed to a technical-analysis function or holt_winters (`None`: a null, skipped;
/// strings and booleans were refused by [`check_leaf_type`]).
fn numeric(value: &Value) -> Option<f64> {
    match value {
        Value::Float(v) => Some(*v),
        Value::Integer(v) => Some(*v as f64),
        Value::Unsigned(v) => Some(*v as f64),
        _ => None,
    }
}

/// The points of a technical-analysis function or holt_winters over one group.
fn typed_leaf(
    exec: &Exec<'_>,
    measurement: &Measurement,
    group: &Group,
    call: &Call,
    resolved: &TypedTransform,
    condition_fields: &[String],
) -> Result<Vec<LeafPoint>, String> {
    let input = match (call.args.first(), resolved) {
        (Some(Expr::Call(inner)), TypedTransform::Indicator(_)) => {
            with_previous_interval(exec, |exec| {
                aggregate_input(exec, measurement, group, inner, condition_fields)
            })?
        }
        (Some(Expr::Call(inner)), TypedTransform::HoltWinters(_)) => {
            aggregate_input(exec, measurement, group, inner, condition_fields)?
        }
        (Some(Expr::VarRef(var)), _) => raw_points(
            exec,
            measurement,
            group,
            &var.name,
            var.data_type,
            condition_fields,
        )?,
        _ => return Ok(Vec::new()),
    };
    let points = typed_points(exec.context, exec.windows.as_ref(), resolved, &input)?;
    Ok(in_join_order(exec, points))
}

/// A technical-analysis function or holt_winters over `input` (in the order the query
/// runs; nulls skipped): its points, in the order computed. holt_winters asks the
/// statement's memory budget before it allocates.
pub(super) fn typed_points(
    context: &SelectContext<'_>,
    windows: Option<&Windows>,
    resolved: &TypedTransform,
    input: &[Point],
) -> Result<Vec<LeafPoint>, String> {
    let values = input
        .iter()
        .filter_map(|point| numeric(&point.value).map(|value| (point.time, value)));
    let output = match resolved {
        TypedTransform::Indicator(spec) => technical::apply(spec, values)?,
        TypedTransform::HoltWinters(spec) => {
            let Some(windows) = windows else {
                panic!("BUG: holt_winters without GROUP BY time() passed the plan check");
            };
            let values: Vec<(i64, f64)> = values.collect();
            let limit = context.limits.memory.limit_bytes;
            let mut budget = |bytes: u64| -> Result<(), String> {
                if context.check_bounds(bytes).is_ok() {
                    return Ok(());
                }
                context.check_bounds(0)?;
                Err(format!(
                    "query-memory-limit exceeded: {}() would need {bytes} more bytes, past \
                     the {limit} bytes a statement may hold; forecast fewer points or widen \
                     the interval",
                    spec.name()
                ))
            };
            let forecast = holt_winters::forecast(spec, &values, windows.interval_ns, &mut budget)?;
            let leaf_bytes = forecast.len() as u64 * std::mem::size_of::<LeafPoint>() as u64;
            budget(leaf_bytes)?;
            forecast
        }
    };
    let points = output
        .into_iter()
        .map(|(time, value)| LeafPoint {
            out_time: time,
            point: Point {
                time,
                // 1.6.7's cursor answers a NaN as null (an infinity stays, and fails to
                // encode as there).
                value: if value.is_nan() {
                    Value::Null
                } else {
                    Value::Float(value)
                },
                origin: u32::MAX,
            },
        })
        .collect();
    Ok(points)
}

/// The type a field of `field_type` is read as through `cast` (`f::integer`), or `None`
/// when the cast cannot apply (1.6.7 then reads no points: `s::integer`, `f::string`, and
/// `f::tag`, a tag of that name).
fn cast_type(field_type: FieldType, cast: Option<DataType>) -> Option<&'static str> {
    let numeric = matches!(
        field_type,
        FieldType::Float | FieldType::Integer | FieldType::Unsigned
    );
    match cast {
        None | Some(DataType::Field) => Some(type_name(field_type)),
        Some(DataType::Float | DataType::Integer | DataType::Unsigned) if numeric => {
            cast.map(DataType::as_str)
        }
        Some(DataType::String) if field_type == FieldType::String => Some("string"),
        Some(DataType::Boolean) if field_type == FieldType::Boolean => Some("boolean"),
        _ => None,
    }
}

/// The points of one field of a group in the order the query runs (condition applied, and
/// the field's `cast`: a cast that cannot apply reads nothing): per shard, the series merged
/// by a replay of Go's heap (1.6.7's sorted merge, which fixes the order of equal times),
/// shards one after the other.
fn raw_points(
    exec: &Exec<'_>,
    measurement: &Measurement,
    group: &Group,
    field: &str,
    cast: Option<DataType>,
    condition_fields: &[String],
) -> Result<Vec<Point>, String> {
    if let Some(field_type) = measurement.field_type(field) {
        if cast_type(field_type, cast).is_none() {
            return Ok(Vec::new());
        }
    }
    let mut points = Vec::new();
    let mut regexes = RegexCache::default();
    let mut shards = exec.shards(measurement);
    if !exec.ascending {
        shards.reverse();
    }
    for shard in shards {
        let mut per_series: Vec<Vec<Point>> = Vec::with_capacity(group.series.len());
        for (index, series) in group.series.iter().enumerate() {
            exec.check_bounds()?;
            let mut series_points = Vec::new();
            feed_series(
                exec,
                &shard,
                series,
                field,
                condition_fields,
                &mut regexes,
                &mut |time, value| {
                    series_points.push(Point {
                        time,
                        value: eval::cast(value.clone(), cast),
                        origin: index as u32,
                    });
                },
            )?;
            if !exec.ascending {
                series_points.reverse();
            }
            per_series.push(series_points);
        }
        let merged = if exec.ascending {
            heap_merge(per_series, |a: &Point, b: &Point| a.time < b.time)
        } else {
            // Descending, 1.6.7 merges the series last to first (each from its end).
            per_series.reverse();
            heap_merge(per_series, |a: &Point, b: &Point| a.time > b.time)
        };
        points.extend(merged);
    }
    Ok(points)
}

/// Feeds the points of one (shard, series, field) that pass the condition to `sink`.
fn feed_series(
    exec: &Exec<'_>,
    shard: &sluice_storage::engine::Shard,
    series: &super::SeriesInfo,
    field: &str,
    condition_fields: &[String],
    regexes: &mut RegexCache,
    sink: &mut dyn FnMut(i64, &Value),
) -> Result<(), String> {
    let Some(column) = exec.read(shard, series, field)? else {
        return Ok(());
    };
    let condition = exec
        .condition
        .as_ref()
        .filter(|_| !condition_fields.is_empty());
    let Some(condition) = condition else {
        // Fast path: no per-point condition.
        match &column.values {
            sluice_storage::column::ColumnValues::Float(values) => {
                for (time, value) in column.times.iter().zip(values) {
                    sink(*time, &Value::Float(*value));
                }
            }
            sluice_storage::column::ColumnValues::Integer(values) => {
                for (time, value) in column.times.iter().zip(values) {
                    sink(*time, &Value::Integer(*value));
                }
            }
            other => {
                for (index, time) in column.times.iter().enumerate() {
                    sink(*time, &column_value(other, index));
                }
            }
        }
        return Ok(());
    };
    let mut condition_columns = Vec::with_capacity(condition_fields.len());
    for name in condition_fields {
        if name == field {
            condition_columns.push(Some(column.clone()));
        } else {
            condition_columns.push(exec.read(shard, series, name)?);
        }
    }
    let mut cursors: Vec<Cursor<'_>> = condition_columns
        .iter()
        .map(|c| Cursor::new(c.as_ref(), true))
        .collect();
    let mut values = vec![Value::Null; condition_fields.len()];
    for (index, time) in column.times.iter().enumerate() {
        for (slot, cursor) in values.iter_mut().zip(cursors.iter_mut()) {
            *slot = cursor.value_at(*time);
        }
        let row = ConditionRow {
            names: condition_fields,
            values: &values,
            series,
        };
        if eval::truthy(&eval::eval(condition, &row, regexes)) {
            sink(*time, &column_value(&column.values, index));
        }
    }
    Ok(())
}

fn window_time(exec: &Exec<'_>) -> i64 {
    if exec.range.has_min() {
        exec.range.min_ns
    } else {
        0
    }
}

fn aggregate_leaf(
    exec: &Exec<'_>,
    measurement: &Measurement,
    group: &Group,
    call: &Call,
    leaf_count: usize,
    condition_fields: &[String],
) -> Result<Vec<LeafPoint>, String> {
    let (field, count_distinct) = match (field_of_call(call), distinct_name(call)) {
        (Some((var, distinct)), _) => (var.name.clone(), distinct),
        (None, Some(name)) => (name, true),
        _ => return Ok(Vec::new()),
    };
    let Some(field_type) = measurement.field_type(&field) else {
        return Ok(Vec::new());
    };
    let sample = match field_type {
        sluice_ingest::record::FieldType::Integer => Value::Integer(0),
        sluice_ingest::record::FieldType::Unsigned => Value::Unsigned(0),
        _ => Value::Float(0.0),
    };
    let name = call.name.as_str();
    let args = CallArgs {
        percentile: match call.args.get(1) {
            Some(Expr::Literal(Literal::Integer(n))) => *n as f64,
            Some(Expr::Literal(Literal::Number(n))) => *n,
            _ => 0.0,
        },
        count: usize::try_from(integer_arg(call, call.args.len().saturating_sub(1)).unwrap_or(0))
            .unwrap_or(0),
        count_distinct,
        raw_points_limit: top_bottom_points_limit(exec, call),
        descending: !exec.ascending,
    };
    let accumulator_name = if count_distinct {
        "count_distinct"
    } else {
        name
    };
    let edge_pick = edge_pick(exec);
    let make = || Accumulator::new(accumulator_name, &sample).with_edge_pick(edge_pick);
    let windows = exec.windows.as_ref();
    if name == "integral" {
        let points = raw_points(exec, measurement, group, &field, None, condition_fields)?;
        let result = integral_points(&points, call, windows);
        return fill(exec, call, result);
    }
    let single_time = window_time(exec);
    let mut set = WindowSet {
        starts: Vec::new(),
        accumulators: Vec::new(),
    };
    let mut regexes = RegexCache::default();
    let per_point_condition = exec.condition.is_some() && !condition_fields.is_empty();
    let read = SeriesRead::for_call(exec, name, count_distinct, field_type);
    // sum()/mean() fold their (shard, series) partials in 1.6.7's merge order (see
    // [`merge_order`]); the other functions fold each as it ends.
    let in_merge_order = make().folds_in_merge_order();
    let mut shard_streams: Vec<Vec<Partial<Accumulator>>> = Vec::new();
    for shard in exec.shards(measurement) {
        let mut series_streams: Vec<Vec<Partial<Accumulator>>> = Vec::new();
        for (index, series) in group.series.iter().enumerate() {
            exec.check_bounds()?;
            let feed = SeriesFeed {
                shard: &shard,
                series,
                field: &field,
                read: if per_point_condition {
                    None
                } else {
                    Some(read)
                },
                condition_fields,
                target: FeedTarget {
                    windows,
                    single_time,
                    make: &make,
                    origin: index as u32,
                },
            };
            if !in_merge_order {
                feed_one_series(exec, &feed, &mut regexes, &mut set)?;
                set.accumulators
                    .iter_mut()
                    .for_each(Accumulator::end_partial);
                continue;
            }
            let mut own = WindowSet::default();
            if exec.ascending {
                feed_one_series(exec, &feed, &mut regexes, &mut own)?;
            } else {
                // ORDER BY time DESC: 1.6.7 reads each series latest first, and its float
                // partial sums round in that order: collect, then add backwards.
                let collect = || Accumulator::Collect(Vec::new());
                let feed = SeriesFeed {
                    target: FeedTarget {
                        make: &collect,
                        ..feed.target
                    },
                    ..feed
                };
                feed_one_series(exec, &feed, &mut regexes, &mut own)?;
                for accumulator in &mut own.accumulators {
                    *accumulator = latest_first(accumulator, &make);
                }
            }
            // 1.6.7 gives every series of the shard an iterator, empty or not, and splits
            // them into its merge groups by that count.
            if !own.starts.is_empty() || shard.holds_series(&series.key) {
                series_streams.push(own.into_partials(exec.ascending));
            }
        }
        if in_merge_order {
            // 1.6.7 reduces each shard's merged partials to one per window before the
            // shards' are merged and reduced again.
            let parallelism = exec.context.limits.merge_parallelism;
            if !exec.ascending {
                // ORDER BY time DESC: 1.6.7 reverses the series of each tag set first
                series_streams.reverse();
            }
            let merged = merge_order::parallel_merge(series_streams, parallelism, exec.ascending);
            let mut shard_set = WindowSet::default();
            for (start, partial) in merged {
                let slot = shard_set.slot(start, &make);
                if let Some(accumulator) = shard_set.accumulators.get_mut(slot) {
                    accumulator.absorb_partial(&partial);
                }
            }
            shard_set
                .accumulators
                .iter_mut()
                .for_each(Accumulator::reopen_as_partial);
            shard_streams.push(shard_set.into_partials(exec.ascending));
        }
    }
    for (start, partial) in merge_order::merge_shards(shard_streams, exec.ascending) {
        let slot = set.slot(start, &make);
        if let Some(accumulator) = set.accumulators.get_mut(slot) {
            accumulator.absorb_partial(&partial);
        }
    }
    let point_time = matches!(name, "top" | "bottom" | "sample")
        || (is_selector(name) && windows.is_none() && leaf_count == 1);
    let tag_args: Vec<&str> = if matches!(name, "top" | "bottom") {
        call.args
            .iter()
            .skip(1)
            .take(call.args.len().saturating_sub(2))
            .filter_map(|a| match a {
                Expr::VarRef(var) => Some(var.name.as_str()),
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut result = Vec::new();
    for (start, accumulator) in set.starts.iter().zip(set.accumulators) {
        let window_start = if windows.is_some() {
            *start
        } else {
            single_time
        };
        let points = if tag_args.is_empty() {
            reduce::finish(name, accumulator, &args, window_start)
        } else {
            let Accumulator::Collect(points) = accumulator else {
                continue;
            };
            let tag_of = |point: &Point| -> String {
                let series = group.series.get(point.origin as usize);
                tag_args
                    .iter()
                    .map(|t| series.and_then(|s| s.tag(t)).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\u{0}")
            };
            reduce::top_by_tag(name, points, args.count, &tag_of)
        };
        for point in points {
            let out_time = if point_time { point.time } else { window_start };
            result.push(LeafPoint { out_time, point });
        }
    }
    if matches!(name, "top" | "bottom" | "sample" | "distinct") {
        return Ok(result);
    }
    fill(exec, call, result)
}

/// The accumulator `make` gives fed the points `collected` holds, latest first.
fn latest_first(collected: &Accumulator, make: &dyn Fn() -> Accumulator) -> Accumulator {
    let Accumulator::Collect(points) = collected else {
        panic!("BUG: latest_first of an accumulator that does not collect");
    };
    let mut accumulator = make();
    for point in points.iter().rev() {
        accumulator.push(point.time, &point.value, point.origin);
    }
    accumulator
}

/// One (shard, series) column to feed to a leaf's windows.
#[derive(Clone, Copy)]
struct SeriesFeed<'a> {
    shard: &'a Shard,
    series: &'a super::SeriesInfo,
    field: &'a str,
    /// how to read when every point counts; None: a per-point condition decides
    read: Option<SeriesRead>,
    condition_fields: &'a [String],
    target: FeedTarget<'a>,
}

/// Feeds the points of one (shard, series) to the windows of `set` (not ending the partial).
fn feed_one_series(
    exec: &Exec<'_>,
    feed: &SeriesFeed<'_>,
    regexes: &mut RegexCache,
    set: &mut WindowSet,
) -> Result<(), String> {
    let target = &feed.target;
    if let Some(read) = feed.read {
        return feed_whole_series(exec, feed.shard, feed.series, feed.field, read, target, set);
    }
    let mut current: Option<(i64, i64, usize)> = None;
    feed_series(
        exec,
        feed.shard,
        feed.series,
        feed.field,
        feed.condition_fields,
        regexes,
        &mut |time, value| {
            let slot = match (target.windows, current) {
                (None, _) => {
                    if set.starts.is_empty() {
                        set.slot(target.single_time, target.make);
                    }
                    0
                }
                (Some(_), Some((start, end, slot))) if time >= start && time < end => slot,
                (Some(w), _) => {
                    let start = w.start_of(time);
                    let end = w.end_of(time);
                    let slot = set.slot(start, target.make);
                    current = Some((start, end, slot));
                    slot
                }
            };
            if let Some(accumulator) = set.accumulators.get_mut(slot) {
                accumulator.push(time, value, target.origin);
            }
        },
    )
}

/// How `first`/`last` choose among series at equal times in this statement.
fn edge_pick(exec: &Exec<'_>) -> EdgePick {
    if exec.windows.is_some() {
        return EdgePick::Best;
    }
    let other_fields = exec
        .statement
        .fields
        .iter()
        .filter(|f| !super::time::is_time_ref(&f.expr))
        .any(|f| !plan::raw_refs(&f.expr).is_empty() || matches!(f.expr, Expr::Wildcard(_)));
    if other_fields {
        EdgePick::KeyOrderFirstTwo
    } else {
        EdgePick::HeapFirstTwo
    }
}

/// 1.6.7 answers `top(x, N)`/`bottom(x, N)` (no tag arguments, no GROUP BY time()) under a
/// LIMIT from the first LIMIT + OFFSET + 1 points of the merged series only
/// (`func/top-n-equal-limit`: `top(usage, 2) ... LIMIT 2` gives 30 and 10.5, not 35, 33.5).
fn top_bottom_points_limit(exec: &Exec<'_>, call: &Call) -> Option<usize> {
    let statement = exec.statement;
    let plain = matches!(call.name.as_str(), "top" | "bottom") && call.args.len() == 2;
    if !plain || statement.limit == 0 || exec.windows.is_some() {
        return None;
    }
    let limit = statement
        .limit
        .saturating_add(statement.offset)
        .saturating_add(1);
    Some(usize::try_from(limit).unwrap_or(usize::MAX))
}

/// How the points of a (shard, series) column reach a leaf's accumulators when every point
/// counts (no per-point condition).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SeriesRead {
    /// decoded, every point pushed
    Decode,
    /// the blocks that lie wholly in one window and whose summary the accumulator takes
    /// ([`Accumulator::takes_summary`]: `count`; `min`/`max` and integer `sum`/`mean` from
    /// block statistics) are fed from their metadata, the rest decoded
    Summaries,
    /// `first`/`last` without GROUP BY time(): only the series' edge point, decoded from
    /// that end ([`Shard::read_edge`]); only without `max-select-point`, which counts the
    /// points a full read would see
    EdgePoint(Edge),
}

impl SeriesRead {
    fn for_call(
        exec: &Exec<'_>,
        name: &str,
        count_distinct: bool,
        field_type: FieldType,
    ) -> SeriesRead {
        let edge_allowed = exec.windows.is_none() && exec.context.limits.max_select_point == 0;
        let integers = matches!(field_type, FieldType::Integer | FieldType::Unsigned);
        match name {
            "count" if !count_distinct => SeriesRead::Summaries,
            "min" | "max" => SeriesRead::Summaries,
            // Float sums are decoded whatever the blocks (their rounding depends on the order).
            // Under ORDER BY time DESC these collect each series' points to add them latest
            // first (see `aggregate_leaf`), which a summary cannot feed.
            "sum" | "mean" if integers && exec.ascending => SeriesRead::Summaries,
            "first" if edge_allowed => SeriesRead::EdgePoint(Edge::First),
            "last" if edge_allowed => SeriesRead::EdgePoint(Edge::Last),
            _ => SeriesRead::Decode,
        }
    }
}

/// Where [`feed_whole_series`] puts the points of one series.
#[derive(Clone, Copy)]
struct FeedTarget<'a> {
    windows: Option<&'a Windows>,
    single_time: i64,
    make: &'a dyn Fn() -> Accumulator,
    origin: u32,
}

/// Feeds every point of one (shard, series, field) to the windows of `set`, read as `read`
/// says; the same accumulator states as pushing every point of [`Shard::read`].
fn feed_whole_series(
    exec: &Exec<'_>,
    shard: &Shard,
    series: &super::SeriesInfo,
    field: &str,
    read: SeriesRead,
    target: &FeedTarget<'_>,
    set: &mut WindowSet,
) -> Result<(), String> {
    let range = (exec.range.min_ns, exec.range.max_ns);
    let column = match read {
        SeriesRead::Decode => exec.read(shard, series, field)?,
        SeriesRead::EdgePoint(edge) => shard.read_edge(&series.key, field.as_bytes(), range, edge),
        SeriesRead::Summaries => {
            let windows = target.windows;
            let empty = (target.make)();
            let takes = |summary: &BlockSummary| {
                let (first, last) = (summary.min_time, summary.max_time);
                windows.is_none_or(|w| last < w.end_of(first)) && empty.takes_summary(summary)
            };
            let read = shard.read_summarized(&series.key, field.as_bytes(), range, &takes);
            let summarized: u64 = read.summaries.iter().map(|s| s.count).sum();
            let decoded = read.decoded.as_ref().map_or(0, Column::len);
            exec.count_points(decoded + summarized as usize)?;
            for summary in &read.summaries {
                let start = target
                    .windows
                    .map_or(target.single_time, |w| w.start_of(summary.min_time));
                let slot = set.slot(start, target.make);
                if let Some(accumulator) = set.accumulators.get_mut(slot) {
                    accumulator.push_summary(summary, target.origin);
                }
            }
            read.decoded
        }
    };
    if let Some(column) = column {
        let FeedTarget {
            windows,
            single_time,
            make,
            origin,
        } = *target;
        feed_column_by_window(&column, windows, single_time, set, make, origin);
    }
    Ok(())
}

/// Feeds every point of one (shard, series) column to the accumulators of its windows (the
/// one window `single_time` without GROUP BY time). Same result as pushing the points one by
/// one in time order: a run of points shares a window while `start <= time < end` of the
/// window of its first point; the next point outside starts the next run.
fn feed_column_by_window(
    column: &Column,
    windows: Option<&Windows>,
    single_time: i64,
    set: &mut WindowSet,
    make: &dyn Fn() -> Accumulator,
    origin: u32,
) {
    let times = column.times.as_slice();
    let mut begin = 0;
    while let Some(&first_time) = times.get(begin) {
        let (slot, end) = match windows {
            None => (set.slot(single_time, make), times.len()),
            Some(windows) => {
                let start = windows.start_of(first_time);
                let end = windows.end_of(first_time);
                let rest = times.get(begin + 1..).unwrap_or(&[]);
                let run = 1 + rest.partition_point(|&t| t >= start && t < end);
                (set.slot(start, make), begin + run)
            }
        };
        if let Some(accumulator) = set.accumulators.get_mut(slot) {
            accumulator.push_run(column, begin..end, origin);
        }
        begin = end;
    }
}

/// `integral(field[, unit])` of `points` (in time order): one point per window of `windows`
/// (per query without GROUP BY time, at time 0 whatever the range: 1.6.7 does not report
/// the lower bound as other aggregates do, so beside one it answers two rows), before any
/// fill. Stored queries and queries over a subquery both compute it here.
pub(super) fn integral_points(
    points: &[Point],
    call: &Call,
    windows: Option<&Windows>,
) -> Vec<LeafPoint> {
    let single_time = 0;
    let unit_ns = duration_arg(call, 1).unwrap_or(NANOS_PER_SECOND);
    let window_of = windows.map(|w| move |t: i64| (w.start_of(t), w.end_of(t)));
    let result = match &window_of {
        Some(f) => reduce::integral(points, unit_ns, Some(f), single_time),
        None => reduce::integral(points, unit_ns, None, single_time),
    };
    result
        .into_iter()
        .map(|point| LeafPoint {
            out_time: point.time,
            point,
        })
        .collect()
}

/// Fills the empty windows of a single-valued leaf of a GROUP BY time query.
fn fill(exec: &Exec<'_>, call: &Call, points: Vec<LeafPoint>) -> Result<Vec<LeafPoint>, String> {
    let Some(windows) = exec.windows.as_ref() else {
        return Ok(points);
    };
    // 1.6.7 fills `previous` in the order the query runs: under ORDER BY time DESC an empty
    // window takes the value of the window after it in time.
    // count() too: its empty windows before any value in that order are null, not 0
    // (recorded: `count(f) ... fill(previous) ORDER BY time DESC`).
    let previous_descending = !exec.ascending && exec.statement.fill == Fill::Previous;
    let mode = if previous_descending {
        Fill::Null
    } else {
        exec.statement.fill
    };
    let computed: std::collections::HashSet<i64> = if previous_descending {
        points.iter().map(|p| p.out_time).collect()
    } else {
        std::collections::HashSet::new()
    };
    let mut filled = fill_windows(exec.context, windows, exec.range, mode, call, points)?;
    if previous_descending {
        let mut previous: Option<Value> = None;
        for point in filled.iter_mut().rev() {
            if !computed.contains(&point.out_time) {
                point.point.value = previous.clone().unwrap_or(Value::Null);
            } else if point.point.value != Value::Null {
                previous = Some(point.point.value.clone());
            }
        }
    }
    Ok(filled)
}

/// Fills the empty windows of `range` (its start: the first point's window when unbounded)
/// with `mode` for one single-valued leaf (`points` in time order), within
/// `max-select-buckets` and the statement's memory budget.
pub(super) fn fill_windows(
    context: &SelectContext<'_>,
    windows: &Windows,
    range: TimeRange,
    mode: Fill,
    call: &Call,
    points: Vec<LeafPoint>,
) -> Result<Vec<LeafPoint>, String> {
    if points.is_empty() {
        // A group without any point in the range has no rows, filled or not.
        return Ok(points);
    }
    let mut mode = mode;
    // 1.6.7 never fills integral()'s windows, whatever fill() says.
    if mode == Fill::None || call.name == "integral" {
        return Ok(points);
    }
    if call.name == "count" && mode == Fill::Null {
        mode = Fill::Integer(0);
    }
    let first = if range.has_min() {
        windows.start_of(range.min_ns)
    } else {
        match points.iter().map(|p| p.out_time).min() {
            Some(first) => first,
            None => return Ok(points),
        }
    };
    let last = windows.start_of(range.max_ns);
    let limit = context.limits.max_select_buckets;
    let bucket_count = if last >= first {
        ((i128::from(last) - i128::from(first)) / i128::from(windows.interval_ns.max(1)) + 1) as u64
    } else {
        0
    };
    if limit > 0 && bucket_count > limit {
        return Err(format!(
            "max-select-buckets limit exceeded: ({bucket_count}/{limit})"
        ));
    }
    // The filled windows are allocated up front in effect: refuse before, not during.
    let filled_bytes = bucket_count.saturating_mul(std::mem::size_of::<LeafPoint>() as u64);
    if context.check_bounds(filled_bytes).is_err() {
        context.check_bounds(0)?;
        return Err(format!(
            "query-memory-limit exceeded: {bucket_count} GROUP BY time() buckets would not \
             fit in {} bytes; narrow the time range or widen the interval",
            context.limits.memory.limit_bytes
        ));
    }
    // A number fill takes the type of the function's values, as 1.6.7's fill iterators
    // cast it: "" for strings, false for booleans, truncated toward zero for integers.
    let value_type = points
        .iter()
        .map(|p| &p.point.value)
        .find(|v| **v != Value::Null)
        .cloned();
    let number_fill = |fill: Fill| match (&value_type, fill) {
        (Some(Value::String(_)), _) => Value::String(String::new()),
        (Some(Value::Boolean(_)), _) => Value::Boolean(false),
        (Some(Value::Integer(_)), Fill::Number(number)) => Value::Integer(number as i64),
        (_, Fill::Number(number)) => Value::Float(number),
        (_, Fill::Integer(integer)) => Value::Integer(integer),
        (_, other) => panic!("BUG: {other:?} is not a number fill"),
    };
    let mut filled: Vec<LeafPoint> = Vec::new();
    let mut known = points.into_iter().peekable();
    let mut start = first;
    let mut previous: Option<Value> = None;
    let mut pending: Vec<usize> = Vec::new();
    while start <= last {
        context.check_bounds(0)?;
        // A point at or before this step's time is answered in its place, as 1.6.7's fill
        // iterator does: one before it belongs to a window whose start a zone change moved
        // off the steps, and it takes this step.
        let found = known.peek().is_some_and(|point| point.out_time <= start);
        if found {
            if let Some(point) = known.next() {
                if mode == Fill::Linear {
                    interpolate(
                        &mut filled,
                        &pending,
                        previous.as_ref(),
                        &point,
                        windows.interval_ns,
                    );
                    pending.clear();
                }
                previous = Some(point.point.value.clone()).filter(|v| *v != Value::Null);
                filled.push(point);
            }
        } else {
            let value = match mode {
                Fill::Null | Fill::None | Fill::Linear => Value::Null,
                Fill::Previous => previous.clone().unwrap_or(Value::Null),
                Fill::Integer(_) | Fill::Number(_) => number_fill(mode),
            };
            if mode == Fill::Linear && previous.is_some() {
                pending.push(filled.len());
            }
            filled.push(LeafPoint {
                out_time: start,
                point: Point {
                    time: start,
                    value,
                    origin: u32::MAX,
                },
            });
        }
        let next = windows.next_start(start);
        if next <= start {
            break;
        }
        start = next;
    }
    // Points the steps ran past (zone changes moved their windows) are answered too.
    filled.extend(known);
    Ok(filled)
}

/// Fills the null windows at `pending` between the last known value and `next`. As 1.6.7,
/// the times are counted in intervals (each divided by `interval_ns`, truncated) before
/// the slope is taken: `2 + 5/3` is 3.666666666666667 where nanoseconds would give
/// 3.6666666666666665.
fn interpolate(
    filled: &mut [LeafPoint],
    pending: &[usize],
    previous: Option<&Value>,
    next: &LeafPoint,
    interval_ns: i64,
) {
    let interval_ns = interval_ns.max(1);
    let Some(previous) = previous else {
        return;
    };
    let Some(&first_pending) = pending.first() else {
        return;
    };
    let Some(previous_time) = first_pending
        .checked_sub(1)
        .and_then(|i| filled.get(i))
        .map(|p| p.out_time)
    else {
        return;
    };
    let previous_step = previous_time / interval_ns;
    let span = (next.out_time / interval_ns - previous_step) as f64;
    for &index in pending {
        let Some(slot) = filled.get_mut(index) else {
            continue;
        };
        let elapsed = (slot.out_time / interval_ns - previous_step) as f64;
        slot.point.value = match (previous, &next.point.value) {
            (Value::Integer(a), Value::Integer(b)) => {
                let slope = (b - a) as f64 / span;
                // Go's int64(m*x + b): the sum truncated toward zero, not its parts.
                Value::Integer((slope * elapsed + *a as f64) as i64)
            }
            (Value::Float(a), Value::Float(b)) => Value::Float((b - a) / span * elapsed + a),
            _ => Value::Null,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_of_a_transformed_field_apply_or_read_nothing() {
        // Probed on influxd 1.6.7: derivative(f::integer) truncates the floats,
        // exponential_moving_average(s::integer, 2) and (f::tag, 2) answer no rows.
        assert_eq!(
            cast_type(FieldType::Float, Some(DataType::Integer)),
            Some("integer")
        );
        assert_eq!(
            cast_type(FieldType::Integer, Some(DataType::Float)),
            Some("float")
        );
        assert_eq!(cast_type(FieldType::String, None), Some("string"));
        assert_eq!(
            cast_type(FieldType::Boolean, Some(DataType::Field)),
            Some("boolean")
        );
        assert_eq!(cast_type(FieldType::String, Some(DataType::Integer)), None);
        assert_eq!(cast_type(FieldType::Float, Some(DataType::String)), None);
        assert_eq!(cast_type(FieldType::Float, Some(DataType::Tag)), None);
    }
}
