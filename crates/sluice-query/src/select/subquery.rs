//! Subqueries: `SELECT ... FROM (SELECT ...)`. The inner statement is executed first (by
//! [`super::run`], so inner subqueries nest), and the outer statement runs over its result
//! rows held in memory.
//!
//! Owns the outer evaluation only; the inner statement is an ordinary SELECT.
//!
//! # Semantics (InfluxDB 1.6.7, checked against tests/golden/query `subquery/*`)
//!
//! * The inner result's series become the outer query's series: each keeps its name and
//!   the inner GROUP BY tags; its columns are the outer query's variables (`max`, or the
//!   alias). The inner query (raw or aggregate) is grouped by the outer GROUP BY tags too
//!   (not by an outer `GROUP BY *`), so the outer query can group or filter by them.
//! * Outer WHERE: the time part bounds the rows, the rest is evaluated per row (columns
//!   first, then tags).
//! * Outer GROUP BY tags group the rows by those tag values (absent: empty), sorted;
//!   GROUP BY time() windows them as a stored query would (every fill() mode; `fill(null)`
//!   by default: `count` gives 0, others null).
//! * `*` in the outer query: the inner columns and the inner tags it does not group by,
//!   less the tag columns of an inner `top()`/`bottom()`.
//! * Raw outer fields: one row per inner row, null or not (none at all when no outer
//!   variable names an inner column or grouped tag), in [`InnerRowOrder`]:
//!   series after series for an aggregate inner query without GROUP BY time(), by time
//!   (stable over the inner series) with one, merged by time as 1.6.7's heap merges
//!   stored series for a raw inner query.
//!   An inner transformation of raw fields is read in the merge of its raw points
//!   ([`transform_stream_ranks`]).
//! * Aggregate outer fields: each outermost call ("leaf") becomes a list of points, and the
//!   leaves are joined by time as a stored query's are (`super::aggregate::join`).
//!   Aggregates and selectors (and `top`, `bottom`, `sample`, `distinct`) reduce per window
//!   with the same accumulators as stored data ([`super::reduce`]), the rows fed series
//!   after series; the row time is the window start (or the range start, 0 without one),
//!   but a lone selector without GROUP BY time, `top`, `bottom` and `sample` report their
//!   points' times. Transformations, `integral`, the technical-analysis functions and
//!   holt_winters run over the rows in the order a raw outer query sees them
//!   ([`InnerRowOrder`]), or over the filled windows of their aggregate.
//! * An inner aggregate under GROUP BY time() filled with values (linear, previous, a
//!   number) is filled run by run ([`RunFilledInner`]), its runs read one after another.
//! * Bounds: only windows that hold rows are built; empty ones are filled by the stored
//!   path's fill, within `max-select-buckets` and the memory budget; holt_winters asks the
//!   budget before it allocates; `check_bounds` runs per group and every few thousand rows.
//!
//! * Direction: the inner statement runs in the outer's (an inner ORDER BY time against it
//!   is 1.6.7's error); its rows are read back in ascending order; under DESC the output
//!   series come in descending (name, tags) order.
//! * Several sources (`FROM (SELECT ...), (SELECT ...), m`): each runs as its own inner
//!   statement (a measurement as `SELECT *` over it), and their rows merge by name and
//!   tags.
//! * SLIMIT/SOFFSET cut each source's groups on their own, in ascending order, before the
//!   outer WHERE removes rows ([`series_limited_groups`]), as 1.6.7 does.
//! * An aggregate inner without GROUP BY time() (and without a transformation of raw
//!   fields) is computed per outer window when the outer query has one.
//! * Raw fields beside a lone selector (`SELECT max(m), host FROM (...)`) take the values
//!   of the selected point's inner row.

use std::collections::BTreeMap;

use crate::result::{Series, Value};
use sluice_influxql::ast::{
    Call, DataType, Expr, Field, Fill, Literal, SelectStatement, Source, WildcardType,
};

use super::aggregate::{self, LeafPoint};
use super::eval::{self, RegexCache, Row};
use super::plan::{self, QueryKind, TypedTransform};
use super::reduce::{self, Accumulator, CallArgs, EdgePick, Point, Transform};
use super::time::{self, TimeRange, TimeZone, Windows};
use super::SelectContext;

/// One inner row as the outer query sees it.
#[derive(Clone)]
struct InnerRow<'a> {
    name: &'a str,
    tags: &'a [(String, String)],
    columns: &'a [String],
    values: &'a [Value],
    /// position of its series in the inner result
    series_index: usize,
    /// its place in the stream 1.6.7 hands on, for [`InnerRowOrder::Ranked`]
    rank: usize,
}

impl<'a> InnerRow<'a> {
    /// The row `values` of inner series `series` (at `series_index`), not yet ranked.
    fn of(series: &'a Series, values: &'a [Value], series_index: usize) -> InnerRow<'a> {
        InnerRow {
            name: series.name.as_deref().unwrap_or(""),
            tags: &series.tags,
            columns: &series.columns,
            values,
            series_index,
            rank: 0,
        }
    }

    /// The values of the outer GROUP BY tags `tag_keys` for this row ("" when absent).
    fn group_values(&self, tag_keys: &[String]) -> Vec<String> {
        tag_keys.iter().map(|k| self.tag(k).to_string()).collect()
    }
}

impl InnerRow<'_> {
    fn time_ns(&self) -> i64 {
        match self.values.first() {
            Some(Value::Time(ns) | Value::ZonedTime { time_ns: ns, .. }) => *ns,
            _ => 0,
        }
    }

    fn tag(&self, key: &str) -> &str {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl Row for InnerRow<'_> {
    fn lookup(&self, name: &str, data_type: Option<DataType>) -> Value {
        if data_type != Some(DataType::Tag) {
            if let Some(index) = self.columns.iter().skip(1).position(|c| c == name) {
                let value = self.values.get(index + 1).cloned().unwrap_or(Value::Null);
                return eval::cast(value, data_type);
            }
        }
        match self.tags.iter().find(|(k, _)| k == name) {
            Some((_, value)) => Value::String(value.clone()),
            None => Value::Null,
        }
    }
}

/// The computed calls of one output row.
struct CallRow<'a> {
    calls: &'a [(&'a Call, Value)],
    /// the inner row of the selected point, for the raw fields beside a lone selector
    aux: Option<&'a InnerRow<'a>>,
}

impl Row for CallRow<'_> {
    fn lookup(&self, name: &str, data_type: Option<DataType>) -> Value {
        match self.aux {
            Some(row) => row.lookup(name, data_type),
            None => Value::Null,
        }
    }

    fn call_value(&self, call: &Call) -> Value {
        self.calls
            .iter()
            .find(|(c, _)| *c == call)
            .map_or(Value::Null, |(_, v)| v.clone())
    }
}

/// 1.6.7's error for an inner ORDER BY time against the outer's direction.
const SUBQUERY_DIRECTION_ERROR: &str =
    "subqueries must be ordered in the same direction as the query itself";

/// Executes `statement`, whose source is a subquery.
pub(super) fn execute(
    statement: &SelectStatement,
    context: &SelectContext<'_>,
    kind: QueryKind,
    interval_ns: i64,
    outer_range: TimeRange,
) -> Result<Vec<Series>, String> {
    // 1.6.7 runs the inner statement in the outer's direction: an inner ORDER BY time in
    // the other direction is an error, and an inner without one is run descending under a
    // descending outer (so its LIMIT/OFFSET keep the last rows, not the first).
    let ascending = statement.sort_fields.first().is_none_or(|s| s.ascending);
    let mut inners = Vec::with_capacity(statement.sources.len());
    for source in &statement.sources {
        let inner = match source {
            Source::Subquery(inner) => (**inner).clone(),
            // A measurement beside a subquery is read as `SELECT * FROM m` would be, and
            // its rows merge with the subqueries' by measurement name and tags.
            Source::Measurement(measurement) => SelectStatement {
                fields: vec![Field {
                    expr: Expr::Wildcard(WildcardType::All),
                    alias: None,
                }],
                sources: vec![Source::Measurement(measurement.clone())],
                ..SelectStatement::default()
            },
        };
        if inner
            .sort_fields
            .first()
            .is_some_and(|sort| sort.ascending != ascending)
        {
            return Err(SUBQUERY_DIRECTION_ERROR.into());
        }
        let mut inner = with_outer_dimensions(&inner, statement)?;
        if !ascending && inner.sort_fields.is_empty() {
            inner.sort_fields = statement.sort_fields.clone();
        }
        inners.push(inner);
    }
    let Some(inner) = inners.first() else {
        panic!("BUG: subquery::execute runs only for a FROM that holds a subquery");
    };
    let (condition, range) = time::split_condition(statement.condition.as_ref(), context.now_ns)?;
    let mut range = range.intersect(outer_range);
    // 1.6.7 runs the inner statement within the outer time range (intersected with its
    // own): without it an inner GROUP BY time() would fill windows from its own range, all
    // of time up to now.
    let filled = if inners.len() == 1 {
        run_filled_inner(inner, statement)
    } else {
        None
    };
    // The source (position in FROM) of each inner series.
    let mut source_of_series: Vec<usize> = Vec::new();
    let (inner_series, series_origins, inner_order) = match filled {
        Some(filled) => {
            let (runs, origins) = filled.execute(inner, &statement.dimensions, context, range)?;
            // One source: every series (and any index past them) is source 0.
            source_of_series = vec![0; runs.len()];
            (runs, origins, InnerRowOrder::SeriesBySeries)
        }
        None => {
            let mut all_series = Vec::new();
            for (source, one_inner) in inners.iter().enumerate() {
                let mut series = super::run(one_inner, context, range)?;
                source_of_series.extend(std::iter::repeat_n(source, series.len()));
                if !ascending {
                    // What follows reads the inner series in ascending (name, tags) order,
                    // each in ascending time; a descending run gives both reversed, except
                    // top()/bottom(), whose points stay in ascending time under DESC.
                    series.reverse();
                    if !selects_top_or_bottom(one_inner) {
                        series.iter_mut().for_each(|one| one.values.reverse());
                    }
                }
                all_series.append(&mut series);
            }
            let origins = (0..all_series.len()).collect();
            (all_series, origins, inner_row_order(inner)?)
        }
    };
    let stream_ranks = match inner_order {
        InnerRowOrder::HeapMerged if ascending && inners.len() == 1 => {
            transform_stream_ranks(inner, &inner_series, context, range)?
        }
        _ => None,
    };
    let inner_order = if stream_ranks.is_some() {
        InnerRowOrder::Ranked
    } else {
        inner_order
    };
    let selector_tags = selector_tag_columns(&inners);
    let fields = expand_wildcards(
        &statement.fields,
        &inner_series,
        &statement.dimensions,
        &selector_tags,
    );
    let columns = plan::column_names(&fields);
    let mut regexes = RegexCache::default();
    let mut rows: Vec<InnerRow<'_>> = Vec::new();
    for (series, &series_index) in inner_series.iter().zip(&series_origins) {
        for values in &series.values {
            let row = InnerRow::of(series, values, series_index);
            let time_ns = row.time_ns();
            if time_ns < range.min_ns || time_ns > range.max_ns {
                continue;
            }
            if let Some(condition) = &condition {
                if !eval::truthy(&eval::eval(condition, &row, &mut regexes)) {
                    continue;
                }
            }
            let rank = stream_ranks
                .as_ref()
                .map_or(0, |ranks| ranks.rank(series_index, time_ns));
            rows.push(InnerRow { rank, ..row });
        }
    }
    let tag_keys = outer_tag_keys(statement, &rows);
    let allowed_groups =
        series_limited_groups(statement, &inner_series, &source_of_series, &tag_keys);
    let mut groups: BTreeMap<(String, Vec<String>), Vec<InnerRow<'_>>> = BTreeMap::new();
    for row in rows {
        let values = row.group_values(&tag_keys);
        let source = source_of_series.get(row.series_index).copied().unwrap_or(0);
        if let Some(allowed) = &allowed_groups {
            if !allowed.contains(&(source, row.name.to_string(), values.clone())) {
                continue;
            }
        }
        groups
            .entry((row.name.to_string(), values))
            .or_default()
            .push(row);
    }
    let zone = match &statement.timezone {
        Some(name) => {
            Some(TimeZone::load(name).ok_or_else(|| format!("unable to find time zone {name}"))?)
        }
        None => None,
    };
    let windows = (interval_ns > 0).then(|| Windows {
        interval_ns,
        offset_ns: super::time_offset(statement),
        zone: zone.clone(),
    });
    if windows.is_some() && !range.has_max() {
        range.max_ns = context.now_ns;
    }
    let grouped_by_tags = statement
        .dimensions
        .iter()
        .any(|d| !super::is_time_dimension(d));
    let outer_calls = match kind {
        QueryKind::Aggregate => Some(OuterCalls::new(
            context,
            statement,
            &fields,
            range,
            windows.as_ref(),
            inner_order,
        )?),
        QueryKind::Raw => None,
    };
    if kind == QueryKind::Raw && !reads_inner(&fields, &inner_series) {
        // 1.6.7 maps no outer field onto the inner query: no rows at all, where a field
        // that maps answers every inner row, null or not (`subquery/misc/missing-field`).
        return Ok(Vec::new());
    }
    let mut output = Vec::new();
    for ((name, tag_values), rows) in groups {
        context.check_bounds(0)?;
        let values = match &outer_calls {
            None => raw_rows(
                &fields,
                &in_order(rows, inner_order, ascending),
                &mut regexes,
            ),
            Some(outer_calls) => aggregate_rows(outer_calls, &fields, rows, &mut regexes)?,
        };
        let mut values = super::apply_limit(values, statement.limit, statement.offset);
        if values.is_empty() {
            continue;
        }
        if let Some(zone) = &zone {
            super::zone_times(&mut values, zone);
        }
        output.push(Series {
            name: Some(name),
            tags: if grouped_by_tags {
                tag_keys.iter().cloned().zip(tag_values).collect()
            } else {
                Vec::new()
            },
            columns: columns.clone(),
            values,
            partial: false,
        });
    }
    // DESC reverses the series, as for a measurement.
    if !ascending {
        output.reverse();
    }
    Ok(output)
}

/// The inner statement, grouped also by the outer GROUP BY tags when it is raw.
fn with_outer_dimensions(
    inner: &SelectStatement,
    outer: &SelectStatement,
) -> Result<SelectStatement, String> {
    let mut inner = inner.clone();
    let mut inner_interval = inner.group_by_interval_ns().map_err(str::to_string)?;
    let kind = plan::check(&inner, inner_interval)?;
    let transforms_raw = inner.fields.iter().any(|f| {
        plan::leaves(&f.expr).iter().any(|c| {
            plan::is_transformation(&c.name) && !matches!(c.args.first(), Some(Expr::Call(_)))
        })
    });
    if kind == QueryKind::Aggregate && inner_interval == 0 && !transforms_raw {
        // An aggregate inner without GROUP BY time() is computed per outer window (recorded:
        // `SELECT count(v) FROM (SELECT max(f) AS v FROM g) ... GROUP BY time(2000s)` counts
        // one max per window).
        if let Some(outer_time) = outer
            .dimensions
            .iter()
            .find(|d| super::is_time_dimension(d))
        {
            inner.dimensions.push(outer_time.clone());
            inner_interval = inner.group_by_interval_ns().map_err(str::to_string)?;
        }
    }
    let transforms = inner.fields.iter().any(|f| {
        plan::leaves(&f.expr)
            .iter()
            .any(|c| plan::is_transformation(&c.name))
    });
    if kind == QueryKind::Aggregate && inner_interval > 0 && inner.fill == Fill::Null && !transforms
    {
        // 1.6.7's outer query never sees the windows fill(null) would add (not even as the
        // 0 of a count): only windows with points reach it.
        inner.fill = Fill::None;
    }
    // The outer GROUP BY tags are the inner's too, raw or aggregate (recorded:
    // `SELECT max(m) FROM (SELECT max(f) AS m FROM g) GROUP BY host` is one max per host);
    // `GROUP BY *` does not reach the inner (recorded: over `SELECT f FROM g` it is one
    // series without tags).
    for dimension in &outer.dimensions {
        let is_tag = matches!(dimension, Expr::VarRef(_));
        if is_tag && !inner.dimensions.contains(dimension) {
            inner.dimensions.push(dimension.clone());
        }
    }
    Ok(inner)
}

/// An inner aggregate under GROUP BY time() whose fill() adds values (linear, previous, a
/// number), as 1.6.7 hands it to an outer query. Inside a subquery the inner windows reach
/// the fill merged by window, the inner series in order within one (at top level they come
/// series after series), and the fill starts over whenever the series changes: each run of
/// consecutive windows of one series is filled on its own over the whole range (linear
/// interpolates only between the run's own windows; its other windows stay null), and the
/// runs reach the outer query one after another (`gen-subquery/*/fill-linear/*`).
struct RunFilledInner {
    mode: Fill,
    /// the call of each inner column after `time`
    calls: Vec<Call>,
    windows: Windows,
}

/// The inner statements [`RunFilledInner`] answers: an aggregate under GROUP BY time() whose
/// fields are plain aggregates or selectors of one field, filled with values, without a
/// time zone, LIMIT or OFFSET, under an ascending outer query. Others keep the fill of a
/// stored query.
fn run_filled_inner(inner: &SelectStatement, outer: &SelectStatement) -> Option<RunFilledInner> {
    let fills_values = matches!(
        inner.fill,
        Fill::Linear | Fill::Previous | Fill::Number(_) | Fill::Integer(_)
    );
    let ascending = outer.sort_fields.first().is_none_or(|s| s.ascending);
    let plain = inner.timezone.is_none()
        && inner.limit == 0
        && inner.offset == 0
        && inner.series_limit == 0
        && inner.series_offset == 0;
    if !fills_values || !ascending || !plain {
        return None;
    }
    let interval_ns = inner.group_by_interval_ns().ok().filter(|i| *i > 0)?;
    if plan::check(inner, interval_ns).ok()? != QueryKind::Aggregate {
        return None;
    }
    let mut calls = Vec::with_capacity(inner.fields.len());
    for field in &inner.fields {
        let Expr::Call(call) = &field.expr else {
            return None;
        };
        let multi_row = matches!(call.name.as_str(), "top" | "bottom" | "sample" | "distinct");
        let of_field = matches!(call.args.first(), Some(Expr::VarRef(_)));
        if multi_row || !of_field || plan::is_transformation(&call.name) {
            return None;
        }
        calls.push(call.clone());
    }
    Some(RunFilledInner {
        mode: inner.fill,
        calls,
        windows: Windows {
            interval_ns,
            offset_ns: super::time_offset(inner),
            zone: None,
        },
    })
}

impl RunFilledInner {
    /// Runs `inner` unfilled within `outer_range` and answers its runs, each as a series,
    /// with the index of the inner series each run belongs to. The merge keeps apart the
    /// series of different measurements or values of the outer GROUP BY tags
    /// (`outer_dimensions`): a series grouped alone is one run, filled as at top level.
    fn execute(
        &self,
        inner: &SelectStatement,
        outer_dimensions: &[Expr],
        context: &SelectContext<'_>,
        outer_range: TimeRange,
    ) -> Result<(Vec<Series>, Vec<usize>), String> {
        let mut unfilled = inner.clone();
        unfilled.fill = Fill::None;
        let series = super::run(&unfilled, context, outer_range)?;
        // The windows the fill steps over, as the inner query's own fill would.
        let (_, inner_range) = time::split_condition(inner.condition.as_ref(), context.now_ns)?;
        let mut fill_range = inner_range.intersect(outer_range);
        if !fill_range.has_max() {
            fill_range.max_ns = context.now_ns;
        }
        // Every inner row as (outer group, window, series, row), in the order the merge
        // hands them on.
        let mut merged: Vec<(Vec<&str>, i64, usize, usize)> = Vec::new();
        for (series_index, one) in series.iter().enumerate() {
            let mut group = vec![one.name.as_deref().unwrap_or("")];
            for (key, value) in &one.tags {
                let grouped = outer_dimensions.iter().any(|d| match d {
                    Expr::VarRef(var) => var.name == *key,
                    Expr::Wildcard(_) => true,
                    _ => false,
                });
                if grouped {
                    group.push(value);
                }
            }
            if one.columns.len() != self.calls.len() + 1 {
                return Err(format!(
                    "BUG: inner series has {} columns for {} fields",
                    one.columns.len(),
                    self.calls.len()
                ));
            }
            for (row_index, values) in one.values.iter().enumerate() {
                let time_ns = match values.first() {
                    Some(Value::Time(ns)) => *ns,
                    _ => 0,
                };
                merged.push((group.clone(), time_ns, series_index, row_index));
            }
        }
        merged.sort_unstable();
        let mut runs: Vec<(usize, Vec<usize>)> = Vec::new();
        for (_, _, series_index, row_index) in merged {
            match runs.last_mut() {
                Some((current, rows)) if *current == series_index => rows.push(row_index),
                _ => runs.push((series_index, vec![row_index])),
            }
        }
        let mut filled_runs = Vec::with_capacity(runs.len());
        let mut origins = Vec::with_capacity(runs.len());
        for (series_index, row_indexes) in runs {
            context.check_bounds(0)?;
            let Some(source) = series.get(series_index) else {
                return Err(format!("BUG: no inner series {series_index}"));
            };
            let mut rows: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
            for (column, call) in self.calls.iter().enumerate() {
                let points: Vec<LeafPoint> = row_indexes
                    .iter()
                    .filter_map(|&r| source.values.get(r))
                    .filter_map(|values| {
                        let time_ns = match values.first() {
                            Some(Value::Time(ns)) => *ns,
                            _ => 0,
                        };
                        let value = values.get(column + 1)?;
                        (*value != Value::Null).then(|| LeafPoint {
                            out_time: time_ns,
                            point: Point {
                                time: time_ns,
                                value: value.clone(),
                                origin: 0,
                            },
                        })
                    })
                    .collect();
                let filled = aggregate::fill_windows(
                    context,
                    &self.windows,
                    fill_range,
                    self.mode,
                    call,
                    points,
                )?;
                for point in filled {
                    let row = rows
                        .entry(point.out_time)
                        .or_insert_with(|| vec![Value::Null; self.calls.len()]);
                    if let Some(slot) = row.get_mut(column) {
                        *slot = point.point.value;
                    }
                }
            }
            let values = rows
                .into_iter()
                .map(|(time_ns, values)| {
                    let mut row = Vec::with_capacity(values.len() + 1);
                    row.push(Value::Time(time_ns));
                    row.extend(values);
                    row
                })
                .collect();
            filled_runs.push(Series {
                name: source.name.clone(),
                tags: source.tags.clone(),
                columns: source.columns.clone(),
                values,
                partial: false,
            });
            origins.push(series_index);
        }
        Ok((filled_runs, origins))
    }
}

/// Whether a field of `statement` is a top() or bottom() call.
fn selects_top_or_bottom(statement: &SelectStatement) -> bool {
    statement.fields.iter().any(|field| {
        matches!(&field.expr, Expr::Call(call) if matches!(call.name.as_str(), "top" | "bottom"))
    })
}

/// The columns an inner `top(f, tag, ..., N)` / `bottom(...)` adds for its tag arguments:
/// 1.6.7's outer `*` does not list them (they are not the inner's fields), though the outer
/// query may still name them.
fn selector_tag_columns(inners: &[SelectStatement]) -> Vec<String> {
    let mut names = Vec::new();
    for inner in inners {
        for field in &inner.fields {
            if let Expr::Call(call) = &field.expr {
                if matches!(call.name.as_str(), "top" | "bottom") && call.args.len() > 2 {
                    for arg in &call.args[1..call.args.len() - 1] {
                        if let Expr::VarRef(var) = arg {
                            names.push(var.name.clone());
                        }
                    }
                }
            }
        }
    }
    names
}

/// `*` as every column of the inner result but `time` and every inner tag the outer query
/// does not group by, sorted together.
/// `hidden_columns` are left out ([`selector_tag_columns`]).
fn expand_wildcards(
    fields: &[Field],
    inner: &[Series],
    grouped_tags: &[Expr],
    hidden_columns: &[String],
) -> Vec<Field> {
    let mut expanded = Vec::with_capacity(fields.len());
    for field in fields {
        if time::is_time_ref(&field.expr) {
            continue;
        }
        let Expr::Wildcard(kind) = field.expr else {
            expanded.push(field.clone());
            continue;
        };
        let with_columns = kind != WildcardType::Tag;
        let with_tags = kind != WildcardType::Field;
        let grouped = |tag: &str| {
            grouped_tags.iter().any(|d| match d {
                Expr::VarRef(var) => var.name == tag,
                Expr::Wildcard(_) => true,
                _ => false,
            })
        };
        let mut names: Vec<&String> = inner
            .iter()
            .flat_map(|series| {
                let tags = series.tags.iter().map(|(k, _)| k).filter(|k| !grouped(k));
                let columns = series
                    .columns
                    .iter()
                    .skip(1)
                    .filter(|column| !hidden_columns.contains(column));
                columns
                    .filter(move |_| with_columns)
                    .chain(tags.filter(move |_| with_tags))
            })
            .collect();
        names.sort();
        names.dedup();
        expanded.extend(names.into_iter().map(|name| Field {
            expr: Expr::VarRef(sluice_influxql::ast::VarRef {
                name: name.clone(),
                data_type: None,
            }),
            alias: None,
        }));
    }
    expanded
}

/// The outer GROUP BY tag keys, sorted (`*`: every tag of the inner rows).
fn outer_tag_keys(statement: &SelectStatement, rows: &[InnerRow<'_>]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for dimension in &statement.dimensions {
        match dimension {
            Expr::VarRef(var) => keys.push(var.name.clone()),
            Expr::Wildcard(_) => {
                for row in rows {
                    keys.extend(row.tags.iter().map(|(k, _)| k.clone()));
                }
            }
            _ => {}
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// The order in which a raw outer query sees the rows of the inner series it groups
/// together (1.6.7, pinned by the golden `subquery/*` cases).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InnerRowOrder {
    /// series after series: an aggregate inner query without GROUP BY time() (one window;
    /// `subquery/math-outer`)
    SeriesBySeries,
    /// by time, window by window, the inner series in order within a window: an aggregate
    /// inner query with GROUP BY time() (`subquery/inner-group-by-time-outer-range-star`)
    ByTime,
    /// by time, equal times in the order of Go's heap merge over the inner series: a raw
    /// inner query (`subquery/raw-inner-group-by-host-merged`)
    HeapMerged,
    /// by [`InnerRow::rank`]: a transformation of raw fields ([`transform_stream_ranks`])
    Ranked,
}

fn inner_row_order(inner: &SelectStatement) -> Result<InnerRowOrder, String> {
    let interval_ns = inner.group_by_interval_ns().map_err(str::to_string)?;
    // A transformation of raw fields emits as the raw points reach it: merged by time
    // like a raw inner query (`gen-subquery/*/transform/*`).
    let transforms_raw = inner.fields.iter().any(|f| {
        plan::leaves(&f.expr).iter().any(|c| {
            plan::is_transformation(&c.name) && !matches!(c.args.first(), Some(Expr::Call(_)))
        })
    });
    Ok(match plan::check(inner, interval_ns)? {
        QueryKind::Raw => InnerRowOrder::HeapMerged,
        QueryKind::Aggregate if transforms_raw && interval_ns == 0 => InnerRowOrder::HeapMerged,
        QueryKind::Aggregate if interval_ns > 0 => InnerRowOrder::ByTime,
        QueryKind::Aggregate => InnerRowOrder::SeriesBySeries,
    })
}

/// Where each output row of an inner transformation of raw fields falls in the stream 1.6.7
/// hands the outer query: its transformation keeps one state per series and emits as the
/// raw points reach it, and they reach it heap-merged by time over the inner series. So an
/// output row takes the place of the raw point at its time in that merge (equal times
/// come out in the heap's order, `gen-subquery/*/transform/raw`).
struct StreamRanks {
    /// per inner series: its index among the raw series (None: not among them)
    raw_of: Vec<Option<usize>>,
    /// (raw series, time) -> position in the merge
    positions: std::collections::HashMap<(usize, i64), usize>,
}

impl StreamRanks {
    fn rank(&self, series_index: usize, time_ns: i64) -> usize {
        self.raw_of
            .get(series_index)
            .copied()
            .flatten()
            .and_then(|raw| self.positions.get(&(raw, time_ns)).copied())
            .unwrap_or(usize::MAX)
    }
}

/// The [`StreamRanks`] of `inner` (already run as `inner_series`), when all its fields are
/// transformations of one raw expression without GROUP BY time(): the raw points are read
/// again (the same statement selecting that expression) to replay the merge.
fn transform_stream_ranks(
    inner: &SelectStatement,
    inner_series: &[Series],
    context: &SelectContext<'_>,
    range: TimeRange,
) -> Result<Option<StreamRanks>, String> {
    let mut argument: Option<&Expr> = None;
    for field in &inner.fields {
        let Expr::Call(call) = &field.expr else {
            return Ok(None);
        };
        let Some(arg) = call.args.first() else {
            return Ok(None);
        };
        let raw_transform = plan::is_transformation(&call.name) && !matches!(arg, Expr::Call(_));
        if !raw_transform || argument.is_some_and(|a| a != arg) {
            return Ok(None);
        }
        argument = Some(arg);
    }
    let Some(argument) = argument else {
        return Ok(None);
    };
    let mut raw = inner.clone();
    raw.fields = vec![Field {
        expr: argument.clone(),
        alias: None,
    }];
    raw.limit = 0;
    raw.offset = 0;
    raw.fill = Fill::Null;
    let raw_series = super::run(&raw, context, range)?;
    let runs: Vec<Vec<(i64, usize)>> = raw_series
        .iter()
        .enumerate()
        .map(|(index, series)| {
            series
                .values
                .iter()
                .map(|values| match values.first() {
                    Some(Value::Time(ns) | Value::ZonedTime { time_ns: ns, .. }) => (*ns, index),
                    _ => (0, index),
                })
                .collect()
        })
        .collect();
    context.check_bounds(0)?;
    let positions = super::heap_merge(runs, |a, b| a.0 < b.0)
        .into_iter()
        .enumerate()
        .map(|(position, (time_ns, index))| ((index, time_ns), position))
        .collect();
    let raw_of = inner_series
        .iter()
        .map(|series| {
            raw_series
                .iter()
                .position(|r| r.name == series.name && r.tags == series.tags)
        })
        .collect();
    Ok(Some(StreamRanks { raw_of, positions }))
}

/// The rows of one outer group (collected series after series, each in ascending time) put
/// in `order`; `ascending` is false for the outer ORDER BY time DESC.
fn in_order(
    mut rows: Vec<InnerRow<'_>>,
    order: InnerRowOrder,
    ascending: bool,
) -> Vec<InnerRow<'_>> {
    match order {
        InnerRowOrder::SeriesBySeries => rows,
        InnerRowOrder::Ranked => {
            rows.sort_by_key(|row| row.rank);
            rows
        }
        InnerRowOrder::ByTime if ascending => {
            rows.sort_by_key(InnerRow::time_ns);
            rows
        }
        InnerRowOrder::ByTime => {
            rows.sort_by_key(|row| std::cmp::Reverse(row.time_ns()));
            rows
        }
        InnerRowOrder::HeapMerged => {
            let mut runs: Vec<Vec<InnerRow<'_>>> = Vec::new();
            let mut current_series = None;
            for row in rows {
                if current_series != Some(row.series_index) {
                    current_series = Some(row.series_index);
                    runs.push(Vec::new());
                }
                if let Some(run) = runs.last_mut() {
                    run.push(row);
                }
            }
            if ascending {
                return super::heap_merge(runs, |a, b| a.time_ns() < b.time_ns());
            }
            // Descending, 1.6.7 merges the series last to first, each from its end.
            runs.reverse();
            runs.iter_mut().for_each(|run| run.reverse());
            super::heap_merge(runs, |a, b| a.time_ns() > b.time_ns())
        }
    }
}

/// Whether some variable of the raw outer fields names an inner column or a tag the inner
/// series are grouped by.
fn reads_inner(fields: &[Field], inner: &[Series]) -> bool {
    fields.iter().any(|field| {
        plan::raw_refs(&field.expr).iter().any(|var| {
            inner.iter().any(|series| {
                series.columns.iter().skip(1).any(|c| *c == var.name)
                    || series.tags.iter().any(|(k, _)| *k == var.name)
            })
        })
    })
}

/// Raw outer fields: one row per inner row, its fields null or not (as 1.6.7 answers).
fn raw_rows(fields: &[Field], rows: &[InnerRow<'_>], regexes: &mut RegexCache) -> Vec<Vec<Value>> {
    let mut output = Vec::with_capacity(rows.len());
    for row in rows {
        let mut out = Vec::with_capacity(fields.len() + 1);
        out.push(Value::Time(row.time_ns()));
        for field in fields {
            out.push(eval::eval(&field.expr, row, regexes));
        }
        output.push(out);
    }
    output
}

/// What computing the outer calls of every group shares (resolved once per execution).
struct OuterCalls<'s> {
    context: &'s SelectContext<'s>,
    fill: Fill,
    range: TimeRange,
    windows: Option<&'s Windows>,
    ascending: bool,
    inner_order: InnerRowOrder,
    /// the outermost calls of the fields, each once
    leaves: Vec<&'s Call>,
    /// per leaf: the technical-analysis function or holt_winters it is, resolved
    typed: Vec<Option<TypedTransform>>,
    /// the outer fields name raw columns or tags beside a lone selector (`top(m, 2), host`):
    /// each selected point keeps the inner series it came from, to read them from its row
    reads_aux: bool,
}

impl<'s> OuterCalls<'s> {
    fn new(
        context: &'s SelectContext<'s>,
        statement: &'s SelectStatement,
        fields: &'s [Field],
        range: TimeRange,
        windows: Option<&'s Windows>,
        inner_order: InnerRowOrder,
    ) -> Result<OuterCalls<'s>, String> {
        let mut leaves: Vec<&Call> = Vec::new();
        for field in fields {
            for leaf in plan::leaves(&field.expr) {
                if !leaves.contains(&leaf) {
                    leaves.push(leaf);
                }
            }
        }
        let interval_ns = windows.map_or(0, |w| w.interval_ns);
        let typed = leaves
            .iter()
            .map(|leaf| TypedTransform::resolve(leaf, interval_ns).transpose())
            .collect::<Result<Vec<_>, String>>()?;
        let reads_aux = leaves.len() == 1
            && leaves.iter().all(|leaf| plan::is_selector(&leaf.name))
            && fields.iter().any(|f| !plan::raw_refs(&f.expr).is_empty());
        Ok(OuterCalls {
            reads_aux,
            context,
            fill: statement.fill,
            range,
            windows,
            ascending: statement.sort_fields.first().is_none_or(|s| s.ascending),
            inner_order,
            leaves,
            typed,
        })
    }

    /// The time of the one window without GROUP BY time(): the range start, else 0.
    fn single_window_time(&self) -> i64 {
        if self.range.has_min() {
            self.range.min_ns
        } else {
            0
        }
    }
}

/// The output groups SLIMIT/SOFFSET keep, as `(source, name, tag values)`, or `None`
/// without either. 1.6.7 cuts each source's groups on their own, in ascending order, before
/// the outer WHERE removes any row (recorded: `... WHERE v > 10 GROUP BY region SLIMIT 1`
/// keeps the first region even when none of its rows pass, and answers nothing).
fn series_limited_groups(
    statement: &SelectStatement,
    inner_series: &[Series],
    source_of_series: &[usize],
    tag_keys: &[String],
) -> Option<std::collections::BTreeSet<(usize, String, Vec<String>)>> {
    if statement.series_limit == 0 && statement.series_offset == 0 {
        return None;
    }
    let mut per_source: BTreeMap<usize, std::collections::BTreeSet<(String, Vec<String>)>> =
        BTreeMap::new();
    for (series_index, series) in inner_series.iter().enumerate() {
        let source = source_of_series.get(series_index).copied().unwrap_or(0);
        for values in &series.values {
            let row = InnerRow::of(series, values, series_index);
            let key = row.group_values(tag_keys);
            per_source
                .entry(source)
                .or_default()
                .insert((row.name.to_string(), key));
        }
    }
    let mut allowed = std::collections::BTreeSet::new();
    for (source, keys) in per_source {
        let kept = super::limit_groups(
            keys.into_iter().collect(),
            statement.series_limit,
            statement.series_offset,
        );
        allowed.extend(
            kept.into_iter()
                .map(|(name, values)| (source, name, values)),
        );
    }
    Some(allowed)
}

/// The argument of a call at `index` as a count (`top(x, 3)`, `moving_average(x, 2)`).
fn count_arg(call: &Call, index: usize) -> usize {
    aggregate::integer_arg(call, index).map_or(0, |n| usize::try_from(n).unwrap_or(0))
}

/// The arguments of a call besides its variable.
fn call_args(call: &Call) -> CallArgs {
    let percentile = match call.args.get(1) {
        Some(Expr::Literal(Literal::Integer(n))) => *n as f64,
        Some(Expr::Literal(Literal::Number(n))) => *n,
        _ => 0.0,
    };
    CallArgs {
        percentile,
        count: count_arg(call, call.args.len().saturating_sub(1)),
        count_distinct: matches!(call.args.first(), Some(Expr::Call(c)) if c.name == "distinct"),
        raw_points_limit: None,
        descending: false,
    }
}

/// The expression a call reduces (`x` of `count(distinct(x))` too).
fn call_argument(call: &Call) -> Option<&Expr> {
    match call.args.first() {
        Some(Expr::Call(inner)) if inner.name == "distinct" => inner.args.first(),
        other => other,
    }
}

/// Aggregate outer fields over one group's rows (collected series after series): every
/// leaf computed as a list of points, joined by time, the fields evaluated per row.
fn aggregate_rows(
    outer: &OuterCalls<'_>,
    fields: &[Field],
    rows: Vec<InnerRow<'_>>,
    regexes: &mut RegexCache,
) -> Result<Vec<Vec<Value>>, String> {
    let streamed = outer
        .leaves
        .iter()
        .zip(&outer.typed)
        .any(|(leaf, typed)| typed.is_some() || reads_stream(leaf));
    // The rows as the outer query's iterator hands them on, for the functions of a stream.
    let ordered = if streamed {
        in_order(rows.clone(), outer.inner_order, outer.ascending)
    } else {
        Vec::new()
    };
    let group = GroupRows {
        rows: &rows,
        ordered: &ordered,
    };
    // A lone transformation answers in the order it emits, which is the rows' order: out
    // of time order when the inner rows are (selectors of an aggregate inner query by tag,
    // `gen-subquery/*/agg-by-tag/raw`). Leaves joined with others are sorted by time.
    let lone_transformation = match (outer.leaves.as_slice(), outer.typed.as_slice()) {
        ([leaf], [typed]) => typed.is_some() || (leaf.name != "integral" && reads_stream(leaf)),
        _ => false,
    };
    let mut leaf_points = Vec::with_capacity(outer.leaves.len());
    for (leaf, typed) in outer.leaves.iter().zip(&outer.typed) {
        let mut points = leaf_points_of(outer, &group, leaf, typed.as_ref(), regexes)?;
        if !lone_transformation {
            points.sort_by_key(|p| p.out_time);
        }
        leaf_points.push(points);
    }
    if leaf_points.iter().all(Vec::is_empty) {
        return Ok(Vec::new());
    }
    let mut joined = aggregate::join(&leaf_points);
    if !outer.ascending {
        joined.reverse();
    }
    let mut output = Vec::with_capacity(joined.len());
    for (time, values, origin) in joined {
        let calls: Vec<(&Call, Value)> = outer.leaves.iter().copied().zip(values).collect();
        let aux = match origin {
            Some((series, point_time)) if outer.reads_aux => rows
                .iter()
                .find(|row| series_origin(row) == series && row.time_ns() == point_time),
            _ => None,
        };
        let call_row = CallRow { calls: &calls, aux };
        let mut out = Vec::with_capacity(fields.len() + 1);
        out.push(Value::Time(time));
        out.extend(
            fields
                .iter()
                .map(|f| eval::eval(&f.expr, &call_row, regexes)),
        );
        output.push(out);
        if output.len() % super::ROWS_PER_BOUNDS_CHECK == 0 {
            outer.context.check_bounds(0)?;
        }
    }
    Ok(output)
}

/// Whether a call reads the rows as a stream (a transformation or integral of a column)
/// rather than window by window.
fn reads_stream(call: &Call) -> bool {
    call.name == "integral"
        || (plan::is_transformation(&call.name)
            && !matches!(call.args.first(), Some(Expr::Call(_))))
}

/// One outer group's rows: as collected (series after series, each in time order) and, for
/// the functions of a stream, in the order the outer query reads them ([`in_order`]).
struct GroupRows<'g, 'a> {
    rows: &'g [InnerRow<'a>],
    ordered: &'g [InnerRow<'a>],
}

/// The points of one leaf over one group.
fn leaf_points_of(
    outer: &OuterCalls<'_>,
    group: &GroupRows<'_, '_>,
    call: &Call,
    typed: Option<&TypedTransform>,
    regexes: &mut RegexCache,
) -> Result<Vec<LeafPoint>, String> {
    if let Some(resolved) = typed {
        let input = transform_input(outer, group, call, regexes)?;
        let points = aggregate::typed_points(outer.context, outer.windows, resolved, &input)?;
        return Ok(in_join_order(outer.ascending, points));
    }
    if plan::is_transformation(&call.name) {
        let of_aggregate = matches!(call.args.first(), Some(Expr::Call(_)));
        let input = transform_input(outer, group, call, regexes)?;
        let default_unit_ns = match outer.windows {
            Some(windows) if of_aggregate => windows.interval_ns,
            _ => aggregate::NANOS_PER_SECOND,
        };
        let unit_ns = if call.name == "elapsed" {
            aggregate::duration_arg(call, 1).unwrap_or(1)
        } else {
            aggregate::duration_arg(call, 1).unwrap_or(default_unit_ns.max(1))
        };
        let spec = Transform {
            name: &call.name,
            unit_ns,
            window: count_arg(call, 1),
            ascending: outer.ascending,
        };
        let points = reduce::transform(&input, spec)
            .into_iter()
            .map(|point| LeafPoint {
                out_time: point.time,
                point,
            })
            .collect();
        return Ok(in_join_order(outer.ascending, points));
    }
    if call.name == "integral" {
        let Some(argument) = call.args.first() else {
            return Ok(Vec::new());
        };
        let points = stream_points(outer, argument, group.ordered, regexes)?;
        let result = aggregate::integral_points(&points, call, outer.windows);
        return fill(outer, call, result);
    }
    window_points(outer, group.rows, call, regexes)
}

/// A transformation's points (in the order it emitted them, which is the answer's) put in
/// the order the join expects: each leaf is sorted by time (stably) and the rows of a
/// descending query reversed, so equal times of a descending run are reversed first.
fn in_join_order(ascending: bool, mut points: Vec<LeafPoint>) -> Vec<LeafPoint> {
    if !ascending {
        points.reverse();
    }
    points
}

/// What a transformation (or technical-analysis function, holt_winters) runs over: the
/// filled windows of its aggregate (nulls kept), or the rows' values of its column, in the
/// order the query runs.
fn transform_input(
    outer: &OuterCalls<'_>,
    group: &GroupRows<'_, '_>,
    call: &Call,
    regexes: &mut RegexCache,
) -> Result<Vec<Point>, String> {
    match call.args.first() {
        Some(Expr::Call(inner)) => {
            let mut points: Vec<Point> = window_points(outer, group.rows, inner, regexes)?
                .into_iter()
                .map(|p| Point {
                    time: p.out_time,
                    ..p.point
                })
                .collect();
            points.sort_by_key(|p| p.time);
            if !outer.ascending {
                points.reverse();
            }
            Ok(points)
        }
        Some(argument) => stream_points(outer, argument, group.ordered, regexes),
        None => Ok(Vec::new()),
    }
}

/// The non-null values of `argument` over `rows`, as points in the rows' order.
fn stream_points(
    outer: &OuterCalls<'_>,
    argument: &Expr,
    rows: &[InnerRow<'_>],
    regexes: &mut RegexCache,
) -> Result<Vec<Point>, String> {
    let mut points = Vec::new();
    for row in rows {
        let value = eval::eval(argument, row, regexes);
        if value == Value::Null {
            continue;
        }
        points.push(Point {
            time: row.time_ns(),
            value,
            origin: series_origin(row),
        });
        if points.len() % super::ROWS_PER_BOUNDS_CHECK == 0 {
            outer.context.check_bounds(0)?;
        }
    }
    Ok(points)
}

/// A row's series as a point's origin.
fn series_origin(row: &InnerRow<'_>) -> u32 {
    u32::try_from(row.series_index).unwrap_or(u32::MAX - 1)
}

/// An aggregate or selector reduced per window (one window without GROUP BY time), the
/// rows fed series after series; single-valued functions are filled.
fn window_points(
    outer: &OuterCalls<'_>,
    rows: &[InnerRow<'_>],
    call: &Call,
    regexes: &mut RegexCache,
) -> Result<Vec<LeafPoint>, String> {
    let Some(argument) = call_argument(call) else {
        return Ok(Vec::new());
    };
    let single_time = outer.single_window_time();
    // Rows by window start, in the order collected; only windows with rows are kept here
    // (empty ones are filled below, within max-select-buckets).
    let mut windows: BTreeMap<i64, Vec<(&InnerRow<'_>, Value)>> = BTreeMap::new();
    for (index, row) in rows.iter().enumerate() {
        let value = eval::eval(argument, row, regexes);
        if value == Value::Null {
            continue;
        }
        let start = outer
            .windows
            .map_or(single_time, |w| w.start_of(row.time_ns()));
        windows.entry(start).or_default().push((row, value));
        if (index + 1) % super::ROWS_PER_BOUNDS_CHECK == 0 {
            outer.context.check_bounds(0)?;
        }
    }
    let name = call.name.as_str();
    let args = call_args(call);
    let accumulator_name = if args.count_distinct {
        "count_distinct"
    } else {
        name
    };
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
    let collects_points = matches!(name, "top" | "bottom" | "sample" | "distinct");
    let point_time = matches!(name, "top" | "bottom" | "sample")
        || (outer.windows.is_none() && outer.leaves.len() == 1 && plan::is_selector(name));
    let mut result = Vec::new();
    for (start, window_rows) in windows {
        let Some((_, first_value)) = window_rows.first() else {
            continue;
        };
        let mut accumulator =
            Accumulator::new(accumulator_name, first_value).with_edge_pick(EdgePick::Best);
        let mut previous_series = None;
        for (row, value) in &window_rows {
            if previous_series.is_some_and(|s| s != row.series_index) {
                accumulator.end_partial();
            }
            previous_series = Some(row.series_index);
            // One origin for every row (the merge of collected points then follows the
            // rows' order), but the series where top/bottom need its tags.
            let origin = if tag_args.is_empty() && !outer.reads_aux {
                0
            } else {
                series_origin(row)
            };
            accumulator.push(row.time_ns(), value, origin);
        }
        let points = if tag_args.is_empty() {
            reduce::finish(name, accumulator, &args, start)
        } else {
            let Accumulator::Collect(points) = accumulator else {
                continue;
            };
            let tag_of = |point: &Point| -> String {
                let row = window_rows
                    .iter()
                    .find(|(row, _)| series_origin(row) == point.origin);
                tag_args
                    .iter()
                    .map(|t| row.map_or("", |(row, _)| row.tag(t)))
                    .collect::<Vec<_>>()
                    .join("\u{0}")
            };
            reduce::top_by_tag(name, points, args.count, &tag_of)
        };
        for point in points {
            let out_time = if point_time { point.time } else { start };
            result.push(LeafPoint { out_time, point });
        }
    }
    if collects_points {
        return Ok(result);
    }
    fill(outer, call, result)
}

/// Fills the empty windows of a single-valued leaf under GROUP BY time().
fn fill(
    outer: &OuterCalls<'_>,
    call: &Call,
    points: Vec<LeafPoint>,
) -> Result<Vec<LeafPoint>, String> {
    match outer.windows {
        Some(windows) => aggregate::fill_windows(
            outer.context,
            windows,
            outer.range,
            outer.fill,
            call,
            points,
        ),
        None => Ok(points),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_influxql::ast::VarRef;

    fn var(name: &str) -> Expr {
        Expr::VarRef(VarRef {
            name: name.into(),
            data_type: None,
        })
    }

    #[test]
    fn wildcard_takes_inner_columns_and_ungrouped_tags() {
        let inner = vec![Series {
            name: Some("cpu".into()),
            tags: vec![("host".into(), "a".into()), ("region".into(), "e".into())],
            columns: vec!["time".into(), "m".into()],
            values: Vec::new(),
            partial: false,
        }];
        let star = [Field {
            expr: Expr::Wildcard(WildcardType::All),
            alias: None,
        }];
        let names = |fields: Vec<Field>| plan::column_names(&fields);
        assert_eq!(
            names(expand_wildcards(&star, &inner, &[], &[])),
            ["time", "host", "m", "region"]
        );
        assert_eq!(
            names(expand_wildcards(&star, &inner, &[var("region")], &[])),
            ["time", "host", "m"]
        );
    }

    #[test]
    fn inner_rows_read_columns_then_tags() {
        let tags = vec![("host".to_string(), "a".to_string())];
        let columns = vec!["time".to_string(), "m".to_string()];
        let values = vec![Value::Time(5), Value::Float(2.5)];
        let row = InnerRow {
            name: "cpu",
            tags: &tags,
            columns: &columns,
            values: &values,
            series_index: 0,
            rank: 0,
        };
        assert_eq!(row.time_ns(), 5);
        assert_eq!(row.lookup("m", None), Value::Float(2.5));
        assert_eq!(row.lookup("host", None), Value::String("a".into()));
        assert_eq!(row.lookup("nope", None), Value::Null);
    }
}
