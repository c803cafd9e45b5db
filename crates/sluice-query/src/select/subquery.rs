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
//!   alias). A raw inner query is grouped by the outer GROUP BY tags too, so the outer query
//!   can group or filter by them.
//! * Outer WHERE: the time part bounds the rows, the rest is evaluated per row (columns
//!   first, then tags).
//! * Outer GROUP BY tags group the rows by those tag values (absent: empty), sorted;
//!   GROUP BY time() windows them as a stored query would (`fill(null)` by default:
//!   `count` gives 0, others null; `fill(none)` skips empty windows; a number fills it).
//! * `*` in the outer query: the inner columns and the inner tags it does not group by.
//! * Raw outer fields: one row per inner row with a non-null value, in [`InnerRowOrder`]:
//!   series after series for an aggregate inner query without GROUP BY time(), by time
//!   (stable over the inner series) with one, merged by time as 1.6.7's heap merges
//!   stored series for a raw inner query.
//! * Aggregate outer fields: each call is reduced per window by the same accumulators as
//!   stored data ([`super::reduce`]), one inner series at a time; the row time is the
//!   window start (or the range start, 0 without one), but a lone selector without GROUP
//!   BY time reports its point's time.
//!
//! Not covered yet (answered with an error): a subquery beside other sources, and
//! functions yielding several points per window (`top`, `bottom`, `sample`, `distinct`,
//! `percentile` is fine) or transformations in the outer query.

use std::collections::BTreeMap;

use crate::result::{Series, Value};
use sluice_influxql::ast::{
    Call, DataType, Expr, Field, Fill, Literal, SelectStatement, Source, WildcardType,
};

use super::eval::{self, RegexCache, Row};
use super::plan::{self, QueryKind};
use super::reduce::{self, Accumulator, CallArgs, EdgePick};
use super::time::{self, TimeRange, TimeZone, Windows};
use super::SelectContext;

/// Functions of an outer query that yield more than one point per window.
const MULTI_POINT_FUNCTIONS: [&str; 4] = ["top", "bottom", "sample", "distinct"];

/// One inner row as the outer query sees it.
struct InnerRow<'a> {
    name: &'a str,
    tags: &'a [(String, String)],
    columns: &'a [String],
    values: &'a [Value],
    /// position of its series in the inner result
    series_index: usize,
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
}

impl Row for CallRow<'_> {
    fn lookup(&self, _name: &str, _data_type: Option<DataType>) -> Value {
        Value::Null
    }

    fn call_value(&self, call: &Call) -> Value {
        self.calls
            .iter()
            .find(|(c, _)| *c == call)
            .map_or(Value::Null, |(_, v)| v.clone())
    }
}

/// Executes `statement`, whose source is a subquery.
pub(super) fn execute(
    statement: &SelectStatement,
    context: &SelectContext<'_>,
    kind: QueryKind,
    interval_ns: i64,
    outer_range: TimeRange,
) -> Result<Vec<Series>, String> {
    let inner = match statement.sources.as_slice() {
        [Source::Subquery(inner)] => inner,
        _ => return Err("a subquery beside other sources is not supported yet".into()),
    };
    let inner = with_outer_dimensions(inner, statement)?;
    let (condition, range) = time::split_condition(statement.condition.as_ref(), context.now_ns)?;
    let mut range = range.intersect(outer_range);
    // 1.6.7 runs the inner statement within the outer time range (intersected with its
    // own): without it an inner GROUP BY time() would fill windows from its own range, all
    // of time up to now.
    let inner_series = super::run(&inner, context, range)?;
    let fields = expand_wildcards(&statement.fields, &inner_series, &statement.dimensions);
    let columns = plan::column_names(&fields);
    let mut regexes = RegexCache::default();
    let mut rows: Vec<InnerRow<'_>> = Vec::new();
    for (series_index, series) in inner_series.iter().enumerate() {
        for values in &series.values {
            let row = InnerRow {
                name: series.name.as_deref().unwrap_or(""),
                tags: &series.tags,
                columns: &series.columns,
                values,
                series_index,
            };
            let time_ns = row.time_ns();
            if time_ns < range.min_ns || time_ns > range.max_ns {
                continue;
            }
            if let Some(condition) = &condition {
                if !eval::truthy(&eval::eval(condition, &row, &mut regexes)) {
                    continue;
                }
            }
            rows.push(row);
        }
    }
    let tag_keys = outer_tag_keys(statement, &rows);
    let mut groups: BTreeMap<(String, Vec<String>), Vec<InnerRow<'_>>> = BTreeMap::new();
    for row in rows {
        let values = tag_keys.iter().map(|k| row.tag(k).to_string()).collect();
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
    let inner_order = inner_row_order(&inner)?;
    let ascending = statement.sort_fields.first().is_none_or(|s| s.ascending);
    let mut output = Vec::new();
    for ((name, tag_values), rows) in groups {
        let values = match kind {
            QueryKind::Raw => raw_rows(
                &fields,
                &in_order(rows, inner_order, ascending),
                &mut regexes,
            ),
            QueryKind::Aggregate => aggregate_rows(
                statement,
                &fields,
                &rows,
                range,
                windows.as_ref(),
                &mut regexes,
            )?,
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
    Ok(output)
}

/// The inner statement, grouped also by the outer GROUP BY tags when it is raw.
fn with_outer_dimensions(
    inner: &SelectStatement,
    outer: &SelectStatement,
) -> Result<SelectStatement, String> {
    let mut inner = inner.clone();
    let inner_interval = inner.group_by_interval_ns().map_err(str::to_string)?;
    let kind = plan::check(&inner, inner_interval)?;
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
    if kind == QueryKind::Raw {
        for dimension in &outer.dimensions {
            let is_tag = matches!(dimension, Expr::VarRef(_) | Expr::Wildcard(_));
            if is_tag && !inner.dimensions.contains(dimension) {
                inner.dimensions.push(dimension.clone());
            }
        }
    }
    Ok(inner)
}

/// `*` as every column of the inner result but `time` and every inner tag the outer query
/// does not group by, sorted together.
fn expand_wildcards(fields: &[Field], inner: &[Series], grouped_tags: &[Expr]) -> Vec<Field> {
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
                let columns = series.columns.iter().skip(1);
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
}

fn inner_row_order(inner: &SelectStatement) -> Result<InnerRowOrder, String> {
    let interval_ns = inner.group_by_interval_ns().map_err(str::to_string)?;
    Ok(match plan::check(inner, interval_ns)? {
        QueryKind::Raw => InnerRowOrder::HeapMerged,
        QueryKind::Aggregate if interval_ns > 0 => InnerRowOrder::ByTime,
        QueryKind::Aggregate => InnerRowOrder::SeriesBySeries,
    })
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

/// Raw outer fields: one row per inner row with a non-null field value.
fn raw_rows(fields: &[Field], rows: &[InnerRow<'_>], regexes: &mut RegexCache) -> Vec<Vec<Value>> {
    let mut output = Vec::with_capacity(rows.len());
    for row in rows {
        let mut out = Vec::with_capacity(fields.len() + 1);
        out.push(Value::Time(row.time_ns()));
        let mut any = false;
        for field in fields {
            let value = eval::eval(&field.expr, row, regexes);
            any |= value != Value::Null;
            out.push(value);
        }
        if any {
            output.push(out);
        }
    }
    output
}

/// The arguments of a call besides its variable.
fn call_args(call: &Call) -> CallArgs {
    let number = |index: usize| match call.args.get(index) {
        Some(Expr::Literal(Literal::Integer(n))) => Some(*n as f64),
        Some(Expr::Literal(Literal::Number(n))) => Some(*n),
        _ => None,
    };
    CallArgs {
        percentile: number(1).unwrap_or(0.0),
        count: number(1).map_or(0, |n| n.max(0.0) as usize),
        count_distinct: matches!(call.args.first(), Some(Expr::Call(c)) if c.name == "distinct"),
        raw_points_limit: None,
    }
}

/// The expression a call reduces (`x` of `count(distinct(x))` too).
fn call_argument(call: &Call) -> Option<&Expr> {
    match call.args.first() {
        Some(Expr::Call(inner)) if inner.name == "distinct" => inner.args.first(),
        other => other,
    }
}

/// Aggregate outer fields: one row per window (one window without GROUP BY time).
fn aggregate_rows(
    statement: &SelectStatement,
    fields: &[Field],
    rows: &[InnerRow<'_>],
    range: TimeRange,
    windows: Option<&Windows>,
    regexes: &mut RegexCache,
) -> Result<Vec<Vec<Value>>, String> {
    let calls: Vec<&Call> = fields.iter().flat_map(|f| plan::leaves(&f.expr)).collect();
    for call in &calls {
        if MULTI_POINT_FUNCTIONS.contains(&call.name.as_str())
            || plan::is_transformation(&call.name)
            || call.name == "integral"
        {
            return Err(format!(
                "{}() in a query over a subquery is not supported yet",
                call.name
            ));
        }
    }
    // Window starts: every window of the range with GROUP BY time, else one.
    let starts: Vec<i64> = match windows {
        Some(windows) => {
            let first = if range.has_min() {
                windows.start_of(range.min_ns)
            } else {
                rows.iter()
                    .map(|r| windows.start_of(r.time_ns()))
                    .min()
                    .unwrap_or(0)
            };
            let mut starts = Vec::new();
            let mut start = first;
            while start <= range.max_ns {
                starts.push(start);
                start = windows.next_start(start);
            }
            starts
        }
        None => vec![if range.has_min() { range.min_ns } else { 0 }],
    };
    let lone_selector = windows.is_none()
        && calls.len() == 1
        && calls.first().is_some_and(|c| plan::is_selector(&c.name));
    let mut output = Vec::with_capacity(starts.len());
    for (index, start) in starts.iter().enumerate() {
        let end = starts.get(index + 1).copied().unwrap_or(i64::MAX);
        let in_window = |row: &&InnerRow<'_>| {
            windows.is_none() || (row.time_ns() >= *start && row.time_ns() < end)
        };
        let window_rows: Vec<&InnerRow<'_>> = rows.iter().filter(in_window).collect();
        let mut values: Vec<(&Call, Value)> = Vec::with_capacity(calls.len());
        let mut row_time = *start;
        let mut any = false;
        for call in &calls {
            let (value, time) = reduce_call(call, &window_rows, *start, regexes);
            if let Some(time) = time.filter(|_| lone_selector) {
                row_time = time;
            }
            any |= value != Value::Null;
            values.push((call, value));
        }
        if !any {
            if windows.is_none() || statement.fill == Fill::None {
                continue;
            }
            for (call, value) in &mut values {
                *value = fill_value(statement.fill, &call.name);
            }
        }
        let mut out = Vec::with_capacity(fields.len() + 1);
        out.push(Value::Time(row_time));
        let call_row = CallRow { calls: &values };
        out.extend(
            fields
                .iter()
                .map(|f| eval::eval(&f.expr, &call_row, regexes)),
        );
        output.push(out);
    }
    Ok(output)
}

/// What an empty window shows under `fill`.
fn fill_value(fill: Fill, function: &str) -> Value {
    match fill {
        Fill::Integer(n) => Value::Integer(n),
        Fill::Number(x) => Value::Float(x),
        _ if function == "count" => Value::Integer(0),
        _ => Value::Null,
    }
}

/// Reduces one call over a window's rows: the value and the selected point's time.
fn reduce_call(
    call: &Call,
    rows: &[&InnerRow<'_>],
    window_time: i64,
    regexes: &mut RegexCache,
) -> (Value, Option<i64>) {
    let Some(argument) = call_argument(call) else {
        return (Value::Null, None);
    };
    let mut accumulator: Option<Accumulator> = None;
    let mut previous_series = None;
    for row in rows {
        let value = eval::eval(argument, *row, regexes);
        if value == Value::Null {
            continue;
        }
        let accumulator = accumulator.get_or_insert_with(|| {
            Accumulator::new(&call.name, &value).with_edge_pick(EdgePick::Best)
        });
        if previous_series.is_some_and(|s| s != row.series_index) {
            accumulator.end_partial();
        }
        previous_series = Some(row.series_index);
        accumulator.push(row.time_ns(), &value, 0);
    }
    let Some(accumulator) = accumulator else {
        return (Value::Null, None);
    };
    match reduce::finish(&call.name, accumulator, &call_args(call), window_time)
        .into_iter()
        .next()
    {
        Some(point) => (point.value, Some(point.time)),
        None => (Value::Null, None),
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
            names(expand_wildcards(&star, &inner, &[])),
            ["time", "host", "m", "region"]
        );
        assert_eq!(
            names(expand_wildcards(&star, &inner, &[var("region")])),
            ["time", "host", "m"]
        );
    }

    #[test]
    fn empty_windows_fill_as_stored_queries_do() {
        assert_eq!(fill_value(Fill::Null, "count"), Value::Integer(0));
        assert_eq!(fill_value(Fill::Null, "mean"), Value::Null);
        assert_eq!(fill_value(Fill::Integer(7), "mean"), Value::Integer(7));
        assert_eq!(fill_value(Fill::Number(1.5), "count"), Value::Float(1.5));
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
        };
        assert_eq!(row.time_ns(), 5);
        assert_eq!(row.lookup("m", None), Value::Float(2.5));
        assert_eq!(row.lookup("host", None), Value::String("a".into()));
        assert_eq!(row.lookup("nope", None), Value::Null);
    }
}
